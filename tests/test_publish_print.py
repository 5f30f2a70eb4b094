"""The results workbook as a printed document: page setup, print areas, page breaks, the page header as
stored, the rubric as a readable table, the 公示预览 sheet equal to the Word notice, and every row of
否决与预警 explained. Fast: one small county scored once, the workbook read back as XML and with openpyxl
(the printed page count of the sample county is measured with LibreOffice, see the issue notes).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from scoring.cli import main
from scoring.output import xlsx
from scoring.publish.preview import blocks
from scoring.sample import generate_county, write_dataset

pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")
TITLE = "2025年度示例县党支部考核结果"


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("print")
    tables = generate_county(30, seed=7, year=2025)
    data = root / "data"
    write_dataset(tables, data, "parquet")
    first = root / "first.json"
    # (only its JSON is used, as last year's results: no workbook)
    assert main(["run", str(data), "--no-xlsx", "--json", str(first), "-q", "--title", TITLE]) == 0
    # last year: the same county less its last branch, which is then "new"; and a branch only last year
    last = root / "last.json"
    import json

    results = json.loads(first.read_text(encoding="utf-8"))
    gone = dict(results["branches"][0], branch_id="XX99-999", name="已撤销村党支部")
    results["branches"] = results["branches"][:-1] + [gone]
    last.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    book = root / "results.xlsx"
    out = root / "公示"
    assert main(["run", str(data), "-o", str(book), "-q", "--title", TITLE, "--previous", str(last),
                 "--publish", str(out), "--no-pdf", "--date", "2026-01-05", "--committee", "中共示例县委组织部",
                 "--contact", "0000-1234567"]) == 0
    return root, book, out, results


def sheet_xml(book: Path, name: str) -> str:
    """The worksheet XML of sheet ``name`` (via the workbook's sheet order)."""
    wb = openpyxl.load_workbook(book, read_only=True)
    index = wb.sheetnames.index(name) + 1
    with zipfile.ZipFile(book) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


def test_page_header_keeps_the_year(county):
    """'&9' followed by '2025' was read as a font size; a font code now ends the size code."""
    _, book, _, _ = county
    xml = sheet_xml(book, "总排名")
    header = re.search(r"<oddHeader>(.*?)</oddHeader>", xml).group(1)
    assert header == '&amp;R&amp;9&amp;"-,Regular"2025年度示例县党支部考核结果 — 总排名'
    assert xlsx.header_text("A&B") == '&R&9&"-,Regular"A&&B'


def test_sheets_and_print_setup(county):
    _, book, _, _ = county
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["总排名", "得分明细", "扣分清单", "加分明细", "否决与预警", "分类汇总", "公示预览",
                             "与上年比较", "数据质量", "评分标准与审计", "评分标准原文"]
    ranking = wb["总排名"]
    headers = [str(c.value).replace("\n", "") for c in ranking[3]]
    level = headers.index("评定等级") + 1
    # the public columns only: 否决与标记, 等级说明, 自评分 are right of the print area
    letter = openpyxl.utils.get_column_letter(level)
    assert ranking.print_area == f"'总排名'!$A$1:${letter}${ranking.max_row}"
    assert headers[level:] == ["否决与标记", "等级说明", "自评分", "自评差值"]
    assert ranking.page_setup.orientation == "portrait"
    assert ranking.sheet_properties.pageSetUpPr.fitToPage and ranking.page_setup.fitToHeight == 0  # 1 page wide
    assert ranking.print_title_rows == "$3:$3"
    assert "上年等级" not in headers  # last year's columns are on their own sheet
    for name in wb.sheetnames:
        assert wb[name].page_setup.paperSize == 9, name


def test_detail_and_lost_lists_break_per_branch(county):
    _, book, _, _ = county
    wb = openpyxl.load_workbook(book)
    for name in ("得分明细", "扣分清单"):
        ws = wb[name]
        headers = [str(c.value).replace("\n", "") for c in ws[3]]
        ids = [row[headers.index("支部编码")] for row in ws.iter_rows(min_row=4, values_only=True)]
        # a break before the first row of every branch but the first (openpyxl: break id = last row of a page)
        starts = [i + 4 for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
        assert sorted(b.id + 1 for b in ws.row_breaks.brk) == starts, name
        assert len(starts) == len(set(ids)) - 1


def test_every_veto_row_is_explained_and_gone_branches_have_their_own_list(county):
    _, book, _, _ = county
    wb = openpyxl.load_workbook(book)
    rows = list(wb["否决与预警"].iter_rows(min_row=4, values_only=True))
    assert rows and all(r[5] for r in rows), [r for r in rows if not r[5]]
    flagged = [r for r in rows if r[3] == "整顿候选"]
    assert flagged and all(re.fullmatch(r"总分排名位于全县后5%（第\d+名，共30个），列为整顿候选", r[5]) for r in flagged)
    assert not any(r[0] == "XX99-999" for r in rows)
    previous = wb["与上年比较"]
    cells = [c.value for row in previous.iter_rows() for c in row]
    assert "XX99-999" in cells and "已撤销村党支部" in cells


def test_preview_sheet_is_the_notice(county):
    """公示预览 says what the Word notice of ``run --publish`` says: every paragraph, the list cell by cell."""
    _, book, out, _ = county
    wb = openpyxl.load_workbook(book)
    ws = wb["公示预览"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    document = blocks(out / "公示-全县.docx")
    row = 0
    for block in document:
        if block.kind == "table":
            for cells in block.rows:
                assert [v or "" for v in values[row][:len(cells)]] == cells
                row += 1
        else:
            shown = (values[row][0] or "").strip("\u3000")
            assert shown == block.text, (row, shown, block.text)
            row += 1
    assert row == len(values)
    assert ws.page_setup.orientation == "portrait"


def test_rubric_as_a_readable_table_and_the_toml_last(county):
    _, book, _, _ = county
    wb = openpyxl.load_workbook(book)
    ws = wb["评分标准与审计"]
    assert [c.value for c in ws[3]] == ["维度", "指标", "满分", "计分规则"]
    rows = [r for r in ws.iter_rows(min_row=4, max_col=4, values_only=True)]
    table = rows[:next(i for i, r in enumerate(rows) if r[0] is None)]
    assert ("领导班子好", "支委会", 6, "要求12次，每少1次扣0.5分，扣完为止") in table
    assert sum(r[2] for r in table) == 100
    toml = [r[1] for r in wb["评分标准原文"].iter_rows(min_row=3, values_only=True)]
    assert 'id = "five_star"' in toml


def test_measured_values_show_units_and_percent(county):
    _, book, _, _ = county
    wb = openpyxl.load_workbook(book)
    ws = wb["得分明细"]
    headers = [str(c.value).replace("\n", "") for c in ws[3]]
    col_ind, col_value, col_target = headers.index("指标"), headers.index("测量值"), headers.index("目标")
    formats = {}
    for row in ws.iter_rows(min_row=4):
        formats.setdefault(row[col_ind].value, set()).add((row[col_value].number_format, row[col_target].number_format))
    assert formats["支委会"] == {('0"次"', '0"次"')}
    assert all(len(v) == 1 for v in formats.values())  # one format per indicator
    rates = [k for k, v in formats.items() if next(iter(v))[0] == "0.0%"]
    assert rates
    points = {row[headers.index("得分")].number_format for row in ws.iter_rows(min_row=4)}
    assert points == {"0.00"}
