"""The branch self-check (支部自检): what a branch can still do, and what it gains in total score.

Pure, no I/O. Two views of a :class:`~scoring.result.Result` for one branch:

``improvement_plan``  every indicator part that lost points, with the concrete next step ("再召开3次支委会",
                      "群众满意率提高到90%（目前87.5%）"), the indicator points it recovers and the gain in
                      the branch's **total** (which differs from the indicator points where the total is
                      rescaled: not-applicable indicators, weighted sections).
``next_level``        the next level up, the gap, whether it is reachable (vetoes, extra conditions of the
                      level, quotas) and the cheapest combination of steps that closes the gap.

Exactness by re-evaluation. Every gain is measured, not derived: the branch's measured values are changed
to the step's target and the pure :func:`scoring.evaluator.evaluate` is run again. Because the evaluator
is vectorized over branches, many "what if" scenarios of one branch are evaluated in one call, each
scenario being a copy of the branch under its own id (a pseudo-branch). Totals, level thresholds, extra
conditions and vetoes are per-branch in the evaluator, so a pseudo-branch scores exactly as the branch
would; quotas and the bottom-share flag are county-wide and are left out of these runs (the rubric is
copied without them) and checked separately, on the whole county, for the final path only.

A step acts on a measured value (``measure_key`` -> value for this branch), never on an indicator's
points, so every consequence of it is scored: another indicator or an extra deduction reading the same
measure, a veto whose condition it clears, a level's extra condition.

What the branch cannot know yet (:func:`find_pending`). The data-collection template tells a branch to
leave the committee's sheets empty (``Table.filled_by == "committee"``: 群众满意度测评, 现场检查评分,
表彰与创新, 负面事项). A measure reading such a table is **待评定** for the branch when the table has no
record of the branch and either the measure has no value for the branch (no survey, no inspection score
yet) or the table is empty altogether while no committee sheet has a record of the branch (the
committee has filled nothing for it: its own workbook). An event table the committee has filled for
other branches but not for this one, or left empty while it filled the branch's survey or inspection,
means no events (0 负面事项, no honors): that is known, not pending. Records the committee approves and has not reviewed yet (审核通过 blank) are
**待审核**: the bonus claims (the claims measure's ``pending`` column) and measures of approved records
(their ``if_approved`` column, e.g. 县级 honors counted for five stars).

A pending indicator is never counted as lost points, never in the plan's steps or the path: it is shown
with the range of points it can take. Both ends are re-evaluated by :class:`Scenarios`, never added up:
the lowest total with every pending measure at the value giving the fewest points (and every pending
claim rejected), the highest with every one at the value giving the most (every pending claim approved;
an empty claims table at the most the bonus can give, its cap). Vetoes whose condition reads a pending
measure cannot be judged yet: they are listed as such and left out of these runs. A level's extra
condition reading a pending measure "awaits the committee" and never makes the level unreachable. The
plan's gains and the path to the next level are computed with the pending items at their lowest (the
level a branch is sure of, and what its own steps add to it); the level reached with them at their
highest is said too. In a committee's ``scoring run`` nothing of this applies: a branch without a
survey scores 0 there, as it always did.

Counts, not rates. Where a measure declares the counts behind its value (``Measure.counts``,
:mod:`scoring.measure`), the rule's ladder (:mod:`scoring.rules`) gives the thresholds and
:func:`scoring.wording.count_step` turns each into a whole number of people (80% of 3 流动党员 needs all 3:
ceil(0.8 x 3) = 3); the step is scored at the rate reached ((numerator + more) / denominator), and the
measure's advice says the count ("再联系2名流动党员"; a mean per member as 人均 and the total to add).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import rules, wording
from .evaluator import (
    OPS,
    Measured,
    evaluate,
    extra_cuts,
    indicator_top,
    measure_key,
    measure_requests,
    scope_key,
    share_count,
)
from .result import Result
from .rubric import Indicator, Rubric
from .rules import extra_deduction
from .wording import Counts, count_step

KIND_FIX = "可改进"
KIND_COMMITTEE = "委员会评定"
KIND_FINAL = "无法挽回"
KIND_PENDING = "待评定"  # committee-filled and not yet filled for the branch: a range of points, never lost points
REVIEW = "待审核"  # committee-approved records not yet reviewed (bonus claims, honors a level requires)

PLAN_COLUMNS = [
    "indicator", "name", "dimension_name", "points", "max", "lost", "recoverable", "total_gain", "action", "kind",
    "order", "measure_key", "current_value", "target_value", "low", "high",
]
KIND_RANK = {KIND_PENDING: 1, KIND_FINAL: 2}  # plan order: steps first, then pending items, irrecoverable last
BIG = 1e6  # "as many as you like" for a count or a score the committee fills (rules clip or cap it)

SCOPE_ZH = wording.SCOPE_WORDS
RATE_NAME_ENDINGS = ("率", "比例", "占比", "比重")
NEGATED = wording.NEGATED_OP
EPS = 1e-6
GAIN_DIGITS = 4
KIND_OF_RULE = {rules.KIND_FIX: KIND_FIX, rules.KIND_COMMITTEE: KIND_COMMITTEE, rules.KIND_FINAL: KIND_FINAL}


# ---------------------------------------------------------------- words (the one formatter: scoring.wording)
num_text = wording.num


def value_text(x: float, m: Measured) -> str:
    """A measured value with its unit, as the evaluator's sentences show it: "87.5%", "9次", "3.09万元"."""
    return m.units.value(x)


def _subject(name: str, m: Measured) -> str:
    """An indicator's name as the subject of "提高到…": a rate reads "党费足额按时交纳率"."""
    if m.rate and not name.endswith(RATE_NAME_ENDINGS):
        return name + "率"
    return name


# ---------------------------------------------------------------- scenarios: one branch, many "what ifs"
def score_only(r: Rubric) -> Rubric:
    """The rubric without its county-wide parts (quotas, bottom-share flag): what a branch reaches by its
    own score, extra conditions and vetoes."""
    if not r.quotas and r.rectification is None:
        return r
    return r.model_copy(update={"quotas": [], "rectification": None})


