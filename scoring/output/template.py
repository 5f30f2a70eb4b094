"""The data-collection template for a rubric (``scoring template -r RUBRIC -o template.xlsx``).

The workbook holds exactly what the rubric's measures read:

* ``填表说明`` first: how to fill the workbook (one per branch or one for the county, what the
  committee fills, dates, 是/否), a table of every column of every sheet (required or not, type and
  format, allowed values, help, example), and a table of every indicator with its points, its rule in
  a short Chinese sentence and the sheets and columns it reads; A4 landscape print setup.
* one sheet per needed table (``needed_tables``), in the order the plugins declared them (the core
  ``branches`` table first). Each sheet has the table's required columns,
  its key and foreign-key columns, every column a measure of the rubric reads and the branch columns the
  results workbook shows (``ENGINE_COLUMNS``), in the order of the table spec. Row 1 is the header
  (Chinese, required columns marked with a trailing ``*``, which the reader ignores), formatted and
  frozen; columns carry the format of their type (dates yyyy-mm-dd, months as text, numbers) and a data
  validation (drop-down lists for enumerations and 是/否, dates, whole numbers, numbers, months as
  YYYY-MM) with the column's help as the input message.

Data sheets hold no example row: an unfilled template has zero records, and a filled one loads without
edits. Examples are in the input messages and on ``填表说明``.

:func:`fill_template` writes records into a copy of a template (same sheets, headers, formats and
validations); the tests use it to build per-branch workbooks.

Written with xlsxwriter (the template) and openpyxl (filling a copy); every file is written to a
temporary name in the target folder and renamed into place only when complete.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import math
import pickle
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from scoring.errors import UsageError
from scoring.evaluator import measure_requests
from scoring import rules, wording
from scoring.atomic import atomic_output
from scoring.registry import Registry
from scoring.rubric import Dimension, Indicator, Rubric, VetoCondition
from scoring.tables import CATEGORIES, Column, Table
from scoring.tables import column_help

__all__ = [
    "GUIDE_SHEET",
    "ENGINE_COLUMNS",
    "SheetLayout",
    "template_layout",
    "header_text",
    "rule_text",
    "write_template",
    "fill_template",
]

GUIDE_SHEET = "填表说明"
LIST_SHEET = "下拉选项"  # hidden; holds drop-down lists too long for an inline list (255 characters)
REQUIRED_MARK = "*"

# Columns the engine itself reads besides the measures' inputs: the results workbook shows the branch's
# name, township and category, and compares its self-score (自评分) with the computed total.
ENGINE_COLUMNS = {"branches": ("branch_id", "name", "category", "parent", "self_score")}

FONT = "等线"
FONT_SIZE = 11
HEADER_FILL = "#BDD7EE"
COMMITTEE_FILL = "#FCE4D6"  # header fill and tab colour of the sheets the committee fills
COMMITTEE_TAB = "#ED7D31"
BORDER_COLOR = "#808080"
EXAMPLE_COLOR = "#808080"
LAST_ROW = 1_048_575  # 0-based last row of a sheet: validations cover the whole column below the header
DATE_MIN = _dt.date(1910, 1, 1)  # the reader's range of Excel serial dates
DATE_MAX = _dt.date(2099, 12, 31)
NUMBER_LIMIT = 1e15
INT_LIMIT = 2_147_483_647
MIN_WIDTH = 8
MAX_WIDTH = 40
LINE_HEIGHT = 16  # points per line of wrapped 11pt CJK text
LIST_LIMIT = 255  # Excel's limit for an inline drop-down list ("a,b,c")
PROMPT_TITLE_LIMIT = 32
PROMPT_LIMIT = 255

# 填表说明: one grid of columns shared by the column table (A..G) and the indicator table (A, B, C, D:E, F:G).
GUIDE_WIDTHS = (16, 18, 9, 22, 28, 40, 18)

DTYPE_TEXT = {
    "str": "文本",
    "enum": "从下拉列表选择",
    "int": "整数",
    "float": "数字",
    "date": "日期，如 2025-03-01",
    "month": "月份（文本 YYYY-MM），如 2025-01",
    "bool": "从下拉列表选择 是/否",
}
DTYPE_MIN_WIDTH = {"date": 12, "month": 10, "int": 8, "float": 10}
NUM_FORMATS = {"str": "@", "enum": "@", "month": "@", "bool": "@", "date": "yyyy-mm-dd", "int": "0",
               "float": "General"}


# East Asian wide characters take two width units in Excel's column width measure.
_WIDE = re.compile(
    r"[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3"
    r"\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]"
)


def _units(text: str) -> int:
    """Display width of one line: its length plus one extra unit per wide (CJK) character."""
    return len(text) + len(_WIDE.findall(text))


_num = wording.const  # a rubric number as short document text: 12.0 -> "12", 0.5 -> "0.5"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------
# Layout: which sheets and columns


@dataclass(frozen=True)
class SheetLayout:
    table: Table
    columns: tuple[Column, ...]

    @property
    def committee(self) -> bool:
        """Filled by the evaluation committee (考评委员会) rather than the branches (``Table.filled_by``)."""
        return self.table.committee


def header_text(col: Column) -> str:
    """The header as written in the template: required columns end with ``*``."""
    return col.header + REQUIRED_MARK if col.required else col.header


def _needed(rubric: Rubric, registry: Registry) -> dict[str, set[str]]:
    """Table id -> columns read by the rubric's measures ("branches" always)."""
    reads: dict[str, set[str]] = {"branches": set()}
    for mid, _params in measure_requests(rubric).values():
        for tid, cols in registry.measures[mid].inputs.items():
            reads.setdefault(tid, set()).update(cols)
    return reads


