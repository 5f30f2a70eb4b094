"""Hardening, implausible values are data errors, not scores: negative counts, hours, money and votes;
实到 > 应到; 满意 + 基本满意 + 不满意 > 测评人数; magnitudes no branch has; dates after the assessment year's
end where they cannot be, or before 1900. Each violation is located (file, sheet, row, column) with the
value; the bounds are stated in the template's 填表说明."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from hardening_util import assert_clean_refusal, cli, county_workbook
from scoring.errors import DataError, DataProblem
from scoring.reader import read_dataset
from scoring.sample import generate_county, write_dataset
from plugins.sample_county import builtin_table_map

SPECS = builtin_table_map()


N, SEED = 4, 7


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    return county_workbook(tmp_path_factory.mktemp("county"), n=N, seed=SEED)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """The records the county workbook was written from: row r of a sheet is record r - 2."""
    return generate_county(N, seed=SEED)


def edited(county: Path, out: Path, cells: dict[tuple[str, int, str], object]) -> Path:
    """A copy of ``county`` with cells set: (sheet, row, header) -> value."""
    wb = openpyxl.load_workbook(county)
    for (sheet, row, header), v in cells.items():
        ws = wb[sheet]
        column = [c.value for c in ws[1]].index(header) + 1
        ws.cell(row, column).value = v
    wb.save(out)
    return out


def problems(path: Path, year: int | None = 2025):
    with pytest.raises(DataError) as e:
        read_dataset([path], SPECS, tuple(SPECS), year=year)
    return [(p.sheet, p.row, p.column, p.code, p.message) for p in e.value.problems]


def at(tables, tid: str, row: int, column: str):
    """The value written at ``row`` of the table's sheet."""
    return tables[tid][column].iloc[row - 2]


def test_run_refuses_implausible_values_with_every_one_located(tmp_path, county, tables):
    data = edited(county, tmp_path / "data.xlsx", {
        ("群众满意度测评", 2, "测评人数"): -50,
        ("组织生活记录", 3, "实到人数"): 999,
        ("学习培训", 2, "学时"): 500,
        ("支部信息", 2, "上次换届日期"): datetime(2035, 5, 20),
    })
    rc, out, err = cli("run", data, "-o", "r.xlsx", "--json", "r.json", cwd=tmp_path)
    f = str(data)
    assert_clean_refusal(rc, err, 1,
                         f"{f} 工作表「群众满意度测评」第2行「测评人数」列：「测评人数」为-50，不能小于1",
                         f"{f} 工作表「组织生活记录」第3行「实到人数」列：「实到人数」999，超过「应到人数」"
                         f"{at(tables, 'meetings', 3, 'expected')}（应满足：实到人数不超过应到人数）",
                         f"{f} 工作表「学习培训」第2行「学时」列：「学时」为500，超过了合理的上限100（请核对是否多输了位数或填错了列）",
                         f"{f} 工作表「支部信息」第2行「上次换届日期」列：「上次换届日期」为2035-05-20，晚于考核年度（2025年）末，"
                         "不可能发生，请核对年份",  # the rubric's year reached the validation
                         folder=tmp_path, absent=[tmp_path / "r.xlsx", tmp_path / "r.json"])
    assert "数据有 4 处问题" in err and out == ""


@pytest.fixture(scope="module")
def implausible(tmp_path_factory, county, tables) -> Path:
    """One bad value of each kind, each in its own record."""
    respondents = at(tables, "surveys", 3, "respondents")
    return edited(county, tmp_path_factory.mktemp("bad") / "bad.xlsx", {
        ("组织生活记录", 2, "应到人数"): -3,  # also below 实到人数: reported once, as the bound
        ("党费交纳", 2, "实交金额"): -10,
        ("村集体经济", 2, "经营性收入(万元)"): 5e6,
        ("现场检查评分", 2, "得分"): 250,
        ("支部信息", 2, "支委人数"): 40,
        ("党员名册", 2, "出生日期"): "1850-01-01",  # Excel has no dates before 1900: typed as text
        ("党员名册", 3, "出生日期"): datetime(1950, 6, 1),
        ("党员名册", 3, "入党日期"): datetime(1901, 1, 1),
        ("群众满意度测评", 3, "满意"): respondents,
    })


