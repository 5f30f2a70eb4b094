"""The results workbook (考核结果工作簿): the document a county committee prints and publishes.

Sheets, in this order (every name, header and note is Chinese):

1. 总排名         one row per branch in rank order: dimension subtotals, bonus, deduction, total, level,
                  vetoes and flags, quota note, self-score and its difference to the computed total
2. 得分明细       branch x indicator: measured value, target, points, maximum, points lost, explanation
3. 扣分清单       only indicators that lost points, per branch in rank order, biggest loss first
                  (the rectification to-do list, 整改清单)
4. 加分明细       every bonus claim, counted or not, and why
5. 否决与预警     every fired veto and every flag
6. 评分标准与审计 fingerprints and versions, data-quality notes, and the resolved rubric as TOML text

Layout of every sheet: row 1 a merged title, row 2 a one-line note, row 3 the header of an Excel table
(unique name, table style, autofilter), data below; panes frozen under the header; CJK-friendly font;
widths computed from the longest cell (CJK characters count double); A4 landscape, one page wide,
header row repeated on every printed page, page numbers in the footer.

Written with xlsxwriter, column by column with the type-specific write calls. Every look is one format
object created once per workbook and reused for every cell of a column; none is created in a loop. Cells
carry thin borders and the header its fill as well as the table style, because WPS and LibreOffice do not
all render table styles. The file is written to a temporary name in the target directory and renamed
into place only when complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from scoring.errors import Problem
from scoring.output.jsonout import FLAG_SEPARATOR, atomic_output
from scoring.result import Result

FONT = "等线"
FONT_SIZE = 11
TABLE_STYLE = "Table Style Medium 2"
HEADER_FILL = "#BDD7EE"
BORDER_COLOR = "#808080"
HEADER_ROW = 2  # 0-based: title on row 1, note on row 2, table header on row 3
MIN_WIDTH = 6
MAX_WIDTH = 60
FILTER_BUTTON = 3  # width units taken by the autofilter drop-down in a header cell
EMPTY = "无"
AUDIT_KEY_CAP = 30
AUDIT_TEXT_CAP = 100
LINE_HEIGHT = 16  # points per wrapped line of 11pt CJK text (CJK fonts have tall line boxes)

SHEET_RANKING = "总排名"
SHEET_DETAIL = "得分明细"
SHEET_LOST = "扣分清单"
SHEET_BONUS = "加分明细"
SHEET_VETO = "否决与预警"
SHEET_AUDIT = "评分标准与审计"
SHEET_NAMES = (SHEET_RANKING, SHEET_DETAIL, SHEET_LOST, SHEET_BONUS, SHEET_VETO, SHEET_AUDIT)

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
    "unrated": ("未评定",),
}

# Column kinds: how a column's values are written and shown.
#   int    whole number ("0")             score  subtotal / total ("0.00")
#   point  points in detail ("General", rounded to 2 decimals so 1.5 and 12 read cleanly)
#   value  measured value / target ("General", rounded to 4 decimals)
#   diff   signed difference ("+0.00")    text   text (wraps when wider than its cap)
NUM_FORMATS = {"int": "0", "score": "0.00", "point": "General", "value": "General", "diff": "+0.00;-0.00;0.00"}
ROUNDING = {"int": 0, "score": 4, "point": 2, "value": 4, "diff": 4}

# East Asian wide characters (CJK ideographs, kana, hangul, full-width forms and punctuation) take two
# width units in Excel's column width measure.
_WIDE = r"[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]"


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "text"
    cap: int = MAX_WIDTH  # widest the column may get; longer text wraps
    center: bool = False  # short labels (rank, category, level) read better centred
    wrap: bool | None = None  # None: wrap only when the text is wider than ``cap``


# --------------------------------------------------------------------------------------------------
# Formats: one object per look, created once per workbook


class Looks:
    def __init__(self, workbook: Workbook):
        self._workbook = workbook
        base = {"font_name": FONT, "font_size": FONT_SIZE, "valign": "vcenter"}
        self._base = base
        self.title = workbook.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.note = workbook.add_format({**base, "font_size": 10, "font_color": "#595959", "align": "left"})
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
        self.not_applicable = workbook.add_format({"font_color": "#808080"})
        self.levels = {
            look: workbook.add_format({"bg_color": fill, "font_color": font, "bold": look == "top"})
            for look, (fill, font) in LEVEL_LOOKS.items()
        }
        self._cells: dict[tuple[str, bool, bool], Format] = {}

    def cell(self, kind: str, wrap: bool = False, center: bool = False) -> Format:
        """The format of a table cell holding a kind of value (cached: one object per distinct look)."""
        key = (kind, wrap, center)
        if key not in self._cells:
            props = {**self._base, **self.border}
            if kind in NUM_FORMATS:
                props["num_format"] = NUM_FORMATS[kind]
            if wrap:
                props["text_wrap"] = True
            if center:
                props["align"] = "center"
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


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def _meta_text(meta: dict, key: str) -> str:
    value = meta.get(key)
    return "" if value is None else str(value)


def _display_units(series: pd.Series) -> pd.Series:
    """Display width of each string: its length plus one extra unit per wide (CJK) character."""
    text = series.astype(str)
    return text.str.len() + text.str.count(_WIDE)


def _longest(shown: pd.Series) -> int:
    """Widest display width in a text column.

    Only strings at least half as long as the longest can be the widest (a character is 1 or 2 units),
    so the regex count runs on those few distinct candidates, not on every row.
    """
    if len(shown) == 0:
        return 0
    lengths = shown.str.len()
    candidates = shown[(lengths * 2 >= lengths.max()).to_numpy()].drop_duplicates()
    return int(_display_units(candidates).max())


def _formatted(series: pd.Series, kind: str) -> pd.Series:
    """Approximate shown text of a numeric column (for width estimation only)."""
    values = _number(series)
    if kind == "score" or kind == "diff":
        shown = values.map("{:+.2f}".format if kind == "diff" else "{:.2f}".format)
    else:
        shown = values.round(ROUNDING[kind]).astype(str).str.replace(r"\.0$", "", regex=True)
    return shown.where(values.notna(), "")


def _widths(frame: pd.DataFrame, cols: list[Col]) -> list[tuple[float, bool]]:
    """(width, wrap) per column from the longest cell, CJK characters counting double."""
    out = []
    for col, name in zip(cols, frame.columns):
        series = frame[name]
        shown = _text(series) if col.kind == "text" else _formatted(series, col.kind)
        longest = _longest(shown)
        header = int(_display_units(pd.Series([col.header])).iloc[0]) + FILTER_BUTTON
        need = max(longest + 2, header, len(EMPTY) * 2 + 2)
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


class SheetWriter:
    def __init__(self, workbook: Workbook, looks: Looks, meta: dict):
        self.workbook = workbook
        self.looks = looks
        self.meta = meta
        self.title = _meta_text(meta, "title") or "党支部考核结果"

    def page_setup(self, ws: Worksheet, subject: str, repeat_row: int | None) -> None:
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
        ws.set_margins(left=0.25, right=0.25, top=0.75, bottom=0.75)
        # Excel limits a page header to 255 characters, codes included.
        running_title = _escape_header_footer(f"{self.title} — {subject}"[:120])
        ws.set_header(f"&R&9{running_title}", {"margin": 0.3})
        ws.set_footer("&C第 &P 页 共 &N 页", {"margin": 0.3})
        ws.hide_gridlines(1)  # not printed; the cells carry their own borders
        ws.center_horizontally()
        if repeat_row is not None:
            ws.repeat_rows(repeat_row)

    def heading(self, ws: Worksheet, subject: str, note: str, ncols: int) -> None:
        title = f"{self.title} — {subject}"
        ws.set_row(0, 30)
        if ncols > 1:
            ws.merge_range(0, 0, 0, ncols - 1, title, self.looks.title)
            ws.merge_range(1, 0, 1, ncols - 1, note, self.looks.note)
        else:
            ws.write_string(0, 0, title, self.looks.title)
            ws.write_string(1, 0, note, self.looks.note)

    def write_table(
        self,
        ws: Worksheet,
        first_row: int,
        frame: pd.DataFrame,
        cols: list[Col],
        table_stem: str,
        widths: list[float] | None = None,
    ) -> tuple[int, int]:
        """Write ``frame`` as an Excel table whose header is on ``first_row``.

        Column widths are measured from the data and set, unless the caller already set them and passes
        ``widths``. Returns (first data row, last data row). An empty frame gets one row saying 无.
        """
        looks = self.looks
        headers = _unique_headers([c.header for c in cols])
        n = len(frame)
        first_data = first_row + 1
        last_data = first_row + max(n, 1)

        formats = []
        lines = np.ones(n, dtype=np.int64)
        measured = _widths(frame, cols)
        for index, (col, (width, wrap)) in enumerate(zip(cols, measured)):
            wrap = wrap if col.wrap is None else col.wrap
            if widths is None:
                ws.set_column(index, index, width)
            else:
                width = widths[index]
            formats.append(looks.cell(col.kind, wrap, col.center))
            if wrap and n:
                lines = np.maximum(lines, _row_lines(_text(frame.iloc[:, index]), width))
        _fit_row_heights(ws, first_row + 1, lines)

        if n == 0:
            ws.write_string(first_data, 0, EMPTY, looks.cell("text"))
            for index in range(1, len(cols)):
                ws.write_blank(first_data, index, None, formats[index])
        else:
            _write_body(ws, first_data, frame, cols, formats)

        ws.add_table(
            first_row,
            0,
            last_data,
            len(cols) - 1,
            {
                "name": f"{table_stem}表",
                "style": TABLE_STYLE,
                "autofilter": True,
                "columns": [{"header": h, "header_format": looks.header} for h in headers],
            },
        )
        return first_data, last_data

    def table_sheet(
        self,
        name: str,
        subject: str,
        note: str,
        frame: pd.DataFrame,
        cols: list[Col],
        freeze_cols: int = 0,
    ) -> tuple[Worksheet, int, int]:
        ws = self.workbook.add_worksheet(name)
        self.heading(ws, subject, note, len(cols))
        ws.freeze_panes(HEADER_ROW + 1, freeze_cols)
        self.page_setup(ws, subject, HEADER_ROW)
        first, last = self.write_table(ws, HEADER_ROW, frame, cols, name)
        return ws, first, last


def _write_body(ws: Worksheet, first_row: int, frame: pd.DataFrame, cols: list[Col], formats: list[Format]) -> None:
    """Write the values column by column with the type-specific xlsxwriter calls.

    Each column reuses its one cached format; empty values become formatted blanks so the grid stays whole.
    """
    for c, (col, name, fmt) in enumerate(zip(cols, frame.columns, formats)):
        series = frame[name]
        write_blank = ws.write_blank
        if col.kind == "text":
            write = ws.write_string
            for r, value in enumerate(_text(series).tolist(), first_row):
                if value:
                    write(r, c, value, fmt)
                else:
                    write_blank(r, c, None, fmt)
        else:
            numbers = _number(series).round(ROUNDING[col.kind]).to_numpy()
            present = np.isfinite(numbers)
            write = ws.write_number
            rows = range(first_row, first_row + len(numbers))
            for r, value, ok in zip(rows, numbers.tolist(), present.tolist()):
                if ok:
                    write(r, c, value, fmt)
                else:
                    write_blank(r, c, None, fmt)


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
    names = [str(n) for n in (result.meta or {}).get("dimension_names") or []]
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


def ranking_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    branches = result.branches
    dim_ids, dim_names = _dimension_order(result)
    frame = pd.DataFrame(
        {
            "排名": _column(branches, "rank"),
            "支部编码": _column(branches, "branch_id"),
            "支部名称": _column(branches, "name"),
            "上级党组织(乡镇)": _column(branches, "parent"),
            "类别": _column(branches, "category"),
        }
    ).reset_index(drop=True)
    cols = [Col("排名", "int", center=True), Col("支部编码"), Col("支部名称", cap=30), Col("上级党组织(乡镇)", cap=24),
            Col("类别", center=True)]

    dims = result.dimensions
    if dims is not None and len(dims) and {"branch_id", "dimension", "score"} <= set(dims.columns):
        pivot = dims.pivot_table(index="branch_id", columns="dimension", values="score", aggfunc="first", sort=False)
    else:
        pivot = pd.DataFrame(index=pd.Index([], name="branch_id"))
    branch_ids = _column(branches, "branch_id").to_numpy()
    for index, (dim_id, dim_name) in enumerate(zip(dim_ids, dim_names)):
        values = pivot[dim_id].reindex(branch_ids).to_numpy() if dim_id in pivot.columns else np.full(len(branches), np.nan)
        frame[f"dim{index}"] = values
        cols.append(Col(dim_name, "score"))

    total = _number(_column(branches, "total")).to_numpy()
    self_score = _number(_column(branches, "self_score")).to_numpy()
    tail = {
        "基础得分": (_column(branches, "base_total"), Col("基础得分", "score")),
        "加分": (_column(branches, "bonus"), Col("加分", "score")),
        "扣减": (_column(branches, "deduction"), Col("扣减", "score")),
        "总分": (total, Col("总分", "score")),
        "评定等级": (_column(branches, "level"), Col("评定等级", center=True)),
        "否决与标记": (_flags_and_vetoes(result), Col("否决与标记", cap=30)),
        "名额调整": (_column(branches, "quota_note"), Col("名额调整", cap=30)),
        "自评分": (self_score, Col("自评分", "score")),
        "自评差值": (self_score - total, Col("自评差值", "diff")),
    }
    for key, (values, col) in tail.items():
        values = pd.Series(np.asarray(values, dtype=object))
        frame[key] = values.to_numpy() if col.kind == "text" else _number(values).to_numpy()
        cols.append(col)
    return frame, cols


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


def veto_frame(result: Result) -> tuple[pd.DataFrame, list[Col]]:
    names, ranks = _branch_lookup(result)
    effects = EFFECTS_GRADE if (result.meta or {}).get("rating") == "grade" else EFFECTS
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
    fired = set(zip(veto_rows["branch_id"].tolist(), veto_rows["事项"].tolist()))
    if fired and len(flags):
        keep = [(b, f) not in fired for b, f in zip(flags["branch_id"].tolist(), flags["事项"].tolist())]
        flags = flags[keep]
    flags = flags.assign(类别="预警标记", 处理=EFFECTS["flag"], 说明="", _source=1)
    rows = pd.concat([veto_rows, flags[veto_rows.columns]], ignore_index=True)
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


def _plugins_text(plugins) -> str:
    items = []
    for item in plugins or []:
        if isinstance(item, (tuple, list)) and len(item) >= 2:
            items.append(f"{item[0]} {item[1]}")
        else:
            items.append(str(item))
    return "；".join(items)


def audit_frame(meta: dict) -> pd.DataFrame:
    rubric = _meta_text(meta, "rubric_name")
    if meta.get("rubric_id"):
        rubric = f"{rubric}（{meta['rubric_id']}）" if rubric else str(meta["rubric_id"])
    rows = [
        ("评分标准", rubric),
        ("版本", _meta_text(meta, "rubric_version")),
        ("评分标准指纹(SHA-256)", _meta_text(meta, "rubric_sha256")),
        ("数据指纹(SHA-256)", _meta_text(meta, "data_sha256")),
        ("引擎版本", _meta_text(meta, "engine_version")),
        ("插件及版本", _plugins_text(meta.get("plugins"))),
        ("运行命令", _meta_text(meta, "command")),
        ("生成时间", _meta_text(meta, "generated")),
        ("考核年度", _meta_text(meta, "year")),
    ]
    return pd.DataFrame(rows, columns=["项目", "内容"])


def quality_frame(meta: dict) -> pd.DataFrame:
    notes = list(meta.get("data_notes") or [])
    problems = sorted((n for n in notes if isinstance(n, Problem)), key=Problem.sort_key)
    others = [n for n in notes if not isinstance(n, Problem)]
    rows = [(p.location(), p.message) for p in problems] + [("", str(n)) for n in others]
    return pd.DataFrame(rows, columns=["位置", "说明"])


# --------------------------------------------------------------------------------------------------
# Sheets


def _level_rules(ws: Worksheet, looks: Looks, column: int, first: int, last: int, levels: pd.Series) -> None:
    present = set(_text(levels).tolist())
    for look, labels in LEVEL_LABELS.items():
        for label in labels:
            if label in present:
                ws.conditional_format(
                    first, column, last, column,
                    {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": looks.levels[look]},
                )


def _ranking_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = ranking_frame(result)
    meta = sw.meta
    rubric = _meta_text(meta, "rubric_name")
    version = _meta_text(meta, "rubric_version")
    parts = []
    if rubric:
        parts.append(f"评分标准：{rubric}" + (f"（版本 {version}）" if version else ""))
    parts.append(f"参加考核支部 {len(frame)} 个")
    if meta.get("generated"):
        parts.append(f"生成时间：{meta['generated']}")
    parts.append("总分相同时按评分标准规定的次序排名")
    ws, first, last = sw.table_sheet(SHEET_RANKING, SHEET_RANKING, "；".join(parts), frame, cols, freeze_cols=3)
    if len(frame) == 0:
        return
    headers = [c.header for c in cols]
    level_col = len(headers) - 1 - headers[::-1].index("评定等级")
    total_col = len(headers) - 1 - headers[::-1].index("总分")
    _level_rules(ws, sw.looks, level_col, first, last, frame["评定等级"])
    ws.conditional_format(
        first, total_col, last, total_col,
        {"type": "data_bar", "bar_color": "#BDD7EE", "bar_solid": True},
    )


def _detail_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = detail_frame(result)
    note = "每个支部每项指标的测量值、目标、得分与失分；满分为 0 的指标不适用于该类别支部，不计入满分。"
    ws, first, last = sw.table_sheet(SHEET_DETAIL, SHEET_DETAIL, note, frame, cols, freeze_cols=3)
    if len(frame) == 0:
        return
    headers = [c.header for c in cols]
    lost_col, max_col = headers.index("失分"), headers.index("满分")
    ws.conditional_format(first, lost_col, last, lost_col, {"type": "cell", "criteria": ">", "value": 0, "format": sw.looks.lost})
    # Grey out indicators that do not apply to the branch (满分 0).
    max_cell = xl_rowcol_to_cell(first, max_col, row_abs=False, col_abs=True)
    ws.conditional_format(
        first, 0, last, len(cols) - 1,
        {"type": "formula", "criteria": f"=AND(ISNUMBER({max_cell}),{max_cell}=0)", "format": sw.looks.not_applicable},
    )


def _lost_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = lost_frame(result)
    note = "只列出失分的指标：按支部排名排列，同一支部内失分多的在前，可作为各支部的整改清单。"
    sw.table_sheet(SHEET_LOST, "扣分清单（整改清单）", note, frame, cols, freeze_cols=0)


def _bonus_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = bonus_frame(result)
    note = "全部加分申报；未计分或计入分值低于申报的，原因见「说明」。"
    sw.table_sheet(SHEET_BONUS, SHEET_BONUS, note, frame, cols)


def _veto_sheet(sw: SheetWriter, result: Result) -> None:
    frame, cols = veto_frame(result)
    note = "触发的否决事项（取消评星、等级封顶、扣分、直接定级）与预警标记（如软弱涣散、整顿候选）。"
    sw.table_sheet(SHEET_VETO, SHEET_VETO, note, frame, cols)


def _audit_sheet(sw: SheetWriter) -> None:
    meta = sw.meta
    looks = sw.looks
    audit = audit_frame(meta)
    quality = quality_frame(meta)
    toml_lines = str(meta.get("rubric_toml") or "").splitlines()

    ws = sw.workbook.add_worksheet(SHEET_AUDIT)
    subject = SHEET_AUDIT
    sw.heading(ws, subject, "本次计算所用的评分标准、数据指纹与软件版本，可据此核对和复算结果。", 2)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    sw.page_setup(ws, subject, HEADER_ROW)

    # Column A holds keys, locations and line numbers; column B values, notes and rubric text (wrapping).
    # Keys set the width of column A; long data-quality locations wrap inside it rather than widen it.
    key_units = max(_display_units(audit["项目"]).max(), min(_longest(quality["位置"]), AUDIT_KEY_CAP))
    value_texts = pd.concat([audit["内容"], quality["说明"], pd.Series(toml_lines, dtype=object)], ignore_index=True)
    value_units = _display_units(_text(value_texts)).max() if len(value_texts) else 0
    widths = [float(min(max(key_units + 2, 14), AUDIT_KEY_CAP)), float(min(max(value_units + 2, 66), AUDIT_TEXT_CAP))]
    ws.set_column(0, 0, widths[0])
    ws.set_column(1, 1, widths[1])

    cols = [Col("项目", wrap=True), Col("内容", wrap=True)]
    _, last = sw.write_table(ws, HEADER_ROW, audit, cols, "审计信息", widths=widths)

    row = last + 2
    ws.write_string(row, 0, "数据质量说明", looks.section)
    row += 1
    if len(quality):
        ws.write_string(row, 0, "读入数据时容忍或自动更正的问题如下，请核对原始数据：", looks.note)
        row += 1
        _, last = sw.write_table(ws, row, quality, [Col("位置", wrap=True), Col("说明", wrap=True)], "数据质量", widths=widths)
        row = last + 2
    else:
        ws.write_string(row, 0, "读入数据时未发现需要说明的问题。", looks.note)
        row += 2

    ws.write_string(row, 0, "评分标准原文（TOML）", looks.section)
    row += 1
    if toml_lines:
        _fit_row_heights(ws, row, _row_lines(pd.Series(toml_lines, dtype=object).astype(str), widths[1]))
        for number, line in enumerate(toml_lines, 1):
            ws.write_number(row, 0, number, looks.line_number)
            if line.strip():
                ws.write_string(row, 1, line, looks.code)
            row += 1
    else:
        ws.write_string(row, 1, EMPTY, looks.note)


def _properties(workbook: Workbook, meta: dict) -> None:
    title = _meta_text(meta, "title") or "党支部考核结果"
    workbook.set_properties(
        {
            "title": title,
            "subject": "党支部年度考核结果",
            "author": "党支部考核评分系统",
            "company": "",
            "comments": f"评分标准 {_meta_text(meta, 'rubric_id')} {_meta_text(meta, 'rubric_version')}；"
            f"引擎版本 {_meta_text(meta, 'engine_version')}",
        }
    )


def write_results(result: Result, path: Path) -> None:
    """Write the results workbook to ``path`` (atomically: a temp file renamed into place)."""
    meta = result.meta or {}
    with atomic_output(path, ".xlsx") as tmp:
        workbook = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": False,  # tables and column formats need the in-memory mode
                "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        try:
            looks = Looks(workbook)
            sw = SheetWriter(workbook, looks, meta)
            _properties(workbook, meta)
            _ranking_sheet(sw, result)
            _detail_sheet(sw, result)
            _lost_sheet(sw, result)
            _bonus_sheet(sw, result)
            _veto_sheet(sw, result)
            _audit_sheet(sw)
        except BaseException:
            # Release xlsxwriter's temporary state without producing output; atomic_output removes tmp.
            workbook.fileclosed = True
            raise
        workbook.close()
