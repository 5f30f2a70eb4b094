"""Tests of the result writers: the Excel workbook (scoring.output.xlsx) and the JSON contract (jsonout)."""

from __future__ import annotations

import functools
import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest

from scoring.cli import main
from scoring.engine import load
from scoring.errors import Problem, UsageError
from scoring import atomic
from scoring.output import xlsx
from scoring.output.jsonout import to_json_dict, write_json
from scoring.output.xlsx import write_results
from scoring.previous import attach, compare, gone, load_previous
from scoring.reader import limits
from scoring.result import Result, RunMeta
from scoring.sample import generate_county, write_dataset

TITLE = "示例县2025年度党支部考核结果"
_FIVE_STAR = load("five_star")[0]
# the hand-built result below rates four and three stars only
RUBRIC = _FIVE_STAR.model_copy(update={"grading": _FIVE_STAR.grading.model_copy(update={
    "levels": [lv for lv in _FIVE_STAR.grading.levels if lv.label in ("四星", "三星")], "unrated_label": "未评定"}),
    "quotas": []})

# openpyxl reads the workbook back and drops the Excel 2010 data-bar extension with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")


def make_result() -> Result:
    """3 branches, 2 dimensions, 4 indicators, one counted and one uncounted bonus claim, a veto, a flag,
    a quota note. Branch B3 is a 社区 branch for which the economy indicator does not apply."""
    branches = pd.DataFrame(
        {
            "branch_id": ["B2", "B1", "B3"],
            "name": ["红星村党支部", "东风村党支部委员会", "幸福社区党支部"],
            "category": ["农村", "农村", "社区"],
            "parent": ["城关镇党委", "城关镇党委", "河西街道党工委"],
            "rank": [1, 2, 3],
            "base_total": [38.5, 33.25, 20.0],
            "bonus": [2.0, 0.0, 0.0],
            "deduction": [0.0, 0.0, 0.0],
            "total": [40.5, 33.25, 20.0],
            "max_total": [40.0, 40.0, 40.0],
            "stars": pd.array([4, 3, pd.NA], dtype="Int64"),
            "grade": [None, None, None],
            "level": ["四星", "三星", "未评定"],
            "rated": [True, True, False],
            "flags": ["", "软弱涣散候选", "整顿候选；软弱涣散候选"],
            "quota_note": ["五星名额已满（10%），由五星调整为四星", "", ""],
            "self_score": [42.0, np.nan, 30.0],
        }
    )
    dim_rows = []
    for bid, scores in {"B2": (18.5, 20.0), "B1": (15.25, 18.0), "B3": (12.0, 8.0)}.items():
        dim_rows.append((bid, "leadership", "领导班子好", scores[0], 20.0, 0))
        dim_rows.append((bid, "performance", "工作业绩好", scores[1], 20.0 if bid != "B3" else 12.0, 1))
    dimensions = pd.DataFrame(dim_rows, columns=["branch_id", "dimension", "name", "score", "max", "order"])

    ind_rows = []
    table = {
        # branch: [(value, points, max, applicable, explanation) per indicator]
        "B2": [(11, 5.5, 6, True, "支委会全年召开11次，应召开12次，扣0.5分"),
               (56, 14.0, 14, True, "培训学时达标"),
               (25, 8.0, 8, True, "村集体经济经营性收入25万元，得满分"),
               (1, 12.0, 12, True, "现场检查得分12分")],
        "B1": [(9, 4.5, 6, True, "支委会全年召开9次，应召开12次，扣1.5分"),
               (40, 10.75, 14, True, "培训学时40小时，应达到56小时，扣3.25分"),
               (6, 6.0, 8, True, "村集体经济经营性收入6万元，扣2分"),
               (1, 12.0, 12, True, "现场检查得分12分")],
        "B3": [(6, 3.0, 6, True, "支委会全年召开6次，应召开12次，扣3分"),
               (50, 9.0, 14, True, "培训学时50小时，应达到56小时，扣5分"),
               (np.nan, 0.0, 0, False, "社区党支部不考核村集体经济，该项不计入满分"),
               (1, 8.0, 12, True, "现场检查得分8分，扣4分")],
    }
    indicators_meta = [
        ("leadership", "committee", "支委会", 12.0, 6.0),
        ("leadership", "training", "书记和支委培训学时", 56.0, 14.0),
        ("performance", "economy", "村集体经济经营性收入", 20.0, 8.0),
        ("performance", "inspection", "现场检查评分", np.nan, 12.0),
    ]
    for bid, rows in table.items():
        for order, ((dim, ind, name, target, nominal), (value, points, mx, applicable, text)) in enumerate(
            zip(indicators_meta, rows)
        ):
            ind_rows.append((bid, dim, ind, name, value, target, points, float(mx), nominal, applicable, mx - points, text, order))
    indicators = pd.DataFrame(
        ind_rows,
        columns=["branch_id", "dimension", "indicator", "name", "value", "target", "points", "max", "nominal_max",
                 "applicable", "lost", "explanation", "order"],
    )
    bonus = pd.DataFrame(
        {
            "branch_id": ["B2", "B2"],
            "reason": ["bonus.counted", "bonus.lower_level"],
            "claim": ["h1", "h2"],
            "title": ["市级先进基层党组织", "县级先进基层党组织"],
            "kind": ["表彰", "表彰"],
            "level": ["市级", "县级"],
            "points": [2.0, 0.0],
            "counted": [True, False],
            "explanation": ["市级表彰，计2分", "同一事项只计最高级别（市级），本项不计分"],
        }
    )
    vetoes = pd.DataFrame(
        {
            "branch_id": ["B3"],
            "veto": ["serious_violation"],
            "name": ["严重违纪违法"],
            "effect": ["no_rating"],
            "reason": ["veto.no_rating"],
            "explanation": ["发生严重违纪违法事项1起，只考核不评星"],
        }
    )
    meta = RunMeta(**{
        "title": TITLE,
        "rubric_id": "five_star",
        "rubric_name": "五星级党支部评定标准",
        "rubric_version": "2025.1",
        "rubric_sha256": "a" * 64,
        "data_sha256": "b" * 64,
        "engine_version": "0.1.0",
        "plugins": [("organization", "0.1.0"), ("dues", "0.1.0")],
        "command": "scoring run data.xlsx -o results.xlsx",
        "year": 2025,
        "rubric_toml": '[rubric]\nid = "five_star"\nname = "五星级党支部评定标准"\n\n[[dimension]]\nid = "leadership"\n',
        "data_notes": [Problem("data.xlsx", "党员名册", 12, "出生日期", "日期「2001/3/4」已按 2001-03-04 读取")],
        "generated": "2026-01-10 09:30:00",
        "dimension_names": ["领导班子好", "工作业绩好"],
        "rating": "stars",
    })
    return Result(RUBRIC, branches, dimensions, indicators, bonus, vetoes, meta=meta)


def empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0].copy()


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "results.xlsx"
    write_results(make_result(), path)
    return path


@pytest.fixture(scope="module")
def wb(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def header(ws, row: int = 3) -> list[str]:
    """Header texts of a table, a header broken over two lines read as one."""
    return [c.value.replace("\n", "") for c in ws[row] if c.value is not None]


def rows(ws, header_row: int = 3) -> list[dict]:
    """Data rows of the table whose header is on ``header_row`` as dicts keyed by header (up to the first
    empty row or the 合计 row)."""
    names = header(ws, header_row)
    out = []
    for values in ws.iter_rows(min_row=header_row + 1, max_col=len(names), values_only=True):
        if all(v is None for v in values) or values[0] == "合计":
            break
        out.append(dict(zip(names, values)))
    return out


def find_row(ws, text: str, column: int = 1) -> int:
    """The 1-based row whose cell in ``column`` holds ``text``."""
    for cell in ws.iter_rows(min_col=column, max_col=column):
        if cell[0].value is not None and str(cell[0].value).replace("\n", "") == text:
            return cell[0].row
    raise AssertionError(f"{text!r} not found in {ws.title}")


def table_by_header(ws, first: str) -> list[dict]:
    """Rows of the table whose header row starts with ``first`` (the section heading is above it)."""
    return rows(ws, find_row(ws, first))


SHEETS = ["总排名", "得分明细", "扣分清单", "加分明细", "否决与预警", "分类汇总", "公示预览", "数据质量", "评分标准与审计",
          "评分标准原文"]
# Sheets that are a table under a title and a note (公示预览 is laid out like the notice, 评分标准原文 is text).
TABLE_SHEETS = [name for name in SHEETS if name not in ("公示预览", "评分标准原文")]
RANKING_HEADERS = ["排名", "支部编码", "支部名称", "上级党组织", "类别", "领导班子好", "工作业绩好",
                   "基础得分", "加分", "扣减", "总分", "评定等级", "否决与标记", "等级说明", "自评分", "自评差值"]
PREVIOUS_HEADERS = ["上年等级", "上年排名", "升降", "排名变化"]


# --------------------------------------------------------------------------------------------------
# Workbook


def test_sheet_names_and_order(wb):
    assert wb.sheetnames == SHEETS == list(xlsx.SHEET_NAMES)


def test_headers(wb):
    # Without previous results the ranking has no previous-year columns.
    assert header(wb["总排名"]) == RANKING_HEADERS
    assert header(wb["得分明细"]) == ["排名", "支部编码", "支部名称", "维度", "指标", "测量值", "目标", "得分", "满分", "失分", "说明"]
    assert header(wb["扣分清单"]) == ["排名", "支部编码", "支部名称", "指标", "失分", "说明"]
    assert header(wb["加分明细"]) == ["支部编码", "支部名称", "名称", "类型", "级别", "是否计分", "计入分值", "说明"]
    assert header(wb["否决与预警"]) == ["支部编码", "支部名称", "类别", "事项", "处理", "说明"]
    # Without a rubric object the levels come from the ranking itself, best first.
    assert header(wb["分类汇总"]) == ["上级党组织", "四星", "三星", "未评定", "合计"]
    assert header(wb["分类汇总"], find_row(wb["分类汇总"], "类别")) == ["类别", "四星", "三星", "未评定", "合计"]
    assert header(wb["数据质量"]) == ["位置", "文件", "工作表", "行", "列", "说明"]
    assert header(wb["评分标准与审计"]) == ["维度", "指标", "满分", "计分规则"]
    assert header(wb["评分标准与审计"], find_row(wb["评分标准与审计"], "项目")) == ["项目", "内容"]


def test_long_headers_over_numbers_take_two_lines(wb):
    ws = wb["总排名"]
    cells = {c.value.replace("\n", ""): c for c in ws[3] if c.value}
    # A dimension name over a column of "18.50" is broken in the middle rather than widening the column.
    assert cells["领导班子好"].value == "领导班\n子好" and cells["领导班子好"].alignment.wrap_text
    assert ws.row_dimensions[3].height >= 2 * xlsx.LINE_HEIGHT
    assert cells["支部名称"].value == "支部名称"  # the names are wider than the header: one line
    # The Excel table's column names are the written header texts (Excel repairs the file otherwise).
    table = ws.tables["总排名表"]
    assert [c.name for c in table.tableColumns] == [c.value for c in ws[3] if c.value]


def test_title_row_and_note(wb):
    for name in [n for n in wb.sheetnames if n != "公示预览"]:
        ws = wb[name]
        title = ws["A1"].value
        assert title.startswith(TITLE + " — "), name
        assert ws["A1"].font.b and ws["A1"].font.sz == 16
        assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges), name
        assert ws["A2"].value  # the one-line note under the title
    assert wb["总排名"]["A1"].value == f"{TITLE} — 总排名"


def test_tables_freeze_and_print_setup(wb):
    table_names = set()
    for name in TABLE_SHEETS:
        ws = wb[name]
        assert ws.tables, name
        first = next(iter(ws.tables.values()))
        assert first.ref.startswith("A3:"), (name, first.ref)
        assert first.tableStyleInfo.name == "TableStyleMedium2"
        assert first.autoFilter is not None
        table_names.update(ws.tables.keys())
        # 总排名 prints its public columns on portrait pages (more rows a page); the wide lists landscape
        assert ws.page_setup.orientation == ("portrait" if name == "总排名" else "landscape"), name
        assert ws.page_setup.paperSize == 9, name  # A4
        # fitToWidth 1 is the file format's default and is left out of the XML.
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        if name != "分类汇总":  # two tables one under the other: no single header row to repeat
            assert ws.print_title_rows == "$3:$3", name
        assert "第 &P 页 共 &N 页" in ws.oddFooter.center.text
        assert not ws.print_options.gridLines
    assert wb["总排名"].freeze_panes == "D4"
    assert wb["得分明细"].freeze_panes == "D4"
    for name in ("扣分清单", "加分明细", "否决与预警", "数据质量", "评分标准与审计"):
        assert wb[name].freeze_panes == "A4", name
    assert wb["分类汇总"].freeze_panes is None
    assert len(table_names) == 9  # eight table sheets, two count tables on 分类汇总
    for name in ("公示预览", "评分标准原文"):
        assert wb[name].page_setup.paperSize == 9 and wb[name].oddFooter.center.text, name


