"""``scoring rubric diff OLD NEW --data DATA``: what a new rubric changes on real records.

A small generated county and two rubrics that differ in one indicator's rule (党课: 4 a year at 1 point
each -> 2 a year at 2 points each, the 4 points kept), so the branches that must move are known from the
records alone: a branch with n 党课 in the year gets max(0, 4 - max(0, 4 - n)) points under the old rule
and max(0, 4 - 2 * max(0, 2 - n)) under the new one. Levels, ranks and quotas are checked against the two
results of the engine lined up by hand in the test (not with the code under test).
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from scoring.cli import main
from scoring.engine import load, needed_tables, score
from scoring.impact import compare, summary_lines
from scoring.reader import read_dataset
from scoring.sample import generate_county, write_dataset

YEAR = 2025
N_BRANCHES = 40
SEED = 3  #党课 counts 2 (2 branches), 3 (6), 4 (24), 5 (8): eight branches must move

NEW_RUBRIC = """\
extends = "five_star"
id = "county_lectures"
name = "党课每年2次"
version = "2025.1-test"

[[dimensions]]
id = "mechanism"

[[dimensions.indicators]]
id = "party_lectures"
rule = { type = "deduct_shortfall", target = 2, per = 2 }
"""

QUOTA_RUBRIC = """\
extends = "five_star"
id = "county_quota"
name = "五星名额30%"
version = "2025.1-test"

[[quotas]]
level = "五星"
max_share = 0.3
"""


def _lectures(tables) -> pd.Series:
    m = tables["meetings"]
    m = m[(m["kind"] == "党课") & (m["date"].dt.year == YEAR)]
    return m.groupby("branch_id").size().reindex(tables["branches"]["branch_id"], fill_value=0)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    folder = tmp_path_factory.mktemp("impact")
    tables = generate_county(n_branches=N_BRANCHES, seed=SEED, year=YEAR)
    data = folder / "county"
    write_dataset(tables, data, "csv")
    new = folder / "county_lectures.toml"
    new.write_text(NEW_RUBRIC, encoding="utf-8")
    quota = folder / "county_quota.toml"
    quota.write_text(QUOTA_RUBRIC, encoding="utf-8")
    return {"folder": folder, "tables": tables, "data": data, "new": new, "quota": quota}


@pytest.fixture(scope="module")
def command(county):
    """The command run once as a user runs it (in-process), with the workbook; the Impact it printed is
    kept for the tests of its content (the two scorings are the expensive part)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import scoring.impact

    seen = []

    def keep(*args, **kwargs):
        seen.append(compare(*args, **kwargs))
        return seen[-1]

    out = county["folder"] / "impact.xlsx"
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(stdout), redirect_stderr(stderr):
        mp.setattr(scoring.impact, "compare", keep)
        rc = main(["rubric", "diff", "five_star", str(county["new"]), "--data", str(county["data"]), "-o", str(out), "-q"])
    assert rc == 0, stderr.getvalue()
    (impact,) = seen
    return {"stdout": stdout.getvalue(), "output": out, "impact": impact}


@pytest.fixture(scope="module")
def impact(command):
    return command["impact"]


@pytest.fixture(scope="module")
def results(county, impact):
    r, reg, _ = load(str(county["quota"]))
    data = read_dataset([county["data"]], reg.tables, needed_tables(r, reg))
    return {"old": impact.old, "new": impact.new, "quota": score(r, reg, data, YEAR)}


def test_exactly_the_branches_whose_lectures_count_differently_move(county, impact):
    n = _lectures(county["tables"])
    old_points = np.maximum(0, 4 - np.maximum(0, 4 - n))
    new_points = np.maximum(0, 4 - 2 * np.maximum(0, 2 - n))
    expected = (new_points - old_points)[new_points != old_points]
    assert sorted(set(expected.index)) == sorted(set(n.index[(n >= 1) & (n <= 3)]))  # the rule's arithmetic
    assert len(expected) == 8

    moved = impact.indicators
    assert set(moved["indicator"]) == {"party_lectures"}
    got = moved.set_index("branch_id")
    assert sorted(got.index) == sorted(expected.index)
    assert got["delta"].reindex(expected.index).tolist() == expected.astype(float).tolist()
    assert got["points_old"].reindex(expected.index).tolist() == old_points[expected.index].astype(float).tolist()
    assert got["points_new"].reindex(expected.index).tolist() == new_points[expected.index].astype(float).tolist()

    by = impact.by_indicator
    assert by["indicator"].tolist() == ["party_lectures"]
    assert (by.loc[0, "up"], by.loc[0, "down"], by.loc[0, "delta_sum"]) == (8, 0, float(expected.sum()))
    assert by.loc[0, "max_old"] == by.loc[0, "max_new"] == 4


