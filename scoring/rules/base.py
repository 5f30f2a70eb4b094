"""What every rule type provides, and the small types rules share.

A rule type is one module of :mod:`scoring.rules` holding, together:

* ``Model``: the pydantic model of the rule as a rubric writes it (``type = "..."`` and its keys);
* ``points(rule, v, mx)``: the points for a vector of measured values (NaN where the value is NaN);
* ``score(rule, v, mx)``: the points, a stable reason code per value and the reason's fields (the numbers
  a sentence needs to let a reader redo the arithmetic);
* ``sentence(rule, rows, mx, unit)``: the rule's part of the Chinese explanation, from those fields;
* ``describe(rule, mx, unit, label)``: the rule in words for the template, the guide, the workbook's
  rubric sheet and ``rubric diff``;
* ``ladder(rule, mx, v, rule_points, unit)``: the values a branch can move to next (the self-check's
  steps), or None when no change of the value recovers anything;
* ``top(rule, mx)`` (most points it can give), ``target(rule)`` (the value shown as 目标) and ``kind``
  (what a branch can do about lost points: fix them, wait for the committee, or nothing this year).

The evaluator, the wording module, the template and the self-check call these and switch on nothing.
A new rule type is one module plus its table test (``tests/rules/test_<type>.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

import numpy as np
import pandas as pd

from .. import wording as w

KIND_FIX = "fix"  # a branch recovers the points by changing what is measured
KIND_COMMITTEE = "committee"  # the committee decides the points (a manual score)
KIND_FINAL = "final"  # events that happened cannot be undone this year

# measure parameters as a rubric writes them
Params = dict[str, Union[str, int, float, bool, list[str], list[int], list[float]]]

ANY = (-math.inf, math.inf)  # a measure's values when nothing bounds them

COUNT_UNITS = frozenset({"次", "人", "起", "项", "个", "名", "件", "篇"})


@dataclass(frozen=True)
class Unit:
    """How a measure's values read: its unit ("次", "学时", "%"), whether it is a rate in [0, 1], and
    whether it counts whole things (then steps towards a target are whole numbers)."""

    unit: str = ""
    rate: bool = False
    count: bool = False
    digits: int | None = None  # decimals the measure's evidence shows values with (None: the usual)

    @classmethod
    def of(cls, unit: str = "", rate: bool = False, kind: str = "", digits: int | None = None) -> "Unit":
        return cls(unit=unit, rate=rate, count=(not rate) and (kind == "count" or unit in COUNT_UNITS),
                   digits=None if digits is None or digits < 0 else int(digits))

    @property
    def usual_digits(self) -> int:
        """The decimals values are shown with: the measure's own, else 1 (of a percent) or 2."""
        if self.digits is not None:
            return self.digits
        return w.RATE_DIGITS if self.rate else w.NUMBER_DIGITS

    # ---- words
    def values(self, s, digits=None) -> pd.Series:
        """Measured values as sentences show them: "87.5%", "9次"."""
        return w.values(s, "" if self.rate else self.unit, self.rate, self.usual_digits if digits is None else digits)

    def value(self, x, digits=None) -> str:
        return w.value(x, "" if self.rate else self.unit, self.rate, self.usual_digits if digits is None else digits)

    def const(self, x) -> str:
        """A rubric threshold in this unit: 0.95 -> "95%", 12 -> "12次"."""
        return w.constant_value(x, "" if self.rate else self.unit, self.rate)

    def requirement(self, op: str, x) -> str:
        return w.requirement(op, x, "" if self.rate else self.unit, self.rate)

    @property
    def each(self) -> str:
        """The unit one deduction or addition counts: "次", "学时", "个百分点"."""
        return "个百分点" if self.rate else (self.unit or "个单位")

    @property
    def one(self) -> str:
        """"1次", "1个百分点"."""
        return "1个百分点" if self.rate else f"1{self.unit or '个'}"

    def per_each(self, per: float) -> float:
        """Points per unit as the reader counts units: a rate's points per 1.0 become per percentage point."""
        return per / 100 if self.rate else per

    @property
    def grain(self) -> float:
        """The finest useful step of a value: 0.1 percentage point, 1 of a count, 0.1 otherwise."""
        if self.rate:
            return 0.001
        if self.count:
            return 1.0
        return 0.1


@dataclass
class Scored:
    """A rule's outcome for a vector of values: points (NaN where the value is missing), a reason code per
    value (object array; "" where the value is missing) and the reason's fields (name -> per-value array)."""

    points: np.ndarray
    reason: np.ndarray
    fields: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Ladder:
    """Where a branch can move a measured value to recover points: ``values`` from the smallest useful
    change to the full one (the last recovers everything the rule can give), ``target`` the plan's next
    step, and ``shown`` how a value reads when it is a threshold ("超过80%")."""

    target: float
    values: list[float]
    shown: dict[float, str] = field(default_factory=dict)
    requirement: str | None = None  # for a pass/fail rule: "应达到1次" (the phrase when no count advice fits)


