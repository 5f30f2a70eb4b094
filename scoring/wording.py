"""Chinese words for numbers, values and effects: the one place numbers become text.

Every sentence a user reads (workbook, JSON ``explanation``, self-check, template, web page, 公示) formats
its numbers here, so that the same number reads the same everywhere:

* :func:`nums` / :func:`num`: short document text, rounded **half up** (四舍五入) at ``digits`` decimals,
  trailing zeros dropped: 9 -> "9", 1.50 -> "1.5", 0.125 -> "0.13", 56.25 -> "56.3" at one decimal.
  Python's and numpy's ``round`` round half to even (56.25 -> 56.2), which a secretary checking by hand
  would call wrong.
* :func:`pcts` / :func:`pct`: a rate in [0, 1] as percent text at one decimal: 0.5625 -> "56.3%".
* :func:`values` / :func:`value`: a measured value with its unit, as sentences show it ("87.5%", "9次").
* :data:`EFFECT_WORDS`: the words of each veto effect, per grading model (stars or levels).
* :func:`count_step` / :func:`count_phrase`: a step towards a threshold as a count a secretary acts on
  ("再联系2名流动党员", never "联系率提高到80%" when 80% of 3 needs all 3), the threshold arithmetic done
  exactly (decimal fractions, no float rounding: 90% of 10 is 9, not 10).

The sentences of the rules are in the rule modules (:mod:`scoring.rules`); the sentences of bonus claims,
vetoes, warnings, quotas and extra conditions, and the rendering of a whole result, are here
(:func:`explain`).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

DASH = "—"
NO_DATA = "无数据"
RATE_DIGITS = 1  # percent shown with one decimal: 87.5%
NUMBER_DIGITS = 2  # other measured values and points: 1.99
CONSTANT_DIGITS = 4  # rubric constants (thresholds, points per unit) in full: 0.125 stays 0.125
_EPS = 1e-9


def _half_up(x: np.ndarray, digits: int) -> np.ndarray:
    """Round half away from zero at ``digits`` decimals. A value that prints as ...5 (1.005, 56.25) goes
    up even when its binary double is a hair below: the relative tolerance covers the representation
    error, not real differences (which are far larger for values computed from counts)."""
    scale = 10.0 ** digits
    scaled = np.abs(x) * scale
    out = np.floor(scaled + 0.5 + _EPS * np.maximum(1.0, scaled)) / scale
    return np.copysign(out, x) + 0.0  # + 0.0 turns -0.0 into 0.0


def round_half_up(x, digits: int = NUMBER_DIGITS):
    """``x`` (scalar, array or Series) rounded half up at ``digits`` decimals, same shape."""
    if isinstance(x, pd.Series):
        return pd.Series(_half_up(x.to_numpy(dtype=float), digits), index=x.index)
    arr = np.asarray(x, dtype=float)
    out = _half_up(arr, digits)
    return float(out) if arr.ndim == 0 else out


def _texts(x: np.ndarray, digits: int) -> np.ndarray:
    r = _half_up(x, digits)
    out = np.full(len(r), DASH, dtype=object)
    ok = np.isfinite(r)
    if ok.any():
        # rounded numbers repeat a lot (counts, points): format each distinct one once
        distinct, where = np.unique(r[ok], return_inverse=True)
        formatted = np.char.mod(f"%.{digits}f", distinct)
        if digits > 0:
            formatted = np.char.rstrip(np.char.rstrip(formatted, "0"), ".")
        out[ok] = formatted.astype(object)[where]
    return out


def _floats(s) -> np.ndarray:
    if isinstance(s, pd.Series):
        return s.to_numpy(dtype=float, na_value=np.nan)
    return np.atleast_1d(np.asarray(s, dtype=float))


def _like(out: np.ndarray, s):
    """``out`` as a Series with the index of ``s`` when ``s`` is a Series (plugins format Series), else
    the object array itself (the wording module works on arrays)."""
    return pd.Series(out, index=s.index, dtype=object) if isinstance(s, pd.Series) else out


def nums(s, digits: int = NUMBER_DIGITS):
    """Numbers as short Chinese-document text, half up: 9 -> "9", 1.50 -> "1.5", NaN -> "—".
    A Series gives a Series (same index); an array or a scalar gives an object array."""
    return _like(_texts(_floats(s), digits), s)


def num(x, digits: int = NUMBER_DIGITS) -> str:
    """One number as :func:`nums` writes it."""
    if x is None:
        return DASH
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return str(_texts(np.array([v]), digits)[0])


def fixed(x, digits: int = NUMBER_DIGITS) -> str:
    """One number half up with exactly ``digits`` decimals, trailing zeros kept (a published total as the
    总排名 prints it: 93.10); NaN or None -> "—"."""
    if x is None or pd.isna(x):
        return DASH
    return f"{float(_half_up(np.array([float(x)]), digits)[0]):.{digits}f}"


def const(x) -> str:
    """A rubric constant (a threshold, points per unit) in full: 0.125 stays "0.125"."""
    return num(x, CONSTANT_DIGITS)


def _suffixed(t: np.ndarray, suffix: str) -> np.ndarray:
    if not suffix:
        return t
    return np.where(t == DASH, t, t + suffix)


def pcts(s, digits: int = RATE_DIGITS):
    """Rates in [0, 1] as percent text: 0.875 -> "87.5%", NaN -> "—"."""
    return _like(_suffixed(_texts(_floats(s) * 100, digits), "%"), s)


def pct(x, digits: int = RATE_DIGITS) -> str:
    return str(pcts(np.array([np.nan if x is None else float(x)]), digits)[0])


def values(s, unit: str = "", rate: bool = False, digits: int | None = None):
    """Measured values with their unit as sentences show them: rates as percent ("87.5%"), others with the
    unit ("9次", "3.09万元"); NaN -> "—". ``digits`` overrides the default precision (for a rate: the
    decimals of the percent)."""
    x = _floats(s)
    if rate:
        out = _suffixed(_texts(x * 100, RATE_DIGITS if digits is None else digits), "%")
    else:
        out = _suffixed(_texts(x, NUMBER_DIGITS if digits is None else digits), unit)
    return _like(out, s)


def value(x, unit: str = "", rate: bool = False, digits: int | None = None) -> str:
    """One measured value as :func:`values` writes it; missing -> "无数据"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NO_DATA
    return str(values(np.array([float(x)]), unit, rate, digits)[0])


