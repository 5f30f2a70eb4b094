"""The pure evaluator: measured values + rubric -> points, bonus, vetoes, levels, quotas, ranking.

No I/O, no plugin calls, no Chinese prose: :func:`evaluate` takes the branches table and the measured
frames and returns a :class:`scoring.result.Result` whose rows carry reason codes and the numbers behind
them; :func:`scoring.wording.explain` turns those into sentences. ``evaluate`` is a sequence of stage
functions, each pure and table-tested on hand-built frames (``tests/test_stages.py``):

1. :func:`indicator_stage`   every (branch, indicator): points by the rule type (:mod:`scoring.rules`),
                             extra deductions, not applicable, no data
2. :func:`dimension_stage`   points and maximum per (branch, dimension); stars per dimension
3. :func:`base_total_stage`  the total before bonus: rescaled to the scale, or weighted sections, or 积分制
4. :func:`bonus_stage`       bonus claims: kinds, approval, document, levels, highest per work, cap
5. :func:`veto_stage`        fired vetoes (and :func:`warning_stage`, fired warnings)
6. :func:`level_stage`       the level reached by score and extra conditions; then :func:`veto_effect_stage`
7. :func:`ranking_stage`     rank by total and the tie-break chain, rank within scope
8. :func:`quota_stage`       at most N% per level and scope, by rank; overflow drops a level
9. :func:`bottom_share_stage` the bottom share by rank flagged (整顿候选)

Every computation is vectorized over all branches; Python loops run only over rubric items (indicators,
vetoes, levels, quotas), never over branches or records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import rules
from .result import EXTRA_COLUMNS, WARNING_COLUMNS, Result, RunMeta
from .rubric import Indicator, Rubric, VetoCondition
from .rules import extra_deduction
from .wording import from_codes, round_half_up

OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}
EPS = 1e-9
DIGITS = 4
QUOTA_TIE_FLAG = "名额线并列待定"  # the flag of equals at a quota line that all dropped (the committee decides)  # points and totals are kept at 4 decimals


@dataclass(frozen=True)
class Measured:
    """One measure's output for a given parameter set, with what sentences need to word it."""

    frame: pd.DataFrame  # per-branch: value, applicable, evidence (index branch_id); claims: one row per claim
    unit: str = ""
    rate: bool = False
    kind: str = "number"  # the measure's kind: count, rate, number, claims
    digits: int | None = None  # decimals the evidence shows the value with (the measure's ``digits``)
    # the measure's own advice for the self-check: (current, target) -> "再召开2次支委会", or None for the
    # generic wording (the measure's ``advice`` with its parameters bound)
    advice: Callable[..., str | None] | None = None
    # (numerator column, denominator column) of ``frame`` when value = numerator / denominator (the
    # measure's ``counts``): the self-check says its steps in counts
    counts: tuple[str, str] | None = None

    @property
    def units(self) -> rules.Unit:
        return rules.Unit.of(self.unit, self.rate, self.kind, self.digits)


def measure_key(measure: str, params: dict) -> str:
    return measure + json.dumps(params, sort_keys=True, ensure_ascii=False) if params else measure


def measure_requests(r: Rubric) -> dict[str, tuple[str, dict]]:
    """Every (measure, params) the rubric needs, by key."""
    req: dict[str, tuple[str, dict]] = {}

    def add(m, p):
        req[measure_key(m, p)] = (m, dict(p))

    for _, ind in r.all_indicators():
        add(ind.measure, ind.params)
        for ex in ind.extra_deductions:
            add(ex.measure, ex.params)
    for v in list(r.vetoes) + list(r.warnings):
        if v.when.measure:
            add(v.when.measure, v.when.params)
    for lv in r.grading.levels:
        for c in lv.requires:
            if c.measure:
                add(c.measure, c.params)
    if r.bonus is not None and r.bonus.measure:
        add(r.bonus.measure, {})
    return req


def indicator_top(ind: Indicator) -> float:
    """The most points an indicator can give (0 for a deduction-only item, 积分制)."""
    return rules.of(ind.rule).top(ind.rule, ind.max)


def _by_rank(frame: pd.DataFrame, rank: pd.Series, then: str) -> pd.DataFrame:
    """``frame`` in the order of its branches' ranks, then of ``then`` (stable: equals keep their order)."""
    if not len(frame):
        return frame
    order = _rank_order(frame["branch_id"], rank, frame[then])
    if order is not None:
        return frame.take(order).reset_index(drop=True)
    return frame.assign(_r=frame["branch_id"].map(rank)).sort_values(["_r", then], kind="mergesort").drop(
        columns="_r").reset_index(drop=True)


def _rank_order(ids: pd.Series, rank: pd.Series, then: pd.Series) -> np.ndarray | None:
    """The stable sort of rows by (their branch's rank, ``then``), the rank looked up once per distinct
    branch id; None when a row's branch has no rank, the ranks' index is not unique, or ``then`` is not a
    column of numbers without gaps (the caller then sorts with pandas)."""
    if not rank.index.is_unique or then.dtype.kind not in "iuf" or then.isna().any():
        return None
    codes, uniques = pd.factorize(ids)
    at = rank.index.get_indexer(uniques)
    if (codes < 0).any() or (at < 0).any() or rank.isna().any():
        return None
    row_rank = rank.to_numpy()[at][codes]
    return np.lexsort((then.to_numpy(), row_rank))


