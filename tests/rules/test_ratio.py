"""ratio: 党员人均学习培训 32 学时 for 6 points."""

import pytest
from _table import score, sentences

from scoring import rules
from scoring.rules.ratio import Ratio

RULE = Ratio(type="ratio", target=32)
HOURS = rules.Unit.of("学时", False, "number")


@pytest.mark.parametrize("value,points", [(0, 0.0), (16, 3.0), (30.9, 6 * 30.9 / 32), (32, 6.0), (50, 6.0)])
def test_points(value, points):
    assert score(RULE, [value], 6).points[0] == pytest.approx(points)


def test_sentences():
    assert sentences(RULE, [30.9], 6, HOURS) == ["，以32学时为满分标准，得5.79分"]
    # 30.955 学时 gives 5.804 -> 5.8 points, but reads 30.96 at two decimals, which would give 5.805 -> 5.81:
    # the sentence restates the value with the digits that reproduce the points
    assert sentences(RULE, [30.955], 6, HOURS) == ["，以32学时为满分标准，按30.955学时计，得5.8分"]


def test_describe_and_ladder():
    rt = rules.of(RULE)
    assert rt.describe(RULE, 6, HOURS, "人均学习培训学时") == "人均学习培训学时达到32学时得满分，不足按比例计分"
    assert rt.ladder(RULE, 6, 30.0, 5.625, HOURS).values[-1] == 32


def test_a_target_a_rate_never_reaches_is_refused():
    rt = rules.of(RULE)
    percent = Ratio(type="ratio", target=100)  # meant 100%
    assert rt.check(percent, 6, domain=(0.0, 1.0)) == [
        ("target", "target = 100 超出测量值可能的范围（0～1，比率请写小数：95% 写 0.95），没有支部能得满分")]
    assert rt.check(Ratio(type="ratio", target=1.0), 6, domain=(0.0, 1.0)) == []
    assert rt.check(RULE, 6, domain=(0.0, float("inf"))) == []
