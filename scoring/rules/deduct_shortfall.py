"""``deduct_shortfall``: deduct ``per`` points for each unit the value falls short of ``target``; floor 0.

支委会 12 a year, 0.5 off per missing meeting: 9 held -> short 3 -> 1.5 off. A shortfall worth more than the
maximum takes the indicator to 0 and no further (reason ``shortfall.floor``, which says so).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import wording as w
from .base import ANY, Ladder, RuleType, Scored, Unit, codes_where, full, grid, reachable, unreachable


class DeductShortfall(BaseModel):
    """Deduct ``per`` points for each unit the measured value falls short of ``target``; floor 0."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["deduct_shortfall"]
    target: float = Field(gt=0)
    per: float = Field(gt=0)


class DeductShortfallRule(RuleType):
    type = "deduct_shortfall"
    Model = DeductShortfall
    codes = {
        "shortfall.met": ("target",),
        "shortfall.deducted": ("target", "shortfall", "per", "deducted"),
        "shortfall.floor": ("target", "shortfall", "per", "raw", "deducted"),
    }

    def points(self, rule, v, mx):
        short = np.clip(rule.target - np.asarray(v, dtype=float), 0, None)
        return mx - np.minimum(short * rule.per, mx)

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        n = len(v)
        short = np.clip(rule.target - v, 0, None)
        raw = short * rule.per
        deducted = np.minimum(raw, mx)
        has = ~np.isnan(v)
        reason = codes_where([(has & (short <= 0), "shortfall.met"), (has & (raw > mx + 1e-9), "shortfall.floor"),
                              (has, "shortfall.deducted")], n)
        return Scored(mx - deducted, reason, {"target": full(n, rule.target), "shortfall": short,
                                              "per": full(n, rule.per), "raw": raw, "deducted": deducted})

    def sentence(self, rule, rows, mx, unit: Unit):
        met = f"，达到要求{unit.const(rule.target)}，得满分{w.const(mx)}分"
        per = w.const(unit.per_each(rule.per))
        short = rows["shortfall"] * (100 if unit.rate else 1)
        each = "个百分点" if unit.rate else (unit.unit or "个单位")
        head = f"，要求{unit.const(rule.target)}，少" + w.nums(short) + each + f"，每{each}扣{per}分"
        deducted = head + "，扣" + w.nums(rows["deducted"]) + "分"
        floor = head + "，应扣" + w.nums(rows["raw"]) + f"分，本项满分{w.const(mx)}分，扣完为止，得0分"
        return w.pick(rows["reason"] == "shortfall.met", met, w.pick(rows["reason"] == "shortfall.floor", floor, deducted))

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"要求{unit.const(rule.target)}，每少{unit.one}扣{w.const(unit.per_each(rule.per))}分，扣完为止"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        end = float(rule.target)
        if unit.count and (np.isnan(v) or float(v).is_integer()):
            end = float(np.ceil(end - 1e-6))
        start = 0.0 if np.isnan(v) else v
        return Ladder(end, grid(start, end, unit.grain))

    def target(self, rule):
        return float(rule.target)

    def check(self, rule, mx, model: str = "stars", domain=ANY):
        if not reachable(">=", rule.target, domain):
            return [("target", unreachable("target", rule.target, domain))]
        return []


Model = DeductShortfall
RULE = DeductShortfallRule()
