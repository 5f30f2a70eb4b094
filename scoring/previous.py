"""Year over year: last year's results next to this year's.

``load_previous`` reads last year's result, either the ``--json`` output (contract: product brief section 6)
or a results workbook written by this program (sheet 总排名), into one frame with canonical columns::

    branch_id (str), name (str or None), rank (Int64), total (float), stars (Int64 or <NA>),
    grade (str or None), level (str or None: the label shown last year, e.g. "四星" / "好" / "不评星")

``compare`` lines it up with this year's ranking (one row per current branch, rank order)::

    branch_id, 上年排名 (Int64), 上年总分 (float), 上年等级 (str or None),
    排名变化 (Int64: last year's rank - this year's, positive = moved up), 升降 (str)

升降 is 升星 / 降星 / 持平 for rubrics that award stars (compared by stars; "not rated" counts below one
star), 升级 / 降级 / 持平 for the other rubrics (compared by the order of this year's level labels),
新参评 for a branch absent last year, and 等级不可比 when last year's level is not one of this year's.

``gone`` lists the branches that took part last year and are absent now (撤销 or 未参评), in last year's
rank order. ``attach`` puts both frames into ``result.meta`` (``previous``, ``gone``), where the writers
find them.

Everything is a merge over whole frames; no loop runs per branch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.errors import UsageError
from scoring.result import Result

RANKING_SHEET = "总排名"
WORKBOOK_COLUMNS = {"支部编码": "branch_id", "排名": "rank", "总分": "total", "评定等级": "level"}
WORKBOOK_OPTIONAL = {"支部名称": "name"}
HEADER_SEARCH_ROWS = 20  # the header of 总排名 is on row 3; older or hand-edited files may have more above it
COLUMNS = ["branch_id", "name", "rank", "total", "stars", "grade", "level"]

# Labels that mean "not rated" whatever last year's rubric called it.
UNRATED_WORDS = ("未评定", "不评星", "不定级", "不评定", "不定等", "未定级")
_STAR_LABEL = re.compile(r"^\s*([一二三四五六七八九十1-9])\s*星")
STAR_LABELS = {float(i): f"{w}星" for i, w in enumerate("一二三四五六七八九十", 1)}
_DIGITS = {**{c: i for i, c in enumerate("一二三四五六七八九十", 1)}, **{str(i): i for i in range(1, 10)}}

CHANGE_NEW = "新参评"
CHANGE_SAME = "持平"
CHANGE_UNKNOWN = "等级不可比"
CHANGE_UP = {True: "升星", False: "升级"}
CHANGE_DOWN = {True: "降星", False: "降级"}
GONE_NOTE = "上年参加考核，本年度未参评（已撤销或未报送数据）"


# --------------------------------------------------------------------------------------------------
# Reading


def load_previous(path: Path) -> pd.DataFrame:
    """Last year's result from a ``--json`` file or a results workbook (columns: see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"找不到上年结果文件：{path}")
    if path.is_dir():
        raise UsageError(f"上年结果应为一个文件，{path} 是文件夹")
    suffix = path.suffix.lower()
    if suffix == ".json":
        frame = _from_json(path)
    elif suffix in (".xlsx", ".xlsm"):
        frame = _from_workbook(path)
    else:
        raise UsageError(f"上年结果文件 {path} 应为本系统输出的 JSON 文件（--json）或结果工作簿（.xlsx）")
    return _clean(frame, path)


