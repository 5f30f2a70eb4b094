"""An example of a county's own plugin: the share of young members (under 35 at the year end).

A county adds an indicator the standard rubric does not measure by writing a plugin like this one and
naming it in its rubric (``plugins = ["local_plugin.py"]``) or packaging it with an entry point in the
group ``scoring.plugins``. The plugin only measures; points live in the rubric.
"""

from __future__ import annotations

from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import fmt_num, fmt_pct, safe_ratio

__version__ = "1.0"


def young_member_share(ctx: MeasureContext, age: int = 35) -> "pd.DataFrame":  # noqa: F821
    m = ctx.table("members")
    years = (ctx.year_end - m["birth_date"]).dt.days / 365.25
    g = m.assign(young=(years < age).astype(int)).groupby("branch_id")["young"].agg(["size", "sum"])
    n, young = ctx.per_branch(g["size"]), ctx.per_branch(g["sum"])
    share = safe_ratio(young, n)
    ev = "党员" + fmt_num(n) + f"人，{age}岁以下" + fmt_num(young) + "人，占" + fmt_pct(share)
    return ctx.result(share, ev.where(n > 0, "名册中无党员"))


@hookimpl
def scoring_measures():
    return [
        Measure(
            "young_member_share", "青年党员占比", young_member_share,
            inputs={"members": ("member_id", "branch_id", "birth_date")},
            params={"age": Param(35, "青年党员的年龄上限（周岁，不含）")},
            unit="%", kind="rate",
            description="考核年度末未满35周岁的党员占全体党员的比例（示例县本地指标）",
        ),
    ]
