"""Tests of the result writers: the Excel workbook (scoring.output.xlsx) and the JSON contract (jsonout)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from scoring.errors import Problem
from scoring.output import jsonout, xlsx
from scoring.output.jsonout import to_json_dict, write_json
from scoring.output.xlsx import write_results
from scoring.result import Result

TITLE = "示例县2025年度党支部考核结果"

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
            "explanation": ["发生严重违纪违法事项1起，只考核不评星"],
        }
    )
    meta = {
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
    }
    return Result(None, branches, dimensions, indicators, bonus, vetoes, meta)


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


def header(ws) -> list[str]:
    return [c.value for c in ws[3] if c.value is not None]


def rows(ws) -> list[dict]:
    """Data rows of the sheet's first table as dicts keyed by header."""
    names = header(ws)
    out = []
    for values in ws.iter_rows(min_row=4, max_col=len(names), values_only=True):
        if all(v is None for v in values):
            break
        out.append(dict(zip(names, values)))
    return out


# --------------------------------------------------------------------------------------------------
# Workbook


def test_sheet_names_and_order(wb):
    assert wb.sheetnames == ["总排名", "得分明细", "扣分清单", "加分明细", "否决与预警", "评分标准与审计"]


def test_headers(wb):
    assert header(wb["总排名"]) == [
        "排名", "支部编码", "支部名称", "上级党组织(乡镇)", "类别", "领导班子好", "工作业绩好",
        "基础得分", "加分", "扣减", "总分", "评定等级", "否决与标记", "名额调整", "自评分", "自评差值",
    ]
    assert header(wb["得分明细"]) == ["排名", "支部编码", "支部名称", "维度", "指标", "测量值", "目标", "得分", "满分", "失分", "说明"]
    assert header(wb["扣分清单"]) == ["排名", "支部编码", "支部名称", "指标", "失分", "说明"]
    assert header(wb["加分明细"]) == ["支部编码", "支部名称", "名称", "类型", "级别", "是否计分", "计入分值", "说明"]
    assert header(wb["否决与预警"]) == ["支部编码", "支部名称", "类别", "事项", "处理", "说明"]
    assert header(wb["评分标准与审计"]) == ["项目", "内容"]


def test_title_row_and_note(wb):
    for name in wb.sheetnames:
        ws = wb[name]
        title = ws["A1"].value
        assert title.startswith(TITLE + " — "), name
        assert ws["A1"].font.b and ws["A1"].font.sz == 16
        assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges), name
        assert ws["A2"].value  # the one-line note under the title
    assert wb["总排名"]["A1"].value == f"{TITLE} — 总排名"


def test_tables_freeze_and_print_setup(wb):
    table_names = set()
    for name in wb.sheetnames:
        ws = wb[name]
        assert ws.tables, name
        first = next(iter(ws.tables.values()))
        assert first.ref.startswith("A3:"), (name, first.ref)
        assert first.tableStyleInfo.name == "TableStyleMedium2"
        assert first.autoFilter is not None
        table_names.update(ws.tables.keys())
        assert ws.page_setup.orientation == "landscape", name
        assert ws.page_setup.paperSize == 9, name  # A4
        # fitToWidth 1 is the file format's default and is left out of the XML.
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$3:$3", name
        assert "第 &P 页 共 &N 页" in ws.oddFooter.center.text
        assert not ws.print_options.gridLines
    assert wb["总排名"].freeze_panes == "D4"
    assert wb["得分明细"].freeze_panes == "D4"
    for name in ("扣分清单", "加分明细", "否决与预警", "评分标准与审计"):
        assert wb[name].freeze_panes == "A4", name
    assert len(table_names) == 7  # six sheets plus the data-quality table on the audit sheet


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
    assert data[0]["名额调整"].startswith("五星名额已满")
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
    values = {r["项目"]: r["内容"] for r in rows(ws)}
    assert list(values) == ["评分标准", "版本", "评分标准指纹(SHA-256)", "数据指纹(SHA-256)", "引擎版本", "插件及版本",
                            "运行命令", "生成时间", "考核年度"]
    assert values["评分标准指纹(SHA-256)"] == "a" * 64
    assert values["插件及版本"] == "organization 0.1.0；dues 0.1.0"
    assert values["考核年度"] == "2025"
    column_b = [c.value for c in ws["B"]]
    column_a = [c.value for c in ws["A"]]
    assert "数据质量说明" in column_a and "位置" in column_a
    assert any(isinstance(v, str) and "2001-03-04" in v for v in column_b)
    assert 'id = "five_star"' in column_b
    assert "评分标准原文（TOML）" in column_a


def test_empty_frames_and_missing_meta(tmp_path):
    result = make_result()
    result.bonus = empty_like(result.bonus)
    result.vetoes = empty_like(result.vetoes)
    result.branches = result.branches.assign(flags="")
    result.meta = {}
    path = tmp_path / "empty.xlsx"
    write_results(result, path)
    wb = openpyxl.load_workbook(path)
    for name in ("加分明细", "否决与预警"):
        ws = wb[name]
        assert header(ws)
        assert ws["A4"].value == "无"
        assert next(iter(ws.tables.values())).ref.endswith("4")
    audit = {r["项目"]: r["内容"] for r in rows(wb["评分标准与审计"])}
    assert audit["评分标准指纹(SHA-256)"] is None
    # Dimensions still come from the dimensions frame when the meta lacks their names.
    assert "领导班子好" in header(wb["总排名"])


def test_grade_rubric_wording(tmp_path):
    result = make_result()
    result.meta = {**result.meta, "rating": "grade"}
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
    monkeypatch.setattr(jsonout.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("no space")))
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
         "explanation": "市级表彰，计2分"},
        {"id": "h2", "title": "县级先进基层党组织", "kind": "表彰", "level": "县级", "points": 0.0, "counted": False,
         "explanation": "同一事项只计最高级别（市级），本项不计分"},
    ]
    assert third["vetoes"] == [{"id": "serious_violation", "name": "严重违纪违法", "effect": "no_rating",
                                "explanation": "发生严重违纪违法事项1起，只考核不评星"}]
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
    result.meta = {}
    data = to_json_dict(result)
    assert data["rubric"] == {"id": None, "name": None, "version": None, "sha256": None}
    assert all(b["bonus"] == [] and b["vetoes"] == [] for b in data["branches"])
    json.dumps(data, allow_nan=False)
