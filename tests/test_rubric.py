"""Rubric loading: the standard rubric validates; every invalid case gives its exact located messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.engine import load
from scoring.errors import RubricError
from scoring.rubric import builtin_names

CASES = sorted((Path(__file__).parent / "invalid_rubrics").glob("*.toml"))


def test_standard_rubric_loads_and_sums_to_100():
    rubric, _, shown = load("five_star")
    assert shown == "rubrics/five_star.toml"
    assert sum(d.total_max for d in rubric.dimensions) == 100
    assert [d.name for d in rubric.dimensions] == ["领导班子好", "党员队伍好", "工作机制好", "工作业绩好", "群众反映好"]
    assert rubric.bonus.cap == 5
    assert [lv.min for lv in rubric.grading.levels] == [90, 80, 70, 60, 0]
    assert "five_star" in builtin_names()


def test_fingerprint_is_stable():
    a, _, _ = load("five_star")
    b, _, _ = load("five_star")
    assert a.sha256() == b.sha256() and len(a.sha256()) == 64


def test_there_are_enough_invalid_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_rubric_messages(case, monkeypatch):
    monkeypatch.chdir(case.parent)
    with pytest.raises(RubricError) as e:
        load(case.name)
    expected = case.with_suffix(".errors.txt").read_text(encoding="utf-8").strip()
    assert str(e.value).strip() == expected
    for line in e.value.messages:
        assert line.startswith(f"{case.name}: ")


@pytest.mark.parametrize("case", CASES[:3], ids=[c.stem for c in CASES[:3]])
def test_cli_exits_2_without_traceback(case, tmp_path):
    out = tmp_path / "r.xlsx"
    p = subprocess.run(
        [sys.executable, "-m", "scoring", "run", str(tmp_path), "-r", str(case), "-o", str(out)],
        capture_output=True, text=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert str(case) in p.stderr
    assert not out.exists()


def test_missing_rubric_file_is_a_usage_error(tmp_path):
    with pytest.raises(RubricError) as e:
        load(str(tmp_path / "nope.toml"))
    assert "找不到评分标准文件" in str(e.value)
