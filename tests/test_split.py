"""``scoring run --split parent``: one results workbook per 上级党组织 plus 汇总.xlsx, nothing re-scored.

The expected content comes from the same run's JSON (the results contract), grouped by 上级党组织 in the
test: each part's 总排名 lists exactly its branches with the run's county-wide ranks, totals and levels,
and 汇总's 分册 counts each part's levels."""

from __future__ import annotations

import json
import os
import shutil

import openpyxl
import pandas as pd
import pytest
from hardening_util import cli

from scoring import atomic
from scoring.engine import load
from scoring.output import split, xlsx
from scoring.sample import generate_county, write_dataset

PARENTS = ["甲镇党委", "乙乡党委", "丙/丁街道党工委"]  # the slash cannot be in a file name


def _own_workbook(path, author=xlsx.AUTHOR, subject=xlsx.RESULTS_SUBJECT):
    """A workbook with the document properties of one this program wrote (or, given others, not)."""
    book = openpyxl.Workbook()
    book.active["A1"] = "旧的结果"
    book.properties.creator, book.properties.subject = author, subject
    book.save(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("split")
    tables = generate_county(n_branches=12, seed=5)
    b = tables["branches"]
    tables["branches"] = b.assign(parent=[PARENTS[i % 3] for i in range(len(b))])
    (book,) = write_dataset(tables, d / "county.xlsx", fmt="xlsx")
    out = d / "out"
    (out / "results-按上级党组织").mkdir(parents=True)  # as an earlier split left it
    _own_workbook(out / "results-按上级党组织" / "已撤销镇党委.xlsx")  # a part since renamed or gone
    (out / "results-按上级党组织" / "说明.txt").write_text("委员会的说明", encoding="utf-8")
    rc, stdout, stderr = cli("run", book, "-o", out / "results.xlsx", "--split", "parent", "--json", out / "r.json")
    assert rc == 0, stderr
    single = d / "single"
    single.mkdir()
    rc, _, stderr = cli("run", book, "-o", single / "results.xlsx", "-q")  # the same run, one workbook
    assert rc == 0, stderr
    parent = dict(zip(tables["branches"]["branch_id"], tables["branches"]["parent"]))
    return {"dir": d, "book": book, "out": out, "stdout": stdout, "parent": parent,
            "single": single / "results.xlsx",
            "json": json.loads((out / "r.json").read_text(encoding="utf-8"))}


def _sheet(path, name) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=name, header=xlsx.HEADER_ROW, dtype=object, engine="calamine")
    frame.columns = [str(c).replace("\n", "") for c in frame.columns]  # long headers break over two lines
    return frame[frame.iloc[:, 0].notna()].reset_index(drop=True)


def test_one_workbook_per_parent_and_the_summary(run):
    folder = run["out"] / "results-按上级党组织"
    # a results workbook of a part that is gone is removed, a file that is not a workbook is left alone
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["汇总.xlsx", "甲镇党委.xlsx", "乙乡党委.xlsx", "丙_丁街道党工委.xlsx", "说明.txt"])
    assert (folder / "说明.txt").read_text(encoding="utf-8") == "委员会的说明"
    assert not (run["out"] / "results.xlsx").exists()  # the folder replaces the single workbook
    assert [p.name for p in run["out"].iterdir() if p.name.startswith(".")] == []  # no temporary folder left
    assert f"结果已写入：{folder}（汇总.xlsx 及 3 个上级党组织的工作簿）" in run["stdout"]


def test_each_part_lists_its_branches_with_the_runs_ranks(run):
    folder = run["out"] / "results-按上级党组织"
    branches = pd.DataFrame(run["json"]["branches"])
    seen = []
    for parent, file in zip(PARENTS, ["甲镇党委.xlsx", "乙乡党委.xlsx", "丙_丁街道党工委.xlsx"]):
        ranking = _sheet(folder / file, "总排名")
        mine = branches[branches["parent"] == parent].sort_values("rank")
        assert ranking["支部编码"].tolist() == mine["branch_id"].tolist()
        assert ranking["排名"].astype(int).tolist() == mine["rank"].astype(int).tolist()  # county-wide
        assert ranking["总分"].astype(float).round(2).tolist() == mine["total"].astype(float).round(2).tolist()
        assert ranking["评定等级"].tolist() == mine["level"].tolist()
        detail = _sheet(folder / file, "得分明细")
        assert set(detail["支部编码"]) == set(mine["branch_id"])  # the detail of its own branches only
        seen += ranking["支部编码"].tolist()
    assert sorted(seen) == sorted(branches["branch_id"])