def codes_where(mask_codes: list[tuple[np.ndarray, str]], n: int) -> np.ndarray:
    """Reason codes from (mask, code) pairs, the first matching pair winning."""
    out = np.full(n, "", dtype=object)
    done = np.zeros(n, dtype=bool)
    for mask, code in mask_codes:
        hit = mask & ~done
        out[hit] = code
        done |= hit
    return out


def full(n: int, x) -> np.ndarray:
    return np.full(n, x, dtype=float if isinstance(x, (int, float)) else object)


def grid(start: float, end: float, step: float, most: int = 120) -> list[float]:
    """Values strictly beyond ``start`` up to and including ``end`` on a grid of ``step``, coarsened so that
    there are at most ``most`` of them."""
    eps = 1e-6
    span = abs(end - start)
    if span <= eps:
        return [float(end)]
    s = step
    for mult in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        s = step * mult
        if span / s <= most:
            break
    sign = 1.0 if end > start else -1.0
    first = (math.floor(start / s + eps) + 1) * s if sign > 0 else (math.ceil(start / s - eps) - 1) * s
    values = np.arange(first, end, sign * s) if (end - first) * sign > eps else np.array([])
    values = np.round(values, 10)
    return [float(x) for x in values[(values - start) * sign > eps]] + [float(end)]


def whole_target(op: str, thr: float, unit: Unit) -> tuple[float, str]:
    """The value that satisfies ``value <op> thr`` and how to show it. Counts are whole: "> 0次" is reached
    with 1次."""
    eps = 1e-6
    if unit.count:
        whole = {">=": math.ceil(thr - eps), ">": math.floor(thr + eps) + 1,
                 "<=": math.floor(thr + eps), "<": math.ceil(thr - eps) - 1}.get(op, thr)
        return float(whole), unit.value(whole)
    shown = unit.const(thr)
    if op == ">":
        return thr + eps, "超过" + shown
    if op == "<=":
        return thr, shown + "以内"
    if op == "<":
        return thr - eps, "低于" + shown
    return thr, shown  # ">=" and "=="


def value_if_needed(rt: "RuleType", rule, rows, mx, unit: Unit):
    """"，按86.64%计" where the value at its usual precision (as the evidence shows it) would not give the
    shown points, else "": the digits needed to redo the rule's arithmetic by hand."""
    v = np.asarray(rows["value"], dtype=float)
    usual = unit.usual_digits
    digits = w.enough_digits(v, rows["points"], lambda x: rt.points(rule, x, mx), unit.rate, start=usual)
    shown = w.values_at(v, digits, "" if unit.rate else unit.unit, unit.rate)
    return w.pick(digits > usual, "，按" + shown + "计", "")


class RuleType:
    """Base of the rule types: defaults every rule may keep."""

    type: str = ""
    Model: type = object
    kind: str = KIND_FIX
    # reason code -> the fields its sentence and its arithmetic use (besides value, points and max)
    codes: dict[str, tuple[str, ...]] = {}

    def points(self, rule, v: np.ndarray, mx: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, rule, v: np.ndarray, mx: float) -> Scored:  # pragma: no cover - abstract
        raise NotImplementedError

    def sentence(self, rule, rows: pd.DataFrame, mx: float, unit: Unit) -> pd.Series:  # pragma: no cover
        raise NotImplementedError

    def describe(self, rule, mx: float, unit: Unit, label: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def ladder(self, rule, mx: float, v: float, rule_points: float, unit: Unit) -> Ladder | None:
        return None

    def top(self, rule, mx: float) -> float:
        return float(mx)

    def best(self, rule, mx: float) -> float:
        """The most points any value can give (a step table's best step may give less than the max)."""
        return self.top(rule, mx)

    def target(self, rule) -> float:
        return math.nan

    def kind_of(self, rule) -> str:
        return self.kind

    def check(self, rule, mx: float, model: str = "stars", domain: tuple[float, float] = ANY) -> list[tuple[str, str]]:
        """Mistakes a rubric author can make with this rule that the model alone cannot see: (key path
        below ``rule``, Chinese message) pairs. ``domain`` is the range of values the measure can take
        (``Measure.domain``): full marks that need a value outside it can never be given."""
        return []


def reachable(op: str, thr: float, domain: tuple[float, float]) -> bool:
    """Whether some value in ``domain`` satisfies ``value <op> thr``."""
    lo, hi = domain
    return {">=": thr <= hi, ">": thr < hi, "<=": thr >= lo, "<": thr > lo,
            "==": lo <= thr <= hi, "!=": True}[op]


def domain_text(domain: tuple[float, float]) -> str:
    """"0～1（比率请写小数：95% 写 0.95）", "0及以上"."""
    lo, hi = domain
    if math.isinf(lo) and math.isinf(hi):
        return "任意数值"
    if math.isinf(hi):
        return f"{w.const(lo)}及以上"
    if math.isinf(lo):
        return f"{w.const(hi)}及以下"
    text = f"{w.const(lo)}～{w.const(hi)}"
    return text + "，比率请写小数：95% 写 0.95" if (lo, hi) == (0.0, 1.0) else text


def unreachable(key: str, value: float, domain: tuple[float, float]) -> str:
    return (f"{key} = {w.const(value)} 超出测量值可能的范围（{domain_text(domain)}），"
            "没有支部能得满分")
