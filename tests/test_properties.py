"""Properties of the engine over generated counties (hypothesis), scored by the standard five-star rubric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden_data import make_dataset
from scoring.engine import load, score
from scoring.evaluator import share_count
from plugins.committee import HONOR_LEVELS
from plugins.organization import MEETING_KINDS
from plugins.performance import INCIDENT_KINDS
from scoring.tables import CATEGORIES

RUBRIC, REG, _ = load("five_star")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def counties(draw):
    n = draw(st.integers(1, 12))
    ids = [f"B{i:02d}" for i in range(n)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    branches = pd.DataFrame({
        "branch_id": ids,
        "name": [f"第{i}党支部" for i in range(n)],
        "category": [draw(st.sampled_from(CATEGORIES)) for _ in ids],
        "parent": [draw(st.sampled_from(["甲镇党委", "乙镇党委", "丙街道党委"])) for _ in ids],
        "last_election": pd.to_datetime("2016-01-01") + pd.to_timedelta(rng.integers(0, 3600, n), unit="D"),
    })
    size = rng.integers(3, 12, n)
    members = pd.DataFrame({"branch_id": np.repeat(ids, size)})
    members["member_id"] = members["branch_id"] + "-" + members.groupby("branch_id").cumcount().astype(str)
    members["name"] = "党员" + members["member_id"]
    members["status"] = np.where(rng.random(len(members)) < 0.1, "预备", "正式")
    members["role"] = np.where(members.groupby("branch_id").cumcount() == 0, "书记",
                               np.where(members.groupby("branch_id").cumcount() < 3, "委员", "党员"))
    members["is_mobile"] = rng.random(len(members)) < 0.2
    members["last_contact"] = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, len(members)), unit="D")
    members["birth_date"] = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 18000, len(members)), unit="D")
    counts = rng.integers(0, 15, (n, len(MEETING_KINDS)))
    bi, ki = np.nonzero(counts)
    rep = counts[bi, ki]
    meetings = pd.DataFrame({"branch_id": np.repeat(np.array(ids)[bi], rep), "kind": np.repeat(np.array(MEETING_KINDS)[ki], rep)})
    meetings["date"] = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, len(meetings)), unit="D")
    meetings["expected"] = rng.integers(5, 30, len(meetings))
    meetings["attended"] = (meetings["expected"] * rng.uniform(0.5, 1.0, len(meetings))).astype(int)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    dues = members[["member_id", "branch_id"]].merge(pd.DataFrame({"month": months}), how="cross")
    dues["due"] = 10.0
    paid = rng.random(len(dues)) < 0.9
    dues["paid"] = np.where(paid, 10.0, 0.0)
    dues["paid_date"] = pd.to_datetime(dues["month"] + "-05").where(paid)
    training = members[["member_id", "branch_id"]].loc[np.repeat(members.index, 3)].reset_index(drop=True)
    training["date"] = pd.to_datetime("2025-03-01") + pd.to_timedelta(rng.integers(0, 250, len(training)), unit="D")
    training["hours"] = rng.integers(0, 25, len(training)).astype(float)
    recruitment = pd.DataFrame({"branch_id": ids, "person": [f"申请人{i}" for i in range(n)],
                                "stage": rng.choice(["预备党员", "入党积极分子"], n),
                                "date": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 2190, n), unit="D")})
    full = members[members["status"] == "正式"]
    appraisals = full[["member_id", "branch_id"]].assign(grade=rng.choice(["优秀", "合格", "基本合格"], len(full), p=[0.3, 0.65, 0.05]))
    respondents = rng.integers(20, 60, n)
    sat = (respondents * rng.uniform(0.3, 1.0, n)).astype(int)
    surveys = pd.DataFrame({"branch_id": ids, "respondents": respondents, "satisfied": sat,
                            "basic": ((respondents - sat) * rng.uniform(0, 1, n)).astype(int)})
    surveys["dissatisfied"] = surveys["respondents"] - surveys["satisfied"] - surveys["basic"]
    economy = pd.DataFrame({"branch_id": ids, "operating_income": rng.uniform(0, 30, n).round(1)})
    k = draw(st.integers(0, 2 * n))
    honors = pd.DataFrame({"branch_id": rng.choice(ids, k), "title": rng.choice(["甲", "乙", "丙"], k),
                           "kind": "表彰", "level": rng.choice(HONOR_LEVELS, k),
                           "document": np.where(rng.random(k) < 0.8, "文号", None), "approved": rng.random(k) < 0.8})
    j = draw(st.integers(0, n))
    incidents = pd.DataFrame({"branch_id": rng.choice(ids, j), "kind": rng.choice(INCIDENT_KINDS, j),
                              "date": pd.to_datetime("2025-06-01")})
    inspections = pd.DataFrame({"branch_id": ids, "item": "综合", "score": rng.uniform(0, 8, n).round(1)})
    rectifications = pd.DataFrame({"branch_id": ids, "problem": "问题",
                                   "due_date": pd.to_datetime("2025-06-30"),
                                   "closed_date": pd.Series(pd.to_datetime(["2025-06-01"] * n)).where(rng.random(n) < 0.7)})
    return {"branches": branches, "members": members, "meetings": meetings, "dues": dues, "training": training,
            "recruitment": recruitment, "appraisals": appraisals, "surveys": surveys, "economy": economy,
            "honors": honors, "incidents": incidents, "inspections": inspections, "rectifications": rectifications}


def run(raw):
    return score(RUBRIC, REG, make_dataset(raw))


@SETTINGS
@given(counties())
def test_points_within_zero_and_max(raw):
    res = run(raw)
    ind = res.indicators
    assert (ind["points"] >= -1e-9).all()
    assert (ind["points"] <= ind["max"] + 1e-9).all()
    assert (ind["max"] <= ind["nominal_max"] + 1e-9).all()
    b = res.branches
    assert ((b["base_total"] >= 0) & (b["base_total"] <= 100 + 1e-9)).all()
    assert ((b["bonus"] >= 0) & (b["bonus"] <= RUBRIC.bonus.cap + 1e-9)).all()
    assert (ind["explanation"].str.len() > 0).all()


@SETTINGS
@given(counties(), st.randoms(use_true_random=False))
def test_row_order_never_changes_results(raw, rnd):
    shuffled = {t: df.sample(frac=1.0, random_state=rnd.randint(0, 10**6)).reset_index(drop=True) for t, df in raw.items()}
    a, b = run(raw), run(shuffled)
    pd.testing.assert_frame_equal(a.branches, b.branches)
    pd.testing.assert_frame_equal(a.indicators, b.indicators)
    pd.testing.assert_frame_equal(a.bonus.reset_index(drop=True), b.bonus.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.vetoes.reset_index(drop=True), b.vetoes.reset_index(drop=True))


@SETTINGS
@given(counties(), st.data())
def test_another_held_meeting_never_lowers_a_score(raw, data):
    branch = data.draw(st.sampled_from(list(raw["branches"]["branch_id"])))
    kind = data.draw(st.sampled_from(MEETING_KINDS))
    extra = pd.DataFrame({"branch_id": [branch], "kind": [kind], "date": pd.to_datetime(["2025-11-11"]),
                          "expected": [10], "attended": [10]})  # held, everybody present
    more = dict(raw, meetings=pd.concat([raw["meetings"], extra], ignore_index=True))
    before = run(raw).branches.set_index("branch_id")
    after = run(more).branches.set_index("branch_id")
    assert after.loc[branch, "base_total"] >= before.loc[branch, "base_total"] - 1e-9
    assert after.loc[branch, "total"] >= before.loc[branch, "total"] - 1e-9


@SETTINGS
@given(counties())
def test_ranking_consistent_with_totals_and_tie_break(raw):
    b = run(raw).branches
    assert list(b["rank"]) == list(range(1, len(b) + 1))
    public = run(raw).dimensions.query("dimension == 'public'").set_index("branch_id")["score"]
    key = list(zip(-b["total"], -b["base_total"], -b["branch_id"].map(public), b["branch_id"]))
    assert key == sorted(key)


@SETTINGS
@given(counties())
def test_quotas_never_exceeded(raw):
    b = run(raw).branches
    n = len(b)
    for q in RUBRIC.quotas:
        allowed = int(share_count(q.max_share, pd.Series([n]), q.rounding).iloc[0])
        assert (b["level"] == q.level).sum() <= allowed


@SETTINGS
@given(counties())
def test_a_fired_no_rating_veto_always_wins(raw):
    res = run(raw)
    fired = set(res.vetoes.loc[res.vetoes["effect"] == "no_rating", "branch_id"])
    b = res.branches.set_index("branch_id")
    for bid in fired:
        assert pd.isna(b.loc[bid, "stars"]) and b.loc[bid, "level"] == RUBRIC.grading.unrated_label


SCOPED, SCOPED_REG, _ = load(str(Path(__file__).parent / "golden" / "quota_scopes.toml"))


@SETTINGS
@given(counties())
def test_no_level_exceeds_its_quota_within_its_scope(raw):
    b = score(SCOPED, SCOPED_REG, make_dataset(raw)).branches
    for q in SCOPED.quotas:
        key = {"county": pd.Series("全县", index=b.index), "parent": b["parent"], "category": b["category"]}[q.scope]
        n = key.map(key.value_counts())
        allowed = share_count(q.max_share, n, q.rounding)
        at_level = (b["level"] == q.level).groupby(key).sum()
        assert (at_level <= allowed.groupby(key).first()).all(), q


@SETTINGS
@given(counties(), st.data())
def test_removing_a_bonus_claim_never_raises_a_total(raw, data):
    if raw["honors"].empty:
        return
    drop = data.draw(st.integers(0, len(raw["honors"]) - 1))
    fewer = dict(raw, honors=raw["honors"].drop(raw["honors"].index[drop]).reset_index(drop=True))
    before = run(raw).branches.set_index("branch_id")["total"]
    after = run(fewer).branches.set_index("branch_id")["total"]
    assert (after <= before.reindex(after.index) + 1e-9).all()
