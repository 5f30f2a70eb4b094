"""Extra deductions inside an indicator: 1 point per member with 6+ months of unpaid dues, never below 0."""

import numpy as np

from scoring.rules import extra_deduction
from scoring.rules.extra_deduction import ExtraDeduction

EX = ExtraDeduction(measure="dues_long_unpaid", per=1, label="连续6个月以上未交党费的党员", unit="人")


def test_cuts_take_what_is_left_and_no_more():
    left = np.array([4.5, 1.5, 0.0])
    v, raw, cut = extra_deduction.cuts(EX, left, np.array([1, 3, 2]))
    assert list(raw) == [1, 3, 2] and list(cut) == [1, 1.5, 0]
    assert list(extra_deduction.reason(raw, cut)) == ["extra.deducted", "extra.partial", "extra.floor"]


def test_sentences_say_a_floor_instead_of_deducting_zero():
    rows = {"label": np.array([EX.label] * 3, dtype=object), "unit": np.array(["人"] * 3, dtype=object),
            "measured": np.array([1.0, 3.0, 2.0]), "per": np.array([1.0] * 3), "raw": np.array([1.0, 3.0, 2.0]),
            "cut": np.array([1.0, 1.5, 0.0]), "reason": np.array(["extra.deducted", "extra.partial", "extra.floor"], dtype=object)}
    assert list(extra_deduction.sentence(rows)) == [
        "；连续6个月以上未交党费的党员1人，每人扣1分，扣1分",
        "；连续6个月以上未交党费的党员3人，每人扣1分，应扣3分，本项仅剩1.5分，扣1.5分",
        "；连续6个月以上未交党费的党员2人，每人扣1分，本项已为0分，不再扣分",
    ]


def test_describe_and_ladder():
    assert extra_deduction.describe(EX) == "；另外连续6个月以上未交党费的党员每1人扣1分（在本项分值内扣减）"
    assert extra_deduction.ladder(3.0).values == [2.0, 1.0, 0.0]
