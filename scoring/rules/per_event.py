"""``per_event``: deduct ``per`` points per counted event, at most ``cap`` (default: the indicator's max).

纪律处分 1 point each, at most 3: 2 events -> 2 off. Events that happened cannot be undone this year.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import wording as w
from .base import KIND_FINAL, RuleType, Scored, Unit, codes_where, full


class PerEvent(BaseModel):
    """Deduct ``per`` points per counted event, at most ``cap`` (default: the indicator's max)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["per_event"]
    per: float = Field(gt=0)
    cap: float | None = Field(default=None, gt=0)


class PerEventRule(RuleType):
    type = "per_event"
    Model = PerEvent
    kind = KIND_FINAL
    codes = {"event.none": (), "event.deducted": ("per", "deducted"), "event.cap": ("per", "raw", "cap", "deducted")}

    def _cap(self, rule, mx):
        return rule.cap if rule.cap is not None else mx

    def points(self, rule, v, mx):
        return mx - np.minimum(np.clip(np.asarray(v, dtype=float), 0, None) * rule.per, self._cap(rule, mx))

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        n = len(v)
        cap = self._cap(rule, mx)
        raw = np.clip(v, 0, None) * rule.per
        deducted = np.minimum(raw, cap)
        has = ~np.isnan(v)
        reason = codes_where([(has & (v <= 0), "event.none"), (has & (raw > cap + 1e-9), "event.cap"),
                              (has, "event.deducted")], n)
        return Scored(mx - deducted, reason, {"per": full(n, rule.per), "raw": raw, "cap": full(n, cap),
                                              "deducted": deducted})

    def sentence(self, rule, rows, mx, unit: Unit):
        each = unit.unit or "次"
        head = f"，每{each}扣{w.const(rule.per)}分"
        capped = head + "，应扣" + w.nums(rows["raw"]) + f"分，扣分上限{w.const(self._cap(rule, mx))}分，扣" + w.nums(rows["deducted"]) + "分"
        deducted = head + "，扣" + w.nums(rows["deducted"]) + "分"
        return w.pick(rows["reason"] == "event.none", f"，得满分{w.const(mx)}分",
                      w.pick(rows["reason"] == "event.cap", capped, deducted))

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"{label}每{unit.one}扣{w.const(rule.per)}分，最多扣{w.const(self._cap(rule, mx))}分"

    def check(self, rule, mx, model: str = "stars", domain=None):
        if rule.cap is not None and rule.cap > mx:
            return [("cap", f"扣分上限 {rule.cap:g} 超过指标满分 {mx:g} 分")]
        return []


Model = PerEvent
RULE = PerEventRule()