class Scenarios:
    """Evaluate variants of one branch's measured values in one :func:`evaluate` call.

    ``run([{key: value, ...}, ...])`` returns one row per scenario (index 0..n-1) with ``total``,
    ``base_total``, ``bonus``, ``deduction``, ``level``, ``level_idx`` (NaN when unrated or below every
    level), ``rated`` and, in the per_dimension model, ``stars_earned``; ``indicator_points`` of the last
    run gives each scenario's points per indicator. ``base`` changes every scenario starts from (the
    pending items at their lowest); the value for the bonus's claims measure is a frame of the branch's
    claims (the claims as the committee might approve them) instead of a number.
    """

    def __init__(self, result: Result, measured: dict[str, Measured], branch_id: str, rubric: Rubric | None = None,
                 base: dict | None = None):
        self.rubric = score_only(rubric if rubric is not None else result.rubric)
        b = result.branches
        self.branch = b[b["branch_id"] == branch_id].iloc[0]
        self.branch_id = branch_id
        self.measured = measured
        self.base = dict(base or {})
        bonus = self.rubric.bonus
        self.claims_key = measure_key(bonus.measure, {}) if bonus is not None and bonus.measure else None
        self._rows: dict[str, pd.DataFrame] = {}
        for key, m in measured.items():
            f = m.frame
            if key == self.claims_key or "value" not in f.columns:
                self._rows[key] = f[f["branch_id"] == branch_id] if "branch_id" in f.columns else f.iloc[0:0]
            else:
                self._rows[key] = f.reindex(pd.Index([branch_id], name="branch_id"))
        self.labels = {lv.label: i for i, lv in enumerate(self.rubric.grading.levels)}
        self.indicator_points: pd.DataFrame | None = None

    def run(self, scenarios: list[dict]) -> pd.DataFrame:
        if self.base:
            scenarios = [{**self.base, **s} for s in scenarios]
        n = len(scenarios)
        ids = [f"{self.branch_id}\x1f{i:06d}" for i in range(n)]
        index = pd.Index(ids, name="branch_id")
        row = self.branch
        branches = pd.DataFrame({
            "branch_id": ids, "name": row["name"], "category": row["category"], "parent": row["parent"],
        })
        measured: dict[str, Measured] = {}
        for key, m in self.measured.items():
            base = self._rows[key]
            if "value" not in base.columns:  # claims: the branch's claims (or a scenario's) once per scenario
                if any(isinstance(s.get(key), pd.DataFrame) for s in scenarios):
                    parts = [(s[key] if isinstance(s.get(key), pd.DataFrame) else base).assign(branch_id=sid)
                             for s, sid in zip(scenarios, ids)]
                    frame = pd.concat(parts, ignore_index=True) if parts else base.iloc[0:0]
                else:
                    frame = base.iloc[np.tile(np.arange(len(base)), n)].reset_index(drop=True)
                    frame["branch_id"] = np.repeat(np.asarray(ids, dtype=object), len(base))
            else:
                frame = pd.DataFrame({c: np.repeat(base[c].to_numpy(), n) for c in base.columns}, index=index)
                changed = [(i, s[key]) for i, s in enumerate(scenarios) if key in s]
                if changed:
                    values = frame["value"].to_numpy(dtype=float, copy=True)
                    for i, v in changed:
                        values[i] = v
                    frame["value"] = values
            measured[key] = replace(m, frame=frame)
        res = evaluate(self.rubric, branches, measured)
        out = res.branches.set_index("branch_id").reindex(ids)
        cols = ["total", "base_total", "bonus", "deduction", "level", "rated"] + (
            ["stars_earned"] if "stars_earned" in out.columns else [])
        out = out[cols].reset_index(drop=True)
        out["level_idx"] = out["level"].map(self.labels).where(out["rated"].astype(bool))
        pts = res.indicators.pivot(index="branch_id", columns="indicator", values="points").reindex(ids)
        self.indicator_points = pts.reset_index(drop=True)
        return out


# ---------------------------------------------------------------- candidate steps
@dataclass
class Step:
    """One way to recover points of one indicator part: change ``key`` for this branch along ``ladder``
    (values ordered from the smallest change to the full one); ``describe(value)`` is the Chinese phrase
    of the change to ``value``."""

    indicator: str
    name: str
    dimension_name: str
    order: int
    part: int  # 0 the rule, 1.. the indicator's extra deductions
    kind: str
    key: str | None
    current: float
    points: float
    max: float
    lost: float
    plan_value: float  # the plan's target (the next step up, or full)
    plan_phrase: str
    ladder: list[float] = field(default_factory=list)
    describe: Callable[[float], str] | None = None
    fixed_action: str | None = None  # for rows that are not a change of a value


def _counts_of(m: Measured, branch_id: str) -> tuple[float, float] | None:
    """The branch's (numerator, denominator) where the measure declares them and they hold a count."""
    f = m.frame
    if m.counts is None or "value" not in f.columns:
        return None
    row = f.reindex(pd.Index([branch_id], name="branch_id"))
    num, den = float(row[m.counts[0]].iloc[0]), float(row[m.counts[1]].iloc[0])
    if math.isnan(num) or math.isnan(den) or den <= 0:
        return None
    return num, den


def _advise(m: Measured, current: float, value: float, counts: Counts | None) -> str | None:
    """The measure's own advice (with the counts when it has them), or None."""
    if m.advice is None:
        return None
    return m.advice(current, value, counts) if counts is not None else m.advice(current, value)


def _move_phrase(ind: Indicator, m: Measured, current: float, value: float, shown: str | None = None,
                 counts: tuple[float, float] | None = None) -> str:
    """"再召开2次支委会" (the measure's own advice) / "党费足额按时交纳率提高到100%（目前92%）"; with counts
    behind the value "再联系2名流动党员" (advice) or "…提高到100%（目前33.3%，即1/3，需再增加2）"."""
    cur = current if not math.isnan(current) else 0.0
    c = count_step(counts[0], counts[1], value, current, m.rate) if counts is not None else None
    said = _advise(m, cur, value, c)
    if said:
        return said
    target = shown if shown is not None else value_text(value, m)
    verb = "达到" if math.isnan(current) else ("提高到" if value > current else "降低到")
    if c is not None and c.more:
        shown_at = value_text(c.reached, m) if m.rate else target
        return wording.count_phrase(_subject(ind.name, m), verb, c, shown_at, value_text(current, m), m.unit, m.rate)
    return f"{_subject(ind.name, m)}{verb}{target}（目前{value_text(current, m)}）"


def _rule_steps(ind: Indicator, m: Measured, v: float, rule_points: float, counts: tuple[float, float] | None = None):
    """(plan target, path ladder, describe) for the rule part of an indicator, or None when no change of
    the value can recover anything. The values come from the rule type (:mod:`scoring.rules`); with counts
    behind a rate, each becomes the rate a whole number of people reaches (:func:`count_step`)."""
    ladder = rules.of(ind.rule).ladder(ind.rule, ind.max, v, rule_points, m.units)
    if ladder is None:
        return None
    values, target, shown = list(ladder.values), float(ladder.target), dict(ladder.shown)
    if counts is not None and m.rate and not math.isnan(v):
        reached = []
        for x in values:
            c = count_step(counts[0], counts[1], x, v, True)
            if c is not None and c.reached not in reached and abs(c.reached - v) > EPS:
                reached.append(c.reached)
        if not reached:
            return None
        c = count_step(counts[0], counts[1], target, v, True)
        target = c.reached if c is not None and c.reached in reached else reached[-1]
        values, shown = reached, {}
    if ladder.requirement is not None:  # pass/fail: the measure's advice, else the requirement
        cur = 0.0 if math.isnan(v) else v
        c = count_step(counts[0], counts[1], target, v, m.rate) if counts is not None else None
        said = _advise(m, cur, target, c) if target > cur else None
        phrase = said or f"{ind.name}达到要求（{ladder.requirement}，目前{value_text(v, m)}）"
        return target, values, lambda x: phrase
    return target, values, lambda x: _move_phrase(ind, m, v, x, shown.get(x), counts)


