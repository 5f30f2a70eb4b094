"""pass_fail: 组织生活会 at least once a year (3 points); 换届 overdue by 0 years."""

from _table import score, sentences

from scoring import rules
from scoring.rules.pass_fail import PassFail

RULE = PassFail(type="pass_fail", op=">=", value=1)
COUNT = rules.Unit.of("次", False, "count")
YEARS = rules.Unit.of("年", False, "number")


def test_points_and_reasons():
    sc = score(RULE, [0, 1, 2], 3)
    assert list(sc.points) == [0, 3, 3] and list(sc.reason) == ["pass.fail", "pass.ok", "pass.ok"]


def test_sentences():
    assert sentences(RULE, [1, 0], 3, COUNT) == ["，符合要求，得满分3分", "，不符合要求（应达到1次），不得分"]
    overdue = PassFail(type="pass_fail", op="<=", value=0)
    assert sentences(overdue, [1.83], 4, YEARS) == ["，不符合要求（应为0年），不得分"]


def test_describe_and_ladder():
    rt = rules.of(RULE)
    assert rt.describe(RULE, 3, COUNT, "会议次数（组织生活会）") == "会议次数（组织生活会）达到1次得满分，否则得0分"
    ladder = rt.ladder(RULE, 3, 0.0, 0.0, COUNT)
    assert ladder.values == [1.0] and ladder.requirement == "应达到1次"
    gt = PassFail(type="pass_fail", op=">", value=0)
    assert rt.ladder(gt, 2, 0.0, 0.0, COUNT).target == 1.0  # "> 0次" is reached with 1次


def test_a_condition_that_never_holds_is_refused():
    rt = rules.of(RULE)
    rate = (0.0, 1.0)
    assert rt.check(PassFail(type="pass_fail", op=">=", value=95), 3, domain=rate) == [
        ("value", "条件「>= 95」在测量值可能的范围（0～1，比率请写小数：95% 写 0.95）内永远不成立，没有支部能得分")]
    assert [k for k, _ in rt.check(PassFail(type="pass_fail", op=">", value=1), 3, domain=rate)] == ["value"]
    assert [k for k, _ in rt.check(PassFail(type="pass_fail", op="<", value=0), 3, domain=(0.0, float("inf")))] == ["value"]
    assert rt.check(PassFail(type="pass_fail", op="<=", value=0), 3, domain=(0.0, float("inf"))) == []
    assert rt.check(PassFail(type="pass_fail", op=">=", value=1), 3, domain=rate) == []
