"""Reading only the columns the measures declare (``read_dataset(..., columns=...)``)."""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import load, read_for
from scoring.errors import DataError, DataProblem
from scoring.reader import read_dataset

from scoring import sample
from scoring.sample import generate_county, write_dataset
from plugins.sample_county import builtin_table_map

formats = importlib.import_module("scoring.reader.formats")

SPECS = builtin_table_map()
NEEDED = ("members", "meetings", "dues")
# what a rubric's measures might declare: members' 性别, 姓名, 学历 and 组织生活记录's 主题 are read by none
DECLARED = {"branches": ("branch_id", "category"), "members": ("member_id", "branch_id", "status"),
            "meetings": ("branch_id", "date", "kind"), "dues": ("member_id", "branch_id", "month", "due", "paid", "paid_date")}


@pytest.fixture(scope="module")
def county():
    tables = generate_county(n_branches=6, seed=7)
    return {t: tables[t] for t in ("branches", "members", "meetings", "dues")}


def _write(county, folder, fmt, bad_gender: bool):
    tables = dict(county)
    if bad_gender:  # a value 性别 does not allow: an error wherever the column is read
        tables["members"] = tables["members"].assign(gender="未知")
    write_dataset(tables, folder, fmt)
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_column_no_measure_declares_is_not_read(county, tmp_path, fmt):
    folder = _write(county, tmp_path / fmt, fmt, bad_gender=True)
    with pytest.raises(DataError) as info:  # read whole, the bad 性别 is an error in every row
        read_dataset([folder], SPECS, NEEDED)
    assert {p.code for p in info.value.problems} == {DataProblem.BAD_ENUM}
    assert {p.column for p in info.value.problems} == {"gender"}  # the sample writes the column ids as headers

    ds = read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    members = ds.tables["members"]
    # declared + key + references; 出生日期/入党日期 stay for the rule 入党日期 >= 出生日期
    assert list(members.columns) == ["member_id", "branch_id", "birth_date", "join_date", "status"]
    assert list(ds.tables["meetings"].columns) == ["branch_id", "date", "kind", "expected", "attended"]
    assert list(ds.tables["dues"].columns) == list(SPECS["dues"].column_ids)  # all declared
    assert list(ds.tables["branches"].columns) == list(SPECS["branches"].column_ids)  # always whole
    # the columns read are what a full read gives
    full = read_dataset([_write(county, tmp_path / f"{fmt}-good", fmt, bad_gender=False)], SPECS, NEEDED)
    for tid, frame in ds.tables.items():
        pd.testing.assert_frame_equal(frame, full.tables[tid][list(frame.columns)])


def _spy_parquet_reads(monkeypatch) -> dict[str, list]:
    """Per Parquet file name, the ``columns`` of every read of it from now on, in order: every read goes
    through pyarrow's ``read_table`` (pandas' ``read_parquet`` too, and the reader's text columns read
    from their dictionary pages)."""
    asked: dict[str, list] = {}
    real = pq.read_table

    def spy(path, *args, columns=None, **kwargs):
        asked.setdefault(pd.io.common.stringify_path(path).rsplit("/", 1)[-1], []).append(columns)
        return real(path, *args, columns=columns, **kwargs)

    monkeypatch.setattr(pq, "read_table", spy)
    return asked


def test_parquet_reads_only_the_needed_columns_from_the_file(county, tmp_path, monkeypatch):
    """Each needed column of a large file is read from it once, by itself (as its table is assembled);
    the others are never read."""
    monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", 0)  # every file counts as large
    folder = _write(county, tmp_path / "pq", "parquet", bad_gender=False)
    every = {t: list(pd.read_parquet(folder / f"{t}.parquet").columns) for t in ("branches", "dues")}
    asked = _spy_parquet_reads(monkeypatch)
    read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    assert asked["members.parquet"] == [["member_id"], ["branch_id"], ["birth_date"], ["join_date"], ["status"]]
    assert asked["meetings.parquet"] == [["branch_id"], ["date"], ["kind"], ["expected"], ["attended"]]
    for whole, names in every.items():  # not limited: every column of the file, each once
        assert sorted(c for (c,) in asked[f"{whole}.parquet"]) == sorted(names)


