"""``scoring run --split parent``: one results workbook per 上级党组织 plus 汇总.xlsx, nothing re-scored.

The expected content comes from the same run's JSON (the results contract), grouped by 上级党组织 in the
test: each part's 总排名 lists exactly its branches with the run's county-wide ranks, totals and levels,
and 汇总's 分册 counts each part's levels."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from hardening_util import cli

from scoring import atomic
from scoring.output import xlsx
from scoring.sample import generate_county, write_dataset

PARENTS = ["甲镇党委", "乙乡党委", "丙/丁街道党工委"]  # the slash cannot be in a file name


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("split")
    tables = generate_county(n_branches=12, seed=5)
    b = tables["branches"]
    tables["branches"] = b.assign(parent=[PARENTS[i % 3] for i in range(len(b))])
    (book,) = write_dataset(tables, d / "county.xlsx", fmt="xlsx")
    out = d / "out"
    (out / "results-按上级党组织").mkdir(parents=True)  # as an earlier split left it
    (out / "results-按上级党组织" / "已撤销镇党委.xlsx").write_bytes(b"old")
    (out / "results-按上级党组织" / "说明.txt").write_text("委员会的说明", encoding="utf-8")
    rc, stdout, stderr = cli("run", book, "-o", out / "results.xlsx", "--split", "parent", "--json", out / "r.json")
    assert rc == 0, stderr
    return {"dir": d, "book": book, "out": out, "stdout": stdout,
            "json": json.loads((out / "r.json").read_text(encoding="utf-8"))}


def _sheet(path, name) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=name, header=xlsx.HEADER_ROW, dtype=object, engine="calamine")
    frame.columns = [str(c).replace("\n", "") for c in frame.columns]  # long headers break over two lines
    return frame[frame.iloc[:, 0].notna()].reset_index(drop=True)


def test_one_workbook_per_parent_and_the_summary(run):
    folder = run["out"] / "results-按上级党组织"
    # a workbook of a part that is gone is removed, a file that is not a workbook is left alone
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


def test_refusals(run, tmp_path):
    inside = tmp_path / "r-按上级党组织"
    inside.mkdir()
    (inside / "county.xlsx").write_bytes(run["book"].read_bytes())
    rc, _, stderr = cli("run", inside, "-o", tmp_path / "r.xlsx", "--split", "parent")
    assert rc == 2 and "是输入数据所在的文件夹" in stderr and "Traceback" not in stderr
    rc, _, stderr = cli("run", run["book"], "--split", "parent", "--no-xlsx", "--json", tmp_path / "r.json")
    assert rc == 2 and "--split" in stderr and "--no-xlsx" in stderr
