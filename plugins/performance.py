"""Work results and the public's view: 村集体经济, rectification, 群众满意度, negative events.

村集体经济 bands follow the 空壳村 (< 5万元) line and 浙江善治村 (>= 20万 / >= 10万) cited in
domain-research.md section 7; 满意率 thresholds for vetoes (< 60%) follow section 5.
"""

from __future__ import annotations

import pandas as pd

from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import fmt_num, fmt_pct, safe_ratio
from scoring.tables import BRANCH_COLUMN, BRANCH_KEY, CATEGORIES, Column, RowCheck, Table

INCIDENT_KINDS = ("严重违纪违法", "群体性事件", "重大安全事故", "越级上访", "纪律处分")

TABLES: tuple[Table, ...] = (
    Table(
        "economy", "村集体经济",
        (
            BRANCH_COLUMN,
            Column("operating_income", "经营性收入(万元)", "float", example=12.5, min=0, max=1000000),
            Column("total_income", "总收入(万元)", "float", required=False, example=30, min=0, max=1000000),
        ),
        key=("branch_id",), foreign_keys=(BRANCH_KEY,), grain="每个村一行", help="村集体经济收入（仅农村支部填写）",
        checks=(RowCheck(("operating_income",), "<=", ("total_income",)),),
    ),
    Table(
        "surveys", "群众满意度测评",
        (
            BRANCH_COLUMN,
            Column("respondents", "测评人数", "int", example=50, min=1, max=100000),
            Column("satisfied", "满意", "int", example=40, min=0, max=100000),
            Column("basic", "基本满意", "int", example=8, min=0, max=100000),
            Column("dissatisfied", "不满意", "int", example=2, min=0, max=100000),
        ),
        key=("branch_id",), foreign_keys=(BRANCH_KEY,), grain="每个支部一行", help="群众满意度测评票数",
        checks=(RowCheck(("satisfied", "basic", "dissatisfied"), "<=", ("respondents",)),),
        filled_by="committee",
    ),
    Table(
        "incidents", "负面事项",
        (
            BRANCH_COLUMN,
            Column("kind", "类型", "enum", values=INCIDENT_KINDS, example="纪律处分"),
            Column("date", "日期", "date", example="2025-08-01"),
            Column("note", "说明", "str", required=False, example=""),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每件事项一行", help="违纪违法、群体性事件、安全事故、越级上访、纪律处分",
        filled_by="committee",
    ),
    Table(
        "rectifications", "整改台账",
        (
            BRANCH_COLUMN,
            Column("problem", "问题", "str", example="党费收缴不及时"),
            Column("due_date", "整改时限", "date", example="2025-06-30"),
            Column("closed_date", "销号日期", "date", required=False, help="尚未销号留空", example="2025-06-20"),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每个问题一行", help="上级反馈问题的整改销号情况",
    ),
)



def collective_income(ctx: MeasureContext, categories: list[str] = ("农村",)) -> pd.DataFrame:
    b = ctx.branches.set_index("branch_id")
    applies = b["category"].isin(list(categories))
    e = ctx.table("economy").set_index("branch_id")["operating_income"]
    income = e.reindex(ctx.branch_index)
    ev = ("村集体经济经营性收入" + fmt_num(income) + "万元").where(income.notna(), "未填报村集体经济收入")
    ev = ev.where(applies, "非" + "、".join(categories) + "支部，不考核村集体经济")
    return ctx.result(income, ev, applicable=applies)


def satisfaction_rate(ctx: MeasureContext) -> pd.DataFrame:
    s = ctx.table("surveys").set_index("branch_id").reindex(ctx.branch_index)
    n = s["respondents"].astype(float)
    ok = s["satisfied"].astype(float) + s["basic"].astype(float)
    rate = safe_ratio(ok.clip(upper=n), n)
    ev = ("测评" + fmt_num(n) + "人，满意" + fmt_num(s["satisfied"].astype(float)) + "人、基本满意"
          + fmt_num(s["basic"].astype(float)) + "人，满意率" + fmt_pct(rate))
    return ctx.result(rate, ev.where(rate.notna(), "无群众满意度测评数据"))


def incident_count(ctx: MeasureContext, kinds: list[str] = ()) -> pd.DataFrame:
    i = ctx.in_year(ctx.table("incidents"))
    if kinds:
        i = i[i["kind"].isin(list(kinds))]
    by_kind = i.groupby(["branch_id", "kind"]).size().rename("n").reset_index()
    by_kind["txt"] = by_kind["kind"].astype(str) + by_kind["n"].astype(str) + "起"
    text = by_kind.sort_values(["branch_id", "kind"]).groupby("branch_id")["txt"].agg("、".join)
    n = ctx.per_branch(by_kind.groupby("branch_id")["n"].sum())
    what = "、".join(kinds) if kinds else "负面事项"
    ev = ("本年度发生" + text.reindex(ctx.branch_index).fillna("")).where(n > 0, f"本年度无{what}")
    return ctx.result(n, ev)


def rectification_rate(ctx: MeasureContext) -> pd.DataFrame:
    r = ctx.table("rectifications")
    rows = ctx.in_year_mask(r, "due_date")
    closed = r["closed_date"].notna() & (r["closed_date"] <= r["due_date"])
    g = ctx.by_branch("rectifications")
    n, ok = g.count(rows), g.count(rows & closed)
    rate = safe_ratio(ok, n)
    ev = "整改问题" + fmt_num(n) + "个，按期销号" + fmt_num(ok) + "个，按期销号率" + fmt_pct(rate)
    return ctx.result(rate, ev.where(n > 0, "本年度无整改任务"), applicable=n > 0)


@hookimpl
def scoring_tables():
    return list(TABLES)


@hookimpl
def scoring_measures():
    return [
        Measure(
            "collective_income", "村集体经济经营性收入", collective_income,
            inputs={"branches": ("branch_id", "category"), "economy": ("branch_id", "operating_income")},
            params={"categories": Param(["农村"], "考核此项的支部类别，其他类别不适用", choices=CATEGORIES)},
            unit="万元", kind="number",
            description="村集体经济经营性收入（万元）；非农村支部不适用",
        ),
        Measure(
            "satisfaction_rate", "群众满意率", satisfaction_rate,
            inputs={"surveys": ("branch_id", "respondents", "satisfied", "basic")},
            unit="%", kind="rate",
            description="（满意 + 基本满意）÷ 测评人数",
        ),
        Measure(
            "incident_count", "负面事项件数", incident_count,
            inputs={"incidents": ("branch_id", "kind", "date")},
            params={"kinds": Param([], f"只统计这些类型（{'、'.join(INCIDENT_KINDS)}；空表示全部）", choices=INCIDENT_KINDS)},
            unit="起", kind="count",
            description="考核年度内发生的负面事项件数",
        ),
        Measure(
            "rectification_rate", "整改按期销号率", rectification_rate,
            inputs={"rectifications": ("branch_id", "due_date", "closed_date")},
            unit="%", kind="rate",
            description="整改时限在考核年度内的问题中，按期（不晚于整改时限）销号的比例；无整改任务的支部不适用",
        ),
    ]
