"""Real-world intake: a county committee merges one workbook per branch plus its own workbook.

Folders are built from the sample generator: every branch's records go to a workbook named after the
branch, the committee's inputs (满意度测评, 现场检查评分, 负面事项) to 考评委员会.xlsx.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from scoring.dataset import EXCLUDED_COLUMNS
from scoring.errors import DataError, DataProblem, Problem
from scoring.reader import MAX_LISTED, read_dataset
from scoring.sample import generate_county, write_dataset
from plugins.organization import MEETING_KINDS
from plugins.sample_county import builtin_table_map

SPECS = builtin_table_map()
ALL = tuple(SPECS)
COMMITTEE = ("surveys", "inspections", "incidents")
COMMITTEE_BOOK = "考评委员会.xlsx"
KINDS = "、".join(MEETING_KINDS)


def split(tables: dict[str, pd.DataFrame], roster_in_committee: bool = False) -> dict[str, dict[str, pd.DataFrame]]:
    """File name -> the sheets of that workbook: one per branch (named after the branch) and the committee's."""
    books: dict[str, dict[str, pd.DataFrame]] = {}
    branches = tables["branches"]
    for bid, name in zip(branches["branch_id"], branches["name"]):
        books[f"{name}.xlsx"] = {
            tid: frame[frame["branch_id"] == bid].reset_index(drop=True) for tid, frame in tables.items()
            if tid not in COMMITTEE and not (roster_in_committee and tid == "branches")
        }
    committee = {tid: tables[tid] for tid in COMMITTEE}
    books[COMMITTEE_BOOK] = {"branches": branches, **committee} if roster_in_committee else committee
    return books


_WRITTEN: dict[tuple, bytes] = {}  # a book's content -> its workbook's bytes, written once per test session


def _content_key(name: str, sheets: dict[str, pd.DataFrame]) -> tuple:
    return (name, *((tid, tuple(df.columns), tuple(map(str, df.dtypes)),
                     int(pd.util.hash_pandas_object(df, index=False).sum()) if len(df) else 0, len(df))
                    for tid, df in sheets.items()))


