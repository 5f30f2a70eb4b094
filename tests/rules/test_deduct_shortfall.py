"""deduct_shortfall: 支委会 12 a year, 0.5 off per missing meeting, within a 6-point maximum."""

import pytest
from _table import score, sentences

from scoring import rules
from scoring.rules.deduct_shortfall import DeductShortfall

RULE = DeductShortfall(type="deduct_shortfall", target=12, per=0.5)
COUNT = rules.Unit.of("次", False, "count")

# value -> points, reason, shortfall, deducted (worked by hand: 6 - min((12 - v) x 0.5, 6))
TABLE = [
    (12, 6.0, "shortfall.met", 0, 0),
    (15, 6.0, "shortfall.met", 0, 0),
    (11, 5.5, "shortfall.deducted", 1, 0.5),
    (9, 4.5, "shortfall.deducted", 3, 1.5),
    (0, 0.0, "shortfall.deducted", 12, 6.0),  # exactly the maximum: not a floor
]


@pytest.mark.parametrize("value,points,reason,short,deducted", TABLE)
def test_points_reason_and_fields(value, points, reason, short, deducted):
    sc = score(RULE, [value], 6)
    assert sc.points[0] == points and sc.reason[0] == reason
    assert sc.fields["shortfall"][0] == short and sc.fields["deducted"][0] == deducted
    assert sc.fields["target"][0] == 12 and sc.fields["per"][0] == 0.5


def test_floor_reached_says_so_instead_of_a_smaller_deduction():
    sc = score(RULE, [2], 3)  # 10 short x 0.5 = 5 > the 3-point maximum
    assert sc.points[0] == 0 and sc.reason[0] == "shortfall.floor" and sc.fields["raw"][0] == 5
    assert sentences(RULE, [2], 3, COUNT) == ["，要求12次，少10次，每次扣0.5分，应扣5分，本项满分3分，扣完为止，得0分"]


def test_sentences():
    assert sentences(RULE, [9, 12], 6, COUNT) == ["，要求12次，少3次，每次扣0.5分，扣1.5分", "，达到要求12次，得满分6分"]


def test_a_rate_counts_percentage_points():
    rule = DeductShortfall(type="deduct_shortfall", target=0.95, per=10)  # 0.1 point per percentage point
    unit = rules.Unit.of("%", True, "rate")
    sc = score(rule, [0.9], 3)
    assert sc.points[0] == pytest.approx(2.5)
    assert sentences(rule, [0.9], 3, unit) == ["，要求95%，少5个百分点，每个百分点扣0.1分，扣0.5分"]
    assert rules.of(rule).describe(rule, 3, unit, "出勤率") == "要求95%，每少1个百分点扣0.1分，扣完为止"


def test_missing_value_has_no_reason_and_no_points():
    sc = score(RULE, [float("nan")], 6)
    assert sc.reason[0] == "" and sc.points[0] != sc.points[0]


def test_describe_and_ladder():
    rt = rules.of(RULE)
    assert rt.describe(RULE, 6, COUNT, "会议次数（支委会）") == "要求12次，每少1次扣0.5分，扣完为止"
    ladder = rt.ladder(RULE, 6, 9.0, 4.5, COUNT)
    assert ladder.target == 12 and ladder.values == [10.0, 11.0, 12.0]
    assert rt.target(RULE) == 12 and rt.top(RULE, 6) == 6 and rt.kind_of(RULE) == rules.KIND_FIX


def test_a_target_beyond_the_measures_range_is_refused():
    rt = rules.of(RULE)
    assert rt.check(DeductShortfall(type="deduct_shortfall", target=1.2, per=10), 5, domain=(0.0, 1.0)) == [
        ("target", "target = 1.2 超出测量值可能的范围（0～1，比率请写小数：95% 写 0.95），没有支部能得满分")]
    assert rt.check(RULE, 6, domain=(0.0, float("inf"))) == []