def test_a_small_parquet_file_is_read_at_once_with_only_the_needed_columns(county, tmp_path, monkeypatch):
    folder = _write(county, tmp_path / "pq", "parquet", bad_gender=False)
    asked = _spy_parquet_reads(monkeypatch)
    read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    assert asked["members.parquet"] == [["member_id", "branch_id", "birth_date", "join_date", "status"]]
    assert asked["meetings.parquet"] == [["branch_id", "date", "kind", "expected", "attended"]]


def test_a_missing_required_column_is_still_a_problem_when_not_read(county, tmp_path):
    folder = _write(county, tmp_path / "pq", "parquet", bad_gender=False)
    members = pd.read_parquet(folder / "members.parquet").drop(columns=["name"])
    members.to_parquet(folder / "members.parquet", index=False)
    with pytest.raises(DataError) as info:
        read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    assert [(p.code, p.column) for p in info.value.problems] == [(DataProblem.MISSING_COLUMN, "姓名")]  # the spec's header


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_spaces_inside_enum_values_are_removed_per_distinct_value(county, tmp_path, fmt):
    tables = dict(county)
    members = tables["members"].copy()
    status = members["status"].astype(object).to_numpy(copy=True)
    status[0], status[1], status[2] = "正 式", "预\u3000备", "正\t式"
    tables["members"] = members.assign(status=status)
    write_dataset(tables, tmp_path / fmt, fmt)
    ds = read_dataset([tmp_path / fmt], SPECS, NEEDED)
    got = ds.tables["members"]["status"].tolist()
    expected = county["members"]["status"].astype(object).tolist()
    expected[0], expected[1], expected[2] = "正式", "预备", "正式"
    assert got == expected


@pytest.mark.parametrize("column", ["attended", "kind"])  # a number; text, read from its dictionary pages
def test_a_column_that_cannot_be_read_later_is_a_located_problem(county, tmp_path, monkeypatch, column):
    """The schema reads but a column's data does not (a damaged page): a problem naming the file and
    column, not a traceback."""
    monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", 0)
    folder = _write(county, tmp_path / "pq", "parquet", bad_gender=False)
    real = pq.read_table

    def damaged(path, *args, columns=None, **kwargs):
        if str(path).endswith("meetings.parquet") and columns == [column]:
            raise OSError("Corrupt snappy compressed data.")
        return real(path, *args, columns=columns, **kwargs)

    monkeypatch.setattr(pq, "read_table", damaged)
    with pytest.raises(DataError) as info:
        read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    (problem,) = info.value.problems
    assert problem.code is DataProblem.UNREADABLE_FILE and problem.column == column
    assert problem.file.endswith("meetings.parquet")
    assert problem.message == "无法读取文件：OSError: Corrupt snappy compressed data."


def test_arrow_month_text_converted_per_distinct_value_as_row_by_row():
    """A month column of Arrow text is converted on its distinct values; the result (values, problems,
    notes and the codes kept for the checks) is what the row-by-row conversion gives."""
    from dataclasses import replace

    from scoring.reader.cells import _split
    from scoring.reader.convert import _convert_month

    rows = ["2025-01", "2025/3", " 2025-02 ", None, "202504", "2025年5月", "十三月", "2025-13", "2025-01",
            "", "2025-3", "2024-12", "#N/A"] * 3
    cells = _split(pd.Series(rows, dtype="str"))
    assert cells.factors is not None
    fast = _convert_month(cells)
    slow = _convert_month(replace(cells, factors=None))  # the general path: every row
    assert list(fast.values) == list(slow.values)
    assert [(i.code, i.mask.tolist()) for i in fast.issues] == [(i.code, i.mask.tolist()) for i in slow.issues]
    assert [(f.kind, f.mask.tolist(), f.example(1)) for f in fast.fixes] == \
        [(f.kind, f.mask.tolist(), f.example(1)) for f in slow.fixes]
    (fc, fu), (sc, su) = fast.codes, slow.codes
    assert fc.tolist() == sc.tolist() and list(fu) == list(su)
    assert list(fast.values[:4]) == ["2025-01", "2025-03", "2025-02", None]