# ---------------------------------------------------------------- 1. indicators
INDICATOR_COLUMNS = ["branch_id", "variant", "dimension", "dimension_name", "indicator", "name", "value", "target", "points",
                     "max", "nominal_max", "applicable", "evidence", "reason", *rules.FIELD_COLUMNS, "rule_points", "extra", "unit",
                     "rate", "digits", "order"]


def _text_codes(s: pd.Series, missing: str = "") -> tuple[np.ndarray, np.ndarray] | None:
    """A text column as (codes, distinct values) with ``missing`` (coded last) for its empty cells, or None
    when the column is not a string column (then it is carried as an object array)."""
    if not isinstance(s.dtype, pd.StringDtype):
        return None
    codes, uniques = pd.factorize(s)
    texts = np.append(np.asarray(uniques, dtype=object), missing).astype(object)
    return np.where(codes < 0, len(texts) - 1, codes), texts


def _columns(m: Measured, cache: dict) -> tuple[pd.Index, np.ndarray, np.ndarray, object]:
    """A per-branch measure's index and its value, applicable and evidence columns as arrays (once); the
    evidence as (codes, texts) when it is text (as an object array otherwise)."""
    key = ("columns", id(m))
    if key not in cache:
        f = m.frame
        coded = _text_codes(f["evidence"])
        cache[key] = (f.index, f["value"].to_numpy(dtype=float, na_value=np.nan),
                      f["applicable"].to_numpy(dtype=bool, na_value=False),
                      coded if coded is not None else f["evidence"].to_numpy(dtype=object, na_value=""))
    return cache[key]


def _values(m: Measured, idx: pd.Index, cache: dict) -> tuple[np.ndarray, np.ndarray, object]:
    """(value, applicable, evidence) of a measure over ``idx`` as arrays (missing branches: NaN, False, "");
    the evidence as (codes, texts) when the measure's evidence is text (:func:`_text_codes`), else an
    object array."""
    key = (id(m), id(idx))
    if key not in cache:
        index, value, applicable, evidence = _columns(m, cache)
        pos = index.get_indexer(idx) if not index.equals(idx) else np.arange(len(idx))
        found = pos >= 0
        take = np.where(found, pos, 0)
        if isinstance(evidence, tuple):
            codes, texts = evidence
            e = (np.where(found, codes[take], len(texts) - 1) if len(codes) else np.full(len(idx), len(texts) - 1), texts)
        elif len(evidence):
            e = np.where(found, evidence[take], "").astype(object)
        else:
            e = np.full(len(idx), "", dtype=object)
        if len(value):
            v, a = value[take], applicable[take]
        else:
            v, a = np.full(len(idx), np.nan), np.zeros(len(idx), bool)
        cache[key] = (np.where(found, v, np.nan), a & found, e)
    return cache[key]


def extra_cuts(ind: Indicator, rule_points, measured: dict[str, Measured], idx: pd.Index, cache: dict | None = None):
    """The indicator's extra deductions in rubric order, each taking from what the rule and the earlier ones
    left (never below 0): yields (deduction, measured value, raw deduction, points cut), arrays over ``idx``."""
    cache = {} if cache is None else cache
    left = np.nan_to_num(np.asarray(rule_points, dtype=float), nan=0.0)
    for ex in ind.extra_deductions:
        ev = _values(measured[measure_key(ex.measure, ex.params)], idx, cache)[0]
        v, raw, cut = extra_deduction.cuts(ex, left, ev)
        left = left - cut
        yield ex, v, raw, cut


