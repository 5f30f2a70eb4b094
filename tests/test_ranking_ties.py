"""Ranking on what is printed: totals rounded (half up) at ranking.precision decide; the tie-break chain then;
branches equal on every key share the rank; at a quota line equals are never split."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from scoring.engine import load
from scoring.evaluator import Measured, evaluate
from scoring.output.jsonout import to_json_dict
from scoring.wording import explain

RUBRIC = """
id = "ties"
name = "并列测试"
year = 2025

[grading]
model = "stars"
levels = [
  { label = "五星", min = 90, stars = 5 },
  { label = "四星", min = 0, stars = 4 },
]

[[dimensions]]
id = "work"
name = "工作"

[[dimensions.indicators]]
id = "inspection"
name = "现场检查"
max = 60
measure = "inspection_score"
rule = { type = "manual" }

[[dimensions]]
id = "public"
name = "群众"

[[dimensions.indicators]]
id = "survey"
name = "群众评价"
max = 40
measure = "meeting_count"
params = { kind = "主题党日" }
rule = { type = "manual" }

[[quotas]]
level = "五星"
max_share = 0.2
"""


def rubric(tmp_path, extra: str = ""):
    p = tmp_path / "ties.toml"
    p.write_text(textwrap.dedent(RUBRIC) + extra, encoding="utf-8")
    return load(str(p))[0]


def scored(r, work: dict[str, float], public: dict[str, float]):
    ids = list(work)
    branches = pd.DataFrame({"branch_id": ids, "name": [f"{i}支部" for i in ids], "category": "农村", "parent": "甲镇党委"})
    idx = pd.Index(ids, name="branch_id")

    def frame(values):
        return pd.DataFrame({"value": [values[i] for i in ids], "applicable": True, "evidence": "评分"}, index=idx)

    measured = {"inspection_score": Measured(frame(work), "分"),
                'meeting_count{"kind": "主题党日"}': Measured(frame(public), "分")}
    return explain(evaluate(r, branches, measured)).branches.set_index("branch_id")


# five branches: one five-star place (20%)
WORK = {"A": 56.004, "B": 55.003, "C": 50.0, "D": 40.0, "E": 30.0}
PUBLIC = {"A": 39.0, "B": 40.0, "C": 40.0, "D": 40.0, "E": 40.0}  # A 95.004 and B 95.003: both print 95.00


def test_totals_that_print_the_same_are_ordered_by_the_tie_break_then_share_the_rank(tmp_path):
    r = rubric(tmp_path, '[ranking]\ntie_break = ["dimension:public"]\n')
    b = scored(r, WORK, PUBLIC)
    assert list(b.index) == ["B", "A", "C", "D", "E"]  # 群众 40 before 39: the hidden 0.001 does not decide
    assert list(b["rank"]) == [1, 2, 3, 4, 5] and list(b["ranked_total"])[:2] == [95.0, 95.0]
    assert b.loc["A", "tie_note"] == "总分与相邻支部相同，按「群众得分」排定先后"
    assert b.loc["C", "tie_note"] == "" and not b["tied"].any()
    assert list(b["level"]) == ["五星", "四星", "四星", "四星", "四星"]  # B takes the one place


def test_equals_on_every_key_share_the_rank(tmp_path):
    r = rubric(tmp_path, '[ranking]\ntie_break = ["base_total"]\n')
    b = scored(r, {"A": 55.004, "B": 55.001, "C": 50.0}, {"A": 40.0, "B": 40.0, "C": 40.0})
    assert list(b.index) == ["A", "B", "C"]  # equal: listed by branch id
    assert list(b["rank"]) == [1, 1, 3] and list(b["tied"]) == [True, True, False]
    assert b.loc["B", "tie_note"] == "与总分、基础得分都相同的支部并列第1名"


def test_at_a_quota_line_equals_all_drop_and_the_committee_is_told(tmp_path):
    r = rubric(tmp_path)
    b = scored(r, {"A": 55.004, "B": 55.001, "C": 50.0, "D": 40.0, "E": 30.0}, {i: 40.0 for i in "ABCDE"})
    assert list(b["rank"])[:2] == [1, 1]
    assert list(b["level"]) == ["四星"] * 5  # one place, two equals: the written 20% is never broken
    assert list(b["quota_tie"]) == ["五星", "五星", "", "", ""]
    assert b.loc["A", "flags"] == "名额线并列待定"
    assert b.loc["A", "quota_note"] == ("总分（按2位小数）与另外1个支部相同，并列于五星名额线，名额不足，均未评为五星"
                                        "（由五星调整为四星），需委员会决定")


def test_keep_all_keeps_every_equal_and_counts_the_extra_places(tmp_path):
    r = rubric(tmp_path, '[ranking]\nties_at_quota = "keep_all"\n')
    b = scored(r, {"A": 55.004, "B": 55.001, "C": 50.0, "D": 40.0, "E": 30.0}, {i: 40.0 for i in "ABCDE"})
    assert list(b["level"]) == ["五星", "五星", "四星", "四星", "四星"]
    assert b.loc["B", "quota_note"] == "总分与另外1个支部相同，并列于五星名额线，按「并列均保留」规则均评为五星，多用1个名额"
    assert b.loc["A", "flags"] == ""


def test_precision_is_the_rubrics(tmp_path):
    r = rubric(tmp_path, '[ranking]\nprecision = 3\n')
    b = scored(r, {"A": 55.004, "B": 55.001, "C": 50.0, "D": 40.0, "E": 30.0}, {i: 40.0 for i in "ABCDE"})
    assert list(b["rank"])[:2] == [1, 2] and list(b["level"])[:2] == ["五星", "四星"]  # 95.004 > 95.001 at 3 decimals


def test_json_carries_shared_ranks_and_notes(tmp_path):
    r = rubric(tmp_path)
    ids = list("ABCDE")
    branches = pd.DataFrame({"branch_id": ids, "name": ids, "category": "农村", "parent": "甲镇党委"})
    idx = pd.Index(ids, name="branch_id")
    f1 = pd.DataFrame({"value": [55.004, 55.001, 50, 40, 30], "applicable": True, "evidence": "评分"}, index=idx)
    f2 = pd.DataFrame({"value": np.full(5, 40.0), "applicable": True, "evidence": "评分"}, index=idx)
    res = explain(evaluate(r, branches, {"inspection_score": Measured(f1), 'meeting_count{"kind": "主题党日"}': Measured(f2)}))
    data = to_json_dict(res)
    assert [b["rank"] for b in data["branches"]] == [1, 1, 3, 4, 5]
    assert data["branches"][0]["quota_tie"] == "五星" and "需委员会决定" in data["branches"][0]["quota_note"]


@pytest.mark.parametrize("value", ["keep", 5])
def test_bad_tie_settings_are_refused(tmp_path, value):
    from scoring.errors import RubricError

    with pytest.raises(RubricError):
        rubric(tmp_path, f'[ranking]\nties_at_quota = "{value}"\nprecision = 9\n')
