"""Merging many workbooks: one branch's records of one table coming from two files is a conflict, reported
once per table, branch and extra file at the branch's first row in that file (the branch's own workbook,
the one holding its 支部信息 row, counts as the first whatever the file order); a branch listed in 支部信息
without a single record in any other table read is a problem too (its workbook was probably never
received)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataProblem
from .intake import Intake, _Piece, _branch_column
from .text import _brief, _file_names, _is_missing


def check_conflicts(ix: Intake, tables: dict[str, pd.DataFrame], origins: dict[str, pd.DataFrame]) -> None:
    """One branch's records of one table must come from one file. The branch's own file comes first:
    the one holding its 支部信息 row when that file has such records, else the first file read; every
    further file is a problem at the branch's first record there. (支部信息 itself reports the same
    branch in two files as a duplicate 支部编码.)"""
    home = pd.Series(dtype=object)  # branch -> the file holding its 支部信息 row
    if "branches" in tables and len(tables["branches"]):
        ids = tables["branches"]["branch_id"]
        home = pd.Series(origins["branches"]["file"].astype(object).to_numpy(), index=ids.to_numpy(dtype=object))
        home = home[ids.notna().to_numpy() & ~ids.duplicated().to_numpy()]
    for tid, frame in tables.items():
        column = _branch_column(ix.specs[tid])
        if tid == "branches" or column is None or not len(frame):
            continue
        files = origins[tid]["file"]
        codes = files.cat.codes.to_numpy()
        if (codes == codes[0]).all():  # one file (a county workbook): nothing to merge
            continue
        branch = frame[column]
        b, _ = pd.factorize(branch.to_numpy(dtype=object), use_na_sentinel=True)
        width = int(codes.max()) + 1
        pair = np.unique(b[b >= 0].astype("int64") * width + codes[b >= 0])  # distinct (branch, file)
        if not (np.bincount(pair // width) > 1).any():  # every branch from one file: the usual case
            continue
        pairs = pd.DataFrame({"branch": branch.to_numpy(dtype=object), "file": codes})[b >= 0]
        firsts = pairs.drop_duplicates(["branch", "file"])  # first record of a branch in a file, in order
        names = np.asarray(files.cat.categories, dtype=object)
        at_home = names[firsts["file"].to_numpy()] == home.reindex(firsts["branch"].to_numpy()).to_numpy()
        firsts = firsts.iloc[np.lexsort((np.arange(len(firsts)), ~at_home))]  # the own file first
        extra = firsts.duplicated("branch").to_numpy()
        first_file = firsts[~extra].set_index("branch")["file"]
        mask = np.zeros(len(frame), dtype=bool)
        mask[firsts.index[extra]] = True
        sheet = ix.specs[tid].sheet

        def message(p: _Piece, i: int, branch=branch, first_file=first_file, names=names, sheet=sheet) -> str:
            b = branch.iat[i]
            one, two = _file_names(names[first_file.loc[b]], p.file)
            return f"支部「{_brief(b)}」的「{sheet}」同时出现在「{one}」和「{two}」中，请核对后只保留一份"

        ix.emit_rows(DataProblem.CONFLICTING_FILES, tid, mask, column, "同一支部的记录来自多个文件", message)


def check_branches_have_records(ix: Intake, tables: dict[str, pd.DataFrame], within: np.ndarray | None = None) -> None:
    """A branch of 支部信息 without a single record in any other table read: its workbook is missing.
    Not checked when 支部信息 is the only table read. ``within`` (over the rows of 支部信息): the branches
    to check (a partitioned read holds the other tables' records of its own branches only)."""
    branches = tables.get("branches")
    others = [(tid, c) for tid in tables if tid != "branches" and (c := _branch_column(ix.specs[tid]))]
    if branches is None or not len(branches) or not others:
        return
    ids = branches["branch_id"]
    known = pd.Index((ids if within is None else ids[within]).dropna().unique(), dtype=object)
    seen = np.zeros(len(known), dtype=bool)
    for tid, column in others:  # the roster (党员名册) usually names every branch: stop once all are seen
        at = known.get_indexer(ix.factorize(tid, tables[tid], column)[1])  # distinct values, as validation found them
        seen[at[at >= 0]] = True
        if seen.all():
            return
    lonely = ids.isin(known[~seen]).to_numpy()
    sheet = ix.specs["branches"].sheet

    def message(p: _Piece, i: int, ids=ids, names=branches["name"], sheet=sheet) -> str:
        shown = " ".join(_brief(v) for v in (ids.iat[i], names.iat[i]) if not _is_missing(v))
        return f"支部「{shown}」在「{sheet}」中，但没有任何记录（未收到该支部的工作簿？）"

    ix.emit_rows(DataProblem.BRANCH_WITHOUT_RECORDS, "branches", lonely, "branch_id", "没有任何记录", message)