def _ids(idx: pd.Index, cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """The branch id column over ``idx`` as (codes, texts) (once per index)."""
    key = ("ids", id(idx))
    if key not in cache:
        cache[key] = (np.arange(len(idx)), idx.to_numpy(dtype=object))
    return cache[key]


def _one_indicator(ind: Indicator, dim, order: int, idx: pd.Index, in_cat: np.ndarray | None,
                   measured: dict[str, Measured], full_marks: bool, variant: str, cache: dict) -> tuple[dict, list]:
    """The rows of one indicator over ``idx`` as columns (see :func:`_concat`: a text column is a scalar
    for every row, (codes, texts), or an object array)."""
    rt = rules.of(ind.rule)
    n = len(idx)
    m = measured[measure_key(ind.measure, ind.params)]
    value, applicable, evidence = _values(m, idx, cache)
    reason_na = "na"
    if in_cat is not None:
        reason_na = np.where(applicable | in_cat, "na", "na.category").astype(object)
        applicable = applicable & in_cat
    has_value = ~np.isnan(value)
    scored = rt.score(ind.rule, value, ind.max)
    rule_points = np.nan_to_num(scored.points, nan=0.0)
    extras = []
    total_cut = np.zeros(n)
    shown = has_value & applicable
    for part, (ex, ev, raw, cut) in enumerate(extra_cuts(ind, rule_points, measured, idx, cache), 1):
        total_cut = total_cut + cut
        show = (ev > 0) & shown
        if show.any():
            extras.append({
                "branch_id": idx.to_numpy()[show], "indicator": np.full(show.sum(), ind.id, dtype=object),
                "part": np.full(show.sum(), part), "label": np.full(show.sum(), ex.label, dtype=object),
                "unit": np.full(show.sum(), ex.unit, dtype=object), "measured": ev[show],
                "per": np.full(show.sum(), float(ex.per)), "raw": raw[show], "cut": cut[show].round(DIGITS),
                "left": (rule_points - total_cut)[show].round(DIGITS),
                "reason": extra_deduction.reason(raw[show], cut[show]),
            })
    pts = np.where(has_value, rule_points - total_cut, 0.0)
    top = rt.top(ind.rule, ind.max)
    out = {
        "_n": n, "branch_id": _ids(idx, cache), "variant": variant, "dimension": dim.id, "dimension_name": dim.name,
        "indicator": ind.id, "name": ind.name, "value": value,
        "target": np.full(n, rt.target(ind.rule)),
        "points": np.where(applicable, pts, top if full_marks else 0.0).round(DIGITS),
        "max": np.where(applicable | full_marks, top, 0.0), "nominal_max": np.full(n, float(ind.max)),
        "applicable": applicable, "evidence": evidence,
        "reason": np.where(applicable, np.where(has_value, scored.reason, "no_data"), reason_na).astype(object),
    }
    for col in rules.FIELD_COLUMNS:
        fv = scored.fields.get(col)
        if col in rules.TEXT_FIELDS:
            out[col] = np.where(shown, fv, "").astype(object) if fv is not None else ""
        else:
            out[col] = np.where(shown, fv, np.nan).astype(float) if fv is not None else np.full(n, np.nan)
    out.update({"rule_points": np.where(shown, rule_points, 0.0).round(DIGITS),
                "extra": np.where(applicable, total_cut, 0.0).round(DIGITS),
                "unit": m.unit, "rate": np.full(n, bool(m.rate)),
                "digits": np.full(n, -1 if m.digits is None else int(m.digits)),
                "order": np.full(n, order)})
    out["lost"] = (out["max"] - out["points"]).round(DIGITS)
    return out, extras


def _text_column(values: list, lengths: list[int]):
    """One text column of the parts: each part a str for all its rows, (codes, texts) or an object array.
    Built from the distinct texts (:func:`scoring.wording.from_codes`) when every value is a str, which
    gives the column pandas makes of the rows' values; otherwise those values concatenated."""
    pool: dict = {}  # id of a texts array, or ("str", s) -> offset of its texts in ``texts``
    texts, codes = [], []
    size = 0
    for v, n in zip(values, lengths):
        if isinstance(v, str):
            key = ("str", v)
            if key not in pool:
                pool[key], size = size, size + 1
                texts.append(np.array([v], dtype=object))
            codes.append(np.full(n, pool[key], dtype=np.intp))
            continue
        if isinstance(v, tuple):
            c, t = v
        elif isinstance(v, np.ndarray) and v.dtype == object:
            c, t = pd.factorize(v)
            t = np.asarray(t, dtype=object)
            if len(c) and c.min() < 0:
                return _materialized(values, lengths)
        else:
            return _materialized(values, lengths)
        if id(t) not in pool:
            pool[id(t)], size = size, size + len(t)
            texts.append(t)
        codes.append(np.asarray(c, dtype=np.intp) + pool[id(t)])
    distinct = np.concatenate(texts) if texts else np.array([], dtype=object)
    if not len(distinct) or pd.api.types.infer_dtype(distinct, skipna=False) != "string":
        return _materialized(values, lengths)
    return from_codes(np.concatenate(codes), distinct)


def _materialized(values: list, lengths: list[int]) -> np.ndarray:
    out = []
    for v, n in zip(values, lengths):
        if isinstance(v, tuple):
            out.append(v[1][v[0]])
        elif isinstance(v, np.ndarray):
            out.append(v)
        else:
            out.append(np.full(n, v, dtype=object))
    return np.concatenate(out)


def _concat(parts: list[dict], columns: list[str]) -> pd.DataFrame:
    """The parts' columns one after the other. A part's column is an array, or (text columns) a str for all
    its rows or (codes, texts); ``_n`` is a part's row count (else the length of its first column)."""
    if not parts:
        return pd.DataFrame(columns=columns)
    lengths = [p["_n"] if "_n" in p else len(p[columns[0]]) for p in parts]
    data = {}
    for c in columns:
        values = [p[c] for p in parts]
        if all(isinstance(v, np.ndarray) and v.dtype != object for v in values):
            data[c] = np.concatenate(values)
        else:
            data[c] = _text_column(values, lengths)
    return pd.DataFrame(data)


def _groups(r: Rubric, branches: pd.DataFrame) -> list[tuple[str, list, pd.Index]]:
    """(variant id, dimensions, branch ids) per variant ("" for the base): branches of a category a variant
    covers use its dimensions."""
    category = branches["category"].astype(str)
    groups: list[tuple[str, list, pd.Index]] = []
    covered = pd.Series(False, index=branches.index)
    for v in r.variants:
        mask = category.isin(v.categories)
        covered |= mask
        groups.append((v.id, v.dimensions, pd.Index(branches.loc[mask, "branch_id"], name="branch_id")))
    groups.insert(0, ("", r.dimensions, pd.Index(branches.loc[~covered, "branch_id"], name="branch_id")))
    return [g for g in groups if len(g[2])]


def dimensions_of(r: Rubric, variant: str) -> list:
    """The dimensions a variant id ("" for the base) scores with."""
    return next((v.dimensions for v in r.variants if v.id == variant), r.dimensions)


def indicator_stage(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per branch and indicator, in rubric order, and one row per extra deduction that found
    something (the ``extras`` table). Branches of a category that a variant covers are scored with the
    variant's dimensions."""
    cat_of = branches.set_index("branch_id")["category"]
    full_marks = r.grading.not_applicable == "full_marks"
    parts, extras = [], []
    cache: dict = {}
    for variant, dims, idx in _groups(r, branches):
        category = cat_of.reindex(idx).astype(str).to_numpy()
        order = 0
        for dim in dims:
            for ind in dim.indicators:
                in_cat = np.isin(category, ind.categories) if ind.categories is not None else None
                frame, ex = _one_indicator(ind, dim, order, idx, in_cat, measured, full_marks, variant, cache)
                parts.append(frame)
                extras += ex
                order += 1
    if not parts:
        ind = _concat(parts, INDICATOR_COLUMNS)
        ind["lost"] = (ind["max"].astype(float) - ind["points"].astype(float)).round(DIGITS)
    else:
        ind = _concat(parts, INDICATOR_COLUMNS + ["lost"])
    return ind, _concat(extras, EXTRA_COLUMNS)


# ---------------------------------------------------------------- 2. dimensions, 3. base total
def dimension_stage(r: Rubric, ind: pd.DataFrame) -> pd.DataFrame:
    """Points and maximum per (branch, dimension), in rubric order; in the per_dimension model whether the
    dimension earned its star (score >= its share x max)."""
    dims = (
        ind.groupby(["branch_id", "dimension"], sort=False)
        .agg(name=("dimension_name", "first"), score=("points", "sum"), max=("max", "sum"), order=("order", "min"))
        .reset_index()
    )
    dims[["score", "max"]] = dims[["score", "max"]].astype(float).round(DIGITS)
    if r.grading.model == "per_dimension":
        share = {d.id: d.star_share for d in r.dimensions}
        for v in r.variants:
            share.update({d.id: d.star_share for d in v.dimensions if d.star_share is not None})
        thr = dims["dimension"].map(share).astype(float).fillna(r.grading.star_share)
        dims["star"] = (dims["max"] <= 0) | (dims["score"] >= thr * dims["max"] - EPS)
    return dims


def base_total_stage(r: Rubric, ind: pd.DataFrame, dims: pd.DataFrame, idx: pd.Index) -> pd.Series:
    """The score before bonus and fixed deductions, by the rubric's grading model and sections: points over
    the applicable maximum rescaled to ``grading.scale``; weighted sections; or 积分制 base + points."""
    g = r.grading
    if g.model == "points":
        return (g.base + ind.groupby("branch_id")["points"].sum().reindex(idx).fillna(0.0)).round(DIGITS)
    if not g.sections:
        sums = ind.groupby("branch_id")[["points", "max"]].sum().reindex(idx)
        return (sums["points"] / sums["max"].where(sums["max"] > 0) * g.scale).fillna(0.0).round(DIGITS)
    pivot = dims.pivot(index="branch_id", columns="dimension", values=["score", "max"]).reindex(idx).fillna(0.0)
    lost = pivot["max"] - pivot["score"]
    total = pd.Series(0.0, index=idx)
    for sec in g.sections:
        have = [d for d in sec.dimensions if d in pivot["score"].columns]
        minus = [d for d in sec.deduct_dimensions if d in lost.columns]
        pts = pivot["score"][have].sum(axis=1) - lost[minus].sum(axis=1)
        mx = pivot["max"][have].sum(axis=1)
        total += (pts / mx.where(mx > 0) * g.scale).fillna(0.0).clip(lower=0) * sec.weight
    return total.round(DIGITS)


# ---------------------------------------------------------------- 4. bonus
BONUS_COLUMNS = ["branch_id", "claim", "title", "kind", "level", "base", "points", "counted", "reason", "best_level",
                 "cap"]


def bonus_stage(r: Rubric, claims: pd.DataFrame | None) -> pd.DataFrame:
    """One row per claim: the points it adds after the exclusions, the highest-level-per-work rule and the
    cap (highest-points claims first, each adding what is left under the cap), with its reason code:
    bonus.counted, bonus.capped (partly), bonus.cap_full (nothing left), bonus.kind, bonus.unapproved,
    bonus.no_document, bonus.level (not a level that earns points), bonus.lower_level (``best_level`` counted)."""
    b = r.bonus
    if b is None or claims is None or claims.empty:
        return pd.DataFrame(columns=BONUS_COLUMNS)
    c = claims.copy()
    c["base"] = c["level"].map(b.points).fillna(0.0).astype(float)
    reason = pd.Series("", index=c.index, dtype=object)
    eligible = pd.Series(True, index=c.index)

    def exclude(mask, code):
        nonlocal reason, eligible
        new = mask & eligible
        reason = reason.where(~new, code)
        eligible &= ~mask

    if b.kinds is not None:
        exclude(~c["kind"].isin(b.kinds), "bonus.kind")
    if b.require_approved:
        exclude(~c["approved"].astype(bool), "bonus.unapproved")
    if b.require_document:
        exclude(~c["has_document"].astype(bool), "bonus.no_document")
    exclude(c["base"] <= 0, "bonus.level")
    c["best_level"] = ""
    if b.highest_only:
        # same work = same branch and title; keep the highest-points eligible claim (ties: first claim id)
        ranked = c[eligible].sort_values(["branch_id", "title", "base", "claim"], ascending=[True, True, False, True])
        best = ranked.drop_duplicates(["branch_id", "title"])
        dup = eligible & ~c.index.isin(best.index)
        work = c["branch_id"].astype(str) + "\x1f" + c["title"].astype(str)
        level_of_best = best.set_index(best["branch_id"].astype(str) + "\x1f" + best["title"].astype(str))["level"]
        c["best_level"] = work.map(level_of_best).astype(object).fillna("").astype(str).where(dup, "")
        exclude(dup, "bonus.lower_level")
    order = c.assign(_e=eligible).sort_values(["branch_id", "_e", "base", "claim"], ascending=[True, False, False, True])
    earned = order["base"].where(order["_e"], 0.0)
    before = earned.groupby(order["branch_id"]).cumsum() - earned
    added = np.minimum(earned, (b.cap - before).clip(lower=0))
    c["points"] = added.reindex(c.index).round(DIGITS)
    c["counted"] = (eligible & (c["points"] > 0)).astype(bool)
    partial = eligible & (c["points"] < c["base"])
    reason = reason.where(~eligible, np.where(partial, np.where(c["points"] > 0, "bonus.capped", "bonus.cap_full"),
                                              "bonus.counted"))
    c["reason"] = reason
    c["cap"] = float(b.cap)
    return c.sort_values(["branch_id", "claim"])[BONUS_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------- 5. vetoes and warnings
def condition_values(c: VetoCondition, r: Rubric, measured: dict[str, Measured], idx: pd.Index) -> tuple[pd.Series, pd.Series, Measured]:
    """(holds, evidence, measured) of a condition over ``idx``; a missing value holds as ``if_missing``."""
    if c.indicator is not None:
        ind = next(i for _, i in r.all_indicators() if i.id == c.indicator)
        m = measured[measure_key(ind.measure, ind.params)]
    else:
        m = measured[measure_key(c.measure, c.params)]
    f = m.frame.reindex(idx)
    v = f["value"].astype(float)
    holds = pd.Series(OPS[c.op](v, c.value), index=idx)
    holds = holds.where(v.notna(), c.if_missing).astype(bool)
    return holds, f["evidence"].fillna("").astype(str), m


def _fired(r: Rubric, items, branches: pd.DataFrame, measured: dict[str, Measured]):
    """For each veto or warning whose condition holds somewhere: (order, item, rows of the fired branches
    with evidence, value, unit and rate)."""
    idx = pd.Index(branches["branch_id"], name="branch_id")
    category = branches.set_index("branch_id")["category"].reindex(idx)
    for order, v in enumerate(items):
        holds, evidence, m = condition_values(v.when, r, measured, idx)
        if v.categories is not None:
            holds &= category.isin(v.categories)
        if not holds.any():
            continue
        fired = holds[holds].index
        value = m.frame["value"].reindex(fired).astype(float)
        yield order, v, pd.DataFrame({"branch_id": fired, "evidence": evidence.reindex(fired).to_numpy(),
                                      "value": value.to_numpy(), "unit": m.unit, "rate": m.rate})


VETO_COLUMNS = ["branch_id", "veto", "name", "effect", "cap_level", "award_level", "points", "flag", "evidence", "value",
                "unit", "rate", "reason", "order"]


def veto_stage(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> pd.DataFrame:
    """Fired vetoes, one row per (branch, veto), reason ``veto.<effect>``."""
    frames = [
        rows.assign(veto=v.id, name=v.name, effect=v.effect, cap_level=v.cap_level, award_level=v.award_level,
                    points=v.points if v.points is not None else 0.0, flag=v.flag or "", reason="veto." + v.effect,
                    order=order)[VETO_COLUMNS]
        for order, v, rows in _fired(r, r.vetoes, branches, measured)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VETO_COLUMNS)


def warning_stage(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> pd.DataFrame:
    """Fired warnings (预警): branch_id, warning, name, evidence, value, unit, rate, order."""
    cols = [c for c in WARNING_COLUMNS if c != "explanation"] + ["unit", "rate"]
    frames = [rows.assign(warning=w.id, name=w.name, order=order)[cols]
              for order, w, rows in _fired(r, r.warnings, branches, measured)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


# ---------------------------------------------------------------- 6. levels
def level_stage(r: Rubric, b: pd.DataFrame, stars_earned: pd.Series | None, measured: dict[str, Measured]) -> tuple[pd.Series, pd.Series]:
    """The first level whose minimum (total, or stars earned in the per_dimension model) and extra
    conditions hold: (level index, len(levels) = below every level; the highest level reached by score but
    missed on its extra conditions, -1 when none or when a higher level was given anyway)."""
    g = r.grading
    idx = b.index
    levels = g.levels
    n_lv = len(levels)
    reached_by = stars_earned if g.model == "per_dimension" else b["total"]
    level_idx = pd.Series(n_lv, index=idx)
    missed_at = pd.Series(n_lv, index=idx)
    for li in range(n_lv - 1, -1, -1):
        lv = levels[li]
        ok = reached_by >= lv.min - EPS
        req_ok = pd.Series(True, index=idx)
        for c in lv.requires:
            holds, _, _ = condition_values(c, r, measured, idx)
            req_ok &= holds.to_numpy()
        if lv.min_total is not None:
            req_ok &= b["total"] >= lv.min_total - EPS
        level_idx = level_idx.where(~(ok & req_ok), li)
        missed_at = missed_at.where(~(ok & ~req_ok), li)
    return level_idx, missed_at.where(missed_at < level_idx, -1)


def veto_effect_stage(r: Rubric, level_idx: pd.Series, vet: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Veto effects on the level: award (直接定级) lifts, cap lowers, no_rating removes the rating;
    restrictions win over awards. Returns (level index, rated, awarded, flags "；"-joined in veto order)."""
    idx = level_idx.index
    rated = pd.Series(True, index=idx)
    awarded = pd.Series(False, index=idx)
    flags = pd.Series("", index=idx, dtype=object)
    if not len(vet):
        return level_idx, rated, awarded, flags
    aw = vet[vet["effect"] == "award"].assign(ai=lambda d: d["award_level"].map(r.level_index))
    aw_idx = aw.groupby("branch_id")["ai"].min().reindex(idx)
    awarded = aw_idx.notna() & (aw_idx < level_idx)
    level_idx = pd.Series(np.where(awarded, aw_idx.fillna(0), level_idx).astype(int), index=idx)
    caps = vet[vet["effect"] == "cap"].assign(ci=lambda d: d["cap_level"].map(r.level_index))
    cap_idx = caps.groupby("branch_id")["ci"].max().reindex(idx)
    capped = cap_idx.notna() & (cap_idx > level_idx)
    level_idx = pd.Series(np.where(capped, cap_idx.fillna(0), level_idx).astype(int), index=idx)
    awarded &= ~capped
    no_rating = vet.loc[vet["effect"] == "no_rating", "branch_id"].unique()
    rated[rated.index.isin(no_rating)] = False
    fl = vet[vet["flag"] != ""].drop_duplicates(["branch_id", "flag"]).sort_values(["branch_id", "order"])
    flags = fl.groupby("branch_id")["flag"].agg("；".join).reindex(idx).fillna("")
    return level_idx, rated, awarded, flags


# ---------------------------------------------------------------- 7. ranking, 8. quotas, 9. bottom share
def share_count(share: float, n: pd.Series, rounding: str) -> pd.Series:
    x = share * n.astype(float)
    eps = 1e-9  # 10% of 30 is 3, not 2.9999999
    if rounding == "floor":
        return np.floor(x + eps).astype(int)
    if rounding == "ceil":
        return np.ceil(x - eps).astype(int)
    return np.floor(x + 0.5).astype(int)


def scope_key(b: pd.DataFrame, scope: str) -> pd.Series:
    if scope == "county":
        return pd.Series("", index=b.index)  # one scope: the whole county
    return b[scope].astype(str)


def _competition_rank(keys: pd.DataFrame) -> np.ndarray:
    """1-based ranks of rows already sorted by ``keys``: equal key rows share the first rank (1, 2, 2, 4)."""
    if not len(keys):
        return np.array([], dtype=int)
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (keys.iloc[1:].to_numpy() != keys.iloc[:-1].to_numpy()).any(axis=1)
    pos = np.arange(1, len(keys) + 1)
    return np.maximum.accumulate(np.where(new, pos, 0))


def ranking_stage(r: Rubric, b: pd.DataFrame, dims: pd.DataFrame) -> pd.DataFrame:
    """Branches sorted by the published total (rounded half up at ``ranking.precision``), then the tie-break
    keys at the same precision (each descending), then branch id. ``rank`` (county) and ``scope_rank``
    (within ``ranking.scope``) are shared by branches equal on every key (并列). ``tie_key`` says, for a
    branch whose published total equals its neighbour's, which key put them in order ("" when none did:
    the branches are tied, ``tied``)."""
    b = b.copy()
    prec = r.ranking.precision
    b["ranked_total"] = round_half_up(b["total"], prec)
    keys, names = ["ranked_total"], ["total"]
    dim_scores = dims.pivot(index="branch_id", columns="dimension", values="score")
    for key in r.ranking.tie_break:
        col = "_tb_" + key
        raw = b[key] if key in ("base_total", "bonus") else dim_scores[key.split(":", 1)[1]].reindex(b["branch_id"]).to_numpy()
        b[col] = round_half_up(pd.Series(np.asarray(raw, dtype=float), index=b.index).fillna(0.0), prec)
        keys.append(col)
        names.append(key)
    b.index.name = None
    b = b.sort_values(keys + ["branch_id"], ascending=[False] * len(keys) + [True], kind="mergesort")
    kv = b[keys].reset_index(drop=True)
    b["rank"] = _competition_rank(kv)
    scope = scope_key(b, r.ranking.scope)
    b["scope_rank"] = 0
    for _, pos in b.groupby(scope, sort=False).indices.items():
        b.iloc[pos, b.columns.get_loc("scope_rank")] = _competition_rank(kv.iloc[pos])
    # which key separated equal published totals: against the branch above, else the one below
    values = kv.to_numpy(dtype=float)
    key_names = np.array(names + [""], dtype=object)

    def against(other: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        differs = values != other
        first = np.where(differs.any(axis=1), differs.argmax(axis=1), len(names))
        same_total = valid & (values[:, 0] == other[:, 0])
        return same_total, key_names[first]

    n = len(values)
    above = np.vstack([np.full((1, values.shape[1]), np.nan), values[:-1]]) if n else values
    below = np.vstack([values[1:], np.full((1, values.shape[1]), np.nan)]) if n else values
    valid_above, valid_below = np.arange(n) > 0, np.arange(n) < n - 1
    eq_a, key_a = against(above, valid_above)
    eq_b, key_b = against(below, valid_below)
    b["tie_key"] = np.where(eq_a, key_a, np.where(eq_b, key_b, "")).astype(object)
    b["tied"] = (eq_a & (key_a == "")) | (eq_b & (key_b == ""))
    return b.drop(columns=[k for k in b.columns if k.startswith("_tb_")])


def quota_stage(r: Rubric, b: pd.DataFrame) -> pd.DataFrame:
    """Quotas, top level first, by rank within scope; overflow drops one level and may meet the next quota.
    A directly awarded level (直接定级) takes the scope's places first, then the others by rank. Branches that
    share a rank are never split by a quota line: with ``ranking.ties_at_quota = "drop_all"`` all of them
    drop (the quota is never exceeded), with "keep_all" all of them keep the level. ``b`` is in rank order
    with level_idx, rated, awarded and rank. Returns columns level_idx (the new level index), quota_tie (the
    level at whose line the branch was tied, "" when not), tie_size (how many branches shared that place)
    and quota_extra (the places beyond the quota a keep_all tie used, 0 when none)."""
    level_idx = b["level_idx"].copy()
    tie_level = pd.Series("", index=b.index, dtype=object)
    tie_size = pd.Series(0, index=b.index)
    extra = pd.Series(0, index=b.index)
    keep_all = r.ranking.ties_at_quota == "keep_all"
    label = {i: lv.label for i, lv in enumerate(r.grading.levels)}
    for q in sorted(r.quotas, key=lambda q: r.level_index(q.level)):
        qi = r.level_index(q.level)
        scope = scope_key(b, q.scope)
        allowed = share_count(q.max_share, scope.map(scope.value_counts()), q.rounding)
        at = b["rated"] & (level_idx == qi)
        first = at & b["awarded"]
        rest = at & ~first
        n_first = first.astype(int).groupby(scope).transform("sum")
        # a group of equals among the rest: same scope and same rank; its places run from start+1 to end
        group = scope.astype(str) + "\x1f" + b["rank"].astype(str)
        before = rest.astype(int).groupby(scope).cumsum() - rest.astype(int) + n_first
        start = before.where(rest).groupby(group).transform("min")
        size = rest.astype(int).groupby(group).transform("sum")
        end = start + size
        pos = first.astype(int).groupby(scope).cumsum()
        over_first = first & (pos > allowed)
        straddle = rest & (start < allowed) & (end > allowed)
        over = over_first | (rest & (start >= allowed)) | (straddle & (not keep_all))
        level_idx[over] = qi + 1
        tie_level[straddle] = label[qi]
        tie_size[straddle] = size[straddle].astype(int)
        if keep_all:
            extra[straddle] = (end - allowed)[straddle].astype(int)
    return pd.DataFrame({"level_idx": level_idx, "quota_tie": tie_level, "tie_size": tie_size, "quota_extra": extra})


def bottom_share_stage(r: Rubric, b: pd.DataFrame, flags: pd.Series) -> pd.Series:
    """The bottom share by rank within scope gets the rectification flag (``b`` in rank order)."""
    flags = flags.reindex(b.index).fillna("")
    if r.rectification is None:
        return flags
    rc = r.rectification
    scope = scope_key(b, rc.scope)
    n_bottom = share_count(rc.bottom_share, scope.map(scope.value_counts()), rc.rounding)
    from_bottom = b.groupby(scope, sort=False).cumcount(ascending=False) + 1
    bottom = from_bottom <= n_bottom
    return flags.where(~bottom, flags.where(flags == "", flags + "；") + rc.flag)


# ---------------------------------------------------------------- the pipeline
BRANCH_COLUMNS = ["branch_id", "name", "category", "parent", "rank", "scope_rank", "base_total", "bonus", "deduction",
                  "total", "ranked_total", "max_total", "stars", "grade", "level", "rated", "flags", "quota_from",
                  "quota_tie", "tie_size", "quota_extra", "requires_missed", "tie_key", "tied", "quota_note", "requires_note",
                  "tie_note", "self_score"]


def evaluate(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured], meta: RunMeta | None = None) -> Result:
    """Score every branch. ``measured`` maps :func:`measure_key` to the measure's output. The result's
    reasons are codes; :func:`scoring.wording.explain` words them."""
    g = r.grading
    b = branches[["branch_id", "name", "category", "parent"]].copy()
    b["self_score"] = branches["self_score"].astype(float) if "self_score" in branches else np.nan
    b.index = pd.Index(b["branch_id"], name="branch_id")
    idx = b.index

    ind, extras = indicator_stage(r, branches, measured)
    dims = dimension_stage(r, ind)
    b["base_total"] = base_total_stage(r, ind, dims, idx)
    b["max_total"] = g.base if g.model == "points" else g.scale

    claims = measured[measure_key(r.bonus.measure, {})].frame if r.bonus is not None and r.bonus.measure else None
    bonus = bonus_stage(r, claims)
    b["bonus"] = bonus.groupby("branch_id")["points"].sum().reindex(idx).fillna(0.0).round(DIGITS) if len(bonus) else 0.0

    vet = veto_stage(r, branches, measured)
    ded = vet[vet["effect"] == "deduct"].groupby("branch_id")["points"].sum() if len(vet) else pd.Series(dtype=float)
    b["deduction"] = ded.reindex(idx).fillna(0.0).astype(float)
    b["total"] = (b["base_total"] + b["bonus"] - b["deduction"]).clip(lower=0).round(DIGITS)

    stars_earned = None
    if g.model == "per_dimension":
        stars_earned = dims.groupby("branch_id")["star"].sum().reindex(idx).fillna(0).astype(float)
        b["stars_earned"] = stars_earned.astype(int)
    level_idx, missed = level_stage(r, b, stars_earned, measured)
    b["level_idx"], b["rated"], b["awarded"], flags = veto_effect_stage(r, level_idx, vet)
    n_lv = len(g.levels)
    label_of = {i: lv.label for i, lv in enumerate(g.levels)}
    b["requires_missed"] = missed.map(label_of).fillna("").astype(str)

    b = ranking_stage(r, b, dims)
    before = b["level_idx"].copy()
    q = quota_stage(r, b)
    b["level_idx"], b["quota_tie"], b["tie_size"], b["quota_extra"] = q["level_idx"], q["quota_tie"], q["tie_size"], q["quota_extra"]
    changed = b["rated"] & (b["level_idx"] != before)
    b["quota_from"] = before.map(label_of).fillna("").astype(str).where(changed, "")
    flags = flags.reindex(b.index).fillna("")
    tie_flag = (b["quota_tie"] != "") & (r.ranking.ties_at_quota == "drop_all")
    flags = flags.where(~tie_flag, flags.where(flags == "", flags + "；") + QUOTA_TIE_FLAG)
    b["flags"] = bottom_share_stage(r, b, flags)

    lv_label = b["level_idx"].map(label_of)
    has_level = b["rated"] & (b["level_idx"] < n_lv)
    b["level"] = np.where(has_level, lv_label.fillna(""), g.unrated_label)
    if g.rates_stars:
        stars = b["level_idx"].map({i: lv.stars for i, lv in enumerate(g.levels)})
        b["stars"] = stars.where(has_level).astype("Int64")
        b["grade"] = None
    else:
        b["stars"] = pd.array([pd.NA] * len(b), dtype="Int64")
        b["grade"] = pd.Series(np.where(has_level, lv_label.astype(object), None), index=b.index, dtype=object)
    b["quota_note"] = ""
    b["requires_note"] = ""
    b["tie_note"] = ""
    cols = list(BRANCH_COLUMNS)
    if g.model == "per_dimension":
        cols.insert(cols.index("stars"), "stars_earned")
    branches_out = b[cols].reset_index(drop=True)

    rank = branches_out.set_index("branch_id")["rank"]
    warn = warning_stage(r, branches, measured)
    return Result(rubric=r, branches=branches_out, dimensions=_by_rank(dims, rank, "order"),
                  indicators=_by_rank(ind, rank, "order"), bonus=_by_rank(bonus, rank, "claim"),
                  vetoes=_by_rank(vet, rank, "order"), warnings=_by_rank(warn, rank, "order"),
                  extras=_by_rank(extras, rank, "part") if len(extras) else extras, meta=meta or RunMeta())
