"""The results workbook (考核结果工作簿): the document a county committee prints and publishes.

Sheets, in this order (every name, header and note is Chinese):

1. 总排名         one row per branch in rank order: dimension subtotals (per-dimension model: a "★" on
                  each dimension that earned its star, and the stars earned), bonus, deduction, total,
                  level, vetoes and flags, 等级说明 (quota adjustment and missed extra conditions), last
                  year's level and rank and the change (when ``meta.previous`` is given), self-score
                  and its difference to the computed total
2. 得分明细       branch x indicator: measured value, target, points, maximum, points lost, explanation
3. 扣分清单       only indicators that lost points, per branch in rank order, biggest loss first
                  (the rectification to-do list, 整改清单)
4. 加分明细       every bonus claim, counted or not, and why
5. 否决与预警     every fired veto and every flag, the fired warnings (e.g. 党员平均年龄
                  偏高, 无入党积极分子), and the branches rated last year that are missing this year
                  (``meta.gone``, 类别 未参评)
6. 分类汇总       branches per level by 上级党组织 and by 类别 with row and column totals, and a stacked
                  column chart of the levels by category
7. 数据质量       the data-quality notes (what was tolerated or corrected while reading) and the branches
                  excluded in lenient mode (``meta.excluded``)
8. 评分标准与审计 fingerprints and versions, and the resolved rubric as TOML text

Layout of every sheet: row 1 a merged title, row 2 a note (wrapped when wider than the table), row 3 the
header of an Excel table (unique name, table style, autofilter), data below; panes frozen under the
header; CJK-friendly font; widths computed from the longest cell (CJK characters count double), a long
header over a column of short numbers broken onto two lines rather than widening the column; A4
landscape, one page wide, header row repeated on every printed page, page numbers in the footer.
分类汇总 holds two tables one under the other (each with a 合计 total row) and the chart: it freezes
no panes and repeats no header row, and its second table starts a new printed page.

Written with xlsxwriter, column by column with the type-specific write calls. Every look is one format
object created once per workbook and reused for every cell of a column; none is created in a loop. Cells
carry thin borders and the header its fill as well as the table style, because WPS and LibreOffice do not
all render table styles. The file is written to a temporary name in the target directory and renamed
into place only when complete.
"""

from __future__ import annotations

import contextvars
import functools
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from scoring.errors import Problem
from scoring.evaluator import QUOTA_TIE_FLAG
from scoring.atomic import atomic_output
from scoring.output.jsonout import FLAG_SEPARATOR
from scoring.previous import level_labels
from scoring.result import Result, RunMeta
from scoring.tables import CATEGORIES

FONT = "等线"
FONT_SIZE = 11
TABLE_STYLE = "Table Style Medium 2"
HEADER_FILL = "#BDD7EE"
BORDER_COLOR = "#808080"
HEADER_ROW = 2  # 0-based: title on row 1, note on row 2, table header on row 3
MIN_WIDTH = 6
MAX_WIDTH = 60
FILTER_BUTTON = 3  # width units taken by the autofilter drop-down in a header cell
HEADER_WRAP_MIN = 4  # a header of at least this many characters may take two lines instead of widening its column
EMPTY = "无"
AUDIT_KEY_CAP = 30
AUDIT_TEXT_CAP = 100
LINE_HEIGHT = 16  # points per wrapped line of 11pt CJK text (CJK fonts have tall line boxes)

SHEET_RANKING = "总排名"
SHEET_DETAIL = "得分明细"
SHEET_LOST = "扣分清单"
SHEET_BONUS = "加分明细"
SHEET_VETO = "否决与预警"
SHEET_SUMMARY = "分类汇总"
SHEET_QUALITY = "数据质量"
SHEET_AUDIT = "评分标准与审计"
SHEET_PREVIEW = "公示预览"
SHEET_PREVIOUS = "与上年比较"
SHEET_RUBRIC_TOML = "评分标准原文"
SHEET_PARTS = "分册"  # the summary workbook of a split run: one row per 上级党组织 and its workbook
SPLIT_FILE_HEADER = "工作簿"
SPLIT_FLAGGED_HEADER = "有否决或标记"  # 分册: branches of the part with a veto or a flag (总排名's 否决与标记)
# the document properties of a results workbook (and of the workbooks of a split run): how a later split
# run knows the workbooks in its folder are its own to replace
AUTHOR = "党支部考核评分系统"
RESULTS_SUBJECT = "党支部年度考核结果"
# Always written, in this order; 与上年比较 follows 公示预览 when last year's results were given.
SHEET_NAMES = (SHEET_RANKING, SHEET_DETAIL, SHEET_LOST, SHEET_BONUS, SHEET_VETO, SHEET_SUMMARY, SHEET_PREVIEW,
               SHEET_QUALITY, SHEET_AUDIT, SHEET_RUBRIC_TOML)
MAX_PAGE_BREAKS = 1023  # Excel's limit of manual page breaks per sheet
SHEET_ROWS = 1_048_576  # Excel's rows per sheet: a longer table continues on 得分明细(2), 得分明细(3), ...

STAR_MARK = "★"  # printed after a dimension subtotal whose dimension earned its star (per-dimension model)
TOTAL_LABEL = "合计"
NO_PARENT = "（未填写）"
SCOPE_RANK_HEADERS = {"parent": "上级党组织内排名", "category": "类别内排名"}
# Colours of the levels in the summary chart, best level first; the unrated label is grey.
CHART_COLORS = ("#C00000", "#E46C0A", "#F4B183", "#FFD966", "#9DC3E6", "#5B9BD5", "#8064A2")
CHART_UNRATED = "#A6A6A6"
CHART_HEIGHT = 360  # pixels
SUMMARY_LABEL_WIDTH = 20.0  # 分类汇总: the township / category column
SUMMARY_COUNT_WIDTH = 11.0  # 分类汇总: each level's count

EFFECTS = {
    "no_rating": "取消评星资格（只考核不评星）",
    "cap": "等级封顶",
    "deduct": "扣分",
    "flag": "标记",
    "award": "直接定级",
}
# The same effect worded for rubrics that grade (好/较好/一般/较差) instead of awarding stars.
EFFECTS_GRADE = {**EFFECTS, "no_rating": "取消定级资格（只考核不定级）"}

# Conditional colours of the level column on 总排名: (fill, font) per look, labels per look.
LEVEL_LOOKS = {
    "top": ("#C6EFCE", "#006100"),
    "good": ("#E2EFDA", "#375623"),
    "middle": ("#FFEB9C", "#7F6000"),
    "low": ("#F8CBAD", "#833C0B"),
    "unrated": ("#E7E6E6", "#C00000"),
}
LEVEL_LABELS = {
    "top": ("五星", "好", "优秀", "先进"),
    "good": ("四星", "较好", "良好"),
    "middle": ("三星", "一般", "合格"),
    "low": ("二星", "一星", "较差", "差", "基本合格", "不合格", "后进"),
    "unrated": ("未评定", "不评星", "不定级"),
}
# Conditional colours of 升降 on 总排名.
CHANGE_LOOKS = {"up": ("升星", "升级"), "down": ("降星", "降级")}

# Column kinds: how a column's values are written and shown.
#   int    whole number ("0")             score  subtotal / total ("0.00")
#   point  points in detail ("0.00": one number of decimals in the column)
#   value  measured value / target (per row: the indicator's unit, % for rates, its own decimals; see
#          :func:`value_formats`; "General" when the run did not say the units)
#   diff   signed difference ("+0.00")    text   text (wraps when wider than its cap)
#   move   signed whole number ("+3")
NUM_FORMATS = {"int": "0", "score": "0.00", "point": "0.00", "value": "General", "diff": "+0.00;-0.00;0.00",
               "move": "+0;-0;0"}
ROUNDING = {"int": 0, "score": 4, "point": 2, "value": 4, "diff": 4, "move": 0}

# East Asian wide characters (CJK ideographs, kana, hangul, full-width forms and punctuation) take two
# width units in Excel's column width measure.
_WIDE = r"[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]"
_WIDE_RE = re.compile(_WIDE)


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "text"
    cap: int = MAX_WIDTH  # widest the column may get; longer text wraps
    center: bool = False  # short labels (rank, category, level) read better centred
    wrap: bool | None = None  # None: wrap only when the text is wider than ``cap``
    extra: int = 0  # width units added for decorations written by the number format (e.g. " ★")


# --------------------------------------------------------------------------------------------------
# Formats: one object per look, created once per workbook


class Looks:
    def __init__(self, workbook: Workbook):
        self._workbook = workbook
        base = {"font_name": FONT, "font_size": FONT_SIZE, "valign": "vcenter"}
        self._base = base
        self.title = workbook.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.note = workbook.add_format({**base, "font_size": 10, "font_color": "#595959", "align": "left"})
        self.note_wrap = workbook.add_format({**base, "font_size": 10, "font_color": "#595959", "align": "left",
                                              "valign": "top", "text_wrap": True})
        # Tables carry a table style, but the header fill and the cell borders are also set on the cells:
        # WPS and LibreOffice (and every printer driver behind them) do not all render table styles, and a
        # printed list needs its grid.
        self.border = {"border": 1, "border_color": BORDER_COLOR}
        self.header = workbook.add_format(
            {**base, **self.border, "bold": True, "align": "center", "text_wrap": True, "bg_color": HEADER_FILL,
             "font_color": "#000000"}
        )
        self.section = workbook.add_format({**base, "bold": True, "font_size": 12})
        self.line_number = workbook.add_format({**base, "font_color": "#808080", "align": "right"})
        self.code = workbook.add_format({**base, "text_wrap": True})
        # Conditional-format (dxf) looks.
        self.lost = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.up = workbook.add_format({"font_color": "#006100", "bold": True})
        self.down = workbook.add_format({"font_color": "#C00000", "bold": True})
        self.total_label = workbook.add_format({**base, **self.border, "bold": True, "align": "center",
                                                "top": 2, "bg_color": "#F2F2F2"})
        self.total_number = workbook.add_format({**base, **self.border, "bold": True, "num_format": "0",
                                                 "align": "center", "top": 2, "bg_color": "#F2F2F2"})
        self.not_applicable = workbook.add_format({"font_color": "#808080"})
        self.levels = {
            look: workbook.add_format({"bg_color": fill, "font_color": font, "bold": look == "top"})
            for look, (fill, font) in LEVEL_LOOKS.items()
        }
        self._cells: dict[tuple[str, bool, bool, bool], Format] = {}

    def number(self, num_format: str) -> Format:
        """A bordered number cell with ``num_format`` (cached: one object per format string)."""
        key = ("num:" + num_format, False, False, False)
        if key not in self._cells:
            self._cells[key] = self._workbook.add_format({**self._base, **self.border, "num_format": num_format})
        return self._cells[key]

    def cell(self, kind: str, wrap: bool = False, center: bool = False, star: bool = False) -> Format:
        """The format of a table cell holding a kind of value (cached: one object per distinct look).

        ``star`` marks a number that earned something (a dimension's star): bold dark green on light green
        with a "★" after the number, so that the mark survives a black-and-white printer.
        """
        key = (kind, wrap, center, star)
        if key not in self._cells:
            props = {**self._base, **self.border}
            if kind in NUM_FORMATS:
                props["num_format"] = NUM_FORMATS[kind]
            if wrap:
                props["text_wrap"] = True
            if center:
                props["align"] = "center"
            if star:
                props.update({"num_format": f'{props.get("num_format", "General")}" {STAR_MARK}"', "bold": True,
                              "font_color": "#006100", "bg_color": "#E2EFDA"})
            self._cells[key] = self._workbook.add_format(props)
        return self._cells[key]


# --------------------------------------------------------------------------------------------------
# Small helpers