def test_why_names_the_indicator_with_old_and_new_points(county, impact):
    n = _lectures(county["tables"])
    b = impact.branches.set_index("branch_id")
    for bid in n.index[(n >= 1) & (n <= 3)]:
        old, new = int(max(0, 4 - max(0, 4 - n[bid]))), int(max(0, 4 - 2 * max(0, 2 - n[bid])))
        assert f"党课（party_lectures）{old} → {new}" in b.loc[bid, "why"]
    unmoved = b.index.difference(n.index[(n >= 1) & (n <= 3)])
    assert not b.loc[unmoved, "why"].str.contains("党课").any()
    assert not b.loc[unmoved, "total_changed"].any()  # no other indicator moved, so no other total did


def test_levels_ranks_and_totals_line_up_with_the_two_results(results, impact):
    old, new = results["old"].branches, results["new"].branches
    m = new.merge(old, on="branch_id", suffixes=("_new", "_old"))
    m = m.sort_values("rank_new", kind="stable")
    b = impact.branches
    assert b["branch_id"].tolist() == m["branch_id"].tolist()  # the new rubric's rank order
    assert b["level_old"].tolist() == m["level_old"].tolist() and b["level_new"].tolist() == m["level_new"].tolist()
    changed = m.loc[m["level_old"] != m["level_new"], "branch_id"].tolist()
    assert b.loc[b["level_changed"], "branch_id"].tolist() == changed
    assert b.loc[b["rank_changed"], "branch_id"].tolist() == m.loc[m["rank_old"] != m["rank_new"], "branch_id"].tolist()
    assert b["total_old"].tolist() == m["ranked_total_old"].tolist()
    assert b["total_new"].tolist() == m["ranked_total_new"].tolist()
    assert (b["rank_move"] == b["rank_old"] - b["rank_new"]).all()
    # per level, before and after, as value counts of the two results
    lv = impact.levels.set_index("level")
    for label in set(old["level"]) | set(new["level"]):
        assert lv.loc[label, "old"] == (old["level"] == label).sum()
        assert lv.loc[label, "new"] == (new["level"] == label).sum()
    assert lv["old"].sum() == lv["new"].sum() == N_BRANCHES


def test_quota_effects(results):
    imp = compare(results["old"], results["quota"])
    assert imp.indicators.empty and not imp.branches["total_changed"].any()  # only the quota changed
    q = imp.quotas.set_index(["level", "scope"])
    five = q.loc[("五星", "county")]
    assert (five["share_old"], five["share_new"]) == (0.1, 0.3)
    assert (five["places_old"], five["places_new"]) == (np.floor(N_BRANCHES * 0.1), np.floor(N_BRANCHES * 0.3 + 1e-9))
    old, new = results["old"].branches, results["quota"].branches
    assert five["at_old"] == (old["level"] == "五星").sum() and five["at_new"] == (new["level"] == "五星").sum()
    assert five["down_old"] == (old["quota_from"] == "五星").sum()
    assert five["down_new"] == (new["quota_from"] == "五星").sum()
    # the branches the old quota held back are exactly the ones that gain a star, and say so
    held = old.loc[old["quota_from"] == "五星", "branch_id"].tolist()
    gained = imp.branches.loc[imp.branches["level_changed"]]
    kept_back = set(held) - set(new.loc[new["quota_from"] == "五星", "branch_id"])
    assert kept_back and sorted(gained.loc[gained["level_new"] == "五星", "branch_id"]) == sorted(kept_back)
    # held back by the 五星 quota, then by the 四星 one too for some (五星 -> 三星)
    assert gained.loc[gained["level_new"] == "五星", "why"].str.fullmatch(
        "名额：因名额限制由五星调整为[四三]星 → 未受名额限制").all()
    # the places they left free under the 四星 quota go to branches that quota held back before
    freed = gained[gained["level_new"] != "五星"]
    assert (freed["level_old"] == "三星").all() and (freed["level_new"] == "四星").all()
    assert set(freed["branch_id"]) <= set(old.loc[old["quota_from"] == "四星", "branch_id"])
    assert (gained["change"] == "升星").all()
    lines = summary_lines(imp, "county.xlsx", YEAR)
    line = next(x.strip() for x in lines if x.strip().startswith("五星名额（全县）"))
    assert line == (f"五星名额（全县）：不超过10% → 不超过30%，名额 {int(five['places_old'])} → {int(five['places_new'])} 个，"
                    f"评为五星 {int(five['at_old'])} → {int(five['at_new'])} 个，"
                    f"因名额降级 {int(five['down_old'])} → {int(five['down_new'])} 个")


