"""A read in blocks of branches (``--executor dask``): each block holds exactly the whole read's records of
its branches, the blocks' row hashes and notes put together are the whole read's fingerprint and notes,
and whatever a block cannot be sure of falls back to the whole read (the same error, the same result)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.dataset import fingerprint
from scoring.engine import Timer, build_meta, load, read_for, score
from scoring.errors import DataError
from scoring.output.jsonout import write_json
from scoring.reader import formats
from scoring.reader.intake import final_notes, merge_notes
from scoring.reader.split import NotSplit, Split, partition_bounds
from scoring.sample import generate_county, write_dataset

N_BRANCHES = 8


def _county() -> dict[str, pd.DataFrame]:
    """Eight branches whose records are not in branch order, with stray spaces around 党员编号 in the
    roster and around 支部编码 in 学习培训 in records of several branches (notes whose first example may lie
    in a later block than other rows noted; records whose branch is known only once the spaces are gone)."""
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    rng = np.random.default_rng(3)
    for tid, frame in tables.items():
        if tid != "branches":
            tables[tid] = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    for tid, column, n in (("members", "member_id", 9), ("training", "branch_id", 7)):
        frame = tables[tid]
        spaced = rng.choice(len(frame), n, replace=False)
        frame[column] = frame[column].astype(object)
        frame.loc[spaced, column] = " " + frame.loc[spaced, column] + "  "
    return tables


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> Path:
    """A folder of two workbooks: branches 1-5 in one, 6-8 in the other (every table split by branch)."""
    folder = tmp_path_factory.mktemp("split") / "data"
    folder.mkdir()
    tables = _county()
    ids = list(tables["branches"]["branch_id"])
    for name, mine in (("东片.xlsx", ids[:5]), ("西片.xlsx", ids[5:])):
        write_dataset({tid: f[f["branch_id"].str.strip().isin(mine)].reset_index(drop=True)
                       for tid, f in tables.items()}, folder / name)
    return folder


@pytest.fixture(scope="module")
def parquet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("split") / "pq"
    write_dataset(_county(), folder, fmt="parquet")
    return folder


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("split") / "csv"
    write_dataset(_county(), folder, fmt="csv")
    return folder


def _whole_and_blocks(path: Path, parts: int):
    rubric, reg, _ = load(None)
    whole = read_for([path], (rubric, reg), year=rubric.year)
    blocks = []
    for k in range(parts):
        split = Split(k, parts)
        blocks.append((split, read_for([path], (rubric, reg), year=rubric.year, split=split)))
    return whole, blocks


@pytest.mark.parametrize("source", ["workbooks", "csv", "parquet", "parquet read per column"])
def test_each_block_holds_the_whole_reads_records_of_its_branches(source, request, monkeypatch):
    if source == "parquet read per column":
        monkeypatch.setattr(formats, "DEFER_PARQUET_BYTES", 0)  # every column a Deferred, read when assembled
    path = request.getfixturevalue(source.split()[0])
    whole, blocks = _whole_and_blocks(path, 3)
    ids = whole.branches["branch_id"].tolist()
    bounds = partition_bounds(len(ids), 3)
    for (split, data), (a, b) in zip(blocks, bounds):
        mine = ids[a:b]
        assert data.branches["branch_id"].tolist() == mine
        assert list(data.tables) == list(whole.tables)
        for tid, frame in whole.tables.items():
            keep = frame["branch_id"].isin(mine).to_numpy()
            pd.testing.assert_frame_equal(data.tables[tid], frame[keep].reset_index(drop=True))
            pd.testing.assert_frame_equal(data.origins[tid], whole.origins[tid][keep].reset_index(drop=True))
    # every record is in one block
    for tid, frame in whole.tables.items():
        assert sum(len(data.tables[tid]) for _, data in blocks) == len(frame)
    # the fingerprint from the merged row hashes, and the notes merged, are the whole read's
    hashes = {tid: (sorted(f.columns), np.sort(np.concatenate([d.row_hashes(tid) for _, d in blocks])))
              for tid, f in whole.tables.items()}
    assert fingerprint(hashes) == whole.sha256()
    notes = final_notes(merge_notes([s.notes for s, _ in blocks], whole.sources))
    assert notes == whole.notes
    spaces = sorted((n.column, n.message[:2]) for n in whole.notes if "空格" in n.message)
    assert spaces == ([("党员编号", "9处"), ("支部编码", "7处")] if source == "workbooks"
                      else [("branch_id", "7处"), ("member_id", "9处")])  # a CSV or Parquet file's column names
    shown = [n.message for n in whole.notes if "空格" in n.message]
    assert all(("涉及2个文件" in m) == (source == "workbooks") for m in shown)


def test_notes_of_blocks_merge_as_one_read_notes_them():
    """Per note and file: counts added, the example of the first row noted (here in the later block), in
    the files' reading order; a note about a file (in every block) kept once."""
    from scoring.errors import DataNote
    from scoring.reader.intake import _Note

    key = ("d", "dues", None, "党员编号", DataNote.SPACES)
    title = ("d", "b.xlsx", "党费", None, DataNote.TITLE_ROWS)

    def note(file, count, first, example):
        return _Note(key, "d", file, None, "党员编号", count, f"{{n}}处空格，如「{example}」", first)

    block0 = [_Note(title, "d", "b.xlsx", "党费", None, 1, "跳过标题行"), note("b.xlsx", 3, 40, "甲"),
              note("a.xlsx", 2, 9, "乙")]
    block1 = [_Note(title, "d", "b.xlsx", "党费", None, 1, "跳过标题行"), note("b.xlsx", 4, 12, "丙")]
    merged = merge_notes([block0, block1], ["a.xlsx", "b.xlsx"])
    assert [(n.file, n.count, n.first, n.message) for n in merged] == [
        ("b.xlsx", 1, None, "跳过标题行"),
        ("a.xlsx", 2, 9, "{n}处空格，如「乙」"),
        ("b.xlsx", 7, 12, "{n}处空格，如「丙」"),
    ]
    shown = [n.message for n in final_notes(merged)]
    assert "9处空格，如「乙」（涉及2个文件，如 a.xlsx）" in shown


