"""The pure evaluator: measured values + rubric -> points, bonus, vetoes, levels, quotas, ranking.

No I/O, no plugin calls: ``evaluate`` takes the branches table and the measured frames and returns a
:class:`scoring.result.Result`. Every computation is vectorized over all branches; Python loops run only
over rubric items (indicators, vetoes, levels, quotas), never over branches or records.
"""

from __future__ import annotations

import json
import math
import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .measure import fmt_num, fmt_value
from .result import Result
from .rubric import (
    OP_ZH,
    DeductShortfall,
    Indicator,
    Linear,
    Manual,
    PassFail,
    PerEvent,
    PerUnit,
    Ratio,
    Rubric,
    Steps,
    VetoCondition,
)

EFFECT_ZH = {
    "no_rating": "取消评星资格（只考核不评星）",
    "cap": "等级封顶",
    "deduct": "扣分",
    "flag": "标记",
    "award": "直接定级",
}
OPS = {
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
}


@dataclass(frozen=True)
class Measured:
    """One measure's output for a given parameter set, with what sentences need to format it."""

    frame: pd.DataFrame  # per-branch: value, applicable, evidence (index branch_id); claims: one row per claim
    unit: str = ""
    rate: bool = False


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
    if r.bonus is not None:
        add(r.bonus.measure, {})
    return req


# ---------------------------------------------------------------- sentences
def render(template: str, fields: dict[str, pd.Series | str], index: pd.Index) -> pd.Series:
    """Format a ``{name}`` template with Series fields, vectorized (string concatenation of columns)."""
    out = pd.Series("", index=index, dtype=object)
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out = out + literal
        if name is not None:
            if name not in fields:
                raise KeyError(name)
            f = fields[name]
            out = out + (f.astype(str) if isinstance(f, pd.Series) else str(f))
    return out


def _n(x: float) -> str:
    """A rubric constant (a threshold, points per unit) in full: 0.125 stays 0.125."""
    return fmt_num(pd.Series([x]), digits=4).iloc[0]


def _v(x: float, m: Measured) -> str:
    return (fmt_value(pd.Series([x]), m.rate).iloc[0]) + ("" if m.rate else m.unit)


def _cond_phrase(op: str, value: float, m: Measured) -> str:
    return OP_ZH[op] + _v(value, m)


def _pick(mask: pd.Series, a, b) -> pd.Series:
    return pd.Series(np.where(mask, a, b), index=mask.index, dtype=object)


