"""per_unit (积分制): +0.5 per 支委会 up to 6; -0.5 per 纪律处分; a rate paid in proportion."""

import pytest
from _table import score, sentences

from scoring import rules
from scoring.rules.per_unit import PerUnit

ADD = PerUnit(type="per_unit", per=0.5)
DEDUCT = PerUnit(type="per_unit", per=-0.5)
COUNT = rules.Unit.of("次", False, "count")


def test_points_and_reasons():
    sc = score(ADD, [4, 13], 6)
    assert list(sc.points) == [2, 6] and list(sc.reason) == ["unit.added", "unit.cap"]
    assert list(score(DEDUCT, [1], 3).points) == [-0.5]


def test_sentences():
    assert sentences(ADD, [13], 6, COUNT) == ["，每次加0.5分，加6分（加分上限6分）"]
    assert sentences(DEDUCT, [1, 0], 3, rules.Unit.of("起", False, "count")) == ["，每起扣0.5分，扣0.5分",
                                                                               "，每起扣0.5分，本项不扣分"]
    rate = PerUnit(type="per_unit", per=10)
    assert sentences(rate, [0.938], 10, rules.Unit.of("%", True, "rate")) == ["，按93.8%×10分计，加9.38分"]


def test_top_kind_check_and_ladder():
    rt = rules.of(ADD)
    assert rt.top(DEDUCT, 3) == 0 and rt.kind_of(DEDUCT) == rules.KIND_FINAL and rt.kind_of(ADD) == rules.KIND_FIX
    assert rt.check(DEDUCT, 3, "stars") and rt.check(DEDUCT, 3, "points") == []
    assert rt.ladder(ADD, 6, 4.0, 2.0, COUNT).values == [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    assert rt.describe(ADD, 6, COUNT, "支委会") == "支委会每1次得0.5分，最高6分"


def test_zero_per_is_refused():
    with pytest.raises(ValueError):
        PerUnit(type="per_unit", per=0)


def test_full_marks_beyond_the_measures_range_are_refused():
    rt = rules.of(ADD)
    # 0.5 points per 1% of a rate up to 6 points needs a value of 12: a rate is at most 1
    assert [k for k, _ in rt.check(ADD, 6, "stars", domain=(0.0, 1.0))] == ["per"]
    assert rt.check(ADD, 6, "stars", domain=(0.0, float("inf"))) == []
