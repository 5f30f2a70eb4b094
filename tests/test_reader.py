"""Reading and validating input records: formats, header/sheet matching, coercion, located problems."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import DataError, DataNote, DataProblem, Problem, UsageError
from scoring.reader import MAX_LISTED, _convert, _split, read_dataset
from plugins.sample_county import builtin_table_map

SPECS = builtin_table_map()

BR_H = ["支部编码", "支部名称", "类别", "上级党组织", "书记", "支委人数", "上次换届日期", "任期(年)", "自评分"]
BR = [
    ["XZ01-001", "东岗村党支部", "农村", "示例镇党委", "张三", 5, datetime(2021, 5, 20), None, 92],
    ["XZ01-002", "西岗社区党支部", "社区", "示例镇党委", "李四", 3, datetime(2022, 6, 1), 3, 88.5],
]
MB_H = ["党员编号", "支部编码", "姓名", "性别", "出生日期", "入党日期", "党员类别", "支部职务", "学历", "流动党员",
        "最近联系日期"]
MB = [
    ["XZ01-001-01", "XZ01-001", "王五", "男", datetime(1970, 3, 1), datetime(1995, 7, 1), "正式", "书记", "高中", "否", None],
    ["XZ01-001-02", "XZ01-001", "赵六", "女", datetime(1988, 1, 9), datetime(2024, 7, 1), "预备", "党员", "大专", "是",
     datetime(2025, 3, 1)],
    ["XZ01-002-01", "XZ01-002", "钱七", "男", None, None, "正式", None, None, None, None],
]
MT_H = ["支部编码", "日期", "类型", "应到人数", "实到人数", "主题"]
MT = [
    ["XZ01-001", datetime(2025, 1, 15), "支委会", 5, 5, "学习"],
    ["XZ01-002", datetime(2025, 2, 10), "党课", 30, 28, None],
]
DU_H = ["党员编号", "支部编码", "月份", "应交金额", "实交金额", "交纳日期"]
DU = [
    ["XZ01-001-01", "XZ01-001", "2025-01", 10, 10, datetime(2025, 1, 10)],
    ["XZ01-001-01", "XZ01-001", "2025-02", 10, 0, None],
    ["XZ01-001-02", "XZ01-001", "2025-01", 2.5, 2.5, datetime(2025, 1, 12)],
]


def clean_sheets() -> dict[str, list[list]]:
    return {
        "支部信息": [BR_H, *BR],
        "党员名册": [MB_H, *MB],
        "组织生活记录": [MT_H, *MT],
        "党费交纳": [DU_H, *DU],
    }


def write_book(path: Path, sheets: dict[str, list[list]], merge: dict[str, str] | None = None) -> Path:
    """Rows are written from A1; ``merge`` maps a sheet to a range to merge (a title cell)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
        if merge and name in merge:
            ws.merge_cells(merge[name])
    wb.save(path)
    return path


def read(paths, needed=("members", "meetings", "dues")):
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return read_dataset([Path(p) for p in paths], SPECS, needed)


def problems_of(paths, needed=("members", "meetings", "dues")) -> list[Problem]:
    with pytest.raises(DataError) as info:
        read(paths, needed)
    return info.value.problems


def messages(problems) -> list[str]:
    return [p.message for p in problems]


# ------------------------------------------------------------------------------------------------
# clean inputs in every format


def test_clean_workbook_has_canonical_columns_and_dtypes(tmp_path):
    ds = read(write_book(tmp_path / "data.xlsx", clean_sheets()))
    assert set(ds.tables) == {"branches", "members", "meetings", "dues"}
    br = ds.tables["branches"]
    assert list(br.columns) == list(SPECS["branches"].column_ids)
    assert {c: str(t) for c, t in br.dtypes.items()} == {
        "branch_id": "object", "name": "object", "category": "object", "parent": "object",
        "secretary": "object", "committee_size": "Int64", "last_election": "datetime64[ns]",
        "term_years": "Int64", "self_score": "float64",
    }
    assert br["branch_id"].tolist() == ["XZ01-001", "XZ01-002"]
    assert br["term_years"].tolist()[1] == 3 and br["term_years"].isna().tolist() == [True, False]
    assert br["last_election"].tolist() == [pd.Timestamp("2021-05-20"), pd.Timestamp("2022-06-01")]
    assert br["self_score"].tolist() == [92.0, 88.5]
    mb = ds.tables["members"]
    assert str(mb["is_mobile"].dtype) == "boolean"
    assert mb["is_mobile"].tolist() == [False, True, pd.NA]
    assert mb["role"].tolist() == ["书记", "党员", None]  # empty optional text is None, not NaN or ""
    assert mb["birth_date"].isna().tolist() == [False, False, True]
    du = ds.tables["dues"]
    assert du["month"].tolist() == ["2025-01", "2025-02", "2025-01"]
    assert du["due"].dtype == "float64" and du["paid_date"].dtype == "datetime64[ns]"
    assert str(ds.tables["meetings"]["expected"].dtype) == "Int64"
    assert ds.sources == [str(tmp_path / "data.xlsx")]
    assert ds.notes == []