# ---------------------------------------------------------------- indicators
def score_indicator(ind: Indicator, m: Measured, idx: pd.Index) -> tuple[pd.Series, pd.Series, float]:
    """Points and the rule's part of the sentence for applicable branches with a value. Returns
    (points, text, target)."""
    v = m.frame["value"].reindex(idx).astype(float)
    mx = ind.max
    rule = ind.rule
    fv = fmt_value(v, m.rate) + ("" if m.rate else m.unit)
    if isinstance(rule, DeductShortfall):
        short = (rule.target - v).clip(lower=0)
        lost = (short * rule.per).clip(upper=mx)
        pts = mx - lost
        unit = m.unit if not m.rate else ""
        text = _pick(
            short > 0,
            f"，要求{_v(rule.target, m)}，少" + fmt_value(short, m.rate) + unit + f"，每{unit or '个单位'}扣{_n(rule.per)}分，扣"
            + fmt_num(lost) + "分",
            f"，达到要求{_v(rule.target, m)}，得满分{_n(mx)}分",
        )
        return pts, text, rule.target
    if isinstance(rule, Steps):
        pts = pd.Series(float(rule.otherwise), index=idx)
        text = pd.Series(
            f"，未达到最低档（{_cond_phrase(*rule.steps[-1].op_value, m)}），得{_n(rule.otherwise)}分", index=idx, dtype=object
        )
        done = pd.Series(False, index=idx)
        for st in rule.steps:
            op, thr = st.op_value
            hit = ~done & pd.Series(OPS[op](v, thr), index=idx)
            pts = pts.where(~hit, st.points)
            tail = "" if st.points >= mx else f"（满分{_n(mx)}分）"
            text = text.where(~hit, f"，{_cond_phrase(op, thr, m)}，得{_n(st.points)}分{tail}")
            done |= hit
        return pts, text, rule.steps[0].op_value[1]
    if isinstance(rule, Linear):
        frac = ((v - rule.zero_at) / (rule.full_at - rule.zero_at)).clip(0, 1)
        pts = frac * mx
        text = (f"，按{_v(rule.zero_at, m)}得0分、{_v(rule.full_at, m)}得满分{_n(mx)}分线性计分，得" + fmt_num(pts) + "分")
        return pts, pd.Series(text, index=idx, dtype=object), rule.full_at
    if isinstance(rule, Ratio):
        pts = (v / rule.target).clip(0, 1) * mx
        text = f"，以{_v(rule.target, m)}为满分标准，得" + fmt_num(pts) + "分"
        return pts, pd.Series(text, index=idx, dtype=object), rule.target
    if isinstance(rule, PassFail):
        ok = pd.Series(OPS[rule.op](v, rule.value), index=idx)
        pts = ok.astype(float) * mx
        text = _pick(ok, f"，符合要求，得满分{_n(mx)}分", f"，不符合要求（应{_cond_phrase(rule.op, rule.value, m)}），不得分")
        return pts, text, rule.value
    if isinstance(rule, PerEvent):
        cap = rule.cap if rule.cap is not None else mx
        lost = (v.clip(lower=0) * rule.per).clip(upper=cap)
        pts = mx - lost
        capped = v * rule.per > cap
        unit = m.unit or "次"
        text = _pick(
            v > 0,
            f"，每{unit}扣{_n(rule.per)}分，扣" + fmt_num(lost) + "分" + _pick(capped, f"（扣分上限{_n(cap)}分）", ""),
            f"，得满分{_n(mx)}分",
        )
        return pts, text, math.nan
    if isinstance(rule, PerUnit):
        raw = v * rule.per
        pts = raw.clip(-mx, mx)
        capped = raw.abs() > mx
        word = "加" if rule.per > 0 else "扣"
        if m.rate:  # a rate is paid in proportion: 93.8% x 10 points
            how = "，按" + fmt_value(v, True) + f"×{_n(abs(rule.per))}分计，{word}"
        else:
            unit = m.unit or "次"
            how = f"，每{unit}{word}{_n(abs(rule.per))}分，{word}"
        text = how + fmt_num(pts.abs()) + "分" + _pick(capped, f"（{word}分上限{_n(mx)}分）", "")
        return pts, text, math.nan
    if isinstance(rule, Manual):
        pts = v.clip(0, mx)
        text = "，计" + fmt_num(pts) + "分" + _pick(v > mx, f"（超过满分{_n(mx)}分，按满分计）", "")
        return pts, text, math.nan
    raise TypeError(f"unknown rule {rule!r}")  # pragma: no cover - the rubric model admits no other rule


def indicator_table(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> pd.DataFrame:
    """One row per branch and indicator, in rubric order. Branches of a category that a variant covers are
    scored with the variant's dimensions."""
    category = branches["category"].astype(str)
    groups: list[tuple[list, pd.Index]] = []
    covered = pd.Series(False, index=branches.index)
    for v in r.variants:
        mask = category.isin(v.categories)
        covered |= mask
        groups.append((v.dimensions, pd.Index(branches.loc[mask, "branch_id"], name="branch_id")))
    groups.insert(0, (r.dimensions, pd.Index(branches.loc[~covered, "branch_id"], name="branch_id")))
    cat_of = branches.set_index("branch_id")["category"]
    frames = [
        _indicator_rows(r, dims, idx, cat_of.reindex(idx), measured) for dims, idx in groups if len(idx)
    ]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=INDICATOR_COLUMNS)
    out["lost"] = (out["max"] - out["points"]).round(4)
    return out


INDICATOR_COLUMNS = ["branch_id", "dimension", "dimension_name", "indicator", "name", "value", "target", "points",
                     "max", "nominal_max", "applicable", "explanation", "order"]


def _indicator_rows(r: Rubric, dims, idx: pd.Index, category: pd.Series, measured: dict[str, Measured]) -> pd.DataFrame:
    full_marks = r.grading.not_applicable == "full_marks"
    frames = []
    order = 0
    for dim in dims:
        for ind in dim.indicators:
            frames.append(_one_indicator(ind, dim, order, idx, category, measured, full_marks))
            order += 1
    return pd.concat(frames, ignore_index=True)


