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
    scope_key,
    share_count,
)
from .result import Result
from .rubric import Indicator, Rubric
from .rules import extra_deduction

KIND_FIX = "可改进"
KIND_COMMITTEE = "委员会评定"
KIND_FINAL = "无法挽回"

PLAN_COLUMNS = [
    "indicator", "name", "dimension_name", "points", "max", "lost", "recoverable", "total_gain", "action", "kind",
    "order", "measure_key", "current_value", "target_value",
]

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
    ``base_total``, ``level``, ``level_idx`` (NaN when unrated or below every level), ``rated`` and, in the
    per_dimension model, ``stars_earned``; ``indicator_points`` of the last run gives each scenario's
    points per indicator.
    """

    def __init__(self, result: Result, measured: dict[str, Measured], branch_id: str, rubric: Rubric | None = None):
        self.rubric = score_only(rubric if rubric is not None else result.rubric)
        b = result.branches
        self.branch = b[b["branch_id"] == branch_id].iloc[0]
        self.branch_id = branch_id
        self.measured = measured
        bonus = self.rubric.bonus
        self.claims_key = measure_key(bonus.measure, {}) if bonus is not None else None
        self._rows: dict[str, pd.DataFrame] = {}
        for key, m in measured.items():
            f = m.frame
            if key == self.claims_key or "value" not in f.columns:
                self._rows[key] = f[f["branch_id"] == branch_id] if "branch_id" in f.columns else f.iloc[0:0]
            else:
                self._rows[key] = f.reindex(pd.Index([branch_id], name="branch_id"))
        self.labels = {lv.label: i for i, lv in enumerate(self.rubric.grading.levels)}
        self.indicator_points: pd.DataFrame | None = None

    def run(self, scenarios: list[dict[str, float]]) -> pd.DataFrame:
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
            if "value" not in base.columns:  # claims: the branch's claims once per scenario
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
        cols = ["total", "base_total", "level", "rated"] + (["stars_earned"] if "stars_earned" in out.columns else [])
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


def _move_phrase(ind: Indicator, m: Measured, current: float, value: float, shown: str | None = None) -> str:
    """"再召开2次支委会" (the measure's own advice) / "党费足额按时交纳率提高到100%（目前92%）"."""
    cur = current if not math.isnan(current) else 0.0
    if m.advice is not None:
        said = m.advice(cur, value)
        if said:
            return said
    target = shown if shown is not None else value_text(value, m)
    verb = "达到" if math.isnan(current) else ("提高到" if value > current else "降低到")
    return f"{_subject(ind.name, m)}{verb}{target}（目前{value_text(current, m)}）"


def _rule_steps(ind: Indicator, m: Measured, v: float, rule_points: float):
    """(plan target, path ladder, describe) for the rule part of an indicator, or None when no change of
    the value can recover anything. The values come from the rule type (:mod:`scoring.rules`)."""
    ladder = rules.of(ind.rule).ladder(ind.rule, ind.max, v, rule_points, m.units)
    if ladder is None:
        return None
    if ladder.requirement is not None:  # pass/fail: the measure's advice, else the requirement
        cur = 0.0 if math.isnan(v) else v
        said = m.advice(cur, ladder.target) if m.advice is not None and ladder.target > cur else None
        phrase = said or f"{ind.name}达到要求（{ladder.requirement}，目前{value_text(v, m)}）"
        return ladder.target, ladder.values, lambda x: phrase
    return ladder.target, ladder.values, lambda x: _move_phrase(ind, m, v, x, ladder.shown.get(x))


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


def _steps_for(result: Result, measured: dict[str, Measured], branch_id: str) -> list[Step]:
    """Every indicator part of the branch that lost points, as a :class:`Step` (not yet scored)."""
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
        rule_lost = round(top - rule_pts, GAIN_DIGITS)
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
                found = _rule_steps(ind, m, v, rule_pts)
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
            if cut <= EPS:
                continue
            describe = (lambda x, ex=ex, em=em, ev=ev: _extra_phrase(ex, em, ev, x))
            out.append(Step(**{**common, "current": float(ev)}, part=pi, kind=KIND_FIX, key=ekey,
                            lost=round(cut, GAIN_DIGITS), plan_value=0.0, plan_phrase=describe(0.0),
                            ladder=extra_deduction.ladder(ev).values, describe=describe))
    return out


# ---------------------------------------------------------------- the plan
def _plan_frame(steps: list[Step], sc: Scenarios) -> pd.DataFrame:
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
            "target_value": s.plan_value,
        })
    frame = pd.DataFrame.from_records(records, columns=PLAN_COLUMNS + ["part"])
    frame = frame.sort_values(["total_gain", "recoverable", "order", "part"], ascending=[False, False, True, True],
                              kind="mergesort")
    return frame.drop(columns="part").reset_index(drop=True).astype({"recoverable": float, "total_gain": float})