def test_every_kind_of_implausible_value_and_nothing_else(implausible, tables):
    # 满意 was set to 测评人数: the three votes add up to 测评人数 + 基本满意 + 不满意
    total = at(tables, "surveys", 3, "respondents") + at(tables, "surveys", 3, "basic") \
        + at(tables, "surveys", 3, "dissatisfied")
    O, I = DataProblem.OUT_OF_RANGE, DataProblem.INCONSISTENT_VALUES
    limit = "（请核对是否多输了位数或填错了列）"
    assert problems(implausible) == sorted([
        ("组织生活记录", 2, "应到人数", O, "「应到人数」为-3，不能小于1"),
        ("党费交纳", 2, "实交金额", O, "「实交金额」为-10，不能小于0"),
        ("村集体经济", 2, "经营性收入(万元)", O, f"「经营性收入(万元)」为5000000，超过了合理的上限1000000{limit}"),
        ("现场检查评分", 2, "得分", O, f"「得分」为250，超过了合理的上限100{limit}"),
        ("支部信息", 2, "支委人数", O, f"「支委人数」为40，超过了合理的上限15{limit}"),
        ("党员名册", 2, "出生日期", O, "「出生日期」为1850-01-01，早于1900年，请核对年份"),
        ("党员名册", 3, "入党日期", I, "「入党日期」1901-01-01，早于「出生日期」1950-06-01（应满足：入党日期不早于出生日期）"),
        ("群众满意度测评", 3, "不满意", I, f"「满意」+「基本满意」+「不满意」合计{total}，超过「测评人数」"
                                         f"{at(tables, 'surveys', 3, 'respondents')}（应满足：满意+基本满意+不满意合计不超过测评人数）"),
    ], key=lambda p: (p[0], p[1], p[2], p[4]))  # the order DataError lists them in: sheet, row, column


def test_the_assessment_year_bounds_dates_that_cannot_be_in_the_future(tmp_path, tables):
    branches = tables["branches"].copy()
    branches.loc[0, "last_election"] = pd.Timestamp(2026, 3, 1)
    data = write_dataset({"branches": branches}, tmp_path / "d.xlsx")[0]
    with pytest.raises(DataError) as e:
        read_dataset([data], SPECS, (), year=2025)
    assert [(p.sheet, p.row, p.column, p.code) for p in e.value.problems] == [
        ("支部信息", 2, "上次换届日期", DataProblem.OUT_OF_RANGE)]
    assert len(read_dataset([data], SPECS, (), year=2026).tables["branches"]) == N  # the bound moves with the year


def test_lenient_mode_excludes_the_branches_instead_of_scoring_them(implausible, tables):
    ds = read_dataset([implausible], SPECS, tuple(SPECS), year=2025, lenient=True)
    codes = {b: sorted(p.code.value for p in ps) for b, ps in ds.excluded_problems.items()}
    owner = {("meetings", 2), ("dues", 2), ("economy", 2), ("inspections", 2), ("branches", 2), ("members", 2),
             ("members", 3), ("surveys", 3)}
    expected: dict[str, list[str]] = {}
    for tid, row in owner:
        code = "inconsistent_values" if (tid, row) in {("members", 3), ("surveys", 3)} else "out_of_range"
        expected.setdefault(at(tables, tid, row, "branch_id"), []).append(code)
    assert codes == {b: sorted(c) for b, c in expected.items()}
    assert set(ds.tables["branches"]["branch_id"]).isdisjoint(expected)


def test_the_template_states_the_bounds(tmp_path):
    rc, out, err = cli("template", "-o", "t.xlsx", cwd=tmp_path)
    assert rc == 0, err
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    guide = [[c.value for c in row] for row in wb["填表说明"].iter_rows()]
    by_header = {row[1]: row[5] for row in guide if len(row) > 5 and row[1]}
    assert by_header["测评人数"] == "取值1～100000"
    assert by_header["不满意"] == "取值0～100000；满意+基本满意+不满意合计不超过测评人数"
    assert by_header["实到人数"] == "取值0～2000；实到人数不超过应到人数"
    assert by_header["上次换届日期"] == "最近一次换届选举的日期；不晚于考核年度末"
    ws = wb["群众满意度测评"]
    rule = next(dv for dv in ws.data_validations.dataValidation if "B2" in str(dv.sqref))
    assert (rule.type, rule.formula1, rule.formula2) == ("whole", "1", "100000")  # Excel refuses -50 as it is typed