def indicator_top(ind: Indicator) -> float:
    """The most points an indicator can give: its max, or 0 for a deduction-only item (negative per_unit,
    积分制), which can take points away but never add any."""
    return 0.0 if isinstance(ind.rule, PerUnit) and ind.rule.per < 0 else ind.max


def extra_cuts(ind: Indicator, rule_points: pd.Series, measured: dict[str, Measured], idx: pd.Index):
    """The indicator's extra deductions in rubric order, each taking from what the rule and the earlier ones
    left (never below 0): yields (deduction, measured value, points cut), all Series over ``idx``."""
    left = rule_points.fillna(0.0)
    for ex in ind.extra_deductions:
        em = measured[measure_key(ex.measure, ex.params)]
        ev = em.frame["value"].reindex(idx).astype(float).fillna(0).clip(lower=0)
        cut = np.minimum(left.clip(lower=0), ev * ex.per)
        left = left - cut
        yield ex, ev, cut


def _one_indicator(ind: Indicator, dim, order: int, idx: pd.Index, category: pd.Series,
                   measured: dict[str, Measured], full_marks: bool) -> pd.DataFrame:
    m = measured[measure_key(ind.measure, ind.params)]
    f = m.frame.reindex(idx)
    value = f["value"].astype(float)
    evidence = f["evidence"].fillna("").astype(str)
    applicable = f["applicable"].fillna(False).astype(bool)
    if ind.categories is not None:
        in_cat = category.isin(ind.categories)
        applicable &= in_cat
        evidence = evidence.where(in_cat, f"{ind.name}仅考核{'、'.join(ind.categories)}支部")
    has_value = value.notna()
    pts, text, target = score_indicator(ind, m, idx)
    pts = pts.fillna(0.0)
    lost_extra_text = pd.Series("", index=idx, dtype=object)
    for ex, ev, cut in extra_cuts(ind, pts, measured, idx):
        pts = pts - cut
        lost_extra_text = lost_extra_text + _pick(
            ev > 0,
            "；" + ex.label + fmt_num(ev) + ex.unit + f"，每{ex.unit}扣{_n(ex.per)}分，扣" + fmt_num(cut) + "分",
            "",
        )
    if ind.explain:
        sentence = render(ind.explain, {
            "evidence": evidence, "value": fmt_value(value, m.rate), "points": fmt_num(pts), "max": _n(ind.max),
            "lost": fmt_num(ind.max - pts), "target": _n(target) if not math.isnan(target) else "", "name": ind.name,
        }, idx)
    else:
        sentence = evidence + text + lost_extra_text
    sentence = sentence.where(has_value, evidence + "，此项不得分")
    pts = pts.where(has_value, 0.0)
    na_text = "不适用：" + evidence + ("，按满分计" if full_marks else "，不计入满分")
    top = indicator_top(ind)
    return pd.DataFrame({
        "branch_id": idx,
        "dimension": dim.id,
        "dimension_name": dim.name,
        "indicator": ind.id,
        "name": ind.name,
        "value": value.to_numpy(),
        "target": target,
        "points": np.where(applicable, pts, top if full_marks else 0.0).round(4),
        "max": np.where(applicable | full_marks, top, 0.0),
        "nominal_max": ind.max,
        "applicable": applicable.to_numpy(),
        "explanation": np.where(applicable, sentence, na_text),
        "order": order,
    })


