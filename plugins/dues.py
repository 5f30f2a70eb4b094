"""党费: paid in full and on time, and members with six or more consecutive unpaid months.

The 2008 党费规定: dues are paid monthly; six consecutive months unpaid without good reason is treated
as leaving the Party (domain-research.md section 1).
"""

from __future__ import annotations

import numpy as np
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



def _months(ctx: MeasureContext) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Per row of 党费交纳 the code of its month among the distinct months, the distinct months, and
    which of them lie in the assessment year (months are worked out once per distinct value)."""
    codes, months = ctx.factorize("dues", "month")
    in_year = np.asarray(months.astype(str).str.startswith(f"{ctx.year}-"), dtype=bool)
    return codes, months, in_year


def _rows_in_year(codes: np.ndarray, in_year: np.ndarray) -> np.ndarray:
    return (codes >= 0) & np.append(in_year, False)[codes]


def dues_on_time_rate(ctx: MeasureContext) -> pd.DataFrame:
    d = ctx.table("dues")
    codes, months, in_year = _months(ctx)
    rows = _rows_in_year(codes, in_year)
    month_end = (pd.to_datetime(months.astype(str) + "-01", errors="coerce") + pd.offsets.MonthEnd(0)).to_numpy(
        dtype="datetime64[ns]")
    row_end = np.append(month_end, np.datetime64("NaT", "ns"))[codes]
    paid_date = d["paid_date"].to_numpy(dtype="datetime64[ns]")
    on_time = ((d["paid"].fillna(0) >= d["due"].fillna(0)).to_numpy(dtype=bool) & ~np.isnat(paid_date)
               & (paid_date <= row_end))
    g = ctx.by_branch("dues")
    n, ok = g.count(rows), g.count(rows & on_time)
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
    d = ctx.table("dues")
    codes, month_values, in_year = _months(ctx)
    member, _ = ctx.factorize("dues", "member_id")
    g = ctx.by_branch("dues")
    rows = np.flatnonzero(_rows_in_year(codes, in_year))
    # each member's months in order (months as text sort as dates): one sort of integer keys, none when the
    # records already come in that order
    month_rank = np.argsort(np.argsort(month_values.astype(str).to_numpy(), kind="stable"))
    key = member[rows] * (len(month_values) + 1) + month_rank[codes[rows]]
    if len(key) > 1 and not (key[1:] >= key[:-1]).all():
        rows = rows[np.argsort(key, kind="stable")]
    who = member[rows]
    unpaid = (d["paid"].fillna(0) <= 0).to_numpy(dtype=bool)[rows]
    # runs of consecutive months in the same state (paid or not) per member, and their lengths
    start = np.r_[True, (who[1:] != who[:-1]) | (unpaid[1:] != unpaid[:-1])] if len(rows) else np.zeros(0, bool)
    first = np.flatnonzero(start)
    length = np.diff(np.r_[first, len(rows)])
    long = first[unpaid[first] & (length >= months)]
    # a member counts once, in the branch of the first such run
    long = long[np.r_[True, who[long][1:] != who[long][:-1]]] if len(long) else long
    counted = np.zeros(len(d), dtype=bool)
    counted[rows[long]] = True
    n = g.count(counted)
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
