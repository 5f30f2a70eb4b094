"""The membership: training hours, recruitment, 流动党员 contact, 民主评议 results, age.

National norms (domain-research.md section 1): 32 training hours a year for members and 56 for branch
secretaries and committee members; 民主评议 yearly with 优秀 <= 1/3; 流动党员 contacted at least every six
months. The thresholds live in the rubric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import fmt_num, fmt_pct, safe_ratio
from scoring.tables import BRANCH_COLUMN, BRANCH_KEY, Column, ForeignKey, RowCheck, Table
from scoring.wording import Counts, num, pct

MEMBER_STATUS = ("正式", "预备")
MEMBER_ROLES = ("书记", "副书记", "委员", "党员")
RECRUITMENT_STAGES = ("入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员")
APPRAISAL_GRADES = ("优秀", "合格", "基本合格", "不合格")
GENDERS = ("男", "女")
MEMBER_KEY = ForeignKey("member_id", "members", "member_id")
MEMBER_COLUMN = Column("member_id", "党员编号", "str", help="与党员名册中的党员编号一致", example="XZ01-001-01")

TABLES: tuple[Table, ...] = (
    Table(
        "members", "党员名册",
        (
            Column("member_id", "党员编号", "str", help="每名党员唯一的编号", example="XZ01-001-01"),
            BRANCH_COLUMN,
            Column("name", "姓名", "str", example="李四"),
            Column("gender", "性别", "enum", required=False, values=GENDERS, example="男"),
            Column("birth_date", "出生日期", "date", required=False, example="1970-03-01", not_after_year=True),
            Column("join_date", "入党日期", "date", required=False, help="接收为预备党员的日期", example="1995-07-01",
                   not_after_year=True),
            Column("status", "党员类别", "enum", values=MEMBER_STATUS, help="正式党员或预备党员", example="正式"),
            Column("role", "支部职务", "enum", required=False, values=MEMBER_ROLES,
                   help="书记、副书记、委员或党员；空白按党员", example="党员"),
            Column("education", "学历", "str", required=False, example="高中"),
            Column("is_mobile", "流动党员", "bool", required=False, help="是/否", example="否"),
            Column("last_contact", "最近联系日期", "date", required=False,
                   help="流动党员最近一次与支部联系的日期", example="", not_after_year=True),
        ),
        key=("member_id",), foreign_keys=(BRANCH_KEY,), grain="每名党员一行", help="支部全体党员",
        checks=(RowCheck(("join_date",), ">=", ("birth_date",)),),
    ),
    Table(
        "recruitment", "发展党员",
        (
            BRANCH_COLUMN,
            Column("person", "姓名", "str", example="王五"),
            Column("stage", "阶段", "enum", values=RECRUITMENT_STAGES, example="入党积极分子"),
            Column("date", "日期", "date", help="进入该阶段的日期", example="2025-04-01"),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每人每个阶段一行", help="发展党员各阶段记录",
    ),
    Table(
        "training", "学习培训",
        (
            MEMBER_COLUMN, BRANCH_COLUMN,
            Column("date", "日期", "date", example="2025-03-10"),
            Column("hours", "学时", "float", example=4, min=0, max=100),
            Column("topic", "内容", "str", required=False, example="党章学习"),
        ),
        foreign_keys=(BRANCH_KEY, MEMBER_KEY), grain="每人每次培训一行", help="党员参加学习培训的学时",
        year_column="date",
    ),
    Table(
        "appraisals", "民主评议结果",
        (
            MEMBER_COLUMN, BRANCH_COLUMN,
            Column("grade", "评议等次", "enum", values=APPRAISAL_GRADES, example="合格"),
        ),
        key=("member_id",), foreign_keys=(BRANCH_KEY, MEMBER_KEY), grain="每名党员一行", help="本年度民主评议党员的结果",
    ),
)



def _members(ctx: MeasureContext) -> pd.DataFrame:
    m = ctx.table("members")
    return m.assign(role=m["role"].fillna("党员") if "role" in m else "党员")


def training_hours(ctx: MeasureContext, roles: list[str] = ()) -> pd.DataFrame:
    m = _members(ctx)
    who_rows = m["role"].isin(list(roles)) if roles else None
    t = ctx.table("training")
    member = ctx.positions("training", "member_id", "members")  # each training row's 党员名册 row
    hours = t["hours"].to_numpy(dtype=float, na_value=np.nan)
    ok = ctx.in_year_mask(t).to_numpy(dtype=bool) & (member >= 0) & ~np.isnan(hours)
    per_member = np.bincount(member[ok], weights=hours[ok], minlength=len(m))
    g = ctx.by_branch("members")
    avg, n = g.mean(per_member, who_rows), g.count(who_rows)
    avg = avg.where(n > 0)
    who = "、".join(roles) if roles else "党员"
    ev = who + fmt_num(n) + "人，人均参加学习培训" + fmt_num(avg, 1) + "学时"
    ev = ev.where(n > 0, f"名册中无{who}")
    total = g.sum(per_member, who_rows)
    return ctx.result(avg, ev, columns={"hours": total, "members": n})


def training_advice(params: dict, current: float, target: float, counts: Counts | None = None) -> str | None:
    """The self-check's step for more training, per member and in total hours to plan:
    "人均学习培训学时提高到32学时（目前30.9学时），25名党员合计再参加27.5学时"."""
    if counts is None or counts.more <= 0:
        return None
    roles = params.get("roles") or []
    who = "、".join(roles) if roles else "党员"
    return (f"{who}人均学习培训学时提高到{num(target, 1)}学时（目前{num(current, 1)}学时），"
            f"{num(counts.denominator)}{'人' if roles else '名党员'}合计再参加{num(counts.more, 1)}学时")


def recruitment_gap_years(ctx: MeasureContext, stage: str = "预备党员") -> pd.DataFrame:
    r = ctx.table("recruitment")
    rows = ctx.one_of("recruitment", "stage", [stage]) & (r["date"] <= ctx.year_end)
    g = ctx.by_branch("recruitment")
    last = g.max(r["date"], rows)
    in_year = g.count(rows & ctx.in_year_mask(r))
    gap = (ctx.year - last.dt.year).astype(float)
    ev = pd.Series(
        np.where(gap == 0, f"本年度发展{stage}" + fmt_num(in_year) + "名",
                 f"最近一次发展{stage}在" + last.dt.year.astype("Int64").astype(str) + "年（已" + fmt_num(gap) + "年未发展）"),
        index=ctx.branch_index,
    )
    ev = ev.where(last.notna(), f"无发展{stage}记录")
    return ctx.result(gap, ev)


def activist_count(ctx: MeasureContext, stages: list[str] = ("入党积极分子", "发展对象")) -> pd.DataFrame:
    r = ctx.table("recruitment")
    g = ctx.by_branch("recruitment")
    person, _ = ctx.factorize("recruitment", "person")
    stage_code, stage_values = ctx.factorize("recruitment", "stage")
    # each person's latest record by date (then stage as text), as sorting the records would give
    stage_rank = np.argsort(np.argsort(stage_values.astype(str).to_numpy(), kind="stable"))
    rank = np.where(stage_code >= 0, stage_rank[np.maximum(stage_code, 0)], len(stage_values))
    day = r["date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    rows = np.flatnonzero((r["date"] <= ctx.year_end).to_numpy(dtype=bool))
    order = rows[np.lexsort((rank[rows], day[rows], person[rows], g.codes[rows]))]
    latest = np.zeros(len(r), dtype=bool)
    if len(order):
        b, who = g.codes[order], person[order]
        latest[order[np.r_[(b[1:] != b[:-1]) | (who[1:] != who[:-1]), True]]] = True
    n = g.count(latest & ctx.one_of("recruitment", "stage", stages))
    return ctx.result(n, "在培养的" + "、".join(stages) + "共" + fmt_num(n) + "人")


def mobile_contact_rate(ctx: MeasureContext, months: int = 6) -> pd.DataFrame:
    m = ctx.table("members")
    mobile = m["is_mobile"].fillna(False).astype(bool)
    since = ctx.year_end - pd.DateOffset(months=months)
    contact = m["last_contact"]
    contacted = mobile & contact.notna() & (contact > since) & (contact <= ctx.year_end)
    g = ctx.by_branch("members")
    n, c = g.count(mobile), g.count(contacted)
    rate = safe_ratio(c, n)
    ev = "流动党员" + fmt_num(n) + f"人，近{months}个月内联系" + fmt_num(c) + "人，联系率" + fmt_pct(rate)
    ev = ev.where(n > 0, "本支部无流动党员")
    return ctx.result(rate, ev, applicable=n > 0, columns={"contacted": c, "mobile": n})


def contact_advice(params: dict, current: float, target: float, counts: Counts | None = None) -> str | None:
    """"再联系2名流动党员（近6个月内联系率达到100%，目前33.3%）"."""
    if counts is None or counts.more <= 0:
        return None
    months = params.get("months", 6)
    return f"再联系{num(counts.more)}名流动党员（近{months}个月内联系率达到{pct(target)}，目前{pct(current)}）"


def appraisal_coverage(ctx: MeasureContext) -> pd.DataFrame:
    full = ctx.one_of("members", "status", ["正式"])
    meetings = ctx.table("meetings")
    held = ctx.by_branch("meetings").count(ctx.in_year_mask(meetings) & ctx.one_of("meetings", "kind", ["民主评议党员"]))
    member = ctx.positions("appraisals", "member_id", "members")  # each appraisal's 党员名册 row
    appraised = ctx.by_branch("appraisals").count((member >= 0) & full[np.maximum(member, 0)])
    n_full = ctx.by_branch("members").count(full)
    cov = safe_ratio(appraised, n_full).where(held > 0, 0.0)
    ev = "开展民主评议党员，正式党员" + fmt_num(n_full) + "人，参加评议" + fmt_num(appraised) + "人，参评率" + fmt_pct(cov)
    ev = ev.where(held > 0, "本年度未开展民主评议党员")
    return ctx.result(cov, ev, columns={"appraised": appraised.where(held > 0, 0.0), "full_members": n_full})


def appraisal_advice(params: dict, current: float, target: float, counts: Counts | None = None) -> str | None:
    """"再组织1名正式党员参加民主评议（参评率达到95.2%，目前90.5%）"; when no 民主评议党员 was held, to hold it."""
    if counts is None or counts.more <= 0:
        return None
    if counts.numerator <= 0:
        return f"开展民主评议党员，组织{num(counts.more)}名正式党员参加评议（参评率达到{pct(target)}）"
    return f"再组织{num(counts.more)}名正式党员参加民主评议（参评率达到{pct(target)}，目前{pct(current)}）"


def excellent_share(ctx: MeasureContext) -> pd.DataFrame:
    g = ctx.by_branch("appraisals")
    n, ex = g.count(), g.count(ctx.one_of("appraisals", "grade", ["优秀"]))
    share = safe_ratio(ex, n)
    ev = ("评议" + fmt_num(n) + "人，评为优秀" + fmt_num(ex) + "人，占" + fmt_pct(share)).where(n > 0, "无民主评议结果")
    return ctx.result(share, ev)


def average_age(ctx: MeasureContext) -> pd.DataFrame:
    m = ctx.table("members")
    age = (ctx.year_end - m["birth_date"]).dt.days / 365.25
    avg = ctx.by_branch("members").mean(age)
    ev = ("党员平均年龄" + fmt_num(avg, 1) + "岁").where(avg.notna(), "无党员出生日期")
    return ctx.result(avg, ev)


@hookimpl
def scoring_tables():
    return list(TABLES)


@hookimpl
def scoring_measures():
    return [
        Measure(
            "training_hours", "人均学习培训学时", training_hours,
            inputs={"members": ("member_id", "branch_id", "role"), "training": ("member_id", "date", "hours")},
            params={"roles": Param([], f"只统计这些支部职务的人员（{'、'.join(MEMBER_ROLES)}；空表示全体党员）", choices=MEMBER_ROLES)},
            unit="学时", kind="number", digits=1, bounds=(0, float("inf")),
            description="考核年度内人均参加学习培训的学时",
            advice=training_advice, counts=("hours", "members"),
        ),
        Measure(
            "recruitment_gap_years", "未发展党员年数", recruitment_gap_years,
            inputs={"recruitment": ("branch_id", "stage", "date")},
            params={"stage": Param("预备党员", "按哪个阶段计算（默认：接收为预备党员）", choices=RECRUITMENT_STAGES)},
            unit="年", kind="number", bounds=(0, float("inf")),
            description="考核年度与最近一次接收预备党员的年份之差（本年度发展为0；从无记录时无数据）",
        ),
        Measure(
            "activist_count", "入党积极分子储备", activist_count,
            inputs={"recruitment": ("branch_id", "person", "stage", "date")},
            params={"stages": Param(["入党积极分子", "发展对象"], "视为在培养的阶段", choices=RECRUITMENT_STAGES)},
            unit="人", kind="count",
            description="截至考核年度末，最近所处阶段为入党积极分子或发展对象的人数",
        ),
        Measure(
            "mobile_contact_rate", "流动党员联系率", mobile_contact_rate,
            inputs={"members": ("member_id", "branch_id", "is_mobile", "last_contact")},
            params={"months": Param(6, "联系时限（月）")},
            unit="%", kind="rate",
            description="流动党员中近N个月内与支部联系的比例；无流动党员的支部不适用",
            advice=contact_advice, counts=("contacted", "mobile"),
        ),
        Measure(
            "appraisal_coverage", "民主评议参评率", appraisal_coverage,
            inputs={
                "members": ("member_id", "branch_id", "status"),
                "meetings": ("branch_id", "date", "kind"),
                "appraisals": ("member_id", "branch_id"),
            },
            unit="%", kind="rate",
            description="开展了民主评议党员时，正式党员中参加评议的比例；未开展为0（预备党员参加但不评等次）",
            advice=appraisal_advice, counts=("appraised", "full_members"),
        ),
        Measure(
            "excellent_share", "民主评议优秀比例", excellent_share,
            inputs={"appraisals": ("member_id", "branch_id", "grade")},
            unit="%", kind="rate",
            description="民主评议结果中评为优秀的比例（不得超过1/3）",
        ),
        Measure(
            "average_age", "党员平均年龄", average_age,
            inputs={"members": ("member_id", "branch_id", "birth_date")},
            unit="岁", kind="number", digits=1,
            description="截至考核年度末党员的平均年龄",
        ),
    ]