def _column(frame: pd.DataFrame, name: str, default=None) -> pd.Series:
    if frame is not None and name in frame.columns:
        return frame[name]
    index = frame.index if frame is not None else pd.RangeIndex(0)
    return pd.Series([default] * len(index), index=index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Text column: NaN/None -> "" and everything else as str."""
    obj = series.astype(object)
    return obj.where(obj.notna(), "").astype(str)


def _text_at(texts: dict[int, pd.Series] | None, index: int, series: pd.Series) -> pd.Series:
    """:func:`_text` of the column at ``index`` (``series``): the one the caller made (``texts``, by
    position), else made here."""
    return texts[index] if texts and index in texts else _text(series)


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def _meta_get(meta, key: str, default=None):
    """A run's meta value by name (a dict or an object with attributes)."""
    if meta is None:
        return default
    if isinstance(meta, dict):
        return meta.get(key, default)
    return getattr(meta, key, default)


def _meta_text(meta, key: str) -> str:
    value = getattr(meta, key)
    return "" if value is None else str(value)


# _WIDE as a lookup table over the Basic Multilingual Plane (1: wide); index 0x10000 stands for every
# character beyond it (none of them is in _WIDE)
_WIDE_TABLE = np.zeros(0x10001, dtype=np.uint8)
for _lo, _hi in re.findall(r"\\u([0-9A-F]{4})-\\u([0-9A-F]{4})", _WIDE):
    _WIDE_TABLE[int(_lo, 16):int(_hi, 16) + 1] = 1
_CODE_POINTS = 1 << 22  # code points held at once while counting (16 MiB)
_SHORT = 1024  # longer strings are counted with the regular expression, one by one


def _display_units(series: pd.Series) -> pd.Series:
    """Display width of each string: its length plus one extra unit per wide (CJK) character (NaN: missing).

    The wide characters are counted in numpy: the strings as UTF-32 code points (a block of rows of at
    most :data:`_SHORT` characters at a time, grouped by length so a long one does not widen the block)
    looked up in :data:`_WIDE_TABLE`; 4x faster than pandas' regex count, which for this pattern runs
    Python's ``re`` on every string (2.4 s for 800,000 cells)."""
    text = series.astype(str)
    lengths = text.str.len()
    present = lengths.notna().to_numpy()
    n = lengths.fillna(0).to_numpy(dtype=np.int64)
    values = text.to_numpy(dtype=object)
    wide = np.zeros(len(text), dtype=np.int64)
    limit = 16
    done = n == 0
    while not done.all():
        rows = np.flatnonzero(~done & (n <= limit)) if limit <= _SHORT else np.flatnonzero(~done)
        if limit > _SHORT:
            wide[rows] = [len(_WIDE_RE.findall(v)) for v in values[rows]]
            break
        step = max(1, _CODE_POINTS // limit)
        for a in range(0, len(rows), step):
            block = rows[a:a + step]
            points = np.array(values[block], dtype="U").view(np.uint32).reshape(len(block), -1)
            wide[block] = _WIDE_TABLE[np.minimum(points, 0x10000)].sum(axis=1, dtype=np.int64)
        done[rows] = True
        limit *= 4
    units = n + wide
    if not present.all():  # as pandas' own count: float, NaN where missing
        units = np.where(present, units, np.nan)
    return pd.Series(units, index=series.index)


def _units(text: str) -> int:
    """:func:`_display_units` of one string (no Series for a header)."""
    return len(text) + len(_WIDE_RE.findall(text))


def _longest(shown: pd.Series, enough: float | None = None) -> int:
    """Widest display width in a text column, or (when ``enough`` is given and the longest string has at
    least that many characters) the longest string's length: a width at least ``enough`` is all the
    caller needs to know.

    Only strings at least half as long as the longest can be the widest (a character is 1 or 2 units),
    so the regex count runs on those few distinct candidates, not on every row.
    """
    if len(shown) == 0:
        return 0
    lengths = shown.str.len()
    if enough is not None and lengths.max() >= enough:
        return int(lengths.max())
    candidates = shown[(lengths * 2 >= lengths.max()).to_numpy()].drop_duplicates()
    return int(_display_units(candidates).max())


def _formatted(series: pd.Series, kind: str) -> pd.Series:
    """Approximate shown text of a numeric column (for width estimation only)."""
    values = _number(series)
    if kind in ("score", "point", "diff", "move"):
        shown = values.map({"score": "{:.2f}", "point": "{:.2f}", "diff": "{:+.2f}", "move": "{:+.0f}"}[kind].format)
    else:
        shown = values.round(ROUNDING[kind]).astype(str).str.replace(r"\.0$", "", regex=True)
    return shown.where(values.notna(), "")


@functools.lru_cache(maxsize=4096)
def _header_layout(header: str) -> tuple[int, int, str]:
    """(width on one line, width on two lines, the header broken into two lines).

    A column of short numbers ("20.00") should not be widened by its header alone ("领导班子好"), so a
    header of four or more characters may be broken in the middle with a line feed ("领导班\n子好"). The
    autofilter button sits at the bottom right of the header cell, beside the second line, so only that
    line needs room for it. The break is explicit because Excel, WPS and LibreOffice measure CJK text
    differently and would otherwise wrap at different places (or not at all).
    """
    one = _units(header) + FILTER_BUTTON
    if len(header) < HEADER_WRAP_MIN or "\n" in header:
        return one, one, header
    half = (len(header) + 1) // 2
    first, second = header[:half], header[half:]
    two = int(max(_units(first) + 2, _units(second) + 1 + FILTER_BUTTON))
    return one, two, f"{first}\n{second}"


def _shown_headers(cols: list[Col], widths: list[float], break_headers: bool) -> tuple[list[str], int]:
    """The header texts as written at the given widths (with ``break_headers``, broken where the column is
    narrower than the one-line header) and the number of lines the header row needs."""
    shown, lines = [], 1
    for col, width in zip(cols, widths):
        one, _, broken = _header_layout(col.header)
        if break_headers and width < one and broken != col.header:
            shown.append(broken)
            lines = 2
        else:
            shown.append(col.header)
    return shown, lines


def _widths(frame: pd.DataFrame, cols: list[Col], break_headers: bool = False,
            texts: dict[int, pd.Series] | None = None) -> list[tuple[float, bool]]:
    """(width, wrap) per column from the longest cell, CJK characters counting double; with
    ``break_headers`` a long header over short values is planned on two lines (:func:`_header_layout`).
    ``texts``: :func:`_text` of the text columns by position, when the caller has made them."""
    out = []
    for index, (col, name) in enumerate(zip(cols, frame.columns)):
        series = frame[name]
        # numbers: the widest of the distinct values (a county's points take a few dozen values)
        if col.kind == "text":
            shown = _text_at(texts, index, series)
        else:
            shown = _formatted(series.drop_duplicates(), col.kind)
        cap = min(col.cap, MAX_WIDTH)
        longest = _longest(shown, enough=cap - 1 - col.extra)  # then the values alone pass the cap
        values = longest + 2 + col.extra
        one, two, _ = _header_layout(col.header)
        header = two if break_headers and two < one and values + 2 < one else one  # break only when that saves width
        need = max(values, header, len(EMPTY) * 2 + 2)
        width = min(max(need, MIN_WIDTH), col.cap, MAX_WIDTH)
        out.append((float(width), col.kind == "text" and need > width))
    return out


def _row_lines(text: pd.Series, width: float) -> np.ndarray:
    """Lines each cell of a wrapping text column needs at ``width`` (1 for short text)."""
    lines = np.ones(len(text), dtype=np.int64)
    usable = max(width - 2.0, 1.0)  # cell padding, and latin words that break early
    lengths = text.str.len().to_numpy()
    candidates = np.flatnonzero(lengths * 2 > usable)  # shorter text fits on one line whatever it holds
    if candidates.size:
        subset = text.iloc[candidates]
        units = _display_units(subset).to_numpy()
        needed = np.ceil(units / usable).astype(np.int64) + subset.str.count("\n").to_numpy()
        lines[candidates] = np.maximum(needed, 1)
    return lines


def _fit_row_heights(ws: Worksheet, first_row: int, lines: np.ndarray) -> None:
    """Give rows with wrapped text the height they need.

    A file written by xlsxwriter stores no row heights, and LibreOffice (and Excel until it recalculates a
    row) then shows wrapped text cut to one line, so the estimated height is written out. The estimate
    assumes Excel's metrics (a CJK character is two width units); other programs may show a little spare
    space. Only rows of two lines or more are touched.
    """
    for offset in np.flatnonzero(lines > 1).tolist():
        ws.set_row(first_row + offset, LINE_HEIGHT * int(lines[offset]) + 2)


def _escape_header_footer(text: str) -> str:
    return text.replace("&", "&&")


# Page header: right section, 9 pt. A font code ends the size code, so a title that starts with digits
# ("2025年度…") is not read as part of the size ("&92025").
HEADER_PREFIX = '&R&9&"-,Regular"'


def header_text(title: str) -> str:
    """The stored page header for a running title (Excel limits a header to 255 characters)."""
    return HEADER_PREFIX + _escape_header_footer(title[:120])


def _unique_headers(headers: list[str]) -> list[str]:
    """Excel tables need distinct header names (case-insensitive); suffix repeats."""
    seen: set[str] = set()
    out = []
    for header in headers:
        name = header or "列"
        candidate, n = name, 2
        while candidate.lower() in seen:
            candidate = f"{name}（{n}）"
            n += 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


# --------------------------------------------------------------------------------------------------
# Sheet scaffolding


class _Block:
    """The body of a table: rows of cells rendered as sheet XML in bulk when the workbook is closed.

    xlsxwriter spends about ten microseconds of Python on every cell (a call, a cell tuple, the shared
    string table, the XML writer); a county's 得分明细 has ten thousand rows, a province's millions. A block
    keeps the table's columns as arrays and renders its rows with Arrow string kernels a column at a time:
    the same cells (values, formats, inline strings with the same escapes) without a Python call per cell.
    ``columns`` holds per column (kind, values, formats, codes): kind "text" (an Arrow text array, "" a
    formatted blank) or "number" (float values, NaN a formatted blank), the formats the column uses and, when more
    than one, the code of each row's format among them. ``heights`` are row heights in points (NaN: the
    default)."""

    CHUNK = 50_000  # rows rendered at a time

    def __init__(self, first_row: int, n: int, columns: list, heights: np.ndarray | None = None):
        self.first_row, self.n, self.columns, self.heights = first_row, n, columns, heights

    @property
    def last_row(self) -> int:
        return self.first_row + self.n - 1

    def render(self, fh, row_info: dict) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        from xlsxwriter.utility import xl_col_to_name

        heights = np.full(self.n, np.nan) if self.heights is None else np.asarray(self.heights, dtype=float).copy()
        for row, info in row_info.items():  # rows someone gave a height with set_row (in pixels)
            if self.first_row <= row <= self.last_row and info.height is not None:
                heights[row - self.first_row] = info.height * 0.75
        letters = [xl_col_to_name(c) for c in range(len(self.columns))]
        xf = [[f._get_xf_index() if f is not None else 0 for f in formats] for _, _, formats, _ in self.columns]
        for lo in range(0, self.n, self.CHUNK):
            hi = min(lo + self.CHUNK, self.n)
            numbers = pa.array((np.arange(lo, hi) + self.first_row + 1).astype(str))
            cells = []
            for c, (kind, values, formats, codes) in enumerate(self.columns):
                style = (pa.array(np.asarray(xf[c], dtype=object).astype(str)[codes[lo:hi]])
                         if codes is not None else str(xf[c][0]))
                start = pc.binary_join_element_wise(f'<c r="{letters[c]}', numbers, '" s="', style, '"', "")
                blank = pc.binary_join_element_wise(start, "/>", "")
                if kind == "text":
                    text = _xml_text(values[lo:hi])
                    keep = pc.match_substring_regex(text, r"^\s|\s$")
                    open_t = pc.if_else(keep, '><is><t xml:space="preserve">', "><is><t>")
                    full = pc.binary_join_element_wise(start, ' t="inlineStr"', open_t, text, "</t></is></c>", "")
                    cells.append(pc.if_else(pc.equal(text, ""), blank, full))
                else:
                    v = values[lo:hi]
                    present = np.isfinite(v)
                    full = pc.binary_join_element_wise(start, "><v>", _xml_numbers(v), "</v></c>", "")
                    cells.append(pc.if_else(pa.array(present), full, blank))
            h = heights[lo:hi]
            custom = ~np.isnan(h)
            h = np.where(custom, np.floor(np.nan_to_num(h) * 4.0 / 3.0 + 0.5) * 0.75, np.nan)  # whole pixels, as set_row
            attrs = pa.array(np.where(custom, np.char.add(np.char.add(' ht="', _g16(h)), '" customHeight="1"'), ""))
            rows = pc.binary_join_element_wise('<row r="', numbers, '"', attrs, ">", *cells, "</row>", "")
            fh.write(_joined(rows))


def _joined(rows) -> str:
    """The concatenation of a string array's values (its data buffer between the first and last offset)."""
    import pyarrow as pa

    if rows.null_count:
        rows = rows.fill_null("")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32 if rows.type == pa.string() else np.int64,
                            count=len(rows) + 1, offset=rows.offset * (4 if rows.type == pa.string() else 8))
    data = rows.buffers()[2]
    return data.to_pybytes()[int(offsets[0]):int(offsets[-1])].decode("utf-8")


def _g16(x: np.ndarray) -> np.ndarray:
    """``f"{x:.16g}"`` of each value, formatted once per distinct value (NaN -> "")."""
    out = np.full(len(x), "", dtype=object)
    ok = ~np.isnan(x)
    if ok.any():
        distinct, where = np.unique(x[ok], return_inverse=True)
        out[ok] = np.array([f"{v:.16g}" for v in distinct.tolist()], dtype=object)[where]
    return out.astype(str)


def _xml_numbers(x: np.ndarray):
    """Numbers as xlsxwriter writes them (``%.16G``), formatted once per distinct value."""
    import pyarrow as pa

    out = np.full(len(x), "", dtype=object)
    ok = np.isfinite(x)
    if ok.any():
        distinct, where = np.unique(x[ok], return_inverse=True)
        out[ok] = np.array([f"{v:.16G}" for v in distinct.tolist()], dtype=object)[where]
    return pa.array(out, type=pa.string())


_CONTROL = "[\x00-\x08\x0b-\x1f]"


def _arrow_values(text: pd.Series):
    """The values of a text Series as one Arrow array (pandas' Arrow "str" as it is; else converted)."""
    import pyarrow as pa

    arrow = getattr(text.array, "_pa_array", None)
    if isinstance(arrow, pa.ChunkedArray) and (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)
    return pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)


