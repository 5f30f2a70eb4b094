"""Golden case: three hand-built branches scored by tests/golden/small_rubric.toml, every point worked by hand.

The rubric has 20 points (org 12 + people 8), rescaled to 100; not-applicable indicators leave the maximum.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from golden_data import golden_dataset
from scoring.engine import load, score

RUBRIC = Path(__file__).parent / "golden" / "small_rubric.toml"

# (branch, indicator) -> (points, max). Arithmetic:
EXPECTED = {
    # A 东岗村 (农村): 支委会 12 of 12 -> 6; 党课 3 of 4 (the 2024 record is ignored) -> 4 - 1x1 = 3;
    # attendance 135/150 = 0.90 -> (0.90-0.70)/(0.95-0.70) x 2 = 1.6; 满意率 (40+8)/50 = 0.96 >= 0.95 -> 5;
    # income 25万 >= 20 -> 3.  Sum 18.6 of 20 -> 93.0; bonus 省级 3 (the 市级 claim for the same work
    # does not count) -> 96.0 -> 五星 by score, but the 20% quota of 3 branches is floor(0.6) = 0 -> 四星.
    ("A", "committee"): (6, 6), ("A", "lectures"): (3, 4), ("A", "attendance"): (1.6, 2),
    ("A", "satisfaction"): (5, 5), ("A", "economy"): (3, 3),
    # B 西岭村 (农村): 支委会 9 -> 6 - 3x0.5 = 4.5; 党课 4 -> 4; attendance 130/130 = 1.0 -> 2 (clipped);
    # 满意率 46/50 = 0.92 -> 4; income 8万 > 0 -> 1.  Sum 15.5 of 20 -> 77.5; bonus 0 (县级 claim without
    # a document, 市级 claim not approved) -> 77.5 -> 三星.
    ("B", "committee"): (4.5, 6), ("B", "lectures"): (4, 4), ("B", "attendance"): (2, 2),
    ("B", "satisfaction"): (4, 5), ("B", "economy"): (1, 3),
    # C 幸福社区 (社区): 支委会 12 -> 6; 党课 4 -> 4; attendance 304/320 = 0.95 -> 2; 满意率 50/50 -> 5;
    # 村集体经济 not applicable -> max 0.  Sum 17 of 17 -> 100.0; a 严重违纪违法 -> no rating (stars null),
    # still ranked by its total: first.
    ("C", "committee"): (6, 6), ("C", "lectures"): (4, 4), ("C", "attendance"): (2, 2),
    ("C", "satisfaction"): (5, 5), ("C", "economy"): (0, 0),
}


@pytest.fixture(scope="module")
def result():
    rubric, reg, _ = load(RUBRIC)
    return score(rubric, reg, golden_dataset())


def test_every_indicator_points_match_the_hand_computation(result):
    got = {(r.branch_id, r.indicator): (r.points, r.max) for r in result.indicators.itertuples()}
    assert got.keys() == EXPECTED.keys()
    for key, (pts, mx) in EXPECTED.items():
        assert got[key][0] == pytest.approx(pts), key
        assert got[key][1] == pytest.approx(mx), key


def test_totals_levels_ranks(result):
    b = result.branches.set_index("branch_id")
    assert list(result.branches["branch_id"]) == ["C", "A", "B"]
    assert b.loc["A", "base_total"] == pytest.approx(93.0)
    assert b.loc["A", "bonus"] == pytest.approx(3.0)
    assert b.loc["A", "total"] == pytest.approx(96.0)
    assert b.loc["A", "stars"] == 4 and b.loc["A", "level"] == "四星"
    assert b.loc["A", "quota_note"] == "因名额限制由五星调整为四星"
    assert b.loc["B", "total"] == pytest.approx(77.5)
    assert b.loc["B", "stars"] == 3
    assert b.loc["C", "total"] == pytest.approx(100.0)
    assert pd.isna(b.loc["C", "stars"]) and not b.loc["C", "rated"] and b.loc["C", "level"] == "未评定"
    assert list(result.branches["rank"]) == [1, 2, 3]


def test_dimension_subtotals(result):
    d = result.dimensions.set_index(["branch_id", "dimension"])
    assert d.loc[("A", "org"), "score"] == pytest.approx(10.6)
    assert d.loc[("B", "people"), "score"] == pytest.approx(5.0)
    assert d.loc[("C", "people"), "max"] == pytest.approx(5.0)  # 村集体经济 left out of 社区's maximum


def test_sentences_carry_the_evidence(result):
    e = result.indicators.set_index(["branch_id", "indicator"])["explanation"]
    assert e[("B", "committee")] == "支委会全年召开9次，要求12次，少3次，每次扣0.5分，扣1.5分"
    assert e[("A", "lectures")] == "党课全年开展3次，要求4次，少1次，每次扣1分，扣1分"
    assert e[("A", "attendance")] == "全年会议应到150人次、实到135人次，出勤率90%，按70%得0分、95%得满分2分线性计分，得1.6分"
    assert e[("B", "satisfaction")] == "测评50人，满意40人、基本满意6人，满意率92%，达到90%，得4分（满分5分）"
    assert e[("C", "economy")] == "不适用：非农村支部，不考核村集体经济，不计入满分"


def test_bonus_claims_each_explained(result):
    bz = result.bonus.set_index("claim")
    assert bz.loc["A-1", "counted"] and bz.loc["A-1", "points"] == 3
    assert not bz.loc["A-2", "counted"] and "同一项工作只计最高级别（已按省级计分）" in bz.loc["A-2", "explanation"]
    assert "未经审核通过" in bz.loc["B-1", "explanation"]
    assert "无表彰文件文号" in bz.loc["B-2", "explanation"]


def test_veto_explains_itself(result):
    v = result.vetoes
    assert list(v["branch_id"]) == ["C"]
    assert v.iloc[0]["explanation"] == "严重违纪违法：本年度发生严重违纪违法1起，取消评星资格（只考核不评星）"
