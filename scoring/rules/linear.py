"""``linear``: 0 points at ``zero_at``, full points at ``full_at`` (either direction), clipped.

会议出勤率 70% -> 0, 95% -> 3 points; 86.6% -> 3 x (86.6 - 70) / (95 - 70) = 1.99. When the value as the
evidence shows it (87.5%, 30.9学时) would give other points than the exact value, the sentence shows the
value with the digits needed (reason field ``shown_digits`` is decided by the wording, not stored).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from .. import wording as w
from .base import ANY, Ladder, RuleType, Scored, Unit, full, grid, reachable, unreachable, value_if_needed


class Linear(BaseModel):
    """Linear ramp: 0 points at ``zero_at``, full points at ``full_at`` (either direction), clipped."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["linear"]
    zero_at: float
    full_at: float

    @model_validator(mode="after")
    def _distinct(self):
        if self.zero_at == self.full_at:
            raise ValueError("zero_at 与 full_at 不能相等")
        return self


class LinearRule(RuleType):
    type = "linear"
    Model = Linear
    codes = {"linear": ("zero_at", "full_at")}

    def points(self, rule, v, mx):
        frac = (np.asarray(v, dtype=float) - rule.zero_at) / (rule.full_at - rule.zero_at)
        return np.clip(frac, 0, 1) * mx

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        n = len(v)
        reason = np.where(np.isnan(v), "", "linear").astype(object)
        return Scored(self.points(rule, v, mx), reason, {"zero_at": full(n, rule.zero_at), "full_at": full(n, rule.full_at)})

    def sentence(self, rule, rows, mx, unit: Unit):
        restated = value_if_needed(self, rule, rows, mx, unit)
        return (f"，按{unit.const(rule.zero_at)}得0分、{unit.const(rule.full_at)}得满分{w.const(mx)}分线性计分"
                + restated + "，得" + w.nums(rows["points"]) + "分")

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"{label}：按{unit.const(rule.zero_at)}得0分、{unit.const(rule.full_at)}得满分线性计分"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        start = float(rule.zero_at) if np.isnan(v) else v
        return Ladder(float(rule.full_at), grid(start, float(rule.full_at), unit.grain))

    def target(self, rule):
        return float(rule.full_at)

    def check(self, rule, mx, model: str = "stars", domain=ANY):
        if not reachable(">=" if rule.full_at > rule.zero_at else "<=", rule.full_at, domain):
            return [("full_at", unreachable("full_at", rule.full_at, domain))]
        return []


Model = Linear

RULE = LinearRule()