def _extra_phrase(ex, m: Measured, current: float, value: float) -> str:
    if m.advice is not None:
        said = m.advice(current, value)
        if said:
            return said
    n = num_text(current - value)
    return f"{ex.label}减少{n}{ex.unit}（目前{num_text(current)}{ex.unit}）"


def _indicator_map(r: Rubric, category: str) -> dict[str, tuple[object, Indicator]]:
    return {i.id: (d, i) for d in r.dimensions_for(category) for i in d.indicators}


def _branch_row(result: Result, branch_id: str) -> pd.Series:
    b = result.branches
    hit = b[b["branch_id"] == branch_id]
    if hit.empty:
        raise KeyError(branch_id)
    return hit.iloc[0]


# ---------------------------------------------------------------- what the branch cannot know yet
def _condition_key(r: Rubric, c, category: str) -> str:
    """The measure key a veto's or a level's condition reads."""
    if c.indicator is not None:
        found = _indicator_map(r, category).get(c.indicator)
        ind = found[1] if found else next(i for _, i in r.all_indicators() if i.id == c.indicator)
        return measure_key(ind.measure, ind.params)
    return measure_key(c.measure, c.params)


@dataclass
class PendingItem:
    """One measure the branch's self-check cannot know yet, with the values giving the fewest and the most
    points (``low``, ``high``)."""

    key: str
    sheets: tuple[str, ...]  # the committee's sheets it reads
    review: bool  # records awaiting the committee's approval (待审核) rather than no record yet (待评定)
    low: float
    high: float


@dataclass
class Pending:
    """What one branch's self-check cannot know yet (:func:`find_pending`) and the range it leaves.

    ``rubric`` is the rubric the self-check's scenarios run with (no quotas, no bottom share, none of the
    vetoes that cannot be judged yet); ``indicators`` the pending indicators in rubric order, each a dict
    (indicator, name, dimension_name, order, max, low, high, text, word: 待评定 or 待审核); ``vetoes`` the vetoes that cannot be
    judged (veto, name, text); ``requires`` the levels' extra conditions that await the committee (level,
    text); ``bonus`` the bonus under review (low, high, text) or None. The totals, levels and bonus at both
    ends come from one :class:`Scenarios` run."""

    rubric: Rubric
    items: dict[str, PendingItem] = field(default_factory=dict)
    claims_key: str | None = None
    claims_high: pd.DataFrame | None = None
    indicators: list[dict] = field(default_factory=list)
    vetoes: list[dict] = field(default_factory=list)
    requires: list[dict] = field(default_factory=list)
    bonus: dict | None = None
    total_low: float = math.nan
    total_high: float = math.nan
    level_low: str = ""
    level_high: str = ""
    stars_low: float = math.nan  # per_dimension model: stars earned at both ends
    stars_high: float = math.nan

    @property
    def active(self) -> bool:
        return bool(self.items) or self.claims_high is not None

    @property
    def veto_ids(self) -> set[str]:
        return {v["veto"] for v in self.vetoes}

    def low_values(self) -> dict:
        return {k: it.low for k, it in self.items.items()}

    def high_values(self) -> dict:
        out: dict = {k: it.high for k, it in self.items.items()}
        if self.claims_key is not None and self.claims_high is not None:
            out[self.claims_key] = self.claims_high
        return out

    # ---- words
    def total_text(self) -> str:
        """"62.5～88.5分" (or "80分" when the pending items cannot move the total)."""
        if abs(self.total_high - self.total_low) < 0.005:
            return f"{num_text(self.total_low)}分"
        return f"{num_text(self.total_low)}～{num_text(self.total_high)}分"

    def level_text(self) -> str:
        return self.level_low if self.level_low == self.level_high else f"{self.level_low}～{self.level_high}"

    def headline(self) -> str:
        """The total as a self-check can state it: "待评定：62.5～88.5分（委员会评定项均按最低分计为62.5分，
        均按最高分计为88.5分）"."""
        if abs(self.total_high - self.total_low) < 0.005:
            return f"{num_text(self.total_low)}分（待评定事项不影响总分）"
        return (f"待评定：{self.total_text()}（委员会评定项均按最低分计为{num_text(self.total_low)}分，"
                f"均按最高分计为{num_text(self.total_high)}分）")

    def self_score_text(self, self_score: float) -> str:
        """自评分 against the range, never against a total that counts pending items as 0."""
        lo, hi = self.total_low, self.total_high
        if self_score > hi + 0.005:
            return f"自评分{num_text(self_score)}分，比委员会评定后可能的最高分{num_text(hi)}分高{num_text(self_score - hi)}分"
        if self_score < lo - 0.005:
            return f"自评分{num_text(self_score)}分，比委员会评定后可能的最低分{num_text(lo)}分低{num_text(lo - self_score)}分"
        return f"自评分{num_text(self_score)}分，在委员会评定后可能的范围（{self.total_text()}）内"

    def lines(self) -> list[str]:
        """Every pending item as one sentence: indicators, bonus, extra conditions, vetoes."""
        out = [f"{i['name']}：{i['text']}" for i in self.indicators]
        if self.bonus is not None:
            out.append(self.bonus["text"])
        out += [q["text"] for q in self.requires]
        out += [f"{v['name']}：{v['text']}" for v in self.vetoes]
        return out


def _sheets_text(sheets) -> str:
    return "、".join(f"「{s}」" for s in sheets)


def _extremes(r: Rubric, category: str, key: str, m: Measured) -> tuple[float, float]:
    """The values of a pending measure giving the fewest and the most points to the branch's indicators
    (then: the fewest / most of the levels' extra conditions holding, and the fewest vetoes firing at the
    high end). Rules are monotone in the value, so the ends of its range are enough, with the conditions'
    thresholds for "==" / "!="; a count or a committee score "as large as you like" is :data:`BIG` (every
    rule clips or caps it)."""
    top = 1.0 if m.rate else BIG
    grain = m.units.grain
    conds = [c for lv in r.grading.levels for c in lv.requires if _condition_key(r, c, category) == key]
    vconds = [v.when for v in r.vetoes if _condition_key(r, v.when, category) == key]
    cands = {0.0, top}
    for c in conds + vconds:
        cands |= {x for x in (c.value - grain, c.value, c.value + grain) if 0.0 <= x <= top}
    v = np.array(sorted(cands), dtype=float)
    pts = np.zeros(len(v))
    for d in r.dimensions_for(category):
        for ind in d.indicators:
            if ind.categories is not None and category not in ind.categories:
                continue
            if measure_key(ind.measure, ind.params) == key:
                pts += rules.of(ind.rule).points(ind.rule, v, ind.max)
            for ex in ind.extra_deductions:
                if measure_key(ex.measure, ex.params) == key:
                    pts -= v * ex.per
    held = sum((OPS[c.op](v, c.value).astype(int) for c in conds), np.zeros(len(v), dtype=int))
    fired = sum((OPS[c.op](v, c.value).astype(int) for c in vconds), np.zeros(len(v), dtype=int))
    order = range(len(v))
    best = max(order, key=lambda i: (round(float(pts[i]), 6), int(held[i]), -int(fired[i])))
    worst = min(order, key=lambda i: (round(float(pts[i]), 6), int(held[i])))
    return float(v[worst]), float(v[best])