def _dirty_members(county) -> pd.DataFrame:
    """members with text a reader has to clean: spaces around ids, an enum value with spaces inside, and
    (``bad``) an Excel error value and a blank-only required cell."""
    m = county["members"].copy()
    ids = m["member_id"].astype(object).to_numpy(copy=True)
    status = m["status"].astype(object).to_numpy(copy=True)
    name = m["name"].astype(object).to_numpy(copy=True)
    ids[1], ids[4] = f" {ids[1]} ", f"{ids[4]}\u3000"
    status[0], status[2] = "正 式", "预\t备"
    name[3], name[5] = "#N/A", "   "
    return m.assign(member_id=ids, status=status, name=name)


def _parquet_reads(folder, monkeypatch, **kwargs):
    """The folder read as a large file is, with its text from the dictionary pages and as strings, and as
    a small one is (at once, as strings): the outcome of each, tables or problems."""
    out = []
    for limit, share in ((0, 1.0), (0, 0.0), (2**40, 1.0)):
        monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", limit)
        monkeypatch.setattr(formats, "DICTIONARY_SHARE", share)
        try:
            ds = read_dataset([folder], SPECS, NEEDED, **kwargs)
        except DataError as e:
            out.append([(p.code, p.file.rsplit("/", 1)[-1].rsplit(".", 1)[0], p.row, p.column, p.message) for p in e.problems])
        else:
            out.append((ds.tables, [(n.code, n.row, n.column, n.message) for n in ds.notes],
                        {k: (c.tolist(), list(u)) for k, (_, c, u) in ds.codes.items()}))
    return out


@pytest.mark.parametrize("categorical", [False, True])
def test_parquet_text_from_its_dictionary_pages_reads_as_the_csv_of_the_same_records(county, tmp_path, monkeypatch,
                                                                                     categorical):
    """Text read from a Parquet file's dictionary pages (large files) gives what the same records give as
    CSV: the same tables, notes, problems and codes, in the same order. ``categorical``: the file was
    written from pandas categoricals whose categories are in another order than the rows' and include
    values no row has (read back as such: the codes are renumbered)."""
    members = _dirty_members(county)
    name = members["name"].to_numpy(copy=True)
    name[3], name[5] = "张三", "李四"  # this read has no problem: tables and notes are compared
    clean = {**county, "members": members.assign(name=name)}
    monkeypatch.setattr(sample, "PARQUET_ROW_GROUP", 50)  # row groups of their own dictionaries, unified
    write_dataset(clean, tmp_path / "csv", "csv")
    write_dataset(clean, tmp_path / "pq", "parquet")
    if categorical:
        for tid in ("members", "dues"):
            frame = pd.read_parquet(tmp_path / "pq" / f"{tid}.parquet")
            for cid in ("member_id", "branch_id", "status", "month"):
                if cid in frame:
                    values = frame[cid].astype(object)
                    cats = sorted(set(values.dropna()), reverse=True) + ["不存在的值"]
                    frame[cid] = pd.Categorical(values, categories=cats)
            frame.to_parquet(tmp_path / "pq" / f"{tid}.parquet", index=False)
            assert pq.read_schema(tmp_path / "pq" / f"{tid}.parquet").field("member_id").type.num_fields == 0
    monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", 2**40)
    expected = read_dataset([tmp_path / "csv"], SPECS, NEEDED)
    want = ([(n.code, n.row, n.column, n.message) for n in expected.notes],
            {k: (c.tolist(), list(u)) for k, (_, c, u) in expected.codes.items()})
    assert [n.column for n in expected.notes if n.message.endswith("首尾的空格已去除")] == ["member_id"]
    for tables, notes, codes in _parquet_reads(tmp_path / "pq", monkeypatch):
        for tid, frame in expected.tables.items():
            pd.testing.assert_frame_equal(tables[tid], frame)
        assert (notes, codes) == want
    assert expected.tables["members"]["status"].iloc[[0, 2]].tolist() == ["正式", "预备"]