def _from_json(path: Path) -> pd.DataFrame:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise UsageError(f"上年结果文件 {path} 不是 UTF-8 编码的 JSON 文件") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"上年结果文件 {path} 不是有效的 JSON：第{e.lineno}行第{e.colno}列：{e.msg}") from None
    except OSError as e:
        raise UsageError(f"无法读取上年结果文件 {path}：{e.strerror or e}") from None
    branches = data.get("branches") if isinstance(data, dict) else None
    if not isinstance(branches, list):
        raise UsageError(f"上年结果文件 {path} 缺少「branches」列表，不是本系统输出的 JSON 结果")
    if not all(isinstance(b, dict) for b in branches):
        raise UsageError(f"上年结果文件 {path} 的「branches」中有不是对象的条目")
    frame = pd.DataFrame.from_records(branches)
    missing = [key for key in ("branch_id", "rank", "total") if key not in frame.columns]
    if missing and len(frame):
        raise UsageError(f"上年结果文件 {path} 的支部条目缺少字段：{'、'.join(missing)}")
    for key in COLUMNS:
        if key not in frame.columns:
            frame[key] = None
    frame = frame[COLUMNS].copy()
    frame["_where"] = [f"第{i}个支部" for i in range(1, len(frame) + 1)]
    return frame


def _from_workbook(path: Path) -> pd.DataFrame:
    from python_calamine import CalamineWorkbook

    from .reader.limits import Refused, scan_workbook

    try:  # bounds first, as for the data: calamine would abort the process on a sheet's far corner
        scan_workbook(path)
    except Refused as e:
        raise UsageError(f"无法读取上年结果工作簿 {path}：{e}") from None
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # not a workbook, damaged, password protected
        raise UsageError(f"无法打开上年结果工作簿 {path}：{type(e).__name__}: {e}") from None
    try:
        if RANKING_SHEET not in workbook.sheet_names:
            raise UsageError(f"上年结果工作簿 {path} 中没有「{RANKING_SHEET}」工作表，不是本系统输出的结果工作簿")
        try:
            grid = workbook.get_sheet_by_name(RANKING_SHEET).to_python(skip_empty_area=False)
        except Exception as e:
            raise UsageError(f"无法读取上年结果工作簿 {path} 的「{RANKING_SHEET}」工作表：{type(e).__name__}: {e}") from None
    finally:
        workbook.close()

    header_at = next(
        (i for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]) if {"支部编码", "排名"} <= {_header(v) for v in row}),
        None,
    )
    if header_at is None:
        raise UsageError(
            f"上年结果工作簿 {path} 的「{RANKING_SHEET}」工作表中找不到表头（应含 {'、'.join(WORKBOOK_COLUMNS)} 列）"
        )
    headers = [_header(v) for v in grid[header_at]]
    missing = [h for h in WORKBOOK_COLUMNS if h not in headers]
    if missing:
        raise UsageError(f"上年结果工作簿 {path} 的「{RANKING_SHEET}」工作表缺少列：{'、'.join(missing)}")
    wanted = {**WORKBOOK_COLUMNS, **WORKBOOK_OPTIONAL}
    positions = {wanted[h]: headers.index(h) for h in wanted if h in headers}
    body = pd.DataFrame(grid[header_at + 1:], dtype=object)
    frame = pd.DataFrame(
        {key: body[pos] if pos in body.columns else pd.Series(dtype=object) for key, pos in positions.items()}
    )
    frame["_where"] = [f"第{header_at + 2 + i}行" for i in range(len(frame))]
    frame = frame.replace("", None)
    frame = frame[frame["branch_id"].notna()]  # the table's end, or the 无 line of an empty ranking
    for key in COLUMNS:
        if key not in frame.columns:
            frame[key] = None
    return frame[COLUMNS + ["_where"]]


def _header(value) -> str:
    """A header cell as a name: the results workbook breaks long headers over two lines ("评定\n等级")."""
    return re.sub(r"\s+", "", str(value))


