"""Assembly: every sheet and file of a table concatenated, blank rows dropped, each column converted to
its dtype at once, and where each record came from (file, sheet, row)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..errors import DataProblem
from ..dataset import DTYPES
from .cells import EXCEL_ERRORS, _as_series, _no_text, _split
from .convert import _convert
from .intake import Intake, TableLog, _Part, _Piece
from .limits import MAX_TEXT
from .text import _brief, _display


# threads assembling tables side by side (see assemble): two where this process may use two cores
THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
# records below which tables are assembled one by one: a county's 190,000 take 0.05 s longer on two
# threads (their GIL is shared for little gain), 3,000 branches' 1.8 million 0.1 s shorter
SIDE_BY_SIDE_ROWS = 500_000


def assemble(ix: Intake, split=None, threads: int | None = None
             ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Every table read, assembled. With ``split`` (a :class:`~scoring.reader.split.Split`) 支部信息 is
    assembled first and whole, and of every other table only the records of the split's block.

    Tables are assembled side by side on ``threads`` threads, the largest first: by default two where the
    machine has two cores or more and the input has :data:`SIDE_BY_SIDE_ROWS` records or more, one in a
    split read (its workers are processes already). Much of a table's assembly releases the GIL (Parquet
    decoding, Arrow's encoding, numpy's passes over a province's 36M dues rows), so a province's
    validation takes about three quarters of the time on two cores. The tables, their problems and their
    notes come out in the order of the tables, as a table-by-table assembly gives them
    (:class:`~scoring.reader.intake.TableLog`)."""
    given = list(ix.parts)
    order = given if split is None else split.order(given)
    if threads is None:
        threads = 1 if split is not None else THREADS
    done: dict[str, tuple[pd.DataFrame, pd.DataFrame, TableLog]] = {}

    def one(tid: str) -> tuple[pd.DataFrame, pd.DataFrame, TableLog]:
        # the raw columns are let go table by table (and within a table column by column, see build):
        # a province's raw Parquet columns and their converted copies are not all held at once
        parts = ix.parts.pop(tid)
        if split is not None and tid != "branches":
            split.take(ix, tid, parts)
        log = TableLog()
        frame, origin = build(ix, tid, parts, log)
        if split is not None and tid == "branches":
            split.define(frame)
        return frame, origin, log

    rest = order
    if split is not None:  # its blocks are defined by 支部信息: assembled before any other table
        done[order[0]] = one(order[0])
        rest = order[1:]
    size = {tid: sum(len(p.rows) for p in ix.parts[tid]) for tid in rest}
    if threads <= 1 or len(rest) <= 1 or sum(size.values()) < SIDE_BY_SIDE_ROWS:
        for tid in rest:
            done[tid] = one(tid)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="assemble") as pool:
            futures = {tid: pool.submit(one, tid) for tid in sorted(rest, key=lambda t: -size[t])}
            try:
                for tid in rest:  # the first table (in order) that fails raises, as it does one by one
                    done[tid] = futures[tid].result()
            except BaseException:
                for f in futures.values():
                    f.cancel()
                raise
    tables: dict[str, pd.DataFrame] = {}
    origins: dict[str, pd.DataFrame] = {}
    for tid in order:
        tables[tid], origins[tid], log = done.pop(tid)
        ix.add_log(log)
    return {t: tables[t] for t in given}, {t: origins[t] for t in given}


