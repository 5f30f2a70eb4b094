"""manual: the committee's 现场检查 score, clipped to [0, max]; the maximum is always stated."""

from _table import score, sentences

from scoring import rules
from scoring.rules.manual import Manual

RULE = Manual(type="manual")
POINTS = rules.Unit.of("分", False, "number")


def test_points_and_sentences():
    sc = score(RULE, [5, 14], 12)
    assert list(sc.points) == [5, 12] and list(sc.reason) == ["manual", "manual.over"]
    assert sentences(RULE, [5, 14], 12, POINTS) == ["，计5分（满分12分）", "，计12分（超过满分12分，按满分计）"]


def test_committee_decides():
    rt = rules.of(RULE)
    assert rt.kind_of(RULE) == rules.KIND_COMMITTEE and rt.ladder(RULE, 6, 4.0, 4.0, POINTS).values == [6.0]
