"""Results at scale: a detail table longer than a sheet continues on numbered sheets (a small row limit
injected), Parquet results, and the Dask executor equal to the local run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from scoring.cli import main
from scoring.engine import build_meta, load, read_for, score
from scoring.output import parquet as parquet_out
from scoring.output import xlsx
from scoring.output.jsonout import write_json
from scoring.reader import read_dataset
from scoring.sample import generate_county, write_dataset

N_BRANCHES = 8


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("county") / "data"
    write_dataset(generate_county(n_branches=N_BRANCHES, seed=7), folder, fmt="parquet")
    return folder


@pytest.fixture(scope="module")
def scored(county):
    rubric, reg, _ = load(None)
    data = read_for([county], (rubric, reg))
    meta = build_meta(rubric, reg, data, rubric.year, "scoring run data")
    return score(rubric, reg, data, rubric.year, meta)


def _data_rows(ws, header_row: int = xlsx.HEADER_ROW + 1) -> list[tuple]:
    out = []
    for values in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if all(v is None for v in values):
            break
        out.append(values)
    return out


# --------------------------------------------------------------------------------------------------
# Excel never truncates


@pytest.fixture(scope="module")
def continued(scored, tmp_path_factory):
    """The workbook written with sheets of 50 rows (the detail of 8 branches needs several)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(xlsx, "SHEET_ROWS", 50)
    try:
        path = tmp_path_factory.mktemp("rows") / "r.xlsx"
        limits = xlsx.write_results(scored, path)
    finally:
        mp.undo()
    return path, limits, openpyxl.load_workbook(path)


def test_detail_continues_on_numbered_sheets_with_every_row(scored, continued):
    _, _, wb = continued
    per_branch = scored.indicators.groupby("branch_id", sort=False).size()
    rows_per_sheet = 50 - xlsx.HEADER_ROW - 1
    # expected parts computed here: whole branches, in rank order, while they fit
    expected, size = [], 0
    for branch in scored.branches["branch_id"]:
        k = int(per_branch[branch])
        if size and size + k > rows_per_sheet:
            expected.append(size)
            size = 0
        size += k
    expected.append(size)
    assert len(expected) >= 3
    names = ["得分明细"] + [f"得分明细({k})" for k in range(2, len(expected) + 1)]
    assert [n for n in wb.sheetnames if n.startswith("得分明细")] == names
    seen = []
    for name, n in zip(names, expected):
        ws = wb[name]
        body = _data_rows(ws)
        assert len(body) == n
        assert ws.max_row <= 50
        header = [c.value for c in ws[xlsx.HEADER_ROW + 1]]
        code = header.index("支部编码")
        seen += [r[code] for r in body]
        (table,) = ws.tables.values()  # every part is an Excel table of its own, header to last row
        assert table.ref.endswith(str(xlsx.HEADER_ROW + 1 + n))
    # every row, in order, none twice: the branches' rows in rank order
    assert seen == [b for b in scored.branches["branch_id"] for _ in range(int(per_branch[b]))]


def test_limit_said_in_data_quality_and_returned(continued):
    _, limits, wb = continued
    assert any(line.startswith("结果工作簿「得分明细」") and "得分明细(2)" in line for line in limits)
    quality = [r for r in wb["数据质量"].iter_rows(values_only=True) if r[0] == "结果工作簿「得分明细」"]
    assert len(quality) == 1
    assert "超过 Excel 每个工作表50行的上限" in quality[0][-1]


def test_a_table_that_fits_is_one_part(scored):
    frame = scored.indicators
    assert xlsx._sheet_parts(frame, len(frame), "branch_id") == [(0, len(frame))]
    # a branch longer than a sheet is cut where it must
    one = frame[frame["branch_id"] == frame["branch_id"].iloc[0]]
    assert xlsx._sheet_parts(one, 8, "branch_id") == [(a, min(a + 8, len(one))) for a in range(0, len(one), 8)]


# --------------------------------------------------------------------------------------------------
# Parquet results (and the limit on the terminal)