def write_folder(folder: Path, books: dict[str, dict[str, pd.DataFrame]]) -> Path:
    """Write each book as its workbook; a book with the same content as one written before (most branches'
    books are the same in every test) is copied from that workbook's bytes instead of written again."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sheets in books.items():
        key = _content_key(name, sheets)
        if key not in _WRITTEN:
            write_dataset(sheets, folder / name)
            _WRITTEN[key] = (folder / name).read_bytes()
        else:
            (folder / name).write_bytes(_WRITTEN[key])
    return folder


def set_cell(path: Path, sheet: str, row: int, header: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    column = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row, column).value = value  # (ws.cell(row, column, None) would leave the cell as it is)
    wb.save(path)


def read(folder: Path, needed=ALL, lenient: bool = False):
    return read_dataset([folder], SPECS, needed, lenient=lenient)


def problems_of(folder: Path, needed=ALL, lenient: bool = False) -> list[Problem]:
    with pytest.raises(DataError) as info:
        read(folder, needed, lenient)
    return info.value.problems


@pytest.fixture(scope="module")
def county() -> dict[str, pd.DataFrame]:
    return generate_county(6, seed=11)


def branch(county, k: int) -> tuple[str, str, str]:
    """(branch_id, name, workbook file name) of the k-th branch."""
    row = county["branches"].iloc[k]
    return row["branch_id"], row["name"], f"{row['name']}.xlsx"


# ------------------------------------------------------------------------------------------------
# a clean folder


def test_clean_folder_of_branch_workbooks_and_committee_workbook_reads_every_record(tmp_path, county):
    folder = write_folder(tmp_path / "县直", split(county))
    ds = read(folder)
    for tid, frame in county.items():
        assert len(ds.tables[tid]) == len(frame), tid
    assert sorted(ds.tables["branches"]["branch_id"]) == sorted(county["branches"]["branch_id"])
    assert len(ds.sources) == 7
    assert list(ds.excluded.columns) == list(EXCLUDED_COLUMNS) and len(ds.excluded) == 0
    assert read(folder, lenient=True).excluded.empty


def test_one_county_workbook_never_conflicts(tmp_path, county):
    path = write_dataset(county, tmp_path / "county.xlsx")[0]
    ds = read(path)
    assert {tid: len(frame) for tid, frame in ds.tables.items()} == {tid: len(f) for tid, f in county.items()}


# ------------------------------------------------------------------------------------------------
# conflicts


def test_a_branch_in_two_branch_workbooks_is_a_conflict_located_in_the_other_workbook(tmp_path, county):
    bid, _, own = branch(county, 0)
    _, _, other = branch(county, 1)
    books = split(county)
    mine = books[own]["meetings"]
    books[other]["meetings"] = pd.concat([books[other]["meetings"], mine], ignore_index=True)
    folder = write_folder(tmp_path / "县直", books)
    first_row = len(books[other]["meetings"]) - len(mine) + 2  # the header is row 1
    assert problems_of(folder) == [Problem(
        str(folder / other), "组织生活记录", first_row, "支部编码",
        f"支部「{bid}」的「组织生活记录」同时出现在「{own}」和「{other}」中，请核对后只保留一份")]


def test_the_own_workbook_comes_first_whatever_the_file_order(tmp_path, county):
    # the intruding copy sorts before the branch's own workbook: the problem is still in the copy
    bid, _, own = branch(county, 2)
    books = split(county)
    books["0-汇总.xlsx"] = {"meetings": books[own]["meetings"].iloc[:3]}
    folder = write_folder(tmp_path / "县直", books)
    assert problems_of(folder) == [Problem(
        str(folder / "0-汇总.xlsx"), "组织生活记录", 2, "支部编码",
        f"支部「{bid}」的「组织生活记录」同时出现在「{own}」和「0-汇总.xlsx」中，请核对后只保留一份")]


def test_a_branch_workbook_repeating_committee_records_is_a_conflict(tmp_path, county):
    books = split(county)
    inspections = county["inspections"]
    pairs = [branch(county, k) for k in (1, 4)]
    for bid, _, own in pairs:
        books[own]["inspections"] = inspections[inspections["branch_id"] == bid].reset_index(drop=True)
    folder = write_folder(tmp_path / "县直", books)
    rows = {bid: int((inspections["branch_id"] == bid).to_numpy().argmax()) + 2 for bid, _, _ in pairs}
    assert problems_of(folder) == sorted([
        Problem(str(folder / COMMITTEE_BOOK), "现场检查评分", rows[bid], "支部编码",
                f"支部「{bid}」的「现场检查评分」同时出现在「{own}」和「{COMMITTEE_BOOK}」中，请核对后只保留一份")
        for bid, _, own in pairs], key=Problem.sort_key)


def test_a_branch_in_two_workbooks_names_both_in_the_duplicate_key(tmp_path, county):
    bid, _, own = branch(county, 0)
    _, _, other = branch(county, 3)
    books = split(county)
    books[other]["branches"] = pd.concat([books[other]["branches"], books[own]["branches"]], ignore_index=True)
    folder = write_folder(tmp_path / "县直", books)
    assert problems_of(folder) == sorted([
        Problem(str(folder / own), "支部信息", 2, "支部编码", f"支部编码「{bid}」重复（另见「{other}」第3行）"),
        Problem(str(folder / other), "支部信息", 3, "支部编码", f"支部编码「{bid}」重复（另见「{own}」第2行）"),
    ], key=Problem.sort_key)


# ------------------------------------------------------------------------------------------------
# a branch without any record


def test_a_branch_listed_without_any_record_is_a_problem_at_its_row(tmp_path, county):
    books = split(county, roster_in_committee=True)
    roster = books[COMMITTEE_BOOK]["branches"]
    new = roster.iloc[[0]].assign(branch_id="XZ01-007", name="柳河村党支部", category="农村")
    books[COMMITTEE_BOOK]["branches"] = pd.concat([roster, new], ignore_index=True)
    folder = write_folder(tmp_path / "县直", books)
    assert problems_of(folder) == [Problem(
        str(folder / COMMITTEE_BOOK), "支部信息", len(roster) + 2, "支部编码",
        "支部「XZ01-007 柳河村党支部」在「支部信息」中，但没有任何记录（未收到该支部的工作簿？）")]


def test_a_roster_alone_is_not_checked_for_records(tmp_path, county):
    path = write_dataset({"branches": county["branches"]}, tmp_path / "roster.xlsx")[0]
    assert len(read(path, needed=()).tables["branches"]) == 6


# ------------------------------------------------------------------------------------------------
# files that are not data


def test_documents_lock_files_and_hidden_files_are_skipped_with_notes(tmp_path, county):
    folder = write_folder(tmp_path / "县直", split(county))
    _, _, own = branch(county, 0)
    (folder / "说明.docx").write_bytes(b"PK\x03\x04 a word document")
    (folder / f"~${own}").write_bytes(b"\x0bzhang san  lock")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    ds = read(folder)
    assert len(ds.tables["branches"]) == 6 and len(ds.sources) == 7
    assert ds.notes == sorted([
        Problem(str(folder / ".DS_Store"), None, None, None, "「.DS_Store」是隐藏或系统文件，已跳过"),
        Problem(str(folder / f"~${own}"), None, None, None,
                f"「~${own}」是 Excel 打开工作簿时生成的临时文件，已跳过（对应的工作簿可能仍在编辑中，请确认已保存）"),
        Problem(str(folder / "说明.docx"), None, None, None, "「说明.docx」不是工作簿，已跳过"),
    ], key=Problem.sort_key)


def test_a_broken_workbook_in_the_folder_is_an_error(tmp_path, county):
    folder = write_folder(tmp_path / "县直", split(county))
    _, _, own = branch(county, 0)
    (folder / "损坏.xlsx").write_bytes(b"this is not a zip file")
    (folder / "空白.xlsx").write_bytes(b"")
    (folder / "截断.xlsx").write_bytes((folder / own).read_bytes()[:2000])
    problems = problems_of(folder)
    assert [(p.file, p.sheet, p.row, p.column) for p in problems] == [
        (str(folder / name), None, None, None) for name in ("截断.xlsx", "损坏.xlsx", "空白.xlsx")]
    assert {p.code for p in problems} == {DataProblem.UNREADABLE_FILE}
    assert problems[0].message.startswith("无法打开工作簿：文件已损坏或不完整，请用 Excel 打开后重新保存（")
    assert problems[1].message == "无法打开工作簿：文件内容不是 .xlsx 工作簿（可能是改了扩展名的其他文件），请用 Excel 另存为 .xlsx"
    assert problems[2].message == "无法打开工作簿：文件为空（0字节），可能没有保存完整或传输中断"
    assert problems_of(folder, lenient=True) == problems  # belongs to no branch: lenient mode raises too


# ------------------------------------------------------------------------------------------------
# lenient mode


@pytest.fixture
def two_bad_branches(tmp_path, county):
    """A folder where branch 1's workbook has a bad date and branch 4's an unknown meeting type."""
    books = split(county)
    bad_date, bad_kind = branch(county, 1), branch(county, 4)
    kind_row = 3
    books[bad_kind[2]]["meetings"].loc[kind_row - 2, "kind"] = "打架"
    folder = write_folder(tmp_path / "县直", books)
    set_cell(folder / bad_date[2], "组织生活记录", 2, "日期", "2025-13-45")
    problems = [
        Problem(str(folder / bad_date[2]), "组织生活记录", 2, "日期", "无法识别的日期「2025-13-45」"),
        Problem(str(folder / bad_kind[2]), "组织生活记录", kind_row, "类型",
                f"「类型」的值「打架」不在允许范围内（{KINDS}）"),
    ]
    return folder, books, (bad_date[0], bad_kind[0]), problems


def test_without_lenient_every_problem_is_raised(two_bad_branches):
    folder, _, _, problems = two_bad_branches
    with pytest.raises(DataError) as info:
        read(folder)
    assert info.value.problems == sorted(problems, key=Problem.sort_key)
    assert str(info.value).startswith("数据有 2 处问题，未生成任何结果文件：")


def test_lenient_excludes_the_branches_with_problems_and_keeps_every_row_of_the_others(two_bad_branches, county,
                                                                                      tmp_path):
    folder, _, bad, problems = two_bad_branches
    ds = read(folder, lenient=True)
    clean = read(write_folder(tmp_path / "clean", split(county)))
    for tid, frame in clean.tables.items():  # the other branches' records, value for value
        expected = frame[~frame["branch_id"].isin(bad)].reset_index(drop=True)
        pd.testing.assert_frame_equal(ds.tables[tid], expected, obj=tid)
        kept = clean.origins[tid][~frame["branch_id"].isin(bad).to_numpy()].reset_index(drop=True)
        assert ds.origins[tid]["row"].tolist() == kept["row"].tolist(), tid
    info = county["branches"].set_index("branch_id")
    ordered = [b for b in ds.excluded["branch_id"]]
    assert sorted(ordered) == sorted(bad)
    expected = pd.DataFrame({
        "branch_id": ordered,
        "name": [info.at[b, "name"] for b in ordered],
        "parent": [info.at[b, "parent"] for b in ordered],
        "category": [info.at[b, "category"] for b in ordered],
        "reasons": [str(p) for b in ordered for p in problems if p.file.endswith(f"{info.at[b, 'name']}.xlsx")],
    }, dtype=object)
    pd.testing.assert_frame_equal(ds.excluded, expected)
    assert {b: [p.code for p in ps] for b, ps in ds.excluded_problems.items()} == {
        bad[0]: [DataProblem.BAD_DATE], bad[1]: [DataProblem.BAD_ENUM]}
    assert ds.excluded["reasons"].tolist()[ordered.index(bad[0])] == (
        f"{folder / (info.at[bad[0], 'name'] + '.xlsx')} 工作表「组织生活记录」第2行「日期」列：无法识别的日期「2025-13-45」")
    for tid, frame in county.items():
        kept = frame[~frame["branch_id"].isin(bad)]
        got = ds.tables[tid]
        assert len(got) == len(kept), tid
        assert got["branch_id"].value_counts().to_dict() == kept["branch_id"].value_counts().to_dict(), tid
        assert got.index.equals(pd.RangeIndex(len(got))) and ds.origins[tid].index.equals(got.index)
    assert sorted(ds.tables["branches"]["branch_id"]) == sorted(set(county["branches"]["branch_id"]) - set(bad))
    # origins still point at the records' rows
    members = ds.tables["members"]
    origin = ds.origins["members"]
    assert (origin["file"].astype(str).map(lambda f: Path(f).stem) == members["branch_id"].map(info["name"])).all()


def test_lenient_still_raises_on_a_missing_sheet_listing_every_problem(two_bad_branches):
    folder, books, _, problems = two_bad_branches
    for name in books:
        if name == COMMITTEE_BOOK:
            continue
        wb = openpyxl.load_workbook(folder / name)
        del wb["民主评议结果"]
        wb.save(folder / name)
    missing = Problem(str(folder), None, None, None, "缺少工作表「民主评议结果」（或文件夹中的 appraisals.csv / 民主评议结果.csv）")
    assert problems_of(folder, lenient=True) == sorted([*problems, missing], key=Problem.sort_key)


def test_lenient_excludes_a_conflicting_branch(tmp_path, county):
    bid, name, own = branch(county, 0)
    _, _, other = branch(county, 1)
    books = split(county)
    books[other]["meetings"] = pd.concat([books[other]["meetings"], books[own]["meetings"]], ignore_index=True)
    folder = write_folder(tmp_path / "县直", books)
    ds = read(folder, lenient=True)
    row = len(books[other]["meetings"]) - len(books[own]["meetings"]) + 2
    assert ds.excluded["branch_id"].tolist() == [bid]
    assert [p.code for p in ds.excluded_problems[bid]] == [DataProblem.CONFLICTING_FILES]
    assert ds.excluded["reasons"].tolist() == [
        f"{folder / other} 工作表「组织生活记录」第{row}行「支部编码」列："
        f"支部「{bid}」的「组织生活记录」同时出现在「{own}」和「{other}」中，请核对后只保留一份"]
    # the copies in the other workbook went with the branch; the other branch keeps its own meetings
    meetings = ds.tables["meetings"]
    assert bid not in set(meetings["branch_id"])
    assert len(meetings) == len(county["meetings"]) - (county["meetings"]["branch_id"] == bid).sum()


def test_lenient_attributes_member_records_to_the_members_branch(tmp_path, county):
    # a dues row with an empty 支部编码 belongs to the branch of its member
    bid, _, own = branch(county, 2)
    books = split(county)
    folder = write_folder(tmp_path / "县直", books)
    set_cell(folder / own, "党费交纳", 2, "支部编码", None)
    ds = read(folder, lenient=True)
    assert ds.excluded["branch_id"].tolist() == [bid]
    assert ds.excluded["reasons"].tolist() == [
        f"{folder / own} 工作表「党费交纳」第2行「支部编码」列：「支部编码」为必填项，不能为空"]
    assert [p.code for p in ds.excluded_problems[bid]] == [DataProblem.EMPTY_REQUIRED]
    assert not ds.tables["dues"]["branch_id"].isna().any()
    assert bid not in set(ds.tables["members"]["branch_id"])


def test_lenient_raises_on_a_bad_branch_code_itself(tmp_path, county):
    _, _, own = branch(county, 2)
    books = split(county)
    folder = write_folder(tmp_path / "县直", books)
    set_cell(folder / own, "组织生活记录", 2, "支部编码", "XZ09-999")
    assert problems_of(folder, lenient=True) == [Problem(
        str(folder / own), "组织生活记录", 2, "支部编码", "支部编码「XZ09-999」在「支部信息」中不存在")]
    assert problems_of(folder, lenient=True)[0].code is DataProblem.UNKNOWN_REFERENCE  # of a record, of no branch


def test_lenient_lists_a_branch_without_records_as_excluded(tmp_path, county):
    books = split(county, roster_in_committee=True)
    roster = books[COMMITTEE_BOOK]["branches"]
    new = roster.iloc[[0]].assign(branch_id="XZ01-007", name="柳河村党支部", category="农村", parent="示例镇党委")
    books[COMMITTEE_BOOK]["branches"] = pd.concat([roster, new], ignore_index=True)
    folder = write_folder(tmp_path / "县直", books)
    ds = read(folder, lenient=True)
    assert ds.excluded.to_dict("records") == [{
        "branch_id": "XZ01-007", "name": "柳河村党支部", "parent": "示例镇党委", "category": "农村",
        "reasons": f"{folder / COMMITTEE_BOOK} 工作表「支部信息」第{len(roster) + 2}行「支部编码」列："
                   "支部「XZ01-007 柳河村党支部」在「支部信息」中，但没有任何记录（未收到该支部的工作簿？）"}]
    assert len(ds.tables["branches"]) == 6
    assert [p.code for p in ds.excluded_problems["XZ01-007"]] == [DataProblem.BRANCH_WITHOUT_RECORDS]


def test_lenient_in_one_county_workbook_lists_each_branchs_own_problems(tmp_path, county):
    # in one workbook the cap on repeated problems applies per branch, so each branch gets its reasons
    meetings = county["meetings"].copy()
    path = write_dataset({**county, "meetings": meetings}, tmp_path / "county.xlsx")[0]
    first, second = branch(county, 0)[0], branch(county, 5)[0]
    rows_first = (meetings.index[meetings["branch_id"] == first] + 2).tolist()
    rows_second = (meetings.index[meetings["branch_id"] == second] + 2).tolist()[:2]
    assert len(rows_first) > MAX_LISTED
    wb = openpyxl.load_workbook(path)
    ws = wb["组织生活记录"]
    for r in rows_first + rows_second:
        ws.cell(r, 2, "下个月")
    wb.save(path)
    with pytest.raises(DataError) as info:
        read(path)
    assert len(info.value.problems) == MAX_LISTED + 1  # without lenient: capped per column and sheet
    ds = read(path, lenient=True)
    reasons = dict(zip(ds.excluded["branch_id"], ds.excluded["reasons"]))
    assert sorted(reasons) == sorted([first, second])
    listed = reasons[first].split("；")
    assert len(listed) == MAX_LISTED + 1
    assert listed[-1] == (f"{path} 工作表「组织生活记录」第{rows_first[MAX_LISTED]}行「日期」列："
                          f"…该列另有{len(rows_first) - MAX_LISTED}处同类问题（无法识别的日期，自本行起未逐一列出）")
    assert reasons[second].split("；") == [
        f"{path} 工作表「组织生活记录」第{r}行「日期」列：无法识别的日期「下个月」" for r in rows_second]
    assert set(ds.tables["meetings"]["branch_id"]) == set(county["branches"]["branch_id"]) - {first, second}
