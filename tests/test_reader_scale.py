"""Reading only the columns the measures declare (``read_dataset(..., columns=...)``)."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

from scoring.errors import DataError, DataProblem
from scoring.reader import read_dataset
from scoring.reader.formats import pd as formats_pd
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
    """Per Parquet file name, the ``columns`` of every read of it from now on, in order."""
    asked: dict[str, list] = {}
    real = formats_pd.read_parquet

    def spy(path, *args, columns=None, **kwargs):
        asked.setdefault(pd.io.common.stringify_path(path).rsplit("/", 1)[-1], []).append(columns)
        return real(path, *args, columns=columns, **kwargs)

    monkeypatch.setattr(formats_pd, "read_parquet", spy)
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


def test_a_column_that_cannot_be_read_later_is_a_located_problem(county, tmp_path, monkeypatch):
    """The schema reads but a column's data does not (a damaged page): a problem naming the file and
    column, not a traceback."""
    monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", 0)
    folder = _write(county, tmp_path / "pq", "parquet", bad_gender=False)
    real = formats_pd.read_parquet

    def damaged(path, *args, columns=None, **kwargs):
        if str(path).endswith("meetings.parquet") and columns == ["attended"]:
            raise OSError("Corrupt snappy compressed data.")
        return real(path, *args, columns=columns, **kwargs)

    monkeypatch.setattr(formats_pd, "read_parquet", damaged)
    with pytest.raises(DataError) as info:
        read_dataset([folder], SPECS, NEEDED, columns=DECLARED)
    (problem,) = info.value.problems
    assert problem.code is DataProblem.UNREADABLE_FILE and problem.column == "attended"
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
