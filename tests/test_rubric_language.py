"""Golden tests of the rubric language: every grading model, blending, bonus rules, veto effects, quotas,
category variants and inheritance, each worked by hand on the three golden branches.

The golden county (tests/golden_data.py) scored by tests/golden/small_rubric.toml gives:
    A (农村, 东岗镇): 组织生活 10.6/12, 群众与发展 8/8, base 93.0, bonus 3 (省级), total 96.0
    B (农村, 东岗镇): 组织生活 10.5/12, 群众与发展 5/8, base 77.5, bonus 0, total 77.5
    C (社区, 城关镇): 组织生活 12/12, 群众与发展 5/5 (村集体经济 not applicable), base 100, 严重违纪违法
Each test writes a small rubric that ``extends`` the golden one and changes one thing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from golden_data import golden_tables, make_dataset
from scoring.engine import load, score
from scoring.errors import RubricError

GOLDEN = (Path(__file__).parent / "golden" / "small_rubric.toml").resolve()


def run(tmp_path, body: str, tables=None, name="r.toml"):
    p = tmp_path / name
    p.write_text(f'extends = "{GOLDEN.as_posix()}"\n' + textwrap.dedent(body), encoding="utf-8")
    rubric, reg, _ = load(p)
    res = score(rubric, reg, make_dataset(tables or golden_tables()))
    return res, res.branches.set_index("branch_id")


# ---------------------------------------------------------------- grading models
def test_stars_with_extra_condition_for_the_top_level(tmp_path):
    # five stars also need an approved 国家级 honor: A (96) has only 省级 -> 四星 by condition, not by quota
    res, b = run(tmp_path, """
        drop = { quotas = ["五星"] }
        [[grading.levels]]
        label = "五星"
        stars = 5
        min = 90
        requires_text = "有国家级表彰"
        requires = [{ measure = "honor_count", params = { min_level = "国家级" }, op = ">=", value = 1 }]
        [[grading.levels]]
        label = "四星"
        stars = 4
        min = 80
        [[grading.levels]]
        label = "三星"
        stars = 3
        min = 70
        [[grading.levels]]
        label = "二星"
        stars = 2
        min = 0
    """)
    assert b.loc["A", "level"] == "四星" and b.loc["A", "quota_note"] == ""
    assert b.loc["A", "requires_note"] == "总分达到五星标准，但不满足「有国家级表彰」，未评为五星"
    assert b.loc["B", "level"] == "三星" and b.loc["B", "requires_note"] == ""


def test_per_dimension_stars_with_overall_floor(tmp_path):
    # star when a dimension reaches 85% of its points:
    #   A: 10.6/12 = 88.3% star, 8/8 star -> 2 stars; B: 10.5/12 = 87.5% star, 5/8 = 62.5% no -> 1 star.
    # Two stars also need a total >= 97: A's 96 falls short -> 一星, with the reason.
    res, b = run(tmp_path, """
        drop = { quotas = ["五星"] }
        [grading]
        model = "per_dimension"
        star_share = 0.85
        levels = [
          { label = "二星", stars = 2, min = 2, min_total = 97 },
          { label = "一星", stars = 1, min = 1 },
          { label = "无星", stars = 0, min = 0 },
        ]
    """)
    assert b.loc["A", "stars_earned"] == 2 and b.loc["B", "stars_earned"] == 1
    assert b.loc["A", "level"] == "一星" and b.loc["A", "stars"] == 1
    assert b.loc["A", "requires_note"] == "星数达到二星标准，但不满足「总分不低于97分」，未评为二星"
    assert b.loc["B", "level"] == "一星"
    stars = res.dimensions.set_index(["branch_id", "dimension"])["star"]
    assert stars[("A", "org")] and stars[("A", "people")] and stars[("B", "org")] and not stars[("B", "people")]


def test_grade_model_with_satisfaction_gate(tmp_path):
    # 好 >= 90, 较好 >= 80, 一般 >= 60; 满意率 < 97% cannot be 好 or 较好: A (96, 满意率 96%) -> 一般.
    res, b = run(tmp_path, """
        drop = { quotas = ["五星"] }
        [grading]
        model = "grade"
        unrated_label = "不定级"
        levels = [{ label = "好", min = 90 }, { label = "较好", min = 80 }, { label = "一般", min = 60 }, { label = "较差", min = 0 }]
        [[vetoes]]
        id = "gate"
        name = "群众满意率低于97%"
        when = { measure = "satisfaction_rate", op = "<", value = 0.97 }
        effect = "cap"
        cap_level = "一般"
    """)
    assert b.loc["A", "grade"] == "一般" and pd.isna(b.loc["A", "stars"])
    assert b.loc["B", "grade"] == "一般"
    assert b.loc["C", "grade"] is None and b.loc["C", "level"] == "不定级"
    gate = res.vetoes[(res.vetoes["branch_id"] == "A") & (res.vetoes["veto"] == "gate")].iloc[0]
    assert gate["explanation"] == "群众满意率低于97%：测评50人，满意40人、基本满意8人，满意率96%，最高只能评为一般"
    c = res.vetoes[res.vetoes["branch_id"] == "C"].set_index("veto").loc["serious_violation", "explanation"]
    assert c.endswith("取消定级资格（只考核不定级）")


def test_points_model_base_plus_additions_and_deductions(tmp_path):
    # base 100; +0.5 per 支委会 up to 6; -5 per 严重违纪违法 up to 10; bonus on top, not rescaled:
    #   A: 100 + 12x0.5 + 3 (bonus) = 109; B: 100 + 9x0.5 = 104.5; C: 100 + 6 - 5 = 101 (and no rating).
    res, b = run(tmp_path, """
        drop = { quotas = ["五星"], dimensions = ["org", "people"] }
        [grading]
        model = "points"
        base = 100
        levels = [{ label = "先进", min = 105 }, { label = "一般", min = 95 }, { label = "后进", min = 0 }]
        [[dimensions]]
        id = "plus"
        name = "加分项"
        [[dimensions.indicators]]
        id = "committee"
        name = "支委会"
        max = 6
        measure = "meeting_count"
        params = { kind = "支委会" }
        rule = { type = "per_unit", per = 0.5 }
        [[dimensions]]
        id = "minus"
        name = "扣分项"
        [[dimensions.indicators]]
        id = "violations"
        name = "严重违纪违法"
        max = 10
        measure = "incident_count"
        params = { kinds = ["严重违纪违法"] }
        rule = { type = "per_unit", per = -5 }
    """)
    assert b.loc["A", "total"] == pytest.approx(109) and b.loc["A", "grade"] == "先进"
    assert b.loc["B", "total"] == pytest.approx(104.5) and b.loc["B", "grade"] == "一般"
    assert b.loc["C", "total"] == pytest.approx(101)
    i = res.indicators.set_index(["branch_id", "indicator"])
    assert i.loc[("C", "violations"), "points"] == -5 and i.loc[("C", "violations"), "max"] == 0
    assert i.loc[("C", "violations"), "explanation"] == "本年度发生严重违纪违法1起，每起扣5分，扣5分"
    assert i.loc[("B", "committee"), "explanation"] == "支委会全年召开9次，每次加0.5分，加4.5分"


def test_weighted_sections_with_deductions(tmp_path):
    # (组织生活 - 减分项) x 70% + 群众与发展 x 30%; 减分项: -1 per 纪律处分 (max 5); B has two.
    #   A: 10.6/12 x 100 x 0.7 + 8/8 x 100 x 0.3 = 61.8333 + 30 = 91.8333 (+3 bonus = 94.8333)
    #   B: (10.5 - 2)/12 x 100 x 0.7 + 5/8 x 100 x 0.3 = 49.5833 + 18.75 = 68.3333
    t = golden_tables()
    t["incidents"] = pd.concat([t["incidents"], pd.DataFrame({
        "branch_id": ["B", "B"], "kind": ["纪律处分", "纪律处分"], "date": pd.to_datetime(["2025-03-01", "2025-04-01"]),
        "note": ["", ""]})], ignore_index=True)
    res, b = run(tmp_path, """
        [[dimensions]]
        id = "minus"
        name = "减分项"
        [[dimensions.indicators]]
        id = "discipline"
        name = "纪律处分"
        max = 5
        measure = "incident_count"
        params = { kinds = ["纪律处分"] }
        rule = { type = "per_event", per = 1 }
        [grading]
        sections = [
          { id = "basic", name = "基础项", dimensions = ["org"], deduct_dimensions = ["minus"], weight = 0.7 },
          { id = "review", name = "评议项", dimensions = ["people"], weight = 0.3 },
        ]
    """, tables=t)
    assert b.loc["A", "base_total"] == pytest.approx(91.8333, abs=1e-4)
    assert b.loc["A", "total"] == pytest.approx(94.8333, abs=1e-4)
    assert b.loc["B", "base_total"] == pytest.approx(68.3333, abs=1e-4)


def test_sections_must_cover_every_dimension(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(f'extends = "{GOLDEN.as_posix()}"\n[grading]\nsections = [{{ id = "a", name = "甲", dimensions = ["org"], weight = 1 }}]\n',
                 encoding="utf-8")
    with pytest.raises(RubricError) as e:
        load(p)
    assert "grading.sections: 维度「people」不属于任何部分" in str(e.value)


# ---------------------------------------------------------------- bonus
def test_bonus_cap_is_partial_and_every_claim_explained(tmp_path):
    # cap 4: A's 省级 3 counts, its 市级 claim for another work (2) counts only 1 under the cap.
    t = golden_tables()
    t["honors"] = pd.concat([t["honors"], pd.DataFrame({
        "branch_id": ["A"], "title": ["乡村振兴示范"], "kind": ["创新项目"], "level": ["市级"],
        "document": ["市委组〔2025〕9号"], "date": pd.to_datetime(["2025-09-01"]), "approved": [True]})], ignore_index=True)
    res, b = run(tmp_path, "[bonus]\ncap = 4\n", tables=t)
    assert b.loc["A", "bonus"] == pytest.approx(4)
    claims = res.bonus[res.bonus["branch_id"] == "A"].set_index("title")
    assert claims.loc["乡村振兴示范", "points"] == pytest.approx(1)
    assert claims.loc["乡村振兴示范", "explanation"] == "市级创新项目「乡村振兴示范」，加分已达上限4分，只计1分"
    assert len(res.bonus) == 5  # every claim appears, counted or not


def test_bonus_kinds_filter(tmp_path):
    res, b = run(tmp_path, '[bonus]\nkinds = ["创新项目"]\n')
    assert b.loc["A", "bonus"] == 0
    a1 = res.bonus.set_index("claim").loc["A-1"]
    assert not a1["counted"] and a1["explanation"] == "省级表彰「先进基层党组织」：该类型不在加分范围内"


# ---------------------------------------------------------------- vetoes
def test_veto_effects_deduct_flag_award(tmp_path):
    #   deduct: B's 县级 claim without a document ... is not an event; use 满意率 < 93% -> -2 points: B 77.5 -> 75.5
    #   flag: A's 党课 < 4 -> "组织生活不规范" flag
    #   award (直接定级): an approved 省级 honor -> 五星 directly; A takes the five-star place first
    res, b = run(tmp_path, """
        [[vetoes]]
        id = "low_sat"
        name = "满意率偏低"
        when = { measure = "satisfaction_rate", op = "<", value = 0.93 }
        effect = "deduct"
        points = 2
        [[vetoes]]
        id = "few_lectures"
        name = "党课不足"
        when = { indicator = "lectures", op = "<", value = 4 }
        effect = "flag"
        flag = "组织生活不规范"
        [[vetoes]]
        id = "provincial"
        name = "省级先进直接定级"
        when = { measure = "honor_count", params = { min_level = "省级" }, op = ">=", value = 1 }
        effect = "award"
        award_level = "五星"
        [[quotas]]
        level = "五星"
        max_share = 0.34
    """)
    assert b.loc["B", "deduction"] == 2 and b.loc["B", "total"] == pytest.approx(75.5)
    assert b.loc["A", "flags"] == "组织生活不规范"
    assert b.loc["A", "level"] == "五星" and b.loc["A", "quota_note"] == ""
    v = res.vetoes.set_index(["branch_id", "veto"])
    assert v.loc[("A", "provincial"), "explanation"] == "省级先进直接定级：经审核的省级及以上表彰或创新项目1项，直接评定为五星"
    assert v.loc[("B", "low_sat"), "explanation"].endswith("满意率92%，扣2分")


def test_award_lifts_a_low_score_but_no_rating_wins(tmp_path):
    # every branch with any claim at all is awarded 四星; C has none; B (77.5) is lifted to 四星.
    t = golden_tables()
    t["honors"] = pd.concat([t["honors"], pd.DataFrame({
        "branch_id": ["C"], "title": ["x"], "kind": ["表彰"], "level": ["县级"], "document": ["d"],
        "date": pd.to_datetime(["2025-01-01"]), "approved": [True]})], ignore_index=True)
    res, b = run(tmp_path, """
        [[vetoes]]
        id = "any_honor"
        name = "获得表彰"
        when = { measure = "honor_count", params = { min_level = "县级", approved_only = false, require_document = false }, op = ">=", value = 1 }
        effect = "award"
        award_level = "四星"
    """, tables=t)
    assert b.loc["B", "level"] == "四星"
    assert b.loc["C", "level"] == "未评定" and pd.isna(b.loc["C", "stars"])  # the 严重违纪违法 veto wins


# ---------------------------------------------------------------- quotas
@pytest.mark.parametrize("scope,share,expected", [
    # A and B share 东岗镇 (2 branches), C is alone in 城关镇 (and has no rating).
    ("parent", 0.5, "五星"),  # 东岗镇: floor(0.5 x 2) = 1 place -> A keeps five stars
    ("parent", 0.4, "四星"),  # floor(0.8) = 0 places
    ("county", 0.4, "五星"),  # county: floor(0.4 x 3) = 1 place
    ("category", 0.4, "四星"),  # 农村 (A, B): floor(0.8) = 0 places
])
def test_quota_scope(tmp_path, scope, share, expected):
    res, b = run(tmp_path, f"""
        drop = {{ quotas = ["五星"] }}
        [[quotas]]
        level = "五星"
        max_share = {share}
        scope = "{scope}"
    """)
    assert b.loc["A", "level"] == expected
    if expected == "四星":
        assert b.loc["A", "quota_note"] == "因名额限制由五星调整为四星"


@pytest.mark.parametrize("rounding,expected", [("floor", "四星"), ("round", "五星"), ("ceil", "五星")])
def test_quota_rounding(tmp_path, rounding, expected):
    # 20% of 3 branches = 0.6 places: floor 0, round 1, ceil 1
    res, b = run(tmp_path, f'[[quotas]]\nlevel = "五星"\nmax_share = 0.2\nrounding = "{rounding}"\n')
    assert b.loc["A", "level"] == expected


def test_quota_overflow_cascades_down(tmp_path):
    # 四星 <= 20% too: A, demoted from 五星, meets the 四星 quota (0 places) and ends at 三星.
    res, b = run(tmp_path, '[[quotas]]\nlevel = "四星"\nmax_share = 0.2\n')
    assert b.loc["A", "level"] == "三星"
    assert b.loc["A", "quota_note"] == "因名额限制由五星调整为三星"


# ---------------------------------------------------------------- variants and inheritance
def test_category_variant_changes_maxima(tmp_path):
    # 社区: 村集体经济 dropped, 群众满意率 worth 8 -> C: 群众与发展 8/8, and A/B unchanged
    res, b = run(tmp_path, """
        [[variants]]
        id = "community"
        name = "社区"
        categories = ["社区"]
        drop = { indicators = ["economy"] }
        [[variants.dimensions]]
        id = "people"
        [[variants.dimensions.indicators]]
        id = "satisfaction"
        max = 8
        rule = { type = "steps", steps = [{ ge = 0.95, points = 8 }, { ge = 0.9, points = 6 }], otherwise = 0 }
    """)
    d = res.dimensions.set_index(["branch_id", "dimension"])
    assert d.loc[("C", "people"), "max"] == 8 and d.loc[("C", "people"), "score"] == 8
    assert d.loc[("A", "people"), "max"] == 8 and b.loc["A", "base_total"] == pytest.approx(93.0)
    assert set(res.indicators.loc[res.indicators["branch_id"] == "C", "indicator"]) == {"committee", "lectures", "attendance", "satisfaction"}


def test_inheritance_merge_rules(tmp_path):
    p = tmp_path / "child.toml"
    p.write_text(textwrap.dedent(f"""
        extends = "{GOLDEN.as_posix()}"
        name = "子标准"
        drop = {{ indicators = ["attendance"] }}
        [[dimensions]]
        id = "org"
        max = 10
        [[dimensions.indicators]]
        id = "lectures"
        rule = {{ type = "pass_fail", op = ">=", value = 2 }}
        [bonus.points]
        "县级" = 0.5
    """), encoding="utf-8")
    r, _, _ = load(p)
    parent, _, _ = load(GOLDEN)
    ind = {i.id: i for _, i in r.indicators()}
    assert r.name == "子标准" and r.id == parent.id  # scalars replaced, others inherited
    assert "attendance" not in ind  # dropped
    assert ind["lectures"].rule.type == "pass_fail" and ind["lectures"].max == 4  # rule replaced whole, max kept
    assert r.bonus.points == {"省级": 3, "市级": 2, "县级": 0.5}  # tables merged key by key
    assert r.bonus.cap == parent.bonus.cap


def test_show_output_loads_back_to_the_same_rubric(tmp_path):
    from hardening_util import cli

    rc, out, _ = cli("rubric", "show", "five_star")
    assert rc == 0
    f = tmp_path / "shown.toml"
    f.write_text(out, encoding="utf-8")
    a, _, _ = load("five_star")
    b, _, _ = load(f)
    assert a.sha256() == b.sha256()


def test_warnings_fire_without_touching_points(tmp_path):
    # 党课 fewer than 4 -> a warning for A only; totals are those of the plain golden rubric
    res, b = run(tmp_path, """
        [[warnings]]
        id = "few_lectures"
        name = "党课偏少"
        when = { indicator = "lectures", op = "<", value = 4 }
    """)
    assert list(res.warnings["branch_id"]) == ["A"]
    assert res.warnings.iloc[0]["explanation"] == "党课偏少：党课全年开展3次"
    assert b.loc["A", "total"] == pytest.approx(96.0) and b.loc["A", "flags"] == ""
