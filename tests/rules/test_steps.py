"""steps: 群众满意率 >= 95% 12, >= 90% 10, >= 80% 7, >= 70% 4, >= 60% 2, else 0 (max 12)."""

import pytest
from _table import score, sentences

from scoring import rules
from scoring.rules.steps import Step, Steps

RULE = Steps(type="steps", steps=[Step(ge=0.95, points=12), Step(ge=0.9, points=10), Step(ge=0.8, points=7),
                                  Step(ge=0.7, points=4), Step(ge=0.6, points=2)])
RATE = rules.Unit.of("%", True, "rate")
YEARS = Steps(type="steps", steps=[Step(le=1, points=6), Step(le=2, points=3)])


@pytest.mark.parametrize("value,points,step", [(1.0, 12, 1), (0.95, 12, 1), (0.9499, 10, 2), (0.9, 10, 2),
                                               (0.8, 7, 3), (0.75, 4, 4), (0.6, 2, 5)])
def test_first_matching_step_wins(value, points, step):
    sc = score(RULE, [value], 12)
    assert sc.points[0] == points and sc.reason[0] == "steps.hit" and sc.fields["step"][0] == step


def test_below_every_step():
    sc = score(RULE, [0.5625], 12)
    assert sc.points[0] == 0 and sc.reason[0] == "steps.none"
    assert sc.fields["op"][0] == ">=" and sc.fields["threshold"][0] == 0.6
    assert sentences(RULE, [0.5625], 12, RATE) == ["，未达到最低档（达到60%），得0分"]


def test_sentences_state_the_maximum_when_the_step_gives_less():
    assert sentences(RULE, [0.947, 0.96], 12, RATE) == ["，达到90%，得10分（满分12分）", "，达到95%，得12分"]


def test_le_steps_and_zero_bound_wording():
    unit = rules.Unit.of("年", False, "number")
    assert [float(x) for x in score(YEARS, [0, 1, 2, 3], 6).points] == [6, 6, 3, 0]
    assert sentences(YEARS, [0], 6, unit) == ["，不超过1年，得6分"]
    zero = Steps(type="steps", steps=[Step(le=0, points=4)])
    assert sentences(zero, [0], 4, unit) == ["，为0年，得4分"]  # never "不超过0年"


def test_describe_ladder_and_best():
    rt = rules.of(RULE)
    assert rt.describe(RULE, 12, RATE, "群众满意率") == (
        "群众满意率达到95%得12分，达到90%得10分，达到80%得7分，达到70%得4分，达到60%得2分，其余得0分")
    ladder = rt.ladder(RULE, 12, 0.85, 7, RATE)
    assert ladder.values == [0.9, 0.95] and ladder.target == 0.9 and ladder.shown[0.9] == "90%"
    assert rt.ladder(RULE, 12, 0.97, 12, RATE) is None
    capped = Steps(type="steps", steps=[Step(ge=10, points=3)])
    assert rt.best(capped, 4) == 3


def test_author_mistakes():
    rt = rules.of(RULE)
    bad = Steps(type="steps", steps=[Step(ge=0.8, points=7), Step(ge=0.9, points=10)])
    assert rt.check(bad, 12) == [
        ("steps", "档次表最高一档只得 10 分，低于指标满分 12 分：每个支部都至少失 2 分且无法挽回（请把最高一档改为 12 分，或降低指标满分）"),
        ("steps", "门槛顺序错误，应从高到低排列：[0.8, 0.9]"), ("steps", "分值应逐档递减：[7.0, 10.0]")]
    assert rt.check(Steps(type="steps", steps=[Step(ge=1, points=13)]), 12) == [("steps[1].points", "13 分超过指标满分 12 分")]


def test_full_marks_must_be_reachable():
    rt = rules.of(RULE)
    # a county raised the maximum from 3 to 4 and kept the table: the best step gives 3
    three = Steps(type="steps", steps=[Step(ge=1.0, points=3), Step(ge=0.9, points=2)])
    assert [m for _, m in rt.check(three, 4)] == [
        "档次表最高一档只得 3 分，低于指标满分 4 分：每个支部都至少失 1 分且无法挽回（请把最高一档改为 4 分，或降低指标满分）"]
    assert rt.check(three, 3, domain=(0.0, 1.0)) == []
    # the full-marks step of a rate needs 110%: at most the 2-point step can be hit
    beyond = Steps(type="steps", steps=[Step(ge=1.1, points=3), Step(ge=0.9, points=2)])
    assert rt.check(beyond, 3, domain=(0.0, 1.0)) == [
        ("steps", "得满分的一档（ge = 1.1）超出测量值可能的范围（0～1，比率请写小数：95% 写 0.95），最多只能得 2 分，没有支部能得满分")]
    assert rt.check(beyond, 3) == []  # a measure without bounds: any value may occur
    # "fewer than 0 years" for a count that is never negative
    low = Steps(type="steps", steps=[Step(lt=0, points=3), Step(le=2, points=1)])
    assert [p for p, _ in rt.check(low, 3, domain=(0.0, float("inf")))] == ["steps"]


def test_a_value_that_reads_like_the_next_step_is_restated():
    # 94.996% reads 95.0% at one decimal, which would be the 12-point step; it gets 10
    assert sentences(RULE, [0.94996], 12, RATE) == ["，按94.996%计，达到90%，得10分（满分12分）"]