def _best_claims(r: Rubric, branch_id: str) -> pd.DataFrame:
    """Claims giving the bonus its most (its cap): as many claims of the best-paid level as the cap takes,
    each its own work, approved and with a document. Used for the high end when the committee's claims
    table is still empty."""
    b = r.bonus
    level, points = max(b.points.items(), key=lambda kv: kv[1])
    n = max(1, math.ceil(b.cap / points - 1e-9)) if points > 0 else 1
    kind = b.kinds[0] if b.kinds else "表彰"
    return pd.DataFrame({
        "branch_id": [branch_id] * n, "claim": [f"{branch_id}-{REVIEW}{i + 1}" for i in range(n)],
        "title": [f"{REVIEW}{i + 1}" for i in range(n)], "kind": [kind] * n, "level": [level] * n,
        "document": [REVIEW] * n, "has_document": [True] * n, "approved": [True] * n, "pending": [True] * n,
    })


def find_pending(result: Result, measured: dict[str, Measured], branch_id: str, data, measures: dict) -> Pending:
    """What ``branch_id``'s self-check cannot know yet, and the range of its total (module docstring).

    ``data`` is the :class:`~scoring.dataset.Dataset` (its table specs say which tables the committee
    fills), ``measures`` the registry's measures by id (their ``inputs`` say which tables they read)."""
    r: Rubric = result.rubric
    row = _branch_row(result, branch_id)
    category = str(row["category"])
    committee = {tid for tid, spec in data.specs.items() if spec.committee}
    requests = measure_requests(r)
    bonus = r.bonus
    claims_key = measure_key(bonus.measure, {}) if bonus is not None and bonus.measure else None
    items: dict[str, PendingItem] = {}
    claims_high = None
    bonus_text = None
    mine_in = {}  # committee table -> whether it has a record of the branch
    for t in committee:
        df = data.table(t)
        mine_in[t] = bool((df["branch_id"].astype(str) == branch_id).any()) if "branch_id" in df.columns else len(df) > 0
    # an empty event table means "not filled yet" only while the committee has filled nothing for the branch
    seen = any(mine_in.values())
    for key, (mid, _params) in requests.items():
        meas = measures.get(mid)
        if meas is None or key not in measured:
            continue
        tabs = [t for t in meas.inputs if t in committee]
        if not tabs:
            continue
        state = {t: (mine_in[t], len(data.table(t)) == 0 and not seen) for t in tabs}
        sheets = tuple(data.specs[t].sheet for t in tabs)
        f = measured[key].frame
        if key == claims_key or "value" not in f.columns:
            if key != claims_key:
                continue
            claims = f[f["branch_id"] == branch_id] if "branch_id" in f.columns else f.iloc[0:0]
            waiting = claims["pending"].astype(bool) if "pending" in claims.columns else pd.Series(False, index=claims.index)
            if claims.empty and any(not mine and empty for mine, empty in state.values()):
                claims_high = _best_claims(r, branch_id)
                bonus_text = f"{REVIEW}（{_sheets_text(sheets)}由考评委员会审核后填写）"
            elif waiting.any():
                claims_high = claims.assign(approved=claims["approved"].astype(bool) | waiting)
                bonus_text = f"{REVIEW}（{int(waiting.sum())}项申报待考评委员会审核）"
            continue
        one = f.reindex(pd.Index([branch_id], name="branch_id"))
        value = float(one["value"].iloc[0])
        if not bool(one["applicable"].fillna(False).iloc[0]):
            continue
        if any(not mine and (empty or math.isnan(value)) for mine, empty in state.values()):
            low, high = _extremes(r, category, key, measured[key])
            items[key] = PendingItem(key, sheets, False, low, high)
        elif "if_approved" in one.columns:
            if_approved = float(one["if_approved"].iloc[0])
            if not math.isnan(if_approved) and abs(if_approved - value) > EPS:
                items[key] = PendingItem(key, sheets, True, value, if_approved)

    pend = Pending(rubric=score_only(r), items=items, claims_key=claims_key, claims_high=claims_high)
    if not pend.active:
        return pend
    for v in r.vetoes:
        k = _condition_key(r, v.when, category)
        if k in items:
            what = "审核" if items[k].review else "填写"
            pend.vetoes.append({"veto": v.id, "name": v.name,
                                "text": f"取决于考评委员会{what}的{_sheets_text(items[k].sheets)}，目前无法判断"})
    pend.rubric = pend.rubric.model_copy(update={"vetoes": [v for v in r.vetoes if v.id not in pend.veto_ids]})
    for lv in r.grading.levels:
        for c in lv.requires:
            k = _condition_key(r, c, category)
            if k in items:
                need = lv.requires_text or measured[k].units.requirement(c.op, c.value)
                wait = (f"待考评委员会审核{_sheets_text(items[k].sheets)}中的申报" if items[k].review
                        else f"待考评委员会填写{_sheets_text(items[k].sheets)}后确定")
                pend.requires.append({"level": lv.label, "key": k, "text": f"{lv.label}还需「{need}」，{wait}"})

    sc = Scenarios(result, measured, branch_id, rubric=pend.rubric)
    runs = sc.run([pend.low_values(), pend.high_values()])
    pts = sc.indicator_points
    unrated = r.grading.unrated_label
    pend.total_low, pend.total_high = float(runs["total"].iloc[0]), float(runs["total"].iloc[1])
    pend.level_low, pend.level_high = [str(runs["level"].iloc[i]) if bool(runs["rated"].iloc[i]) else unrated
                                       for i in (0, 1)]
    if "stars_earned" in runs.columns:
        pend.stars_low, pend.stars_high = float(runs["stars_earned"].iloc[0]), float(runs["stars_earned"].iloc[1])
    if bonus_text is not None:
        lo, hi = float(runs["bonus"].iloc[0]), float(runs["bonus"].iloc[1])
        pend.bonus = {"low": lo, "high": hi,
                      "text": f"{bonus.name}：{bonus_text}，可加{num_text(lo)}～{num_text(hi)}分（最多{num_text(bonus.cap)}分）"}
    inds = _indicator_map(r, category)
    mine = result.indicators[result.indicators["branch_id"] == branch_id].sort_values("order")
    for ir in mine.itertuples(index=False):
        if not bool(ir.applicable) or ir.indicator not in inds:
            continue
        dim, ind = inds[ir.indicator]
        keys = [measure_key(ind.measure, ind.params)] + [measure_key(ex.measure, ex.params) for ex in ind.extra_deductions]
        hit = [items[k] for k in keys if k in items]
        if not hit:
            continue
        a, b = float(pts[ind.id].iloc[0]), float(pts[ind.id].iloc[1])
        lo, hi = min(a, b), max(a, b)
        sheets = tuple(dict.fromkeys(s for it in hit for s in it.sheets))
        word = REVIEW if all(it.review for it in hit) else KIND_PENDING
        who = "审核" if word == REVIEW else "填写"
        pend.indicators.append({
            "indicator": ind.id, "name": ind.name, "dimension_name": dim.name, "order": int(ir.order),
            "max": float(ir.max), "low": round(lo, GAIN_DIGITS), "high": round(hi, GAIN_DIGITS), "key": keys[0],
            "rule_pending": keys[0] in items, "word": word,
            "text": f"{word}，可得{num_text(lo)}～{num_text(hi)}分（{_sheets_text(sheets)}由考评委员会{who}）",
        })
    return pend


