"""Extra deductions: a further deduction inside an indicator's points, from another measure (floor 0).

党费 (linear from 80% to 100%, 5 points) also loses 1 point per member with six or more months unpaid,
within its 5 points. Each extra deduction takes from what the rule and the earlier ones left and never
below 0: a deduction that finds nothing left says "本项已为0分，不再扣分"; one that finds less than it
would take says what it would take and what was left. The sentence ends with the indicator's points.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import wording as w
from .base import Ladder, Params, grid

CODES = {
    "extra.deducted": ("label", "measured", "unit", "per", "cut"),
    "extra.partial": ("label", "measured", "unit", "per", "raw", "cut"),
    "extra.floor": ("label", "measured", "unit", "per", "raw"),
}


class ExtraDeduction(BaseModel):
    """A further deduction inside an indicator's points, from another measure (floor 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    measure: str
    params: Params = Field(default_factory=dict)
    per: float = Field(gt=0)
    label: str = Field(min_length=1)  # Chinese noun phrase for the sentence, e.g. "连续6个月以上未交党费的党员"
    unit: str = "人"


def cuts(ex: "ExtraDeduction", left: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(measured value >= 0, raw deduction, points cut) for one extra deduction, given the points ``left``
    by the rule and the earlier extra deductions."""
    v = np.nan_to_num(np.asarray(measured, dtype=float), nan=0.0).clip(min=0)
    raw = v * ex.per
    cut = np.minimum(np.clip(np.nan_to_num(left, nan=0.0), 0, None), raw)
    return v, raw, cut


def reason(raw: np.ndarray, cut: np.ndarray) -> np.ndarray:
    out = np.where(cut >= raw - 1e-9, "extra.deducted", np.where(cut > 1e-9, "extra.partial", "extra.floor"))
    return out.astype(object)


def sentence(rows) -> np.ndarray:
    """The part of one extra deduction (columns of the extras table, as arrays):
    "；连续6个月以上未交党费的党员1人，每人扣1分，扣1分"."""
    label = np.asarray(rows["label"], dtype=object)
    unit = np.asarray(rows["unit"], dtype=object)
    head = "；" + label + w.nums(rows["measured"]) + unit + "，每" + unit + "扣" + w.nums(rows["per"], w.CONSTANT_DIGITS) + "分"
    deducted = head + "，扣" + w.nums(rows["cut"]) + "分"
    partial = head + "，应扣" + w.nums(rows["raw"]) + "分，本项仅剩" + w.nums(rows["cut"]) + "分，扣" + w.nums(rows["cut"]) + "分"
    floor = head + "，本项已为0分，不再扣分"
    return w.pick(rows["reason"] == "extra.deducted", deducted, w.pick(rows["reason"] == "extra.partial", partial, floor))


def describe(ex: "ExtraDeduction") -> str:
    return f"；另外{ex.label}每1{ex.unit}扣{w.const(ex.per)}分（在本项分值内扣减）"


def ladder(current: float) -> Ladder:
    """Reducing the counted value to 0, in whole steps where it is whole."""
    step = 1.0 if float(current).is_integer() else 0.1
    return Ladder(0.0, grid(current, 0.0, step))


Model = ExtraDeduction