def template_layout(rubric: Rubric, registry: Registry) -> list[SheetLayout]:
    """The data sheets of the rubric's template, in workbook order."""
    reads = _needed(rubric, registry)
    order = [t for t in registry.tables if t in reads]
    out = []
    for tid in order:
        spec = registry.tables[tid]
        wanted = set(reads[tid]) | set(spec.key) | {fk.column for fk in spec.foreign_keys}
        wanted |= set(ENGINE_COLUMNS.get(tid, ()))
        cols = tuple(c for c in spec.columns if c.required or c.id in wanted)
        out.append(SheetLayout(spec, cols))
    return out


# --------------------------------------------------------------------------------------------------
# Rules in words


def rule_text(ind: Indicator, registry: Registry) -> str:
    """A short Chinese description of an indicator's scoring rule (:func:`scoring.rules.describe`)."""
    return rules.describe(ind, registry)


def _condition_text(c: VetoCondition, rubric: Rubric, registry: Registry) -> str:
    if c.measure:
        m = registry.measures[c.measure]
        label = rules.measure_label(m.name, c.params)
    else:
        ind = next(i for _, i in rubric.all_indicators() if i.id == c.indicator)
        m = registry.measures[ind.measure]
        label = ind.name
    text = f"{label}{rules.unit_of(m).requirement(c.op, c.value)}"
    if c.if_missing:
        text += "（没有记录的也按此处理）"
    return text


def _reads_text(measures: Iterable[str], registry: Registry) -> str:
    """"组织生活记录：日期、类型" per table (支部编码 left out: every table has it)."""
    cols: dict[str, list[str]] = {}
    for mid in measures:
        for tid, cs in registry.measures[mid].inputs.items():
            got = cols.setdefault(tid, [])
            got += [c for c in cs if c not in got]
    lines = []
    order = list(registry.tables)
    for tid in sorted(cols, key=order.index):
        spec = registry.tables[tid]
        shown = [spec.column(c).header for c in spec.column_ids if c in cols[tid] and c != "branch_id"]
        lines.append(f"{spec.sheet}：{'、'.join(shown)}" if shown else spec.sheet)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Writing the template


