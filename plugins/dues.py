"""党费: paid in full and on time, and members with six or more consecutive unpaid months.

The 2008 党费规定: dues are paid monthly; six consecutive months unpaid without good reason is treated
as leaving the Party (domain-research.md section 1).
"""

from __future__ import annotations

import pandas as pd

from plugins.members import MEMBER_COLUMN, MEMBER_KEY
from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import fmt_num, fmt_pct, safe_ratio
from scoring.tables import BRANCH_COLUMN, BRANCH_KEY, Column, Table
from scoring.wording import Counts, num, pct

TABLES: tuple[Table, ...] = (
    Table(
        "dues", "党费交纳",
        (
            MEMBER_COLUMN, BRANCH_COLUMN,
            Column("month", "月份", "month", help="格式 YYYY-MM", example="2025-01"),
            Column("due", "应交金额", "float", example=10, min=0, max=100000),
            Column("paid", "实交金额", "float", help="未交纳填0", example=10, min=0, max=100000),
            Column("paid_date", "交纳日期", "date", required=False, help="未交纳留空", example="2025-01-10"),
        ),
        key=("member_id", "month"), foreign_keys=(BRANCH_KEY, MEMBER_KEY), grain="每名党员每月一行", help="党费按月交纳记录",
        year_column="month",
    ),
)



def _dues_in_year(ctx: MeasureContext) -> pd.DataFrame:
    d = ctx.table("dues")
    return d[d["month"].astype(str).str.startswith(f"{ctx.year}-")]


def dues_on_time_rate(ctx: MeasureContext) -> pd.DataFrame:
    d = _dues_in_year(ctx)
    month_end = pd.to_datetime(d["month"].astype(str) + "-01", errors="coerce") + pd.offsets.MonthEnd(0)
    on_time = (d["paid"].fillna(0) >= d["due"].fillna(0)) & d["paid_date"].notna() & (d["paid_date"] <= month_end)
    g = d.assign(ok=on_time.astype(int)).groupby("branch_id")["ok"].agg(["size", "sum"])
    n, ok = ctx.per_branch(g["size"]), ctx.per_branch(g["sum"])
    rate = safe_ratio(ok, n)
    ev = "应交党费" + fmt_num(n) + "人次，足额按时交纳" + fmt_num(ok) + "人次，按时足额率" + fmt_pct(rate)
    return ctx.result(rate, ev.where(n > 0, "无党费交纳记录"), columns={"on_time": ok, "due": n})


def on_time_advice(params: dict, current: float, target: float, counts: Counts | None = None) -> str | None:
    """"足额按时交纳党费再增加6人次（按时足额率达到100%，目前87.5%）" (member-months)."""
    if counts is None or counts.more <= 0:
        return None
    return f"足额按时交纳党费再增加{num(counts.more)}人次（按时足额率达到{pct(target)}，目前{pct(current)}）"


def unpaid_advice(params: dict, current: float, target: float) -> str | None:
    """The self-check's step for fewer members with long unpaid dues: "督促2名党员补交党费"."""
    n = current - target
    return f"督促{num(n)}名党员补交党费" if n > 0 else None


def dues_long_unpaid(ctx: MeasureContext, months: int = 6) -> pd.DataFrame:
    d = _dues_in_year(ctx).sort_values(["member_id", "month"])
    unpaid = d["paid"].fillna(0) <= 0
    # a run changes whenever the member or the paid/unpaid state changes; run lengths by groupby
    run = ((d["member_id"] != d["member_id"].shift()) | (unpaid != unpaid.shift())).cumsum()
    runs = d.assign(unpaid=unpaid, run=run).groupby("run").agg(
        branch_id=("branch_id", "first"), member_id=("member_id", "first"), unpaid=("unpaid", "first"), n=("month", "size")
    )
    long = runs[runs["unpaid"] & (runs["n"] >= months)].drop_duplicates("member_id")
    n = ctx.per_branch(long.groupby("branch_id").size())
    return ctx.result(n, f"连续{months}个月以上未交党费的党员" + fmt_num(n) + "人")


@hookimpl
def scoring_tables():
    return list(TABLES)


@hookimpl
def scoring_measures():
    return [
        Measure(
            "dues_on_time_rate", "党费足额按时交纳率", dues_on_time_rate,
            inputs={"dues": ("member_id", "branch_id", "month", "due", "paid", "paid_date")},
            unit="%", kind="rate",
            description="考核年度内每人每月的党费中，在当月内足额交纳的比例",
            advice=on_time_advice, counts=("on_time", "due"),
        ),
        Measure(
            "dues_long_unpaid", "连续未交党费人数", dues_long_unpaid,
            inputs={"dues": ("member_id", "branch_id", "month", "paid")},
            params={"months": Param(6, "连续未交的月数")},
            unit="人", kind="count",
            description="考核年度内连续N个月及以上未交党费的党员人数",
            advice=unpaid_advice,
        ),
    ]
