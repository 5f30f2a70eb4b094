"""The self-check of what a branch can know: committee sheets left empty are 待评定 (a range, never lost
points, never in the plan), and advice in counts a secretary acts on, right for small denominators.

Branches from tests/selfcheck_data.py; the pending case is scored by tests/golden/selfcheck_rubric.toml,
the counts by tests/golden/selfcheck_counts.toml. Expected numbers are worked here by hand or with integer
arithmetic, never with the code under test.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from rich.console import Console

from selfcheck_data import RUBRIC, YEAR, BranchSpec, committee_empty, dataset, tables
from scoring import wording
from scoring.commands.selfcheck import prepare_selfcheck, render_summary
from scoring.engine import compute_measures, load
from scoring.evaluator import evaluate
from scoring.output.selfcheck_xlsx import SHEET_DETAIL, SHEET_PLAN, SHEET_SUMMARY, write_selfcheck
from scoring.sample import write_dataset
from scoring.selfcheck import KIND_PENDING, find_pending, improvement_plan
from scoring.web.service import selfcheck_view
from scoring.wording import explain

COUNTS_RUBRIC = Path(__file__).parent / "golden" / "selfcheck_counts.toml"
COUNTS_SCALE = 100 / 15  # selfcheck_counts.toml: 15 points scaled to 100

# 东岗村 as its own workbook has it: 支委会 11 (-0.5), 党课 3 (-1), 村集体经济 10万 (15 of 20, -5), the
# committee's four sheets empty. Known points: 组织建设 5.5 + 3 + 4 + 10 + 6 = 28.5, 村集体经济 15: 43.5.
# Pending: 现场检查评分 0-10, 群众满意率 0-30, 负面事项 0-10 (2 per event), the bonus 0-5 (its cap).
OWN = committee_empty(BranchSpec("SELF", "东岗村党支部", self_score=95, committee=11, lectures=3, income=10))
PENDING = {"inspection": (0, 10), "satisfaction": (0, 30), "negative_events": (0, 10)}  # rubric order
LOW, HIGH = 43.5, 43.5 + 30 + 10 + 10 + 5


@pytest.fixture(scope="module")
def own_workbook(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("own") / "东岗村.xlsx"
    write_dataset(tables([OWN]), p, "xlsx")
    return p


@pytest.fixture(scope="module")
def own(own_workbook):
    return prepare_selfcheck([own_workbook], "SELF", RUBRIC, command="test")


def test_empty_committee_sheets_make_their_indicators_pending_with_their_range(own):
    pend = own.pending
    assert pend.active
    assert [(i["indicator"], i["low"], i["high"]) for i in pend.indicators] == [
        (k, float(lo), float(hi)) for k, (lo, hi) in PENDING.items()]
    assert (pend.total_low, pend.total_high) == (pytest.approx(LOW), pytest.approx(HIGH))
    # 43.5 -> 一星; 98.5 -> 五星 (its honor condition awaits the committee's 表彰与创新)
    assert (pend.level_low, pend.level_high) == ("一星", "五星")
    assert pend.headline() == "待评定：43.5～98.5分（委员会评定项均按最低分计为43.5分，均按最高分计为98.5分）"
    assert pend.self_score_text(95) == "自评分95分，在委员会评定后可能的范围（43.5～98.5分）内"
    assert pend.bonus["text"] == "加分项：待审核（「表彰与创新」由考评委员会审核后填写），可加0～5分（最多5分）"
    assert [q["level"] for q in pend.requires] == ["五星"]
    assert {v["veto"] for v in pend.vetoes} == {"serious_violation", "low_satisfaction"}


def test_pending_items_are_never_lost_points_nor_in_the_plan_or_the_path(own):
    plan = own.plan
    pending = plan[plan["kind"] == KIND_PENDING]
    assert list(pending["indicator"]) == list(PENDING)
    assert list(pending["lost"]) == [0.0, 0.0, 0.0]
    assert list(pending["total_gain"]) == [0.0, 0.0, 0.0]
    # the branch's own steps, biggest gain first (the gains are the indicators' lost points: no rescaling)
    steps = plan[plan["kind"] != KIND_PENDING]
    assert list(steps["indicator"]) == ["economy", "lectures", "committee"]
    assert list(steps["total_gain"]) == [5.0, 1.0, 0.5]
    nxt = own.next
    # from 43.5 (一星) the next level is 二星 (60): the own steps give 6.5, so it depends on the committee
    assert (nxt["level"], nxt["next_level"], nxt["reachable"]) == ("一星", "二星", False)
    assert [b["type"] for b in nxt["blockers"]] == ["pending"]
    assert not set(PENDING) & {p["indicator"] for p in nxt["path"]}
    assert "本年度无法达到" not in nxt["summary"] and "取决于考评委员会评定" in nxt["summary"]


def test_terminal_summary_keeps_pending_items_apart(own):
    console = Console(record=True, width=200)
    console.print(render_summary(own.result, own.plan, own.next, "SELF", pending=own.pending))
    text = console.export_text()
    losses = text[text.index("失分最多"):text.index("待考评委员会评定（不计为失分）")]
    assert "村集体经济" in losses and "群众满意率" not in losses and "现场检查评分" not in losses
    assert "负面事项" not in losses
    assert "群众满意率：待评定，可得0～30分（「群众满意度测评」由考评委员会填写）" in text
    assert "自评分 95分，在委员会评定后可能的范围（43.5～98.5分）内" in text
    assert "比计算得分高" not in text  # never against a total that counts the pending items as 0
    assert "待评定3项" in text


def test_workbook_and_web_page_show_the_same_pending_items(own, tmp_path):
    out = tmp_path / "自检.xlsx"
    write_selfcheck(own.result, own.plan, own.next, "SELF", out, measured=own.measured, pending=own.pending)
    wb = openpyxl.load_workbook(out)
    summary = {r[0]: r[1] for r in wb[SHEET_SUMMARY].iter_rows(min_row=4, values_only=True)}
    assert summary["总分"].startswith("待评定：43.5～98.5分")
    assert summary["评定等级"] == "一星～五星（待评定）"
    assert summary["待评定：群众满意率"].startswith("待评定，可得0～30分")
    plan_names = [r[0] for r in wb[SHEET_PLAN].iter_rows(min_row=4, values_only=True) if r[0]]
    assert plan_names == ["村集体经济", "党课", "支委会"]
    detail = {r[1]: r for r in wb[SHEET_DETAIL].iter_rows(min_row=4, values_only=True) if r[1]}
    assert detail["群众满意率"][2] == KIND_PENDING and detail["群众满意率"][3] is None and detail["群众满意率"][5] is None
    # the page's view: the same items, marked 待评定 with the same range, and no lost points for them
    view = selfcheck_view(own)
    pending_items = [(i["id"], i["low"], i["high"]) for i in view["committee"] if i.get("pending")]
    assert pending_items == [(k, float(lo), float(hi)) for k, (lo, hi) in PENDING.items()]
    assert not set(PENDING) & {i["id"] for i in view["lost"]}
    assert view["pending"]["total"] == "43.5～98.5分" and view["counts"]["pending"] == 3


def test_nothing_is_pending_when_the_committee_sheets_are_filled(engine_pair):
    """With the committee's sheets filled (a county's data) nothing is pending."""
    r, reg = engine_pair
    spec = BranchSpec("SELF", "东岗村党支部", committee=11, lectures=3, income=10)
    ds = dataset([spec])
    measured = compute_measures(r, reg, ds, YEAR)
    result = explain(evaluate(r, ds.table("branches"), measured))
    assert not find_pending(result, measured, "SELF", ds, reg.measures).active


@pytest.fixture(scope="module")
def engine_pair():
    rubric, reg, _ = load(RUBRIC)
    return rubric, reg


# ------------------------------------------------------------------ advice in counts
def _ceil_share(num: int, den: int, of: int) -> int:
    """ceil(num/den x of) in integers."""
    return -(-num * of // den)


@pytest.fixture(scope="module")
def counts_county():
    rubric, reg, _ = load(COUNTS_RUBRIC)
    specs = [
        # 1 of 3 流动党员 contacted: 80% of 3 is 2.4, so the first step (1 point) already needs all 3
        BranchSpec("M3", "三人村党支部", members=4, mobile=3, contacted=1, training=(32, 32, 32, 32)),
        # 8 of 10: 80% (1 point); 90% of 10 is exactly 9, one more (binary 0.9 x 10 would round up to 10)
        BranchSpec("M10", "十人村党支部", members=10, mobile=10, contacted=8, training=(32,) * 10),
        # every 流动党员 contacted; 4 members of 30, 30, 30, 30.5 hours: 30.125 of 32 per member
        BranchSpec("TR", "培训村党支部", members=4, mobile=2, contacted=2, training=(30, 30, 30, 30.5)),
    ]
    ds = dataset(specs)
    measured = compute_measures(rubric, reg, ds, YEAR)
    return explain(evaluate(rubric, ds.table("branches"), measured)), measured


def _rows(plan, indicator):
    return plan[plan["indicator"] == indicator]


def test_all_three_of_three_mobile_members_for_the_80_percent_step(counts_county):
    result, measured = counts_county
    plan = improvement_plan(result, measured, "M3")
    row = _rows(plan, "mobile_contact").iloc[0]
    more = _ceil_share(4, 5, 3) - 1  # 80% of 3 -> 3 members, 1 contacted
    assert more == 2
    # 3 of 3 is 100%: the step is scored there (3 points), not at the 80% threshold (1 point)
    assert row["action"] == (f"再联系{more}名流动党员（近6个月内联系率达到100%，目前33.3%）可加3分"
                             f"（折合总分{wording.num(3 * COUNTS_SCALE)}分）")
    assert row["target_value"] == 1.0 and row["recoverable"] == 3.0
    assert "80%" not in row["action"]


def test_ninety_percent_of_ten_is_nine_exactly(counts_county):
    result, measured = counts_county
    plan = improvement_plan(result, measured, "M10")
    row = _rows(plan, "mobile_contact").iloc[0]
    more = _ceil_share(9, 10, 10) - 8
    assert more == 1
    # the next step, 90% (2 points of 3): 1 more
    assert row["action"] == (f"再联系{more}名流动党员（近6个月内联系率达到90%，目前80%）可加1分"
                             f"（折合总分{wording.num(COUNTS_SCALE)}分）")
    assert row["target_value"] == 0.9


def test_count_step_is_exact_for_decimal_thresholds():
    # (value, numerator, denominator) -> more, worked with integers: ceil(p/q x den) - numerator
    cases = [(0.9, 8, 10, 9 - 8), (0.8, 1, 3, 3 - 1), (0.7, 0, 10, 7), (0.95, 19, 21, 20 - 19), (1.0, 2, 3, 1),
             (0.3, 0, 10, 3), (0.6, 2, 5, 3 - 2)]
    for value, n, d, more in cases:
        c = wording.count_step(n, d, value, n / d, rate=True)
        assert (c.more, c.reached) == (more, (n + more) / d), (value, n, d)
    assert wording.count_step(0, 0, 0.8, float("nan"), rate=True) is None
    # a mean: 30.125 hours x 4 members to 32: 128 - 120.5 = 7.5 more hours in total
    c = wording.count_step(120.5, 4, 32, 30.125, rate=False)
    assert (c.more, c.reached) == (7.5, 32.0)


def test_training_advice_is_per_member_with_the_total_to_plan(counts_county):
    result, measured = counts_county
    plan = improvement_plan(result, measured, "TR")
    row = _rows(plan, "member_training").iloc[0]
    total_more = 32 * 4 - (30 + 30 + 30 + 30.5)
    gain = 6 - 6 * 30.125 / 32  # ratio: points = max x value / target
    assert row["action"] == (f"党员人均学习培训学时提高到32学时（目前30.1学时），4名党员合计再参加{wording.num(total_more, 1)}学时"
                             f"可加{wording.num(gain)}分（折合总分{wording.num(gain * COUNTS_SCALE)}分）")


def test_a_measure_declaring_counts_must_write_them(counts_county):
    from scoring.engine import compute_measure
    from scoring.errors import PluginError
    from scoring.measure import Measure

    def share(ctx):
        b = ctx.branches.set_index("branch_id")
        return ctx.result(pd.Series(0.5, index=b.index), pd.Series("一半", index=b.index))

    m = Measure("half", "一半", share, inputs={"branches": ("branch_id",)}, unit="%", kind="rate",
                counts=("done", "all"), plugin="本地插件")
    with pytest.raises(PluginError, match=r"插件「本地插件」的测量项「half」缺少输出列：\['all', 'done'\]"):
        compute_measure(m, dataset([OWN]), YEAR)
