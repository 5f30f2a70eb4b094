"""Hand-built branches for the self-check tests, scored by tests/golden/selfcheck_rubric.toml.

Each branch is a :class:`BranchSpec` whose defaults earn full marks (100 of 100, 农村); a spec changes only
what the test is about. The worked totals of the standard county (:func:`county_specs`):

    ONE    支委会 11 (-0.5), 党课 3 (-1), 满意率 85% (21 of 30, -9), 村集体经济 10万 (15 of 20, -5),
           现场检查 7 (-3), 纪律处分 1 (-2): 79.5 -> 三星, one 支委会 short of 四星
    TOP    full marks and a 县级 honor: 100 + 1 = 101 -> 五星 (the only five-star place: 20% of 7, floor)
    NEAR5  支委会 10 (-1), 党课 3 (-1), 满意率 90% (-3), 村集体经济 10万 (-5), 现场检查 8 (-2): 88 + 1 (县级
           honor) = 89 -> 四星; 90 by score after two more 支委会, but TOP holds the five-star place
    VETO   党课 3 (-1), 村集体经济 10万 (-5): 94, no honor -> 四星 by score; 严重违纪违法 -> 不评星
    CAP    满意率 50% (0 of 30): 70 -> 三星 by score, capped at 二星 (满意率 < 60%), 软弱涣散候选
    COMM   社区 (村集体经济 not applicable: max 80): 支委会 9 (-1.5): 78.5 / 80 x 100 = 98.125, no honor -> 四星
    DUES   one member unpaid for 6 months: on-time rate 42/48 = 87.5% -> 3.75 of 10, minus 1 for the member
           -> 2.75 (-7.25): 92.75, no honor -> 四星
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from golden_data import make_dataset
from scoring.dataset import Dataset

RUBRIC = Path(__file__).parent / "golden" / "selfcheck_rubric.toml"
YEAR = 2025
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]


@dataclass(frozen=True)
class BranchSpec:
    branch_id: str
    name: str
    category: str = "农村"
    parent: str = "东岗镇党委"
    self_score: float | None = None
    committee: int = 12
    lectures: int = 4
    life_meetings: int = 1
    expected: int = 10  # per meeting
    attended: int = 9  # 90%: the attendance ratio's full mark
    members: int = 4
    late: int = 0  # member-months paid in full but after the month
    long_unpaid: int = 0  # members who paid nothing from January to June
    respondents: int | None = 40  # None: no survey row (the committee has not surveyed the branch)
    satisfied: int = 38
    basic: int = 2
    income: float | None = 25.0
    incidents: tuple[str, ...] = ()
    inspection: float | None = 10.0
    honors: tuple[tuple[str, str], ...] = ()  # (title, level), approved and with a document
    claims: tuple[tuple[str, str], ...] = ()  # (title, level), with a document, 审核通过 blank (not yet reviewed)
    mobile: int = 0  # 流动党员 among the members (the first ones), contacted within 6 months: ``contacted``
    contacted: int = 0
    training: tuple[float, ...] = ()  # hours of training per member (the first ones), for training_hours


def committee_empty(spec: "BranchSpec", **changes) -> "BranchSpec":
    """The branch as its own workbook has it: the committee's sheets (群众满意度测评, 现场检查评分, 表彰与创新,
    负面事项) left empty, as the template tells the branch."""
    return replace(spec, respondents=None, inspection=None, honors=(), incidents=(), **changes)


def county_specs() -> list[BranchSpec]:
    return [
        BranchSpec("ONE", "东岗村党支部", self_score=85, committee=11, lectures=3, satisfied=30, basic=4, income=10,
                   inspection=7, incidents=("纪律处分",)),
        BranchSpec("TOP", "西岭村党支部", honors=(("先进基层党组织", "县级"),)),
        BranchSpec("NEAR5", "南坪村党支部", committee=10, lectures=3, satisfied=34, basic=2, income=10, inspection=8,
                   honors=(("红色堡垒", "县级"),)),
        BranchSpec("VETO", "北沟村党支部", lectures=3, income=10, incidents=("严重违纪违法",)),
        BranchSpec("CAP", "石桥村党支部", satisfied=15, basic=5),
        BranchSpec("COMM", "幸福社区党支部", category="社区", parent="城关镇党委", committee=9, income=None),
        BranchSpec("DUES", "柳河村党支部", long_unpaid=1),
    ]


def _meetings(s: BranchSpec) -> list[dict]:
    rows = []
    for kind, n in (("支委会", s.committee), ("党课", s.lectures), ("组织生活会", s.life_meetings)):
        for i in range(n):
            rows.append({"branch_id": s.branch_id, "date": pd.Timestamp(YEAR, 1 + i % 12, 5 + i // 12), "kind": kind,
                         "expected": s.expected, "attended": s.attended})
    return rows


def _dues(s: BranchSpec) -> tuple[list[dict], list[dict]]:
    members, dues = [], []
    late_left = s.late
    for k in range(s.members):
        mid = f"{s.branch_id}-{k + 1:02d}"
        mobile = k < s.mobile
        members.append({"member_id": mid, "branch_id": s.branch_id, "name": f"党员{k + 1}", "status": "正式",
                        "is_mobile": mobile,
                        "last_contact": pd.Timestamp(YEAR, 10, 1) if mobile and k < s.contacted else None})
        for j, month in enumerate(MONTHS):
            start = pd.Timestamp(month + "-01")
            unpaid = k < s.long_unpaid and j < 6
            is_late = not unpaid and k == s.members - 1 and late_left > 0
            if is_late:
                late_left -= 1
            paid_date = None if unpaid else (start + pd.offsets.MonthEnd(0) + pd.Timedelta(days=3) if is_late
                                             else start + pd.Timedelta(days=9))
            dues.append({"member_id": mid, "branch_id": s.branch_id, "month": month, "due": 10.0,
                         "paid": 0.0 if unpaid else 10.0, "paid_date": paid_date})
    return members, dues


def tables(specs: list[BranchSpec]) -> dict[str, pd.DataFrame]:
    """Canonical tables (English column ids) for the branches."""
    meetings, members, dues, incidents, inspections, honors, training = [], [], [], [], [], [], []
    for s in specs:
        meetings += _meetings(s)
        m, d = _dues(s)
        members += m
        dues += d
        incidents += [{"branch_id": s.branch_id, "kind": k, "date": pd.Timestamp(YEAR, 6, 1 + i), "note": ""}
                      for i, k in enumerate(s.incidents)]
        if s.inspection is not None:
            inspections.append({"branch_id": s.branch_id, "item": "综合检查", "score": float(s.inspection)})
        honors += [{"branch_id": s.branch_id, "title": t, "kind": "表彰", "level": lv, "document": f"示县发〔{YEAR}〕{i + 1}号",
                    "date": pd.Timestamp(YEAR, 7, 1), "approved": True} for i, (t, lv) in enumerate(s.honors)]
        honors += [{"branch_id": s.branch_id, "title": t, "kind": "表彰", "level": lv, "document": f"示县发〔{YEAR}〕{i + 51}号",
                    "date": pd.Timestamp(YEAR, 8, 1), "approved": None} for i, (t, lv) in enumerate(s.claims)]
        training += [{"member_id": f"{s.branch_id}-{k + 1:02d}", "branch_id": s.branch_id, "date": pd.Timestamp(YEAR, 4, 1),
                      "hours": float(h)} for k, h in enumerate(s.training)]
    branches = pd.DataFrame({
        "branch_id": [s.branch_id for s in specs],
        "name": [s.name for s in specs],
        "category": [s.category for s in specs],
        "parent": [s.parent for s in specs],
        "last_election": pd.Timestamp(YEAR - 2, 3, 1),
        "self_score": [s.self_score for s in specs],
    })
    surveyed = [s for s in specs if s.respondents is not None]
    surveys = pd.DataFrame({
        "branch_id": [s.branch_id for s in surveyed],
        "respondents": [s.respondents for s in surveyed],
        "satisfied": [s.satisfied for s in surveyed],
        "basic": [s.basic for s in surveyed],
        "dissatisfied": [s.respondents - s.satisfied - s.basic for s in surveyed],
    }, columns=["branch_id", "respondents", "satisfied", "basic", "dissatisfied"])
    economy = pd.DataFrame([{"branch_id": s.branch_id, "operating_income": s.income, "total_income": s.income}
                            for s in specs if s.income is not None], columns=["branch_id", "operating_income", "total_income"])

    def frame(rows, cols):
        return pd.DataFrame(rows, columns=cols)

    return {
        "branches": branches,
        "members": frame(members, ["member_id", "branch_id", "name", "status", "is_mobile", "last_contact"]),
        "meetings": frame(meetings, ["branch_id", "date", "kind", "expected", "attended"]),
        "dues": frame(dues, ["member_id", "branch_id", "month", "due", "paid", "paid_date"]),
        "surveys": surveys,
        "economy": economy,
        "incidents": frame(incidents, ["branch_id", "kind", "date", "note"]),
        "inspections": frame(inspections, ["branch_id", "item", "score"]),
        "honors": frame(honors, ["branch_id", "title", "kind", "level", "document", "date", "approved"]),
        "training": frame(training, ["member_id", "branch_id", "date", "hours"]),
    }


def dataset(specs: list[BranchSpec]) -> Dataset:
    return make_dataset(tables(specs))


def with_changes(specs: list[BranchSpec], branch_id: str, **changes) -> list[BranchSpec]:
    return [replace(s, **changes) if s.branch_id == branch_id else s for s in specs]