def _steps_for(result: Result, measured: dict[str, Measured], branch_id: str,
               pending: Pending | None = None) -> list[Step]:
    """Every indicator part of the branch that lost points, as a :class:`Step` (not yet scored); parts
    reading a pending measure are not steps (they are not lost points)."""
    skip = set(pending.items) if pending is not None else set()
    r: Rubric = result.rubric
    row = _branch_row(result, branch_id)
    inds = _indicator_map(r, str(row["category"]))
    rows = result.indicators[(result.indicators["branch_id"] == branch_id)].sort_values("order")
    idx = pd.Index([branch_id], name="branch_id")
    out: list[Step] = []
    for ir in rows.itertuples(index=False):
        if not bool(ir.applicable) or float(ir.lost) <= EPS or ir.indicator not in inds:
            continue
        dim, ind = inds[ir.indicator]
        key = measure_key(ind.measure, ind.params)
        m = measured[key]
        v = float(ir.value) if pd.notna(ir.value) else math.nan
        rt = rules.of(ind.rule)
        rule_pts = 0.0 if math.isnan(v) else float(rt.points(ind.rule, [v], ind.max)[0])
        top = indicator_top(ind)
        rule_lost = 0.0 if key in skip else round(top - rule_pts, GAIN_DIGITS)
        common = dict(indicator=ind.id, name=ind.name, dimension_name=dim.name, order=int(ir.order),
                      points=float(ir.points), max=float(ir.max), current=v)
        if rule_lost > EPS:
            kind = KIND_OF_RULE[rt.kind_of(ind.rule)]
            if kind == KIND_FINAL:
                evidence = str(m.frame["evidence"].reindex(idx).fillna("").iloc[0])
                out.append(Step(**common, part=0, kind=KIND_FINAL, key=None, lost=rule_lost, plan_value=math.nan,
                                plan_phrase="", fixed_action=f"已发生的负面事项本年度无法挽回（{evidence}）"))
            elif kind == KIND_COMMITTEE:
                phrase = f"{ind.name}由考评委员会评定（目前{value_text(v, m)}，满分{num_text(ind.max)}分）"
                out.append(Step(**common, part=0, kind=KIND_COMMITTEE, key=key, lost=rule_lost, plan_value=float(ind.max),
                                plan_phrase=phrase, ladder=[float(ind.max)], describe=lambda x, p=phrase: p))
            else:
                found = _rule_steps(ind, m, v, rule_pts, _counts_of(m, branch_id))
                if found is None:
                    best = rt.best(ind.rule, ind.max)
                    out.append(Step(**common, part=0, kind=KIND_FINAL, key=None, lost=rule_lost, plan_value=math.nan,
                                    plan_phrase="", fixed_action=f"已达到最高档，此项最多得{num_text(best)}分"))
                else:
                    target, ladder, describe = found
                    if math.isnan(v):
                        evidence = str(m.frame["evidence"].reindex(idx).fillna("").iloc[0])
                        describe = (lambda x, d=describe, e=evidence: f"补齐记录（{e}），" + d(x))
                    out.append(Step(**common, part=0, kind=KIND_FIX, key=key, lost=rule_lost, plan_value=target,
                                    plan_phrase=describe(target), ladder=ladder, describe=describe))
        # extra deductions, in the evaluator's order: each takes from what the rule and earlier ones left
        cuts = extra_cuts(ind, [rule_pts], measured, idx)
        for pi, (ex, evs, _raw, cuts_) in enumerate(cuts, 1):
            ekey = measure_key(ex.measure, ex.params)
            em = measured[ekey]
            ev, cut = float(evs[0]), float(cuts_[0])
            if cut <= EPS or ekey in skip:
                continue
            describe = (lambda x, ex=ex, em=em, ev=ev: _extra_phrase(ex, em, ev, x))
            out.append(Step(**{**common, "current": float(ev)}, part=pi, kind=KIND_FIX, key=ekey,
                            lost=round(cut, GAIN_DIGITS), plan_value=0.0, plan_phrase=describe(0.0),
                            ladder=extra_deduction.ladder(ev).values, describe=describe))
    return out


# ---------------------------------------------------------------- the plan
def _plan_frame(steps: list[Step], sc: Scenarios, pending: Pending | None = None) -> pd.DataFrame:
    scored = [s for s in steps if s.key is not None]
    runs = sc.run([{}] + [{s.key: s.plan_value} for s in scored])
    pts = sc.indicator_points
    base_total = float(runs["total"].iloc[0])
    gain: dict[int, tuple[float, float]] = {}
    for j, s in enumerate(scored, 1):
        rec = float(pts[s.indicator].iloc[j] - pts[s.indicator].iloc[0])
        gain[id(s)] = (round(rec, GAIN_DIGITS), round(float(runs["total"].iloc[j]) - base_total, GAIN_DIGITS))
    records = []
    for s in steps:
        rec, tot = gain.get(id(s), (0.0, 0.0))
        if s.kind == KIND_FINAL:
            action = s.fixed_action or ""
        elif s.kind == KIND_COMMITTEE:
            action = s.plan_phrase + f"，最多可加{num_text(rec)}分"
        else:
            action = s.plan_phrase + f"可加{num_text(rec)}分"
        if s.kind != KIND_FINAL and abs(tot - rec) > 0.005:
            action += f"（折合总分{num_text(tot)}分）"
        records.append({
            "indicator": s.indicator, "name": s.name, "dimension_name": s.dimension_name, "points": s.points,
            "max": s.max, "lost": s.lost, "recoverable": rec, "total_gain": tot, "action": action, "kind": s.kind,
            "order": s.order, "part": s.part, "measure_key": s.key, "current_value": s.current,
            "target_value": s.plan_value, "low": math.nan, "high": math.nan,
        })
    for p in (pending.indicators if pending is not None else []):
        if not p["rule_pending"] and any(s.indicator == p["indicator"] and s.part == 0 for s in steps):
            continue  # the rule part is the branch's own step; a pending extra deduction only narrows it
        records.append({
            "indicator": p["indicator"], "name": p["name"], "dimension_name": p["dimension_name"], "points": math.nan,
            "max": p["max"], "lost": 0.0, "recoverable": 0.0, "total_gain": 0.0, "action": p["text"],
            "kind": KIND_PENDING, "order": p["order"], "part": 0, "measure_key": p["key"], "current_value": math.nan,
            "target_value": math.nan, "low": p["low"], "high": p["high"],
        })
    frame = pd.DataFrame.from_records(records, columns=PLAN_COLUMNS + ["part"])
    frame["_k"] = frame["kind"].map(KIND_RANK).fillna(0)
    frame = frame.sort_values(["_k", "total_gain", "recoverable", "order", "part"],
                              ascending=[True, False, False, True, True], kind="mergesort")
    return frame.drop(columns=["part", "_k"]).reset_index(drop=True).astype(
        {"recoverable": float, "total_gain": float, "low": float, "high": float})


