"""Semantic rubric checks that need the data (scoring.checks): golden warnings, the bundled rubrics and the
sample county warning-free, and the warnings where users see them (terminal, 评分标准与审计, JSON).

Each ``tests/warnings/NAME.toml`` is scored on the hand-built nine-branch county below and gives exactly
the lines of ``NAME.warnings.txt`` (an empty file: no warning). Cases named ``no_item_max_*`` use the same
records without the inspections' 满分 column. The rubric-only checks (errors) are golden cases of
``tests/invalid_rubrics`` (test_rubric.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from golden_data import make_dataset
from scoring.checks import ceiling_warnings, data_warnings, quota_warnings, suggest
from scoring.cli import main
from scoring.engine import compute_measures, load
from scoring.rubric import builtin_names
from scoring.sample import generate_county, write_dataset

HERE = Path(__file__).parent
CASES = sorted((HERE / "warnings").glob("*.toml"))
SAMPLE = HERE.parent / "sample_data" / "county_2025.xlsx"
BUNDLED = builtin_names() + [str(HERE.parent / "rubrics" / "examples" / "county_custom.toml")]


def county_tables() -> dict[str, pd.DataFrame]:
    """Nine branches: 东岗镇党委 3 (农村), 城关镇党委 5 (2 农村, 3 社区), 县直机关工委 1 (机关). Every branch
    holds 12 支委会; three inspection items of 2 points each (total 6), scored 2/2/2 for A1 and C3, lower
    for the others."""
    ids = ["A1", "A2", "A3", "C1", "C2", "C3", "C4", "C5", "K1"]
    branches = pd.DataFrame({
        "branch_id": ids,
        "name": [f"{i}党支部" for i in ids],
        "category": ["农村"] * 5 + ["社区"] * 3 + ["机关"],
        "parent": ["东岗镇党委"] * 3 + ["城关镇党委"] * 5 + ["县直机关工委"],
        "last_election": pd.to_datetime(["2023-03-01"] * 9),
    })
    meetings = pd.DataFrame({
        "branch_id": [b for b in ids for _ in range(12)],
        "date": list(pd.date_range("2025-01-15", periods=12, freq="MS")) * 9,
        "kind": "支委会", "expected": 5, "attended": 5,
    })
    scores = {"A1": (2, 2, 2), "A2": (2, 1.5, 1), "A3": (1, 1, 1), "C1": (2, 2, 1.5), "C2": (1.5, 1.5, 1.5),
              "C3": (2, 2, 2), "C4": (1, 2, 1.5), "C5": (0.5, 1, 2), "K1": (2, 1.5, 2)}
    items = ("阵地建设", "台账资料", "作用发挥")
    inspections = pd.DataFrame([{"branch_id": b, "item": it, "score": s, "item_max": 2.0}
                                for b, ss in scores.items() for it, s in zip(items, ss)])
    return {"branches": branches, "meetings": meetings, "inspections": inspections}


@pytest.fixture(scope="module")
def datasets():
    full = county_tables()
    bare = {**full, "inspections": full["inspections"].drop(columns="item_max")}
    return {"full": make_dataset(full), "no_item_max": make_dataset(bare)}


def _warnings_of(case: Path, data):
    r, reg, _ = load(str(case))
    measured = compute_measures(r, reg, data, r.year)
    return data_warnings(r, reg, data.table("branches"), measured)


def test_there_is_a_case_for_each_warning():
    stems = {c.stem for c in CASES}
    assert {"quota_zero_township", "quota_zero_county", "manual_items_total", "variant_items_total",
            "no_item_max_manual", "manual_items_exceed", "clean"} <= stems


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_warnings(case, datasets):
    data = datasets["no_item_max" if case.stem.startswith("no_item_max") else "full"]
    expected = [x for x in case.with_suffix(".warnings.txt").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert _warnings_of(case, data) == expected


def test_quota_places_are_counted_as_the_evaluator_counts_them():
    """Independently: 15% of 5 branches floors to 0, 30% of 5 to 1; with ceil every scope keeps a place."""
    r, _, _ = load(str(HERE / "warnings" / "quota_zero_township.toml"))
    lines = quota_warnings(r, county_tables()["branches"])
    five = [x for x in lines if "五星不超过" in x]
    four = [x for x in lines if "四星不超过" in x]
    assert sorted(x.split("「")[1].split("」")[0] for x in five) == sorted(["东岗镇党委", "城关镇党委", "县直机关工委"])
    assert len(five) == 3 and len(four) == 2 and not any("城关镇党委" in x for x in four)
    assert all("为0个名额" in x for x in lines)


def test_suggestions_are_close_and_unambiguous():
    assert suggest("party_lecture", ["party_lectures", "theme_days"]) == "，是否应为「party_lectures」？"
    assert suggest("越级信访", ["严重违纪违法", "越级上访", "纪律处分"]) == "，是否应为「越级上访」？"
    assert suggest("两星", ["五星", "四星", "三星", "二星", "一星"]) == ""  # 二星 or 四星: no guess
    assert suggest("xyz", ["party_lectures"]) == ""


@pytest.fixture(scope="module")
def sample_branches():
    """The bundled sample's 支部信息 sheet alone (the quotas need only each branch's scopes)."""
    from scoring.registry import make_registry

    spec = make_registry([]).tables["branches"]
    raw = pd.read_excel(SAMPLE, sheet_name=spec.sheet, engine="calamine")
    return raw.rename(columns={c.header: c.id for c in spec.columns})[["branch_id", "category", "parent"]]


@pytest.mark.parametrize("name", BUNDLED, ids=[Path(n).stem for n in BUNDLED])
def test_bundled_rubrics_give_every_scope_of_the_sample_a_place(name, sample_branches):
    r, _, _ = load(name)
    assert quota_warnings(r, sample_branches) == []


@pytest.fixture(scope="module")
def small_county():
    """A 14-branch generated county (every category present) and a cache of measured frames shared by the
    bundled rubrics (most of their measures are the same)."""
    return make_dataset(generate_county(14, seed=7, year=2025)), {}


@pytest.mark.parametrize("name", BUNDLED, ids=[Path(n).stem for n in BUNDLED])
def test_bundled_rubrics_full_marks_are_reachable_with_the_sample_generators_records(name, small_county):
    """The sample generator's inspection sheet totals what each category's variant gives 现场检查."""
    from scoring.engine import compute_measure
    from scoring.evaluator import Measured, measure_requests

    data, cache = small_county
    r, reg, _ = load(name)
    for key, (mid, params) in measure_requests(r).items():
        if key not in cache:
            m = reg.measures[mid]
            cache[key] = Measured(frame=compute_measure(m, data, r.year, params), unit=m.unit, rate=m.is_rate, kind=m.kind)
    assert ceiling_warnings(r, reg, data.table("branches"), cache) == []


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("warn_county")
    write_dataset(county_tables(), d / "county.xlsx", "xlsx")
    return d / "county.xlsx"


def test_run_prints_the_warnings_and_lists_them_in_the_audit_sheet_and_json(county_dir, tmp_path, capsys):
    case = HERE / "warnings" / "manual_items_total.toml"
    expected = case.with_suffix(".warnings.txt").read_text(encoding="utf-8").splitlines()
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    assert main(["run", str(county_dir), "-r", str(case), "-o", str(out), "--json", str(js), "-q"]) == 0
    err = capsys.readouterr().err
    assert [x.removeprefix("警告：") for x in err.splitlines() if x.startswith("警告：")] == expected
    from openpyxl import load_workbook

    ws = load_workbook(out, read_only=True)["评分标准与审计"]
    cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    at = cells.index("警告")
    assert cells[at + 1: at + 1 + len(expected)] == [f"{i}. {t}" for i, t in enumerate(expected, 1)]
    assert json.loads(js.read_text(encoding="utf-8"))["rubric_warnings"] == expected


def test_rubric_check_with_data_lists_the_warnings(county_dir, capsys):
    case = HERE / "warnings" / "quota_zero_county.toml"
    expected = case.with_suffix(".warnings.txt").read_text(encoding="utf-8").splitlines()
    assert main(["rubric", "check", str(case), "--data", str(county_dir)]) == 0
    out = capsys.readouterr().out
    assert f"有 {len(expected)} 条警告" in out
    assert [x.strip().removeprefix("警告：") for x in out.splitlines() if x.strip().startswith("警告：")] == expected
