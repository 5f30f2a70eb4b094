"""One sheet or file: which table it is (sheet name, continuation sheets), where its header row is
(title rows above it are skipped), which column is which (Chinese or English headers, the required
marker, full-width characters), and the raw data rows below it."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import DataNote, DataProblem
from .cells import Deferred, _as_series, _split
from .intake import Intake, _Grid, _Part
from .text import _column_letter, _header_text, _key

HEADER_SCAN_ROWS = 10  # the header must be within the first rows of a sheet
IGNORED_SHEETS = frozenset({"填表说明", "说明"})  # instruction sheets the template puts beside the data
# A sheet holds at most 1,048,576 rows, so a county's 党费交纳 may continue on "党费交纳2", "党费交纳(续)"...
# (matched on the normalized name, see _key)
_CONTINUATION_RE = re.compile(r"^(.+?)[-_.·(]*(?:续表?|\d{1,3})\)?$")


def table_of_sheet(ix: Intake, name: str) -> tuple[str | None, bool]:
    """The table a sheet holds (None: no known table), and whether as a continuation of its sheet
    (「党员名册2」: see :func:`note_continued`)."""
    key = _key(name)
    tid = ix.by_name.get(key)
    if tid is not None:
        return tid, False
    m = _CONTINUATION_RE.match(key)
    tid = ix.by_name.get(m.group(1)) if m else None
    return tid, tid is not None


def note_continued(ix: Intake, given: str, file: str, name: str, tid: str) -> None:
    ix.note(DataNote.CONTINUED_SHEET, given, file, name, None, f"作为「{ix.specs[tid].sheet}」的续表读取", table=tid)


def locate_header(ix: Intake, g: _Grid) -> int | None:
    """Index of the header row: the first of the first rows that names at least half of the
    table's columns, else the one naming the most; None when no row names any."""
    lookup = ix.lookups[g.table.id]
    nrows = len(g.columns[0]) if g.columns else 0
    best, best_count = None, 0
    for r in range(min(HEADER_SCAN_ROWS, nrows)):
        ids = {lookup[k] for k in (_key(_cell(col, r)) for col in g.columns) if k in lookup}
        if 2 * len(ids) >= len(g.table.columns):
            return r
        if len(ids) > best_count:
            best, best_count = r, len(ids)
    return best


def add_grid(ix: Intake, g: _Grid) -> None:
    spec = g.table
    ix.seen.add(spec.id)
    where = (g.file, g.sheet)
    if g.header is not None:  # Parquet: names are the header, every row is data
        header_cells, h = list(g.header), None
        data = g.columns
        first_row = 2
    else:
        if not any(_any_value(col) for col in g.columns):  # an empty sheet: the table has no records
            add_part(ix, g, {}, {}, np.zeros(0, dtype="int64"))
            return
        h = locate_header(ix, g)
        if h is None:
            shown = "、".join(f"「{c.header}」" for c in spec.columns[:4])
            ix.problem(DataProblem.HEADER_NOT_FOUND, *where, None, None, f"前{HEADER_SCAN_ROWS}行中找不到表头（表头应包含{shown}等列）")
            return
        header_cells = [_cell(col, h) for col in g.columns]
        data = [_slice(col, h + 1) for col in g.columns]
        first_row = h + 2
        if h > 0 and any(_any_value(_slice(col, 0, h)) for col in g.columns):
            ix.note(DataNote.TITLE_ROWS, g.given, g.file, g.sheet, None,
                    f"表头在第{h + 1}行，上方的标题行已跳过", table=spec.id)

    lookup = ix.lookups[spec.id]
    mapping: dict[str, int] = {}
    headers: dict[str, str] = {}
    header_row = h + 1 if h is not None else 1
    for j, cell in enumerate(header_cells):
        k = _key(cell)
        cid = lookup.get(k)
        letter = _column_letter(j) if g.fmt == "excel" else str(j + 1)
        if cid is None:
            if k:
                ix.note(DataNote.UNKNOWN_COLUMN, g.given, g.file, g.sheet, _header_text(cell),
                        "不是该表的列，已忽略", table=spec.id)
            elif j < len(data) and data[j] is not None and _has_content(data[j]):
                ix.note(DataNote.UNNAMED_COLUMN, g.given, g.file, g.sheet, None,
                        f"第{letter}列没有表头，其中的内容已忽略", table=spec.id)
            continue
        text = _header_text(cell)
        if cid in mapping:
            before = mapping[cid]
            other = _column_letter(before) if g.fmt == "excel" else str(before + 1)
            ix.problem(DataProblem.DUPLICATE_COLUMN, *where, header_row, text,
                         f"「{text}」列重复出现（第{other}列和第{letter}列），无法确定使用哪一列")
            continue
        mapping[cid] = j
        headers[cid] = text
    for c in spec.columns:
        if c.id not in mapping and c.required:
            ix.problem(DataProblem.MISSING_COLUMN, *where, None, c.header, f"缺少必填列「{c.header}」")
    keep = ix.keep.get(spec.id)
    if keep is not None and not keep.issuperset(mapping):  # columns nobody reads: left out once their header is known
        mapping = {cid: j for cid, j in mapping.items() if cid in keep}
        ix.pruned.add(spec.id)
    nrows = g.nrows if g.nrows is not None else len(data[0]) if data else 0
    rows = np.arange(first_row, first_row + nrows, dtype="int64")
    add_part(ix, g, {cid: data[j] for cid, j in mapping.items()}, headers, rows)


def add_part(ix: Intake, g: _Grid, data: dict[str, object], headers: dict[str, str], rows: np.ndarray) -> None:
    spec = g.table
    ix.parts.setdefault(spec.id, []).append(_Part(
        g.given, g.file, g.sheet, g.fmt,
        headers={c.id: headers.get(c.id, c.header) for c in spec.columns},
        present=frozenset(data), data=data, rows=rows,
    ))


def _cell(col, r: int):
    return col[r] if isinstance(col, np.ndarray) else col.iloc[r]


def _slice(col, a: int, b: int | None = None):
    return col[a:b] if isinstance(col, np.ndarray) else col.iloc[a:b]


def _any_value(col) -> bool:
    return bool(pd.notna(col).any()) if isinstance(col, np.ndarray) else bool(col.notna().any())


def _has_content(col) -> bool:
    if isinstance(col, Deferred):
        col = col()
    return _any_value(col) and not _split(_as_series(col, len(col))).empty.all()
