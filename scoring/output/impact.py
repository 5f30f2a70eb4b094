"""The rubric impact workbook (评分标准修订影响): ``scoring rubric diff OLD NEW --data DATA -o impact.xlsx``.

Sheets, in this order, with the look of the results workbook (:mod:`scoring.output.xlsx`: the same
title and note rows, Excel tables, fonts, borders, widths, page setup and level colours):

1. 影响汇总     branches per level under each rubric with the change (and a 合计 row), every quota (level,
                scope and scope unit) with its share, places, branches at the level and branches moved
                down by it under each rubric, and every indicator whose points moved (branches up, down,
                the sum and mean of the moves)
2. 支部对比     one row per branch in the new rubric's rank order: ranks, published totals and levels under
                both rubrics, the change, and why (every reason: quota, thresholds, vetoes, the indicators
                that moved with old -> new points, bonus, rescaling, flags); 等级变化 coloured
3. 指标得分变化 one row per branch and indicator whose points moved: old and new points and explanations
4. 规则差异     the rule differences (``scoring rubric diff`` without data), one per row

Written atomically (:func:`scoring.atomic.atomic_output`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xlsxwriter

from scoring.atomic import atomic_output
from scoring.impact import Impact
from scoring.output.xlsx import (
    FONT,
    FONT_SIZE,
    HEADER_ROW,
    Col,
    Looks,
    SheetWriter,
    _level_looks,
    _level_rules,
    _widths,
)
from scoring.previous import CHANGE_DOWN, CHANGE_UP
from scoring.result import RunMeta
from scoring import wording

SHEET_SUMMARY = "影响汇总"
SHEET_BRANCHES = "支部对比"
SHEET_INDICATORS = "指标得分变化"
SHEET_RULES = "规则差异"
SHEET_NAMES = (SHEET_SUMMARY, SHEET_BRANCHES, SHEET_INDICATORS, SHEET_RULES)

SCOPE_UNIT = {"county": "全县", "parent": "上级党组织", "category": "支部类别"}


def _share(x) -> str:
    return "不限" if pd.isna(x) else f"{wording.num(float(x) * 100)}%"


def level_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    lv = imp.levels
    frame = pd.DataFrame({"评定等级": lv["level"], "原标准（个）": lv["old"], "新标准（个）": lv["new"],
                          "变化": lv["delta"]})
    return frame, [Col("评定等级", center=True), Col("原标准（个）", "int", center=True),
                   Col("新标准（个）", "int", center=True), Col("变化", "move", center=True)]


def quota_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    q = imp.quotas
    frame = pd.DataFrame({
        "等级": q["level"], "范围": q["scope"].map(SCOPE_UNIT), "单位": q["unit"],
        "原比例": q["share_old"].map(_share), "新比例": q["share_new"].map(_share),
        "原名额": q["places_old"], "新名额": q["places_new"],
        "原评为该等级": q["at_old"], "新评为该等级": q["at_new"],
        "原因名额降级": q["down_old"], "新因名额降级": q["down_new"],
        "原名额线并列": q["tied_old"], "新名额线并列": q["tied_new"],
        "原超出名额": q["extra_old"], "新超出名额": q["extra_new"],
    })
    cols = [Col("等级", center=True), Col("范围", center=True), Col("单位", cap=24), Col("原比例", center=True),
            Col("新比例", center=True)] + [Col(c, "int", center=True) for c in frame.columns[5:]]
    return frame, cols


def indicator_summary_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    t = imp.by_indicator
    frame = pd.DataFrame({
        "维度": t["dimension"], "指标": t["name"].astype(str) + "（" + t["indicator"].astype(str) + "）",
        "原满分": t["max_old"], "新满分": t["max_new"], "得分提高（个）": t["up"], "得分降低（个）": t["down"],
        "得分变化合计": t["delta_sum"], "平均变化": t["delta_mean"],
    })
    cols = [Col("维度", center=True), Col("指标", cap=36), Col("原满分", "point"), Col("新满分", "point"),
            Col("得分提高（个）", "int", center=True), Col("得分降低（个）", "int", center=True),
            Col("得分变化合计", "diff"), Col("平均变化", "diff")]
    return frame, cols


def branch_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    b = imp.branches
    change = b["change"].where(b["level_changed"], "")
    frame = pd.DataFrame({
        "新排名": b["rank_new"], "原排名": b["rank_old"], "排名变化": b["rank_move"],
        "支部编码": b["branch_id"], "支部名称": b["name"], "上级党组织": b["parent"], "类别": b["category"],
        "原总分": b["total_old"], "新总分": b["total_new"], "总分变化": b["total_delta"],
        "原等级": b["level_old"], "新等级": b["level_new"], "等级变化": change,
        "变化原因": b["why"], "原标记": b["flags_old"], "新标记": b["flags_new"],
    })
    cols = [Col("新排名", "int", center=True), Col("原排名", "int", center=True), Col("排名变化", "move", center=True),
            Col("支部编码"), Col("支部名称", cap=30), Col("上级党组织", cap=18), Col("类别", center=True),
            Col("原总分", "score"), Col("新总分", "score"), Col("总分变化", "diff"),
            Col("原等级", center=True), Col("新等级", center=True), Col("等级变化", center=True),
            Col("变化原因", cap=60), Col("原标记", cap=16), Col("新标记", cap=16)]
    return frame, cols


def indicator_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    t = imp.indicators
    frame = pd.DataFrame({
        "新排名": t["rank_new"], "支部编码": t["branch_id"], "支部名称": t["branch_name"], "维度": t["dimension"],
        "指标": t["name"].astype(str) + "（" + t["indicator"].astype(str) + "）",
        "原得分": t["points_old"], "新得分": t["points_new"], "变化": t["delta"],
        "原得分说明": t["explanation_old"], "新得分说明": t["explanation_new"],
    })
    cols = [Col("新排名", "int", center=True), Col("支部编码"), Col("支部名称", cap=30), Col("维度", center=True),
            Col("指标", cap=36), Col("原得分", "point"), Col("新得分", "point"), Col("变化", "diff"),
            Col("原得分说明", cap=60), Col("新得分说明", cap=60)]
    return frame, cols


def rules_frame(imp: Impact) -> tuple[pd.DataFrame, list[Col]]:
    frame = pd.DataFrame({"类别": [s or "指标" for s, _ in imp.rules], "差异": [t for _, t in imp.rules]},
                         columns=["类别", "差异"])
    return frame, [Col("类别", center=True), Col("差异", cap=100)]


def _summary_sheet(sw: SheetWriter, imp: Impact, note: str) -> None:
    tables = [("各等级支部数", *level_frame(imp), True), ("名额", *quota_frame(imp), False),
              ("得分变化的指标", *indicator_summary_frame(imp), False)]
    ws = sw.workbook.add_worksheet(SHEET_SUMMARY)
    sw.page_setup(ws, SHEET_SUMMARY, None)  # three tables: no single header row to repeat
    ncols = max(len(cols) for _, _, cols, _ in tables)
    # the tables share the sheet's columns: each column as wide as the widest table needs it
    widths = [0.0] * ncols
    for _, frame, cols, _ in tables:
        for i, (w, _) in enumerate(_widths(frame, cols, sw.break_headers)):
            widths[i] = max(widths[i], w)
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    sw.heading(ws, SHEET_SUMMARY, note, ncols, sum(widths))
    row = HEADER_ROW
    for index, (title, frame, cols, totals) in enumerate(tables):
        if index:
            ws.write_string(row, 0, title, sw.looks.section)
            row += 1
        _, last = sw.write_table(ws, row, frame, cols, title, widths=widths[:len(cols)], totals=totals)
        row = last + (2 if totals else 1) + 2
    if len(imp.levels):
        mapping = _level_looks(imp.new)
        _level_rules(ws, sw.looks, 0, HEADER_ROW + 1, HEADER_ROW + len(imp.levels), imp.levels["level"], mapping)


def _branch_sheet(sw: SheetWriter, imp: Impact) -> None:
    frame, cols = branch_frame(imp)
    n_changed = int(imp.branches["level_changed"].sum())
    pa, pb = imp.old.rubric.ranking.precision, imp.new.rubric.ranking.precision
    digits = f"保留{pb}位小数" if pa == pb else f"原标准保留{pa}位小数，新标准保留{pb}位小数"
    note = (f"同一份数据分别按原、新评分标准评分：等级变化 {n_changed} 个支部；按新标准排名排列；排名变化为原排名减新排名，"
            f"正数为前进；总分为公布的总分（{digits}，排名和名额按此确定）；在「等级变化」列筛选可只看等级变化的支部")
    ws, first, last = sw.table_sheet(SHEET_BRANCHES, SHEET_BRANCHES, note, frame, cols, freeze_cols=5)
    if not len(frame):
        return
    headers = [c.header for c in cols]
    mapping = _level_looks(imp.new)
    for header in ("原等级", "新等级"):
        _level_rules(ws, sw.looks, headers.index(header), first, last, frame[header], mapping)
    change_col = headers.index("等级变化")
    for look, words in (("up", CHANGE_UP.values()), ("down", CHANGE_DOWN.values())):
        for word in words:
            ws.conditional_format(first, change_col, last, change_col,
                                  {"type": "cell", "criteria": "==", "value": f'"{word}"',
                                   "format": getattr(sw.looks, look)})


def _indicator_sheet(sw: SheetWriter, imp: Impact) -> None:
    frame, cols = indicator_frame(imp)
    note = ("得分有变化的支部和指标（得分按两位小数比较）；每个支部按变化大小排列；"
            "得分为空表示该评分标准没有这一指标")
    ws, first, last = sw.table_sheet(SHEET_INDICATORS, SHEET_INDICATORS, note, frame, cols, freeze_cols=3)
    if len(frame):
        headers = [c.header for c in cols]
        col = headers.index("变化")
        ws.conditional_format(first, col, last, col, {"type": "cell", "criteria": "<", "value": 0,
                                                      "format": sw.looks.down})
        ws.conditional_format(first, col, last, col, {"type": "cell", "criteria": ">", "value": 0,
                                                      "format": sw.looks.up})


def _rules_sheet(sw: SheetWriter, imp: Impact, note: str) -> None:
    frame, cols = rules_frame(imp)
    sw.table_sheet(SHEET_RULES, SHEET_RULES, note, frame, cols, portrait=True)


def write_impact(imp: Impact, path: Path, meta: RunMeta, rules_note: str, data_note: str) -> None:
    """Write the impact workbook to ``path`` (atomically). ``meta`` gives the title and the page header;
    ``rules_note`` names the two rubrics (规则差异), ``data_note`` the data and the year (影响汇总)."""
    with atomic_output(path, ".xlsx") as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {
            "constant_memory": False,
            "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
            "strings_to_formulas": False,
            "strings_to_urls": False,
        })
        try:
            workbook.set_properties({"title": meta.title, "subject": "评分标准修订影响",
                                     "author": "党支部考核评分系统",
                                     "comments": f"引擎版本 {meta.engine_version}"})
            sw = SheetWriter(workbook, Looks(workbook), meta, break_headers=True)
            _summary_sheet(sw, imp, f"{data_note}；同一份数据分别按原、新评分标准评分；"
                                    f"每个支部的变化和原因见「{SHEET_BRANCHES}」，每项指标的得分变化见「{SHEET_INDICATORS}」")
            _branch_sheet(sw, imp)
            _indicator_sheet(sw, imp)
            _rules_sheet(sw, imp, rules_note)
        except BaseException:
            workbook.fileclosed = True  # release xlsxwriter's state; atomic_output removes tmp
            raise
        workbook.close()
