"""``ratio``: points = max x min(1, value / target).

党员人均学习培训 32 学时 for 6 points: 30.9 学时 -> 6 x 30.9 / 32 = 5.79.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import wording as w
from .base import ANY, Ladder, RuleType, Scored, Unit, full, grid, reachable, unreachable, value_if_needed


class Ratio(BaseModel):
    """Points = max x min(1, value / target)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["ratio"]
    target: float = Field(gt=0)


class RatioRule(RuleType):
    type = "ratio"
    Model = Ratio
    codes = {"ratio": ("target",)}

    def points(self, rule, v, mx):
        return np.clip(np.asarray(v, dtype=float) / rule.target, 0, 1) * mx

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        reason = np.where(np.isnan(v), "", "ratio").astype(object)
        return Scored(self.points(rule, v, mx), reason, {"target": full(len(v), rule.target)})

    def sentence(self, rule, rows, mx, unit: Unit):
        restated = value_if_needed(self, rule, rows, mx, unit)
        return (f"，以{unit.const(rule.target)}为满分标准" + restated + "，得"
                + w.nums(rows["points"]) + "分")

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"{label}达到{unit.const(rule.target)}得满分，不足按比例计分"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        start = 0.0 if np.isnan(v) else v
        return Ladder(float(rule.target), grid(start, float(rule.target), unit.grain))

    def target(self, rule):
        return float(rule.target)

    def check(self, rule, mx, model: str = "stars", domain=ANY):
        if not reachable(">=", rule.target, domain):
            return [("target", unreachable("target", rule.target, domain))]
        return []


Model = Ratio
RULE = RatioRule()