def _scenarios(result: Result, measured: dict[str, Measured], branch_id: str, pending: Pending | None,
               rubric: Rubric | None = None) -> Scenarios:
    """The branch's scenarios, starting from its pending items at their lowest (without the vetoes that
    cannot be judged yet) when it has any."""
    if pending is None or not pending.active:
        return Scenarios(result, measured, branch_id, rubric=rubric)
    return Scenarios(result, measured, branch_id, rubric=rubric or pending.rubric, base=pending.low_values())


def improvement_plan(result: Result, measured: dict[str, Measured], branch_id: str,
                     pending: Pending | None = None) -> pd.DataFrame:
    """Every indicator part of ``branch_id`` that lost points: the next step, the indicator points it
    recovers (``recoverable``) and the gain in the branch's total (``total_gain``), sorted by the gain in
    total, then recoverable points, then rubric order; then the pending indicators (kind 待评定, with the
    range of points ``low``-``high`` and no lost points), the irrecoverable ones last.

    Columns: indicator, name, dimension_name, points, max, lost (points lost by this part: the rule, or
    one extra deduction), recoverable, total_gain, action (Chinese sentence), kind (可改进 / 委员会评定 /
    待评定 / 无法挽回), order (rubric order), measure_key, current_value, target_value (the measured value
    the step reaches; NaN for 无法挽回 and 待评定), low, high (a 待评定 item's points at both ends, NaN
    otherwise). ``pending`` is :func:`find_pending` of the branch (None: nothing is pending); the gains are
    then measured with the pending items at their lowest.
    """
    pend = pending if pending is not None and pending.active else None
    steps = _steps_for(result, measured, branch_id, pend)
    return _plan_frame(steps, _scenarios(result, measured, branch_id, pend), pend)


# ---------------------------------------------------------------- the next level
def _level_reached(r: Rubric, level_index: int) -> Callable[[pd.DataFrame], pd.Series]:
    """Whether a scenario reaches the level by its score alone (stars earned in the per_dimension model,
    the total otherwise), before extra conditions, vetoes and quotas."""
    lv = r.grading.levels[level_index]
    if r.grading.model == "per_dimension":
        def reached(df: pd.DataFrame) -> pd.Series:
            ok = df["stars_earned"].astype(float) >= lv.min - EPS
            if lv.min_total is not None:
                ok &= df["total"].astype(float) >= lv.min_total - EPS
            return ok
        return reached
    return lambda df: df["total"].astype(float) >= lv.min - EPS


@dataclass
class _Move:
    step: Step
    value: float
    phrase: str
    gain: float


def _move_dict(mv: _Move) -> dict:
    return {"indicator": mv.step.indicator, "name": mv.step.name, "action": mv.phrase, "gain": mv.gain,
            "kind": mv.step.kind, "measure_key": mv.step.key, "value": mv.value}


def _find_path(sc: Scenarios, steps: list[Step], reached) -> tuple[list[_Move], dict[str, float], float, bool]:
    """Greedy by gain in total: while no single step closes the gap, take the step with the largest gain in
    full; once some steps can close it, take the one that closes it with the smallest gain, only as far
    as needed (1 more 支委会 rather than 3). Returns (moves, changes, total reached, closed)."""
    applied: dict[str, float] = {}
    moves: list[_Move] = []
    remaining = [s for s in steps if s.kind == KIND_FIX and s.key is not None and s.ladder]
    while True:
        runs = sc.run([applied] + [{**applied, s.key: s.ladder[-1]} for s in remaining])
        total = float(runs["total"].iloc[0])
        if bool(reached(runs.iloc[[0]]).iloc[0]):
            return moves, applied, total, True
        full_ok = reached(runs).to_numpy()[1:]
        full_gain = runs["total"].to_numpy(dtype=float)[1:] - total
        closers = [s for s, ok in zip(remaining, full_ok) if ok]
        if closers:
            fine = [(s, v) for s in closers for v in s.ladder]
            fr = sc.run([applied] + [{**applied, s.key: v} for s, v in fine])
            ok = reached(fr).to_numpy()[1:]
            gains = fr["total"].to_numpy(dtype=float)[1:] - float(fr["total"].iloc[0])
            best = None
            for (s, v), hit, g in zip(fine, ok, gains):
                if not hit:
                    continue
                key = (round(g, GAIN_DIGITS), s.order, s.part)
                if best is None or key < best[0]:
                    best = (key, s, v, g)
            _, s, v, g = best
            applied = {**applied, s.key: v}
            moves.append(_Move(s, v, s.describe(v), round(float(g), GAIN_DIGITS)))
            return moves, applied, total + float(g), True
        if not remaining or full_gain.max(initial=0.0) <= EPS:
            return moves, applied, total, False
        order = sorted(range(len(remaining)), key=lambda i: (-round(full_gain[i], GAIN_DIGITS), remaining[i].order,
                                                              remaining[i].part))
        i = order[0]
        s = remaining.pop(i)
        applied = {**applied, s.key: s.ladder[-1]}
        moves.append(_Move(s, s.ladder[-1], s.describe(s.ladder[-1]), round(float(full_gain[i]), GAIN_DIGITS)))


def _quota_text(r: Rubric, label: str) -> str | None:
    qs = [q for q in r.quotas if q.level == label]
    if not qs:
        return None
    return "、".join(f"{SCOPE_ZH[q.scope]}{q.level}不超过{num_text(q.max_share * 100)}%" for q in qs)


def _veto_clear_text(r: Rubric, veto_id: str, measured: dict[str, Measured], branch_id: str, category: str,
                     improvable: set[str]) -> str:
    """What it takes to clear a fired veto: the negated condition when a step of the plan moves the value
    it reads, otherwise that it cannot be cleared this year."""
    v = next(x for x in r.vetoes if x.id == veto_id)
    c = v.when
    inds = [i for _, i in _indicator_map(r, category).values()]
    if c.indicator is not None:
        ind = next((i for i in inds if i.id == c.indicator), None) or next(
            i for _, i in r.all_indicators() if i.id == c.indicator)
        key, subject = measure_key(ind.measure, ind.params), ind.name
    else:
        key = measure_key(c.measure, c.params)
        users = [i for i in inds if measure_key(i.measure, i.params) == key]
        subject = users[0].name if users else v.name
    m = measured[key]
    f = m.frame.reindex(pd.Index([branch_id], name="branch_id"))
    cur = float(f["value"].iloc[0])
    evidence = str(f["evidence"].fillna("").iloc[0])
    if math.isnan(cur) and c.if_missing:
        return f"缺少{subject}的记录按触发处理，需补齐记录（{evidence}）"
    if key in improvable:
        return f"需使{_subject(subject, m)}{m.units.requirement(NEGATED[c.op], c.value)}（目前{value_text(cur, m)}）才能解除"
    return f"该情形（{evidence}）本年度无法消除"