@pytest.mark.parametrize("row", [3, -3])
def test_a_problem_is_left_to_the_whole_read_by_the_block_that_has_it(row, tmp_path):
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    meetings = tables["meetings"]
    at = meetings.index[row]
    meetings.loc[at, "expected"] = -5  # implausible
    write_dataset(tables, tmp_path / "d", fmt="parquet")
    ids = tables["branches"]["branch_id"].tolist()
    holder = 0 if ids.index(meetings.loc[at, "branch_id"]) < N_BRANCHES // 2 else 1
    rubric, reg, _ = load(None)
    for k in range(2):
        if k == holder:
            with pytest.raises(NotSplit):
                read_for([tmp_path / "d"], (rubric, reg), year=rubric.year, split=Split(k, 2))
        else:  # the other block is valid on its own: the driver falls back because one block could not
            assert len(read_for([tmp_path / "d"], (rubric, reg), year=rubric.year, split=Split(k, 2)).branches) == 4


def test_a_record_of_no_listed_branch_is_left_to_the_whole_read(tmp_path):
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    tables["branches"] = tables["branches"].iloc[1:].reset_index(drop=True)  # its records stay behind
    write_dataset(tables, tmp_path / "d", fmt="parquet")
    rubric, reg, _ = load(None)
    with pytest.raises(NotSplit):
        read_for([tmp_path / "d"], (rubric, reg), year=rubric.year, split=Split(0, 2))


# --------------------------------------------------------------------------------------------------
# On Dask: the split read when it can, the whole read when it cannot


def _local(path: Path, lenient: bool = False):
    rubric, reg, _ = load(None)
    data = read_for([path], (rubric, reg), year=rubric.year, lenient=lenient)
    return score(rubric, reg, data, rubric.year, build_meta(rubric, reg, data, rubric.year, "scoring run data"))


def _on_dask(path: Path, lenient: bool = False):
    from scoring import distributed

    timer = Timer(quiet=True)
    rubric, _, _ = load(None)
    result = distributed.score_on_dask([path], None, [], rubric.year, "scoring run data", None, timer,
                                       lenient=lenient, workers=2, processes=False)
    return result, set(timer.phases)


def _same_json(a, b, tmp_path: Path) -> None:
    b.meta.generated = a.meta.generated  # the same minute for both runs' metadata
    write_json(a, tmp_path / "a.json")
    write_json(b, tmp_path / "b.json")
    assert hashlib.sha256((tmp_path / "a.json").read_bytes()).hexdigest() == \
        hashlib.sha256((tmp_path / "b.json").read_bytes()).hexdigest()


@pytest.mark.dask
def test_dask_finds_a_key_repeated_across_blocks(tmp_path):
    """The same 党员编号 in the rosters of branches of two blocks: each block alone is valid."""
    pytest.importorskip("distributed")
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    members = tables["members"]
    first, last = members.index[members["branch_id"] == members["branch_id"].iloc[0]][0], members.index[-1]
    old = members.loc[last, "member_id"]
    members.loc[last, "member_id"] = members.loc[first, "member_id"]
    for tid in ("dues", "training", "appraisals"):  # the member's own records follow the new id
        t = tables[tid]
        t.loc[t["member_id"] == old, "member_id"] = members.loc[first, "member_id"]
    write_dataset(tables, tmp_path / "d", fmt="parquet")
    with pytest.raises(DataError) as local:
        _local(tmp_path / "d")
    assert any("重复" in p.message for p in local.value.problems)
    with pytest.raises(DataError) as remote:
        _on_dask(tmp_path / "d")
    assert remote.value.problems == local.value.problems