def test_font_and_widths(wb):
    ws = wb["总排名"]
    assert ws["C4"].font.name == "等线"
    # CJK text counts double: the branch-name column is wider than the code column.
    assert ws.column_dimensions["C"].width > ws.column_dimensions["B"].width
    for name in wb.sheetnames:
        for letter, dim in wb[name].column_dimensions.items():
            if dim.width:
                assert 6 <= dim.width <= 100, (name, letter, dim.width)


def test_long_explanations_wrap_at_60(tmp_path):
    result = make_result()
    long_text = "支委会全年召开9次，应召开12次，每少一次扣0.5分，共扣1.5分；其中第三季度未召开会议，请在下一年度按月召开并做好记录。"
    result.indicators.loc[0, "explanation"] = long_text
    path = tmp_path / "long.xlsx"
    write_results(result, path)
    ws = openpyxl.load_workbook(path)["得分明细"]
    assert ws.column_dimensions["K"].width == pytest.approx(60, abs=1)
    assert ws["K4"].value == long_text and ws["K4"].alignment.wrap_text


def test_ranking_content(wb):
    data = rows(wb["总排名"])
    assert [r["支部编码"] for r in data] == ["B2", "B1", "B3"]
    assert [r["排名"] for r in data] == [1, 2, 3]
    assert data[0]["领导班子好"] == 18.5 and data[2]["工作业绩好"] == 8
    assert data[0]["总分"] == 40.5 and data[0]["评定等级"] == "四星"
    assert data[0]["等级说明"].startswith("五星名额已满")
    assert data[0]["自评差值"] == pytest.approx(1.5)
    assert data[1]["自评分"] is None and data[1]["自评差值"] is None
    # Veto names and flags together, each once.
    assert data[2]["否决与标记"] == "严重违纪违法；整顿候选；软弱涣散候选"
    assert data[1]["否决与标记"] == "软弱涣散候选"
    assert data[0]["否决与标记"] is None
    assert wb["总排名"]["K4"].number_format == "0.00"


def test_ranking_conditional_formats(wb):
    ws = wb["总排名"]
    ranges = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    assert ranges["L4:L6"] == ["cellIs", "cellIs", "cellIs"]  # 四星, 三星, 未评定 present
    assert ranges["K4:K6"] == ["dataBar"]
    detail = {str(cf.sqref): [r.type for r in cf.rules] for cf in wb["得分明细"].conditional_formatting}
    assert detail["J4:J15"] == ["cellIs"]


def test_detail_and_lost_list(wb):
    detail = rows(wb["得分明细"])
    assert len(detail) == 12
    assert [r["排名"] for r in detail] == [1] * 4 + [2] * 4 + [3] * 4
    na = [r for r in detail if r["支部编码"] == "B3" and r["指标"] == "村集体经济经营性收入"][0]
    assert na["满分"] == 0 and na["测量值"] is None and "不计入满分" in na["说明"]
    assert detail[0]["维度"] == "领导班子好"

    lost = rows(wb["扣分清单"])
    assert all(r["失分"] > 0 for r in lost)
    per_branch_detail: dict[str, float] = {}
    for r in detail:
        per_branch_detail[r["支部编码"]] = per_branch_detail.get(r["支部编码"], 0) + (r["失分"] or 0)
    per_branch_lost: dict[str, float] = {}
    for r in lost:
        per_branch_lost[r["支部编码"]] = per_branch_lost.get(r["支部编码"], 0) + r["失分"]
    for bid, total in per_branch_detail.items():
        assert per_branch_lost.get(bid, 0) == pytest.approx(total), bid
    # Rank order; within a branch the biggest loss first.
    assert [r["支部编码"] for r in lost] == ["B2", "B1", "B1", "B1", "B3", "B3", "B3"]
    assert [r["失分"] for r in lost if r["支部编码"] == "B3"] == [5, 4, 3]
    assert [r["指标"] for r in lost if r["支部编码"] == "B1"] == ["书记和支委培训学时", "村集体经济经营性收入", "支委会"]


def test_bonus_and_vetoes(wb):
    bonus = rows(wb["加分明细"])
    assert [(r["名称"], r["是否计分"], r["计入分值"]) for r in bonus] == [
        ("市级先进基层党组织", "是", 2),
        ("县级先进基层党组织", "否", 0),
    ]
    assert bonus[0]["支部名称"] == "红星村党支部"
    vetoes = rows(wb["否决与预警"])
    assert [(r["支部编码"], r["事项"], r["处理"]) for r in vetoes] == [
        ("B1", "软弱涣散候选", "标记"),
        ("B3", "严重违纪违法", "取消评星资格（只考核不评星）"),
        ("B3", "整顿候选", "标记"),
        ("B3", "软弱涣散候选", "标记"),
    ]
    assert vetoes[1]["类别"] == "否决事项" and vetoes[1]["说明"].startswith("发生严重违纪违法")


def test_audit_sheet(wb):
    ws = wb["评分标准与审计"]
    values = {r["项目"]: r["内容"] for r in table_by_header(ws, "项目")}
    assert list(values) == ["评分标准", "版本", "评分标准指纹(SHA-256)", "数据指纹(SHA-256)", "数据来源", "引擎版本",
                            "插件及版本", "运行命令", "生成时间", "考核年度"]
    assert values["评分标准指纹(SHA-256)"] == "a" * 64
    assert values["数据指纹(SHA-256)"] == "b" * 64
    assert values["插件及版本"] == "organization 0.1.0；dues 0.1.0"
    assert values["引擎版本"] == "0.1.0"
    assert values["运行命令"] == "scoring run data.xlsx -o results.xlsx"
    assert values["生成时间"] == "2026-01-10 09:30:00"
    assert values["考核年度"] == "2025"
    column_b = [c.value for c in ws["B"]]
    column_a = [c.value for c in ws["A"]]
    # The data-quality notes have their own sheet now.
    assert "数据质量说明" not in column_a and "位置" not in column_a
    assert not any(isinstance(v, str) and "2001-03-04" in v for v in column_b)
    # The rubric as a table (here from the rubric-less result: no rows); the TOML on the last sheet.
    assert 'id = "five_star"' not in column_b
    toml = [c.value for c in wb["评分标准原文"]["B"]]
    assert 'id = "five_star"' in toml and wb.sheetnames[-1] == "评分标准原文"