def constant_value(x, unit: str = "", rate: bool = False) -> str:
    """A rubric threshold in the measure's unit: 0.95 -> "95%" for rates, 12 -> "12次"."""
    if rate:
        return num(float(x) * 100, CONSTANT_DIGITS - 2) + "%"
    return const(x) + unit


def enough_digits(v: np.ndarray, shown_points, points_of, rate: bool, most: int = 4, start: int | None = None) -> np.ndarray:
    """The fewest decimals (of the percent for rates, of the number otherwise) at which ``v`` can be shown
    so that ``points_of(shown value)`` gives the same shown points as ``shown_points``: the number a
    sentence prints is then enough to redo its arithmetic by hand. Starts at the default precision."""
    v = np.asarray(v, dtype=float)
    target = _half_up(np.asarray(shown_points, dtype=float), NUMBER_DIGITS)
    base = (RATE_DIGITS if rate else NUMBER_DIGITS) if start is None else start
    most = max(most, base)
    need = np.full(len(v), base, dtype=int)
    open_ = np.isfinite(v)
    for d in range(base, most + 1):
        shown = _half_up(v * 100, d) / 100 if rate else _half_up(v, d)
        got = _half_up(np.asarray(points_of(shown), dtype=float), NUMBER_DIGITS)
        ok = open_ & (np.abs(got - target) < 1e-9)
        need[ok] = d
        open_ &= ~ok
        if not open_.any():
            break
    need[open_] = most
    return need


def values_at(v, digits: np.ndarray, unit: str = "", rate: bool = False) -> np.ndarray:
    """Values each shown with its own number of decimals (see :func:`enough_digits`)."""
    x = _floats(v)
    out = np.full(len(x), DASH, dtype=object)
    for d in np.unique(digits):
        mask = np.asarray(digits) == d
        out[mask] = values(x[mask], unit, rate, int(d))
    return out