def test_parquet_text_problems_from_its_dictionary_pages_are_those_of_the_csv(county, tmp_path, monkeypatch):
    """An Excel error value and a blank required name: the same located problems, in the same order,
    whether the text was read from the dictionary pages, at once, or from a CSV file."""
    tables = {**county, "members": _dirty_members(county)}
    write_dataset(tables, tmp_path / "csv", "csv")
    write_dataset(tables, tmp_path / "pq", "parquet")
    with pytest.raises(DataError) as info:
        read_dataset([tmp_path / "csv"], SPECS, NEEDED)
    want = [(p.code, p.file.rsplit("/", 1)[-1].rsplit(".", 1)[0], p.row, p.column, p.message) for p in info.value.problems]
    assert [(code, row, column) for code, _, row, column, _ in want] == [
        (DataProblem.ERROR_CELL, 5, "name"), (DataProblem.EMPTY_REQUIRED, 7, "name")]
    assert _parquet_reads(tmp_path / "pq", monkeypatch) == [want, want, want]


def test_a_text_column_of_several_row_groups_is_read_as_one_dictionary_and_its_codes(county, tmp_path, monkeypatch):
    """Each row group has a dictionary of its own: read as one (unified), whose codes are pd.factorize's of
    the column's strings (first appearance, -1 for missing), computed without the strings."""
    from scoring.reader.cells import _encoded_text

    dues = county["dues"].copy()
    month = dues["month"].astype(object).to_numpy(copy=True)
    month[[3, 90]] = None
    monkeypatch.setattr(sample, "PARQUET_ROW_GROUP", 40)
    monkeypatch.setattr(formats, "DICTIONARY_SHARE", 1.0)  # whatever share of a row group is distinct
    write_dataset({"dues": dues.assign(month=month)}, tmp_path, "parquet")
    path = tmp_path / "dues.parquet"
    assert pq.ParquetFile(path).metadata.num_row_groups > 3
    for cid in ("member_id", "month"):
        column = formats._parquet_text(path, cid)
        chunks = column.array._pa_array.chunks
        assert len(chunks) > 3 and all(c.dictionary.equals(chunks[0].dictionary) for c in chunks)
        codes, distinct = _encoded_text(column)
        strings = pd.read_parquet(path, columns=[cid])[cid].astype(object)
        want_codes, want_distinct = pd.factorize(strings, use_na_sentinel=True)
        assert codes.tolist() == want_codes.tolist() and distinct.tolist() == list(want_distinct)
    assert formats._parquet_text(path, "due") is None  # not text: read as it is
    # a column of mostly distinct values in its first row group is read as strings
    first = pq.ParquetFile(path).read_row_group(0, columns=["member_id", "month"]).to_pandas()
    assert first["member_id"].nunique() / len(first) < 0.2 < first["month"].nunique() / len(first)
    monkeypatch.setattr(formats, "DICTIONARY_SHARE", 0.2)
    assert formats._parquet_text(path, "member_id") is not None and formats._parquet_text(path, "month") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-1, 6), max_size=40), st.integers(0, 8), st.integers(1, 5))
def test_codes_in_first_order_as_factorize_numbers_them(codes, k, chunk):
    """``in_first_order`` (checked in chunks) is true exactly when the codes are pd.factorize's numbering
    of k values, each used."""
    from scoring.reader.cells import in_first_order

    codes = np.array(codes, dtype="int32")
    valid = codes[codes >= 0]
    expected = len(set(valid.tolist())) == k and (valid.max(initial=-1) < k) and \
        np.array_equal(pd.factorize(valid)[0], valid)
    assert in_first_order(codes, k, chunk) == bool(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 2), st.integers(-1, 3)), min_size=1, max_size=30),
       st.sampled_from([4, 9000]))
