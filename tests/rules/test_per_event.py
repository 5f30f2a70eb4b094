"""per_event: 纪律处分 1 point off each, at most the 3-point maximum (or an explicit cap)."""

from _table import score, sentences

from scoring import rules
from scoring.rules.per_event import PerEvent

RULE = PerEvent(type="per_event", per=1)
EVENTS = rules.Unit.of("起", False, "count")


def test_points_and_reasons():
    sc = score(RULE, [0, 2, 5], 3)
    assert list(sc.points) == [3, 1, 0] and list(sc.reason) == ["event.none", "event.deducted", "event.cap"]
    assert list(sc.fields["raw"]) == [0, 2, 5] and list(sc.fields["deducted"]) == [0, 2, 3]


def test_sentences_show_what_the_cap_held_back():
    assert sentences(RULE, [0, 2, 5], 3, EVENTS) == [
        "，得满分3分", "，每起扣1分，扣2分", "，每起扣1分，应扣5分，扣分上限3分，扣3分"]


def test_cannot_be_undone_and_cap_check():
    rt = rules.of(RULE)
    assert rt.kind_of(RULE) == rules.KIND_FINAL and rt.ladder(RULE, 3, 2.0, 1.0, EVENTS) is None
    assert rt.check(PerEvent(type="per_event", per=1, cap=5), 3) == [("cap", "扣分上限 5 超过指标满分 3 分")]
    assert rt.describe(RULE, 3, EVENTS, "负面事项件数") == "负面事项件数每1起扣1分，最多扣3分"
