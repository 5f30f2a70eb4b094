"""The committee's own inputs: on-site inspection scores and honor / innovation claims for bonus."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring import Measure, MeasureContext, Param, hookimpl
from scoring.measure import ByBranch, fmt_num
from scoring.tables import BRANCH_COLUMN, BRANCH_KEY, Column, Table

HONOR_KINDS = ("表彰", "创新项目", "经验推广", "领导批示")
HONOR_LEVELS = ("国家级", "省级", "市级", "县级", "乡镇级")

TABLES: tuple[Table, ...] = (
    Table(
        "honors", "表彰与创新",
        (
            BRANCH_COLUMN,
            Column("title", "名称", "str", help="表彰或创新项目的名称；同一项工作的不同级别请用相同名称",
                   example="先进基层党组织"),
            Column("kind", "类型", "enum", values=HONOR_KINDS, example="表彰"),
            Column("level", "级别", "enum", values=HONOR_LEVELS, example="县级"),
            Column("document", "文号", "str", required=False, help="表彰文件文号；无文号不计分",
                   example="示县发〔2025〕12号"),
            Column("date", "日期", "date", required=False, example="2025-06-30"),
            Column("approved", "审核通过", "bool", required=False,
                   help="考评委员会审核结果：是/否；空白视为未审核，不计分", example="是"),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每项申报一行", help="表彰、创新项目等加分申报",
        filled_by="committee",
    ),
    Table(
        "inspections", "现场检查评分",
        (
            BRANCH_COLUMN,
            Column("item", "检查项目", "str", example="阵地建设"),
            Column("score", "得分", "float", example=1.5, min=0, max=100),
            Column("item_max", "满分", "float", required=False, min=0, max=100,
                   help="该检查项目的满分；填写后可核对评分标准的满分是否与检查项目一致", example=2),
            Column("reviewer", "评分人", "str", required=False, example="赵六"),
            Column("note", "备注", "str", required=False, example=""),
        ),
        foreign_keys=(BRANCH_KEY,), grain="每个检查项目一行", help="考评委员会现场检查打分",
        filled_by="committee",
    ),
)



def inspection_score(ctx: MeasureContext) -> pd.DataFrame:
    i = ctx.table("inspections")
    g = ctx.by_branch("inspections")
    order = np.lexsort((i["item"].astype(str).to_numpy(), g.codes))  # items in order within each branch
    texts = (i["item"].astype(str) + fmt_num(i["score"])).to_numpy(dtype=object)
    joined = ByBranch(g.codes[order], g.index).join(texts[order], "、")
    total = g.sum(i["score"]).where(g.count() > 0)
    ev = ("现场检查得分：" + joined + "，合计" + fmt_num(total) + "分")
    out = ctx.result(total, ev.where(total.notna(), "无现场检查评分"))
    if "item_max" in i.columns:  # the items' maxima summed: the most the branch could get (NaN if one is blank)
        item_max = i["item_max"].astype(float)
        filled = g.count(item_max.notna().to_numpy())
        ceiling = g.sum(item_max.fillna(0).to_numpy()).where((filled == g.count()) & (filled > 0))
        out["ceiling"] = ceiling.reindex(out.index).astype(float)
    return out


def _claims(ctx: MeasureContext) -> pd.DataFrame:
    h = ctx.table("honors")
    level_rank = h["level"].map({lv: i for i, lv in enumerate(HONOR_LEVELS)})
    doc = h["document"].astype(object).where(h["document"].notna(), "").astype(str).str.strip()
    approved = h["approved"].fillna(False).astype(bool)
    pending = h["approved"].isna()  # 审核通过 blank: not yet reviewed (a self-check shows it as 待审核)
    # claim ids follow the content, never the input row order: sort on every column that matters
    h = h.assign(_lr=level_rank, document=doc, approved=approved, _pending=pending).sort_values(
        ["branch_id", "title", "_lr", "kind", "date", "document", "approved"], na_position="last"
    )
    doc = h["document"]
    return pd.DataFrame({
        "branch_id": h["branch_id"],
        "claim": h["branch_id"] + "-" + (h.groupby("branch_id").cumcount() + 1).astype(str),
        "title": h["title"],
        "kind": h["kind"],
        "level": h["level"],
        "document": doc,
        "has_document": doc != "",
        "approved": h["approved"],
        "pending": h["_pending"].astype(bool),
    }).reset_index(drop=True)


def honor_claims(ctx: MeasureContext) -> pd.DataFrame:
    return _claims(ctx)


def honor_count(ctx: MeasureContext, min_level: str = "县级", kinds: list[str] = (),
                approved_only: bool = True, require_document: bool = True) -> pd.DataFrame:
    c = _claims(ctx)
    ok = c["level"].map({lv: i for i, lv in enumerate(HONOR_LEVELS)}) <= HONOR_LEVELS.index(min_level)
    if kinds:
        ok &= c["kind"].isin(list(kinds))
    if require_document:
        ok &= c["has_document"]
    # the count if the committee approved every claim still awaiting review (the self-check's 待审核)
    if_approved = ctx.per_branch(c[ok & (c["approved"] | c["pending"])].groupby("branch_id").size())
    if approved_only:
        ok &= c["approved"]
    n = ctx.per_branch(c[ok].groupby("branch_id").size())
    what = "、".join(kinds) if kinds else "表彰或创新项目"
    out = ctx.result(n, f"经审核的{min_level}及以上{what}" + fmt_num(n) + "项")
    out["if_approved"] = if_approved if approved_only else n
    return out


@hookimpl
def scoring_tables():
    return list(TABLES)


@hookimpl
def scoring_measures():
    return [
        Measure(
            "inspection_score", "现场检查评分", inspection_score,
            inputs={"inspections": ("branch_id", "item", "score", "item_max")},
            unit="分", kind="number", bounds=(0, float("inf")), ceiling_text="各检查项目满分合计",
            description="考评委员会现场检查各项得分之和",
        ),
        Measure(
            "honor_count", "表彰与创新项数", honor_count,
            inputs={"honors": ("branch_id", "title", "kind", "level", "document", "date", "approved")},
            params={
                "min_level": Param("县级", f"最低级别（{'、'.join(HONOR_LEVELS)}）", choices=HONOR_LEVELS),
                "kinds": Param([], f"只统计这些类型（{'、'.join(HONOR_KINDS)}；空表示全部）", choices=HONOR_KINDS),
                "approved_only": Param(True, "只统计审核通过的"),
                "require_document": Param(True, "只统计有文号的"),
            },
            unit="项", kind="count",
            description="达到某级别及以上的表彰、创新项目等项数",
        ),
        Measure(
            "honor_claims", "加分申报", honor_claims,
            inputs={"honors": ("branch_id", "title", "kind", "level", "document", "date", "approved")},
            unit="", kind="claims", choices={"level": HONOR_LEVELS, "kind": HONOR_KINDS},
            description="每条表彰、创新项目申报（供评分标准的加分块计分）",
        ),
    ]
