"""The data must belong to the rubric's year: a 2026 rubric on 2025 records is refused, not rated 一星."""

from __future__ import annotations

import pytest

from scoring.engine import build_meta, load, score, year_check
from scoring.errors import DataError


def test_a_table_with_records_but_none_in_the_year_is_a_data_error(small_county):
    with pytest.raises(DataError) as e:
        year_check(small_county, 2026)
    sheets = sorted(p.sheet for p in e.value.problems)
    assert sheets == ["党费交纳", "学习培训", "组织生活记录"]
    dues = next(p for p in e.value.problems if p.sheet == "党费交纳")
    assert dues.column == "月份"
    assert dues.message.startswith("没有2026年的记录（表中记录的年份：2025年）")
    assert "--year" in dues.message


def test_scoring_refuses_the_wrong_year(small_county):
    r, reg, _ = load("five_star")
    with pytest.raises(DataError):
        score(r, reg, small_county, year=2026)


def test_a_branch_without_any_record_of_the_year_is_noted(make_county):
    data = make_county(4)
    first = data.tables["branches"]["branch_id"].iloc[0]
    for tid in ("meetings", "dues", "training"):
        t = data.tables[tid]
        data.tables[tid] = t[t["branch_id"] != first].reset_index(drop=True)
    notes = year_check(data, 2025)
    assert [p.message for p in notes] == [
        f"支部「{data.tables['branches']['name'].iloc[0]}」（{first}）在2025年没有组织生活记录、学习培训、党费交纳中的任何记录"]
    r, reg, _ = load("five_star")
    meta = build_meta(r, reg, data, 2025, "test")
    assert notes[0] in meta.data_notes


def test_the_cli_says_it_in_chinese_with_exit_1(tmp_path, small_county):
    from scoring.cli import main
    from scoring.sample import write_dataset

    path = tmp_path / "c.csv"
    write_dataset(small_county.tables, tmp_path / "c", "csv")
    code = main(["run", str(tmp_path / "c"), "--year", "2026", "-o", str(tmp_path / "r.xlsx"), "-q"])
    assert code == 1 and not (tmp_path / "r.xlsx").exists() and not path.exists()


def test_the_year_is_checked_once_per_run_and_again_when_a_table_changes(make_county, monkeypatch):
    from scoring import engine

    data = make_county(4)
    calls = []
    real = engine._record_years
    monkeypatch.setattr(engine, "_record_years", lambda frame, col, *rest: calls.append(col) or real(frame, col, *rest))
    r, reg, _ = load("five_star")
    meta = build_meta(r, reg, data, 2025, "test")
    score(r, reg, data, 2025, meta)  # measuring checks the year again: the same tables, not read again
    assert calls == ["date", "date", "month"]  # 组织生活记录, 学习培训, 党费交纳: once each
    data.tables["dues"] = data.tables["dues"].copy()
    year_check(data, 2025)
    assert len(calls) == 6  # another frame: checked again
    with pytest.raises(DataError):
        year_check(data, 2026)  # another year