# ---------------------------------------------------------------- comparisons and effects
OP_WORDS = {"<": "低于", "<=": "不超过", ">": "超过", ">=": "达到", "==": "等于", "!=": "不等于"}
NEGATED_OP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def requirement(op: str, threshold: float, unit: str = "", rate: bool = False) -> str:
    """"达到95%", "不超过1年"; "<= 0" reads "为0年" (never "不超过0年")."""
    shown = constant_value(threshold, unit, rate)
    if op == "<=" and float(threshold) == 0:
        return "为" + shown
    return OP_WORDS[op] + shown


# The words of each veto effect, by whether the rubric awards stars (True) or levels (False).
EFFECT_NAMES = {
    True: {"no_rating": "取消评星资格（只考核不评星）", "cap": "等级封顶", "deduct": "扣分", "flag": "标记",
           "award": "直接定级"},
    False: {"no_rating": "取消定级资格（只考核不定级）", "cap": "等级封顶", "deduct": "扣分", "flag": "标记",
            "award": "直接定级"},
}


def effect_name(effect: str, rates_stars: bool) -> str:
    return EFFECT_NAMES[bool(rates_stars)][effect]


def effect_text(v, rates_stars: bool) -> str:
    """What a fired veto does, in words: "取消评星资格（只考核不评星）", "最高只能评为三星", "扣2分",
    "直接评定为五星", "列为软弱涣散候选", with ", 并列为…" when it also flags."""
    if v.effect == "no_rating":
        eff = effect_name("no_rating", rates_stars)
    elif v.effect == "cap":
        eff = f"最高只能评为{v.cap_level}"
    elif v.effect == "deduct":
        eff = f"扣{const(v.points)}分"
    elif v.effect == "award":
        eff = f"直接评定为{v.award_level}"
    else:
        eff = f"列为{v.flag}"
    if v.flag and v.effect != "flag":
        eff += f"，并列为{v.flag}"
    return eff


def rule_effect_text(v, rates_stars: bool) -> str:
    """The effect as a rule (template, guide, rubric check): "从总分中扣2分", "标记为「软弱涣散候选」"."""
    effect = {
        "no_rating": effect_name("no_rating", rates_stars),
        "cap": f"最高评为{v.cap_level}",
        "deduct": f"从总分中扣{const(v.points or 0)}分",
        "flag": f"标记为「{v.flag}」",
        "award": f"直接评为{v.award_level}",
    }[v.effect]
    if v.flag and v.effect != "flag":
        effect += f"，并标记为「{v.flag}」"
    return effect


SCOPE_WORDS = {"county": "全县", "parent": "本乡镇（街道）", "category": "同类别支部中"}
SCOPE_NAMES = {"county": "全县", "parent": "乡镇（上级党组织）", "category": "支部类别"}


def quota_text(q) -> str:
    """"全县五星不超过10%"."""
    return f"{SCOPE_WORDS[q.scope]}{q.level}不超过{num(q.max_share * 100)}%"


# ---------------------------------------------------------------- templates
def render(template: str, fields: dict, n: int) -> np.ndarray:
    """Format a ``{name}`` template with array (or scalar) fields for ``n`` rows, vectorized (string
    concatenation of object arrays)."""
    out = np.full(n, "", dtype=object)
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out = out + literal
        if name is not None:
            if name not in fields:
                raise KeyError(name)
            f = fields[name]
            f = f.to_numpy() if isinstance(f, pd.Series) else f
            out = out + (np.asarray(f, dtype=object).astype(str).astype(object) if isinstance(f, np.ndarray) else str(f))
    return out


def pick(mask, a, b):
    """Per row ``a`` where ``mask`` holds, else ``b`` (arrays or scalars), as an object array; a Series
    among the arguments makes the result a Series with its index."""
    like = next((x for x in (mask, a, b) if isinstance(x, pd.Series)), None)
    m = mask.to_numpy(dtype=bool) if isinstance(mask, pd.Series) else np.asarray(mask, dtype=bool)
    av = a.to_numpy() if isinstance(a, pd.Series) else a
    bv = b.to_numpy() if isinstance(b, pd.Series) else b
    out = np.where(m, av, bv).astype(object)
    return pd.Series(out, index=like.index, dtype=object) if like is not None else out


