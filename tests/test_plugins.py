"""The plugin surface: registration order, duplicate ids, misspelt hooks, local plugins, crashes."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden_data import golden_dataset, make_dataset
from scoring import hookspecs
from scoring.engine import compute_measure, compute_measures
from scoring.errors import PluginError
from scoring.measure import MeasureContext
from scoring.registry import make_registry
from scoring.rubric import load_rubric

# the hooks of the plugin manager itself (not a list kept by hand): every one needs a test below named
# test_hook_<name>, and documentation saying what it returns and whether it is firstresult
PM_HOOKS = sorted(name for name in dir(make_registry().pm.hook) if name.startswith("scoring_"))


def test_the_hookspec_module_declares_the_hooks_the_manager_has():
    declared = sorted(name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("scoring_"))
    assert declared == PM_HOOKS == ["scoring_measures", "scoring_sample", "scoring_tables"]


@pytest.mark.parametrize("hook", PM_HOOKS)
def test_every_hook_is_documented(hook):
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert ":return:" in doc and "firstresult" in doc, hook


@pytest.mark.parametrize("hook", PM_HOOKS)
def test_every_hook_has_a_test(hook):
    assert callable(globals().get(f"test_hook_{hook}")), f"no test_hook_{hook} in tests/test_plugins.py"


def test_hook_scoring_tables(tmp_path):
    """A plugin's tables are collected in registration order after the core table; each built-in plugin
    declares the tables it reads."""
    reg = make_registry()
    assert list(reg.tables) == ["branches", "meetings", "members", "recruitment", "training", "appraisals", "dues",
                                "economy", "surveys", "incidents", "rectifications", "honors", "inspections"]
    owner = {t.id: impl.plugin_name for impl in reg.pm.hook.scoring_tables.get_hookimpls() for t in impl.function() or []}
    assert owner == {"meetings": "organization", "members": "members", "recruitment": "members", "training": "members",
                     "appraisals": "members", "dues": "dues", "economy": "performance", "surveys": "performance",
                     "incidents": "performance", "rectifications": "performance", "honors": "committee",
                     "inspections": "committee"}
    committee = sorted(t.id for t in reg.tables.values() if t.committee)
    assert committee == ["honors", "incidents", "inspections", "surveys"]
    p = _write(tmp_path, "local.py", LOCAL)
    assert list(make_registry([p]).tables)[-1] == "volunteering"


def test_hook_scoring_measures():
    reg = make_registry()
    ids = [m.id for impl in reg.pm.hook.scoring_measures.get_hookimpls() for m in impl.function()]
    assert len(ids) == len(set(ids)) == len(reg.measures)
    assert all(reg.measures[i].plugin for i in ids)


def test_hook_scoring_sample(tmp_path):
    """firstresult: the built-in generator answers unless a later plugin does."""
    from scoring.sample import generate_county

    reg = make_registry()
    tables = generate_county(3, seed=1, registry=reg)
    assert set(tables) == set(reg.tables) and len(tables["branches"]) == 3
    p = _write(tmp_path, "mysample.py", """
        import pandas as pd
        from scoring import hookimpl
        @hookimpl
        def scoring_sample(n_branches, seed, year):
            return {"branches": pd.DataFrame({"branch_id": [f"S{i}" for i in range(n_branches)]})}
    """)
    mine = generate_county(2, registry=make_registry([p]))
    assert list(mine) == ["branches"] and mine["branches"]["branch_id"].tolist() == ["S0", "S1"]


def test_builtin_plugins_register_in_fixed_order_with_all_measures():
    reg = make_registry()
    names = [n for n, _ in reg.plugin_versions()]
    assert names == ["organization", "members", "dues", "performance", "committee", "sample_county"]
    assert {"meeting_count", "attendance_rate", "election_overdue", "training_hours", "recruitment_gap_years",
            "activist_count", "mobile_contact_rate", "appraisal_coverage", "excellent_share", "dues_on_time_rate",
            "dues_long_unpaid", "collective_income", "satisfaction_rate", "incident_count", "rectification_rate",
            "inspection_score", "honor_claims", "honor_count", "average_age"} <= set(reg.measures)
    for m in reg.measures.values():
        assert m.description and m.name and m.inputs and m.plugin, m.id


def test_same_plugins_in_the_same_order_with_or_without_entry_points(tmp_path):
    with_ep = make_registry()
    without = make_registry(use_entry_points=False)
    assert [n for n, _ in with_ep.plugin_versions()] == [n for n, _ in without.plugin_versions()]
    assert list(with_ep.measures) == list(without.measures) and list(with_ep.tables) == list(without.tables)
    p = _write(tmp_path, "local.py", LOCAL)
    assert [n for n, _ in make_registry([p]).plugin_versions()][-1] == "local:local"


def test_a_measure_reading_an_undeclared_table_is_refused_naming_the_plugin(tmp_path, small_county):
    """Today's trap: a local plugin reading dues without declaring it saw an empty table (every branch 0)."""
    p = _write(tmp_path, "sneaky.py", """
        from scoring import Measure, hookimpl
        def unpaid(ctx):
            d = ctx.table("dues")
            n = ctx.per_branch(d[d["paid"] <= 0].groupby("branch_id").size())
            return ctx.result(n, "未交" + n.astype(str))
        @hookimpl
        def scoring_measures():
            return [Measure("unpaid_any", "未交党费人次", unpaid, inputs={"members": ("member_id", "branch_id")},
                            description="x")]
    """)
    reg = make_registry([p])
    with pytest.raises(PluginError) as e:
        compute_measure(reg.measures["unpaid_any"], small_county, 2025)
    assert str(e.value) == ("插件「local:sneaky」的测量项「unpaid_any」读取了未在 inputs 中声明的数据表「dues」（党费交纳）；"
                            "请在测量项的 inputs 中写明它读取的表和列")


def test_a_measure_reading_an_undeclared_column_is_refused(tmp_path, small_county):
    p = _write(tmp_path, "sneakycol.py", """
        from scoring import Measure, hookimpl
        def mobile(ctx):
            m = ctx.table("members")
            n = ctx.per_branch(m[m["is_mobile"].fillna(False)].groupby("branch_id").size())
            return ctx.result(n, "流动" + n.astype(str))
        @hookimpl
        def scoring_measures():
            return [Measure("mobile_n", "流动党员数", mobile, inputs={"members": ("member_id", "branch_id")},
                            description="x")]
    """)
    with pytest.raises(PluginError) as e:
        compute_measure(make_registry([p]).measures["mobile_n"], small_county, 2025)
    assert "local:sneakycol" in str(e.value) and "mobile_n" in str(e.value) and "is_mobile" in str(e.value)
    assert "inputs" in str(e.value)


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


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["支委会", "党课", "党员大会", None]), max_size=25),
       st.lists(st.sampled_from(["支委会", "党课", "主题党日"]), max_size=3))
def test_one_of_is_isin_on_every_row(kinds, wanted):
    """``ctx.one_of`` (worked out on the distinct values) marks exactly the rows ``isin`` marks."""
    data = golden_dataset()
    meetings = pd.DataFrame({"branch_id": ["A"] * len(kinds), "kind": pd.Series(kinds, dtype=object)})
    data.tables["meetings"] = meetings
    got = MeasureContext(data, 2025).one_of("meetings", "kind", wanted)
    assert got.dtype == bool
    assert got.tolist() == meetings["kind"].isin(wanted).tolist()
