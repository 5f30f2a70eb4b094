"""Hardening, cells and workbooks from elsewhere: Excel error cells (#N/A, #REF!, ...) are reported by
name, not as empty required cells; a workbook from another system, or a results workbook passed as data,
says in one line which sheets it has and which the rubric needs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from hardening_util import assert_clean_refusal, cli, county_workbook
from scoring.errors import DataError, DataNote, DataProblem
from scoring.reader import read_dataset
from plugins.sample_county import builtin_table_map

SPECS = builtin_table_map()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    return county_workbook(tmp_path_factory.mktemp("county"))


def _sheet_part(book: Path, name: str) -> str:
    with zipfile.ZipFile(book) as z:
        names = re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="rId(\d+)"', z.read("xl/workbook.xml").decode())
    return f"xl/worksheets/sheet{dict(names)[name]}.xml"


def _with_errors(book: Path, out: Path, sheet: str, cells: dict[str, str]) -> Path:
    """``book`` with the cells (A1 references) of ``sheet`` replaced by formula error values."""
    part = _sheet_part(book, sheet)
    with zipfile.ZipFile(book) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[part].decode("utf-8")
    for ref, error in cells.items():
        xml, n = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', f'<c r="{ref}" t="e"><f>X()</f><v>{error}</v></c>', xml, count=1)
        assert n == 1, ref
    parts[part] = xml.encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    return out


def test_error_cells_are_reported_by_name(tmp_path, county):
    book = _with_errors(county, tmp_path / "data.xlsx", "组织生活记录",
                        {"A2": "#N/A", "D3": "#REF!", "E4": "#DIV/0!", "B5": "#VALUE!"})
    rc, out, err = cli("run", book, "-o", "r.xlsx", cwd=tmp_path)
    where = f"{book} 工作表「组织生活记录」"
    assert_clean_refusal(rc, err, 1,
                         f"{where}第2行「支部编码」列：单元格是错误值「#N/A」（查找的值不存在，通常是公式算不出结果），请改为实际的值",
                         f"{where}第3行「应到人数」列：单元格是错误值「#REF!」（引用的单元格已被删除，通常是公式算不出结果），请改为实际的值",
                         f"{where}第4行「实到人数」列：单元格是错误值「#DIV/0!」（除数为0",
                         f"{where}第5行「日期」列：单元格是错误值「#VALUE!」（参与计算的值类型不对",
                         folder=tmp_path, absent=[tmp_path / "r.xlsx"])
    assert "不能为空" not in err and "4 处问题" in err
    assert out == ""


def test_error_cells_have_their_code_and_lenient_mode_attributes_them(tmp_path, county):
    book = _with_errors(county, tmp_path / "data.xlsx", "组织生活记录", {"D2": "#N/A"})
    with pytest.raises(DataError) as e:
        read_dataset([book], SPECS, ("meetings",))
    assert [(p.row, p.column, p.code) for p in e.value.problems] == [(2, "应到人数", DataProblem.ERROR_CELL)]
    ds = read_dataset([book], SPECS, ("meetings",), lenient=True)
    assert [[p.code for p in ps] for ps in ds.excluded_problems.values()] == [[DataProblem.ERROR_CELL]]


def test_error_text_in_a_csv_export_is_an_error_cell(tmp_path):
    (tmp_path / "branches.csv").write_text(
        "支部编码,支部名称,类别,上级党组织,上次换届日期\nA,#N/A,农村,镇党委,2021-01-01\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_dataset([tmp_path], SPECS, ())
    p = e.value.problems[0]
    assert (p.row, p.column, p.code) == (2, "支部名称", DataProblem.ERROR_CELL)
    assert p.message == "单元格是错误值「#N/A」（查找的值不存在，通常是公式算不出结果），请改为实际的值"


def _book(path: Path, sheets: list[str]) -> Path:
    wb = xlsxwriter.Workbook(path)
    for name in sheets:
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, ["排名", "支部名称", "总分"])
        ws.write_row(1, 0, [1, "东岗村党支部", 95])
    wb.close()
    return path


def test_a_results_workbook_passed_as_data_says_what_it_found_and_what_is_needed(tmp_path):
    book = _book(tmp_path / "results.xlsx", ["总排名", "得分明细", "扣分清单"])
    rc, out, err = cli("run", book, "-o", "r.xlsx", cwd=tmp_path)
    needed = "、".join(f"「{t.sheet}」" for t in SPECS.values())
    assert_clean_refusal(rc, err, 1,
                         f"{book}：工作簿中没有可识别的数据表：其中的工作表为「总排名」、「得分明细」、「扣分清单」，"
                         f"评分需要的是{needed[:needed.index('、', 60)]}",
                         "（是否选错了文件？评分结果工作簿或其他系统导出的表格不能作为数据）",
                         folder=tmp_path, absent=[tmp_path / "r.xlsx"])
    assert "数据有 1 处问题" in err and "缺少工作表" not in err


def test_the_expected_sheets_are_the_ones_the_rubric_needs(tmp_path):
    book = _book(tmp_path / "other.xlsx", ["Sheet1"])
    with pytest.raises(DataError) as e:
        read_dataset([book], SPECS, ("members",))
    assert [p.message for p in e.value.problems] == [
        "工作簿中没有可识别的数据表：其中的工作表为「Sheet1」，评分需要的是「支部信息」、「党员名册」"
        "（是否选错了文件？评分结果工作簿或其他系统导出的表格不能作为数据）"]
    assert e.value.problems[0].code is DataProblem.UNKNOWN_WORKBOOK


def test_a_foreign_workbook_in_a_data_folder_is_skipped_with_one_note(tmp_path, county):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "county.xlsx").write_bytes(county.read_bytes())
    _book(folder / "汇总.xlsx", ["汇总表", "图表"])
    ds = read_dataset([folder], SPECS, ())
    assert [(Path(n.file).name, n.code, n.message) for n in ds.notes] == [(
        "汇总.xlsx", DataNote.UNKNOWN_WORKBOOK,
        "工作簿中没有可识别的数据表：其中的工作表为「汇总表」、「图表」，评分需要的是「支部信息」，已跳过")]
    assert len(ds.tables["branches"]) == 4