def test_the_same_rubric_changes_nothing(results):
    imp = compare(results["old"], results["old"])
    assert not imp.branches[["level_changed", "total_changed", "rank_changed", "flags_changed"]].any().any()
    assert imp.indicators.empty and imp.by_indicator.empty
    assert "  没有支部的等级或标记发生变化" in summary_lines(imp, "county.xlsx", YEAR)


# ---------------------------------------------------------------- the command
def _cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_command_prints_rules_and_impact_and_writes_the_workbook(county, command, impact):
    stdout, out = command["stdout"], command["output"]
    lines = stdout.splitlines()
    assert lines[0].startswith("评分标准对比：rubrics/five_star.toml（") and "→ " + str(county["new"]) in lines[0]
    assert lines[1:4] == ["  指标：", "    党课（party_lectures）rule.per：1 → 2", "    党课（party_lectures）rule.target：4 → 2"]
    b = impact.branches
    assert lines[4] == f"对实际数据的影响：{county['data']}，参评支部 {N_BRANCHES} 个，考核年度 {YEAR}"
    assert lines[5].startswith(f"  等级变化 {int(b['level_changed'].sum())} 个支部")
    assert f"总分变化 {int(b['total_changed'].sum())} 个，排名变化 {int(b['rank_changed'].sum())} 个" in lines[5]
    assert "    党课（party_lectures）：8 个支部得分提高、0 个降低，合计 +" in stdout
    assert lines[-1] == f"  完整对比已写入：{out}"

    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["影响汇总", "支部对比", "指标得分变化", "规则差异"]
    rows = list(wb["支部对比"].iter_rows(values_only=True))
    header = [str(h).replace("\n", "") for h in rows[2]]
    assert header == ["新排名", "原排名", "排名变化", "支部编码", "支部名称", "上级党组织", "类别", "原总分", "新总分", "总分变化",
                      "原等级", "新等级", "等级变化", "变化原因", "原标记", "新标记"]
    body = [r for r in rows[3:] if r[3]]
    assert [r[3] for r in body] == b["branch_id"].tolist()
    moved = {r[1] for r in list(wb["指标得分变化"].iter_rows(values_only=True))[3:] if r[1]}
    assert moved == set(impact.indicators["branch_id"])
    rules = [r[1] for r in list(wb["规则差异"].iter_rows(values_only=True))[3:] if r[1]]
    assert rules == ["党课（party_lectures）rule.per：1 → 2", "党课（party_lectures）rule.target：4 → 2"]


def test_output_may_not_overwrite_an_input(county, capsys):
    inside = county["data"] / "branches.csv"  # a file of the data folder
    before = inside.read_bytes()
    rc, _, err = _cli(capsys, "rubric", "diff", "five_star", str(county["new"]), "--data", str(county["data"]),
                      "-o", str(inside), "-q")
    assert rc == 2 and "是输入数据之一，不能覆盖" in err and "Traceback" not in err
    assert inside.read_bytes() == before
    rubric_before = county["new"].read_bytes()
    target = county["folder"] / "county_lectures.toml"
    rc, _, err = _cli(capsys, "rubric", "diff", "five_star", str(county["new"]), "--data", str(county["data"]),
                      "-o", str(target), "-q")
    assert rc == 2 and "是评分标准文件，不能覆盖" in err
    assert county["new"].read_bytes() == rubric_before


def test_output_needs_data(county, capsys, tmp_path):
    rc, _, err = _cli(capsys, "rubric", "diff", "five_star", str(county["new"]), "-o", str(tmp_path / "x.xlsx"))
    assert rc == 2 and "需要同时用 --data 指定支部记录" in err
    assert not (tmp_path / "x.xlsx").exists()


def test_no_half_written_workbook(results, impact, tmp_path, monkeypatch):
    from scoring.output import impact as writer
    from scoring.result import RunMeta

    out = tmp_path / "impact.xlsx"
    out.write_bytes(b"last week's file")

    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_indicator_sheet", broken)
    with pytest.raises(RuntimeError):
        writer.write_impact(impact, out, RunMeta(title="t", year=YEAR), "rules", "data")
    assert out.read_bytes() == b"last week's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["impact.xlsx"]  # no temp file left


def test_local_plugins_run_only_with_the_flag(county, capsys, tmp_path):
    out = tmp_path / "impact.xlsx"
    rc, stdout, err = _cli(capsys, "rubric", "diff", "five_star", "examples/county_custom", "--data", str(county["data"]),
                           "-o", str(out), "-q")
    assert rc == 2 and stdout == "" and "Traceback" not in err
    assert "需要运行本地插件的代码" in err and "local_plugin.py" in err and "--allow-plugins" in err
    assert not out.exists()