def test_the_summary_counts_levels_per_part_and_names_the_files(run):
    summary = run["out"] / "results-按上级党组织" / "汇总.xlsx"
    parts = _sheet(summary, "分册")
    parts = parts[parts["上级党组织"] != "合计"]
    branches = pd.DataFrame(run["json"]["branches"])
    expected = branches.groupby("parent")["level"].value_counts().unstack(fill_value=0)
    for _, row in parts.iterrows():
        counts = expected.loc[row["上级党组织"]]
        for level, n in counts.items():
            assert int(row[level]) == int(n), (row["上级党组织"], level)
        assert int(row["合计"]) == int(counts.sum())
    assert dict(zip(parts["上级党组织"], parts["工作簿"])) == {
        "甲镇党委": "甲镇党委.xlsx", "乙乡党委": "乙乡党委.xlsx", "丙/丁街道党工委": "丙_丁街道党工委.xlsx"}
    ranking = _sheet(summary, "总排名")
    assert ranking["支部编码"].tolist() == branches.sort_values("rank")["branch_id"].tolist()


def _copy_split(run, folder):
    """``folder``: the fixture run's split folder (workbooks this program wrote)."""
    shutil.copytree(run["out"] / "results-按上级党组织", folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_workbook_not_written_by_the_program_stops_the_run(run, tmp_path):
    folder = tmp_path / "r-按上级党组织"
    before = _copy_split(run, folder)
    own = openpyxl.Workbook()  # the committee's own workbook, in the folder the run would replace
    own.active["A1"] = "委员会的意见"
    own.save(folder / "委员会意见.xlsx")
    (folder / "乙乡党委.xlsx").write_bytes(b"not a workbook")  # same name as a part: would be replaced
    before["乙乡党委.xlsx"] = b"not a workbook"
    before["委员会意见.xlsx"] = (folder / "委员会意见.xlsx").read_bytes()
    rc, out, stderr = cli("run", run["book"], "-o", tmp_path / "r.xlsx", "--split", "parent")
    assert rc == 2 and "Traceback" not in stderr
    assert f"拆分结果的文件夹 {folder} 中的 乙乡党委.xlsx、委员会意见.xlsx 不是本系统写入的结果工作簿" in stderr
    assert out == ""  # refused before any work
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_interrupted_run_leaves_the_earlier_folder_as_it_was(run, tmp_path, monkeypatch):
    folder = tmp_path / "r-按上级党组织"
    before = _copy_split(run, folder)
    calls = []
    real = split.write_results

    def second_fails(result, path, preview=None):
        calls.append(path.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(result, path, preview=preview)

    monkeypatch.setattr(split, "write_results", second_fails)
    rc, _, stderr = cli("run", run["book"], "-o", tmp_path / "r.xlsx", "--split", "parent", "-q")
    assert rc == 130 and "已中断，未写入结果。" in stderr
    assert len(calls) == 2
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-按上级党组织"]  # no temporary folder left
    # and a first run interrupted leaves no folder at all
    calls.clear()
    rc, _, _ = cli("run", run["book"], "-o", tmp_path / "new.xlsx", "--split", "parent", "-q")
    assert rc == 130 and sorted(p.name for p in tmp_path.iterdir()) == ["r-按上级党组织"]


def test_file_names_are_safe_and_distinct():
    assert split.file_names(["城关镇", "城/关镇", "城关镇", "汇总", "汇总(2)"]) == [
        "城关镇.xlsx", "城_关镇.xlsx", "城关镇(2).xlsx", "汇总(2).xlsx", "汇总(2)(2).xlsx"]


def test_a_failed_move_puts_back_every_file(tmp_path, monkeypatch):
    folder = tmp_path / "parts"
    folder.mkdir()
    for name in ("a.xlsx", "b.xlsx", "gone.xlsx", "keep.txt"):
        (folder / name).write_text(f"old {name}")
    real, moved = os.replace, []

    def replace(src, dst):  # the third move fails (a workbook held open by Excel)
        moved.append(dst)
        if len(moved) == 3:
            raise PermissionError(13, "in use", str(dst))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(PermissionError), atomic.atomic_folder(folder, remove=lambda written: ["gone.xlsx"]) as tmp:
        for name in ("a.xlsx", "b.xlsx", "c.xlsx"):
            (tmp / name).write_text(f"new {name}")
    assert len(moved) > 3  # the moves before the failure were undone
    assert {p.name: p.read_text() for p in folder.iterdir()} == {
        name: f"old {name}" for name in ("a.xlsx", "b.xlsx", "gone.xlsx", "keep.txt")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]

    monkeypatch.setattr(atomic.os, "replace", real)
    with atomic.atomic_folder(folder, remove=lambda written: ["gone.xlsx"]) as tmp:
        for name in ("a.xlsx", "b.xlsx", "c.xlsx"):
            (tmp / name).write_text(f"new {name}")
    assert {p.name: p.read_text() for p in folder.iterdir()} == {
        "a.xlsx": "new a.xlsx", "b.xlsx": "new b.xlsx", "c.xlsx": "new c.xlsx", "keep.txt": "old keep.txt"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


def test_parts_agree_with_the_single_workbook_of_the_same_run(run):
    folder = run["out"] / "results-按上级党组织"
    single = _sheet(run["single"], "总排名")
    keys = ["支部编码", "支部名称", "排名", "总分", "评定等级", "否决与标记"]
    single_parent = single["支部编码"].map(run["parent"])  # the parent each branch was given in the data
    seen = []
    for parent, file in zip(PARENTS, ["甲镇党委.xlsx", "乙乡党委.xlsx", "丙_丁街道党工委.xlsx"]):
        part = _sheet(folder / file, "总排名")
        expected = single[(single_parent == parent).to_numpy()]
        assert part[keys].astype(str).values.tolist() == expected[keys].astype(str).values.tolist()
        assert part["上级党组织"].tolist() == [parent] * len(expected)
        seen += part["支部编码"].tolist()
    assert sorted(seen) == sorted(single["支部编码"]) and len(seen) == len(single)
    summary = _sheet(folder / "汇总.xlsx", "总排名")
    assert summary[keys].astype(str).values.tolist() == single[keys].astype(str).values.tolist()


def test_the_summary_counts_agree_with_the_single_workbook(run):
    rubric = load(None)[0]
    levels = [lv.label for lv in rubric.grading.levels] + [rubric.grading.unrated_label]
    single = _sheet(run["single"], "总排名")
    parts = _sheet(run["out"] / "results-按上级党组织" / "汇总.xlsx", "分册")
    present = [lv for lv in levels if lv in set(single["评定等级"])]
    assert list(parts.columns) == ["上级党组织", *levels, "合计", "有否决或标记", "工作簿"]  # rubric order
    assert len(present) >= 3  # the county is varied enough for the counts to say something
    by_parent = single.assign(parent=single["支部编码"].map(run["parent"]))
    rows = parts[parts["上级党组织"] != "合计"].set_index("上级党组织")
    assert sorted(rows.index) == sorted(PARENTS)
    for parent, group in by_parent.groupby("parent"):
        row = rows.loc[parent]
        assert [int(row[lv]) for lv in levels] == [int((group["评定等级"] == lv).sum()) for lv in levels]
        assert int(row["合计"]) == len(group)
        assert int(row["有否决或标记"]) == int(group["否决与标记"].notna().sum())
    total = parts[parts["上级党组织"] == "合计"].iloc[0]
    assert [int(total[lv]) for lv in levels] == [int((single["评定等级"] == lv).sum()) for lv in levels]


def test_refusals(run, tmp_path):
    inside = tmp_path / "r-按上级党组织"
    inside.mkdir()
    (inside / "county.xlsx").write_bytes(run["book"].read_bytes())
    rc, _, stderr = cli("run", inside, "-o", tmp_path / "r.xlsx", "--split", "parent")
    assert rc == 2 and "是输入数据所在的文件夹" in stderr and "Traceback" not in stderr
    data = inside / "county.xlsx"  # an input file among the workbooks the run would replace
    rc, _, stderr = cli("run", data, "-o", tmp_path / "r.xlsx", "--split", "parent")
    assert rc == 2 and f"输出文件 {data} 是输入数据之一" in stderr and "Traceback" not in stderr
    assert data.read_bytes() == run["book"].read_bytes()
    rc, _, stderr = cli("run", run["book"], "--split", "parent", "--no-xlsx", "--json", tmp_path / "r.json")
    assert rc == 2 and "--split" in stderr and "--no-xlsx" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-按上级党组织"]