def improvement_plan(result: Result, measured: dict[str, Measured], branch_id: str) -> pd.DataFrame:
    """Every indicator part of ``branch_id`` that lost points: the next step, the indicator points it
    recovers (``recoverable``) and the gain in the branch's total (``total_gain``), sorted by the gain in
    total, then recoverable points, then rubric order.

    Columns: indicator, name, dimension_name, points, max, lost (points lost by this part: the rule, or
    one extra deduction), recoverable, total_gain, action (Chinese sentence), kind (可改进 / 委员会评定 /
    无法挽回), order (rubric order), measure_key, current_value, target_value (the measured value the step
    reaches; NaN for 无法挽回).
    """
    steps = _steps_for(result, measured, branch_id)
    return _plan_frame(steps, Scenarios(result, measured, branch_id))


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


def _apply_to_county(result: Result, measured: dict[str, Measured], branch_id: str, changes: dict[str, float]) -> pd.Series:
    """Re-evaluate the whole county (quotas included) with this branch's measured values changed; the
    branch's row of the new ranking."""
    new = dict(measured)
    for key, value in changes.items():
        m = measured[key]
        frame = m.frame.copy()
        frame.loc[branch_id, "value"] = value
        new[key] = replace(m, frame=frame)
    res = evaluate(result.rubric, result.branches, new)
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


