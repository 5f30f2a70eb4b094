"""The data-collection template (scoring template): sheets, headers, validations, the 填表说明 sheet,
reading it back, and the round trip county -> one template per branch -> the same scores."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hardening_util import cli
from openpyxl.utils import range_boundaries

from scoring.commands.template import main_template
from scoring.engine import load, needed_tables, score
from scoring.errors import UsageError
from scoring.evaluator import measure_requests
from scoring.output import template as tpl_module
from scoring.output.template import (
    GUIDE_SHEET,
    LIST_SHEET,
    fill_template,
    header_text,
    rule_text,
    template_layout,
    write_template,
)
from scoring.reader import read_dataset
from scoring.registry import make_registry
from scoring.rubric import Indicator
from scoring.sample import generate_county, write_dataset

BUILTIN_TABLES = tuple(make_registry().tables.values())  # the plugins' tables in registration order



@pytest.fixture(scope="module")
def five_star():
    return load(None)


@pytest.fixture(scope="module")
def template(five_star, tmp_path_factory):
    rubric, reg, _ = five_star
    path = tmp_path_factory.mktemp("template") / "模板.xlsx"
    write_template(rubric, reg, path)
    return path


@pytest.fixture(scope="module")
def county():
    return generate_county(40, seed=7, year=2025)


def _validations(ws) -> list[tuple[object, tuple[int, int, int, int]]]:
    """(validation, (min_col, min_row, max_col, max_row)) for every range of every validation."""
    out = []
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out.append((dv, range_boundaries(rng)))
    return out


def _column_validation(ws, col: int):
    """The validation covering the data cells (row 2 down to at least row 5000) of a column."""
    found = [dv for dv, (c1, r1, c2, r2) in _validations(ws) if c1 <= col <= c2 and r1 <= 2 and r2 >= 5000]
    assert len(found) == 1, (ws.title, col, found)
    return found[0]


def _column_format(ws, col: int) -> str:
    """The number format of a column (xlsxwriter writes adjacent alike columns as one <col> range)."""
    found = [d.number_format for d in ws.column_dimensions.values() if d.min <= col <= d.max]
    assert len(found) == 1, (ws.title, col)
    return found[0]


# --------------------------------------------------------------------------------------------------
# 1. the template of the default rubric


def test_default_template_has_exactly_the_needed_sheets_in_order(five_star, template):
    rubric, reg, _ = five_star
    needed = needed_tables(rubric, reg)
    wb = openpyxl.load_workbook(template)
    expected = [t.sheet for t in BUILTIN_TABLES if t.id in needed]
    assert wb.sheetnames == [GUIDE_SHEET, *expected]
    assert wb.active.title == GUIDE_SHEET
    assert LIST_SHEET not in wb.sheetnames  # every built-in list fits inline


def test_headers_hold_required_and_measure_columns_marked_with_a_star(five_star, template):
    rubric, reg, _ = five_star
    wb = openpyxl.load_workbook(template)
    layouts = {lay.table.id: lay for lay in template_layout(rubric, reg)}
    for lay in layouts.values():
        spec = lay.table
        ws = wb[spec.sheet]
        headers = [c.value for c in ws[1]]
        assert headers == [header_text(c) for c in lay.columns]
        ids = [c.id for c in lay.columns]
        assert ids == [c for c in spec.column_ids if c in ids]  # spec order
        for c in spec.columns:
            if c.required or c.id in spec.key or c.id in {fk.column for fk in spec.foreign_keys}:
                assert c.id in ids, (spec.sheet, c.header)
        for h, c in zip(headers, lay.columns):
            assert h.endswith("*") == c.required
        assert ws.max_row == 1, f"{spec.sheet}: an unfilled template has no data rows"
        assert ws.freeze_panes == "A2"
        head = ws["A1"]
        assert head.font.b and head.alignment.wrap_text and head.border.bottom.style == "thin"
        assert head.fill.fgColor.rgb.endswith(("BDD7EE", "FCE4D6"))
    # spelled out for two sheets: optional columns no measure reads (主题, 书记, 支委人数) stay out
    assert [c.value for c in wb["支部信息"][1]] == ["支部编码*", "支部名称*", "类别*", "上级党组织*", "上次换届日期*",
                                                 "任期(年)", "自评分"]
    assert [c.value for c in wb["组织生活记录"][1]] == ["支部编码*", "日期*", "类型*", "应到人数*", "实到人数*"]
    # every column a measure of the rubric reads is there
    for mid, _ in measure_requests(rubric).values():
        for tid, cols in reg.measures[mid].inputs.items():
            assert set(cols) <= {c.id for c in layouts[tid].columns}, (mid, tid)
    # optional columns no measure reads stay out; the self-score the results compare stays in
    assert "gender" not in {c.id for c in layouts["members"].columns}
    assert "self_score" in {c.id for c in layouts["branches"].columns}
    # the committee's sheets are marked
    assert wb["现场检查评分"].sheet_properties.tabColor is not None
    assert wb["党员名册"].sheet_properties.tabColor is None


def test_every_column_has_a_validation_by_type_and_the_help_as_input_message(five_star, template):
    rubric, reg, _ = five_star
    wb = openpyxl.load_workbook(template)
    seen_types = set()
    for lay in template_layout(rubric, reg):
        ws = wb[lay.table.sheet]
        for j, col in enumerate(lay.columns, start=1):
            dv = _column_validation(ws, j)
            assert dv.showInputMessage and dv.promptTitle == col.header
            assert (col.help or "必填") in dv.prompt or "可以空白" in dv.prompt
            if col.example not in (None, ""):
                assert f"示例：{col.example}" in dv.prompt
            # the header cell shows the same message
            head = [d for d, (c1, r1, c2, r2) in _validations(ws) if c1 <= j <= c2 and r1 == r2 == 1]
            assert len(head) == 1 and head[0].prompt == dv.prompt
            fmt = _column_format(ws, j)
            seen_types.add(col.dtype)
            if col.dtype == "enum":
                assert dv.type == "list" and dv.formula1 == '"' + ",".join(col.values) + '"'
                assert dv.errorStyle in (None, "stop") and dv.showErrorMessage
            elif col.dtype == "bool":
                assert dv.type == "list" and dv.formula1 == '"是,否"'
            elif col.dtype == "date":
                assert dv.type == "date" and fmt == "yyyy-mm-dd"
            elif col.dtype == "int":
                assert dv.type == "whole" and fmt == "0"
            elif col.dtype == "float":
                assert dv.type == "decimal"
            elif col.dtype == "month":
                assert dv.type == "custom" and "LEN(" in dv.formula1 and fmt == "@"
            else:
                assert dv.type is None and fmt == "@"  # text: kept as typed ("001" stays "001")
    assert seen_types == {"str", "enum", "int", "float", "date", "month", "bool"}


def test_guide_sheet_explains_filling_columns_and_indicators(five_star, template):
    rubric, reg, _ = five_star
    wb = openpyxl.load_workbook(template)
    ws = wb[GUIDE_SHEET]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert rubric.name in text and "数据采集模板" in text
    for phrase in ("每个支部各填一份", "县（区）统一填一份", "考评委员会", "审核通过", "2025-03-01", "YYYY-MM",
                   "「是」或「否」", "委员会.xlsx"):
        assert phrase in text, phrase
    for sheet in ("表彰与创新", "现场检查评分", "负面事项", "群众满意度测评"):
        assert sheet in text
    # the column table: its header and one row per column of every sheet
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert ["工作表", "列", "是否必填", "类型/格式", "允许的值", "说明", "示例"] in rows
    column_rows = [r for r in rows if r[2] in ("必填", "选填")]
    assert len(column_rows) == sum(len(lay.columns) for lay in template_layout(rubric, reg))
    category = next(r for r in column_rows if r[1] == "类别")
    assert category[4] == "农村、社区、机关、国有企业、非公企业、学校、社会组织"
    # the indicator table: every indicator with its max and its rule in words
    assert any(r[:4] == ["维度", "指标", "满分", "计分规则"] for r in rows)
    by_name: dict[str, list] = {}
    for r in rows:  # the first row of an indicator (a category variant may list it again, changed)
        if r[1]:
            by_name.setdefault(r[1], r)
    for _, ind in rubric.indicators():
        row = by_name[ind.name]
        assert row[2] == f"{ind.max:g}" and row[3] == rule_text(ind, reg)
    assert by_name["支委会"][3].startswith("要求12次，每少1次扣0.5分")
    assert by_name["支委会"][5] == "组织生活记录：日期、类型"
    assert "按80%得0分、100%得满分线性计分" in by_name["党费足额按时交纳"][3]
    assert "连续6个月以上未交党费的党员每1人扣1分" in by_name["党费足额按时交纳"][3]
    assert "达到95%得12分，达到90%得10分" in by_name["群众满意率"][3]
    assert by_name["现场检查评分"][3].startswith("由考评委员会评分")
    assert "每1起扣1分，最多扣3分" in by_name["负面事项"][3]
    assert "国家级5分" in text and "取消评星资格" in text
    # A4 landscape, one page wide
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (1, None)


def test_guide_lists_what_a_category_variant_changes_not_everything_again(five_star, template):
    rubric, reg, _ = five_star
    if not rubric.variants:
        pytest.skip("the default rubric has no category variants")
    ws = openpyxl.load_workbook(template)[GUIDE_SHEET]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    for v in rubric.variants:
        cats = "、".join(v.categories)
        heading = [r for r in rows if isinstance(r[0], str) and r[0].startswith(f"{cats}支部：以下指标与上表不同")]
        assert len(heading) == 1, v.name
    # the 支委会 row is the same for every category: it appears once
    assert sum(1 for r in rows if r[1] == "支委会") == 1


# --------------------------------------------------------------------------------------------------
# 2. an unfilled template reads as zero records


def test_unfilled_template_reads_as_zero_records(five_star, template):
    rubric, reg, _ = five_star
    needed = needed_tables(rubric, reg)
    data = read_dataset([template], reg.tables, needed)
    assert set(data.tables) == needed
    assert all(len(df) == 0 for df in data.tables.values())
    assert data.notes == []  # 填表说明 is ignored without a note, headers match exactly


def test_scoring_an_unfilled_template_is_a_data_error_not_a_crash(template, tmp_path):
    rc, out, err = cli("run", template, "-o", tmp_path / "r.xlsx")
    assert "Traceback" not in err
    assert rc == 1 and "支部信息" in out + err


# --------------------------------------------------------------------------------------------------
# filling a copy


def _template_columns(rubric, reg) -> dict[str, list[str]]:
    return {lay.table.id: [c.id for c in lay.columns] for lay in template_layout(rubric, reg)}


def test_filled_template_reads_back_the_same_records(five_star, template, county, tmp_path):
    rubric, reg, _ = five_star
    cols = _template_columns(rubric, reg)
    some = set(county["branches"]["branch_id"].iloc[:8])  # a township's worth keeps the test quick
    records = {t: county[t][county[t]["branch_id"].isin(some)].reset_index(drop=True) for t in cols}
    filled = fill_template(template, records, tmp_path / "全县.xlsx", reg.tables)
    data = read_dataset([filled], reg.tables, needed_tables(rubric, reg))
    assert data.notes == []
    for tid, ids in cols.items():
        got = data.tables[tid][ids].reset_index(drop=True)
        want = records[tid][ids].astype(got.dtypes.to_dict())
        pd.testing.assert_frame_equal(got, want, check_dtype=True, obj=tid)
    # the copy keeps the template: 填表说明 first, drop-downs, formats; typed cells
    wb = openpyxl.load_workbook(filled)
    assert wb.sheetnames == openpyxl.load_workbook(template, read_only=True).sheetnames
    ws = wb["组织生活记录"]
    assert ws.max_row == len(records["meetings"]) + 1
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    assert isinstance(ws["D2"].value, int)
    assert _column_validation(ws, 3).type == "list"


def test_fill_refuses_a_table_the_template_has_no_sheet_for(tmp_path):
    small, _ = _small_rubric(tmp_path)
    rubric, reg, _ = load(small)
    path = tmp_path / "small.xlsx"
    write_template(rubric, reg, path)
    with pytest.raises(UsageError, match="党费交纳"):
        fill_template(path, {"dues": pd.DataFrame({"member_id": ["x"]})}, tmp_path / "out.xlsx", reg.tables)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.toml", "small.xlsx", "volunteer.py"]


# --------------------------------------------------------------------------------------------------
# 3. round trip: one workbook per branch plus the committee's, in a folder == the county in one workbook


def _run_json(data: Path, out: Path) -> dict:
    """``scoring run DATA --json`` (the results workbook left out: only the JSON is compared)."""
    js = out.with_suffix(".json")
    rc, stdout, stderr = cli("run", data, "--no-xlsx", "--json", js, "-q")
    assert rc == 0, stdout + stderr
    return json.loads(js.read_text(encoding="utf-8"))


def _split_per_branch(template: Path, county: dict[str, pd.DataFrame], cols: dict[str, list[str]], folder: Path,
                      specs) -> None:
    """Every branch fills its own copy of the template; the committee fills 委员会.xlsx."""
    folder.mkdir()
    branch_tables = [t for t in cols if not specs[t].committee]
    groups = {t: dict(tuple(county[t].groupby("branch_id", sort=False))) for t in branch_tables}
    for bid in county["branches"]["branch_id"]:
        part = {t: groups[t].get(bid, county[t].iloc[:0]) for t in branch_tables}
        fill_template(template, part, folder / f"{bid}.xlsx", specs)
    fill_template(template, {t: county[t] for t in cols if specs[t].committee}, folder / "委员会.xlsx", specs)


def test_round_trip_per_branch_templates_score_like_the_county_workbook(five_star, template, tmp_path):
    rubric, reg, _ = five_star
    # ten branches of several townships and every category, one workbook per branch plus the committee's;
    # seed 1 draws no two training records equal in the template's columns (the reader would note them)
    county = generate_county(10, seed=1, year=2025)
    assert county["branches"]["parent"].nunique() >= 2 and county["branches"]["category"].nunique() >= 5
    cols = _template_columns(rubric, reg)
    folder = tmp_path / "各支部"
    _split_per_branch(template, county, cols, folder, reg.tables)
    assert len(list(folder.glob("*.xlsx"))) == len(county["branches"]) + 1
    one = openpyxl.load_workbook(folder / f"{county['branches']['branch_id'].iloc[0]}.xlsx", read_only=True)
    assert len(list(one["支部信息"].iter_rows(min_row=2))) == 1

    whole = tmp_path / "county.xlsx"
    write_dataset(county, whole, "xlsx")

    # the folder merges into the whole county, without a single note on the data
    split = read_dataset([folder], reg.tables, needed_tables(rubric, reg))
    assert split.notes == []
    assert {t: len(df) for t, df in split.tables.items()} == {t: len(county[t]) for t in split.tables}

    # through the command line, as a committee would run it
    js_split = _run_json(folder, tmp_path / "split_results.xlsx")
    js_single = _run_json(whole, tmp_path / "single_results.xlsx")
    assert len(js_split["branches"]) == len(county["branches"])
    totals = {x["branch_id"]: (x["total"], x["stars"], x["level"]) for x in js_split["branches"]}
    assert totals == {x["branch_id"]: (x["total"], x["stars"], x["level"]) for x in js_single["branches"]}
    assert js_split["branches"] == js_single["branches"]  # every indicator, bonus, veto and flag too


# --------------------------------------------------------------------------------------------------
# 4. a rubric with a local plugin table


PLUGIN = """
    from scoring import Measure, hookimpl
    from scoring.tables import Column, ForeignKey, Table

    SERVICE_KINDS = tuple(f"第{i}类志愿服务项目（社区治理、邻里互助与文明实践）" for i in range(1, 13))

    def volunteer_hours(ctx):
        v = ctx.in_year(ctx.table("volunteering"))
        total = ctx.per_branch(v.groupby("branch_id")["hours"].sum())
        return ctx.result(total, "志愿服务" + total.astype(int).astype(str) + "小时")

    @hookimpl
    def scoring_tables():
        return [Table("volunteering", "志愿服务", (
            Column("branch_id", "支部编码", "str", help="与支部信息表中的支部编码一致", example="XZ01-001"),
            Column("date", "日期", "date", example="2025-05-04"),
            Column("kind", "服务类别", "enum", values=SERVICE_KINDS, example=SERVICE_KINDS[0]),
            Column("hours", "时长(小时)", "float", help="本次志愿服务的总时长", example=3),
            Column("photo", "照片编号", "str", required=False),
        ), foreign_keys=(ForeignKey("branch_id", "branches", "branch_id"),), grain="每次活动一行")]

    @hookimpl
    def scoring_measures():
        return [Measure("volunteer_hours", "志愿服务时长", volunteer_hours,
                        inputs={"volunteering": ("branch_id", "date", "hours")}, unit="小时",
                        description="考核年度内志愿服务总时长")]