def _without_vetoes_for(r: Rubric, measured: dict[str, Measured], branch_id: str, veto_ids: set[str]):
    """(rubric, measured) in which the vetoes ``veto_ids`` cannot fire for ``branch_id`` and fire as before
    for every other branch: each such veto reads a copy of its measure (under a key no plugin reads) in
    which the branch has no value."""
    if not veto_ids:
        return r, measured
    new_measured = dict(measured)
    vetoes = []
    for v in r.vetoes:
        if v.id not in veto_ids:
            vetoes.append(v)
            continue
        c = v.when
        if c.indicator is not None:
            ind = next(i for _, i in r.all_indicators() if i.id == c.indicator)
            mid, params = ind.measure, dict(ind.params)
        else:
            mid, params = c.measure, dict(c.params)
        m = measured[measure_key(mid, params)]
        params["\x1fselfcheck"] = branch_id
        frame = m.frame.copy()
        frame.loc[branch_id, "value"] = np.nan
        new_measured[measure_key(mid, params)] = replace(m, frame=frame)
        when = c.model_copy(update={"measure": mid, "params": params, "indicator": None, "if_missing": False})
        vetoes.append(v.model_copy(update={"when": when}))
    return r.model_copy(update={"vetoes": vetoes}), new_measured


def _apply_to_county(result: Result, measured: dict[str, Measured], branch_id: str, changes: dict[str, float],
                     pending: Pending | None = None) -> pd.Series:
    """Re-evaluate the whole county (quotas included) with this branch's measured values changed; the
    branch's row of the new ranking. With pending items: the branch's start at their lowest, its vetoes
    that cannot be judged left out, and the extra conditions awaiting the committee taken as met."""
    r = result.rubric
    if pending is not None and pending.active:
        held = {q["key"]: pending.items[q["key"]].high for q in pending.requires}
        changes = {**pending.low_values(), **held, **changes}
        r, measured = _without_vetoes_for(r, measured, branch_id, pending.veto_ids)
    new = dict(measured)
    for key, value in changes.items():
        m = measured[key]
        frame = m.frame.copy()
        frame.loc[branch_id, "value"] = value
        new[key] = replace(m, frame=frame)
    res = evaluate(r, result.branches, new)
    b = res.branches
    return b[b["branch_id"] == branch_id].iloc[0]


def _quota_cutoff(result: Result, row: pd.Series, label: str) -> tuple[str, float | None]:
    """Who holds the level's places in the branch's quota scope: a clause ("" when places are left) and the
    total the branch must exceed to take a place (None when there is no place to take)."""
    r: Rubric = result.rubric
    b = result.branches
    parts, cutoffs, closed = [], [], False
    for q in (x for x in r.quotas if x.level == label):
        scope = scope_key(b, q.scope)
        mine = scope[b["branch_id"] == row["branch_id"]].iloc[0]
        in_scope = b[(scope == mine).to_numpy()]
        allowed = int(share_count(q.max_share, pd.Series([len(in_scope)]), q.rounding).iloc[0])
        holders = in_scope[(in_scope["level"] == label) & (in_scope["branch_id"] != row["branch_id"])]
        where = SCOPE_ZH[q.scope].replace("中", "")
        if allowed == 0:
            parts.append(f"{where}{len(in_scope)}个支部，{label}名额为0")
            closed = True
        elif len(holders) >= allowed:
            low = float(holders["total"].min())
            parts.append(f"{where}{label}名额{allowed}个已满，目前占用名额的最低总分为{num_text(low)}分")
            cutoffs.append(low)
    return "；".join(parts), (None if closed or not cutoffs else max(cutoffs))