# ---------------------------------------------------------------- bonus
def bonus_table(r: Rubric, claims: pd.DataFrame) -> pd.DataFrame:
    cols = ["branch_id", "claim", "title", "kind", "level", "points", "counted", "explanation"]
    b = r.bonus
    if b is None or claims is None or claims.empty:
        return pd.DataFrame(columns=cols)
    c = claims.copy()
    c["base"] = c["level"].map(b.points).fillna(0.0).astype(float)
    reason = pd.Series("", index=c.index, dtype=object)
    eligible = pd.Series(True, index=c.index)

    def exclude(mask, why):
        nonlocal reason, eligible
        new = mask & eligible
        reason = reason.where(~new, why)
        eligible &= ~mask

    if b.kinds is not None:
        exclude(~c["kind"].isin(b.kinds), "该类型不在加分范围内")
    if b.require_approved:
        exclude(~c["approved"].astype(bool), "未经审核通过，不计分")
    if b.require_document:
        exclude(~c["has_document"].astype(bool), "无表彰文件文号，不计分")
    exclude(c["base"] <= 0, c["level"].astype(str) + "不在加分级别内，不计分")
    c["eligible"] = eligible
    if b.highest_only:
        # same work = same branch and title; keep the highest-points eligible claim (ties: first claim id)
        ranked = c[c["eligible"]].sort_values(["branch_id", "title", "base", "claim"], ascending=[True, True, False, True])
        best = ranked.drop_duplicates(["branch_id", "title"])
        dup = c["eligible"] & ~c.index.isin(best.index)
        best_level = c["branch_id"].astype(str) + "\x1f" + c["title"].astype(str)
        level_of_best = best.set_index(best["branch_id"].astype(str) + "\x1f" + best["title"].astype(str))["level"]
        exclude(dup, "同一项工作只计最高级别（已按" + best_level.map(level_of_best).astype(object).fillna("").astype(str) + "计分）")
    c["eligible"] = eligible
    # the cap: highest-points claims first, each adds what is left under the cap
    order = c.sort_values(["branch_id", "eligible", "base", "claim"], ascending=[True, False, False, True])
    earned = order["base"].where(order["eligible"], 0.0)
    before = earned.groupby(order["branch_id"]).cumsum() - earned
    added = np.minimum(earned, (b.cap - before).clip(lower=0))
    c["points"] = added.reindex(c.index).round(4)
    c["counted"] = c["eligible"] & (c["points"] > 0)
    partial = c["eligible"] & (c["points"] < c["base"])
    level_text = c["level"].astype(str) + c["kind"].astype(str) + "「" + c["title"].astype(str) + "」"
    counted_text = level_text + "，计" + fmt_num(c["points"]) + "分"
    capped_text = level_text + f"，加分已达上限{_n(b.cap)}分，" + _pick(c["points"] > 0, "只计" + fmt_num(c["points"]) + "分", "不再计分")
    c["explanation"] = _pick(c["eligible"], _pick(partial, capped_text, counted_text), level_text + "：" + reason)
    c["counted"] = c["counted"].astype(bool)
    return c.sort_values(["branch_id", "claim"])[cols].reset_index(drop=True)


# ---------------------------------------------------------------- conditions and vetoes
def condition_values(c: VetoCondition, r: Rubric, measured: dict[str, Measured], idx: pd.Index) -> tuple[pd.Series, pd.Series, Measured]:
    if c.indicator is not None:
        ind = next(i for _, i in r.indicators() if i.id == c.indicator)
        m = measured[measure_key(ind.measure, ind.params)]
    else:
        m = measured[measure_key(c.measure, c.params)]
    f = m.frame.reindex(idx)
    v = f["value"].astype(float)
    holds = pd.Series(OPS[c.op](v, c.value), index=idx)
    holds = holds.where(v.notna(), c.if_missing).astype(bool)
    return holds, f["evidence"].fillna("").astype(str), m


def _fired(r: Rubric, items, branches: pd.DataFrame, measured: dict[str, Measured], effect_text=None):
    """For each veto or warning whose condition holds somewhere: (order, item, fired branch ids, sentence)."""
    idx = pd.Index(branches["branch_id"], name="branch_id")
    category = branches.set_index("branch_id")["category"].reindex(idx)
    for order, v in enumerate(items):
        holds, evidence, m = condition_values(v.when, r, measured, idx)
        if v.categories is not None:
            holds &= category.isin(v.categories)
        if not holds.any():
            continue
        eff = effect_text(v) if effect_text else ""
        if v.explain:
            value = m.frame["value"].reindex(idx).astype(float)
            text = render(v.explain, {"evidence": evidence, "value": fmt_value(value, m.rate), "effect": eff, "name": v.name}, idx)
        else:
            text = v.name + "：" + evidence + ("，" + eff if eff else "")
        fired = holds[holds].index
        yield order, v, fired, text.reindex(fired).to_numpy()


def _effect_text(r: Rubric, v) -> str:
    if v.effect == "no_rating":
        eff = "取消评星资格（只考核不评星）" if r.grading.rates_stars else "取消定级资格（只考核不定级）"
    elif v.effect == "cap":
        eff = f"最高只能评为{v.cap_level}"
    elif v.effect == "deduct":
        eff = f"扣{_n(v.points)}分"
    elif v.effect == "award":
        eff = f"直接评定为{v.award_level}"
    else:
        eff = f"列为{v.flag}"
    if v.flag and v.effect != "flag":
        eff += f"，并列为{v.flag}"
    return eff