def from_codes(codes: np.ndarray, uniques: np.ndarray):
    """``uniques[codes]`` as the column pandas would make of it (text: its string dtype), built from the
    few distinct values instead of converting every row."""
    if not len(codes):
        return np.full(0, "", dtype=object)
    small = pd.Series(uniques, dtype=None if len(uniques) else object).array
    return small.take(np.asarray(codes, dtype=np.intp))


# ---------------------------------------------------------------- a whole result in words
def _column_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Codes (>= 0) of a column's values and how many there can be, equal codes for equal values: strings
    by their text, numbers by their bits (NaN and -0.0 kept apart from others, never merged). A column of
    another kind gets one code per row (nothing is merged that might differ)."""
    if isinstance(s.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s)
        return codes.astype(np.int64) + 1, len(uniques) + 1
    arr = s.to_numpy()
    if arr.dtype.kind in "fiub" and arr.dtype != object:
        bits = np.ascontiguousarray(arr).view(f"u{arr.dtype.itemsize}")
        codes, uniques = pd.factorize(bits)
        return codes.astype(np.int64), len(uniques)
    return np.arange(len(s), dtype=np.int64), len(s)


def distinct_rows(frame: pd.DataFrame, columns, more=()) -> tuple[np.ndarray, np.ndarray]:
    """Rows equal on ``columns`` of ``frame`` (and on the extra code arrays ``more``): (the code of each
    row, the position of the first row of each code, ascending). Codes count in order of first appearance."""
    n = len(frame)
    key, card = np.zeros(n, dtype=np.int64), 1
    parts = [_column_codes(frame[c]) for c in columns] + [(np.asarray(m, dtype=np.int64), int(np.max(m, initial=0)) + 1)
                                                           for m in more]
    for codes, k in parts:
        if k <= 1:
            continue
        if card * k >= 2 ** 62:
            key, uniques = pd.factorize(key)
            key, card = key.astype(np.int64), len(uniques)
        key, card = key * k + codes, card * k
    codes, uniques = pd.factorize(key)
    previous = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]])) if n else codes
    return codes, np.flatnonzero(codes > previous)


def _indicator_sentences(result) -> np.ndarray:
    """The explanation of every indicator row: the measure's evidence, the rule's part (from the rule type
    of :mod:`scoring.rules`), each extra deduction, and the indicator's points when extra deductions took
    some; or the wording of not applicable / no data."""
    codes, texts = _indicator_sentence_codes(result)
    return texts[codes] if len(codes) else np.full(0, "", dtype=object)


def _indicator_sentence_codes(result) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_indicator_sentences` as (a code per row, the sentence of each code). A sentence is a
    function of its row's fields, not of the branch: rows equal on every column but ``branch_id`` (many
    branches held 12 支委会) are worded once, by their first row. Works on object arrays, one pass per
    indicator."""
    from . import rules
    from .evaluator import dimensions_of

    r = result.rubric
    ind = result.indicators
    n = len(ind)
    if not n:
        return np.zeros(0, dtype=np.intp), np.full(0, "", dtype=object)
    full_marks = r.grading.not_applicable == "full_marks"
    na_tail = "，按满分计" if full_marks else "，不计入满分"
    extra_code = np.zeros(n, dtype=np.int64)  # 0: no extra deduction part, k: the (k-1)-th of ``joined``
    joined_text = np.full(0, "", dtype=object)
    extras = result.extras
    if extras is not None and len(extras):
        from .rules import extra_deduction

        ex = extras.sort_values(["branch_id", "indicator", "part"], kind="stable")
        text = pd.Series(extra_deduction.sentence({c: ex[c].to_numpy() for c in ex.columns}), index=ex.index)
        joined = text.groupby([ex["branch_id"], ex["indicator"]], sort=False).agg("".join)
        # each row's (branch, indicator) looked up among the few that have a part, by integer codes
        b_codes, b_uniques = pd.factorize(ind["branch_id"])
        i_codes, i_uniques = pd.factorize(ind["indicator"])
        width = len(i_uniques)
        jb = pd.Index(b_uniques).get_indexer(joined.index.get_level_values(0))
        ji = pd.Index(i_uniques).get_indexer(joined.index.get_level_values(1))
        known = (jb >= 0) & (ji >= 0)
        row_key = np.where((b_codes >= 0) & (i_codes >= 0), b_codes.astype(np.int64) * width + i_codes, -1)
        at = pd.Index((jb.astype(np.int64) * width + ji)[known]).get_indexer(row_key)
        extra_code = np.where(at >= 0, np.flatnonzero(known)[np.maximum(at, 0)] + 1, 0).astype(np.int64)
        joined_text = joined.to_numpy(dtype=object)
    codes, first = distinct_rows(ind, [c for c in ind.columns if c not in ("branch_id", "explanation")], [extra_code])
    cols = {c: ind[c].iloc[first].to_numpy() for c in ind.columns}  # one row per distinct sentence
    one = pd.DataFrame({"variant": cols["variant"], "indicator": cols["indicator"]})
    out = np.full(len(first), "", dtype=object)
    extra_part = np.concatenate([[""], joined_text]).astype(object)[extra_code[first]]
    evidence = np.asarray(cols["evidence"], dtype=object).astype(str).astype(object)
    reason = np.asarray(cols["reason"], dtype=object)
    generic = np.isin(reason, list(rules.GENERIC_CODES))
    for (variant, iid), pos in one.groupby(["variant", "indicator"], sort=False).indices.items():
        spec = next(i for d in dimensions_of(r, variant) for i in d.indicators if i.id == iid)
        unit = rules.Unit.of(str(cols["unit"][pos[0]]), bool(cols["rate"][pos[0]]), "",
                             int(cols["digits"][pos[0]]) if "digits" in cols else None)
        rs, ev = reason[pos], evidence[pos]
        text = np.full(len(pos), "", dtype=object)
        scored = ~generic[pos]
        if scored.any():
            sp = pos[scored]
            f = {c: cols[c][sp] for c in cols}
            if spec.explain:
                pts = np.asarray(f["points"], dtype=float)
                target = f["target"][0]
                text[scored] = render(spec.explain, {
                    "evidence": ev[scored], "value": unit.values(np.asarray(f["value"], dtype=float)), "points": nums(pts),
                    "max": const(spec.max), "lost": nums(spec.max - pts),
                    "target": const(target) if pd.notna(target) else "", "name": spec.name,
                }, len(sp))
            else:  # the rule's part speaks of the rule's points, before the extra deductions
                f["points"] = np.asarray(f["rule_points"], dtype=float)
                body = ev[scored] + rules.of(spec.rule).sentence(spec.rule, f, spec.max, unit)
                final = pick(np.asarray(cols["extra"][sp], dtype=float) > 0,
                             "，本项得" + nums(cols["points"][sp]) + "分", "")
                text[scored] = body + extra_part[sp] + final
        no_data = rs == "no_data"
        text[no_data] = ev[no_data] + "，此项不得分"
        na = rs == "na"
        text[na] = "不适用：" + ev[na] + na_tail
        text[rs == "na.category"] = f"不适用：{spec.name}仅考核{'、'.join(spec.categories or [])}支部{na_tail}"
        out[pos] = text
    return codes, out


