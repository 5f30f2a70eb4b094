"""Implausible values are data errors, not scores: numbers outside their column's bounds (a negative 测评人数
would otherwise read as "no data" and cost a branch its star), dates before 1900 or after the end of the
assessment year where they cannot be, and records whose columns contradict each other (实到 > 应到,
满意 + 基本满意 + 不满意 > 测评人数). The bounds live in the table specs (``Column.min``/``max``/
``not_after_year``, ``Table.checks``); every violation is located with its value. Vectorized per column
and per rule over the assembled tables; cells that could not be converted are empty here and were
reported already."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataProblem
from ..tables import Column, RowCheck, Table
from .intake import Intake, _Piece
from .text import _brief

EARLIEST = pd.Timestamp(1900, 1, 1)  # no record of a living branch is older

_COMPARE = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}
_BROKEN = {"<=": "超过", "<": "不小于", ">=": "小于", ">": "不大于"}  # what a violation of op says, numbers
_BROKEN_DATES = {"<=": "晚于", "<": "不早于", ">=": "早于", ">": "不晚于"}


def _shown(col: Column, v) -> str:
    if col.dtype == "date":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if col.dtype == "int":
        return str(int(v))
    return _brief(float(v))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def check_plausible(ix: Intake, tables: dict[str, pd.DataFrame], year: int | None) -> None:
    """Bounds per column and rules across columns, for every table read. ``year`` (the assessment year)
    bounds the dates that cannot lie in the future; without it those are not checked."""
    for tid, frame in tables.items():
        if not len(frame):
            continue
        spec = ix.specs[tid]
        out = {col.id: _check_column(ix, tid, frame, col, year) for col in spec.columns if col.id in frame}
        for rule in spec.checks:  # a value out of its bounds is reported once, not again by the rules it is in
            _check_rule(ix, tid, frame, spec, rule, np.logical_or.reduce([out[c] for c in (*rule.left, *rule.right)]))


def _check_column(ix: Intake, tid: str, frame: pd.DataFrame, col: Column, year: int | None) -> np.ndarray:
    """Report the column's values out of bounds; return their mask."""
    values = frame[col.id]
    out = np.zeros(len(frame), dtype=bool)
    if col.dtype in ("int", "float") and (col.min is not None or col.max is not None):
        v = values.astype("float64").to_numpy(na_value=np.nan)
        if col.min is not None:
            out |= _emit(ix, tid, col, v < col.min, values, lambda s, c=col: f"「{{h}}」为{s}，不能小于{_num(c.min)}")
        if col.max is not None:
            out |= _emit(ix, tid, col, v > col.max, values,
                         lambda s, c=col: f"「{{h}}」为{s}，超过了合理的上限{_num(c.max)}（请核对是否多输了位数或填错了列）")
    elif col.dtype == "date":
        d = values.to_numpy(dtype="datetime64[ns]")
        present = ~np.isnat(d)
        out |= _emit(ix, tid, col, present & (d < EARLIEST.to_datetime64()), values,
                     lambda s: f"「{{h}}」为{s}，早于1900年，请核对年份")
        if col.not_after_year and year is not None:
            end = pd.Timestamp(year, 12, 31).to_datetime64()
            out |= _emit(ix, tid, col, present & (d > end), values,
                         lambda s, y=year: f"「{{h}}」为{s}，晚于考核年度（{y}年）末，不可能发生，请核对年份")
    return out


def _emit(ix: Intake, tid: str, col: Column, mask: np.ndarray, values: pd.Series, text) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return mask

    def message(p: _Piece, i: int) -> str:
        return text(_shown(col, values.iat[i])).replace("{h}", p.headers[col.id])

    ix.emit_rows(DataProblem.OUT_OF_RANGE, tid, mask, col.id, "超出合理范围", message)
    return mask


def _check_rule(ix: Intake, tid: str, frame: pd.DataFrame, spec: Table, rule: RowCheck, skip: np.ndarray) -> None:
    cols = [spec.column(c) for c in (*rule.left, *rule.right)]
    dates = cols[0].dtype == "date"
    if dates:
        lhs = frame[rule.left[0]].to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        rhs = frame[rule.right[0]].to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        present = ~(np.isnat(frame[rule.left[0]].to_numpy(dtype="datetime64[ns]"))
                    | np.isnat(frame[rule.right[0]].to_numpy(dtype="datetime64[ns]")))
    else:
        parts = {c: frame[c].astype("float64").to_numpy(na_value=np.nan) for c in (*rule.left, *rule.right)}
        present = np.logical_and.reduce([~np.isnan(v) for v in parts.values()])
        lhs = np.sum([parts[c] for c in rule.left], axis=0)
        rhs = np.sum([parts[c] for c in rule.right], axis=0)
    present &= ~skip
    broken = present & ~_COMPARE[rule.op](np.where(present, lhs, 0), np.where(present, rhs, 0))
    if not broken.any():
        return
    by_id = {c.id: c for c in cols}

    def side(p: _Piece, ids: tuple[str, ...], i: int) -> str:
        names = "+".join(f"「{p.headers[c]}」" for c in ids)
        if len(ids) == 1:
            return f"{names}{_shown(by_id[ids[0]], frame[ids[0]].iat[i])}"
        total = sum(frame[c].iat[i] for c in ids)
        return f"{names}合计{_shown(by_id[ids[0]], total)}"

    def message(p: _Piece, i: int) -> str:
        word = (_BROKEN_DATES if dates else _BROKEN)[rule.op]
        return f"{side(p, rule.left, i)}，{word}{side(p, rule.right, i)}（应满足：{rule.describe(spec)}）"

    ix.emit_rows(DataProblem.INCONSISTENT_VALUES, tid, broken, rule.at, "各列数值互相矛盾", message)
