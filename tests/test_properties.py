"""Properties of the engine (hypothesis).

Two levels:

* the evaluator, on measured values drawn directly (every measure the rubric uses, with values inside and
  outside their plausible range, missing values and not-applicable branches, random bonus claims): points
  within [0, max], ranking consistent with totals and the tie-break chain, quotas never exceeded in any
  scope (the allowed count computed here, independently of the evaluator), a no_rating veto always wins,
  a higher measured value never lowers a score where more is better;
* the whole engine, on small generated counties of records: row order never changes results, another
  held meeting never lowers a score, removing a bonus claim never raises a total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden_data import make_dataset
from plugins.committee import HONOR_KINDS, HONOR_LEVELS
from plugins.organization import MEETING_KINDS
from plugins.performance import INCIDENT_KINDS
from scoring.engine import compute_measures, load
from scoring.evaluator import Measured, evaluate, measure_key, measure_requests
from scoring.tables import CATEGORIES

RUBRIC, REG, _ = load("five_star")
SCOPED, SCOPED_REG, _ = load(str(Path(__file__).parent / "golden" / "quota_scopes.toml"))
# Examples per property: every CI run starts without a hypothesis database, so each run draws new ones.
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECORDS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARENTS = ["甲镇党委", "乙镇党委", "丙街道党委"]


# ---------------------------------------------------------------- measured values, drawn
def _values(rng, kind: str, n: int) -> np.ndarray:
    """Values of a measure kind, plausible and implausible, with round thresholds hit exactly and some missing."""
    if kind == "rate":
        v = np.where(rng.random(n) < 0.3, rng.choice([0.0, 0.6, 0.8, 0.9, 0.95, 1.0], n), rng.random(n))
    elif kind == "count":
        v = rng.integers(0, 17, n).astype(float)
    else:
        v = np.where(rng.random(n) < 0.3, rng.integers(0, 6, n), rng.uniform(0, 80, n))
    return np.where(rng.random(n) < 0.08, np.nan, v)


@st.composite
def measured_counties(draw, rubric=RUBRIC, reg=REG):
    """Branches (categories and townships drawn) and every measure the rubric asks for, drawn from one seed."""
    n = draw(st.integers(1, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ids = [f"B{i:02d}" for i in range(n)]
    branches = pd.DataFrame({
        "branch_id": ids, "name": [f"第{i}党支部" for i in range(n)],
        "category": draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n)),
        "parent": draw(st.lists(st.sampled_from(PARENTS), min_size=n, max_size=n)),
    })
    index = pd.Index(ids, name="branch_id")
    measured = {}
    for key, (mid, _params) in measure_requests(rubric).items():
        m = reg.measures[mid]
        if m.kind == "claims":
            k = int(rng.integers(0, 2 * n + 1))
            claims = pd.DataFrame({
                "branch_id": rng.choice(ids, k).astype(object), "title": rng.choice(["甲", "乙", "丙"], k).astype(object),
                "kind": rng.choice(HONOR_KINDS, k).astype(object), "level": rng.choice(HONOR_LEVELS, k).astype(object),
                "has_document": rng.random(k) < 0.8, "approved": rng.random(k) < 0.8,
            }).sort_values(["branch_id", "title", "level"], kind="stable").reset_index(drop=True)
            claims["claim"] = claims["branch_id"] + "-" + (claims.groupby("branch_id").cumcount() + 1).astype(str)
            measured[key] = Measured(frame=claims, kind="claims")
            continue
        applicable = rng.random(n) < 0.8 if mid in ("mobile_contact_rate", "rectification_rate") else np.ones(n, bool)
        frame = pd.DataFrame({"value": _values(rng, m.kind, n), "applicable": applicable, "evidence": "测量"}, index=index)
        measured[key] = Measured(frame=frame, unit=m.unit, rate=m.is_rate, kind=m.kind)
    return branches, measured


def _half_up(x: float) -> Decimal:
    """A total as published: two decimals, half up, worked in decimal arithmetic (not the engine's) on the
    value to 9 decimals, so that a sum of doubles a hair below ...5 (93.04499999999999) counts as ...5."""
    return Decimal(repr(round(float(x), 9))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def allowed_places(share: float, n: int, rounding: str) -> int:
    """How many branches of ``n`` a quota of ``share`` admits, in exact arithmetic (not the evaluator's)."""
    x = Fraction(str(share)) * n
    if rounding == "floor":
        return int(x.numerator // x.denominator)
    if rounding == "ceil":
        return int(-((-x.numerator) // x.denominator))
    return int((x + Fraction(1, 2)).numerator // (x + Fraction(1, 2)).denominator)


@FAST
@given(measured_counties())
def test_evaluator_invariants(county):
    """One evaluation, four properties: points within [0, max]; ranking consistent with the totals and the
    tie-break chain (total, base total, 群众反映好, branch id); no level above its county quota; a fired
    no_rating veto always wins."""
    res = evaluate(RUBRIC, *county)
    ind, b = res.indicators, res.branches
    # points within [0, max]
    assert (ind["points"] >= -1e-9).all()
    assert (ind["points"] <= ind["max"] + 1e-9).all()
    assert (ind["max"] <= ind["nominal_max"] + 1e-9).all()
    assert ((b["base_total"] >= 0) & (b["base_total"] <= 100 + 1e-9)).all()
    assert ((b["bonus"] >= 0) & (b["bonus"] <= RUBRIC.bonus.cap + 1e-9)).all()
    assert (ind["reason"].str.len() > 0).all()
    # ranking: on the published totals (two decimals, half up), then base total and 群众反映好 at the same
    # precision, then branch id; branches equal on every published key share the rank (competition ranking)
    assert RUBRIC.ranking.precision == 2 and list(RUBRIC.ranking.tie_break) == ["base_total", "dimension:public"]
    public = res.dimensions.query("dimension == 'public'").set_index("branch_id")["score"]
    shown = [tuple(_half_up(x) for x in k) for k in zip(b["total"], b["base_total"], b["branch_id"].map(public).fillna(0.0))]
    key = [(tuple(-x for x in k), bid) for k, bid in zip(shown, b["branch_id"])]
    assert key == sorted(key)
    assert list(b["rank"]) == [1 + sum(other > k for other in shown) for k in shown]
    # quotas
    for q in RUBRIC.quotas:
        assert (b["level"] == q.level).sum() <= allowed_places(q.max_share, len(b), q.rounding), q
    # vetoes
    fired = set(res.vetoes.loc[res.vetoes["effect"] == "no_rating", "branch_id"])
    by_id = b.set_index("branch_id")
    for bid in fired:
        assert pd.isna(by_id.loc[bid, "stars"]) and by_id.loc[bid, "level"] == RUBRIC.grading.unrated_label


@FAST
@given(measured_counties(SCOPED, SCOPED_REG))
def test_no_level_exceeds_its_quota_within_its_scope(county):
    b = evaluate(SCOPED, *county).branches
    for q in SCOPED.quotas:
        scope = {"county": pd.Series("全县", index=b.index), "parent": b["parent"], "category": b["category"]}[q.scope]
        for _, members in b.groupby(scope):
            assert (members["level"] == q.level).sum() <= allowed_places(q.max_share, len(members), q.rounding), q


def test_allowed_places_is_exact():
    assert [allowed_places(0.1, n, "floor") for n in (9, 10, 19, 20, 30)] == [0, 1, 1, 2, 3]
    assert [allowed_places(0.25, n, "ceil") for n in (1, 4, 5)] == [1, 1, 2]
    assert [allowed_places(0.5, n, "round") for n in (1, 3, 5)] == [1, 2, 3]


MORE_IS_BETTER = [key for key, (mid, _) in measure_requests(RUBRIC).items()
                  if mid in ("meeting_count", "training_hours", "dues_on_time_rate", "attendance_rate",
                             "satisfaction_rate", "appraisal_coverage", "activist_count", "inspection_score")]


@FAST
@given(measured_counties(), st.data())
def test_a_higher_value_where_more_is_better_never_lowers_a_score(county, data):
    branches, measured = county
    key = data.draw(st.sampled_from(MORE_IS_BETTER))
    bid = data.draw(st.sampled_from(list(branches["branch_id"])))
    m = measured[key]
    frame = m.frame.copy()
    old = frame.loc[bid, "value"]
    frame.loc[bid, "value"] = (0.0 if pd.isna(old) else old) + (0.05 if m.rate else 1.0)
    before = evaluate(RUBRIC, branches, measured).branches.set_index("branch_id")
    after = evaluate(RUBRIC, branches, {**measured, key: Measured(frame, m.unit, m.rate, m.kind)}).branches.set_index("branch_id")
    assert after.loc[bid, "base_total"] >= before.loc[bid, "base_total"] - 1e-9


# ---------------------------------------------------------------- records: the whole engine
@st.composite
def counties(draw):
    n = draw(st.integers(1, 6))
    ids = [f"B{i:02d}" for i in range(n)]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    branches = pd.DataFrame({
        "branch_id": ids,
        "name": [f"第{i}党支部" for i in range(n)],
        "category": [draw(st.sampled_from(CATEGORIES)) for _ in ids],
        "parent": [draw(st.sampled_from(PARENTS)) for _ in ids],
        "last_election": pd.to_datetime("2016-01-01") + pd.to_timedelta(rng.integers(0, 3600, n), unit="D"),
    })
    size = rng.integers(3, 9, n)
    members = pd.DataFrame({"branch_id": np.repeat(ids, size)})
    members["member_id"] = members["branch_id"] + "-" + members.groupby("branch_id").cumcount().astype(str)
    members["name"] = "党员" + members["member_id"]
    members["status"] = np.where(rng.random(len(members)) < 0.1, "预备", "正式")
    members["role"] = np.where(members.groupby("branch_id").cumcount() == 0, "书记",
                               np.where(members.groupby("branch_id").cumcount() < 3, "委员", "党员"))
    members["is_mobile"] = rng.random(len(members)) < 0.2
    members["last_contact"] = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, len(members)), unit="D")
    members["birth_date"] = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 18000, len(members)), unit="D")
    counts = rng.integers(0, 14, (n, len(MEETING_KINDS)))
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
    inspections = pd.DataFrame({"branch_id": ids, "item": "综合", "score": rng.uniform(0, 6, n).round(1)})
    rectifications = pd.DataFrame({"branch_id": ids, "problem": "问题",
                                   "due_date": pd.to_datetime("2025-06-30"),
                                   "closed_date": pd.Series(pd.to_datetime(["2025-06-01"] * n)).where(rng.random(n) < 0.7)})
    return {"branches": branches, "members": members, "meetings": meetings, "dues": dues, "training": training,
            "recruitment": recruitment, "appraisals": appraisals, "surveys": surveys, "economy": economy,
            "honors": honors, "incidents": incidents, "inspections": inspections, "rectifications": rectifications}


def run(raw):
    """Measure and evaluate the records (the wording is not at stake here: points, totals and levels are)."""
    data = make_dataset(raw)
    return evaluate(RUBRIC, data.table("branches"), compute_measures(RUBRIC, REG, data, RUBRIC.year))


@RECORDS
@given(counties(), st.randoms(use_true_random=False))
def test_row_order_never_changes_results(raw, rnd):
    shuffled = {t: df.sample(frac=1.0, random_state=rnd.randint(0, 10**6)).reset_index(drop=True) for t, df in raw.items()}
    a, b = run(raw), run(shuffled)
    pd.testing.assert_frame_equal(a.branches, b.branches)
    pd.testing.assert_frame_equal(a.indicators, b.indicators)
    pd.testing.assert_frame_equal(a.bonus.reset_index(drop=True), b.bonus.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.vetoes.reset_index(drop=True), b.vetoes.reset_index(drop=True))


@RECORDS
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


@RECORDS
@given(counties(), st.data())
def test_removing_a_bonus_claim_never_raises_a_total(raw, data):
    if raw["honors"].empty:
        return
    drop = data.draw(st.integers(0, len(raw["honors"]) - 1))
    fewer = dict(raw, honors=raw["honors"].drop(raw["honors"].index[drop]).reset_index(drop=True))
    before = run(raw).branches.set_index("branch_id")["total"]
    after = run(fewer).branches.set_index("branch_id")["total"]
    assert (after <= before.reindex(after.index) + 1e-9).all()


def test_measure_keys_of_the_drawn_counties_are_the_rubrics():
    """The drawn measured frames cover exactly what the evaluator asks for (else the properties prove less)."""
    assert set(measure_requests(RUBRIC)) == {measure_key(m, p) for m, p in measure_requests(RUBRIC).values()}
    assert len(MORE_IS_BETTER) >= 8