def test_data_quality_sheet(wb):
    notes = rows(wb["数据质量"])
    note = Problem("data.xlsx", "党员名册", 12, "出生日期", "日期「2001/3/4」已按 2001-03-04 读取")
    assert notes == [{"位置": note.location(), "文件": "data.xlsx", "工作表": "党员名册", "行": 12, "列": "出生日期",
                      "说明": "日期「2001/3/4」已按 2001-03-04 读取"}]
    # No lenient-mode exclusions were given: no second table.
    assert "因数据错误未评定的支部" not in [c.value for c in wb["数据质量"]["A"]]


def test_data_quality_lists_excluded_branches(tmp_path):
    result = make_result()
    result.meta.data_notes = result.meta.data_notes + ["合并工作簿时忽略了空白工作表「Sheet1」"]
    result.meta.excluded = pd.DataFrame(
        {"branch_id": ["B3"], "name": [""], "reasons": [["党员名册第5行「出生日期」无法识别", "党费交纳第9行「月份」格式错误"]]}
    )
    path = tmp_path / "excluded.xlsx"
    write_results(result, path)
    ws = openpyxl.load_workbook(path)["数据质量"]
    notes = rows(ws)
    assert [n["说明"] for n in notes] == ["日期「2001/3/4」已按 2001-03-04 读取", "合并工作簿时忽略了空白工作表「Sheet1」"]
    assert notes[1]["位置"] is None and notes[1]["行"] is None
    assert "因数据错误未评定的支部 1 个" in ws["A2"].value
    excluded = table_by_header(ws, "支部编码")
    assert excluded == [{"支部编码": "B3", "支部名称": "幸福社区党支部", "上级党组织": "河西街道党工委", "类别": "社区",
                         "评定等级": "未评定", "原因": "党员名册第5行「出生日期」无法识别；党费交纳第9行「月份」格式错误"}]
    assert to_json_dict(result)["excluded"] == [
        {"branch_id": "B3", "name": "", "reasons": ["党员名册第5行「出生日期」无法识别", "党费交纳第9行「月份」格式错误"]}
    ]


def test_empty_frames_and_missing_meta(tmp_path):
    result = make_result()
    result.bonus = empty_like(result.bonus)
    result.vetoes = empty_like(result.vetoes)
    result.branches = result.branches.assign(flags="")
    result.meta = RunMeta()
    path = tmp_path / "empty.xlsx"
    write_results(result, path)
    wb = openpyxl.load_workbook(path)
    for name in ("加分明细", "否决与预警", "数据质量"):
        ws = wb[name]
        assert header(ws)
        assert ws["A4"].value == "无"
        assert next(iter(ws.tables.values())).ref.endswith("4")
    audit = {r["项目"]: r["内容"] for r in table_by_header(wb["评分标准与审计"], "项目")}
    assert audit["评分标准指纹(SHA-256)"] is None
    # Dimensions still come from the dimensions frame when the meta lacks their names.
    assert "领导班子好" in header(wb["总排名"])


def test_grade_rubric_wording(tmp_path):
    result = make_result()
    result.meta = replace(result.meta, rating="grade")
    path = tmp_path / "grade.xlsx"
    write_results(result, path)
    vetoes = rows(openpyxl.load_workbook(path)["否决与预警"])
    assert vetoes[1]["处理"] == "取消定级资格（只考核不定级）"