def test_origins_point_at_excel_rows(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, MT[0], [None] * 6, MT[1], [None] * 6, [None] * 6]  # an empty row in between
    path = write_book(tmp_path / "data.xlsx", sheets)
    ds = read(path)
    assert len(ds.tables["meetings"]) == 2
    origin = ds.origins["meetings"]
    assert origin.index.equals(ds.tables["meetings"].index)
    assert origin["row"].tolist() == [2, 4]
    assert origin["sheet"].astype(str).tolist() == ["组织生活记录"] * 2
    assert origin["file"].astype(str).tolist() == [str(path)] * 2


def test_english_column_ids_and_table_ids_are_accepted(tmp_path):
    ids = {name: list(SPECS[tid].column_ids) for tid, name in
           [("branches", "支部信息"), ("members", "党员名册"), ("meetings", "组织生活记录"), ("dues", "党费交纳")]}
    sheets = clean_sheets()
    book = {
        "branches": [ids["支部信息"], *sheets["支部信息"][1:]],
        "members": [ids["党员名册"], *sheets["党员名册"][1:]],
        "组织生活记录": [ids["组织生活记录"], *sheets["组织生活记录"][1:]],
        "党费交纳": [[h.upper() for h in ids["党费交纳"]], *sheets["党费交纳"][1:]],  # case does not matter
    }
    ds = read(write_book(tmp_path / "en.xlsx", book))
    expected = read(write_book(tmp_path / "zh.xlsx", clean_sheets()))
    for tid in expected.tables:
        pd.testing.assert_frame_equal(ds.tables[tid], expected.tables[tid])


def test_header_variants_star_marker_spaces_and_fullwidth_parentheses(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"][0] = ["支部编码*", " 支部名称 ", "类\u3000别", "上级党组织＊", "书记", "支委人数",
                             "上次换届日期", "任期（年）", "自评分"]
    ds = read(write_book(tmp_path / "d.xlsx", sheets))
    assert ds.tables["branches"]["category"].tolist() == ["农村", "社区"]
    assert ds.tables["branches"]["term_years"].tolist()[1] == 3


