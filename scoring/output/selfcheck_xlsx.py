"""The self-check workbook (支部自检工作簿): one branch, printed by its secretary before the review.

Sheets, in this order (every name, header and note is Chinese):

1. 自检结果   the branch at a glance: total and its parts, level, rank among the branches in the data,
              dimension subtotals, self-score against the computed total, vetoes and flags with their
              explanations, the next level, the gap, whether it is reachable and the path to it
2. 逐项得分   every indicator: dimension, indicator, measured value, points, maximum, points lost, reason
3. 提分路径   the improvement plan: indicator, points lost, points recoverable, effect on the total, what
              to do, kind (可改进 / 委员会评定 / 无法挽回), biggest effect first
4. 加分明细   the branch's bonus claims, counted or not, and why

Items the committee has not decided yet (:func:`scoring.selfcheck.find_pending`: its sheets left empty in a
branch's workbook) are 待评定: 自检结果 gives the total as a range and compares 自评分 with it, and lists
them with the points they can take; 逐项得分 shows them without points or lost points; they are never in
提分路径.

The layout is the results workbook's (:mod:`scoring.output.xlsx`): a merged title row, a note row, an
Excel table with frozen header, 等线 font, widths fitted to Chinese text with long text wrapped, A4
landscape one page wide with the header row repeated. Written with xlsxwriter to a temporary file in
the target directory and renamed into place only when complete.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import xlsxwriter

from scoring.evaluator import Measured, measure_key
from scoring.atomic import atomic_output
from scoring.output.jsonout import FLAG_SEPARATOR
from scoring.output.xlsx import FONT, FONT_SIZE, Col, Looks, SheetWriter
from scoring.result import Result
from scoring.selfcheck import KIND_FINAL, KIND_PENDING, SCOPE_ZH, Pending, num_text, value_text

SHEET_SUMMARY = "自检结果"
SHEET_DETAIL = "逐项得分"
SHEET_PLAN = "提分路径"
SHEET_BONUS = "加分明细"
SHEET_NAMES = (SHEET_SUMMARY, SHEET_DETAIL, SHEET_PLAN, SHEET_BONUS)

SUMMARY_HEADERS = ("项目", "内容")
DETAIL_HEADERS = ("维度", "指标", "测量值", "得分", "满分", "失分", "说明")
PLAN_HEADERS = ("指标", "失分", "可挽回分值", "对总分的影响", "怎么做", "类型")
BONUS_HEADERS = ("名称", "类型", "级别", "是否计分", "计入分值", "说明")


def selfcheck_title(result: Result, branch_id: str) -> str:
    """"东岗村党支部2025年度考核自检"."""
    b = result.branches
    name = str(b.loc[b["branch_id"] == branch_id, "name"].iloc[0])
    year = result.meta.year or result.rubric.year
    return f"{name}{year}年度考核自检"


def _branch(result: Result, branch_id: str) -> pd.Series:
    b = result.branches
    return b[b["branch_id"] == branch_id].iloc[0]


def _rank_text(result: Result, row: pd.Series) -> str:
    n = len(result.branches)
    text = f"第{int(row['rank'])}名（数据中共{n}个支部）"
    scope = result.rubric.ranking.scope
    if scope != "county":
        text += f"；{SCOPE_ZH[scope].replace('中', '')}第{int(row['scope_rank'])}名"
    return text


def _active(pending: Pending | None) -> Pending | None:
    return pending if pending is not None and pending.active else None


def summary_frame(result: Result, nxt: dict, branch_id: str, pending: Pending | None = None) -> pd.DataFrame:
    """The 自检结果 sheet as (项目, 内容) rows."""
    r = result.rubric
    row = _branch(result, branch_id)
    pend = _active(pending)
    rows: list[tuple[str, str]] = [
        ("支部名称", str(row["name"])),
        ("支部编码", str(branch_id)),
        ("上级党组织", str(row["parent"])),
        ("类别", str(row["category"])),
        ("评分标准", f"{r.name}（版本 {r.version}）"),
    ]
    if pend is not None:
        rows += [("总分", pend.headline()),
                 ("评定等级", pend.level_text() + ("（待评定）" if pend.level_low != pend.level_high else ""))]
        if len(result.branches) > 1:
            rows.append(("排名", "待考评委员会评定后确定"))
    else:
        rows += [("总分", f"{num_text(row['total'])}分（基础得分{num_text(row['base_total'])}分，加分{num_text(row['bonus'])}分，"
                         f"扣减{num_text(row['deduction'])}分）"),
                 ("评定等级", str(row["level"]))]
        if len(result.branches) > 1:
            rows.append(("排名", _rank_text(result, row)))
    dims = result.dimensions[result.dimensions["branch_id"] == branch_id].sort_values("order")
    waiting = {p["indicator"]: p for p in pend.indicators} if pend is not None else {}
    ind = result.indicators[result.indicators["branch_id"] == branch_id]
    for d in dims.itertuples(index=False):
        mine = ind[(ind["dimension"] == d.dimension) & ind["indicator"].isin(list(waiting))]
        if not len(mine):
            rows.append((f"维度：{d.name}", f"{num_text(d.score)}分（满分{num_text(d.max)}分）"))
            continue
        own = float(d.score) - float(mine["points"].astype(float).sum())
        parts = "、".join(f"{waiting[i]['name']}{num_text(waiting[i]['low'])}～{num_text(waiting[i]['high'])}分"
                         for i in mine["indicator"])
        rows.append((f"维度：{d.name}", f"不含待评定事项{num_text(own)}分（满分{num_text(d.max)}分；待评定：{parts}）"))
    self_score = float(row["self_score"]) if pd.notna(row["self_score"]) else math.nan
    if math.isnan(self_score):
        rows.append(("自评分", "未填报"))
    elif pend is not None:
        rows.append(("自评分", pend.self_score_text(self_score)))
    else:
        diff = self_score - float(row["total"])
        word = "高" if diff > 0 else "低"
        compare = "与计算得分一致" if abs(diff) < 0.005 else f"比计算得分{word}{num_text(abs(diff))}分"
        rows.append(("自评分", f"{num_text(self_score)}分，{compare}"))
    vet = result.vetoes[result.vetoes["branch_id"] == branch_id] if len(result.vetoes) else result.vetoes
    veto_flags = set()
    for v in vet.itertuples(index=False) if len(vet) else []:
        rows.append((f"否决与预警：{v.name}", str(v.explanation)))
        if v.flag:
            veto_flags.add(str(v.flag))
    for flag in [f for f in str(row["flags"]).split(FLAG_SEPARATOR) if f and f not in veto_flags]:
        rc = r.rectification
        why = (f"总分排名位于{SCOPE_ZH[rc.scope].replace('中', '')}后{num_text(rc.bottom_share * 100)}%"
               if rc is not None and flag == rc.flag else "")
        rows.append((f"标记：{flag}", why or flag))
    if pend is not None:
        rows += [(f"待评定：{i['name']}", i["text"]) for i in pend.indicators]
        if pend.bonus is not None:
            rows.append(("待审核：加分", pend.bonus["text"]))
        rows += [("待评定：等级条件", q["text"]) for q in pend.requires]
        rows += [(f"无法判断：{v['name']}", v["text"]) for v in pend.vetoes]
    if str(row["quota_note"]):
        rows.append(("名额调整", str(row["quota_note"])))
    if str(row["requires_note"]):
        rows.append(("附加条件", str(row["requires_note"])))
    if nxt.get("next_level") and not nxt.get("rated", True):
        rows.append(("按得分可评为", f"{nxt['next_level']}（因否决事项不能评定等级）"))
    elif nxt.get("next_level"):
        unit = nxt.get("threshold_unit", "分")
        rows += [
            ("下一等级", f"{nxt['next_level']}（{num_text(nxt['threshold'])}{unit}）"),
            ("还差", f"{num_text(nxt['gap'])}{unit}"),
            ("能否达到", "能" if nxt["reachable"] else "不能"),
        ]
    rows.append(("自检结论", nxt.get("summary") or ""))
    for i, step in enumerate(nxt.get("path") or [], 1):
        rows.append((f"提分路径{i}", f"{step['action']}（总分+{num_text(step['gain'])}分）"))
    for b in nxt.get("blockers") or []:
        rows.append(("不能达到的原因", b["text"]))
    for i, step in enumerate(nxt.get("quota_path") or [], 1):
        rows.append((f"进入名额的路径{i}", f"{step['action']}（总分+{num_text(step['gain'])}分）"))
    for note in nxt.get("notes") or []:
        rows.append(("提示", note))
    return pd.DataFrame(rows, columns=list(SUMMARY_HEADERS))


def _measured_text(result: Result, ind: pd.DataFrame, measured: dict[str, Measured] | None, category: str) -> pd.Series:
    """The measured value with its unit ("87.5%", "9次") where the measure is known, else the number."""
    r = result.rubric
    keys = {i.id: measure_key(i.measure, i.params) for d in r.dimensions_for(category) for i in d.indicators}
    out = []
    for i in ind.itertuples(index=False):
        value = float(i.value) if pd.notna(i.value) else math.nan
        if not bool(i.applicable):
            out.append("不适用")
        elif measured is not None and i.indicator in keys and keys[i.indicator] in measured:
            out.append(value_text(value, measured[keys[i.indicator]]))
        else:
            out.append("无数据" if math.isnan(value) else num_text(value, 4))
    return pd.Series(out, index=ind.index, dtype=object)


def detail_frame(result: Result, branch_id: str, measured: dict[str, Measured] | None = None,
                 pending: Pending | None = None) -> pd.DataFrame:
    """The 逐项得分 sheet; a pending indicator reads 待评定 with the points it can take, no points, no loss."""
    row = _branch(result, branch_id)
    ind = result.indicators[result.indicators["branch_id"] == branch_id].sort_values("order")
    pend = _active(pending)
    waiting = {p["indicator"]: p for p in pend.indicators} if pend is not None else {}
    is_waiting = ind["indicator"].isin(list(waiting)).to_numpy()
    measured_text = _measured_text(result, ind, measured, str(row["category"])).to_numpy()
    texts = ind["explanation"].astype(str).to_numpy()
    return pd.DataFrame({
        "维度": ind["dimension_name"].to_numpy(),
        "指标": ind["name"].to_numpy(),
        "测量值": [KIND_PENDING if w else t for w, t in zip(is_waiting, measured_text)],
        "得分": ind["points"].astype(float).where(~is_waiting).to_numpy(),
        "满分": ind["max"].astype(float).to_numpy(),
        "失分": ind["lost"].astype(float).where(~is_waiting).to_numpy(),
        "说明": [waiting[i]["text"] if w else t for i, w, t in zip(ind["indicator"], is_waiting, texts)],
    })


def plan_frame(plan: pd.DataFrame) -> pd.DataFrame:
    """The 提分路径 sheet: the steps, committee-scored and irrecoverable items; never the pending ones."""
    plan = plan[plan["kind"] != KIND_PENDING]
    return pd.DataFrame({
        "指标": plan["name"].to_numpy(),
        "失分": plan["lost"].astype(float).to_numpy(),
        "可挽回分值": plan["recoverable"].astype(float).to_numpy(),
        "对总分的影响": plan["total_gain"].astype(float).to_numpy(),
        "怎么做": plan["action"].astype(str).to_numpy(),
        "类型": plan["kind"].astype(str).to_numpy(),
    })


def bonus_frame(result: Result, branch_id: str) -> pd.DataFrame:
    bz = result.bonus[result.bonus["branch_id"] == branch_id] if len(result.bonus) else result.bonus
    if not len(bz):
        return pd.DataFrame(columns=list(BONUS_HEADERS))
    return pd.DataFrame({
        "名称": bz["title"].astype(str).to_numpy(),
        "类型": bz["kind"].astype(str).to_numpy(),
        "级别": bz["level"].astype(str).to_numpy(),
        "是否计分": ["是" if bool(c) else "否" for c in bz["counted"]],
        "计入分值": bz["points"].astype(float).to_numpy(),
        "说明": bz["explanation"].astype(str).to_numpy(),
    })


def write_selfcheck(result: Result, plan: pd.DataFrame, nxt: dict, branch_id: str, path: Path,
                    measured: dict[str, Measured] | None = None, pending: Pending | None = None) -> None:
    """Write the one-branch self-check workbook to ``path`` (atomically). ``measured`` (optional) lets the
    逐项得分 sheet show measured values with their units ("87.5%" rather than 0.875); ``pending``
    (:func:`scoring.selfcheck.find_pending`) the items the committee has not decided yet."""
    title = selfcheck_title(result, branch_id)
    meta = replace(result.meta, title=title)
    with atomic_output(path, ".xlsx") as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {
            "default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
            "strings_to_formulas": False,
            "strings_to_urls": False,
        })
        try:
            workbook.set_properties({"title": title, "subject": "党支部年度考核自检", "author": "党支部考核评分系统"})
            looks = Looks(workbook)
            sw = SheetWriter(workbook, looks, meta)
            _write_sheets(sw, result, plan, nxt, branch_id, measured, pending)
        except BaseException:
            workbook.fileclosed = True  # release xlsxwriter without output; atomic_output removes tmp
            raise
        workbook.close()


def _write_sheets(sw: SheetWriter, result: Result, plan: pd.DataFrame, nxt: dict, branch_id: str,
                  measured: dict[str, Measured] | None, pending: Pending | None = None) -> None:
    looks = sw.looks
    summary = summary_frame(result, nxt, branch_id, pending)
    note = "供支部考核前自查，最终以考评委员会评定为准。"
    sw.table_sheet(SHEET_SUMMARY, SHEET_SUMMARY, note, summary, [Col("项目", cap=24), Col("内容", cap=90)])

    detail = detail_frame(result, branch_id, measured, pending)
    cols = [Col("维度", cap=16), Col("指标", cap=24), Col("测量值", cap=16), Col("得分", "point"), Col("满分", "point"),
            Col("失分", "point"), Col("说明", cap=70)]
    note = "每项指标的测量值、得分与失分；满分为 0 的指标不适用于本支部，不计入满分。"
    if _active(pending) is not None:
        note += "「待评定」的指标由考评委员会评定，不计为失分，说明中列出可得分值的范围。"
    ws, first, last = sw.table_sheet(SHEET_DETAIL, SHEET_DETAIL, note, detail, cols, freeze_cols=2)
    if len(detail):
        lost_col = DETAIL_HEADERS.index("失分")
        ws.conditional_format(first, lost_col, last, lost_col,
                              {"type": "cell", "criteria": ">", "value": 0, "format": looks.lost})
        max_cell = f"$E{first + 1}"
        ws.conditional_format(first, 0, last, len(cols) - 1, {
            "type": "formula", "criteria": f"=AND(ISNUMBER({max_cell}),{max_cell}=0)", "format": looks.not_applicable})

    frame = plan_frame(plan)
    cols = [Col("指标", cap=24), Col("失分", "point"), Col("可挽回分值", "point"), Col("对总分的影响", "point"),
            Col("怎么做", cap=70), Col("类型", center=True)]
    note = "按对总分的影响从大到小排列。「委员会评定」由考评委员会现场评定；「无法挽回」是本年度已发生的事项。"
    if _active(pending) is not None:
        note += "待评定事项不列入本表（见「自检结果」），表中的分值按待评定事项的最低分计算。"
    ws, first, last = sw.table_sheet(SHEET_PLAN, SHEET_PLAN, note, frame, cols, freeze_cols=1)
    if len(frame):
        kind_cell = f"$F{first + 1}"
        ws.conditional_format(first, 0, last, len(cols) - 1, {
            "type": "formula", "criteria": f'={kind_cell}="{KIND_FINAL}"', "format": looks.not_applicable})

    bonus = bonus_frame(result, branch_id)
    cols = [Col("名称", cap=30), Col("类型", center=True), Col("级别", center=True), Col("是否计分", center=True),
            Col("计入分值", "point"), Col("说明", cap=70)]
    note = "本支部的全部加分申报；未计分或计入分值低于申报的，原因见「说明」。"
    sw.table_sheet(SHEET_BONUS, SHEET_BONUS, note, bonus, cols)