def bonus_sentences(bonus: pd.DataFrame) -> np.ndarray:
    """A bonus claim's explanation from its reason code."""
    if not len(bonus):
        return np.array([], dtype=object)
    level = bonus["level"].astype(str).to_numpy(dtype=object)
    what = level + bonus["kind"].astype(str).to_numpy(dtype=object) + "「" + bonus["title"].astype(str).to_numpy(dtype=object) + "」"
    pts = nums(bonus["points"].to_numpy(dtype=float))
    cap = nums(bonus["cap"].to_numpy(dtype=float), CONSTANT_DIGITS)
    best = bonus["best_level"].astype(str).to_numpy(dtype=object)
    texts = {
        "bonus.counted": what + "，计" + pts + "分",
        "bonus.capped": what + "，加分已达上限" + cap + "分，只计" + pts + "分",
        "bonus.cap_full": what + "，加分已达上限" + cap + "分，不再计分",
        "bonus.kind": what + "：该类型不在加分范围内",
        "bonus.unapproved": what + "：未经审核通过，不计分",
        "bonus.no_document": what + "：无表彰文件文号，不计分",
        "bonus.level": what + "：" + level + "不在加分级别内，不计分",
        "bonus.lower_level": what + "：同一项工作只计最高级别（已按" + best + "计分）",
    }
    code = bonus["reason"].to_numpy(dtype=object)
    out = np.full(len(bonus), "", dtype=object)
    for c, text in texts.items():
        mask = code == c
        out[mask] = text[mask]
    return out


