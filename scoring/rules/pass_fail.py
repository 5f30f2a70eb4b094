"""``pass_fail``: full points when ``value <op> threshold`` holds, else 0.

组织生活会 at least once a year: 1 held -> full; 0 -> 0, "不符合要求（应达到1次）".
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import wording as w
from .base import ANY, Ladder, RuleType, Scored, Unit, domain_text, full, reachable, value_if_needed, whole_target

OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}


class PassFail(BaseModel):
    """Full points when ``value <op> threshold`` holds, else 0."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["pass_fail"]
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float


class PassFailRule(RuleType):
    type = "pass_fail"
    Model = PassFail
    codes = {"pass.ok": ("op", "threshold"), "pass.fail": ("op", "threshold")}

    def points(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        with np.errstate(invalid="ignore"):
            ok = OPS[rule.op](v, rule.value)
        return np.where(np.isnan(v), np.nan, ok * float(mx))

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        n = len(v)
        pts = self.points(rule, v, mx)
        reason = np.where(np.isnan(v), "", np.where(pts > 0, "pass.ok", "pass.fail")).astype(object)
        return Scored(pts, reason, {"op": full(n, rule.op), "threshold": full(n, rule.value)})

    def sentence(self, rule, rows, mx, unit: Unit):
        return value_if_needed(self, rule, rows, mx, unit) + w.pick(rows["reason"] == "pass.ok", f"，符合要求，得满分{w.const(mx)}分",
                      f"，不符合要求（应{unit.requirement(rule.op, rule.value)}），不得分")

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"{label}{unit.requirement(rule.op, rule.value)}得满分，否则得0分"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        target = rule.value + 1.0 if rule.op == "!=" else whole_target(rule.op, rule.value, unit)[0]
        return Ladder(target, [target], requirement=f"应{unit.requirement(rule.op, rule.value)}")

    def target(self, rule):
        return float(rule.value)

    def check(self, rule, mx, model: str = "stars", domain=ANY):
        if not reachable(rule.op, rule.value, domain):
            return [("value", f"条件「{rule.op} {w.const(rule.value)}」在测量值可能的范围（{domain_text(domain)}）内永远不成立，"
                              "没有支部能得分")]
        return []


Model = PassFail
RULE = PassFailRule()