def next_level(result: Result, measured: dict[str, Measured], branch_id: str) -> dict:
    """The next level up for ``branch_id`` and how to get there.

    Returns a dict: branch_id, name, total, level, rated, rank, n_branches, next_level (label or None at
    the top), threshold (the next level's minimum: total points, or stars in the per_dimension model),
    threshold_unit ("分" / "颗星"), current (the total or the stars earned), gap (>= 0), reachable (bool),
    blockers (list of {"type": "veto" | "requires" | "quota" | "points", "text"}), path (list of
    {"indicator", "name", "action", "gain", "kind", "measure_key", "value"}: the cheapest steps in the
    order taken, each gain in total points on top of the steps before it, and the measured value it sets),
    path_gain, summary (one Chinese sentence), notes (list of Chinese cautions), quota_total and
    quota_path (when the level's places are all held by branches above: the total to exceed, at the
    other branches' present totals, and the cheapest steps beyond it; the level still counts as not
    reachable, since those totals will move).

    The path is found among the 可改进 steps of :func:`improvement_plan` (committee-decided and
    irrecoverable points are never counted on), each tried along its finest useful steps.
    """
    r: Rubric = result.rubric
    g = r.grading
    row = _branch_row(result, branch_id)
    category = str(row["category"])
    levels = g.levels
    labels = [lv.label for lv in levels]
    per_dim = g.model == "per_dimension"
    unit = "颗星" if per_dim else "分"
    total = float(row["total"])
    stars = float(row["stars_earned"]) if per_dim else None
    current = stars if per_dim else total
    rated = bool(row["rated"])
    level = str(row["level"])
    out = {
        "branch_id": branch_id, "name": str(row["name"]), "total": total, "level": level, "rated": rated,
        "rank": int(row["rank"]), "n_branches": int(len(result.branches)), "next_level": None, "threshold": None,
        "threshold_unit": unit, "current": current, "gap": 0.0, "reachable": False, "blockers": [], "path": [],
        "path_gain": 0.0, "summary": "", "notes": list(result.meta.selfcheck_notes),
        "quota_total": None, "quota_path": [],
    }
    steps = _steps_for(result, measured, branch_id)
    sc = Scenarios(result, measured, branch_id)
    improvable = {s.key for s in steps if s.kind == KIND_FIX}
    vet = result.vetoes[result.vetoes["branch_id"] == branch_id] if len(result.vetoes) else result.vetoes

    cur_idx = labels.index(level) if rated and level in labels else None
    if rated:
        if cur_idx == 0:
            out["summary"] = f"已达到最高等级{level}"
            return out
        target = (cur_idx if cur_idx is not None else len(levels)) - 1
    else:  # the level the branch would have without the vetoes that removed its rating
        free = r.model_copy(update={"vetoes": [v for v in r.vetoes if v.effect != "no_rating"]})
        would = Scenarios(result, measured, branch_id, rubric=free).run([{}])["level_idx"].iloc[0]
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
        committee = sum(s.lost for s in steps if s.kind == KIND_COMMITTEE)
        extra = f"（另有考评委员会评定事项失分{num_text(committee)}分）" if committee > EPS else ""
        most = "" if per_dim else f"总分最多{num_text(best_total)}分，"
        blockers.append({"type": "points", "text": f"即使全部可改进事项都做到，{most}"
                                                   f"仍达不到{lv.label}的{num_text(lv.min)}{unit}{extra}"})
        out["summary"] = f"还差{num_text(out['gap'])}{unit}，{lv.label}本年度无法达到：{blockers[-1]['text']}"
        return out

    # the level's extra conditions, with the path's changes applied
    idx = pd.Index([branch_id], name="branch_id")
    for c in lv.requires:
        if c.indicator is not None:
            ind = _indicator_map(r, category).get(c.indicator)
            ind = ind[1] if ind else next(i for _, i in r.all_indicators() if i.id == c.indicator)
            key = measure_key(ind.measure, ind.params)
        else:
            key = measure_key(c.measure, c.params)
        value = changes.get(key, float(measured[key].frame["value"].reindex(idx).iloc[0]))
        holds = c.if_missing if math.isnan(value) else bool(OPS[c.op](value, c.value))
        if not holds:
            need = lv.requires_text or measured[key].units.requirement(c.op, c.value)
            evidence = str(measured[key].frame["evidence"].reindex(idx).fillna("").iloc[0])
            blockers.append({"type": "requires", "text": f"{lv.label}还需「{need}」，目前不满足（{evidence}）"})
    if blockers:
        lead = (f"{path_text}，总分可达到{lv.label}分数线" if moves else f"总分已达到{lv.label}分数线")
        out["summary"] = f"{lead}，但{'；'.join(b['text'] for b in blockers)}，无法评为{lv.label}"
        return out

    # quotas: the whole county re-evaluated with the path applied
    quota = _quota_text(r, lv.label)
    if quota is not None:
        new_row = _apply_to_county(result, measured, branch_id, changes)
        if bool(new_row["rated"]) and new_row["level"] != lv.label and str(new_row["quota_from"]):
            held, cutoff = _quota_cutoff(result, row, lv.label)
            blockers.append({"type": "quota", "text": f"即使达到分数线，也可能因名额限制（{quota}）调整为{new_row['level']}"
                                                      + (f"（{held}）" if held else "")})
            lead = (f"{path_text}，总分可达到{lv.label}分数线" if moves else f"总分已达到{lv.label}分数线")
            out["summary"] = f"{lead}；{blockers[-1]['text']}"
            if cutoff is not None:
                out["quota_total"] = cutoff
                qmoves, qchanges, _, qclosed = _find_path(
                    sc, steps, lambda df: reached(df) & (df["total"].astype(float) > cutoff + EPS))
                if qclosed and _apply_to_county(result, measured, branch_id, qchanges)["level"] == lv.label:
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
    out["summary"] = (f"{path_text}即可达到{lv.label}" if moves else f"已达到{lv.label}")
    return out