def _xml_text(values):
    """Text escaped for an inline string as xlsxwriter escapes it: & < > as entities, an existing
    ``_xHHHH_`` guarded, control characters and U+FFFE/U+FFFF as ``_xHHHH_``. ``values``: an Arrow text
    array (:func:`_arrow_values`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.cast(pa.string()).fill_null("")
    if pc.any(pc.match_substring_regex(text, "[&<>]")).as_py():
        text = pc.replace_substring(pc.replace_substring(pc.replace_substring(text, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    if pc.any(pc.match_substring_regex(text, "_x[0-9a-fA-F]{4}_|" + _CONTROL + "|\ufffe|\uffff")).as_py():
        text = pc.replace_substring_regex(text, "(_x[0-9a-fA-F]{4}_)", "_x005F\\1")
        for code in [*range(0x00, 0x09), *range(0x0B, 0x20)]:
            text = pc.replace_substring(text, chr(code), f"_x{code:04X}_")
        text = pc.replace_substring(pc.replace_substring(text, "\ufffe", "_xFFFE_"), "\uffff", "_xFFFF_")
    return text


class _Sheet(Worksheet):
    """A worksheet whose table bodies are :class:`_Block` s, rendered in bulk; every other cell (titles,
    headers, total rows) goes through xlsxwriter as usual."""

    def __init__(self):
        super().__init__()
        self._blocks: list[_Block] = []
        self._rects: list[tuple[int, int, int, int]] = []  # the tables' ranges

    def add_block(self, block: _Block) -> None:
        if not block.n:
            return
        if self._check_dimensions(block.first_row, 0) or self._check_dimensions(block.last_row, len(block.columns) - 1):
            raise ValueError(f"工作表「{self.name}」的第{block.last_row + 1}行超出了 Excel 的行数上限")
        self._blocks.append(block)

    def add_table(self, first_row, first_col, last_row, last_col, options=None):
        """xlsxwriter's add_table, without its check of every cell of the range against earlier tables and
        merged ranges (a dictionary entry per cell: 34 million for a province's 得分明细): the ranges are
        checked here, as rectangles. Returns what xlsxwriter returns (0, or -1 / -2 / -3 on an error)."""
        from xlsxwriter.exceptions import OverlappingRange
        from xlsxwriter.utility import xl_range

        options = dict(options or {})
        rect = (first_row, first_col, last_row, last_col)
        for other in self._rects:
            if not (rect[2] < other[0] or other[2] < rect[0] or rect[3] < other[1] or other[3] < rect[1]):
                raise OverlappingRange(f"Table range '{xl_range(*rect)}' overlaps previous table range '{xl_range(*other)}'.")
        small = last_row - first_row <= 2 or options.get("total_row") or "data" in options
        if small:
            code = super().add_table(first_row, first_col, last_row, last_col, options)
        elif self._check_dimensions(last_row, last_col, True, True):
            return -1
        else:
            code = super().add_table(first_row, first_col, first_row + 1, last_col, options)
            if code == 0:  # the table as added covers its header and first row: give it its whole range
                table = self.tables[-1]
                table["range"] = table["a_range"] = xl_range(first_row, first_col, last_row, last_col)
                if table.get("autofilter"):
                    table["autofilter"] = table["a_range"]
        if code == 0:
            self._rects.append(rect)
        return code

    def _write_rows(self) -> None:
        if not self._blocks:
            return super()._write_rows()
        lo, hi = self.dim_rowmin, self.dim_rowmax
        at = lo
        try:
            for block in sorted(self._blocks, key=lambda b: b.first_row):
                if at <= block.first_row - 1:
                    self.dim_rowmin, self.dim_rowmax = at, block.first_row - 1
                    super()._write_rows()
                block.render(self.fh, self.row_info)
                at = block.last_row + 1
            if at <= hi:
                self.dim_rowmin, self.dim_rowmax = at, hi
                super()._write_rows()
        finally:
            self.dim_rowmin, self.dim_rowmax = lo, hi


class SheetWriter:
    def __init__(self, workbook: Workbook, looks: Looks, meta: RunMeta, break_headers: bool = False):
        self.workbook = workbook
        self.break_headers = break_headers  # long headers over narrow columns take two lines
        self.looks = looks
        self.meta = meta
        self.title = _meta_text(meta, "title") or "党支部考核结果"
        self.last_widths: list[float] = []  # the column widths of the table written last
        self.limits: list[tuple[str, str]] = []  # (sheet, what): Excel limits the workbook reached, said in 数据质量

    def page_setup(self, ws: Worksheet, subject: str, repeat_row: int | None, portrait: bool = False) -> None:
        ws.set_paper(9)  # A4
        if portrait:
            ws.set_portrait()
        else:
            ws.set_landscape()
        ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
        ws.set_margins(left=0.25, right=0.25, top=0.75, bottom=0.75)
        ws.set_header(header_text(f"{self.title} — {subject}"), {"margin": 0.3})
        ws.set_footer("&C第 &P 页 共 &N 页", {"margin": 0.3})
        ws.hide_gridlines(1)  # not printed; the cells carry their own borders
        ws.center_horizontally()
        if repeat_row is not None:
            ws.repeat_rows(repeat_row)

    def heading(self, ws: Worksheet, subject: str, note: str, ncols: int, width: float | None = None) -> None:
        """Title row and note row, merged over ``ncols`` columns. With the columns' total ``width`` known, a
        note longer than that wraps and its row gets the height of its lines."""
        title = f"{self.title} — {subject}"
        ws.set_row(0, 30)
        note_format = self.looks.note
        if width:
            # The note is 10pt against the 11pt the width units are measured in.
            units = float(_display_units(pd.Series([note])).iloc[0]) * 10 / FONT_SIZE
            lines = int(np.ceil(units / max(width - 2, 1.0)))
            if lines > 1:
                note_format = self.looks.note_wrap
                ws.set_row(1, LINE_HEIGHT * lines + 2)
        if ncols > 1:
            ws.merge_range(0, 0, 0, ncols - 1, title, self.looks.title)
            ws.merge_range(1, 0, 1, ncols - 1, note, note_format)
        else:
            ws.write_string(0, 0, title, self.looks.title)
            ws.write_string(1, 0, note, note_format)

    def write_table(
        self,
        ws: Worksheet,
        first_row: int,
        frame: pd.DataFrame,
        cols: list[Col],
        table_stem: str,
        widths: list[float] | None = None,
        marks: dict[int, np.ndarray] | None = None,
        totals: bool = False,
        row_formats: dict[int, list] | None = None,
    ) -> tuple[int, int]:
        """Write ``frame`` as an Excel table whose header is on ``first_row``.

        Column widths are measured from the data and set, unless the caller already set them and passes
        ``widths``. ``marks`` maps a column position to a boolean array: the cells where it is true get
        the starred look (see :meth:`Looks.cell`). With ``totals`` the table gets a total row: 合计 in
        the first column and the sum of every numeric column (a SUBTOTAL formula that follows the filter,
        with its value cached for programs that do not recalculate). Returns (first data row, last data
        row). An empty frame gets one row saying 无.
        """
        looks = self.looks
        n = len(frame)
        first_data = first_row + 1
        last_data = first_row + max(n, 1)
        marks = marks or {}

        formats = []
        lines = np.ones(n, dtype=np.int64)
        # each text column as text once, for its width, its lines and its cells (the conversion of a
        # province's detail columns to text is most of what measuring them costs)
        texts = {i: _text(frame.iloc[:, i]) for i, col in enumerate(cols) if col.kind == "text"}
        measured = _widths(frame, cols, self.break_headers, texts)
        used = []
        for index, (col, (width, wrap)) in enumerate(zip(cols, measured)):
            wrap = wrap if col.wrap is None else col.wrap
            if widths is None:
                ws.set_column(index, index, width)
            else:
                width = widths[index]
            used.append(width)
            formats.append(looks.cell(col.kind, wrap, col.center))
            if wrap and n:
                lines = np.maximum(lines, _row_lines(_text_at(texts, index, frame.iloc[:, index]), width))
        heights = np.where(lines > 1, LINE_HEIGHT * lines + 2, np.nan).astype(float) if n else None
        self.last_widths = used
        shown, header_lines = _shown_headers(cols, used, self.break_headers)
        headers = _unique_headers(shown)
        if header_lines > 1:
            ws.set_row(first_row, LINE_HEIGHT * header_lines + 4)

        if n == 0:
            ws.write_string(first_data, 0, EMPTY, looks.cell("text"))
            for index in range(1, len(cols)):
                ws.write_blank(first_data, index, None, formats[index])
        else:
            starred = {c: looks.cell(cols[c].kind, False, cols[c].center, star=True) for c in marks}
            _write_body(ws, first_data, frame, cols, formats, marks, starred, row_formats, heights, texts)

        columns = [{"header": h, "header_format": looks.header} for h in headers]
        if totals:
            columns[0]["total_string"] = TOTAL_LABEL
        code = ws.add_table(
            first_row,
            0,
            last_data + (1 if totals else 0),
            len(cols) - 1,
            {
                "name": f"{table_stem}表",
                "style": TABLE_STYLE,
                "autofilter": True,
                "total_row": totals,
                "columns": columns,
            },
        )
        if code != 0:  # never silently without its table (xlsxwriter only warns)
            raise RuntimeError(f"工作表「{ws.name}」的表格「{table_stem}表」（第{first_row + 1}至{last_data + 1}行）"
                               f"无法写入（xlsxwriter 返回 {code}）")
        if totals:
            self._total_row(ws, first_data, last_data, frame, cols)
        return first_data, last_data

    def _total_row(self, ws: Worksheet, first_data: int, last_data: int, frame: pd.DataFrame, cols: list[Col]) -> None:
        """The 合计 row under a table, bold on a grey fill with a heavier top border.

        Each numeric column gets ``SUBTOTAL(109, range)`` (the sum of the visible rows, so it follows the
        autofilter) with the full sum cached as the cell's value.
        """
        row = last_data + 1
        ws.write_string(row, 0, TOTAL_LABEL, self.looks.total_label)
        for index in range(1, len(cols)):
            if cols[index].kind == "text":
                ws.write_blank(row, index, None, self.looks.total_label)
                continue
            total = float(_number(frame.iloc[:, index]).sum()) if len(frame) else 0.0
            cells = f"{xl_rowcol_to_cell(first_data, index)}:{xl_rowcol_to_cell(last_data, index)}"
            ws.write_formula(row, index, f"=SUBTOTAL(109,{cells})", self.looks.total_number,
                             int(total) if total.is_integer() else total)

    def table_sheet(
        self,
        name: str,
        subject: str,
        note: str,
        frame: pd.DataFrame,
        cols: list[Col],
        freeze_cols: int = 0,
        marks: dict[int, np.ndarray] | None = None,
        portrait: bool = False,
        row_formats: dict[int, list] | None = None,
        each=None,
        together: str | None = None,
    ) -> tuple[Worksheet, int, int]:
        """A sheet holding one table. A table longer than a sheet holds (:data:`SHEET_ROWS`) continues on
        sheets named ``name(2)``, ``name(3)``, ... (each a table of its own, cut where the value of column
        ``together`` changes, so a branch's rows stay on one sheet), and the workbook says so
        (:attr:`limits`, shown on 数据质量). ``each(ws, first, last, part)`` is called for every sheet with
        its rows and its part of ``frame``. Returns the first sheet and its first and last data rows."""
        parts = _sheet_parts(frame, SHEET_ROWS - HEADER_ROW - 1, together)
        names = [name] + [f"{name}({k})" for k in range(2, len(parts) + 1)]
        if len(parts) > 1:
            self.limits.append((name, f"共{len(frame):,}行，超过 Excel 每个工作表{SHEET_ROWS:,}行的上限，"
                                      f"分为{len(parts)}个工作表：{'、'.join(names)}"))
        out = None
        for k, (sheet, (lo, hi)) in enumerate(zip(names, parts)):
            part = frame.iloc[lo:hi]
            ws = self.workbook.add_worksheet(sheet)
            ws.freeze_panes(HEADER_ROW + 1, freeze_cols)
            shown = subject if len(parts) == 1 else f"{subject}（第{k + 1}部分，共{len(parts)}部分）"
            self.page_setup(ws, shown, HEADER_ROW, portrait=portrait)
            sub_marks = {c: np.asarray(m)[lo:hi] for c, m in (marks or {}).items()} or None
            sub_formats = {c: list(f)[lo:hi] for c, f in (row_formats or {}).items()} or None
            widths = None
            if len(parts) > 1:  # every part as wide as the whole table
                widths = [w for w, _ in _widths(frame, cols, self.break_headers)]
                for index, width in enumerate(widths):
                    ws.set_column(index, index, width)
            stem = name if k == 0 else f"{name}{k + 1}"  # a table's name has no parentheses
            first, last = self.write_table(ws, HEADER_ROW, part, cols, stem, widths=widths, marks=sub_marks,
                                           row_formats=sub_formats)
            part_note = note if len(parts) == 1 else f"{note}（本表行数超过 Excel 上限，续见：{'、'.join(names)}）"
            self.heading(ws, shown, part_note, len(cols), sum(self.last_widths))
            if each is not None:
                each(ws, first, last, part)
            out = out or (ws, first, last)
        return out

    def page_breaks(self, ws: Worksheet, ids: pd.Series, first: int) -> None:
        """A page break before each branch but the first; when there are more branches than Excel allows
        page breaks, none, and the workbook says so."""
        breaks = branch_breaks(ids, first)
        if not breaks and len(ids) > 1 and (ids.to_numpy()[1:] != ids.to_numpy()[:-1]).sum() > MAX_PAGE_BREAKS:
            self.limits.append((ws.name, f"有{ids.nunique():,}个支部，超过 Excel 每个工作表{MAX_PAGE_BREAKS:,}个分页符的上限，"
                                         "打印时不再每个支部另起一页"))
        ws.set_h_pagebreaks(breaks)


def _sheet_parts(frame: pd.DataFrame, rows: int, together: str | None) -> list[tuple[int, int]]:
    """(start, stop) of the parts of ``frame`` that fit ``rows`` rows each, cut where ``together`` changes
    value when it can (a run longer than a sheet is cut where it must)."""
    n = len(frame)
    if n <= rows:
        return [(0, n)]
    starts = np.arange(n) if together is None else np.r_[0, np.flatnonzero(
        frame[together].to_numpy()[1:] != frame[together].to_numpy()[:-1]) + 1]
    out, lo = [], 0
    while n - lo > rows:
        # the last start of a run that leaves the part within the limit
        k = int(np.searchsorted(starts, lo + rows, side="right")) - 1
        hi = int(starts[k]) if k >= 0 and starts[k] > lo else lo + rows
        out.append((lo, hi))
        lo = hi
    out.append((lo, n))
    return out


def _write_body(
    ws: Worksheet,
    first_row: int,
    frame: pd.DataFrame,
    cols: list[Col],
    formats: list[Format],
    marks: dict[int, np.ndarray] | None = None,
    starred: dict[int, Format] | None = None,
    row_formats: dict[int, list] | None = None,
    heights: np.ndarray | None = None,
    texts: dict[int, pd.Series] | None = None,
) -> None:
    """Write the values column by column: on a results sheet (:class:`_Sheet`) as one :class:`_Block`
    rendered in bulk, elsewhere with the type-specific xlsxwriter calls (and ``heights``, the rows' heights
    in points or NaN, with ``set_row``).

    Each column reuses its one cached format (numeric columns in ``marks`` choose between two: plain and
    starred; columns in ``row_formats`` take the cached format given for each row, e.g. a measured value's
    unit); empty values become formatted blanks so the grid stays whole.
    """
    marks = marks or {}
    row_formats = row_formats or {}
    if isinstance(ws, _Sheet):
        ws.add_block(_block(first_row, frame, cols, formats, marks, starred, row_formats, heights, texts))
        return
    for c, (col, name, fmt) in enumerate(zip(cols, frame.columns, formats)):
        series = frame[name]
        write_blank = ws.write_blank
        if col.kind == "text":
            write = ws.write_string
            for r, value in enumerate(_text_at(texts, c, series).tolist(), first_row):
                if value:
                    write(r, c, value, fmt)
                else:
                    write_blank(r, c, None, fmt)
        else:
            numbers = _number(series).round(ROUNDING[col.kind]).to_numpy()
            present = np.isfinite(numbers)
            write = ws.write_number
            rows = range(first_row, first_row + len(numbers))
            if c in row_formats:
                choice = row_formats[c]
            elif c in marks:
                choice = np.where(np.asarray(marks[c], dtype=bool), starred[c], fmt).tolist()
            else:
                choice = [fmt] * len(numbers)
            for r, value, ok, cell_format in zip(rows, numbers.tolist(), present.tolist(), choice):
                if ok:
                    write(r, c, value, cell_format)
                else:
                    write_blank(r, c, None, cell_format)
    if heights is not None:
        for offset in np.flatnonzero(~np.isnan(heights)).tolist():
            ws.set_row(first_row + offset, float(heights[offset]))


def _block(first_row: int, frame: pd.DataFrame, cols: list[Col], formats: list[Format], marks: dict, starred: dict,
           row_formats: dict, heights: np.ndarray | None, texts: dict[int, pd.Series] | None = None) -> _Block:
    """The :class:`_Block` of a table body: what :func:`_write_body` writes cell by cell, as columns. Text
    stays Arrow text (``texts``, else :func:`_text` of the column): no Python string per cell."""
    columns = []
    for c, (col, name, fmt) in enumerate(zip(cols, frame.columns, formats)):
        series = frame[name]
        if col.kind == "text":
            columns.append(("text", _arrow_values(_text_at(texts, c, series)), [fmt], None))
            continue
        numbers = _number(series).round(ROUNDING[col.kind]).to_numpy()
        if c in row_formats:
            choice = list(row_formats[c])
            distinct = list({id(f): f for f in choice}.values())
            at = {id(f): i for i, f in enumerate(distinct)}
            columns.append(("number", numbers, distinct, np.array([at[id(f)] for f in choice], dtype=np.int64)))
        elif c in marks:
            columns.append(("number", numbers, [fmt, starred[c]], np.asarray(marks[c], dtype=bool).astype(np.int64)))
        else:
            columns.append(("number", numbers, [fmt], None))
    return _Block(first_row, len(frame), columns, heights)


# --------------------------------------------------------------------------------------------------
# The frames behind each sheet


def _branch_lookup(result: Result) -> tuple[pd.Series, pd.Series]:
    branches = result.branches
    ids = _column(branches, "branch_id")
    names = pd.Series(_text(_column(branches, "name")).to_numpy(), index=ids.to_numpy())
    ranks = pd.Series(_number(_column(branches, "rank")).to_numpy(), index=ids.to_numpy())
    names = names[~names.index.duplicated()]
    ranks = ranks[~ranks.index.duplicated()]
    return names, ranks


def _dimension_order(result: Result) -> tuple[list, list[str]]:
    """Dimension ids and Chinese names in rubric order."""
    dims = result.dimensions
    if dims is not None and len(dims) and "dimension" in dims.columns:
        first = dims.drop_duplicates("dimension")
        if "order" in first.columns:
            first = first.sort_values("order", kind="stable")
        names = _text(_column(first, "name"))
        ids = first["dimension"].tolist()
        return ids, [n or str(i) for n, i in zip(names.tolist(), ids)]
    names = [str(n) for n in result.meta.dimension_names or []]
    return names, names


def _flags_and_vetoes(result: Result) -> pd.Series:
    """Per branch (aligned to ``result.branches``): names of fired vetoes then flags, "；"-joined, deduplicated."""
    branches = result.branches
    ids = _column(branches, "branch_id")
    parts = []
    vetoes = result.vetoes
    if vetoes is not None and len(vetoes):
        parts.append(pd.DataFrame({"branch_id": vetoes["branch_id"].to_numpy(), "item": _text(_column(vetoes, "name")).to_numpy()}))
    flags = _text(_column(branches, "flags", "")).str.split(FLAG_SEPARATOR)
    exploded = pd.DataFrame({"branch_id": ids.to_numpy(), "item": flags.to_numpy()}).explode("item")
    parts.append(exploded)
    items = pd.concat(parts, ignore_index=True)
    items["item"] = _text(items["item"]).str.strip()
    items = items[items["item"] != ""].drop_duplicates()
    if items.empty:
        return pd.Series([""] * len(branches), index=branches.index, dtype=object)
    joined = items.groupby("branch_id", sort=False)["item"].agg(FLAG_SEPARATOR.join)
    return pd.Series(ids.map(joined).fillna("").to_numpy(), index=branches.index)


def _joined_notes(*parts: pd.Series) -> pd.Series:
    """Per row the non-empty texts of ``parts`` joined with "；"."""
    texts = pd.concat([_text(p).str.strip() for p in parts], axis=1, ignore_index=True)
    out = texts[0] if len(parts) else pd.Series("", index=texts.index, dtype="str")
    for i in range(1, len(parts)):  # column by column, as whole columns (not a Python join per row)
        t = texts[i]
        out = out.where(t == "", t.where(out == "", out + FLAG_SEPARATOR + t))
    return pd.Series(out.to_numpy(dtype=object), index=texts.index, dtype=object)


def _scope_rank_header(result: Result) -> str | None:
    """Header of the rank-within-scope column, or None when the ranking scope is the whole county."""
    branches = result.branches
    if "scope_rank" not in branches.columns:
        return None
    return SCOPE_RANK_HEADERS.get(result.rubric.ranking.scope)


def _previous(result: Result) -> pd.DataFrame | None:
    """``meta.previous`` aligned to ``result.branches`` (None when no previous results were given)."""
    previous = result.meta.previous
    if previous is None:
        return None
    ids = _column(result.branches, "branch_id")
    keyed = previous.drop_duplicates("branch_id").set_index("branch_id")
    return keyed.reindex(ids.to_numpy()).reset_index(drop=True)


def ranking_frame(result: Result) -> tuple[pd.DataFrame, list[Col], dict[int, np.ndarray]]:
    """The 总排名 table, its columns, and the starred cells (column position -> mask per row)."""
    branches = result.branches
    dim_ids, dim_names = _dimension_order(result)
    frame = pd.DataFrame(
        {
            "排名": _column(branches, "rank"),
            "支部编码": _column(branches, "branch_id"),
            "支部名称": _column(branches, "name"),
            "上级党组织": _column(branches, "parent"),
            "类别": _column(branches, "category"),
        }
    ).reset_index(drop=True)
    cols = [Col("排名", "int", center=True), Col("支部编码"), Col("支部名称", cap=28), Col("上级党组织", cap=18),
            Col("类别", center=True)]
    scope_header = _scope_rank_header(result)
    if scope_header:
        frame.insert(1, "scope_rank", _number(_column(branches, "scope_rank")).to_numpy())
        cols.insert(1, Col(scope_header, "int", center=True))

    dims = result.dimensions
    has_dims = dims is not None and len(dims) and {"branch_id", "dimension", "score"} <= set(dims.columns)
    if has_dims:
        pivot = dims.pivot_table(index="branch_id", columns="dimension", values="score", aggfunc="first", sort=False)
    else:
        pivot = pd.DataFrame(index=pd.Index([], name="branch_id"))
    stars = None
    if has_dims and "star" in dims.columns:
        stars = dims.pivot_table(index="branch_id", columns="dimension", values="star", aggfunc="first", sort=False)
    branch_ids = _column(branches, "branch_id").to_numpy()
    marks: dict[int, np.ndarray] = {}
    for index, (dim_id, dim_name) in enumerate(zip(dim_ids, dim_names)):
        values = pivot[dim_id].reindex(branch_ids).to_numpy() if dim_id in pivot.columns else np.full(len(branches), np.nan)
        frame[f"dim{index}"] = values
        if stars is not None and dim_id in stars.columns:
            earned = stars[dim_id].reindex(branch_ids).astype("boolean").fillna(False).to_numpy(dtype=bool)
            marks[len(cols)] = earned
            cols.append(Col(dim_name, "score", extra=3 if earned.any() else 0))
        else:
            cols.append(Col(dim_name, "score"))
    if "stars_earned" in branches.columns:
        frame["获星数"] = _number(branches["stars_earned"]).to_numpy()
        cols.append(Col("获星数", "int", center=True))

    total = _number(_column(branches, "total")).to_numpy()
    self_score = _number(_column(branches, "self_score")).to_numpy()
    tail = {
        "基础得分": (_column(branches, "base_total"), Col("基础得分", "score")),
        "加分": (_column(branches, "bonus"), Col("加分", "score")),
        "扣减": (_column(branches, "deduction"), Col("扣减", "score")),
        "总分": (total, Col("总分", "score")),
        "评定等级": (_column(branches, "level"), Col("评定等级", center=True)),
        # Internal columns (not printed: the print area ends at 评定等级); wide enough that their notes
        # seldom wrap, so the printed rows stay one line high.
        "否决与标记": (_flags_and_vetoes(result), Col("否决与标记", cap=30)),
        "等级说明": (_joined_notes(_column(branches, "quota_note", ""), _column(branches, "requires_note", ""),
                                  _column(branches, "tie_note", "")),
                 Col("等级说明", cap=50)),
    }
    tail.update(
        {
            "自评分": (self_score, Col("自评分", "score")),
            "自评差值": (self_score - total, Col("自评差值", "diff")),
        }
    )
    for key, (values, col) in tail.items():
        values = pd.Series(np.asarray(values, dtype=object))
        frame[key] = values.to_numpy() if col.kind == "text" else _number(values).to_numpy()
        cols.append(col)
    return frame, cols, marks


def dimension_maxima(result: Result) -> list[tuple[str, float]]:
    """(dimension name, full points) in rubric order: the largest maximum any branch has in it."""
    dims = result.dimensions
    if dims is None or not len(dims) or not {"dimension", "max"} <= set(dims.columns):
        return []
    ids, names = _dimension_order(result)
    top = dims.groupby("dimension", sort=False)["max"].max()
    return [(name, float(top[i])) for i, name in zip(ids, names) if i in top.index]


def dimensions_add_up(result: Result) -> bool:
    """True when every branch's dimension subtotals add up to its 基础得分 (to 2 decimals)."""
    dims = result.dimensions
    if dims is None or not len(dims) or "score" not in dims.columns:
        return True
    sums = dims.groupby("branch_id", sort=False)["score"].sum()
    base = pd.Series(_number(_column(result.branches, "base_total")).to_numpy(),
                     index=_column(result.branches, "branch_id").to_numpy())
    aligned = sums.reindex(base.index)
    return bool(((aligned - base).abs().round(2) <= 0.01).all())


def _dimension_note(result: Result) -> str:
    maxima = dimension_maxima(result)
    if not maxima:
        return ""
    listed = "、".join(f"{name}{_fmt_points(top)}分" for name, top in maxima)
    if dimensions_add_up(result):
        return f"各维度满分：{listed}，维度得分之和即基础得分"
    return (f"各维度满分：{listed}；维度得分为实得分，不适用的指标不计入满分，基础得分按适用指标的满分折算"
            "（或按评分标准的权重合成），故维度得分之和不一定等于基础得分")


def _fmt_points(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def detail_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    ind = result.indicators
    names, ranks = _branch_lookup(result)
    dims = result.dimensions
    dim_names = pd.Series(dtype=object)
    if dims is not None and len(dims) and "dimension" in dims.columns:
        first = dims.drop_duplicates("dimension")
        dim_names = pd.Series(_text(_column(first, "name")).to_numpy(), index=first["dimension"].to_numpy())
    ids = _column(ind, "branch_id")
    dim_ids = _column(ind, "dimension")
    dim_shown = dim_ids.map(dim_names) if len(dim_names) else pd.Series([None] * len(ind), index=ind.index)
    frame = pd.DataFrame(
        {
            "排名": ids.map(ranks),
            "支部编码": ids,
            "支部名称": ids.map(names),
            "维度": dim_shown.where(dim_shown.notna() & (dim_shown != ""), dim_ids),
            "指标": _column(ind, "name"),
            "测量值": _column(ind, "value"),
            "目标": _column(ind, "target"),
            "得分": _column(ind, "points"),
            "满分": _column(ind, "max"),
            "失分": _column(ind, "lost"),
            "说明": _column(ind, "explanation"),
        }
    ).reset_index(drop=True)
    cols = [
        Col("排名", "int", center=True),
        Col("支部编码"),
        Col("支部名称", cap=30),
        Col("维度", cap=20),
        Col("指标", cap=24),
        Col("测量值", "value"),
        Col("目标", "value"),
        Col("得分", "point"),
        Col("满分", "point"),
        Col("失分", "point"),
        Col("说明"),
    ]
    return frame, cols


def lost_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    ind = result.indicators
    names, ranks = _branch_lookup(result)
    lost = _number(_column(ind, "lost"))
    rows = ind[(lost > 0).to_numpy()]
    ids = _column(rows, "branch_id")
    frame = pd.DataFrame(
        {
            "排名": ids.map(ranks),
            "支部编码": ids,
            "支部名称": ids.map(names),
            "指标": _column(rows, "name"),
            "失分": _number(_column(rows, "lost")),
            "说明": _column(rows, "explanation"),
            "_order": _number(_column(rows, "order")),
        }
    )
    # Rank order, within a branch the biggest loss first, ties in rubric order.
    frame["_lost"] = frame["失分"].round(ROUNDING["point"])
    frame = frame.sort_values(["排名", "_lost", "_order"], ascending=[True, False, True], kind="stable")
    frame = frame.drop(columns=["_order", "_lost"]).reset_index(drop=True)
    cols = [Col("排名", "int", center=True), Col("支部编码"), Col("支部名称", cap=30), Col("指标", cap=24), Col("失分", "point"),
            Col("说明")]
    return frame, cols


def bonus_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    bonus = result.bonus
    names, ranks = _branch_lookup(result)
    ids = _column(bonus, "branch_id")
    counted = _column(bonus, "counted")
    counted_text = counted.astype(object).map(lambda v: "" if pd.isna(v) else ("是" if bool(v) else "否"))
    frame = pd.DataFrame(
        {
            "支部编码": ids,
            "支部名称": ids.map(names),
            "名称": _column(bonus, "title"),
            "类型": _column(bonus, "kind"),
            "级别": _column(bonus, "level"),
            "是否计分": counted_text,
            "计入分值": _number(_column(bonus, "points")),
            "说明": _column(bonus, "explanation"),
            "_rank": ids.map(ranks),
        }
    )
    frame = frame.sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)
    cols = [
        Col("支部编码"),
        Col("支部名称", cap=30),
        Col("名称", cap=30),
        Col("类型", center=True),
        Col("级别", center=True),
        Col("是否计分", center=True),
        Col("计入分值", "point"),
        Col("说明"),
    ]
    return frame, cols


def _warnings(result: Result) -> pd.DataFrame | None:
    """The fired warnings (预警) of the result's ``warnings`` frame as (branch_id, 事项, 说明)."""
    own = result.warnings
    return pd.DataFrame({"branch_id": _column(own, "branch_id").to_numpy(), "事项": _column(own, "name").to_numpy(),
                         "说明": _column(own, "explanation").to_numpy()})


def _warning_rows(result: Result) -> pd.DataFrame:
    """The fired warnings as rows of the 否决与预警 list."""
    warnings = _warnings(result)
    if warnings is None or len(warnings) == 0:
        return pd.DataFrame(columns=["branch_id", "类别", "事项", "处理", "说明", "_source"])
    return pd.DataFrame(
        {
            "branch_id": _column(warnings, "branch_id").to_numpy(),
            "类别": "预警提示",
            "事项": _text(_column(warnings, "事项")).to_numpy(),
            "处理": "提醒关注",
            "说明": _text(_column(warnings, "说明")).to_numpy(),
            "_source": 2,
        }
    )


def _gone_rows(result: Result) -> pd.DataFrame:
    """``meta.gone``: branches rated last year and missing this year, last in the list."""
    gone = result.meta.gone
    if gone is None or len(gone) == 0:
        return pd.DataFrame(columns=["branch_id", "name", "类别", "事项", "处理", "说明", "_source", "_order"])
    rank = _number(_column(gone, "上年排名"))
    total = _number(_column(gone, "上年总分"))
    level = _text(_column(gone, "上年等级"))
    said = ("上年第" + rank.map("{:.0f}".format) + "名").where(rank.notna(), "")
    said = said + ("，总分" + total.map("{:.2f}".format) + "分").where(total.notna(), "")
    said = said + ("，评定等级" + level).where(level != "", "")
    said = said.str.lstrip("，")
    return pd.DataFrame(
        {
            "branch_id": _column(gone, "branch_id").to_numpy(),
            "name": _text(_column(gone, "支部名称")).to_numpy(),
            "类别": "未参评",
            "事项": "上年参加考核，本年度未参评",
            "处理": "核实是否撤销或漏报",
            "说明": (said + "。" + _text(_column(gone, "说明"))).str.strip("。").to_numpy(),
            "_source": 3,
            "_order": rank.to_numpy(),
        }
    )


SCOPE_WORDS = {"county": "全县", "parent": "本上级党组织", "category": "同类别支部"}


def _flag_notes(result: Result, flags: pd.DataFrame, veto_rows: pd.DataFrame) -> np.ndarray:
    """Why each flag row (branch_id, 事项) is there: the branch's veto sentences that name the flag, else
    the bottom-by-rank rule ("总分排名位于全县后5%（第305名，共320个），列为整顿候选")."""
    if not len(flags):
        return np.array([], dtype=object)
    pairs = flags[["branch_id", "事项"]].reset_index(drop=True)
    said = veto_rows[["branch_id", "说明"]].merge(pairs, on="branch_id", how="inner")
    said = said[np.array([flag in text for flag, text in zip(said["事项"], said["说明"])], dtype=bool)]  # [] selects rows
    by_veto = said.groupby(["branch_id", "事项"], sort=False)["说明"].agg(FLAG_SEPARATOR.join)
    keys = pd.MultiIndex.from_frame(pairs)
    notes = pd.Series(by_veto.reindex(keys).to_numpy(), dtype=object)

    branches = result.branches
    ids = _column(branches, "branch_id").to_numpy()
    rank = pd.Series(_number(_column(branches, "rank")).to_numpy(), index=ids)
    rc = getattr(result.rubric, "rectification", None)
    scope = rc.scope if rc is not None else "county"
    key = {"parent": "parent", "category": "category"}.get(scope)
    if key is not None and key in branches.columns:
        groups = pd.Series(_text(branches[key]).to_numpy(), index=ids)
        in_scope = groups.map(groups.value_counts())
        position = pd.Series(branches.groupby(_text(branches[key]).to_numpy(), sort=False).cumcount().to_numpy() + 1,
                             index=ids)
    else:
        in_scope = pd.Series(len(branches), index=ids)
        position = rank
    bid = pairs["branch_id"]
    share = f"后{_fmt_points(rc.bottom_share * 100)}%" if rc is not None else "靠后"
    where = SCOPE_WORDS.get(scope, "全县")
    rule = ("总分排名位于" + where + share + "（第" + bid.map(position).map("{:.0f}".format) + "名，共"
            + bid.map(in_scope).map("{:.0f}".format) + "个），列为" + pairs["事项"])
    # equals at a quota line that all dropped: the quota note says which line and how many
    quota_note = pd.Series(_text(_column(branches, "quota_note", "")).to_numpy(), index=ids)
    rule = rule.where(pairs["事项"] != QUOTA_TIE_FLAG, bid.map(quota_note))
    return notes.where(notes.notna() & (notes != ""), rule).to_numpy()


def veto_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    names, ranks = _branch_lookup(result)
    effects = EFFECTS_GRADE if result.meta.rating == "grade" else EFFECTS
    vetoes = result.vetoes if result.vetoes is not None else pd.DataFrame()
    veto_ids = _column(vetoes, "branch_id")
    effect = _text(_column(vetoes, "effect"))
    veto_rows = pd.DataFrame(
        {
            "branch_id": veto_ids.to_numpy(),
            "类别": np.where(effect.to_numpy() == "award", "直接定级", np.where(effect.to_numpy() == "flag", "预警标记", "否决事项")),
            "事项": _text(_column(vetoes, "name")).to_numpy(),
            "处理": effect.map(lambda e: effects.get(e, e)).to_numpy(),
            "说明": _text(_column(vetoes, "explanation")).to_numpy(),
            "_source": 0,
        }
    )
    branches = result.branches
    flag_lists = _text(_column(branches, "flags", "")).str.split(FLAG_SEPARATOR)
    flags = pd.DataFrame({"branch_id": _column(branches, "branch_id").to_numpy(), "事项": flag_lists.to_numpy()}).explode("事项")
    flags["事项"] = _text(flags["事项"]).str.strip()
    flags = flags[flags["事项"] != ""]
    # A flag that merely repeats a fired veto of the same branch is already listed with its explanation.
    fired = veto_rows[["branch_id", "事项"]].drop_duplicates()
    flags = flags.merge(fired, on=["branch_id", "事项"], how="left", indicator=True)
    flags = flags[flags["_merge"] == "left_only"].drop(columns="_merge")
    flags = flags.assign(类别="预警标记", 处理=EFFECTS["flag"], 说明=_flag_notes(result, flags, veto_rows), _source=1)
    parts = [veto_rows, flags[veto_rows.columns], _warning_rows(result)]
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else veto_rows
    rows["_rank"] = rows["branch_id"].map(ranks)
    rows = rows.sort_values(["_rank", "_source"], kind="stable")
    frame = pd.DataFrame(
        {
            "支部编码": rows["branch_id"].to_numpy(),
            "支部名称": rows["branch_id"].map(names).to_numpy(),
            "类别": rows["类别"].to_numpy(),
            "事项": rows["事项"].to_numpy(),
            "处理": rows["处理"].to_numpy(),
            "说明": rows["说明"].to_numpy(),
        }
    )
    cols = [Col("支部编码"), Col("支部名称", cap=30), Col("类别", center=True), Col("事项", cap=30), Col("处理", cap=30),
            Col("说明")]
    return frame, cols


def _level_order(result: Result) -> list[str]:
    """Level labels best first, then the unrated label, then any other label found in the ranking (so that
    every branch is counted somewhere)."""
    labels, unrated, _ = level_labels(result)
    order = list(dict.fromkeys([*labels, unrated]))
    present = _text(_column(result.branches, "level")).unique().tolist()
    return order + [label for label in present if label not in order]


def group_keys(frame: pd.DataFrame, by: str = "parent") -> pd.Series:
    """Each row's group as the workbooks count it: its ``by`` value (上级党组织 or 类别), empty as NO_PARENT."""
    return _text(_column(frame, by)).str.strip().replace("", NO_PARENT)


def parent_order(branches: pd.DataFrame, keys: pd.Series) -> list[str]:
    """The groups ``keys`` (per branch) in the order of their codes: by each one's first branch id
    (branch ids are usually coded by township)."""
    first_id = pd.Series(_text(_column(branches, "branch_id")).to_numpy(), index=keys.to_numpy()).groupby(level=0).min()
    return first_id.sort_values(kind="stable").index.tolist()


def _count_table(result: Result, by: str, header: str) -> pd.DataFrame:
    """Branches per level (columns, rubric order, then 合计) for each value of ``by`` (rows)."""
    branches = result.branches
    keys = group_keys(branches, by)
    levels = _text(_column(branches, "level"))
    order = _level_order(result)
    counts = pd.crosstab(keys, levels).reindex(columns=order, fill_value=0)
    if by == "category":
        known = [c for c in CATEGORIES if c in counts.index]
        rows = known + sorted(set(counts.index) - set(known))
    else:
        rows = parent_order(branches, keys)
    counts = counts.reindex(rows, fill_value=0)
    counts[TOTAL_LABEL] = counts.sum(axis=1)
    counts.index.name = header
    return counts.reset_index()


def summary_frames(result: Result) -> list[tuple[str, pd.DataFrame, list[Col]]]:
    """(title, table, columns) of the two count tables of 分类汇总: by 上级党组织 and by 类别."""
    out = []
    for title, by, header in (("按上级党组织统计", "parent", "上级党组织"), ("按类别统计", "category", "类别")):
        table = _count_table(result, by, header)
        cols = [Col(header, cap=30)] + [Col(str(c), "int", center=True) for c in table.columns[1:]]
        out.append((title, table, cols))
    return out


def _change_counts(result: Result) -> str:
    """One sentence: how many branches moved up, stayed, moved down, are new, are gone."""
    previous = result.meta.previous
    if previous is None:
        return ""
    counts = _text(previous["升降"]).value_counts()
    order = ["升星", "升级", "持平", "降星", "降级", "新参评", "等级不可比"]
    parts = [f"{label} {int(counts[label])} 个" for label in order if label in counts.index]
    gone = result.meta.gone
    if gone is not None and len(gone):
        parts.append(f"上年参评而本年度未参评 {len(gone)} 个（见「{SHEET_PREVIOUS}」）")
    return "与上年相比：" + "，".join(parts) + "。" if parts else ""


def _plugins_text(plugins) -> str:
    items = []
    for item in plugins or []:
        if isinstance(item, (tuple, list)) and len(item) >= 2:
            items.append(f"{item[0]} {item[1]}")
        else:
            items.append(str(item))
    return "；".join(items)


def audit_frame(meta: RunMeta) -> pd.DataFrame:
    rubric = _meta_text(meta, "rubric_name")
    if meta.rubric_id:
        rubric = f"{rubric}（{meta.rubric_id}）" if rubric else str(meta.rubric_id)
    rows = [
        ("评分标准", rubric),
        ("版本", _meta_text(meta, "rubric_version")),
        ("评分标准指纹(SHA-256)", _meta_text(meta, "rubric_sha256")),
        ("数据指纹(SHA-256)", _meta_text(meta, "data_sha256")),
        ("数据来源", "；".join(str(x) for x in meta.sources or [])),
        ("引擎版本", _meta_text(meta, "engine_version")),
        ("插件及版本", _plugins_text(meta.plugins)),
        ("运行命令", _meta_text(meta, "command")),
        ("生成时间", _meta_text(meta, "generated")),
        ("考核年度", _meta_text(meta, "year")),
    ]
    return pd.DataFrame(rows, columns=["项目", "内容"])


def quality_frame(meta: RunMeta) -> pd.DataFrame:
    """The data-quality notes: one row per note, location split into file, sheet, row and column."""
    notes = list(meta.data_notes or [])
    problems = sorted((n for n in notes if isinstance(n, Problem)), key=Problem.sort_key)
    others = [str(n) for n in notes if not isinstance(n, Problem)]
    frame = pd.DataFrame(
        {
            "位置": [p.location() for p in problems] + [""] * len(others),
            "文件": [p.file for p in problems] + [""] * len(others),
            "工作表": [p.sheet or "" for p in problems] + [""] * len(others),
            "行": pd.array([p.row for p in problems] + [None] * len(others), dtype="Int64"),
            "列": [p.column or "" for p in problems] + [""] * len(others),
            "说明": [p.message for p in problems] + others,
        }
    )
    return frame


def limits_frame(limits: list[tuple[str, str]]) -> pd.DataFrame:
    """The Excel limits the results workbook reached (a table continued on further sheets, page breaks
    left out), as rows of the 数据质量 table."""
    return pd.DataFrame({
        "位置": [f"结果工作簿「{sheet}」" for sheet, _ in limits], "文件": [""] * len(limits),
        "工作表": [sheet for sheet, _ in limits], "行": pd.array([None] * len(limits), dtype="Int64"),
        "列": [""] * len(limits), "说明": [what for _, what in limits]})


QUALITY_COLS = [Col("位置", cap=36), Col("文件", cap=24), Col("工作表", cap=14), Col("行", "int", center=True),
                Col("列", cap=14), Col("说明")]


def excluded_frame(result: Result) -> pd.DataFrame:
    """``meta.excluded`` (branch_id, name, reasons): branches left unrated because of data errors, with
    their township, category and the level shown for them in the ranking."""
    excluded = result.meta.excluded
    columns = ["支部编码", "支部名称", "上级党组织", "类别", "评定等级", "原因"]
    if excluded is None or len(excluded) == 0:
        return pd.DataFrame(columns=columns)
    reasons = _text(_column(excluded, "reasons").reset_index(drop=True).explode()).str.strip()
    joined = reasons[reasons != ""].groupby(level=0).agg(FLAG_SEPARATOR.join).reindex(range(len(excluded)), fill_value="")
    ids = _text(_column(excluded, "branch_id")).reset_index(drop=True)
    branches = result.branches
    known = pd.DataFrame(
        {
            "支部编码": _text(_column(branches, "branch_id")).to_numpy(),
            "_name": _text(_column(branches, "name")).to_numpy(),
            "上级党组织": _text(_column(branches, "parent")).to_numpy(),
            "类别": _text(_column(branches, "category")).to_numpy(),
            "评定等级": _text(_column(branches, "level")).to_numpy(),
        }
    ).drop_duplicates("支部编码")
    frame = pd.DataFrame({"支部编码": ids, "支部名称": _text(_column(excluded, "name")).to_numpy(), "原因": joined.to_numpy()})
    frame = frame.merge(known, on="支部编码", how="left")
    frame["支部名称"] = frame["支部名称"].where(frame["支部名称"] != "", frame["_name"])
    return frame[columns].fillna("")


EXCLUDED_COLS = [Col("支部编码"), Col("支部名称", cap=30), Col("上级党组织", cap=14), Col("类别", center=True),
                 Col("评定等级", center=True), Col("原因")]


# --------------------------------------------------------------------------------------------------
# Sheets


def _level_looks(result: Result) -> dict[str, str]:
    """The conditional look of each level label: the usual words by name, a rubric's own labels by their
    position (best first), the unrated label grey on red."""
    labels, unrated, _ = level_labels(result)
    named = {label: look for look, words in LEVEL_LABELS.items() for label in words}
    out = {}
    for position, label in enumerate(labels):
        if label in named:
            out[label] = named[label]
        elif position == 0:
            out[label] = "top"
        elif position == 1:
            out[label] = "good"
        else:
            out[label] = "low" if position == len(labels) - 1 else "middle"
    out[unrated] = "unrated"
    for label, look in named.items():
        out.setdefault(label, look)
    return out


def formula_text(text: str) -> str:
    """A string as an Excel formula literal: in quotes, every quote inside doubled. Level labels come from
    the rubric, and a label such as 好"),TRUE,(" must stay a label, not become part of the formula."""
    return '"' + str(text).replace('"', '""') + '"'


def _level_rules(ws: Worksheet, looks: Looks, column: int, first: int, last: int, levels: pd.Series,
                 mapping: dict[str, str]) -> None:
    present = set(_text(levels).tolist())
    for label, look in mapping.items():
        if label in present and len(label) <= 255:  # Excel's limit for a string in a formula
            ws.conditional_format(
                first, column, last, column,
                {"type": "cell", "criteria": "==", "value": formula_text(label), "format": looks.levels[look]},
            )


def _ranking_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols, marks = ranking_frame(result)
    meta = sw.meta
    rubric = _meta_text(meta, "rubric_name")
    version = _meta_text(meta, "rubric_version")
    parts = []
    if rubric:
        parts.append(f"评分标准：{rubric}" + (f"（版本 {version}）" if version else ""))
    part = _meta_get(meta, "part")
    if part:  # one 上级党组织's workbook of a split run
        parts.append(f"本工作簿为{part[0]}所属支部 {len(frame)} 个（共 {part[1]} 个支部参加考核，排名、名额和等级按全部支部计算）")
    else:
        parts.append(f"参加考核支部 {len(frame)} 个")
    if meta.generated:
        parts.append(f"生成时间：{meta.generated}")
    parts.append("总分相同时按评分标准规定的次序排名")
    dimension_note = _dimension_note(result)
    if dimension_note:
        parts.append(dimension_note)
    if marks:
        parts.append(f"维度得分后带「{STAR_MARK}」的为该维度获星")
    parts.append("打印范围到「评定等级」为止，其后为内部参考列")
    if meta.previous is not None:
        parts.append(f"与上年的比较见「{SHEET_PREVIOUS}」")
    ws, first, last = sw.table_sheet(SHEET_RANKING, SHEET_RANKING, "；".join(parts), frame, cols, freeze_cols=3,
                                     marks=marks, portrait=True)
    headers = [c.header for c in cols]
    level_col = len(headers) - 1 - headers[::-1].index("评定等级")
    total_col = len(headers) - 1 - headers[::-1].index("总分")
    ws.print_area(0, 0, max(last, first), level_col)  # the public columns only
    if len(frame) == 0:
        return
    mapping = _level_looks(result)
    _level_rules(ws, sw.looks, level_col, first, last, frame["评定等级"], mapping)
    ws.conditional_format(
        first, total_col, last, total_col,
        {"type": "data_bar", "bar_color": "#BDD7EE", "bar_solid": True},
    )


def rubric_units(meta) -> dict[str, tuple[str, bool]]:
    """Indicator id -> (unit, is a rate) from the run's rubric rows (``meta["rubric_rows"]``)."""
    rows = _meta_get(meta, "rubric_rows") or []
    out = {}
    for row in rows:
        get = row.get if isinstance(row, dict) else (lambda k, r=row: getattr(r, k, None))
        if get("indicator"):
            out[str(get("indicator"))] = (str(get("unit") or ""), bool(get("rate")))
    return out


def _unit_format(unit: str, rate: bool, decimals: int) -> str:
    if rate:
        return "0.0%"
    number = "0" if decimals == 0 else "0." + "0" * decimals
    return f'{number}"{unit}"' if unit else number


def value_formats(result: Result, looks: Looks) -> list[Format] | None:
    """Per indicator row: the number format of its measured value and target. A rate in %, one decimal;
    other values with their unit and the same decimals for every branch (none when the indicator's values
    and target are whole numbers, two for 万元, else one). None when the run gave no units."""
    units = rubric_units(result.meta)
    if not units:
        return None
    ind = result.indicators
    ids = _text(_column(ind, "indicator"))
    values = pd.concat([_number(_column(ind, "value")), _number(_column(ind, "target"))], axis=1)
    fractional = (values - values.round(0)).abs().gt(1e-9).any(axis=1)
    has_fraction = fractional.groupby(ids.to_numpy()).any()
    shown = {}
    for indicator in ids.unique().tolist():
        unit, rate = units.get(indicator, ("", False))
        decimals = 0 if not bool(has_fraction.get(indicator, False)) else (2 if unit == "万元" else 1)
        shown[indicator] = looks.number(_unit_format(unit, rate, decimals))
    return ids.map(shown).tolist()


def branch_breaks(ids: pd.Series, first_data: int) -> list[int]:
    """Rows where another branch starts (a page break before each branch but the first); none when there
    would be more than Excel allows."""
    values = ids.to_numpy()
    if len(values) < 2:
        return []
    starts = np.flatnonzero(values[1:] != values[:-1]) + 1
    if len(starts) > MAX_PAGE_BREAKS:
        return []
    return (starts + first_data).tolist()


def _detail_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = detail_frame(result)
    note = ("每个支部每项指标的测量值、目标、得分与失分；满分为 0 的指标不适用于该类别支部，不计入满分。"
            "打印时每个支部从新的一页开始。")
    headers = [c.header for c in cols]
    formats = value_formats(result, sw.looks)
    row_formats = {headers.index("测量值"): formats, headers.index("目标"): formats} if formats else None
    lost_col, max_col = headers.index("失分"), headers.index("满分")

    def each(ws, first, last, part):
        if len(part) == 0:
            return
        sw.page_breaks(ws, part["支部编码"], first)
        ws.conditional_format(first, lost_col, last, lost_col, {"type": "cell", "criteria": ">", "value": 0, "format": sw.looks.lost})
        # Grey out indicators that do not apply to the branch (满分 0).
        max_cell = xl_rowcol_to_cell(first, max_col, row_abs=False, col_abs=True)
        ws.conditional_format(
            first, 0, last, len(cols) - 1,
            {"type": "formula", "criteria": f"=AND(ISNUMBER({max_cell}),{max_cell}=0)", "format": sw.looks.not_applicable},
        )

    sw.table_sheet(SHEET_DETAIL, SHEET_DETAIL, note, frame, cols, freeze_cols=3, row_formats=row_formats, each=each,
                   together="支部编码")


def _lost_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = lost_frame(result)
    note = ("只列出失分的指标：按支部排名排列，同一支部内失分多的在前，可作为各支部的整改清单；"
            "打印时每个支部从新的一页开始，可分发给各支部书记。")

    def each(ws, first, last, part):
        if len(part):
            sw.page_breaks(ws, part["支部编码"], first)

    sw.table_sheet(SHEET_LOST, "扣分清单（整改清单）", note, frame, cols, freeze_cols=0, each=each, together="支部编码")


def _bonus_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = bonus_frame(result)
    note = "全部加分申报；未计分或计入分值低于申报的，原因见「说明」。"
    sw.table_sheet(SHEET_BONUS, SHEET_BONUS, note, frame, cols)


def _veto_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = veto_frame(result)
    parts = ["触发的否决事项（取消评星、等级封顶、扣分、直接定级）与预警标记（如软弱涣散、整顿候选）"]
    if _warnings(result) is not None:
        parts.append("预警提示（如党员平均年龄偏高、无入党积极分子）")
    if _meta_get(result.meta, "gone") is not None:
        parts.append(f"上年参加考核而本年度未参评的支部见「{SHEET_PREVIOUS}」")
    sw.table_sheet(SHEET_VETO, SHEET_VETO, "；".join(parts) + "。", frame, cols)


def _chart(sw: SheetWriter, frame: pd.DataFrame, first: int, last: int, levels: list[str], unrated: str,
           width_px: int):
    """Stacked columns: branches per level (series, best level at the bottom) for each category, with the
    category's total printed above its column (an invisible line series carrying the labels)."""
    chart = sw.workbook.add_chart({"type": "column", "subtype": "stacked"})
    base_font = {"name": FONT, "size": 10}
    colors = iter(CHART_COLORS)
    shown = 0
    for offset, level in enumerate(levels, 1):
        if int(frame[level].sum()) == 0:
            continue
        shown += 1
        color = CHART_UNRATED if level == unrated else next(colors, CHART_UNRATED)
        chart.add_series(
            {
                "name": [SHEET_SUMMARY, first - 1, offset],
                "categories": [SHEET_SUMMARY, first, 0, last, 0],
                "values": [SHEET_SUMMARY, first, offset, last, offset],
                "fill": {"color": color},
                "border": {"color": "#FFFFFF"},
                "gap": 60,
            }
        )
    totals = sw.workbook.add_chart({"type": "line"})
    total_col = len(levels) + 1
    totals.add_series(
        {
            "name": [SHEET_SUMMARY, first - 1, total_col],
            "categories": [SHEET_SUMMARY, first, 0, last, 0],
            "values": [SHEET_SUMMARY, first, total_col, last, total_col],
            "line": {"none": True},
            "marker": {"type": "none"},
            "data_labels": {"value": True, "position": "above", "font": {**base_font, "bold": True}},
        }
    )
    chart.combine(totals)
    chart.set_title({"name": "各类别支部评定等级分布（个）", "name_font": {**base_font, "size": 12, "bold": True}})
    chart.set_x_axis({"num_font": base_font})
    chart.set_y_axis({"name": "支部数（个）", "name_font": base_font, "num_font": base_font,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "right", "font": base_font, "delete_series": [shown]})
    chart.set_size({"width": width_px, "height": CHART_HEIGHT})
    return chart


def _summary_sheet(sw: SheetWriter, result: Result) -> None:
    tables = summary_frames(result)
    looks = sw.looks
    ws = sw.workbook.add_worksheet(SHEET_SUMMARY)
    ncols = max(len(cols) for _, _, cols in tables)
    sw.page_setup(ws, SHEET_SUMMARY, None)  # two tables: no single header row to repeat

    # Both tables share the columns; a little wider than the numbers need, so the printed page is not sparse.
    measured = [_widths(frame, cols, sw.break_headers) for _, frame, cols in tables]
    widths = [max(m[i][0] for m in measured) for i in range(ncols)]
    widths[0] = max(widths[0], SUMMARY_LABEL_WIDTH)
    widths[1:] = [max(w, SUMMARY_COUNT_WIDTH) for w in widths[1:]]
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    note = "各上级党组织、各类别的支部按评定等级计数（个），与「总排名」一致；合计行随筛选变化。"
    sw.heading(ws, SHEET_SUMMARY, note + _change_counts(result), ncols, sum(widths))

    (_, by_parent, parent_cols), (title, by_category, category_cols) = tables
    _, last = sw.write_table(ws, HEADER_ROW, by_parent, parent_cols, "按上级党组织汇总", widths=widths, totals=True)
    row = last + 3  # total row, then a blank row
    ws.set_h_pagebreaks([row])  # the category table and its chart start a page of their own
    ws.write_string(row, 0, title, looks.section)
    first, last = sw.write_table(ws, row + 1, by_category, category_cols, "按类别汇总", widths=widths, totals=True)
    if len(by_category) and int(by_category[TOTAL_LABEL].sum()):
        _, unrated, _ = level_labels(result)
        levels = [str(c) for c in by_category.columns[1:-1]]
        width_px = int(sum(w * 7 + 5 for w in widths))
        chart = _chart(sw, by_category, first, last, levels, unrated, max(width_px, 560))
        ws.insert_chart(last + 3, 0, chart, {"x_offset": 2, "y_offset": 4, "object_position": 1})


def _quality_sheet(sw: SheetWriter, result: Result) -> None:
    meta = sw.meta
    looks = sw.looks
    quality = pd.concat([limits_frame(sw.limits), quality_frame(meta)], ignore_index=True)
    has_excluded = meta.excluded is not None
    excluded = excluded_frame(result) if has_excluded else None

    ws = sw.workbook.add_worksheet(SHEET_QUALITY)
    notes = len(quality) - len(sw.limits)
    parts = [f"读入数据时容忍或自动更正的问题 {notes} 处，请核对原始数据" if notes
             else "读入数据时未发现需要说明的问题"]
    if sw.limits:
        parts.insert(0, f"本工作簿达到 Excel 的上限 {len(sw.limits)} 处（表中前{len(sw.limits)}行）")
    if has_excluded:
        parts.append(f"因数据错误未评定的支部 {len(excluded)} 个（见下方）")
    ws.freeze_panes(HEADER_ROW + 1, 0)
    sw.page_setup(ws, SHEET_QUALITY, HEADER_ROW)

    # Both tables share the six columns: the excluded list lines up under the notes.
    measured = [_widths(quality, QUALITY_COLS, sw.break_headers)]
    if has_excluded:
        measured.append(_widths(excluded, EXCLUDED_COLS, sw.break_headers))
    widths = [max(m[i][0] for m in measured) for i in range(len(QUALITY_COLS))]
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    sw.heading(ws, SHEET_QUALITY, "；".join(parts) + "。", len(QUALITY_COLS), sum(widths))
    _, last = sw.write_table(ws, HEADER_ROW, quality, QUALITY_COLS, "数据质量", widths=widths)
    if has_excluded:
        row = last + 2
        ws.write_string(row, 0, "因数据错误未评定的支部", looks.section)
        sw.write_table(ws, row + 1, excluded, EXCLUDED_COLS, "因数据错误未评定", widths=widths)


def rubric_frame(result: Result) -> pd.DataFrame:
    """The rubric as applied, one row per indicator: 维度, 指标, 满分, 计分规则 (the rule in words), from the
    run's rubric rows; without them (a result evaluated outside a run) the rubric's own names and maxima
    with the rule type."""
    rows = _meta_get(result.meta, "rubric_rows") or []
    records = []
    for row in rows:
        get = row.get if isinstance(row, dict) else (lambda k, r=row: getattr(r, k, None))
        records.append((get("dimension") or "", get("name") or get("indicator") or "", get("max"), get("text") or ""))
    if not records and result.rubric is not None:
        for dim in result.rubric.dimensions:
            for ind in dim.indicators:
                records.append((dim.name, ind.name, ind.max, RULE_TYPES.get(ind.rule.type, ind.rule.type)))
    frame = pd.DataFrame(records, columns=["维度", "指标", "满分", "计分规则"])
    frame["满分"] = _number(frame["满分"])
    return frame


RULE_TYPES = {"deduct_shortfall": "按差额扣分", "steps": "分档计分", "linear": "线性计分", "ratio": "按比例计分",
              "pass_fail": "达标得满分", "per_event": "按次扣分", "per_unit": "按数量计分", "manual": "考评委员会评分"}
RUBRIC_COLS = [Col("维度", cap=16), Col("指标", cap=24), Col("满分", "point"), Col("计分规则", cap=80)]


def _audit_sheet(sw: SheetWriter, result: Result) -> None:
    """评分标准与审计: the rubric as a readable table (what each indicator is worth and how it is scored),
    then the fingerprints and versions; the resolved TOML is on the last sheet (评分标准原文)."""
    meta = sw.meta
    looks = sw.looks
    audit = audit_frame(meta)
    rubric = rubric_frame(result)

    ws = sw.workbook.add_worksheet(SHEET_AUDIT)
    subject = SHEET_AUDIT
    ws.freeze_panes(HEADER_ROW + 1, 0)
    sw.page_setup(ws, subject, HEADER_ROW)
    measured = _widths(rubric, RUBRIC_COLS, sw.break_headers)
    widths = [m[0] for m in measured]
    key_units = float(_display_units(audit["项目"]).max()) + 2
    widths[0] = max(widths[0], min(key_units, AUDIT_KEY_CAP))
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    total = sum(widths)
    sw.heading(ws, subject, f"本次计算所用的评分标准：每项指标的满分和计分规则（共 {len(rubric)} 项，满分合计 "
                            f"{_fmt_points(float(rubric['满分'].sum()))} 分）；其下为数据指纹与软件版本，可据此核对和复算结果；"
                            f"评分标准原文见「{SHEET_RUBRIC_TOML}」。", len(RUBRIC_COLS), total)
    _, last = sw.write_table(ws, HEADER_ROW, rubric, RUBRIC_COLS, "评分规则", widths=widths)

    row = last + 2
    ws.write_string(row, 0, "审计信息", looks.section)
    row += 1
    # 项目 in the first column, 内容 over the other three (merged, wrapping)
    content_width = total - widths[0]
    head = looks.header
    ws.write_string(row, 0, "项目", head)
    ws.merge_range(row, 1, row, len(RUBRIC_COLS) - 1, "内容", head)
    wrap = looks.cell("text", wrap=True)
    lines = _row_lines(_text(audit["内容"]), content_width)
    for offset, (key, value) in enumerate(zip(audit["项目"].tolist(), _text(audit["内容"]).tolist()), 1):
        ws.write_string(row + offset, 0, key, looks.cell("text"))
        ws.merge_range(row + offset, 1, row + offset, len(RUBRIC_COLS) - 1, value or "", wrap)
        if lines[offset - 1] > 1:
            ws.set_row(row + offset, LINE_HEIGHT * int(lines[offset - 1]) + 2)
    warnings = list(_meta_get(meta, "rubric_warnings") or [])
    if warnings:  # what the data says about the rubric (scoring.checks): a 0-place quota, unreachable full marks
        row += len(audit) + 2
        ws.write_string(row, 0, "警告", looks.section)
        texts = pd.Series(warnings, dtype=object)
        lines = _row_lines(texts, total)
        for offset, text in enumerate(warnings, 1):
            ws.merge_range(row + offset, 0, row + offset, len(RUBRIC_COLS) - 1, f"{offset}. {text}", wrap)
            if lines[offset - 1] > 1:
                ws.set_row(row + offset, LINE_HEIGHT * int(lines[offset - 1]) + 2)


def _toml_sheet(sw: SheetWriter) -> None:
    """评分标准原文: the resolved rubric as TOML, numbered lines (for auditors; last sheet)."""
    meta = sw.meta
    looks = sw.looks
    toml_lines = str(_meta_get(meta, "rubric_toml") or "").splitlines()
    ws = sw.workbook.add_worksheet(SHEET_RUBRIC_TOML)
    subject = SHEET_RUBRIC_TOML
    sw.page_setup(ws, subject, None)
    value_units = _display_units(pd.Series(toml_lines, dtype=object).astype(str)).max() if toml_lines else 0
    widths = [8.0, float(min(max(value_units + 2, 66), AUDIT_TEXT_CAP))]
    ws.set_column(0, 0, widths[0])
    ws.set_column(1, 1, widths[1])
    sw.heading(ws, subject, "合并继承（extends）之后的完整评分标准（TOML），与「评分标准与审计」中的指纹对应。", 2)
    row = HEADER_ROW
    if toml_lines:
        _fit_row_heights(ws, row, _row_lines(pd.Series(toml_lines, dtype=object).astype(str), widths[1]))
        for number, line in enumerate(toml_lines, 1):
            ws.write_number(row, 0, number, looks.line_number)
            if line.strip():
                ws.write_string(row, 1, line, looks.code)
            row += 1
    else:
        ws.write_string(row, 1, EMPTY, looks.note)


def previous_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    """与上年比较: this year's rank, total and level beside last year's, the change (rank order)."""
    branches = result.branches
    previous = _previous(result)
    frame = pd.DataFrame(
        {
            "排名": _number(_column(branches, "rank")).to_numpy(),
            "支部编码": _column(branches, "branch_id").to_numpy(),
            "支部名称": _column(branches, "name").to_numpy(),
            "上级党组织": _column(branches, "parent").to_numpy(),
            "总分": _number(_column(branches, "total")).to_numpy(),
            "评定等级": _column(branches, "level").to_numpy(),
            "上年排名": _number(_column(previous, "上年排名")).to_numpy(),
            "上年总分": _number(_column(previous, "上年总分")).to_numpy(),
            "上年等级": _column(previous, "上年等级").to_numpy(),
            "升降": _column(previous, "升降").to_numpy(),
            "排名变化": _number(_column(previous, "排名变化")).to_numpy(),
        }
    )
    cols = [Col("排名", "int", center=True), Col("支部编码"), Col("支部名称", cap=30), Col("上级党组织", cap=18),
            Col("总分", "score"), Col("评定等级", center=True), Col("上年排名", "int", center=True),
            Col("上年总分", "score"), Col("上年等级", center=True), Col("升降", center=True),
            Col("排名变化", "move", center=True)]
    return frame, cols


GONE_COLS = [Col("支部编码"), Col("支部名称", cap=30), Col("上年排名", "int", center=True), Col("上年总分", "score"),
             Col("上年等级", center=True), Col("处理", cap=20), Col("说明", cap=40)]


def gone_frame(result: Result) -> pd.DataFrame:
    gone = _meta_get(result.meta, "gone")
    if gone is None or len(gone) == 0:
        return pd.DataFrame(columns=[c.header for c in GONE_COLS])
    return pd.DataFrame(
        {
            "支部编码": _column(gone, "branch_id").to_numpy(),
            "支部名称": _text(_column(gone, "支部名称")).to_numpy(),
            "上年排名": _number(_column(gone, "上年排名")).to_numpy(),
            "上年总分": _number(_column(gone, "上年总分")).to_numpy(),
            "上年等级": _text(_column(gone, "上年等级")).to_numpy(),
            "处理": "核实是否撤销或漏报",
            "说明": _text(_column(gone, "说明")).to_numpy(),
        }
    )


def _previous_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = previous_frame(result)
    gone = gone_frame(result)
    note = ("本年度与上年的排名、总分和等级对照；排名变化为上年排名减本年排名，正数为前进。"
            + _change_counts(result).replace(f"（见「{SHEET_PREVIOUS}」）", "（见下方）"))
    ws = sw.workbook.add_worksheet(SHEET_PREVIOUS)
    ws.freeze_panes(HEADER_ROW + 1, 3)
    sw.page_setup(ws, SHEET_PREVIOUS, HEADER_ROW)
    first, last = sw.write_table(ws, HEADER_ROW, frame, cols, SHEET_PREVIOUS)
    widths = list(sw.last_widths)
    sw.heading(ws, SHEET_PREVIOUS, note, len(cols), sum(widths))
    headers = [c.header for c in cols]
    if len(frame):
        mapping = _level_looks(result)
        _level_rules(ws, sw.looks, headers.index("评定等级"), first, last, frame["评定等级"], mapping)
        _level_rules(ws, sw.looks, headers.index("上年等级"), first, last, frame["上年等级"], mapping)
        change_col = headers.index("升降")
        for look, words in (("up", CHANGE_LOOKS["up"]), ("down", CHANGE_LOOKS["down"])):
            for word in words:
                ws.conditional_format(
                    first, change_col, last, change_col,
                    {"type": "cell", "criteria": "==", "value": formula_text(word), "format": getattr(sw.looks, look)},
                )
    row = last + 2
    ws.write_string(row, 0, f"上年参加考核、本年度未参评的支部（{len(gone)} 个）", sw.looks.section)
    gone_widths = [max(w, m[0]) for w, m in zip(widths, _widths(gone, GONE_COLS, sw.break_headers))]
    sw.write_table(ws, row + 1, gone, GONE_COLS, "上年参评本年未参评", widths=gone_widths)


def _preview_sheet(sw: SheetWriter, result: Result, blocks) -> None:
    from scoring.publish.sheet import preview_sheet

    if blocks is None:
        from scoring.publish.preview import default_blocks

        blocks = default_blocks(result)
    preview_sheet(sw.workbook, blocks, f"{sw.title} — {SHEET_PREVIEW}")


def _properties(workbook: Workbook, meta: RunMeta) -> None:
    title = _meta_text(meta, "title") or "党支部考核结果"
    workbook.set_properties(
        {
            "title": title,
            "subject": RESULTS_SUBJECT,
            "author": AUTHOR,
            "company": "",
            "comments": f"评分标准 {_meta_text(meta, 'rubric_id')} {_meta_text(meta, 'rubric_version')}；"
            f"引擎版本 {_meta_text(meta, 'engine_version')}",
        }
    )


def write_results(result: Result, path: Path, preview=None) -> list[str]:
    """Write the results workbook to ``path`` (atomically: a temp file renamed into place).

    ``preview``: the blocks of the 公示 (:func:`scoring.publish.preview.notice_blocks`) for the 公示预览 sheet,
    as ``scoring run --publish`` writes it; by default the county notice with today's date and
    placeholders for the signing body and the contact.

    Returns the Excel limits the workbook reached, as sentences for the terminal (a table continued on
    further sheets, page breaks left out); 数据质量 lists them too."""
    def sheets(sw: SheetWriter) -> None:
        _ranking_sheet(sw, result)
        _detail_sheet(sw, result)
        _lost_sheet(sw, result)
        _bonus_sheet(sw, result)
        _veto_sheet(sw, result)
        _summary_sheet(sw, result)
        _preview_sheet(sw, result, preview)
        if _meta_get(result.meta, "previous") is not None:
            _previous_sheet(sw, result)
        _quality_sheet(sw, result)
        _audit_sheet(sw, result)
        _toml_sheet(sw)

    return _write_workbook(path, result.meta, sheets)


# Deflate level of the results workbooks. xlsxwriter leaves zlib's default (6); at level 1 a county of
# 30,000 branches (590 MB of sheet XML) is compressed in 4 s of CPU instead of 12 s, the file 40 % larger
# (78 MB instead of 55 MB). The level is the writer's business only: any deflate stream reads the same,
# in Excel, WPS and LibreOffice alike.
ZIP_LEVEL = 1
_zip_level: contextvars.ContextVar[int | None] = contextvars.ContextVar("scoring_zip_level", default=None)


class _LeveledZipFile(zipfile.ZipFile):
    """The ZipFile xlsxwriter creates its package with: zlib's default level unless a results workbook is
    being stored (:class:`_Workbook`), so another user of xlsxwriter in the process is not affected."""

    def __init__(self, *args, **kwargs):
        level = _zip_level.get()
        if level is not None and kwargs.get("compresslevel") is None:
            kwargs["compresslevel"] = level
        super().__init__(*args, **kwargs)


if xlsxwriter.workbook.ZipFile is zipfile.ZipFile:
    xlsxwriter.workbook.ZipFile = _LeveledZipFile


class _Workbook(Workbook):
    """A workbook stored at :data:`ZIP_LEVEL`."""

    def _store_workbook(self) -> None:
        token = _zip_level.set(ZIP_LEVEL)
        try:
            super()._store_workbook()
        finally:
            _zip_level.reset(token)


def _write_workbook(path: Path, meta: RunMeta, sheets) -> list[str]:
    """A workbook of the results' look at ``path``, atomically: ``sheets(sheet_writer)`` adds the sheets.
    Returns the Excel limits reached, as sentences."""
    with atomic_output(path, ".xlsx") as tmp:
        workbook = _Workbook(
            str(tmp),
            {
                # tables, column formats, headings written after their tables and the table bodies
                # rendered at close (_Block) need the in-memory mode; constant_memory writes each row out
                # when the next begins
                "constant_memory": False,
                "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        workbook.worksheet_class = _Sheet  # table bodies rendered in bulk
        try:
            looks = Looks(workbook)
            sw = SheetWriter(workbook, looks, meta, break_headers=True)
            _properties(workbook, meta)
            sheets(sw)
        except BaseException:
            # Release xlsxwriter's temporary state without producing output; atomic_output removes tmp.
            workbook.fileclosed = True
            raise
        workbook.close()
    return [f"结果工作簿「{sheet}」{what}" for sheet, what in sw.limits]


def write_parts_summary(result: Result, path: Path, parts: pd.DataFrame) -> list[str]:
    """The summary workbook of a run split by 上级党组织 (``scoring run --split parent``): the sheet 分册
    (per 上级党组织 its branches per level and the file of its workbook, ``parts``: columns parent and
    file), then 总排名 of every branch, 分类汇总, 数据质量 and 评分标准与审计 as in the results workbook."""

    def sheets(sw: SheetWriter) -> None:
        _ranking_sheet(sw, result)
        _parts_sheet(sw, result, parts)
        _summary_sheet(sw, result)
        _quality_sheet(sw, result)
        _audit_sheet(sw, result)
        _toml_sheet(sw)

    return _write_workbook(path, result.meta, sheets)


def _parts_sheet(sw: SheetWriter, result: Result, parts: pd.DataFrame) -> None:
    counts = _count_table(result, "parent", "上级党组织")
    files = dict(zip(parts["parent"], parts["file"]))
    keys = group_keys(result.branches)
    flagged = (_flags_and_vetoes(result).to_numpy() != "").astype(np.int64)  # as 总排名 shows them
    flagged = pd.Series(flagged, index=keys.to_numpy()).groupby(level=0).sum()
    counts[SPLIT_FLAGGED_HEADER] = counts["上级党组织"].map(flagged).fillna(0).astype(np.int64)
    counts[SPLIT_FILE_HEADER] = counts["上级党组织"].map(files).fillna("")
    cols = [Col("上级党组织", cap=30)] + [Col(str(c), "int", center=True) for c in counts.columns[1:-1]] + \
        [Col(SPLIT_FILE_HEADER, cap=40)]
    note = (f"结果按上级党组织分为 {len(parts)} 个工作簿（与本工作簿在同一文件夹），每个工作簿只含该上级党组织的支部；"
            f"排名、名额和等级按全部支部统一计算，与「总排名」一致；「{SPLIT_FLAGGED_HEADER}」为总排名中"
            "「否决与标记」不为空的支部数。")
    ws = sw.workbook.add_worksheet(SHEET_PARTS)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    sw.page_setup(ws, SHEET_PARTS, HEADER_ROW)
    widths = [w for w, _ in _widths(counts, cols, sw.break_headers)]
    widths[0] = max(widths[0], SUMMARY_LABEL_WIDTH)
    widths[1:-1] = [max(w, SUMMARY_COUNT_WIDTH) for w in widths[1:-1]]
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)
    sw.heading(ws, SHEET_PARTS, note, len(cols), sum(widths))
    sw.write_table(ws, HEADER_ROW, counts, cols, SHEET_PARTS, widths=widths, totals=True)