# --------------------------------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_leaves_no_temp_file(tmp_path):
    path = tmp_path / "results.xlsx"
    write_results(make_result(), path)
    write_json(make_result(), tmp_path / "results.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.xlsx"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not the temp file's 0600


def test_failed_write_keeps_existing_target(tmp_path, monkeypatch):
    path = tmp_path / "results.xlsx"
    path.write_bytes(b"last year's workbook")

    def broken(sw, result):
        raise RuntimeError("boom")

    monkeypatch.setattr(xlsx, "_bonus_sheet", broken)
    with pytest.raises(RuntimeError, match="boom"):
        write_results(make_result(), path)
    assert path.read_bytes() == b"last year's workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["results.xlsx"]


def test_failed_close_keeps_existing_target(tmp_path, monkeypatch):
    path = tmp_path / "results.xlsx"
    path.write_bytes(b"old")

    def broken_close(self):
        raise OSError("disk full")

    monkeypatch.setattr(xlsx.xlsxwriter.Workbook, "close", broken_close)
    with pytest.raises(OSError, match="disk full"):
        write_results(make_result(), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.xlsx"]


def test_failed_json_write_keeps_existing_target(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    path.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("no space")))
    with pytest.raises(OSError):
        write_json(make_result(), path)
    assert path.read_text(encoding="utf-8") == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# --------------------------------------------------------------------------------------------------
# JSON


def test_json_contract():
    data = to_json_dict(make_result())
    assert set(data) >= {"rubric", "data_sha256", "branches"}
    assert data["rubric"] == {"id": "five_star", "name": "五星级党支部评定标准", "version": "2025.1", "sha256": "a" * 64}
    assert data["data_sha256"] == "b" * 64
    assert [b["branch_id"] for b in data["branches"]] == ["B2", "B1", "B3"]
    contract_branch = {"branch_id", "name", "category", "parent", "rank", "total", "stars", "grade",
                       "dimensions", "indicators", "bonus", "vetoes", "flags"}
    for branch in data["branches"]:
        assert set(branch) >= contract_branch
        for d in branch["dimensions"]:
            assert set(d) >= {"id", "name", "score", "max"}
        for i in branch["indicators"]:
            assert set(i) >= {"id", "dimension", "value", "points", "max", "explanation"}
        for b in branch["bonus"]:
            assert set(b) >= {"id", "points", "counted", "explanation"}
        for v in branch["vetoes"]:
            assert set(v) >= {"id", "effect", "explanation"}
        assert isinstance(branch["flags"], list)

    first, second, third = data["branches"]
    assert first["rank"] == 1 and first["stars"] == 4 and isinstance(first["stars"], int)
    assert first["grade"] is None
    assert third["stars"] is None  # the veto removed the rating
    assert [d["id"] for d in first["dimensions"]] == ["leadership", "performance"]
    assert [i["id"] for i in first["indicators"]] == ["committee", "training", "economy", "inspection"]
    economy = third["indicators"][2]
    assert economy["value"] is None and economy["max"] == 0 and economy["applicable"] is False
    assert first["indicators"][3]["target"] is None
    assert first["bonus"] == [
        {"id": "h1", "title": "市级先进基层党组织", "kind": "表彰", "level": "市级", "points": 2.0, "counted": True,
         "explanation": "市级表彰，计2分", "reason": "bonus.counted"},
        {"id": "h2", "title": "县级先进基层党组织", "kind": "表彰", "level": "县级", "points": 0.0, "counted": False,
         "explanation": "同一事项只计最高级别（市级），本项不计分", "reason": "bonus.lower_level"},
    ]
    assert third["vetoes"] == [{"id": "serious_violation", "name": "严重违纪违法", "effect": "no_rating",
                                "award_level": None, "explanation": "发生严重违纪违法事项1起，只考核不评星",
                                "reason": "veto.no_rating"}]
    assert all(b["warnings"] == [] for b in data["branches"])
    assert "previous" not in first and "gone" not in data  # no previous results given
    assert first["flags"] == [] and second["flags"] == ["软弱涣散候选"]
    assert third["flags"] == ["整顿候选", "软弱涣散候选"]
    assert second["self_score"] is None and first["quota_note"].startswith("五星名额已满")
    assert first["bonus_total"] == 2.0 and first["level"] == "四星"
    assert data["year"] == 2025


def test_json_rounding_and_file(tmp_path):
    result = make_result()
    result.branches = result.branches.assign(total=[40.500000001, 33.123456789, 20.0])
    path = tmp_path / "out.json"
    write_json(result, path)
    text = path.read_text(encoding="utf-8")
    assert "红星村党支部" in text  # ensure_ascii=False
    assert "\n  " in text  # indent=2
    assert "NaN" not in text
    data = json.loads(text)
    assert data["branches"][0]["total"] == 40.5
    assert data["branches"][1]["total"] == 33.1235
    # Deterministic: the same result serializes to the same bytes.
    write_json(result, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == text


def test_json_without_optional_frames():
    result = make_result()
    result.bonus = pd.DataFrame(columns=result.bonus.columns)
    result.vetoes = pd.DataFrame(columns=result.vetoes.columns)
    result.meta = RunMeta()
    data = to_json_dict(result)
    assert data["rubric"] == {"id": None, "name": None, "version": None, "sha256": None}
    assert all(b["bonus"] == [] and b["vetoes"] == [] for b in data["branches"])
    json.dumps(data, allow_nan=False)


# --------------------------------------------------------------------------------------------------
# 分类汇总


def count_tables(path: Path) -> dict[str, tuple[list[dict], dict]]:
    """The two count tables of 分类汇总 (rows, 合计 row) keyed by their first header, cached values read."""
    ws = openpyxl.load_workbook(path, data_only=True)["分类汇总"]
    out = {}
    for first in ("上级党组织", "类别"):
        at = find_row(ws, first)
        names = header(ws, at)
        data = rows(ws, at)
        total_row = at + len(data) + 1
        totals = dict(zip(names, [c.value for c in ws[total_row]][: len(names)]))
        out[first] = (data, totals)
    return out


def assert_counts_match_ranking(path: Path) -> None:
    ranking = pd.DataFrame(rows(openpyxl.load_workbook(path)["总排名"]))
    tables = count_tables(path)
    for first, key in (("上级党组织", "上级党组织"), ("类别", "类别")):
        data, totals = tables[first]
        counted = pd.DataFrame(data).set_index(first).drop(columns="合计")
        expected = pd.crosstab(ranking[key], ranking["评定等级"]).reindex(index=counted.index, columns=counted.columns,
                                                                         fill_value=0)
        assert (counted.to_numpy() == expected.to_numpy()).all(), first
        assert set(counted.index) == set(ranking[key])  # every township / category has its row
        assert [r["合计"] for r in data] == counted.sum(axis=1).tolist()
        assert totals[first] == "合计"
        assert totals["合计"] == len(ranking)
        for level in counted.columns:
            assert totals[level] == int((ranking["评定等级"] == level).sum()), (first, level)


def test_summary_counts_match_ranking(workbook_path):
    assert_counts_match_ranking(workbook_path)
    data, totals = count_tables(workbook_path)["上级党组织"]
    assert [r["上级党组织"] for r in data] == ["城关镇党委", "河西街道党工委"]
    assert data[0] == {"上级党组织": "城关镇党委", "四星": 1, "三星": 1, "未评定": 0, "合计": 2}
    assert totals == {"上级党组织": "合计", "四星": 1, "三星": 1, "未评定": 1, "合计": 3}


def test_summary_total_row_is_a_filter_aware_formula(wb):
    ws = wb["分类汇总"]
    at = find_row(ws, "上级党组织")
    total = ws.cell(row=at + 3, column=5).value  # two townships, then the 合计 row; column E is 合计
    assert total == f"=SUBTOTAL(109,E{at + 1}:E{at + 2})"
    table = ws.tables["按上级党组织汇总表"]
    assert table.totalsRowCount == 1 and table.ref == f"A{at}:E{at + 3}"


def test_summary_chart(workbook_path):
    import zipfile

    with zipfile.ZipFile(workbook_path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode("utf-8")
    assert "各类别支部评定等级分布" in xml
    assert '<c:grouping val="stacked"/>' in xml
    # One series per level present (四星, 三星, 未评定), plus the invisible series carrying the totals.
    assert xml.count("<c:ser>") == 4
    assert "<c:f>分类汇总!$A$" in xml  # categories: the category names of the second table


# --------------------------------------------------------------------------------------------------
# Warnings, per-dimension stars


def test_warnings_are_listed_with_vetoes(tmp_path):
    result = make_result()
    result.warnings = pd.DataFrame(
        {"branch_id": ["B3", "B2"], "warning": [None, None], "name": ["党员平均年龄偏高", "无入党积极分子"],
         "explanation": ["党员平均年龄62.5岁，达到60岁", "本年度没有入党积极分子"], "order": [0, 1]}
    )
    path = tmp_path / "warnings.xlsx"
    write_results(result, path)
    vetoes = rows(openpyxl.load_workbook(path)["否决与预警"])
    assert [(r["支部编码"], r["类别"], r["事项"]) for r in vetoes] == [
        ("B2", "预警提示", "无入党积极分子"),
        ("B1", "预警标记", "软弱涣散候选"),
        ("B3", "否决事项", "严重违纪违法"),
        ("B3", "预警标记", "整顿候选"),
        ("B3", "预警标记", "软弱涣散候选"),
        ("B3", "预警提示", "党员平均年龄偏高"),
    ]
    assert vetoes[0]["处理"] == "提醒关注" and vetoes[0]["说明"] == "本年度没有入党积极分子"
    data = to_json_dict(result)
    assert data["branches"][2]["warnings"] == [{"id": None, "name": "党员平均年龄偏高", "explanation": "党员平均年龄62.5岁，达到60岁"}]


def test_per_dimension_stars_are_marked(tmp_path):
    result = make_result()
    result.dimensions = result.dimensions.assign(star=result.dimensions["score"] >= 0.85 * result.dimensions["max"])
    result.branches = result.branches.assign(stars_earned=[2, 1, 0])
    path = tmp_path / "per_dimension.xlsx"
    write_results(result, path)
    ws = openpyxl.load_workbook(path)["总排名"]
    names = header(ws)
    assert names[5:8] == ["领导班子好", "工作业绩好", "获星数"]
    assert [r["获星数"] for r in rows(ws)] == [2, 1, 0]
    # B2: 18.5/20 and 20/20 earned their stars; B1: only 18/20 (工作业绩好); B3: none.
    starred = [[xlsx.STAR_MARK in ws.cell(row=r, column=c).number_format for c in (6, 7)] for r in (4, 5, 6)]
    assert starred == [[True, True], [False, True], [False, False]]
    assert ws["F4"].font.b and not ws["F5"].font.b
    assert "★" in ws["A2"].value  # the note explains the mark
    assert to_json_dict(result)["branches"][0]["dimensions"][0]["star"] is True


# --------------------------------------------------------------------------------------------------
# Year over year


def previous_json(path: Path) -> Path:
    """Last year: B1 first with four stars, B9 (gone this year) second, B2 third with three stars; B3 is
    new this year."""
    path.write_text(json.dumps({
        "rubric": {"id": "five_star", "name": "五星级党支部评定标准", "version": "2024.1", "sha256": "c" * 64},
        "data_sha256": "d" * 64,
        "branches": [
            {"branch_id": "B1", "name": "东风村党支部委员会", "rank": 1, "total": 85.0, "stars": 4, "grade": None, "level": "四星"},
            {"branch_id": "B9", "name": "老街村党支部", "rank": 2, "total": 78.5, "stars": 3, "grade": None, "level": "三星"},
            {"branch_id": "B2", "name": "红星村党支部", "rank": 3, "total": 72.0, "stars": 3, "grade": None, "level": "三星"},
        ],
    }, ensure_ascii=False), encoding="utf-8")
    return path


def test_previous_year_columns_and_changes(tmp_path):
    result = attach(make_result(), load_previous(previous_json(tmp_path / "last.json")))
    path = tmp_path / "yoy.xlsx"
    write_results(result, path)
    wb = openpyxl.load_workbook(path)
    assert header(wb["总排名"]) == RANKING_HEADERS  # last year's columns are on their own sheet
    assert wb.sheetnames.index("与上年比较") == wb.sheetnames.index("公示预览") + 1
    ws = wb["与上年比较"]
    assert header(ws) == ["排名", "支部编码", "支部名称", "上级党组织", "总分", "评定等级", "上年排名", "上年总分",
                          "上年等级", "升降", "排名变化"]
    got = [(r["支部编码"], r["上年等级"], r["上年排名"], r["升降"], r["排名变化"]) for r in rows(ws)]
    assert got == [
        ("B2", "三星", 3, "升星", 2),  # 三星 -> 四星, rank 3 -> 1
        ("B1", "四星", 1, "降星", -1),  # 四星 -> 三星, rank 1 -> 2
        ("B3", None, None, "新参评", None),
    ]
    change_col = header(ws).index("排名变化") + 1
    assert ws.cell(row=4, column=change_col).number_format == "+0;-0;0"
    rules = {str(cf.sqref): [r.formula for r in cf.rules] for cf in ws.conditional_formatting}
    change_letter = openpyxl.utils.get_column_letter(header(ws).index("升降") + 1)
    assert rules[f"{change_letter}4:{change_letter}6"] == [['"升星"'], ['"升级"'], ['"降星"'], ['"降级"']]

    # The branch that took part last year and is missing now has its own list, not among the vetoes.
    assert "B9" not in [r["支部编码"] for r in rows(wb["否决与预警"])]
    gone = table_by_header(ws, "支部编码")
    assert [(r["支部编码"], r["支部名称"], r["上年排名"], r["上年总分"], r["上年等级"]) for r in gone] == [
        ("B9", "老街村党支部", 2, 78.5, "三星")]
    assert "升星 1 个" in wb["分类汇总"]["A2"].value and "未参评 1 个" in wb["分类汇总"]["A2"].value

    data = to_json_dict(result)
    assert [b["previous"] for b in data["branches"]] == [
        {"rank": 3, "total": 72.0, "level": "三星", "change": "升星", "rank_change": 2},
        {"rank": 1, "total": 85.0, "level": "四星", "change": "降星", "rank_change": -1},
        {"rank": None, "total": None, "level": None, "change": "新参评", "rank_change": None},
    ]
    assert data["gone"] == [{"branch_id": "B9", "name": "老街村党支部", "rank": 2, "total": 78.5, "level": "三星"}]
    json.dumps(data, allow_nan=False)


def test_previous_unrated_counts_below_one_star(tmp_path):
    """Last year's 未评定 (stars null) against this year's three stars is a move up; a veto that removes
    this year's rating after four stars is a move down."""
    last = tmp_path / "last.json"
    last.write_text(json.dumps({"branches": [
        {"branch_id": "B1", "rank": 3, "total": 50.0, "stars": None, "grade": None, "level": "不评星"},
        {"branch_id": "B3", "rank": 1, "total": 88.0, "stars": 4, "grade": None},
        {"branch_id": "B2", "rank": 2, "total": 80.0, "stars": 4, "grade": None},
    ]}, ensure_ascii=False), encoding="utf-8")
    table = compare(make_result(), load_previous(last))
    assert table["升降"].tolist() == ["持平", "升星", "降星"]
    assert table["上年等级"].tolist() == ["四星", "不评星", "四星"]  # "四星" made from stars when "level" is absent
    # Only the contract's keys: stars and grade null means not rated.
    last.write_text(json.dumps({"branches": [{"branch_id": "B1", "rank": 1, "total": 55.0, "stars": None, "grade": None}]}),
                    encoding="utf-8")
    table = compare(make_result(), load_previous(last))
    assert table["升降"].tolist() == ["新参评", "升星", "新参评"]
    assert table["上年等级"].tolist() == [None, None, None]


def grade_result() -> Result:
    levels = [SimpleNamespace(label=label, stars=None) for label in ("好", "较好", "一般", "较差")]
    rubric = SimpleNamespace(grading=SimpleNamespace(levels=levels, unrated_label="不定级", rates_stars=False),
                             ranking=SimpleNamespace(scope="county"))
    branches = pd.DataFrame({
        "branch_id": ["G1", "G2", "G3", "G4", "G5", "G6"],
        "rank": [1, 2, 3, 4, 5, 6],
        "level": ["好", "一般", "较差", "较好", "较好", "不定级"],
        "stars": pd.array([pd.NA] * 6, dtype="Int64"),
        "rated": [True, True, True, True, True, False],
    })
    empty = pd.DataFrame()
    return Result(rubric, branches, empty, empty, empty, empty, meta=RunMeta())


def test_compare_grade_rubric():
    previous = pd.DataFrame({
        "branch_id": ["G1", "G2", "G3", "G4", "G6", "G7"],
        "name": [None] * 6,
        "rank": pd.array([3, 2, 1, 5, 4, 6], dtype="Int64"),
        "total": [80.0, 85.0, 90.0, 60.0, 70.0, 50.0],
        "stars": pd.array([pd.NA] * 6, dtype="Int64"),
        "grade": ["较好", "一般", "好", "优秀", "较差", "较差"],
        "level": ["较好", "一般", "好", "优秀", "较差", "较差"],
    })
    result = grade_result()
    table = compare(result, previous)
    assert table["branch_id"].tolist() == ["G1", "G2", "G3", "G4", "G5", "G6"]
    # 优秀 is not one of this year's levels; G5 is new; G6 lost its rating (不定级 is below 较差).
    assert table["升降"].tolist() == ["升级", "持平", "降级", "等级不可比", "新参评", "降级"]
    assert table["排名变化"].tolist() == [2, 0, -2, 1, pd.NA, -2]
    assert gone(result, previous)["branch_id"].tolist() == ["G7"]


# --------------------------------------------------------------------------------------------------
# Real runs: fingerprints, lost points, counts, reading our own output back


def audit_values(path: Path) -> dict:
    return {r["项目"]: r["内容"] for r in table_by_header(openpyxl.load_workbook(path)["评分标准与审计"], "项目")}


@pytest.fixture(scope="module")
def county_runs(tmp_path_factory) -> dict:
    """A 12-branch sample county run twice, re-saved unchanged and run, and with one cell changed and run."""
    base = tmp_path_factory.mktemp("county")
    data = base / "county.xlsx"
    write_dataset(generate_county(12, seed=2025, year=2025), data, "xlsx")
    resaved = base / "resaved.xlsx"
    book = openpyxl.load_workbook(data)
    book.save(resaved)
    changed = base / "changed.xlsx"
    ws = book["支部信息"]
    column = [c.value for c in ws[1]].index("书记") + 1
    ws.cell(row=2, column=column).value = str(ws.cell(row=2, column=column).value) + "华"
    book.save(changed)

    results = base / "results"
    results.mkdir()
    out = {}
    for name, source in (("first", data), ("changed", changed)):
        target = results / f"{name}.xlsx"
        assert main(["run", str(source), "-o", str(target), "--json", str(results / f"{name}.json"), "-q"]) == 0
        out[name] = target
    out["json"] = results / "first.json"
    out["data"], out["resaved"], out["changed_data"] = data, resaved, changed
    return out


def test_data_fingerprint_follows_the_data(county_runs):
    from scoring.engine import load, read_for

    first, changed = audit_values(county_runs["first"]), audit_values(county_runs["changed"])
    rubric, registry, _ = load(None)

    def fingerprint(path):  # what a run records, read again from the file
        return read_for([path], (rubric, registry), year=rubric.year).sha256()

    assert len(first["数据指纹(SHA-256)"]) == 64
    assert fingerprint(county_runs["data"]) == first["数据指纹(SHA-256)"]  # the same file read again
    assert fingerprint(county_runs["resaved"]) == first["数据指纹(SHA-256)"]  # same cells in a re-saved file
    assert changed["数据指纹(SHA-256)"] != first["数据指纹(SHA-256)"]  # one secretary's name changed
    assert fingerprint(county_runs["changed_data"]) == changed["数据指纹(SHA-256)"]
    assert changed["评分标准指纹(SHA-256)"] == first["评分标准指纹(SHA-256)"]
    assert len(first["评分标准指纹(SHA-256)"]) == 64
    assert first["引擎版本"] and first["插件及版本"] and first["生成时间"]
    assert first["运行命令"].startswith("scoring ")
    payload = json.loads(county_runs["json"].read_text(encoding="utf-8"))
    assert payload["data_sha256"] == first["数据指纹(SHA-256)"]


def test_real_run_sheets_and_headers(county_runs):
    wb = openpyxl.load_workbook(county_runs["first"])
    assert wb.sheetnames == SHEETS
    assert header(wb["总排名"])[:5] == ["排名", "支部编码", "支部名称", "上级党组织", "类别"]
    assert header(wb["总排名"])[-6:] == ["总分", "评定等级", "否决与标记", "等级说明", "自评分", "自评差值"]
    levels = ["五星", "四星", "三星", "二星", "一星", "不评星"]  # the rubric's order and its unrated label
    assert header(wb["分类汇总"]) == ["上级党组织", *levels, "合计"]
    for name in TABLE_SHEETS:
        assert header(wb[name]), name


def test_real_run_lost_list_sums_to_detail(county_runs):
    wb = openpyxl.load_workbook(county_runs["first"])
    detail = pd.DataFrame(rows(wb["得分明细"]))
    lost = pd.DataFrame(rows(wb["扣分清单"]))
    expected = detail.groupby("支部编码")["失分"].sum()
    expected = expected[expected > 0]
    got = lost.groupby("支部编码")["失分"].sum().reindex(expected.index)
    assert len(lost) and (lost["失分"] > 0).all()
    assert np.allclose(got.to_numpy(), expected.to_numpy(), atol=0.02)
    assert set(lost["支部编码"]) == set(expected.index)


def test_real_run_counts_match_ranking(county_runs):
    assert_counts_match_ranking(county_runs["first"])


def test_load_previous_round_trip(county_runs):
    from_json = load_previous(county_runs["json"])
    from_book = load_previous(county_runs["first"])
    ranking = pd.DataFrame(rows(openpyxl.load_workbook(county_runs["first"])["总排名"]))
    assert len(from_json) == len(from_book) == len(ranking) == 12
    for frame in (from_json, from_book):
        assert frame["branch_id"].tolist() == ranking["支部编码"].tolist()
        assert frame["rank"].tolist() == ranking["排名"].tolist()
        assert np.allclose(frame["total"].to_numpy(dtype=float), ranking["总分"].to_numpy(dtype=float))
        assert frame["level"].tolist() == ranking["评定等级"].tolist()
        assert frame["name"].tolist() == ranking["支部名称"].tolist()
    rated = from_json["stars"].notna()
    assert (from_json.loc[rated, "level"].str.endswith("星")).all()


def test_comparing_a_run_with_itself(county_runs, tmp_path):
    """Last year's result = this year's: every branch 持平 with rank change 0, nobody new or gone."""
    from scoring.engine import build_meta, load, read_for, score

    rubric, registry, _ = load(None)
    data = read_for([county_runs["data"]], (rubric, registry))
    result = score(rubric, registry, data, rubric.year, build_meta(rubric, registry, data, rubric.year, "test"))
    for source in (county_runs["json"], county_runs["first"]):
        attach(result, load_previous(source))
        assert (result.meta.previous["升降"] == "持平").all(), source
        assert (result.meta.previous["排名变化"] == 0).all(), source
        assert result.meta.gone.empty
    path = tmp_path / "again.xlsx"
    write_results(result, path)
    again = pd.DataFrame(rows(openpyxl.load_workbook(path)["与上年比较"]))
    assert (again["升降"] == "持平").all() and (again["上年等级"] == again["评定等级"]).all()


def test_load_previous_errors(county_runs, tmp_path):
    missing = tmp_path / "nowhere.json"
    broken = tmp_path / "broken.json"
    broken.write_text('{"branches": [', encoding="utf-8")
    no_branches = tmp_path / "other.json"
    no_branches.write_text('{"rows": []}', encoding="utf-8")
    duplicated = tmp_path / "dup.json"
    duplicated.write_text(json.dumps({"branches": [{"branch_id": "B1", "rank": 1, "total": 90},
                                                   {"branch_id": "B1", "rank": 2, "total": 80}]}), encoding="utf-8")
    bad_rank = tmp_path / "rank.json"
    bad_rank.write_text(json.dumps({"branches": [{"branch_id": "B1", "rank": "第一", "total": 90}]}), encoding="utf-8")
    no_rank = tmp_path / "norank.json"
    no_rank.write_text(json.dumps({"branches": [{"branch_id": "B1", "total": 90}]}), encoding="utf-8")
    text = tmp_path / "last.txt"
    text.write_text("B1", encoding="utf-8")
    far = tmp_path / "far.xlsx"  # its 总排名 reaching XFD1048576: calamine would abort the process
    with zipfile.ZipFile(county_runs["first"]) as z:
        ranking_part = {v: k for k, v in limits._sheet_parts(z).items()}["总排名"]
        parts = {n: z.read(n) for n in z.namelist()}
    parts[ranking_part] = parts[ranking_part].replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    with zipfile.ZipFile(far, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    cases = {
        far: "工作表「总排名」的已用区域为 A1:XFD1048576",
        missing: "找不到上年结果文件",
        broken: "不是有效的 JSON",
        no_branches: "缺少「branches」",
        duplicated: "支部编码重复：B1",
        bad_rank: "第1个支部的「排名」不是数字",
        no_rank: "缺少字段：rank",
        text: "应为本系统输出的 JSON 文件",
        county_runs["data"]: "没有「总排名」工作表",  # the input data, not a results workbook
    }
    for path, message in cases.items():
        with pytest.raises(UsageError) as info:
            load_previous(path)
        assert message in str(info.value) and str(path) in str(info.value), path


def test_flags_without_any_veto_sentence(small_county):
    """A part of a split run (or a county) whose only flag comes from the bottom-share rule, with no
    veto fired: 否决与预警 lists the flag with the rank behind it."""
    from dataclasses import replace

    from scoring.engine import build_meta, load, score
    from scoring.output.xlsx import veto_frame

    rubric, registry, _ = load(None)
    result = score(rubric, registry, small_county, 2025, build_meta(rubric, registry, small_county, 2025, "test"))
    b = result.branches
    last = b["rank"].astype(int).idxmax()
    flagged = b.assign(flags=["整顿候选" if i == last else "" for i in b.index])
    frame, _ = veto_frame(replace(result, branches=flagged, vetoes=result.vetoes.iloc[0:0]))
    rows = frame[frame["事项"] == "整顿候选"]
    assert rows["支部编码"].tolist() == [b.loc[last, "branch_id"]]


# Display width: each character of the ranges below (East Asian wide: CJK, kana, hangul, full-width
# forms) takes two units of Excel's column width, every other character one.
_WIDE_RANGES = [(0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFF60),
                (0xFFE0, 0xFFE6)]


def _units_by_hand(text: str) -> int:
    return sum(_char_units(ch) for ch in text)


@functools.lru_cache(maxsize=None)
def _char_units(ch: str) -> int:
    return 2 if any(a <= ord(ch) <= b for a, b in _WIDE_RANGES) else 1


def test_display_units_count_wide_characters_twice_at_every_length():
    from hypothesis import given, settings, strategies as st

    # the edges of the ranges, characters just outside them, narrow non-ASCII (dashes, quotes, accents),
    # beyond the BMP, line breaks; lengths from empty to past the block of short strings
    edges = "".join(chr(c) for a, b in _WIDE_RANGES for c in (a - 1, a, b, b + 1))
    alphabet = st.sampled_from(list(edges + "ab 1党支部，（）—“”…、é\n\U0001F600"))
    repeated = st.builds(lambda t, k: t * k, st.text(alphabet, min_size=1, max_size=8), st.integers(100, 700))
    texts = st.lists(st.text(alphabet, max_size=40) | repeated, max_size=20)

    @settings(max_examples=40, deadline=None)
    @given(texts)
    def check(values):
        got = xlsx._display_units(pd.Series(values, dtype=object))
        assert got.tolist() == [_units_by_hand(v) for v in values]

    check()
    got = xlsx._display_units(pd.Series(["党a", None, "x" * 5000 + "党"], dtype=object, index=[3, 4, 5]))
    assert got.index.tolist() == [3, 4, 5]
    assert got.iloc[0] == 3 and np.isnan(got.iloc[1]) and got.iloc[2] == 5002


def test_joined_notes_keep_the_order_of_the_parts_and_skip_blanks():
    quota = pd.Series(["五星名额已满", None, " ", "", "名额线并列"], index=[10, 11, 12, 13, 14], dtype=object)
    requires = pd.Series(["须无否决", "须无否决 ", None, "", np.nan], index=[10, 11, 12, 13, 14], dtype=object)
    tie = pd.Series(["", "并列", "并列", "", "同分"], index=[10, 11, 12, 13, 14], dtype=object)
    got = xlsx._joined_notes(quota, requires, tie)
    assert got.index.tolist() == [10, 11, 12, 13, 14]
    assert got.tolist() == ["五星名额已满；须无否决", "须无否决；并列", "并列", "", "名额线并列；同分"]