class _Looks:
    """Every format of the template, created once per workbook."""

    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": FONT_SIZE, "valign": "vcenter"}
        border = {"border": 1, "border_color": BORDER_COLOR}
        head = {**base, **border, "bold": True, "align": "center", "text_wrap": True}
        self.header = wb.add_format({**head, "bg_color": HEADER_FILL})
        self.header_committee = wb.add_format({**head, "bg_color": COMMITTEE_FILL})
        self.columns = {dtype: wb.add_format({**base, "num_format": fmt}) for dtype, fmt in NUM_FORMATS.items()}
        # 填表说明
        self.title = wb.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.subtitle = wb.add_format({**base, "font_size": 10, "font_color": "#595959", "align": "center"})
        self.section = wb.add_format({**base, "bold": True, "font_size": 12})
        self.para = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.cell = wb.add_format({**base, **border, "text_wrap": True})
        self.cell_center = wb.add_format({**base, **border, "text_wrap": True, "align": "center"})
        self.cell_bold = wb.add_format({**base, **border, "text_wrap": True, "bold": True, "align": "center"})
        self.cell_committee = wb.add_format({**base, **border, "text_wrap": True, "bold": True, "align": "center",
                                             "bg_color": COMMITTEE_FILL})
        self.example = wb.add_format({**base, **border, "text_wrap": True, "italic": True,
                                      "font_color": EXAMPLE_COLOR})
        self.cell_heading = wb.add_format({**base, **border, "text_wrap": True, "bold": True,
                                           "bg_color": "#EDEDED"})


def _example_text(col: Column) -> str:
    v = col.example
    if v is None or (isinstance(v, str) and not v.strip()):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _allowed_values(col: Column) -> tuple[str, ...]:
    if col.dtype == "enum":
        return tuple(col.values)
    if col.dtype == "bool":
        return ("是", "否")
    return ()


def _prompt(col: Column) -> tuple[str, str]:
    """(title, message) of a column's input message: help, required or not, format, example."""
    lines = []
    if column_help(col):
        lines.append(column_help(col).rstrip("。") + "。")
    lines.append("必填。" if col.required else "可以空白。")
    values = _allowed_values(col)
    if values:
        lines.append(f"从下拉列表选择：{'、'.join(values)}。")
    elif col.dtype in ("date", "month", "int", "float") and not (col.dtype == "month" and "YYYY-MM" in col.help):
        lines.append(DTYPE_TEXT[col.dtype] + "。")
    example = _example_text(col)
    if example:
        lines.append(f"示例：{example}")
    return _cut(col.header, PROMPT_TITLE_LIMIT), _cut("\n".join(lines), PROMPT_LIMIT)


def _column_width(col: Column) -> int:
    need = _units(header_text(col)) + 2
    need = max(need, DTYPE_MIN_WIDTH.get(col.dtype, MIN_WIDTH))
    example = _example_text(col)
    if example:
        need = max(need, _units(example) + 2)
    values = _allowed_values(col)
    if values:
        need = max(need, max(_units(v) for v in values) + 4)  # room for the drop-down arrow
    return min(max(need, MIN_WIDTH), MAX_WIDTH)