def _fired_sentences(frame: pd.DataFrame, items: dict, effect) -> np.ndarray:
    """Vetoes or warnings: the rubric's ``explain`` template, else "name：evidence，effect"."""
    out = np.full(len(frame), "", dtype=object)
    id_col = "veto" if "veto" in frame.columns else "warning"
    evidence = frame["evidence"].astype(str).to_numpy(dtype=object)
    for iid, pos in frame.groupby(id_col, sort=False).indices.items():
        v = items[iid]
        eff = effect(v) if effect else ""
        if v.explain:
            unit = str(frame["unit"].iloc[pos[0]]) if "unit" in frame else ""
            rate = bool(frame["rate"].iloc[pos[0]]) if "rate" in frame else False
            vals = values(frame["value"].to_numpy(dtype=float)[pos], "" if rate else unit, rate)
            out[pos] = render(v.explain, {"evidence": evidence[pos], "value": vals, "effect": eff, "name": v.name}, len(pos))
        else:
            out[pos] = v.name + "：" + evidence[pos] + ("，" + eff if eff else "")
    return out


TIE_KEY_WORDS = {"total": "总分", "base_total": "基础得分", "bonus": "加分"}


def tie_sentences(b: pd.DataFrame, r) -> np.ndarray:
    """For a branch whose published total equals a neighbour's: which tie-break key ordered them, or that
    they are tied (并列, the same rank)."""
    names = {f"dimension:{d.id}": d.name + "得分" for d in r.dimensions}
    key = b["tie_key"].astype(str).map(lambda k: TIE_KEY_WORDS.get(k) or names.get(k, k)).to_numpy(dtype=object)
    tied = b["tied"].to_numpy(dtype=bool)
    decided = "总分与相邻支部相同，按「" + key + "」排定先后"
    return pick(tied, "与总分、" + "、".join(TIE_KEY_WORDS.get(k) or names.get(k, k) for k in r.ranking.tie_break)
                + "都相同的支部并列第" + b["rank"].astype(str).to_numpy(dtype=object) + "名",
                pick(b["tie_key"].astype(str).to_numpy(dtype=object) != "", decided, ""))


def requires_note(r, label: str) -> str:
    """Why a level reached by score was not given: its extra condition (and, per_dimension, the total)."""
    if not label:
        return ""
    lv = r.grading.levels[r.level_index(label)]
    why = lv.requires_text or "附加条件"
    if lv.min_total is not None:
        why = f"总分不低于{const(lv.min_total)}分" + ("" if not lv.requires else "，且" + why)
    reached = "星数" if r.grading.model == "per_dimension" else "总分"
    return f"{reached}达到{lv.label}标准，但不满足「{why}」，未评为{lv.label}"


