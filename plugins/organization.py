"""Organisation life: 三会一课 and other meetings, attendance, and 换届 on time.

Frequencies follow the 支部工作条例 (2018): 支部党员大会 quarterly, 支委会 and 党小组会 monthly,
主题党日 monthly, 组织生活会 and 民主评议党员 yearly (domain-research.md section 1). The required counts
live in the rubric; these measures only count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import fmt_num, fmt_pct, safe_ratio
from scoring.tables import BRANCH_COLUMN, BRANCH_KEY, Column, RowCheck, Table

MEETING_KINDS = ("支部党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "民主评议党员")

TABLES: tuple[Table, ...] = (
    Table(
        "meetings", "组织生活记录",
        (
            BRANCH_COLUMN,
            Column("date", "日期", "date", example="2025-01-15"),
            Column("kind", "类型", "enum", values=MEETING_KINDS, help="会议或活动类型", example="支委会"),
            Column("expected", "应到人数", "int", help="支委会填支委人数，其他会议填应参加的党员人数", example=5,
                   min=1, max=2000),
            Column("attended", "实到人数", "int", example=5, min=0, max=2000),
            Column("topic", "主题", "str", required=False, example="学习传达上级会议精神"),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每次会议一行", help="三会一课、主题党日、组织生活会、民主评议党员的记录",
        year_column="date",
        checks=(RowCheck(("attended",), "<=", ("expected",)),),
    ),
)


_VERB = {"党课": "开展", "主题党日": "开展", "民主评议党员": "开展"}


def meeting_advice(params: dict, current: float, target: float) -> str | None:
    """The self-check's step for more meetings: "再召开2次支委会", "再开展1次党课"."""
    kind = params.get("kind") or "支委会"
    n = int(round(target - current))
    if n <= 0:
        return None
    return f"再{_VERB.get(kind, '召开')}{n}次{kind}"


def meeting_count(ctx: MeasureContext, kind: str = "支委会") -> pd.DataFrame:
    m = ctx.table("meetings")
    n = ctx.by_branch("meetings").count(ctx.in_year_mask(m) & ctx.one_of("meetings", "kind", [kind]))
    verb = _VERB.get(kind, "召开")
    return ctx.result(n, f"{kind}全年{verb}" + fmt_num(n) + "次")


def attendance_rate(ctx: MeasureContext, kinds: list[str] = ()) -> pd.DataFrame:
    m = ctx.table("meetings")
    rows = ctx.in_year_mask(m)
    if kinds:
        rows &= ctx.one_of("meetings", "kind", kinds)
    g = ctx.by_branch("meetings")
    expected, attended = g.sum(m["expected"], rows), g.sum(m["attended"], rows)
    rate = safe_ratio(attended.clip(upper=expected), expected)
    ev = ("全年会议应到" + fmt_num(expected) + "人次、实到" + fmt_num(attended) + "人次，出勤率" + fmt_pct(rate))
    ev = ev.where(expected > 0, "无会议出勤记录")
    return ctx.result(rate, ev)


def election_overdue(ctx: MeasureContext, term_rural_community: int = 5, term_other: int = 3) -> pd.DataFrame:
    b = ctx.branches.set_index("branch_id")
    default_term = np.where(b["category"].isin(["农村", "社区"]), term_rural_community, term_other)
    term = b["term_years"].astype("Float64").fillna(pd.Series(default_term, index=b.index)).astype(int)
    last = b["last_election"]
    parts = pd.DataFrame({"year": last.dt.year + term, "month": last.dt.month, "day": last.dt.day}).astype(float)
    due = pd.to_datetime(parts, errors="coerce")
    due = due.fillna(pd.to_datetime(parts.assign(day=parts["day"] - 1), errors="coerce"))  # 29 Feb -> 28 Feb
    overdue = ((ctx.year_end - due).dt.days / 365.25).clip(lower=0).round(2)
    base = "上次换届" + last.dt.strftime("%Y-%m-%d") + "，任期" + term.astype(str) + "年，应于" + due.dt.strftime("%Y-%m-%d") + "前换届"
    ev = pd.Series(np.where(overdue > 0, base + "，已超期" + fmt_num(overdue) + "年", base + "，未超期"), index=b.index)
    ev = ev.where(last.notna(), "无换届日期记录")
    return ctx.result(overdue.where(last.notna()), ev)


@hookimpl
def scoring_tables():
    return list(TABLES)


@hookimpl
def scoring_measures():
    return [
        Measure(
            "meeting_count", "会议次数", meeting_count,
            inputs={"meetings": ("branch_id", "date", "kind")},
            params={"kind": Param("支委会", f"会议类型：{'、'.join(MEETING_KINDS)}", choices=MEETING_KINDS)},
            unit="次", kind="count",
            description="考核年度内某类会议（活动）的次数",
            advice=meeting_advice,
        ),
        Measure(
            "attendance_rate", "会议出勤率", attendance_rate,
            inputs={"meetings": ("branch_id", "date", "kind", "expected", "attended")},
            params={"kinds": Param([], "只统计这些会议类型（空表示全部）", choices=MEETING_KINDS)},
            unit="%", kind="rate",
            description="考核年度内会议实到人次 ÷ 应到人次",
        ),
        Measure(
            "election_overdue", "换届超期年数", election_overdue,
            inputs={"branches": ("branch_id", "category", "last_election", "term_years")},
            params={
                "term_rural_community": Param(5, "农村、社区支部任期（年），支部信息未填任期时使用"),
                "term_other": Param(3, "其他支部任期（年），支部信息未填任期时使用"),
            },
            unit="年", kind="number", bounds=(0, float("inf")),
            description="截至考核年度末，任期届满后仍未换届的年数（未超期为0）",
        ),
    ]