class _Lists:
    """Drop-down lists longer than Excel's inline limit go to one hidden sheet, one column per list."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.ws: Worksheet | None = None
        self.n = 0

    def source(self, values: tuple[str, ...]) -> dict:
        inline = ",".join(values)
        if len(inline) <= LIST_LIMIT and not any("," in v or '"' in v for v in values):
            return {"source": list(values)}
        if self.ws is None:
            self.ws = self.wb.add_worksheet(LIST_SHEET)
            self.ws.hide()
        col = self.n
        self.n += 1
        for r, v in enumerate(values):
            self.ws.write_string(r, col, v)
        letter = xl_col_to_name(col)
        return {"source": f"='{LIST_SHEET}'!${letter}$1:${letter}${len(values)}"}


def _bound(value: float | None, default: float) -> float:
    """A column's bound for Excel's data validation (the reader checks the same bound)."""
    return default if value is None else value


def _validation(col: Column, letter: str, lists: _Lists) -> dict:
    """The data validation of a column's data cells (with the column's input message)."""
    title, message = _prompt(col)
    v: dict = {"input_title": title, "input_message": message, "error_type": "stop", "error_title": "输入有误"}
    values = _allowed_values(col)
    if values:
        v.update({"validate": "list", **lists.source(values)})
        v["error_message"] = _cut(f"「{col.header}」请从下拉列表中选择：{'、'.join(values)}", PROMPT_LIMIT)
    elif col.dtype == "date":
        v.update({"validate": "date", "criteria": "between", "minimum": DATE_MIN, "maximum": DATE_MAX})
        v["error_message"] = f"「{col.header}」应填写日期，如 2025-03-01"
    elif col.dtype == "int":
        v.update({"validate": "integer", "criteria": "between", "minimum": _bound(col.min, -INT_LIMIT),
                  "maximum": _bound(col.max, INT_LIMIT)})
        v["error_message"] = f"「{col.header}」应填写整数"
    elif col.dtype == "float":
        v.update({"validate": "decimal", "criteria": "between", "minimum": _bound(col.min, -NUMBER_LIMIT),
                  "maximum": _bound(col.max, NUMBER_LIMIT)})
        v["error_message"] = f"「{col.header}」应填写数字（不带单位）"
    elif col.dtype == "month":
        c = f"{letter}2"
        v.update({"validate": "custom",
                  "value": f'=AND(LEN({c})=7,MID({c},5,1)="-",VALUE(LEFT({c},4))>=1900,'
                           f"VALUE(RIGHT({c},2))>=1,VALUE(RIGHT({c},2))<=12)"})
        v["error_message"] = f"「{col.header}」应写成 YYYY-MM，如 2025-01"
    else:
        v["validate"] = "any"
        for k in ("error_type", "error_title"):
            del v[k]
    return v


def _write_data_sheet(wb: xlsxwriter.Workbook, layout: SheetLayout, looks: _Looks, lists: _Lists) -> None:
    ws = wb.add_worksheet(layout.table.sheet)
    head = looks.header_committee if layout.committee else looks.header
    if layout.committee:
        ws.set_tab_color(COMMITTEE_TAB)
    for j, col in enumerate(layout.columns):
        letter = xl_col_to_name(j)
        ws.set_column(j, j, _column_width(col), looks.columns[col.dtype])
        ws.write_string(0, j, header_text(col), head)
        title, message = _prompt(col)
        ws.data_validation(0, j, 0, j, {"validate": "any", "input_title": title, "input_message": message})
        ws.data_validation(1, j, LAST_ROW, j, _validation(col, letter, lists))
    ws.set_row(0, 24)
    ws.freeze_panes(1, 0)
    ws.hide_gridlines(0)  # a printed list needs its grid
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer(f"&C{layout.table.sheet.replace('&', '&&')}　第 &P 页，共 &N 页")


class _Guide:
    """The 填表说明 sheet, written top to bottom; row heights follow the wrapped text."""

    def __init__(self, ws: Worksheet, looks: _Looks):
        self.ws = ws
        self.looks = looks
        self.row = 0
        self.last_col = len(GUIDE_WIDTHS) - 1
        for j, w in enumerate(GUIDE_WIDTHS):
            ws.set_column(j, j, w)

    @staticmethod
    def lines(text: str, width: float) -> int:
        usable = max(width - 1.5, 1.0)
        return sum(max(1, math.ceil(_units(line) / usable)) for line in str(text).split("\n"))

    def span_width(self, a: int, b: int) -> float:
        return float(sum(GUIDE_WIDTHS[a: b + 1]))

    def merged(self, text: str, fmt, height: float | None = None) -> None:
        ws = self.ws
        ws.merge_range(self.row, 0, self.row, self.last_col, text, fmt)
        if height is None:
            height = LINE_HEIGHT * self.lines(text, self.span_width(0, self.last_col)) + 4
        ws.set_row(self.row, height)
        self.row += 1

    def blank(self, height: float = 8) -> None:
        self.ws.set_row(self.row, height)
        self.row += 1

    def table_row(self, cells: list[tuple[int, int, str, object]], min_lines: int = 1) -> None:
        """One row of a bordered table: (first column, last column, text, format) per cell."""
        n = min_lines
        for a, b, text, fmt in cells:
            if b > a:
                self.ws.merge_range(self.row, a, self.row, b, text, fmt)
            else:
                self.ws.write_string(self.row, a, text, fmt)
            n = max(n, self.lines(text, self.span_width(a, b)))
        self.ws.set_row(self.row, LINE_HEIGHT * n + 6)
        self.row += 1

    def group(self, first: int, text: str, fmt) -> None:
        """Merge a column-A cell over the rows of one group (a sheet, a dimension) written since row
        ``first``; when the label needs more height than those rows have, the last row grows."""
        last = self.row - 1
        if last > first:
            self.ws.merge_range(first, 0, last, 0, text, fmt)
        else:
            self.ws.write_string(first, 0, text, fmt)
        need = LINE_HEIGHT * self.lines(text, GUIDE_WIDTHS[0]) + 6
        heights = [self.ws.row_sizes[r][0] for r in range(first, last + 1)]
        if sum(heights) < need:
            self.ws.set_row(last, heights[-1] + need - sum(heights))


def _indicator_row(ind: Indicator, registry: Registry) -> tuple[str, str, str, str]:
    mids = [ind.measure] + [ex.measure for ex in ind.extra_deductions]
    return ind.name, _num(ind.max), rule_text(ind, registry), _reads_text(mids, registry)


def _rubric_rows(rubric: Rubric, registry: Registry) -> list[tuple[str, object]]:
    """Items of the indicator table, in order: ("heading", text) for a full-width row, or
    ("group", (label, rows)) for a group of rows of (指标, 满分, 计分规则, 读取的工作表和列)."""
    items: list[tuple[str, object]] = []

    def group(label: str, rows: list[tuple[str, str, str, str]]) -> None:
        if rows:
            items.append(("group", (label, rows)))

    def dim_label(d: Dimension) -> str:
        if rubric.grading.model == "per_dimension":
            share = round((d.star_share or rubric.grading.star_share) * 100, 2)
            star = f"，{d.star_name}" if d.star_name else ""
            return f"{d.name}\n（{_num(d.total_max)}分，达{share:g}%得星{star}）"
        return f"{d.name}\n（{_num(d.total_max)}分）"

    if rubric.variants:
        taken = {c for v in rubric.variants for c in v.categories}
        rest = [c for c in CATEGORIES if c not in taken]
        scope = f"{'、'.join(rest)}支部" if rest else "基本指标"
        items.append(("heading", f"{scope}的指标（其他类别与此不同之处列在本表后面）"))
    for d in rubric.dimensions:
        group(dim_label(d), [_indicator_row(i, registry) for i in d.indicators])

    # A variant repeats the base dimensions with its changes merged in: show only what differs.
    base = {d.id: d for d in rubric.dimensions}
    for v in rubric.variants:
        items.append(("heading", f"{'、'.join(v.categories)}支部：以下指标与上表不同，未列出的指标同上表"))
        ids = {d.id for d in v.dimensions}
        for d in v.dimensions:
            was = base.get(d.id)
            if was == d:
                continue
            old = {i.id: i for i in was.indicators} if was is not None else {}
            rows = [_indicator_row(i, registry) for i in d.indicators if old.get(i.id) != i]
            kept = {i.id for i in d.indicators}
            rows += [(i.name, "—", "不考核此项", "") for i in old.values() if i.id not in kept]
            group(dim_label(d), rows)
        for d in rubric.dimensions:
            if d.id not in ids:
                group(d.name, [("（整个维度）", "—", "不考核此维度", "")])

    b = rubric.bonus
    if b is not None:
        levels = "、".join(f"{k}{_num(p)}分" for k, p in b.points.items())
        parts = [levels]
        if b.kinds:
            parts.append(f"只计{'、'.join(b.kinds)}")
        if b.require_document:
            parts.append("须有文号")
        if b.require_approved:
            parts.append("须经考评委员会审核通过")
        if b.highest_only:
            parts.append("同一项工作（名称相同）只计最高级别")
        parts.append(f"最多加{_num(b.cap)}分")
        claims = "、".join(b.kinds) if b.kinds else "表彰、创新项目等"
        group(b.name, [(claims, _num(b.cap), "；".join(parts), _reads_text([b.measure], registry))])

    rows = []
    for v in rubric.vetoes:
        effect = wording.rule_effect_text(v, rubric.grading.rates_stars)
        text = f"{_condition_text(v.when, rubric, registry)}：{effect}"
        if v.categories:
            text += f"（仅适用于{'、'.join(v.categories)}支部）"
        mids = [v.when.measure] if v.when.measure else [
            next(i for _, i in rubric.all_indicators() if i.id == v.when.indicator).measure]
        rows.append((v.name, "—", text, _reads_text(mids, registry)))
    group("否决与预警", rows)

    rows = []
    for lv in rubric.grading.levels:
        if not lv.requires:
            continue
        conds = "，且".join(_condition_text(c, rubric, registry) for c in lv.requires)
        text = f"除分数达到{lv.label}的标准外，还须{lv.requires_text or conds}"
        mids = []
        for c in lv.requires:
            mids.append(c.measure if c.measure else
                        next(i for _, i in rubric.all_indicators() if i.id == c.indicator).measure)
        rows.append((f"评为{lv.label}", "—", text, _reads_text(mids, registry)))
    group("等级条件", rows)
    return items


def _scoring_summary(rubric: Rubric) -> str:
    """One or two sentences on how the total is formed (model, scale, weighted sections, bonus)."""
    gr = rubric.grading
    if gr.model == "points":
        text = f"积分制：以{_num(gr.base)}分为基准，按下列各项加分、扣分。"
    else:
        total = sum(d.total_max for d in rubric.dimensions)
        scale = _num(gr.scale)
        text = f"满分{scale}分" if abs(total - gr.scale) < 1e-9 else f"各项合计{_num(total)}分，折算为{scale}分"
        if gr.not_applicable == "rescale":
            text += f"；不适用于本支部的指标不计入，总分按适用的指标折算为{scale}分。"
        else:
            text += "；不适用于本支部的指标按满分计。"
    if gr.sections:
        dims = {d.id: d.name for d in rubric.dimensions}
        parts = []
        for sec in gr.sections:
            names = "、".join(dims.get(x, x) for x in sec.dimensions)
            minus = "、".join(dims.get(x, x) for x in sec.deduct_dimensions)
            parts.append(f"{sec.name}（{names}" + (f"，减去{minus}的扣分" if minus else "") +
                         f"）占{round(sec.weight * 100, 2):g}%")
        text += "总分按各部分加权计算：" + "；".join(parts) + "。"
    if gr.model == "per_dimension":
        text += "每个维度的得分达到表中所列比例即得该维度的一颗星。"
    if rubric.bonus is not None:
        text += f"{rubric.bonus.name}另计，最多{_num(rubric.bonus.cap)}分。"
    return text


def _write_guide(ws: Worksheet, looks: _Looks, rubric: Rubric, registry: Registry,
                 layouts: list[SheetLayout]) -> None:
    g = _Guide(ws, looks)
    sheets = [lay.table.sheet for lay in layouts]
    committee = [lay for lay in layouts if lay.committee]

    g.merged(f"{rubric.name} · 数据采集模板填表说明", looks.title, height=30)
    g.merged(f"评分标准：{rubric.name}（标识 {rubric.id}，版本 {rubric.version}）　考核年度：{rubric.year}年",
             looks.subtitle, height=20)
    g.blank()

    g.merged("一、怎样填写", looks.section, height=22)
    how = [
        f"本模板按评分标准生成，共有{len(sheets)}张数据表：{'、'.join(sheets)}。评分只读取这些表。"
        "每张表的第1行是表头，请从第2行起每条记录填一行；不要修改工作表名称和表头，不要插入标题行或合并单元格。",
        "填报方式有两种，任选其一：（1）每个支部各填一份：复制本模板，文件名用支部名称（如「东岗村党支部.xlsx」），"
        "「支部信息」表只填本支部一行，其他表只填本支部的记录；把各支部的文件放进同一个文件夹，评分时指定这个文件夹即可自动合并。"
        "（2）县（区）统一填一份：全部支部的记录都填在同一个工作簿里。",
    ]
    if committee:
        names = []
        for lay in committee:
            approval = next((c for c in lay.columns if c.dtype == "bool" and "审核" in c.header), None)
            if approval is not None:
                names.append(f"{lay.table.sheet}（由考评委员会审核后填写，含「{approval.header}」列）")
            else:
                names.append(lay.table.sheet)
        how.append(
            f"以下各表由考评委员会填写（工作表标签为橙色）：{'、'.join(names)}。委员会可以另用一份模板只填这些表"
            "（如「委员会.xlsx」），与各支部的文件放在同一个文件夹中；支部的文件中这些表保留表头、不填内容。"
            "同一条记录只能出现在一个文件中，不要在支部文件和委员会文件中重复填写。"
        )
    how += [
        "日期列直接输入日期，如 2025-03-01（输入 2025/3/1 也可以，会显示为 2025-03-01）；"
        "月份列按文本填写，格式为 YYYY-MM，如 2025-01。",
        "带下拉箭头的列（类别、类型、级别、是/否等）请从下拉列表中选择，不要自行输入其他写法；是/否列只填「是」或「否」。",
        f"表头带「{REQUIRED_MARK}」的列为必填，不能空白；其他列没有可以空着。选中某一列的单元格时会显示该列的填写说明和示例，"
        "各列的要求也列在下面第二部分。",
        "数字列只填数字，不要带单位（如学时填 4，不要填「4学时」）；金额、收入的单位见表头。",
        "某张表没有记录时（如当年没有发展党员），保留表头、不填内容即可，不要删除工作表。",
    ]
    for i, text in enumerate(how, 1):
        g.merged(f"{i}. {text}", looks.para)
    g.blank()

    g.merged("二、各工作表的列", looks.section, height=22)
    g.table_row([(0, 0, "工作表", looks.header), (1, 1, "列", looks.header), (2, 2, "是否必填", looks.header),
                 (3, 3, "类型/格式", looks.header), (4, 4, "允许的值", looks.header), (5, 5, "说明", looks.header),
                 (6, 6, "示例", looks.header)])
    for lay in layouts:
        first = g.row
        for col in lay.columns:
            g.table_row([
                (1, 1, col.header, looks.cell),
                (2, 2, "必填" if col.required else "选填", looks.cell_center),
                (3, 3, DTYPE_TEXT[col.dtype], looks.cell),
                (4, 4, "、".join(_allowed_values(col)), looks.cell),
                (5, 5, column_help(col, lay.table), looks.cell),
                (6, 6, _example_text(col), looks.example),
            ])
        label = lay.table.sheet
        if lay.table.grain:
            label += f"\n（{lay.table.grain}）"
        if lay.committee:
            label += "\n考评委员会填写"
        g.group(first, label, looks.cell_committee if lay.committee else looks.cell_bold)
    g.blank()

    g.merged("三、评分指标与所需数据", looks.section, height=22)
    g.merged(_scoring_summary(rubric) + "下表列出每项指标的满分、计分规则和它读取的工作表与列"
             "（各表都按「支部编码」对应到支部）。", looks.para)
    g.table_row([(0, 0, "维度", looks.header), (1, 1, "指标", looks.header), (2, 2, "满分", looks.header),
                 (3, 4, "计分规则", looks.header), (5, 6, "读取的工作表和列", looks.header)])
    for kind, item in _rubric_rows(rubric, registry):
        if kind == "heading":
            g.table_row([(0, g.last_col, item, looks.cell_heading)])
            continue
        label, rows = item
        first = g.row
        for name, points, rule, reads in rows:
            g.table_row([(1, 1, name, looks.cell), (2, 2, points, looks.cell_center), (3, 4, rule, looks.cell),
                         (5, 6, reads, looks.cell)])
        g.group(first, label, looks.cell_bold)

    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.set_footer("&C填表说明　第 &P 页，共 &N 页")
    ws.hide_gridlines(2)
    ws.activate()


def write_template(rubric: Rubric, registry: Registry, path: Path) -> None:
    """Write the data-collection template of ``rubric`` to ``path`` (atomically)."""
    layouts = template_layout(rubric, registry)
    path = Path(path)
    with atomic_output(path, ".xlsx") as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
            "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
        })
        try:
            wb.set_properties({"title": f"{rubric.name} 数据采集模板", "subject": f"{rubric.year}年度党支部考核",
                               "comments": f"评分标准 {rubric.id} 版本 {rubric.version}"})
            looks = _Looks(wb)
            lists = _Lists(wb)
            guide = wb.add_worksheet(GUIDE_SHEET)
            for lay in layouts:
                _write_data_sheet(wb, lay, looks, lists)
            _write_guide(guide, looks, rubric, registry, layouts)
        finally:
            wb.close()


# --------------------------------------------------------------------------------------------------
# Filling a copy of a template


def _header_key(v) -> str:
    return "" if v is None else str(v).strip().strip("*＊").strip()


def _cell_values(s: pd.Series, dtype: str) -> list:
    """Python values for openpyxl: datetime for dates, int/float for numbers, 是/否, text; None if empty."""
    present = s.notna().to_numpy()
    if dtype == "date":
        d = pd.to_datetime(s, errors="coerce")
        vals = [None if pd.isna(x) else x.to_pydatetime() for x in d]
    elif dtype in ("int", "float"):
        num = pd.to_numeric(s, errors="coerce")
        vals = [None if pd.isna(x) else (int(x) if dtype == "int" and float(x).is_integer() else float(x))
                for x in num]
    elif dtype == "bool":
        vals = [None if pd.isna(x) else ("是" if x is True or x == 1 else "否" if x is False or x == 0 else str(x))
                for x in s.astype(object)]
    else:
        vals = [None if pd.isna(x) else str(x) for x in s.astype(object)]
    # a value that does not convert is written as it is (the reader will point at it)
    raw = s.astype(object).tolist()
    return [raw[i] if v is None and present[i] else v for i, v in enumerate(vals)]


@functools.lru_cache(maxsize=4)
def _parsed_template(content: bytes) -> bytes:
    """The template parsed by openpyxl, pickled: parsing (the merged cells of 填表说明) costs several
    times more than unpickling, and a split into hundreds of per-branch workbooks fills the same
    template again and again. Keyed by the file's content (compared exactly)."""
    import openpyxl

    return pickle.dumps(openpyxl.load_workbook(io.BytesIO(content)), protocol=pickle.HIGHEST_PROTOCOL)