def veto_table(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> pd.DataFrame:
    frames = [
        pd.DataFrame({
            "branch_id": fired, "veto": v.id, "name": v.name, "effect": v.effect, "cap_level": v.cap_level,
            "award_level": v.award_level, "points": v.points if v.points is not None else 0.0, "flag": v.flag or "",
            "explanation": text, "order": order,
        })
        for order, v, fired, text in _fired(r, r.vetoes, branches, measured, lambda v: _effect_text(r, v))
    ]
    cols = ["branch_id", "veto", "name", "effect", "cap_level", "award_level", "points", "flag", "explanation", "order"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def warning_table(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured]) -> pd.DataFrame:
    """Fired warnings (预警): branch_id, warning, name, explanation, order."""
    frames = [
        pd.DataFrame({"branch_id": fired, "warning": w.id, "name": w.name, "explanation": text, "order": order})
        for order, w, fired, text in _fired(r, r.warnings, branches, measured)
    ]
    cols = ["branch_id", "warning", "name", "explanation", "order"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


# ---------------------------------------------------------------- grading, quotas, ranking
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
        return pd.Series("全县", index=b.index)
    return b[scope].astype(str)


def _base_totals(r: Rubric, ind: pd.DataFrame, dims: pd.DataFrame, idx: pd.Index) -> pd.Series:
    """The score before bonus and fixed deductions, by the rubric's grading model and sections."""
    g = r.grading
    if g.model == "points":  # 积分制: base points plus every indicator's signed points, not rescaled
        return (g.base + ind.groupby("branch_id")["points"].sum().reindex(idx).fillna(0.0)).round(4)
    if not g.sections:
        sums = ind.groupby("branch_id")[["points", "max"]].sum().reindex(idx)
        return (sums["points"] / sums["max"].where(sums["max"] > 0) * g.scale).fillna(0.0).round(4)
    pivot = dims.pivot(index="branch_id", columns="dimension", values=["score", "max"]).reindex(idx).fillna(0.0)
    lost = (pivot["max"] - pivot["score"])
    total = pd.Series(0.0, index=idx)
    for sec in g.sections:
        have = [d for d in sec.dimensions if d in pivot["score"].columns]
        minus = [d for d in sec.deduct_dimensions if d in lost.columns]
        pts = pivot["score"][have].sum(axis=1) - lost[minus].sum(axis=1)
        mx = pivot["max"][have].sum(axis=1)
        total += (pts / mx.where(mx > 0) * g.scale).fillna(0.0).clip(lower=0) * sec.weight
    return total.round(4)


def _dimension_stars(r: Rubric, dims: pd.DataFrame) -> pd.Series:
    """per_dimension model: whether each (branch, dimension) row earned its star."""
    share = {d.id: d.star_share for d in r.dimensions}
    for v in r.variants:
        share.update({d.id: d.star_share for d in v.dimensions if d.star_share is not None})
    thr = dims["dimension"].map(share).astype(float).fillna(r.grading.star_share)
    return (dims["max"] <= 0) | (dims["score"] >= thr * dims["max"] - 1e-9)


def evaluate(r: Rubric, branches: pd.DataFrame, measured: dict[str, Measured], meta: dict | None = None) -> Result:
    """Score every branch. ``measured`` maps :func:`measure_key` to the measure's output."""
    g = r.grading
    b = branches[["branch_id", "name", "category", "parent"]].copy()
    b["self_score"] = branches["self_score"].astype(float) if "self_score" in branches else np.nan
    b.index = pd.Index(b["branch_id"], name=None)
    idx = pd.Index(b["branch_id"], name="branch_id")
    ind = indicator_table(r, branches, measured)

    dims = (
        ind.groupby(["branch_id", "dimension"], sort=False)
        .agg(name=("dimension_name", "first"), score=("points", "sum"), max=("max", "sum"), order=("order", "min"))
        .reset_index()
    )
    dims[["score", "max"]] = dims[["score", "max"]].round(4)
    if g.model == "per_dimension":
        dims["star"] = _dimension_stars(r, dims)
    b["base_total"] = _base_totals(r, ind, dims, idx)
    b["max_total"] = g.base if g.model == "points" else g.scale

    claims = measured[measure_key(r.bonus.measure, {})].frame if r.bonus is not None else None
    bonus = bonus_table(r, claims)
    b["bonus"] = bonus.groupby("branch_id")["points"].sum().reindex(idx).fillna(0.0).round(4) if len(bonus) else 0.0

    vet = veto_table(r, branches, measured)
    ded = vet[vet["effect"] == "deduct"].groupby("branch_id")["points"].sum() if len(vet) else pd.Series(dtype=float)
    b["deduction"] = ded.reindex(idx).fillna(0.0).astype(float)
    b["total"] = (b["base_total"] + b["bonus"] - b["deduction"]).clip(lower=0).round(4)

    # level: the first level whose minimum and extra conditions hold
    levels = g.levels
    n_lv = len(levels)
    if g.model == "per_dimension":
        measure_of_level = dims.groupby("branch_id")["star"].sum().reindex(idx).fillna(0).astype(float)
        b["stars_earned"] = measure_of_level.astype(int)
    else:
        measure_of_level = b["total"]
    level_idx = pd.Series(n_lv, index=idx)  # n_lv = below every level
    notes = pd.Series("", index=idx, dtype=object)
    missed_at = pd.Series(n_lv, index=idx)  # the highest level reached by score but missed on its conditions
    for li in range(n_lv - 1, -1, -1):
        lv = levels[li]
        ok = measure_of_level >= lv.min - 1e-9
        req_ok = pd.Series(True, index=idx)
        for c in lv.requires:
            holds, _, _ = condition_values(c, r, measured, idx)
            req_ok &= holds
        why = lv.requires_text or "附加条件"
        if lv.min_total is not None:
            req_ok &= b["total"] >= lv.min_total - 1e-9
            why = f"总分不低于{_n(lv.min_total)}分" + ("" if not lv.requires else "，且" + why)
        level_idx = level_idx.where(~(ok & req_ok), li)
        missed = ok & ~req_ok
        if missed.any():
            reached = "星数" if g.model == "per_dimension" else "总分"
            notes = notes.where(~missed, f"{reached}达到{lv.label}标准，但不满足「{why}」，未评为{lv.label}")
            missed_at = missed_at.where(~missed, li)
    b["level_idx"] = level_idx
    b["requires_note"] = notes.where(missed_at < level_idx, "")

    # vetoes: award (直接定级) lifts, cap lowers, no_rating removes the rating; restrictions win over awards
    rated = pd.Series(True, index=idx)
    awarded = pd.Series(False, index=idx)
    flags = pd.Series("", index=idx, dtype=object)
    if len(vet):
        aw = vet[vet["effect"] == "award"].assign(ai=lambda d: d["award_level"].map(r.level_index))
        aw_idx = aw.groupby("branch_id")["ai"].min().reindex(idx)
        awarded = aw_idx.notna() & (aw_idx < b["level_idx"])
        b["level_idx"] = np.where(awarded, aw_idx.fillna(0), b["level_idx"]).astype(int)
        caps = vet[vet["effect"] == "cap"].assign(ci=lambda d: d["cap_level"].map(r.level_index))
        cap_idx = caps.groupby("branch_id")["ci"].max().reindex(idx)
        capped = cap_idx.notna() & (cap_idx > b["level_idx"])
        b["level_idx"] = np.where(capped, cap_idx.fillna(0), b["level_idx"]).astype(int)
        awarded &= ~capped
        no_rating = vet.loc[vet["effect"] == "no_rating", "branch_id"].unique()
        rated[rated.index.isin(no_rating)] = False
        fl = vet[vet["flag"] != ""].drop_duplicates(["branch_id", "flag"]).sort_values(["branch_id", "order"])
        flags = fl.groupby("branch_id")["flag"].agg("；".join).reindex(idx).fillna("")
    b["rated"] = rated
    b["awarded"] = awarded

    # ranking: total desc, tie-breaks desc, branch_id asc
    keys, asc = ["total"], [False]
    dim_scores = dims.pivot(index="branch_id", columns="dimension", values="score")
    for key in r.ranking.tie_break:
        col = "_tb_" + key
        b[col] = b[key] if key in ("base_total", "bonus") else dim_scores[key.split(":", 1)[1]].reindex(idx)
        keys.append(col)
        asc.append(False)
    keys.append("branch_id")
    asc.append(True)
    b.index.name = None
    b = b.sort_values(keys, ascending=asc, kind="mergesort")
    b["rank"] = np.arange(1, len(b) + 1)
    b["scope_rank"] = b.groupby(scope_key(b, r.ranking.scope), sort=False).cumcount() + 1
    b = b.drop(columns=[k for k in b.columns if k.startswith("_tb_")])

    # quotas, top level first, by rank within scope; overflow drops one level and may meet the next quota.
    # A directly awarded level (直接定级) takes the scope's places first, then the others by rank.
    original_idx = b["level_idx"].copy()
    for q in sorted(r.quotas, key=lambda q: r.level_index(q.level)):
        qi = r.level_index(q.level)
        scope = scope_key(b, q.scope)
        allowed = share_count(q.max_share, scope.map(scope.value_counts()), q.rounding)
        at = b["rated"] & (b["level_idx"] == qi)
        first = at & b["awarded"]
        pos = pd.Series(0, index=b.index)
        n_first = first.astype(int).groupby(scope).transform("sum")
        pos[first] = first.astype(int).groupby(scope).cumsum()[first]
        rest = at & ~first
        pos[rest] = (rest.astype(int).groupby(scope).cumsum() + n_first)[rest]
        over = at & (pos > allowed)
        b.loc[over, "level_idx"] = qi + 1
    changed = b["rated"] & (b["level_idx"] != original_idx)
    label_of = {i: lv.label for i, lv in enumerate(levels)}
    b["quota_note"] = _pick(
        changed,
        "因名额限制由" + original_idx.map(label_of).astype(str) + "调整为" + b["level_idx"].map(label_of).fillna("").astype(str),
        "",
    )

    # bottom share within scope -> rectification flag
    if r.rectification is not None:
        rc = r.rectification
        scope = scope_key(b, rc.scope)
        n_bottom = share_count(rc.bottom_share, scope.map(scope.value_counts()), rc.rounding)
        from_bottom = b.groupby(scope, sort=False).cumcount(ascending=False) + 1
        bottom = from_bottom <= n_bottom
        flags = flags.reindex(b.index)
        flags = flags.where(~bottom, flags.where(flags == "", flags + "；") + rc.flag)
    b["flags"] = flags.reindex(b.index).fillna("")

    lv_label = b["level_idx"].map(label_of)
    has_level = b["rated"] & (b["level_idx"] < n_lv)
    b["level"] = _pick(has_level, lv_label.fillna(""), g.unrated_label)
    if g.rates_stars:
        stars = b["level_idx"].map({i: lv.stars for i, lv in enumerate(levels)})
        b["stars"] = stars.where(has_level).astype("Int64")
        b["grade"] = None
    else:
        b["stars"] = pd.array([pd.NA] * len(b), dtype="Int64")
        b["grade"] = pd.Series(np.where(has_level, lv_label.astype(object), None), index=b.index, dtype=object)
    cols = ["branch_id", "name", "category", "parent", "rank", "scope_rank", "base_total", "bonus", "deduction", "total",
            "max_total", "stars", "grade", "level", "rated", "flags", "quota_note", "requires_note", "self_score"]
    if g.model == "per_dimension":
        cols.insert(cols.index("stars"), "stars_earned")
    branches_out = b[cols].reset_index(drop=True)

    rank = branches_out.set_index("branch_id")["rank"]
    ind = ind.assign(_r=ind["branch_id"].map(rank)).sort_values(["_r", "order"]).drop(columns="_r").reset_index(drop=True)
    dims = dims.assign(_r=dims["branch_id"].map(rank)).sort_values(["_r", "order"]).drop(columns="_r").reset_index(drop=True)
    if len(vet):
        vet = vet.assign(_r=vet["branch_id"].map(rank)).sort_values(["_r", "order"]).drop(columns="_r").reset_index(drop=True)
    if len(bonus):
        bonus = bonus.assign(_r=bonus["branch_id"].map(rank)).sort_values(["_r", "claim"]).drop(columns="_r").reset_index(drop=True)
    warn = warning_table(r, branches, measured)
    if len(warn):
        warn = warn.assign(_r=warn["branch_id"].map(rank)).sort_values(["_r", "order"]).drop(columns="_r").reset_index(drop=True)
    return Result(rubric=r, branches=branches_out, dimensions=dims, indicators=ind, bonus=bonus, vetoes=vet,
                  warnings=warn, meta=dict(meta or {}))