def next_level(result: Result, measured: dict[str, Measured], branch_id: str, pending: Pending | None = None) -> dict:
    """The next level up for ``branch_id`` and how to get there.

    Returns a dict: branch_id, name, total, level, rated, rank, n_branches, next_level (label or None at
    the top), threshold (the next level's minimum: total points, or stars in the per_dimension model),
    threshold_unit ("分" / "颗星"), current (the total or the stars earned), gap (>= 0), reachable (bool),
    blockers (list of {"type": "veto" | "requires" | "quota" | "points" | "pending", "text"}), path (list of
    {"indicator", "name", "action", "gain", "kind", "measure_key", "value"}: the cheapest steps in the
    order taken, each gain in total points on top of the steps before it, and the measured value it sets),
    path_gain, summary (one Chinese sentence), notes (list of Chinese cautions), quota_total and
    quota_path (when the level's places are all held by branches above: the total to exceed, at the
    other branches' present totals, and the cheapest steps beyond it; the level still counts as not
    reachable, since those totals will move), pending (whether the branch has items the committee has not
    decided yet) and awaiting (the level's extra conditions that await the committee: they never make it
    unreachable).

    The path is found among the 可改进 steps of :func:`improvement_plan` (committee-decided, pending and
    irrecoverable points are never counted on), each tried along its finest useful steps. With
    ``pending`` (:func:`find_pending`), the start is the branch with its pending items at their lowest
    (total, level), and a level its own steps reach only if the committee's items score high is said to
    depend on the committee (blocker "pending"), not to be out of reach.
    """
    r: Rubric = result.rubric
    g = r.grading
    pend = pending if pending is not None and pending.active else None
    row = _branch_row(result, branch_id)
    category = str(row["category"])
    levels = g.levels
    labels = [lv.label for lv in levels]
    per_dim = g.model == "per_dimension"
    unit = "颗星" if per_dim else "分"
    sc = _scenarios(result, measured, branch_id, pend)
    if pend is not None:
        now = sc.run([{}]).iloc[0]
        total, rated, level = float(now["total"]), bool(now["rated"]), str(now["level"])
        stars = float(now["stars_earned"]) if per_dim else None
    else:
        total, rated, level = float(row["total"]), bool(row["rated"]), str(row["level"])
        stars = float(row["stars_earned"]) if per_dim else None
    current = stars if per_dim else total
    out = {
        "branch_id": branch_id, "name": str(row["name"]), "total": total, "level": level, "rated": rated,
        "rank": int(row["rank"]), "n_branches": int(len(result.branches)), "next_level": None, "threshold": None,
        "threshold_unit": unit, "current": current, "gap": 0.0, "reachable": False, "blockers": [], "path": [],
        "path_gain": 0.0, "summary": "", "notes": list(result.meta.selfcheck_notes),
        "quota_total": None, "quota_path": [], "pending": pend is not None, "awaiting": [],
    }
    if pend is not None:
        out["notes"].append(f"考评委员会评定项尚未评定：均按最低分计总分{num_text(pend.total_low)}分（{pend.level_low}），"
                            f"均按最高分计{num_text(pend.total_high)}分（{pend.level_high}）；下一等级和提分路径按最低分计算")
    steps = _steps_for(result, measured, branch_id, pend)
    improvable = {s.key for s in steps if s.kind == KIND_FIX}
    vet = result.vetoes[result.vetoes["branch_id"] == branch_id] if len(result.vetoes) else result.vetoes
    if pend is not None and len(vet):
        vet = vet[~vet["veto"].isin(pend.veto_ids)]

    cur_idx = labels.index(level) if rated and level in labels else None
    if rated:
        if cur_idx == 0:
            out["summary"] = f"已达到最高等级{level}"
            return out
        target = (cur_idx if cur_idx is not None else len(levels)) - 1
    else:  # the level the branch would have without the vetoes that removed its rating
        base_rubric = pend.rubric if pend is not None else r
        free = base_rubric.model_copy(update={"vetoes": [v for v in base_rubric.vetoes if v.effect != "no_rating"]})
        would = _scenarios(result, measured, branch_id, pend, rubric=free).run([{}])["level_idx"].iloc[0]
        target = int(would) if pd.notna(would) else len(levels) - 1
    lv = levels[target]
    out["next_level"] = lv.label
    out["threshold"] = float(lv.min)
    out["gap"] = round(max(0.0, lv.min - current), GAIN_DIGITS)

    # vetoes that remove the rating or cap the level below the target
    blockers = out["blockers"]
    for vr in vet.itertuples(index=False) if len(vet) else []:
        blocks = vr.effect == "no_rating" or (vr.effect == "cap" and labels.index(vr.cap_level) > target)
        if not blocks:
            continue
        clear = _veto_clear_text(r, vr.veto, measured, branch_id, category, improvable)
        blockers.append({"type": "veto", "veto": vr.veto, "name": vr.name, "text": f"{vr.explanation}；{clear}"})
    if blockers:
        head = "；".join(b["text"] for b in blockers)
        if rated:
            out["summary"] = f"{lv.label}无法达到：{head}"
        else:
            out["summary"] = f"按得分可评为{lv.label}，但不能评定等级：{head}"
        return out

    # the points: the cheapest steps that reach the level's score
    reached = _level_reached(r, target)
    moves, changes, best_total, closed = _find_path(sc, steps, reached)
    out["path"] = [_move_dict(mv) for mv in moves]
    out["path_gain"] = round(sum(mv.gain for mv in moves), GAIN_DIGITS)
    path_text = "，".join(f"{mv.phrase}（+{num_text(mv.gain)}分）" for mv in moves)
    if not closed:
        most = "" if per_dim else f"总分最多{num_text(best_total)}分，"
        if pend is not None:
            high = Scenarios(result, measured, branch_id, rubric=pend.rubric, base=pend.high_values())
            if _find_path(high, steps, reached)[3]:
                blockers.append({"type": "pending", "text": f"委员会评定项按最低分计，即使全部可改进事项都做到，{most}"
                                                            f"仍达不到{lv.label}的{num_text(lv.min)}{unit}；"
                                                            f"委员会评定项得分较高时可以达到"})
                out["summary"] = f"还差{num_text(out['gap'])}{unit}，{lv.label}能否达到取决于考评委员会评定：{blockers[-1]['text']}"
                return out
        committee = sum(s.lost for s in steps if s.kind == KIND_COMMITTEE)
        extra = f"（另有考评委员会评定事项失分{num_text(committee)}分）" if committee > EPS else ""
        if pend is not None:
            extra += "（委员会评定项均按最高分计也达不到）"
        blockers.append({"type": "points", "text": f"即使全部可改进事项都做到，{most}"
                                                   f"仍达不到{lv.label}的{num_text(lv.min)}{unit}{extra}"})
        out["summary"] = f"还差{num_text(out['gap'])}{unit}，{lv.label}本年度无法达到：{blockers[-1]['text']}"
        return out

    # the level's extra conditions, with the path's changes applied
    idx = pd.Index([branch_id], name="branch_id")
    awaiting = out["awaiting"]
    for c in lv.requires:
        key = _condition_key(r, c, category)
        if pend is not None and key in pend.items:
            awaiting += [q["text"] for q in pend.requires if q["level"] == lv.label and q["key"] == key]
            continue
        value = changes.get(key, float(measured[key].frame["value"].reindex(idx).iloc[0]))
        holds = c.if_missing if math.isnan(value) else bool(OPS[c.op](value, c.value))
        if not holds:
            need = lv.requires_text or measured[key].units.requirement(c.op, c.value)
            evidence = str(measured[key].frame["evidence"].reindex(idx).fillna("").iloc[0])
            blockers.append({"type": "requires", "text": f"{lv.label}还需「{need}」，目前不满足（{evidence}）"})
    awaiting[:] = list(dict.fromkeys(awaiting))
    lead = (f"{path_text}，总分可达到{lv.label}分数线" if moves else f"总分已达到{lv.label}分数线")
    if blockers:
        out["summary"] = f"{lead}，但{'；'.join(b['text'] for b in blockers)}，无法评为{lv.label}"
        return out

    # quotas: the whole county re-evaluated with the path applied
    quota = _quota_text(r, lv.label)
    if quota is not None:
        new_row = _apply_to_county(result, measured, branch_id, changes, pend)
        if bool(new_row["rated"]) and new_row["level"] != lv.label and str(new_row["quota_from"]):
            held, cutoff = _quota_cutoff(result, row, lv.label)
            blockers.append({"type": "quota", "text": f"即使达到分数线，也可能因名额限制（{quota}）调整为{new_row['level']}"
                                                      + (f"（{held}）" if held else "")})
            out["summary"] = f"{lead}；{blockers[-1]['text']}"
            if cutoff is not None:
                out["quota_total"] = cutoff
                qmoves, qchanges, _, qclosed = _find_path(
                    sc, steps, lambda df: reached(df) & (df["total"].astype(float) > cutoff + EPS))
                if qclosed and _apply_to_county(result, measured, branch_id, qchanges, pend)["level"] == lv.label:
                    out["quota_path"] = [_move_dict(mv) for mv in qmoves]
                    qtext = "，".join(f"{mv.phrase}（+{num_text(mv.gain)}分）" for mv in qmoves)
                    out["summary"] += f"。按目前其他支部的得分，总分需超过{num_text(cutoff)}分才能进入名额：{qtext}"
                else:
                    out["summary"] += f"。按目前其他支部的得分，总分需超过{num_text(cutoff)}分才能进入名额，仅靠可改进事项做不到"
            return out
        out["notes"].append(f"{lv.label}有名额限制（{quota}），最终以排名为准")
    dropped = result.meta.dropped_quotas
    if lv.label in dropped:
        out["notes"].append(f"{lv.label}有名额限制（{dropped[lv.label]}），需全县排名后确定")
    out["reachable"] = True
    if awaiting:
        out["summary"] = f"{lead}；{'；'.join(awaiting)}"
    else:
        out["summary"] = (f"{path_text}即可达到{lv.label}" if moves else f"已达到{lv.label}")
    return out