def test_csv_folder_reads_like_the_workbook(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    expected = read(write_book(tmp_path / "d.xlsx", clean_sheets()))
    names = {"branches": "支部信息", "members": "党员名册", "meetings": "meetings", "dues": "dues"}
    for tid, stem in names.items():
        frame = expected.tables[tid].copy()
        for col in frame.columns:
            if str(frame[col].dtype).startswith("datetime"):
                frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        frame.columns = [SPECS[tid].column(c).header for c in frame.columns]
        encoding = "gb18030" if tid == "members" else "utf-8-sig"  # a BOM, and a file saved by Chinese Excel
        frame.to_csv(folder / f"{stem}.csv", index=False, encoding=encoding)
    ds = read(folder)
    for tid in expected.tables:
        pd.testing.assert_frame_equal(ds.tables[tid], expected.tables[tid], check_dtype=True)
    assert ds.origins["dues"]["row"].tolist() == [2, 3, 4]  # CSV line numbers, header on line 1
    assert ds.origins["dues"]["sheet"].isna().all()
    assert Problem(str(folder / "党员名册.csv"), None, None, None, "文件不是 UTF-8 编码，已按 GB18030 读取") in ds.notes


def test_parquet_folder_reads_typed_columns(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    expected = read(write_book(tmp_path / "d.xlsx", clean_sheets()))
    for tid, frame in expected.tables.items():
        frame.to_parquet(folder / f"{tid}.parquet", index=False)
    ds = read(folder)
    for tid in expected.tables:
        pd.testing.assert_frame_equal(ds.tables[tid], expected.tables[tid])


def test_folder_of_workbooks_is_merged(tmp_path):
    folder = tmp_path / "branches"
    folder.mkdir()
    write_book(folder / "东岗村.xlsx", {
        "支部信息": [BR_H, BR[0]], "党员名册": [MB_H, MB[0], MB[1]],
        "组织生活记录": [MT_H, MT[0]], "党费交纳": [DU_H, *DU],
    })
    write_book(folder / "西岗社区.xlsx", {
        "支部信息": [BR_H, BR[1]], "党员名册": [MB_H, MB[2]],
        "组织生活记录": [MT_H, MT[1]], "党费交纳": [DU_H],
    })
    (folder / "~$东岗村.xlsx").write_bytes(b"lock file of an open workbook")
    ds = read(folder)
    assert ds.tables["branches"]["branch_id"].tolist() == ["XZ01-001", "XZ01-002"]
    assert ds.tables["members"]["member_id"].tolist() == ["XZ01-001-01", "XZ01-001-02", "XZ01-002-01"]
    assert len(ds.tables["dues"]) == 3
    origin = ds.origins["members"]
    assert origin["file"].astype(str).tolist() == [str(folder / "东岗村.xlsx")] * 2 + [str(folder / "西岗社区.xlsx")]
    assert origin["row"].tolist() == [2, 3, 2]
    assert ds.sources == [str(folder / "东岗村.xlsx"), str(folder / "西岗社区.xlsx")]


def test_several_paths_are_merged_and_duplicates_across_files_point_to_the_other_file(tmp_path):
    a = write_book(tmp_path / "a.xlsx", clean_sheets())
    b = write_book(tmp_path / "b.xlsx", {"支部信息": [BR_H, BR[1]]})
    problems = problems_of([a, b])
    assert problems == [
        Problem(str(a), "支部信息", 3, "支部编码", "支部编码「XZ01-002」重复（另见「b.xlsx」第2行）"),
        Problem(str(b), "支部信息", 2, "支部编码", "支部编码「XZ01-002」重复（另见「a.xlsx」第3行）"),
    ]


def test_duplicates_across_files_with_equal_names_or_other_sheets_say_which(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = write_book(tmp_path / "x" / "d.xlsx", clean_sheets())
    b = write_book(tmp_path / "y" / "d.xlsx", {"支部信息": [BR_H, BR[1]]})
    c = write_book(tmp_path / "c.xlsx", {"党费交纳2": [DU_H, DU[0]]})
    assert problems_of([a, b, c]) == sorted([
        Problem(str(c), "党费交纳2", 2, "党员编号",
                "党员编号「XZ01-001-01」、月份「2025-01」重复（另见「d.xlsx」工作表「党费交纳」第2行）"),
        Problem(str(c), "党费交纳2", 2, "支部编码",
                "支部「XZ01-001」的「党费交纳」同时出现在「d.xlsx」和「c.xlsx」中，请核对后只保留一份"),
        Problem(str(a), "党费交纳", 2, "党员编号",
                "党员编号「XZ01-001-01」、月份「2025-01」重复（另见「c.xlsx」工作表「党费交纳2」第2行）"),
        Problem(str(a), "支部信息", 3, "支部编码", f"支部编码「XZ01-002」重复（另见「{b}」第2行）"),
        Problem(str(b), "支部信息", 2, "支部编码", f"支部编码「XZ01-002」重复（另见「{a}」第3行）"),
    ], key=Problem.sort_key)


def test_title_rows_above_the_header_are_skipped(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"] = [["2025年度支部信息表", None, None], [None], ["填报单位：示例镇党委"], BR_H, *BR]
    path = write_book(tmp_path / "d.xlsx", sheets, merge={"支部信息": "A1:I1"})
    ds = read(path)
    assert ds.tables["branches"]["branch_id"].tolist() == ["XZ01-001", "XZ01-002"]
    assert ds.origins["branches"]["row"].tolist() == [5, 6]
    assert ds.notes == [Problem(str(path), "支部信息", None, None, "表头在第4行，上方的标题行已跳过")]


def test_sheet_not_starting_at_a1_keeps_row_numbers(tmp_path):
    path = tmp_path / "d.xlsx"
    write_book(path, clean_sheets())
    wb = openpyxl.load_workbook(path)
    ws = wb["组织生活记录"]
    ws.delete_rows(1, ws.max_row)
    for r, row in enumerate([MT_H, MT[0], ["XZ01-001", "2025-13-45", "党课", 3, 3, None]], start=3):
        for c, v in enumerate(row, start=2):
            ws.cell(r, c, v)
    wb.save(path)
    assert problems_of(path) == [Problem(str(path), "组织生活记录", 5, "日期", "无法识别的日期「2025-13-45」")]


def test_unknown_sheets_and_columns_are_ignored_with_a_note(tmp_path):
    sheets = clean_sheets()
    sheets["汇总"] = [["随便写点什么"]]
    sheets["填表说明"] = [["说明文字"]]  # the template's own instruction sheet: no note
    sheets["支部信息"] = [[*BR_H, "备注"], *[[*r, "x"] for r in BR]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert list(ds.tables["branches"].columns) == list(SPECS["branches"].column_ids)
    assert ds.notes == [
        Problem(str(path), "支部信息", None, "备注", "不是该表的列，已忽略"),
        Problem(str(path), "汇总", None, None, "不是已知的工作表，已忽略"),
    ]


def test_unneeded_table_present_is_read_and_validated(tmp_path):
    sheets = clean_sheets()
    sheets["负面事项"] = [["支部编码", "类型", "日期", "说明"], ["XZ01-001", "打架", datetime(2025, 8, 1), None]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(
        str(path), "负面事项", 2, "类型",
        "「类型」的值「打架」不在允许范围内（严重违纪违法、群体性事件、重大安全事故、越级上访、纪律处分）")]


def test_optional_column_absent_is_added_empty(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"] = [BR_H[:4] + ["上次换届日期"], *[r[:4] + [r[6]] for r in BR]]
    ds = read(write_book(tmp_path / "d.xlsx", sheets))
    br = ds.tables["branches"]
    assert list(br.columns) == list(SPECS["branches"].column_ids)
    assert br["secretary"].tolist() == [None, None]
    assert str(br["committee_size"].dtype) == "Int64" and br["committee_size"].isna().all()
    assert br["self_score"].isna().all() and br["self_score"].dtype == "float64"


# ------------------------------------------------------------------------------------------------
# tolerated formats


def test_text_dates_in_every_listed_format(tmp_path):
    texts = ["2025-03-01", "2025-3-1", "2025/03/01", "2025.3.1", "2025年3月1日", "20250301",
             "２０２５年３月１日", " 2025-03-01 ", "2025-03-01 00:00:00"]
    rows = [["XZ01-001", t, "党课", 3, 3, None] for t in texts]
    rows += [["XZ01-001", 45717, "党课", 3, 3, None],  # an Excel serial number: 2025-03-01
             ["XZ01-001", date(2025, 3, 1), "党课", 3, 3, None]]
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, *rows]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert ds.tables["meetings"]["date"].tolist() == [pd.Timestamp("2025-03-01")] * len(rows)
    assert Problem(str(path), "组织生活记录", None, "日期", "9处文本日期已识别为日期（如「2025-03-01」）") in ds.notes
    assert Problem(str(path), "组织生活记录", None, "日期", "1处数字已按日期识别（如「45717→2025-03-01」）") in ds.notes
    assert sorted(n.code for n in ds.notes if n.column == "日期") == [DataNote.NUMBER_DATE, DataNote.TEXT_DATE]


def test_months_in_every_listed_format(tmp_path):
    months = ["2025-01", "2025-1", "2025/01", "2025年1月", "2025.1", "202501", datetime(2025, 1, 1),
              "2025-01-15", 45672, 202501]
    members = [[f"XZ01-001-{i:02d}", "XZ01-001", "某", None, None, None, "正式", None, None, None, None]
               for i in range(len(months))]
    sheets = clean_sheets()
    sheets["党员名册"] = [MB_H, *members]
    sheets["党费交纳"] = [DU_H, *[[m[0], "XZ01-001", month, 10, 10, None] for m, month in zip(members, months)]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert ds.tables["dues"]["month"].tolist() == ["2025-01"] * len(months)
    assert Problem(str(path), "党费交纳", None, "月份", "6处月份已统一为YYYY-MM格式（如「2025-1→2025-01」）") in ds.notes


def test_bools_accept_chinese_marks_and_english_words(tmp_path):
    words = ["是", "否", "√", "×", "Y", "n", "TRUE", "false", 1, 0, "有", "无", True, False]
    rows = [[f"XZ01-001-{i:02d}", "XZ01-001", "某", None, None, None, "正式", None, None, w, None]
            for i, w in enumerate(words)]
    sheets = clean_sheets()
    sheets["党员名册"] = [MB_H, *rows]
    sheets["党费交纳"] = [DU_H]
    ds = read(write_book(tmp_path / "d.xlsx", sheets))
    assert ds.tables["members"]["is_mobile"].tolist() == [True, False] * 7


def test_fullwidth_digits_and_thousands_separators_in_numbers(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, ["XZ01-001", "2025-01-15", "支委会", "１２", " 12 ", None],
                             ["XZ01-002", "2025-01-15", "党课", "1,200", "1200", None]]
    sheets["党费交纳"] = [DU_H, ["XZ01-001-01", "XZ01-001", "2025-01", "１０．５", 10.5, None]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert ds.tables["meetings"]["expected"].tolist() == [12, 1200]
    assert ds.tables["meetings"]["attended"].tolist() == [12, 1200]
    assert ds.tables["dues"]["due"].tolist() == [10.5]
    assert Problem(str(path), "组织生活记录", None, "应到人数", "1处全角数字已转换为半角（如「１２」）") in ds.notes
    assert Problem(str(path), "组织生活记录", None, "应到人数", "1处数字中的千位分隔符已去除（如「1,200」）") in ds.notes
    assert Problem(str(path), "党费交纳", None, "应交金额", "1处全角数字已转换为半角（如「１０．５」）") in ds.notes


def test_text_is_stripped_of_spaces_including_ideographic_space(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"][1] = [" XZ01-001\u3000", "东岗村党支部 ", " 农村", *BR[0][3:]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert ds.tables["branches"]["branch_id"].tolist() == ["XZ01-001", "XZ01-002"]
    assert ds.tables["branches"]["category"].tolist() == ["农村", "社区"]
    assert Problem(str(path), "支部信息", None, "支部编码", "1处单元格首尾的空格已去除") in ds.notes


def test_numbers_in_text_columns_read_without_decimal_point(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"] = [BR_H, [1001, "甲", "农村", "乙", None, None, datetime(2021, 1, 1), None, None]]
    sheets["党员名册"] = [MB_H]
    sheets["组织生活记录"] = [MT_H, ["1001", datetime(2025, 1, 1), "党课", 1, 1, None]]
    sheets["党费交纳"] = [DU_H]
    ds = read(write_book(tmp_path / "d.xlsx", sheets))
    assert ds.tables["branches"]["branch_id"].tolist() == ["1001"]  # and the text "1001" matches it


def test_notes_from_many_files_of_a_folder_are_merged(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    for i, row in enumerate(BR):
        write_book(folder / f"{i}.xlsx", {"支部信息": [["标题"], BR_H, row]})
    ds = read(folder, needed=())
    assert ds.notes == [Problem(str(folder), "支部信息", None, None, "表头在第2行，上方的标题行已跳过（涉及2个文件，如 0.xlsx）")]


# ------------------------------------------------------------------------------------------------
# problems, one kind at a time


def test_missing_sheet(tmp_path):
    sheets = clean_sheets()
    del sheets["党员名册"]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path, needed=("members", "meetings")) == [Problem(str(path), None, None, None, "缺少工作表「党员名册」")]


def test_missing_table_in_a_csv_folder_says_which_file_is_expected(tmp_path):
    (tmp_path / "branches.csv").write_text(",".join(BR_H) + "\nXZ01-001,甲,农村,乙,,,2021-01-01,,\n", encoding="utf-8")
    assert messages(problems_of(tmp_path, needed=("members",))) == ["缺少工作表「党员名册」（或文件夹中的 members.csv / 党员名册.csv）"]


def test_missing_required_column(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [[h for h in MT_H if h != "实到人数"], *[[v for h, v in zip(MT_H, r) if h != "实到人数"] for r in MT]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(str(path), "组织生活记录", None, "实到人数", "缺少必填列「实到人数」")]


def test_bad_number_and_non_integer(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, ["XZ01-001", "2025-01-15", "支委会", "十二", 5.5, None]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [
        Problem(str(path), "组织生活记录", 2, "实到人数", "「实到人数」应为整数，实际为「5.5」"),
        Problem(str(path), "组织生活记录", 2, "应到人数", "「应到人数」应为数字，实际为「十二」"),
    ]
    assert [p.code for p in problems_of(path)] == [DataProblem.NOT_INTEGER, DataProblem.BAD_NUMBER]


def test_bad_date_and_bad_month(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, ["XZ01-001", "2025-13-45", "支委会", 5, 5, None],
                             ["XZ01-001", "下个月", "支委会", 5, 5, None]]
    sheets["党费交纳"] = [DU_H, ["XZ01-001-01", "XZ01-001", 2025.1, 10, 10, None],
                         ["XZ01-001-01", "XZ01-001", "2025-13", 10, 10, "2025-02-30"]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [
        Problem(str(path), "党费交纳", 2, "月份", "无法识别的月份「2025.1」（应写成 YYYY-MM，如 2025-01）"),
        Problem(str(path), "党费交纳", 3, "交纳日期", "无法识别的日期「2025-02-30」"),
        Problem(str(path), "党费交纳", 3, "月份", "无法识别的月份「2025-13」（应写成 YYYY-MM，如 2025-01）"),
        Problem(str(path), "组织生活记录", 2, "日期", "无法识别的日期「2025-13-45」"),
        Problem(str(path), "组织生活记录", 3, "日期", "无法识别的日期「下个月」"),
    ]
    assert [p.code for p in problems_of(path)] == [DataProblem.BAD_MONTH, DataProblem.BAD_DATE, DataProblem.BAD_MONTH,
                                                   DataProblem.BAD_DATE, DataProblem.BAD_DATE]


def test_unknown_enum_value(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"][2] = ["XZ01-002", "西岗", "乡村", *BR[1][3:]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(
        str(path), "支部信息", 3, "类别",
        "「类别」的值「乡村」不在允许范围内（农村、社区、机关、国有企业、非公企业、学校、社会组织）")]


def test_bad_bool(tmp_path):
    sheets = clean_sheets()
    sheets["党员名册"][1] = [*MB[0][:9], "也许", None]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(str(path), "党员名册", 2, "流动党员", "「流动党员」应填「是」或「否」，实际为「也许」")]
    assert problems_of(path)[0].code is DataProblem.BAD_BOOL


def test_empty_required_cell(tmp_path):
    sheets = clean_sheets()
    sheets["党员名册"][2] = [MB[1][0], MB[1][1], "\u3000", *MB[1][3:]]  # only a full-width space
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(str(path), "党员名册", 3, "姓名", "「姓名」为必填项，不能为空")]


def test_unknown_branch_id(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"].append(["XZ09-999", "2025-01-15", "党课", 5, 5, None])
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(str(path), "组织生活记录", 4, "支部编码", "支部编码「XZ09-999」在「支部信息」中不存在")]


def test_unknown_member_id(tmp_path):
    sheets = clean_sheets()
    sheets["党费交纳"].append(["XZ01-001-99", "XZ01-001", "2025-01", 10, 10, None])
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(str(path), "党费交纳", 5, "党员编号", "党员编号「XZ01-001-99」在「党员名册」中不存在")]


def test_member_record_in_another_branch_than_the_roster_says(tmp_path):
    sheets = clean_sheets()
    sheets["党费交纳"].append(["XZ01-002-01", "XZ01-001", "2025-01", 10, 10, None])
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(
        str(path), "党费交纳", 5, "支部编码",
        "党员编号「XZ01-002-01」在「党员名册」中的支部编码是「XZ01-002」，与本行支部编码「XZ01-001」不一致")]
    assert problems_of(path)[0].code is DataProblem.INCONSISTENT_REFERENCE


def test_duplicate_keys_single_and_composite(tmp_path):
    sheets = clean_sheets()
    sheets["支部信息"] = [BR_H, BR[0], BR[1], BR[0], BR[0]]
    sheets["党费交纳"].append(DU[1])
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [
        Problem(str(path), "党费交纳", 3, "党员编号", "党员编号「XZ01-001-01」、月份「2025-02」重复（另见第5行）"),
        Problem(str(path), "党费交纳", 5, "党员编号", "党员编号「XZ01-001-01」、月份「2025-02」重复（另见第3行）"),
        Problem(str(path), "支部信息", 2, "支部编码", "支部编码「XZ01-001」重复（另见第4行）"),
        Problem(str(path), "支部信息", 4, "支部编码", "支部编码「XZ01-001」重复（另见第2行）"),
        Problem(str(path), "支部信息", 5, "支部编码", "支部编码「XZ01-001」重复（另见第2行）"),
    ]


def test_duplicate_header_is_a_problem(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [[*MT_H, "date"], *[[*r, r[1]] for r in MT]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [
        Problem(str(path), "组织生活记录", 1, "date", "「date」列重复出现（第B列和第G列），无法确定使用哪一列")]
    assert problems_of(path)[0].code is DataProblem.DUPLICATE_COLUMN


def test_header_not_found(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [["甲", "乙"], ["1", "2"]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [Problem(
        str(path), "组织生活记录", None, None, "前10行中找不到表头（表头应包含「支部编码」、「日期」、「类型」、「应到人数」等列）")]
    assert problems_of(path)[0].code is DataProblem.HEADER_NOT_FOUND


def test_repeated_problems_in_one_column_are_capped(tmp_path):
    sheets = clean_sheets()
    n = MAX_LISTED + 15
    sheets["组织生活记录"] = [MT_H, *[["XZ01-001", f"2025-13-{i:02d}", "党课", 3, 3, None] for i in range(n)]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    problems = problems_of(path)
    assert len(problems) == MAX_LISTED + 1
    assert problems[0] == Problem(str(path), "组织生活记录", 2, "日期", "无法识别的日期「2025-13-00」")
    assert problems[MAX_LISTED - 1].row == MAX_LISTED + 1
    assert problems[-1] == Problem(str(path), "组织生活记录", MAX_LISTED + 2, "日期",
                                   "…该列另有15处同类问题（无法识别的日期，自本行起未逐一列出）")
    assert {p.code for p in problems} == {DataProblem.BAD_DATE}  # the summary line has the code it sums up


# ------------------------------------------------------------------------------------------------
# everything at once


def test_every_problem_of_one_workbook_is_reported_together(tmp_path):
    sheets = {
        "支部信息": [["2025年度考核数据"], BR_H,
                 BR[0],
                 ["XZ01-002", "西岗社区党支部", "乡村", "示例镇党委", None, None, datetime(2022, 6, 1), None, None],
                 BR[0]],
        "党员名册": [MB_H, MB[0], [MB[1][0], MB[1][1], None, *MB[1][3:]], MB[2]],
        "组织生活记录": [MT_H[:4] + MT_H[5:],
                   ["XZ01-001", "2025-13-45", "支委会", "十二", None],
                   ["XZ09-999", datetime(2025, 2, 1), "党课", 5, None]],
        "党费交纳": [DU_H, DU[0], ["XZ01-001-99", "XZ01-001", "2025-01", 10, 10, None]],
    }
    path = write_book(tmp_path / "all.xlsx", sheets)
    f = str(path)
    problems = problems_of(path, needed=("members", "meetings", "dues", "appraisals"))
    assert problems == sorted([
        Problem(f, None, None, None, "缺少工作表「民主评议结果」"),
        Problem(f, "组织生活记录", None, "实到人数", "缺少必填列「实到人数」"),
        Problem(f, "组织生活记录", 2, "应到人数", "「应到人数」应为数字，实际为「十二」"),
        Problem(f, "组织生活记录", 2, "日期", "无法识别的日期「2025-13-45」"),
        Problem(f, "支部信息", 4, "类别", "「类别」的值「乡村」不在允许范围内（农村、社区、机关、国有企业、非公企业、学校、社会组织）"),
        Problem(f, "党员名册", 3, "姓名", "「姓名」为必填项，不能为空"),
        Problem(f, "组织生活记录", 3, "支部编码", "支部编码「XZ09-999」在「支部信息」中不存在"),
        Problem(f, "党费交纳", 3, "党员编号", "党员编号「XZ01-001-99」在「党员名册」中不存在"),
        Problem(f, "支部信息", 3, "支部编码", "支部编码「XZ01-001」重复（另见第5行）"),
        Problem(f, "支部信息", 5, "支部编码", "支部编码「XZ01-001」重复（另见第3行）"),
    ], key=Problem.sort_key)
    P = DataProblem
    assert [(p.sheet, p.row, p.code) for p in problems] == [
        (None, None, P.MISSING_SHEET), ("党员名册", 3, P.EMPTY_REQUIRED), ("党费交纳", 3, P.UNKNOWN_REFERENCE),
        ("支部信息", 3, P.DUPLICATE_KEY), ("支部信息", 4, P.BAD_ENUM), ("支部信息", 5, P.DUPLICATE_KEY),
        ("组织生活记录", None, P.MISSING_COLUMN), ("组织生活记录", 2, P.BAD_NUMBER), ("组织生活记录", 2, P.BAD_DATE),
        ("组织生活记录", 3, P.UNKNOWN_REFERENCE)]
    text = str(DataError(problems))
    assert text.startswith("数据有 10 处问题，未生成任何结果文件：")
    assert f"{f} 工作表「组织生活记录」第2行「应到人数」列：「应到人数」应为数字，实际为「十二」" in text


# ------------------------------------------------------------------------------------------------
# usage errors


def test_nonexistent_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="找不到输入"):
        read(tmp_path / "nope.xlsx")


def test_unsupported_file_is_a_usage_error(tmp_path):
    doc = tmp_path / "data.docx"
    doc.write_bytes(b"x")
    with pytest.raises(UsageError, match="无法识别的输入文件"):
        read(doc)


def test_damaged_workbook_is_a_located_problem(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip file")
    problems = problems_of(bad)
    assert all(p.file == str(bad) and p.sheet is None for p in problems)
    assert [p.code for p in problems] == [DataProblem.UNREADABLE_FILE] + [DataProblem.MISSING_SHEET] * 4
    assert set(messages(problems)[1:]) == {"缺少工作表「支部信息」", "缺少工作表「党员名册」", "缺少工作表「组织生活记录」",
                                           "缺少工作表「党费交纳」"}


def test_why_a_workbook_cannot_be_opened_is_said_in_words(tmp_path):
    cases = {
        "加密.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), "工作簿设有打开密码或已加密，请取消密码后重新保存"),
        "导出.xls": ("\ufeff<html><table><tr><td>支部编码</td></tr></table></html>".encode(),
                   "文件实际是网页或 XML 格式（常见于从其他系统导出的表格），请用 Excel 打开后另存为 .xlsx"),
        "空白.xlsx": (b"", "文件为空（0字节），可能没有保存完整或传输中断"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert problems_of(path, needed=())[0] == Problem(str(path), None, None, None, f"无法打开工作簿：{reason}")


def test_hidden_and_system_entries_of_a_folder_are_skipped_with_notes(tmp_path):
    write_book(tmp_path / "d.xlsx", clean_sheets())
    (tmp_path / ".git").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "._d.xlsx").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / "Thumbs.db").write_bytes(b"\x00")
    ds = read(tmp_path)
    assert ds.sources == [str(tmp_path / "d.xlsx")]
    assert ds.notes == sorted([
        Problem(str(tmp_path / ".git"), None, None, None, "「.git」是隐藏或系统文件夹，已跳过"),
        Problem(str(tmp_path / "._d.xlsx"), None, None, None, "「._d.xlsx」是隐藏或系统文件，已跳过"),
        Problem(str(tmp_path / "Thumbs.db"), None, None, None, "「Thumbs.db」是隐藏或系统文件，已跳过"),
        Problem(str(tmp_path / "__MACOSX"), None, None, None, "「__MACOSX」是隐藏或系统文件夹，已跳过"),
    ], key=Problem.sort_key)
    assert {n.code for n in ds.notes} == {DataNote.HIDDEN}


# ------------------------------------------------------------------------------------------------
# more layouts


def test_continuation_sheets_beyond_the_excel_row_limit(tmp_path):
    sheets = clean_sheets()
    sheets["党费交纳"] = [DU_H, DU[0]]
    sheets["党费交纳（续）"] = [DU_H, DU[1], DU[2]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert ds.tables["dues"]["month"].tolist() == ["2025-01", "2025-02", "2025-01"]
    assert ds.origins["dues"]["sheet"].astype(str).tolist() == ["党费交纳", "党费交纳（续）", "党费交纳（续）"]
    assert ds.origins["dues"]["row"].tolist() == [2, 2, 3]
    assert ds.notes == [Problem(str(path), "党费交纳（续）", None, None, "作为「党费交纳」的续表读取")]


def test_csv_with_a_title_line_and_ragged_rows(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "支部信息.csv").write_text(
        "2025年度支部信息\n" + ",".join(BR_H) + "\n"
        "XZ01-001,东岗村党支部,农村,示例镇党委,张三,5,2021/5/20,,92\n"
        "\n"
        "XZ01-002,西岗社区党支部,社区,示例镇党委,李四,3,2022年6月1日,3,\n",
        encoding="utf-8")
    ds = read(folder, needed=())
    br = ds.tables["branches"]
    assert br["last_election"].tolist() == [pd.Timestamp("2021-05-20"), pd.Timestamp("2022-06-01")]
    assert ds.origins["branches"]["row"].tolist() == [3, 5]
    f = str(folder / "支部信息.csv")
    assert ds.notes == [
        Problem(f, None, None, None, "表头在第2行，上方的标题行已跳过"),
        Problem(f, None, None, "上次换届日期", "2处文本日期已识别为日期（如「2021/5/20」）"),
    ]


def test_csv_problems_are_located_by_line(tmp_path):
    (tmp_path / "branches.csv").write_text(
        ",".join(SPECS["branches"].column_ids) + "\nXZ01-001,甲,农村,乙,,五,2021-01-01,,\n", encoding="utf-8")
    f = str(tmp_path / "branches.csv")
    assert problems_of(tmp_path, needed=()) == [Problem(f, None, 2, "committee_size", "「committee_size」应为数字，实际为「五」")]


def test_unknown_files_in_a_folder_are_noted(tmp_path):
    write_book(tmp_path / "d.xlsx", clean_sheets())
    (tmp_path / "readme.txt").write_text("x", encoding="utf-8")
    (tmp_path / "汇总.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    ds = read(tmp_path)
    assert ds.sources == [str(tmp_path / "d.xlsx")]
    assert ds.notes == [
        Problem(str(tmp_path / "readme.txt"), None, None, None, "「readme.txt」不是工作簿，已跳过"),
        Problem(str(tmp_path / "汇总.csv"), None, None, None, "文件名不是已知的表名，已忽略"),
    ]


# ------------------------------------------------------------------------------------------------
# properties of the text parsers


FORMATS = [
    lambda d: f"{d.year}-{d.month:02d}-{d.day:02d}",
    lambda d: f"{d.year}-{d.month}-{d.day}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(min_value=date(1910, 1, 1), max_value=date(2099, 12, 31)), min_size=1, max_size=20))
def test_every_text_date_format_parses_to_the_same_day(days):
    texts = [fmt(d) for d in days for fmt in FORMATS]
    cells = _split(pd.Series(texts, dtype=object))
    conv = _convert(cells, SPECS["meetings"].column("date"), np.zeros(len(texts), dtype=bool))
    assert conv.issues == []
    assert list(pd.Series(conv.values).dt.date) == [d for d in days for _ in FORMATS]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dates(min_value=date(1910, 1, 1), max_value=date(2099, 12, 31)), min_size=1, max_size=20))
def test_every_text_month_format_parses_to_the_same_month(days):
    month_formats = [lambda d: f"{d.year}-{d.month:02d}", lambda d: f"{d.year}-{d.month}",
                     lambda d: f"{d.year}/{d.month:02d}", lambda d: f"{d.year}年{d.month}月",
                     lambda d: f"{d.year}{d.month:02d}", *FORMATS]
    texts = [fmt(d) for d in days for fmt in month_formats]
    conv = _convert(_split(pd.Series(texts, dtype=object)), SPECS["dues"].column("month"),
                    np.zeros(len(texts), dtype=bool))
    assert conv.issues == []
    assert list(conv.values) == [f"{d.year}-{d.month:02d}" for d in days for _ in month_formats]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-10**9, max_value=10**9), min_size=1, max_size=20))
def test_integers_written_in_any_accepted_style_read_back(values):
    wide = str.maketrans("0123456789-", "０１２３４５６７８９－")
    texts = [*(str(v) for v in values), *(f"{v:,}" for v in values), *(str(v).translate(wide) for v in values),
             *(f" {v} " for v in values)]
    conv = _convert(_split(pd.Series(texts, dtype=object)), SPECS["meetings"].column("expected"),
                    np.zeros(len(texts), dtype=bool))
    assert conv.issues == []
    assert list(conv.values) == values * 4


def test_identical_rows_in_a_table_without_key_are_noted(tmp_path):
    sheets = clean_sheets()
    sheets["组织生活记录"] = [MT_H, MT[0], MT[1], MT[0]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    ds = read(path)
    assert len(ds.tables["meetings"]) == 3  # kept: two meetings can look alike
    assert ds.notes == [Problem(str(path), "组织生活记录", None, None,
                                "1行与本表其他行内容完全相同（如第4行），将分别计入，请确认不是重复录入")]


def test_duplicate_on_a_continuation_sheet_names_the_other_sheet(tmp_path):
    sheets = clean_sheets()
    sheets["党费交纳2"] = [DU_H, DU[0]]
    path = write_book(tmp_path / "d.xlsx", sheets)
    assert problems_of(path) == [
        Problem(str(path), "党费交纳", 2, "党员编号", "党员编号「XZ01-001-01」、月份「2025-01」重复（另见工作表「党费交纳2」第2行）"),
        Problem(str(path), "党费交纳2", 2, "党员编号", "党员编号「XZ01-001-01」、月份「2025-01」重复（另见工作表「党费交纳」第2行）"),
    ]
