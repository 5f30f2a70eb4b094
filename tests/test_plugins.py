"""The plugin surface: registration order, duplicate ids, misspelt hooks, local plugins, crashes."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from golden_data import golden_dataset, make_dataset
from scoring import hookspecs
from scoring.engine import compute_measures, load, score
from scoring.errors import PluginError
from scoring.evaluator import measure_key
from scoring.measure import MeasureContext
from scoring.registry import DEFAULT_PLUGINS, make_registry
from scoring.rubric import load_rubric

HOOKS = [name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("scoring_")]


def test_every_hook_is_documented_and_tested():
    here = Path(__file__).parent
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in here.glob("test_*.py"))
    assert HOOKS == ["scoring_measures", "scoring_tables"]
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":return:" in doc and "firstresult" in doc, name
        assert f"def {name}" in tests_text, f"no test implements the hook {name}"


def test_builtin_plugins_register_in_fixed_order_with_all_measures():
    reg = make_registry()
    names = [n for n, _ in reg.plugin_versions()]
    assert set(names) == {n for n, _ in DEFAULT_PLUGINS}
    assert {"meeting_count", "attendance_rate", "election_overdue", "training_hours", "recruitment_gap_years",
            "activist_count", "mobile_contact_rate", "appraisal_coverage", "excellent_share", "dues_on_time_rate",
            "dues_long_unpaid", "collective_income", "satisfaction_rate", "incident_count", "rectification_rate",
            "inspection_score", "honor_claims", "honor_count", "average_age"} <= set(reg.measures)
    for m in reg.measures.values():
        assert m.description and m.name and m.inputs and m.plugin, m.id


def test_fallback_without_entry_points_gives_the_same_measures():
    assert set(make_registry(use_entry_points=False).measures) == set(make_registry().measures)


def _write(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


LOCAL = """
    import pandas as pd
    from scoring import Measure, Param, hookimpl
    from scoring.tables import Column, ForeignKey, Table

    def volunteer_hours(ctx, per_member=True):
        v = ctx.table("volunteering")
        total = ctx.per_branch(v.groupby("branch_id")["hours"].sum())
        return ctx.result(total, "志愿服务" + total.astype(int).astype(str) + "小时")

    @hookimpl
    def scoring_tables():
        return [Table("volunteering", "志愿服务", (
            Column("branch_id", "支部编码", "str"), Column("hours", "时长", "float")),
            foreign_keys=(ForeignKey("branch_id", "branches", "branch_id"),))]

    @hookimpl
    def scoring_measures():
        return [Measure("volunteer_hours", "志愿服务时长", volunteer_hours,
                        inputs={"volunteering": ("branch_id", "hours")},
                        params={"per_member": Param(True, "按人均")}, unit="小时", description="志愿服务总时长")]
"""


def test_local_plugin_adds_a_table_and_a_measure(tmp_path):
    p = _write(tmp_path, "local.py", LOCAL)
    reg = make_registry([p])
    assert reg.measures["volunteer_hours"].plugin == "local:local"
    assert reg.tables["volunteering"].sheet == "志愿服务"
    data = golden_dataset()
    data.tables["volunteering"] = pd.DataFrame({"branch_id": ["A", "A", "B"], "hours": [2.0, 3.0, 1.0]})
    data.specs["volunteering"] = reg.tables["volunteering"]
    out = reg.measures["volunteer_hours"].compute(MeasureContext(data, 2025))
    assert out.loc["A", "value"] == 5 and out.loc["C", "value"] == 0
    assert out.loc["A", "evidence"] == "志愿服务5小时"


def test_duplicate_measure_id_names_both_plugins(tmp_path):
    p = _write(tmp_path, "dup.py", """
        from scoring import Measure, hookimpl
        @hookimpl
        def scoring_measures():
            return [Measure("meeting_count", "重复", lambda ctx: None, inputs={"meetings": ("branch_id",)}, description="x")]
    """)
    with pytest.raises(PluginError) as e:
        make_registry([p])
    assert "meeting_count" in str(e.value) and "local:dup" in str(e.value) and "organization" in str(e.value)


def test_duplicate_table_id_is_refused(tmp_path):
    p = _write(tmp_path, "duptable.py", """
        from scoring import hookimpl
        from scoring.tables import Column, Table
        @hookimpl
        def scoring_tables():
            return [Table("members", "党员", (Column("member_id", "编号", "str"),))]
    """)
    with pytest.raises(PluginError, match="members"):
        make_registry([p])


def test_misspelt_hook_fails_at_start(tmp_path):
    p = _write(tmp_path, "typo.py", """
        from scoring import hookimpl
        @hookimpl
        def scoring_measure():
            return []
    """)
    with pytest.raises(PluginError) as e:
        make_registry([p])
    assert "scoring_measure" in str(e.value)


def test_measure_reading_unknown_column_is_refused(tmp_path):
    p = _write(tmp_path, "badcol.py", """
        from scoring import Measure, hookimpl
        @hookimpl
        def scoring_measures():
            return [Measure("x_count", "x", lambda ctx: None, inputs={"meetings": ("branch_id", "colour")}, description="x")]
    """)
    with pytest.raises(PluginError, match="colour"):
        make_registry([p])


def test_crashing_measure_stops_the_run_naming_plugin_and_measure(tmp_path):
    p = _write(tmp_path, "crash.py", """
        from scoring import Measure, hookimpl
        def boom(ctx):
            raise ZeroDivisionError("division by zero")
        @hookimpl
        def scoring_measures():
            return [Measure("boom", "炸", boom, inputs={"branches": ("branch_id",)}, description="x")]
    """)
    reg = make_registry([p])
    rubric, _ = load_rubric("five_star", reg)
    bad = rubric.model_copy(update={"dimensions": [rubric.dimensions[0].model_copy(update={
        "indicators": [rubric.dimensions[0].indicators[0].model_copy(update={"measure": "boom"})]
        + list(rubric.dimensions[0].indicators[1:])})] + list(rubric.dimensions[1:])})
    with pytest.raises(PluginError) as e:
        compute_measures(bad, reg, golden_dataset(), 2025)
    assert "local:crash" in str(e.value) and "boom" in str(e.value) and "ZeroDivisionError" in str(e.value)


def test_every_measure_runs_on_a_county_with_only_branches():
    reg = make_registry()
    data = make_dataset({"branches": golden_dataset().tables["branches"]})
    ctx = MeasureContext(data, 2025)
    for m in reg.measures.values():
        out = m.compute(ctx, **{k: p.default for k, p in m.params.items()})
        if m.kind == "claims":
            assert out.empty
        else:
            assert sorted(out.index) == ["A", "B", "C"], m.id
            assert {"value", "applicable", "evidence"} <= set(out.columns)
            assert (out["evidence"].str.len() > 0).all(), m.id


def test_scoring_plugins_lists_every_measure():
    p = subprocess.run([sys.executable, "-m", "scoring", "plugins"], capture_output=True, text=True)
    assert p.returncode == 0
    reg = make_registry()
    for mid, m in reg.measures.items():
        assert mid in p.stdout and f"[插件：{m.plugin}]" in p.stdout
    assert "参数 kind（默认 '支委会'）" in p.stdout
    assert "读取：组织生活记录（支部编码、日期、类型）" in p.stdout