def test_parquet_tables_equal_the_result(county, scored, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "pq"
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 50)
    assert main(["run", str(county), "-o", str(tmp_path / "r.xlsx"), "--parquet", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "注意：结果工作簿「得分明细」共" in out
    assert f"结果已写入：{tmp_path / 'r.xlsx'}，{folder}（Parquet）" in out
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.parquet" for t in parquet_out.TABLES)
    branches = pq.read_table(folder / "branches.parquet")
    assert branches.schema.metadata[b"scoring.data_sha256"] == scored.meta.data_sha256.encode()
    frame = branches.to_pandas()
    assert frame["branch_id"].tolist() == scored.branches["branch_id"].tolist()
    assert frame["total"].tolist() == scored.branches["total"].tolist()
    assert frame["level"].tolist() == scored.branches["level"].tolist()
    ind = pq.read_table(folder / "indicators.parquet").to_pandas()
    assert len(ind) == len(scored.indicators)
    assert ind["points"].tolist() == scored.indicators["points"].tolist()
    assert ind["indicator"].tolist() == scored.indicators["indicator"].astype(str).tolist()
    bonus = pq.read_table(folder / "bonus.parquet").to_pandas()
    assert len(bonus) == len(scored.bonus)
    vetoes = pq.read_table(folder / "vetoes.parquet").to_pandas()
    assert len(vetoes) == len(scored.vetoes)


def test_parquet_is_atomic(scored, tmp_path, monkeypatch):
    folder = tmp_path / "pq"
    folder.mkdir()
    (folder / "branches.parquet").write_bytes(b"old")
    real = pq.write_table
    calls = []

    def failing(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError):
        parquet_out.write_parquet(scored, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["branches.parquet"]
    assert (folder / "branches.parquet").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["pq"]  # no temporary folder left


def test_parquet_folder_may_not_be_the_input(county, capsys):
    assert main(["run", str(county), "--no-xlsx", "--parquet", str(county)]) == 2
    assert "是输入数据所在的文件夹" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# Dask


@pytest.mark.dask
def test_dask_json_equals_local(county, scored, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from scoring import distributed

    rubric, reg, _ = load(None)
    result = distributed.score_on_dask([county], None, [], rubric.year, "scoring run data", None,
                                       workers=2, processes=False)
    result.meta.generated = scored.meta.generated  # the same minute for both runs' metadata
    local, remote = tmp_path / "local.json", tmp_path / "dask.json"
    write_json(scored, local)
    write_json(result, remote)
    assert hashlib.sha256(remote.read_bytes()).hexdigest() == hashlib.sha256(local.read_bytes()).hexdigest()
    pd.testing.assert_frame_equal(result.branches, scored.branches)


def test_partitions_cover_every_branch_once():
    from scoring.distributed import partition_bounds

    for n, k in [(0, 2), (1, 2), (7, 3), (12, 5)]:
        bounds = partition_bounds(n, k)
        assert len(bounds) == k
        assert [i for a, b in bounds for i in range(a, b)] == list(range(n))


# --------------------------------------------------------------------------------------------------
# The data fingerprint (hashed per column in its own dtype)


def test_fingerprint_ignores_row_order_and_sees_one_cell(county):
    from scoring.dataset import Dataset

    rubric, reg, _ = load(None)
    data = read_dataset([county], reg.tables, reg.tables)  # every column, the topic text included
    base = data.sha256()
    shuffled = {t: f.sample(frac=1.0, random_state=3).reset_index(drop=True) for t, f in data.tables.items()}
    assert Dataset(tables=shuffled, specs=data.specs).sha256() == base
    changed = dict(data.tables)
    meetings = changed["meetings"].copy()
    meetings.loc[5, "topic"] = str(meetings.loc[5, "topic"]) + "。"
    changed["meetings"] = meetings
    assert Dataset(tables=changed, specs=data.specs).sha256() != base
    dues = dict(data.tables)
    frame = dues["dues"].copy()
    frame.loc[0, "paid"] = frame.loc[0, "paid"] + 0.01
    dues["dues"] = frame
    assert Dataset(tables=dues, specs=data.specs).sha256() != base


def test_fingerprint_equal_for_workbook_and_parquet(county, tmp_path):
    rubric, reg, _ = load(None)
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    (workbook,) = write_dataset(tables, tmp_path / "county.xlsx", fmt="xlsx")
    a = read_for([county], (rubric, reg)).sha256()
    b = read_for([workbook], (rubric, reg)).sha256()
    assert a == b


def test_validation_codes_are_reused_and_change_nothing(county):
    """Validation's factorized key and reference columns (Arrow text) serve the fingerprint and the
    measures; without them both give exactly the same."""
    from dataclasses import replace

    from scoring.engine import compute_measures

    rubric, reg, _ = load(None)
    data = read_for([county], (rubric, reg))
    found = {("dues", "member_id"), ("dues", "month"), ("members", "member_id"), ("members", "branch_id")}
    assert found <= set(data.codes)
    codes, uniques = data.factorized("dues", "member_id")
    assert list(uniques[codes[:5]]) == list(data.tables["dues"]["member_id"].iloc[:5])
    bare = replace(data, codes={})
    assert bare.factorized("dues", "member_id") is None
    assert data.sha256() == bare.sha256()
    with_codes = compute_measures(rubric, reg, data, rubric.year)
    without = compute_measures(rubric, reg, bare, rubric.year)
    assert list(with_codes) == list(without)
    for key in with_codes:
        pd.testing.assert_frame_equal(with_codes[key].frame, without[key].frame, obj=key)
    replaced = replace(data, tables={**data.tables, "dues": data.tables["dues"].copy()})
    assert replaced.factorized("dues", "member_id") is None  # codes of another frame are not used


@pytest.mark.parametrize("chunk", [None, 7])
def test_fingerprint_is_the_documented_formula(county, monkeypatch, chunk):
    """The fingerprint (combined column by column from validation's codes, HASH_ROWS rows at a time; 7
    puts chunk boundaries inside every table) is the documented one: per table its id, its sorted column
    names and the sorted row hashes of pandas' hash_pandas_object."""
    import hashlib

    import scoring.dataset

    if chunk is not None:
        monkeypatch.setattr(scoring.dataset, "HASH_ROWS", chunk)
    rubric, reg, _ = load(None)
    data = read_for([county], (rubric, reg))
    assert data.codes  # the codes path is taken
    h = hashlib.sha256()
    for tid in sorted(data.tables):
        frame = data.tables[tid]
        cols = sorted(frame.columns)
        h.update(tid.encode())
        h.update("\x1f".join(cols).encode())
        if len(frame):
            rows = pd.util.hash_pandas_object(frame[cols], index=False, categorize=True).to_numpy()
            h.update(np.sort(rows).tobytes())
    assert data.sha256() == h.hexdigest()


@pytest.mark.parametrize("kind", ["object", "str", "category", "mixed"])
def test_key_positions_is_a_dictionary_lookup(kind):
    """Each value's position among the target's unique values, -1 when missing or absent, whatever the
    storage (Python str objects go through Arrow, Arrow text, categoricals, and objects that are not all text)."""
    from scoring.lookup import key_positions

    target = ["M003", "M001", "M010", "张三", "M002"]
    values = ["M001", None, "M002", "M999", "张三", "M001", "M010", "", "M003"]
    if kind == "mixed":
        target, values = target + [7], values + [7, "7"]
    where = {v: i for i, v in enumerate(target)}
    expected = [where.get(v, -1) if v is not None else -1 for v in values]
    series = pd.Series(values, dtype={"object": object, "str": "str", "category": "category", "mixed": object}[kind])
    got = key_positions(series, pd.Index(target, dtype=object))
    assert got.tolist() == expected
    assert key_positions(pd.Index(values, dtype=object), target).tolist() == expected


def test_fingerprint_alongside_gives_the_fingerprint_or_its_error(county, monkeypatch):
    from scoring.dataset import Dataset
    from scoring.engine import fingerprint_alongside

    rubric, reg, _ = load(None)
    data = read_for([county], (rubric, reg))
    assert fingerprint_alongside(data)() == data.sha256()

    def broken(self):
        raise MemoryError("no room for the row hashes")

    monkeypatch.setattr(Dataset, "sha256", broken)
    wait = fingerprint_alongside(data)
    with pytest.raises(MemoryError, match="no room"):
        wait()


def test_measures_take_the_rows_validation_looked_up(sample_county, monkeypatch):
    """The row in 党员名册 (or 支部信息) of every reference, as validation's check of references found it,
    is what ctx.positions gives the measures, without a second lookup; a table replaced since is looked
    up again and gives the same rows. Expected rows: the first target row of each value, by hand."""
    from dataclasses import replace

    import scoring.measure as measure_module
    from scoring.measure import Grouping

    data = sample_county

    def by_hand(frame, column, target, target_column):
        first = {}
        for i, v in enumerate(data.tables[target][target_column].tolist()):
            first.setdefault(v, i)
        return [first.get(v, -1) if v is not None else -1 for v in frame[column].tolist()]

    keys = sorted(data.looked_up)
    assert ("training", "member_id", "members", "member_id") in keys
    assert ("dues", "branch_id", "branches", "branch_id") in keys
    real = measure_module.key_positions

    def no_second_lookup(*args, **kwargs):
        raise AssertionError("looked up again")

    monkeypatch.setattr(measure_module, "key_positions", no_second_lookup)
    shared = Grouping(data)
    for tid, column, target, target_column in keys:
        got = shared.positions(tid, column, target, target_column)
        assert got.tolist() == by_hand(data.tables[tid], column, target, target_column), (tid, column)
    monkeypatch.setattr(measure_module, "key_positions", real)
    members = data.tables["members"].copy()
    changed = replace(data, tables={**data.tables, "members": members})
    assert changed.looked_up_rows("training", "member_id", "members", "member_id") is None
    got = Grouping(changed).positions("training", "member_id", "members")
    assert got.tolist() == by_hand(data.tables["training"], "member_id", "members", "member_id")