"""

RUBRIC = """
    id = "local_volunteer"
    name = "志愿服务试点评分标准"
    year = 2025
    plugins = ["volunteer.py"]

    [grading]
    levels = [{ label = "好", min = 80 }, { label = "一般", min = 0 }]
    model = "grade"

    [[dimensions]]
    id = "work"
    name = "日常工作"

    [[dimensions.indicators]]
    id = "volunteer"
    name = "志愿服务"
    max = 10
    measure = "volunteer_hours"
    rule = { type = "ratio", target = 100 }

    [[dimensions.indicators]]
    id = "committee"
    name = "支委会"
    max = 10
    measure = "meeting_count"
    params = { kind = "支委会" }
    rule = { type = "deduct_shortfall", target = 12, per = 1 }
"""


def _small_rubric(tmp_path: Path) -> tuple[Path, Path]:
    plugin = tmp_path / "volunteer.py"
    plugin.write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    rubric = tmp_path / "local.toml"
    rubric.write_text(textwrap.dedent(RUBRIC), encoding="utf-8")
    return rubric, plugin


def test_template_of_a_rubric_with_a_local_plugin_table(tmp_path):
    rubric_path, _ = _small_rubric(tmp_path)
    out = main_template(str(rubric_path), tmp_path / "志愿服务模板.xlsx", [])
    rubric, reg, _ = load(str(rubric_path))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [GUIDE_SHEET, "支部信息", "组织生活记录", "志愿服务", LIST_SHEET]
    assert wb[LIST_SHEET].sheet_state == "hidden"  # the plugin's list is too long for an inline drop-down
    ws = wb["志愿服务"]
    assert [c.value for c in ws[1]] == ["支部编码*", "日期*", "服务类别*", "时长(小时)*"]
    kinds = _column_validation(ws, 3)
    assert kinds.type == "list" and kinds.formula1.startswith(f"'{LIST_SHEET}'!$A$1:$A$12")
    assert _column_validation(ws, 2).type == "date"
    guide = "\n".join(str(c.value) for row in wb[GUIDE_SHEET].iter_rows() for c in row if c.value is not None)
    assert "志愿服务：日期、时长(小时)" in guide and "志愿服务时长达到100小时得满分，不足按比例计分" in guide

    # filled, it loads without edits (the hidden list sheet is not data)
    kinds_values = reg.tables["volunteering"].column("kind").values
    records = {
        "branches": pd.DataFrame({"branch_id": ["A", "B"], "name": ["甲村党支部", "乙社区党支部"],
                                  "category": ["农村", "社区"], "parent": ["示例镇党委", "示例镇党委"],
                                  "last_election": pd.to_datetime(["2021-05-20", "2023-04-01"])}),
        "meetings": pd.DataFrame({"branch_id": ["A"] * 12,
                                  "date": pd.to_datetime([f"2025-{m:02d}-15" for m in range(1, 13)]),
                                  "kind": ["支委会"] * 12, "expected": [5] * 12, "attended": [5] * 12}),
        "volunteering": pd.DataFrame({"branch_id": ["A", "B"], "date": pd.to_datetime(["2025-05-04", "2025-06-01"]),
                                      "kind": [kinds_values[11], kinds_values[0]], "hours": [120.0, 30.0]}),
    }
    filled = fill_template(out, records, tmp_path / "filled.xlsx", reg.tables)
    data = read_dataset([filled], reg.tables, needed_tables(rubric, reg))
    assert data.notes == []
    assert data.tables["volunteering"]["kind"].tolist() == [kinds_values[11], kinds_values[0]]
    res = score(rubric, reg, data, 2025).branches.set_index("branch_id")
    assert res.loc["A", "total"] == 100 and res.loc["B", "total"] == 15


# --------------------------------------------------------------------------------------------------
# the command's checks and atomic writing


def test_main_template_refuses_a_missing_folder_and_a_folder(tmp_path):
    with pytest.raises(UsageError, match="不存在"):
        main_template(None, tmp_path / "nowhere" / "t.xlsx", [])
    with pytest.raises(UsageError, match="文件夹"):
        main_template(None, tmp_path, [])
    with pytest.raises(UsageError, match=r"\.xlsx"):
        main_template(None, tmp_path / "t.csv", [])
    assert list(tmp_path.iterdir()) == []


def test_template_is_written_atomically(five_star, tmp_path, monkeypatch):
    rubric, reg, _ = five_star
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"previous")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tpl_module, "_write_guide", boom)
    with pytest.raises(RuntimeError):
        write_template(rubric, reg, path)
    assert path.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
    monkeypatch.undo()
    main_template(None, path, [])  # an existing template is replaced
    assert openpyxl.load_workbook(path, read_only=True).sheetnames[0] == GUIDE_SHEET
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def test_rule_text_of_every_rule_type(five_star):
    rubric, reg, _ = five_star
    inds = {i.id: i for _, i in rubric.indicators()}
    cases = {
        "committee_meetings": "要求12次，每少1次扣0.5分，扣完为止",
        "election_on_time": "换届超期年数为0年得满分，否则得0分",  # not "不超过0年" (issue: one home for each rule)
        "leader_training": "人均学习培训学时（书记、副书记、委员）达到56学时得满分，不足按比例计分",
        "recruitment": "未发展党员年数不超过1年得6分，不超过2年得3分，其余得0分",
        "attendance": "会议出勤率：按70%得0分、95%得满分线性计分",
        "inspection": "由考评委员会评分，按实得分计入，最高6分",
        "negative_events": "负面事项件数（纪律处分、越级上访）每1起扣1分，最多扣3分",
    }
    for iid, text in cases.items():
        assert rule_text(inds[iid], reg) == text, iid
    base = inds["committee_meetings"].model_dump()
    unit = Indicator.model_validate({**base, "rule": {"type": "per_unit", "per": 0.5}})
    assert rule_text(unit, reg) == "会议次数（支委会）每1次得0.5分，最高6分"
    rural = Indicator.model_validate({**base, "categories": ["农村"]})
    assert rule_text(rural, reg).endswith("（仅适用于农村支部）")


def test_guide_words_other_grading_models():
    rubric, reg, _ = load("points")
    ws_rows = tpl_module._rubric_rows(rubric, reg)
    rules = {row[0]: row[2] for kind, item in ws_rows if kind == "group" for row in item[1]}
    assert tpl_module._scoring_summary(rubric).startswith("积分制：以100分为基准")
    assert rules["群众满意率"] == "群众满意率每1个百分点得0.1分，最高10分"  # a rate counts in percentage points
    rubric, reg, _ = load("five_good")
    labels = [item[0] for kind, item in tpl_module._rubric_rows(rubric, reg) if kind == "group"]
    assert any("达85%得星" in label for label in labels)
