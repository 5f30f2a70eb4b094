"""``scoring run ... --split parent``: the results as one workbook per 上级党组织 plus a summary workbook.

A province or a large county does not want one workbook of every branch's detail (past Excel's row limit
the detail would continue on numbered sheets): each township or county gets the results workbook of its
own branches, and 汇总.xlsx gives the ranking of all branches, the count per level of each part and the
file of its workbook. Nothing is scored again: ranks, quotas, levels and totals are the run's, computed
over every branch, and each part is the run's tables restricted to its branches (one grouping per table,
no pass per branch). The folder is written atomically: every workbook into a temporary folder beside it,
moved into place together when all are complete (or none, see :func:`scoring.atomic.atomic_folder`);
results workbooks of an earlier split that this run does not write again are removed, other files in the
folder are left alone, and a workbook there that this program did not write stops the run before any
work (it would be replaced or removed).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_folder
from ..errors import UsageError
from ..publish.content import safe_name
from ..result import Result
from .xlsx import AUTHOR, RESULTS_SUBJECT, group_keys, parent_order, write_parts_summary, write_results

SPLIT_SUFFIX = "-按上级党组织"
SUMMARY_FILE = "汇总.xlsx"
_FRAMES = ("branches", "dimensions", "indicators", "bonus", "vetoes", "warnings", "extras")


def split_folder(output: Path) -> Path:
    """Where ``-o results.xlsx --split parent`` writes: ``results-按上级党组织/`` beside it."""
    return output.with_name(output.stem + SPLIT_SUFFIX)


def file_names(parents: list[str]) -> list[str]:
    """One workbook file per 上级党组织, in the given order: distinct even when two names look alike
    once made safe (and never the summary's own name): 城关镇.xlsx, 城关镇(2).xlsx."""
    taken = {SUMMARY_FILE.casefold()}
    out = []
    for p in parents:
        stem = safe_name(p)[:80]  # as the 公示 of the township is named
        name, k = f"{stem}.xlsx", 2
        while name.casefold() in taken:
            name, k = f"{stem}({k}).xlsx", k + 1
        taken.add(name.casefold())
        out.append(name)
    return out


_CORE = {"cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
         "dc": "http://purl.org/dc/elements/1.1/"}


def is_ours(path: Path) -> bool:
    """A results workbook this program wrote (by its document properties, which Excel and WPS keep when
    the workbook is edited and saved): one a split run may replace or remove."""
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as z:
            core = ElementTree.fromstring(z.read("docProps/core.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return False
    return (core.findtext("dc:creator", "", _CORE).strip() == AUTHOR
            and core.findtext("dc:subject", "", _CORE).strip() == RESULTS_SUBJECT)


def workbooks(folder: Path) -> list[Path]:
    """The workbooks in ``folder`` a split run could replace (not Excel's ``~$`` lock files, not hidden)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.xlsx") if p.is_file() and not p.name.startswith((".", "~$")))


def check_folder_is_ours(folder: Path) -> None:
    """Refuse, before any work, a folder holding a workbook this program did not write: the split run
    would replace it (same name) or remove it (a part that is gone)."""
    foreign = [p.name for p in workbooks(folder) if not is_ours(p)]
    if foreign:
        shown = "、".join(foreign[:5]) + (f" 等 {len(foreign)} 个文件" if len(foreign) > 5 else "")
        raise UsageError(f"拆分结果的文件夹 {folder} 中的 {shown} 不是本系统写入的结果工作簿，"
                         "拆分结果会替换或删除其中的工作簿；请移走这些文件，或用 -o 指定其他位置")


@dataclass
class Split:
    folder: Path
    parts: pd.DataFrame  # parent, file, branches (count), in the order of the summary
    limits: list[str]  # Excel limits reached, a sentence each with the file it is in


def _rows_by_part(frame: pd.DataFrame | None, part_of: pd.Series) -> dict[int, np.ndarray]:
    """Row positions of ``frame`` per part (the part of each row's branch); rows of no branch of the run
    belong to no part."""
    if frame is None or not len(frame) or "branch_id" not in frame.columns:
        return {}
    codes = frame["branch_id"].astype(object).map(part_of).to_numpy()
    known = ~pd.isna(codes)
    if not known.any():
        return {}
    return pd.Series(np.flatnonzero(known)).groupby(codes[known].astype(np.int64)).apply(np.asarray).to_dict()


def parts_of(result: Result) -> tuple[pd.DataFrame, Iterator[Result]]:
    """The 上级党组织 of the run in the order of 分类汇总 (by their first branch id), with a file name and
    their number of branches, and each one's result in that order: the run's tables restricted to its
    branches (made one at a time, so a province holds one part's copy of the tables besides the run's)."""
    b = result.branches
    parents = group_keys(b)  # as 分类汇总 and 分册 count them, in their order
    order = parent_order(b, parents)
    code = {p: i for i, p in enumerate(order)}
    part_of = pd.Series(parents.map(code).to_numpy(), index=b["branch_id"].astype(object).to_numpy())
    rows = {name: _rows_by_part(getattr(result, name), part_of) for name in _FRAMES}
    meta = result.meta
    previous_rows = _rows_by_part(meta.previous, part_of)
    excluded = meta.excluded
    excluded_parent = group_keys(excluded) if excluded is not None and len(excluded) else None
    empty = np.zeros(0, dtype=np.int64)

    def take(frame, by, i):
        return None if frame is None else frame.iloc[by.get(i, empty)].reset_index(drop=True)

    def each() -> Iterator[Result]:
        for i, parent in enumerate(order):
            sub_meta = replace(
                meta,
                title=f"{meta.title}（{parent}）" if meta.title else parent,
                part=(parent, len(b)),
                previous=take(meta.previous, previous_rows, i),
                gone=None,  # last year's branches missing this year: listed in the summary workbook only
                excluded=None if excluded_parent is None else excluded[(excluded_parent == parent).to_numpy()]
                .reset_index(drop=True),
            )
            frames = {name: take(getattr(result, name), rows[name], i) for name in _FRAMES}
            yield replace(result, meta=sub_meta, **frames)

    parts = pd.DataFrame({"parent": order, "file": file_names(order),
                          "branches": [len(rows["branches"].get(i, empty)) for i in range(len(order))]})
    return parts, each()


def write_split(result: Result, folder: Path, previews=None) -> Split:
    """Write ``folder``: 汇总.xlsx and one results workbook per 上级党组织. ``previews(parent, part_result)``
    gives the 公示预览 blocks of a part (default: the workbook's own default)."""
    folder = Path(folder)
    parts, results = parts_of(result)
    limits: list[str] = []

    def stale(written: set[str]) -> list[str]:  # workbooks of an earlier split (a township renamed or gone)
        return [p.name for p in workbooks(folder) if p.name not in written and is_ours(p)]

    with atomic_folder(folder, remove=stale) as tmp:
        for (parent, file), part in zip(parts[["parent", "file"]].itertuples(index=False), results):
            preview = previews(parent, part) if previews is not None else None
            limits += [f"{file}：{x}" for x in write_results(part, tmp / file, preview=preview)]
        limits = [f"{SUMMARY_FILE}：{x}" for x in write_parts_summary(result, tmp / SUMMARY_FILE, parts)] + limits
    return Split(folder=folder, parts=parts, limits=limits)