def test_key_codes_are_equal_exactly_for_equal_keys(rows, width):
    """The codes of a three-column key: equal for rows with equal values, -1 where a value is empty, the
    columns' own codes unchanged; with 9,000 distinct values per column the pairs are compacted (span
    above 2**24)."""
    from scoring.reader.checks import _key_codes

    columns = {k: np.array([r[i] for r in rows], dtype="int32") for i, k in enumerate("abc")}
    before = {k: v.copy() for k, v in columns.items()}

    class Ix:
        def factorize(self, tid, frame, k):
            return columns[k], np.arange(width)

    codes = _key_codes(Ix(), "t", None, list("abc"))
    for i, r in enumerate(rows):
        assert (codes[i] < 0) == (min(r) < 0)
        for j, q in enumerate(rows):
            if min(r) >= 0 and min(q) >= 0:
                assert (codes[i] == codes[j]) == (r == q)
    assert all(np.array_equal(columns[k], before[k]) for k in columns)
    assert codes.max() < max(4 * len(rows), 1 << 24)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_table_with_only_its_header_is_read_as_empty(fmt, tmp_path):
    """A CSV or Parquet file of a table with no record (负面事项 of a county without incidents: a header
    and nothing else) is an empty table, not a crash (Arrow encodes an empty text column into no chunk)."""
    tables = generate_county(n_branches=4, seed=7)
    assert len(tables["incidents"]) == 0
    write_dataset(tables, tmp_path / "d", fmt=fmt)
    rubric, reg, _ = load(None)
    data = read_for([tmp_path / "d"], (rubric, reg), year=rubric.year)
    assert len(data.tables["incidents"]) == 0 and list(data.tables["incidents"].columns)
    assert len(data.branches) == 4


def _with_problems_in_three_tables(county):
    """The county with problems in 党员信息, 组织生活记录 and 党费 (in 党费 more than one sheet lists, so
    its cap applies) and notes (spaces stripped) in 支部信息 and 党员信息."""
    tables = {t: f.copy() for t, f in county.items()}
    branches = tables["branches"]
    branches["name"] = "  " + branches["name"]
    members = tables["members"]
    members.loc[[3, 9, 40], "gender"] = "未知"
    members["name"] = members["name"] + " "
    meetings = tables["meetings"]
    meetings["date"] = meetings["date"].astype(object)
    meetings.loc[[0, 7], "date"] = None
    dues = tables["dues"]
    dues.loc[list(range(100, 130)) + [1500], "month"] = "2025-13"
    return tables


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("lenient", [False, True])
def test_tables_assembled_side_by_side_give_the_problems_and_notes_of_one_by_one(county, tmp_path, monkeypatch,
                                                                                 fmt, lenient):
    """党费 is the largest table and is assembled first on two threads, 党员信息 and 组织生活记录 on the
    other: the problems (in their order, capped per sheet), the notes and the tables are still those of
    assembling the tables one after the other in their order."""
    assembly = importlib.import_module("scoring.reader.assemble")
    target = tmp_path / ("county.xlsx" if fmt == "xlsx" else "csv")
    write_dataset(_with_problems_in_three_tables(county), target, fmt)

    monkeypatch.setattr(assembly, "SIDE_BY_SIDE_ROWS", 0)  # a small county is otherwise assembled one by one
    started = []
    real = assembly.build

    def build(ix, tid, parts, log=None):
        started.append((tid, threading.current_thread().name.startswith("assemble")))
        return real(ix, tid, parts, log)

    monkeypatch.setattr(assembly, "build", build)

    def read(threads):
        monkeypatch.setattr(assembly, "THREADS", threads)
        started.clear()
        try:
            ds = read_dataset([target], SPECS, NEEDED, lenient=lenient)
        except DataError as e:
            return e.problems, None
        return ds.notes, ds

    one, one_ds = read(1)
    assert sorted(started) == [(t, False) for t in ("branches", "dues", "meetings", "members")]
    two, two_ds = read(2)
    assert started[0] == ("dues", True) and sorted(started) == [(t, True) for t in ("branches", "dues", "meetings",
                                                                                    "members")]
    assert [(p.file, p.sheet, p.row, p.column, p.message, p.code) for p in two] == \
           [(p.file, p.sheet, p.row, p.column, p.message, p.code) for p in one]
    if lenient:  # each bad record's branch excluded, the others scored: the same tables and exclusions
        assert one_ds is not None and two_ds is not None
        assert two_ds.excluded.equals(one_ds.excluded)
        for tid, frame in one_ds.tables.items():
            pd.testing.assert_frame_equal(two_ds.tables[tid], frame)
        return
    # worked out from the injected cells: 3 + 2 + 21 (20 bad months of 党费 listed, one line for the other 11)
    codes = [p.code.value for p in one]
    assert codes.count("bad_enum") == 3 and codes.count("empty_required") == 2 and codes.count("bad_month") == 21
    dues = [p for p in one if p.code.value == "bad_month"]
    assert "另有11处" in dues[-1].message and "另有" not in dues[-2].message
