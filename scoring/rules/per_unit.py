"""``per_unit``: points = value x ``per``, clipped to the indicator's max in absolute value.

积分制: 支委会 +0.5 per meeting up to 6; a negative ``per`` deducts (纪律处分 -0.5 each), in the points model
only. A rate is paid in proportion: 93.8% x 10 points = 9.38.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from .. import wording as w
from .base import KIND_FINAL, KIND_FIX, Ladder, RuleType, Scored, Unit, domain_text, full, grid, value_if_needed


class PerUnit(BaseModel):
    """Points = value x ``per``, clipped to the indicator's max in absolute value. A negative ``per``
    deducts (allowed in the points model, 积分制, only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["per_unit"]
    per: float

    @field_validator("per")
    @classmethod
    def _nonzero(cls, v):
        if v == 0:
            raise ValueError("不能为 0")
        return v


class PerUnitRule(RuleType):
    type = "per_unit"
    Model = PerUnit
    codes = {"unit.added": ("per", "raw"), "unit.deducted": ("per", "raw"), "unit.cap": ("per", "raw", "cap")}

    def points(self, rule, v, mx):
        return np.clip(np.asarray(v, dtype=float) * rule.per, -mx, mx)

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        n = len(v)
        raw = v * rule.per
        has = ~np.isnan(v)
        word = "unit.added" if rule.per > 0 else "unit.deducted"
        reason = np.where(has, np.where(np.abs(raw) > mx + 1e-9, "unit.cap", word), "").astype(object)
        return Scored(self.points(rule, v, mx), reason, {"per": full(n, rule.per), "raw": raw, "cap": full(n, mx)})

    def sentence(self, rule, rows, mx, unit: Unit):
        word = "加" if rule.per > 0 else "扣"
        pts = w.nums(np.abs(np.asarray(rows["points"], dtype=float)))
        if unit.rate:  # "按93.8%×10分计": the value with the digits that give the shown points
            v = np.asarray(rows["value"], dtype=float)
            digits = w.enough_digits(v, rows["points"], lambda x: self.points(rule, x, mx), True)
            how = "，按" + w.values_at(v, digits, "", True) + f"×{w.const(abs(rule.per))}分计，{word}"
        else:  # "每学时加0.125分，按30.94学时计，加3.87分" where 30.9学时 would give other points
            how = (f"，每{unit.unit or '次'}{word}{w.const(abs(rule.per))}分" + value_if_needed(self, rule, rows, mx, unit)
                   + f"，{word}")
        said = how + pts + "分" + w.pick(rows["reason"] == "unit.cap", f"（{word}分上限{w.const(mx)}分）", "")
        none = f"，每{unit.unit or '次'}{word}{w.const(abs(rule.per))}分，本项不{word}分"  # nothing counted: "不扣分"
        return w.pick(np.asarray(rows["value"], dtype=float) == 0, none, said)

    def describe(self, rule, mx, unit: Unit, label: str):
        per = unit.per_each(rule.per)
        if per > 0:
            return f"{label}每{unit.one}得{w.const(per)}分，最高{w.const(mx)}分"
        return f"{label}每{unit.one}扣{w.const(-per)}分，最多扣{w.const(mx)}分"

    def check(self, rule, mx, model: str = "stars", domain=None):
        if rule.per < 0 and model != "points":
            return [("per", "负分（按次扣分）只能用于积分制（grading.model = \"points\"），其他模式请用 per_event")]
        if rule.per > 0 and domain is not None and mx / rule.per > domain[1] + 1e-9:
            return [("per", f"每单位 {w.const(rule.per)} 分，得满分 {w.const(mx)} 分需要 {w.const(mx / rule.per)}，"
                            f"超出测量值可能的范围（{domain_text(domain)}），没有支部能得满分")]
        return []

    def kind_of(self, rule):
        return KIND_FIX if rule.per > 0 else KIND_FINAL

    def top(self, rule, mx):
        """A deduction-only item (negative per, 积分制) can take points away but never add any."""
        return 0.0 if rule.per < 0 else float(mx)

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        if rule.per < 0:
            return None
        end = mx / rule.per
        if unit.count:
            end = float(np.ceil(end - 1e-6))
        return Ladder(float(end), grid(0.0 if np.isnan(v) else v, float(end), unit.grain))


Model = PerUnit
RULE = PerUnitRule()