def build(ix: Intake, tid: str, parts: list[_Part], log: TableLog | None = None
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One table assembled; its record problems and notes go to ``log`` (the intake itself by default)."""
    log = ix if log is None else log
    spec = ix.specs[tid]
    sizes = np.array([len(p.rows) for p in parts], dtype="int64")
    owner = np.repeat(np.arange(len(parts)), sizes)
    # the rows of a single sheet or file as they are (int64 already): no copy of a province's 36M
    rows = parts[0].rows if len(parts) == 1 else np.concatenate([p.rows for p in parts])
    rows = rows.astype("int64", copy=False)
    no_text = _no_text(len(rows))  # the text part of every column without text
    cells = {c.id: _split(_raw_column(parts, c.id), no_text) for c in spec.columns
             if any(c.id in p.present for p in parts)}
    for p in parts:  # the cells hold what is needed of the raw values now
        p.data = {}
    blank = np.logical_and.reduce([c.empty for c in cells.values()]) if cells else np.ones(len(rows), bool)
    if blank.any():  # fully empty rows (often trailing ones Excel keeps formatted) are dropped
        keep = ~blank
        cells = {cid: c.take(keep) for cid, c in cells.items()}
        owner, rows = owner[keep], rows[keep]
    n = len(rows)
    counts = np.bincount(owner, minlength=len(parts))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
    ix.pieces[tid] = [_Piece(p.given, p.file, p.sheet, p.headers, p.present, rows[a:a + k])
                        for p, a, k in zip(parts, starts, counts)]
    ix.offsets[tid] = starts
    excel = np.array([p.fmt == "excel" for p in parts], dtype=bool)[owner]

    keep = ix.keep.get(tid)
    columns = [c for c in spec.columns if keep is None or c.id in keep]  # the others were not read
    out: dict[str, pd.Series] = {}
    for col in columns:
        c = cells.get(col.id)
        if c is None:
            out[col.id] = _empty_column(DTYPES[col.dtype], n)
            continue
        conv = _convert(c, col, excel)
        bad = c.error.copy()
        if c.error.any():
            log.emit_rows(DataProblem.ERROR_CELL, tid, c.error, col.id, "错误值",
                          lambda p, i, c=c: _error_message(_display(c.raw.iloc[i])))
        long = _too_long(c)
        if long is not None and long.any():
            bad |= long
            log.emit_rows(DataProblem.TEXT_TOO_LONG, tid, long, col.id, "内容过长",
                          lambda p, i, c=c: f"单元格内容有{len(c.text.iloc[i]):,}个字符，超过一个单元格的上限"
                                            f"{MAX_TEXT:,}个字符（是否误粘贴了整段文字？）")
        for issue in conv.issues:
            mask = issue.mask & ~bad
            if not mask.any():
                continue
            bad |= mask
            log.emit_rows(issue.code, tid, mask, col.id, issue.label,
                            lambda p, i, m=issue.message, c=c, cid=col.id:
                                m(p.headers[cid], _brief(c.raw.iloc[i])))
        for fix in conv.fixes:
            for p, a, pos in ix.per_piece(tid, fix.mask):
                example = fix.example(a + int(pos[0])).replace("{", "{{").replace("}", "}}")
                log.note(fix.kind, p.given, p.file, p.sheet, p.headers[col.id],
                         fix.message.format(n="{n}", ex=example), count=len(pos), table=tid,
                         first=int(p.rows[pos[0]]))
        if col.required:
            has_column = np.array([col.id in p.present for p in parts], dtype=bool)[owner]
            empty = c.empty & ~bad & has_column
            if empty.any():
                log.emit_rows(DataProblem.EMPTY_REQUIRED, tid, empty, col.id, "必填项为空",
                                lambda p, i, cid=col.id: f"「{p.headers[cid]}」为必填项，不能为空")
        if conv.codes is not None and col.id in ix.checked[tid]:
            ix.codes[(tid, col.id)] = conv.codes
        # copy=False: the converted values are this column's own (pandas copies an array by default)
        out[col.id] = pd.Series(conv.values, index=pd.RangeIndex(n), dtype=DTYPES[col.dtype], copy=False)
        del c, conv
        cells.pop(col.id)  # its raw values stay only where a problem's message refers to them
    # copy=False: the converted columns become the frame as they are (a dict is copied by default, and
    # pandas would consolidate them: a second copy of a province's 36M dues rows at the peak)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n), columns=[c.id for c in columns], copy=False)
    del out
    for col in columns:  # keep object columns object (pandas would infer its "str" dtype)
        if frame[col.id].dtype != DTYPES[col.dtype]:
            frame[col.id] = frame[col.id].astype(DTYPES[col.dtype])

    file_codes, files = pd.factorize(np.array([p.file for p in parts], dtype=object))
    sheet_codes, sheets = pd.factorize(np.array([p.sheet for p in parts], dtype=object), use_na_sentinel=True)
    origin = pd.DataFrame({
        "file": pd.Categorical.from_codes(file_codes[owner], categories=list(files)),
        "sheet": pd.Categorical.from_codes(sheet_codes[owner], categories=list(sheets)),
        "row": rows,
    }, index=frame.index)
    return frame, origin


def _too_long(c) -> np.ndarray | None:
    """The text cells longer than a cell may hold (None when there is no text); Arrow text is measured
    once per distinct value."""
    if c.factors is not None:
        codes, distinct = c.factors
        long = (distinct.str.len() > MAX_TEXT).fillna(False).to_numpy(dtype=bool)
        return np.append(long, False)[codes] if long.any() else None
    if not c.text.notna().any():
        return None
    return (c.text.str.len() > MAX_TEXT).fillna(False).to_numpy(dtype=bool)


def _raw_column(parts: list[_Part], cid: str) -> pd.Series:
    """One column of a table: the raw values of every sheet in order (None where a sheet lacks it)."""
    if len(parts) == 1:
        return _as_series(parts[0].data.get(cid), len(parts[0].rows))
    values = [p.data.get(cid) for p in parts]
    if all(v is None or isinstance(v, np.ndarray) for v in values):  # workbooks: plain object arrays
        return pd.Series(np.concatenate(
            [v if v is not None else np.full(len(p.rows), None, dtype=object) for p, v in zip(parts, values)]
        ), dtype=object, copy=False)
    series = [_as_series(v, len(p.rows)) for p, v in zip(parts, values) if len(p.rows)]
    if not series:
        return pd.Series([], dtype=object)
    if len({str(s.dtype) for s in series}) > 1:
        series = [s.astype(object) for s in series]
    return pd.concat(series, ignore_index=True)


def _empty_column(dtype: str, n: int) -> pd.Series:
    if dtype == "object":
        return pd.Series(np.full(n, None, dtype=object), index=pd.RangeIndex(n), dtype=object, copy=False)
    return pd.Series(index=pd.RangeIndex(n), dtype=dtype)


def _error_message(value: str) -> str:
    meaning = EXCEL_ERRORS.get(value, "公式出错")
    return f"单元格是错误值「{value}」（{meaning}，通常是公式算不出结果），请改为实际的值"