def explain(result):
    """``result`` with every explanation column filled from its reason codes (a new Result; the frames it
    changes are copies): indicators, bonus claims, vetoes, warnings, and the branches' quota and
    extra-condition notes."""
    from dataclasses import replace

    r = result.rubric
    ind = result.indicators.copy()
    codes, texts = _indicator_sentence_codes(result)
    ind["explanation"] = from_codes(codes, texts)
    bonus = result.bonus.copy()
    bonus["explanation"] = bonus_sentences(bonus)
    vet = result.vetoes.copy()
    vet["explanation"] = _fired_sentences(vet, {v.id: v for v in r.vetoes}, lambda v: effect_text(v, r.grading.rates_stars))
    warn = result.warnings.copy()
    warn["explanation"] = _fired_sentences(warn, {x.id: x for x in r.warnings}, None)
    b = result.branches.copy()
    frm = b["quota_from"].astype(str).to_numpy(dtype=object)
    level = b["level"].astype(str).to_numpy(dtype=object)
    note = pick(frm != "", "因名额限制由" + frm + "调整为" + level, "")
    if "quota_tie" in b:
        tie = b["quota_tie"].astype(str).to_numpy(dtype=object)
        others = nums(b["tie_size"].to_numpy(dtype=float) - 1, 0)
        scale = r.ranking.precision
        dropped = ("总分（按" + str(scale) + "位小数）与另外" + others + "个支部相同，并列于" + tie + "名额线，名额不足，均未评为"
                   + tie + "（由" + frm + "调整为" + level + "），需委员会决定")
        kept = ("总分与另外" + others + "个支部相同，并列于" + tie + "名额线，按「并列均保留」规则均评为" + tie + "，多用"
                + nums(b["quota_extra"].to_numpy(dtype=float), 0) + "个名额")
        note = pick(tie != "", pick(b["quota_extra"].to_numpy() > 0, kept, dropped), note)
        b["tie_note"] = tie_sentences(b, r)
    b["quota_note"] = note
    missed = {lab: requires_note(r, lab) for lab in b["requires_missed"].astype(str).unique()}
    b["requires_note"] = b["requires_missed"].astype(str).map(missed).fillna("")
    return replace(result, branches=b, indicators=ind, bonus=bonus, vetoes=vet, warnings=warn)


# ---------------------------------------------------------------- steps in counts (the self-check's advice)
@dataclass(frozen=True)
class Counts:
    """The counts behind one step of a measure whose value is numerator / denominator.

    ``numerator`` and ``denominator`` are the branch's now (1 of 3 流动党员 contacted; 772.5 hours over 25
    members); ``more`` is what the step adds to the numerator (2 more contacted: whole for a rate, and
    negative when the step lowers the value); ``reached`` the value the step reaches,
    (numerator + more) / denominator (3/3 = 100% when the threshold was 80%)."""

    numerator: float
    denominator: float
    more: float
    reached: float


def _exact(x: float) -> Fraction:
    """A float as the decimal it was written as (0.9 is 9/10, not the binary double just above it)."""
    return Fraction(repr(float(x)))


def count_step(numerator: float, denominator: float, value: float, current: float, rate: bool) -> Counts | None:
    """The counts of a step to ``value`` of a measure with value = numerator / denominator, or None when
    no count reaches it (no denominator, a rate above 100%).

    For a rate the numerator counts whole things: raising it to ``value`` takes ceil(value x denominator)
    of them (80% of 3 is 2.4: all 3; 90% of 10 is exactly 9), lowering it floor(value x denominator); the
    step reaches that count over the denominator. For a mean (hours per member) the step adds
    value x denominator - numerator and reaches ``value``."""
    if not denominator or denominator <= 0 or any(math.isnan(x) for x in (numerator, denominator, value)):
        return None
    den, have = _exact(denominator), _exact(numerator)
    need = _exact(value) * den
    if not rate:
        return Counts(float(numerator), float(denominator), float(need - have), float(value))
    up = math.isnan(current) or value >= current
    k = math.ceil(need) if up else math.floor(need)
    if k > den or k < 0:
        return None
    return Counts(float(numerator), float(denominator), float(k - have), float(Fraction(k) / den))


def count_phrase(subject: str, verb: str, c: Counts, target: str, current: str, unit: str = "",
                 rate: bool = False) -> str:
    """A step with the counts behind it, for a measure without its own advice: "流动党员联系率提高到100%
    （目前33.3%，即1/3，需再增加2）"; for a mean "人均学习培训学时提高到32学时（目前30.9学时），合计需再增加27.5学时"."""
    more = f"需再增加{num(c.more)}" if c.more > 0 else f"需减少{num(-c.more)}"
    if rate:
        return f"{subject}{verb}{target}（目前{current}，即{num(c.numerator)}/{num(c.denominator)}，{more}）"
    return f"{subject}{verb}{target}（目前{current}），合计{more}{unit}"