def _clean(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Types, and the checks that make a merge safe: unique ids, numeric ranks and totals."""
    if frame.empty:
        raise UsageError(f"上年结果文件 {path} 中没有任何支部")
    ids = frame["branch_id"].astype(object)
    ids = ids.where(ids.notna(), "").astype(str).str.strip()
    if (ids == "").any():
        where = frame.loc[(ids == "").to_numpy(), "_where"].iloc[0]
        raise UsageError(f"上年结果文件 {path} {where}缺少支部编码")
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        shown = "、".join(duplicated[:5]) + ("等" if len(duplicated) > 5 else "")
        raise UsageError(f"上年结果文件 {path} 中支部编码重复：{shown}")
    out = pd.DataFrame({"branch_id": ids.to_numpy()})
    for key, label in (("rank", "排名"), ("total", "总分")):
        raw = frame[key].astype(object).replace("", None)
        numbers = pd.to_numeric(raw, errors="coerce").astype(float)
        if key == "rank" and raw.isna().any():
            where = frame.loc[raw.isna().to_numpy(), "_where"].iloc[0]
            raise UsageError(f"上年结果文件 {path} {where}缺少「{label}」")
        bad = raw.notna() & numbers.isna()
        if bad.any():
            where = frame.loc[bad.to_numpy(), "_where"].iloc[0]
            raise UsageError(f"上年结果文件 {path} {where}的「{label}」不是数字：{raw[bad].iloc[0]}")
        out[key] = numbers.to_numpy()
    not_whole = ((out["rank"] != out["rank"].round()) | (out["rank"] < 1)).to_numpy()
    if not_whole.any():
        where = frame["_where"].iloc[int(np.flatnonzero(not_whole)[0])]
        raise UsageError(f"上年结果文件 {path} {where}的「排名」应为正整数")
    out["rank"] = out["rank"].astype("Int64")
    out["name"] = _text_or_none(frame["name"])
    out["stars"] = pd.to_numeric(frame["stars"].astype(object), errors="coerce").round().astype("Int64").to_numpy()
    out["grade"] = _text_or_none(frame["grade"])
    level = _text_or_none(frame["level"])
    # A JSON file without "level" (the key is an addition to the contract): the grade, else "N星".
    stars_label = out["stars"].astype("Float64").map(STAR_LABELS, na_action="ignore").astype(object)
    out["level"] = level.where(level.notna(), out["grade"]).where(lambda s: s.notna(), stars_label.to_numpy())
    out["level"] = out["level"].where(out["level"].notna(), None)
    return out[COLUMNS].sort_values("rank", kind="stable").reset_index(drop=True)


def _text_or_none(series: pd.Series) -> pd.Series:
    values = series.astype(object)
    text = values.where(values.notna(), "").astype(str).str.strip()
    return pd.Series(np.where(text.to_numpy() == "", None, text.to_numpy()), dtype=object)


# --------------------------------------------------------------------------------------------------
# Comparing


def level_labels(result: Result) -> tuple[list[str], str, bool]:
    """(level labels best first, the unrated label, whether levels are stars) for ``result``.

    """
    grading = result.rubric.grading
    return [lv.label for lv in grading.levels], grading.unrated_label, bool(grading.rates_stars)


def _positions(labels: pd.Series, stars: pd.Series | None, result: Result) -> pd.Series:
    """A comparable position per row, higher = better: stars for star rubrics, else the reversed index
    of the label among this year's levels. Unrated is below every level; unknown labels are NaN."""
    order, unrated, by_stars = level_labels(result)
    text = labels.astype(object).where(labels.notna(), "").astype(str).str.strip()
    # No level at all (stars and grade null in a contract-only JSON) means the branch was not rated.
    is_unrated = (text == unrated) | text.isin(UNRATED_WORDS) | (text == "")
    if by_stars:
        stars_of_label = _label_stars(result)
        parsed = text.str.extract(_STAR_LABEL)[0].map(_DIGITS).astype(float)
        from_label = text.map(stars_of_label).astype(float).fillna(parsed)
        position = pd.to_numeric(stars, errors="coerce").astype(float) if stars is not None else pd.Series(np.nan, index=text.index)
        position = position.fillna(from_label)
    else:
        index = {label: len(order) - i for i, label in enumerate(order)}
        position = text.map(index).astype(float)
    return position.where(~is_unrated, 0.0)


def _label_stars(result: Result) -> dict[str, float]:
    return {lv.label: float(lv.stars) for lv in result.rubric.grading.levels if lv.stars is not None}


def _ids(series: pd.Series) -> pd.Series:
    values = series.astype(object)
    return values.where(values.notna(), "").astype(str).str.strip()


def compare(result: Result, previous: pd.DataFrame) -> pd.DataFrame:
    """This year's branches (rank order) with last year's rank, total, level and the change."""
    branches = result.branches
    current = pd.DataFrame(
        {
            "branch_id": branches["branch_id"].to_numpy(),
            "_key": _ids(branches["branch_id"]).to_numpy(),
            "_rank": pd.to_numeric(branches["rank"], errors="coerce").to_numpy(),
        }
    )
    last = pd.DataFrame(
        {
            "_key": _ids(previous["branch_id"]).to_numpy(),
            "上年排名": previous["rank"].astype("Int64").to_numpy(),
            "上年总分": pd.to_numeric(previous["total"], errors="coerce").astype(float).to_numpy(),
            "上年等级": previous["level"].astype(object).to_numpy(),
            "_stars": previous["stars"].astype("Int64").to_numpy() if "stars" in previous.columns else pd.NA,
        }
    )
    merged = current.merge(last, on="_key", how="left", validate="one_to_one", indicator=True)
    present = (merged["_merge"] == "both").to_numpy()

    merged["排名变化"] = (merged["上年排名"].astype("Float64") - merged["_rank"]).round().astype("Int64")

    _, _, by_stars = level_labels(result)
    # This year's stars are <NA> where a veto removed the rating; the unrated label then places it.
    stars_now = branches["stars"].reset_index(drop=True) if by_stars and "stars" in branches.columns else None
    now = _positions(branches["level"].reset_index(drop=True), stars_now, result).to_numpy()
    before = _positions(merged["上年等级"], merged["_stars"] if by_stars else None, result).to_numpy()
    comparable = present & np.isfinite(now) & np.isfinite(before)
    change = np.select(
        [~present, ~comparable, now > before, now < before],
        [CHANGE_NEW, CHANGE_UNKNOWN, CHANGE_UP[by_stars], CHANGE_DOWN[by_stars]],
        default=CHANGE_SAME,
    )
    merged["升降"] = change
    merged["上年等级"] = merged["上年等级"].astype(object).where(merged["上年等级"].notna(), None)
    return merged[["branch_id", "上年排名", "上年总分", "上年等级", "排名变化", "升降"]].reset_index(drop=True)


def gone(result: Result, previous: pd.DataFrame) -> pd.DataFrame:
    """Branches of last year's result that are not in this year's (last year's rank order). A branch left
    unrated this year because of data errors (``--lenient``) is present, not gone."""
    now = set(_ids(result.branches["branch_id"]).tolist())
    excluded = result.meta.excluded
    if excluded is not None and len(excluded):
        now |= set(_ids(excluded["branch_id"]).tolist())
    keys = _ids(previous["branch_id"])
    missing = previous[~keys.isin(now).to_numpy()].sort_values("rank", kind="stable")
    return pd.DataFrame(
        {
            "branch_id": keys[missing.index].to_numpy(),
            "支部名称": missing["name"].astype(object).to_numpy() if "name" in missing.columns else None,
            "上年排名": missing["rank"].astype("Int64").to_numpy(),
            "上年总分": pd.to_numeric(missing["total"], errors="coerce").astype(float).to_numpy(),
            "上年等级": missing["level"].astype(object).to_numpy(),
            "说明": GONE_NOTE,
        }
    ).reset_index(drop=True)


def attach(result: Result, previous: pd.DataFrame) -> Result:
    """Put the comparison and the list of gone branches into ``result.meta`` for the writers."""
    result.meta.previous = compare(result, previous)
    result.meta.gone = gone(result, previous)
    return result