@pytest.mark.dask
def test_dask_with_problems_gives_the_whole_reads_result(tmp_path):
    """Lenient: the branch with a problem is excluded as in the local run (after the whole read)."""
    pytest.importorskip("distributed")
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    tables["meetings"].loc[3, "expected"] = -5
    write_dataset(tables, tmp_path / "d", fmt="parquet")
    result, phases = _on_dask(tmp_path / "d", lenient=True)
    assert "dask.whole" in phases
    local = _local(tmp_path / "d", lenient=True)
    assert len(local.meta.excluded) == 1
    _same_json(local, result, tmp_path)


# --------------------------------------------------------------------------------------------------
# The driver's merge, on the blocks' returns computed in this process (no cluster)


def _blocks_of(path: Path, parts: int = 2) -> list[dict]:
    from scoring.distributed import score_own_partition

    rubric, _, _ = load(None)
    return [score_own_partition([str(path)], None, [], rubric.year, k, parts) for k in range(parts)]


def _merge(outs):
    from scoring.distributed import _merged

    rubric, reg, _ = load(None)
    return _merged(outs, rubric, reg, rubric.year, "scoring run data", None)


def test_the_merged_blocks_give_the_local_metadata(parquet):
    outs = _blocks_of(parquet, 3)
    branches, meta = _merge(outs)
    local = _local(parquet)
    rubric, reg, _ = load(None)
    whole = read_for([parquet], (rubric, reg), year=rubric.year)
    pd.testing.assert_frame_equal(branches, whole.branches)
    assert meta.data_sha256 == whole.sha256() == local.meta.data_sha256
    assert meta.data_notes == local.meta.data_notes


def test_a_year_table_empty_in_one_block_is_left_to_the_whole_read(tmp_path):
    """The year check names the tables it found records in: a block without any 组织生活记录 would name
    fewer tables than the whole read does."""
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    ids = tables["branches"]["branch_id"].tolist()
    meetings = tables["meetings"]
    tables["meetings"] = meetings[meetings["branch_id"].isin(ids[:4])].reset_index(drop=True)
    write_dataset(tables, tmp_path / "d", fmt="parquet")
    outs = _blocks_of(tmp_path / "d")
    assert [out["rows"]["meetings"] > 0 for out in outs] == [True, False]
    assert _merge(outs) is None


@pytest.mark.parametrize("case", ["conflict", "no records"])
def test_merging_two_files_is_checked_in_the_block_of_the_branch(case, tmp_path):
    """A branch's records in two workbooks, or a branch with no record at all: found by its own block."""
    tables = generate_county(n_branches=N_BRANCHES, seed=7)
    ids = tables["branches"]["branch_id"].tolist()
    last = ids[-1]
    folder = tmp_path / "d"
    folder.mkdir()
    if case == "no records":
        tables = {tid: f if tid == "branches" else f[f["branch_id"] != last].reset_index(drop=True)
                  for tid, f in tables.items()}
    write_dataset(tables, folder / "全县.xlsx")
    if case == "conflict":  # the last branch's meetings again in a second workbook
        write_dataset({"meetings": tables["meetings"][tables["meetings"]["branch_id"] == last].reset_index(drop=True)},
                      folder / "补报.xlsx")
    with pytest.raises(DataError) as local:
        _local(folder)
    assert len(local.value.problems) == 1
    outs = _blocks_of(folder)
    assert "whole" not in outs[0] and "whole" in outs[1]


def test_every_phase_shown_on_the_progress_bar_has_a_chinese_name():
    """The progress bar shows each phase by its PHASES_ZH name (the Dask phases included), never its id."""
    import re

    from scoring.progress import PHASES_ZH

    root = Path(__file__).resolve().parent.parent / "scoring"
    used = {m for f in root.rglob("*.py") for m in re.findall(r'timer\("([^"]+)"\)', f.read_text(encoding="utf-8"))}
    assert {"dask.measure", "dask.whole", "validate"} <= used
    assert sorted(used - set(PHASES_ZH)) == []


@pytest.mark.dask
def test_dask_on_a_cluster_given_by_its_scheduler_address_reads_in_blocks(workbooks, tmp_path):
    """``--scheduler ADDRESS``: the run uses the cluster there (here one started by the test, three workers),
    each reading its block of a folder of workbooks; no second pass, the JSON and notes the local run's."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from scoring import distributed

    rubric, _, _ = load(None)
    timer = Timer(quiet=True)
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        result = distributed.score_on_dask([workbooks], None, [], rubric.year, "scoring run data", None, timer,
                                           scheduler=cluster.scheduler_address)
    assert "dask.whole" not in timer.phases  # no second pass: the blocks stood for the whole read
    local = _local(workbooks)
    _same_json(local, result, tmp_path)
    assert [n.message for n in result.meta.data_notes] == [n.message for n in local.meta.data_notes]
    assert any("空格" in n.message for n in local.meta.data_notes)