def _open_template(content: bytes):
    """A fresh openpyxl workbook of the template's content (never shared between calls)."""
    return pickle.loads(_parsed_template(content))


def fill_template(template: Path, tables: Mapping[str, pd.DataFrame], out: Path,
                  specs: Mapping[str, Table] | None = None) -> Path:
    """Write ``tables`` (table id -> records with canonical column ids) into a copy of ``template``.

    The copy keeps the template's sheets, headers, formats, validations and 填表说明; each record becomes
    one row under the header of its table's sheet. Columns of a frame that the template does not have are
    left out; sheets without a frame stay empty. ``specs`` defines the tables (default: the built-in
    tables and those of installed plugins). Raises :class:`UsageError` when a table has no sheet in the
    template. Returns ``out``.

    Meant for per-branch workbooks and tests: openpyxl writes some 30,000 cells a second, so a whole
    county's 党费交纳 is better written with :func:`scoring.sample.write_dataset` or as CSV/Parquet.
    """
    if specs is None:
        from scoring.registry import make_registry

        specs = make_registry().tables
    template, out = Path(template), Path(out)
    by_sheet = {t.sheet: t for t in specs.values()}
    with atomic_output(out, ".xlsx") as tmp:
        wb = _open_template(template.read_bytes())
        try:
            sheets = {by_sheet[name].id: wb[name] for name in wb.sheetnames if name in by_sheet}
            missing = [tid for tid in tables if tid not in sheets]
            if missing:
                shown = "、".join(f"「{specs[t].sheet if t in specs else t}」" for t in missing)
                raise UsageError(f"模板 {template} 中没有工作表{shown}")
            for tid, frame in tables.items():
                if frame is None or not len(frame):
                    continue
                spec, ws = specs[tid], sheets[tid]
                lookup = {}
                for c in spec.columns:
                    lookup.setdefault(c.header, c)
                    lookup.setdefault(c.id, c)
                for j, cell in enumerate(next(ws.iter_rows(min_row=1, max_row=1)), start=1):
                    col = lookup.get(_header_key(cell.value))
                    if col is None or col.id not in frame.columns:
                        continue
                    fmt = NUM_FORMATS["date"] if col.dtype == "date" else None
                    for r, v in enumerate(_cell_values(frame[col.id], col.dtype), start=2):
                        if v is None:
                            continue
                        c = ws.cell(row=r, column=j, value=v)
                        if fmt:
                            c.number_format = fmt
            wb.active = 0
            wb.save(tmp)
        finally:
            wb.close()
    return out
