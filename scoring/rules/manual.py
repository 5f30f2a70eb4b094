"""``manual``: a committee's score taken as is, clipped to [0, max].

现场检查 scored by the committee: 合计5分 under a 6-point maximum -> 5 points, "（满分6分）" said.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import wording as w
from .base import KIND_COMMITTEE, Ladder, RuleType, Scored, Unit


class Manual(BaseModel):
    """A committee's manual score taken as is, clipped to [0, max]."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["manual"]


class ManualRule(RuleType):
    type = "manual"
    Model = Manual
    kind = KIND_COMMITTEE
    codes = {"manual": (), "manual.over": ()}

    def points(self, rule, v, mx):
        return np.clip(np.asarray(v, dtype=float), 0, mx)

    def score(self, rule, v, mx):
        v = np.asarray(v, dtype=float)
        reason = np.where(np.isnan(v), "", np.where(v > mx, "manual.over", "manual")).astype(object)
        return Scored(self.points(rule, v, mx), reason)

    def sentence(self, rule, rows, mx, unit: Unit):
        pts = w.nums(rows["points"])
        return w.pick(rows["reason"] == "manual.over", "，计" + pts + f"分（超过满分{w.const(mx)}分，按满分计）",
                      "，计" + pts + f"分（满分{w.const(mx)}分）")

    def describe(self, rule, mx, unit: Unit, label: str):
        return f"由考评委员会评分，按实得分计入，最高{w.const(mx)}分"

    def ladder(self, rule, mx, v, rule_points, unit: Unit):
        return Ladder(float(mx), [float(mx)])


Model = Manual
RULE = ManualRule()
