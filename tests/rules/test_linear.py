"""linear: 会议出勤率 70% -> 0, 95% -> full 3 points, clipped at both ends."""

import pytest
from _table import score, sentences

from scoring import rules
from scoring.rules.linear import Linear

RULE = Linear(type="linear", zero_at=0.7, full_at=0.95)
RATE = rules.Unit.of("%", True, "rate")


@pytest.mark.parametrize("value,points", [(0.5, 0.0), (0.7, 0.0), (0.866, 3 * 0.166 / 0.25), (0.95, 3.0), (1.0, 3.0)])
def test_points(value, points):
    assert score(RULE, [value], 3).points[0] == pytest.approx(points)


def test_sentence_shows_the_value_only_when_its_usual_rounding_would_give_other_points():
    # 86.6% gives 1.99 either way; 421/468 = 89.957% reads 90% (2.5 points at 5) but gives 2.49
    assert sentences(RULE, [0.866], 3, RATE) == ["，按70%得0分、95%得满分3分线性计分，得1.99分"]
    dues = Linear(type="linear", zero_at=0.8, full_at=1.0)
    assert sentences(dues, [421 / 468], 5, RATE) == ["，按80%得0分、100%得满分5分线性计分，按89.96%计，得2.49分"]


def test_decreasing_ramp_and_ladder():
    age = Linear(type="linear", zero_at=60, full_at=40)
    assert [round(float(x), 4) for x in score(age, [70, 50, 30], 4).points] == [0.0, 2.0, 4.0]
    rt = rules.of(RULE)
    ladder = rt.ladder(RULE, 3, 0.9, 2.4, RATE)
    assert ladder.target == 0.95 and ladder.values[-1] == 0.95 and ladder.values[0] > 0.9
    assert rt.describe(RULE, 3, RATE, "会议出勤率") == "会议出勤率：按70%得0分、95%得满分线性计分"


def test_full_marks_outside_the_measures_range_are_refused():
    rt = rules.of(RULE)
    rate = (0.0, 1.0)
    assert rt.check(RULE, 3, domain=rate) == []
    over = Linear(type="linear", zero_at=0.8, full_at=1.05)
    assert rt.check(over, 5, domain=rate) == [
        ("full_at", "full_at = 1.05 超出测量值可能的范围（0～1，比率请写小数：95% 写 0.95），没有支部能得满分")]
    # a decreasing ramp reaches full marks at the low end: below 0 years never happens
    down = Linear(type="linear", zero_at=3, full_at=-1)
    assert [k for k, _ in rt.check(down, 4, domain=(0.0, float("inf")))] == ["full_at"]
    assert rt.check(Linear(type="linear", zero_at=3, full_at=0), 4, domain=(0.0, float("inf"))) == []
