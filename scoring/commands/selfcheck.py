"""``scoring self-check DATA... -b BRANCH_ID [-r RUBRIC] [-o selfcheck.xlsx]``: the impure glue.

Loads the rubric and plugins, reads the records, measures, evaluates every branch in the data, then
builds the branch's improvement plan and next-level path (:mod:`scoring.selfcheck`), prints a summary
panel (rich) and writes the self-check workbook (:mod:`scoring.output.selfcheck_xlsx`).

When the data hold one branch only (a secretary filled the template with the branch's own records),
county-wide quotas and the bottom-share flag cannot be judged: with one branch, "five stars <= 10%"
leaves no place at all. The rubric is then applied without them, and the output says so.

The committee's sheets of such a workbook are empty (the template says to leave them so): those items are
待评定 (:func:`scoring.selfcheck.find_pending`). The summary then gives the total as a range, compares
自评分 with the range, lists the pending items with the points they can take apart from the lost points,
and never puts them among the biggest losses or in the plan.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
import re
import shlex
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..engine import build_meta, compute_measures, load, read_for
from ..errors import UsageError
from ..evaluator import evaluate
from ..output.jsonout import FLAG_SEPARATOR
from ..output.selfcheck_xlsx import selfcheck_title, write_selfcheck
from ..paths import check_paths, code_and_rubric
from ..result import Result
from ..wording import explain
from ..rubric import Rubric
from ..selfcheck import (
    KIND_COMMITTEE,
    KIND_FINAL,
    KIND_PENDING,
    SCOPE_ZH,
    Pending,
    find_pending,
    improvement_plan,
    next_level,
    num_text,
)

TOP_LOSSES = 3
CLOSE_IDS = 5
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def default_output(branch_id: str) -> Path:
    """``selfcheck_<BRANCH_ID>.xlsx`` in the working directory (characters a file name cannot hold -> _)."""
    safe = _UNSAFE.sub("_", str(branch_id))
    return Path(f"selfcheck_{safe}.xlsx")


def _unknown_branch(branch_id: str, branches: pd.DataFrame) -> UsageError:
    ids = branches["branch_id"].astype(str).tolist()
    names = dict(zip(branches["name"].astype(str), ids))
    if branch_id in names:
        return UsageError(f"「{branch_id}」是支部名称，请用支部编码：-b {names[branch_id]}")
    close = difflib.get_close_matches(branch_id, ids, n=CLOSE_IDS, cutoff=0.5)
    if close:
        hint = f"相近的支部编码：{'、'.join(close)}"
    else:
        shown = "、".join(sorted(ids)[:CLOSE_IDS]) + ("等" if len(ids) > CLOSE_IDS else "")
        hint = f"数据中的支部编码有：{shown}（共{len(ids)}个）"
    return UsageError(f"数据中没有支部编码「{branch_id}」。{hint}")


def selfcheck_rubric(r: Rubric, n_branches: int) -> tuple[Rubric, dict[str, str], list[str]]:
    """The rubric to evaluate a self-check with: as is, or, when the data hold one branch, without the
    county-wide quotas and bottom-share flag. Returns (rubric, dropped quotas by level, notes)."""
    if n_branches > 1 or (not r.quotas and r.rectification is None):
        return r, {}, []
    dropped: dict[str, list[str]] = {}
    for q in r.quotas:
        dropped.setdefault(q.level, []).append(f"{SCOPE_ZH[q.scope]}{q.level}不超过{num_text(q.max_share * 100)}%")
    texts = {lv: "、".join(t) for lv, t in dropped.items()}
    parts = list(texts.values())
    if r.rectification is not None:
        rc = r.rectification
        parts.append(f"排名{SCOPE_ZH[rc.scope].replace('中', '')}后{num_text(rc.bottom_share * 100)}%列为{rc.flag}")
    note = f"数据中只有本支部，无法按全县排名确定名额（{'；'.join(parts)}）：等级按分数线评定，最终以全县排名为准"
    return r.model_copy(update={"quotas": [], "rectification": None}), texts, [note]


def _branch(result: Result, branch_id: str) -> pd.Series:
    b = result.branches
    return b[b["branch_id"] == branch_id].iloc[0]


def _grid() -> Table:
    # Chinese text has no spaces to break at: long cells fold instead of being cut with an ellipsis
    return Table(show_header=False, box=None, padding=(0, 1), expand=False)


def _steps_table(steps: list[dict]) -> Table:
    table = _grid()
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_column(no_wrap=True, style="green")
    for i, step in enumerate(steps, 1):
        table.add_row(f"  {i}.", step["action"], f"+{num_text(step['gain'])}分")
    return table


def _bullets(texts: list[str], style: str = "") -> Table:
    table = _grid()
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold", style=style)
    for text in texts:
        table.add_row("  ·", text)
    return table


def _next_level_lines(nxt: dict) -> list:
    """The next level, the gap, and either the one-sentence way there or the steps and what stands in the way."""
    if not nxt.get("next_level"):
        return [Text(nxt.get("summary") or "", style="bold green")]
    unit = nxt["threshold_unit"]
    head = Text()
    if not nxt["rated"]:
        head.append("按得分可评为", style="bold")
        head.append(f"{nxt['next_level']}，")
        head.append("但因否决事项不能评定等级", style="bold red")
    else:
        head.append("下一等级：", style="bold")
        head.append(f"{nxt['next_level']}（{num_text(nxt['threshold'])}{unit}），还差{num_text(nxt['gap'])}{unit}，")
        if nxt["reachable"] and nxt.get("awaiting"):
            head.append("分数可以达到，另需考评委员会评定", style="bold green")
        elif nxt["reachable"]:
            head.append("可以达到", style="bold green")
        elif any(b["type"] == "quota" for b in nxt["blockers"]):
            head.append("但名额已满，需超过名额线", style="bold yellow")
        elif any(b["type"] == "pending" for b in nxt["blockers"]):
            head.append("取决于考评委员会评定", style="bold yellow")
        else:
            head.append("本年度无法达到", style="bold red")
    lines: list = [head]
    if nxt["reachable"]:
        lines.append(Text(nxt["summary"], style="green"))
        return lines
    if nxt["path"]:
        waits = any(b["type"] == "pending" for b in nxt["blockers"])
        lines.append(Text("本支部可改进的事项：" if waits else f"达到{nxt['next_level']}分数线的最少提分：", style="bold"))
        lines.append(_steps_table(nxt["path"]))
    reasons = [b for b in nxt["blockers"] if b["type"] != "veto"]
    if any(b["type"] == "veto" for b in nxt["blockers"]):
        lines.append(Text("须先消除上面列出的否决事项。", style="red"))
    if reasons:
        lines.append(Text("不能达到的原因：" if not any(b["type"] == "pending" for b in reasons) else "说明：",
                          style="bold"))
        lines.append(_bullets([b["text"] for b in reasons], style="red"))
    if nxt.get("quota_total") is not None:
        lines.append(Text(f"按目前其他支部的得分，总分需超过{num_text(nxt['quota_total'])}分才能进入名额"
                          + ("：" if nxt.get("quota_path") else "，仅靠可改进事项做不到"), style="bold"))
        if nxt.get("quota_path"):
            lines.append(_steps_table(nxt["quota_path"]))
    return lines


def render_summary(result: Result, plan: pd.DataFrame, nxt: dict, branch_id: str, out: Path | None = None,
                   pending: Pending | None = None) -> Panel:
    """The terminal summary: score, level, rank; the biggest losses with reasons; the items the committee
    has not decided yet with the points they can take; vetoes to clear; the path to the next level."""
    row = _branch(result, branch_id)
    pend = pending if pending is not None and pending.active else None
    lines: list[Text | Table] = []

    head = Text()
    head.append("总分 ")
    if pend is not None:
        head.append(pend.headline(), style="bold")
        head.append("    等级 ")
        head.append(pend.level_text(), style="bold")
        if pend.level_low != pend.level_high:
            head.append("（待评定）")
    else:
        head.append(f"{num_text(row['total'])}分", style="bold")
        head.append(f"（基础得分{num_text(row['base_total'])} + 加分{num_text(row['bonus'])} − 扣减{num_text(row['deduction'])}）")
        head.append("    等级 ")
        head.append(str(row["level"]), style="bold green" if bool(row["rated"]) else "bold red")
        if len(result.branches) > 1:
            head.append(f"    排名 第{int(row['rank'])}名 / 共{len(result.branches)}个支部")
    lines.append(head)
    if pd.notna(row["self_score"]):
        if pend is not None:
            lines.append(Text(pend.self_score_text(float(row["self_score"])).replace("自评分", "自评分 ", 1)))
        else:
            diff = float(row["self_score"]) - float(row["total"])
            word = "与计算得分一致" if abs(diff) < 0.005 else f"比计算得分{'高' if diff > 0 else '低'}{num_text(abs(diff))}分"
            lines.append(Text(f"自评分 {num_text(row['self_score'])}分，{word}"))
    for key in ("quota_note", "requires_note"):
        if str(row[key]):
            lines.append(Text(str(row[key]), style="yellow"))

    ind = result.indicators[(result.indicators["branch_id"] == branch_id) & (result.indicators["lost"] > 0)]
    waiting = set(plan.loc[plan["kind"] == KIND_PENDING, "indicator"])
    ind = ind[~ind["indicator"].isin(waiting)]
    ind = ind.assign(_l=ind["lost"].round(2)).sort_values(["_l", "order"], ascending=[False, True]).head(TOP_LOSSES)
    lines.append(Text(""))
    if len(ind):
        lines.append(Text(f"失分最多的{len(ind)}项：", style="bold"))
        table = _grid()
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, style="red")
        table.add_column(overflow="fold")
        for i, r in enumerate(ind.itertuples(index=False), 1):
            table.add_row(f"{i}. {r.name}", f"−{num_text(r.lost)}分", str(r.explanation))
        lines.append(table)
    elif waiting:
        lines.append(Text("除待评定事项外，各项指标均得满分。", style="bold"))
    else:
        lines.append(Text("各项指标均得满分。", style="bold"))
    if pend is not None:
        lines.append(Text(""))
        lines.append(Text("待考评委员会评定（不计为失分）：", style="bold"))
        lines.append(_bullets(pend.lines(), style="yellow"))

    vet = result.vetoes[result.vetoes["branch_id"] == branch_id] if len(result.vetoes) else result.vetoes
    veto_flags = {str(f) for f in vet["flag"]} if len(vet) else set()
    flags = [f for f in str(row["flags"]).split(FLAG_SEPARATOR) if f and f not in veto_flags]
    if len(vet) or flags:
        lines.append(Text(""))
        lines.append(Text("否决与预警：", style="bold"))
        clear = {b.get("veto"): b["text"] for b in nxt.get("blockers", []) if b["type"] == "veto"}
        items = [clear.get(v.veto, str(v.explanation)) for v in vet.itertuples(index=False)] + flags
        lines.append(_bullets(items, style="red"))

    lines.append(Text(""))
    lines += _next_level_lines(nxt)
    for note in nxt.get("notes") or []:
        lines.append(Text(f"提示：{note}", style="yellow"))

    fixable = plan[plan["kind"] == "可改进"]
    committee = plan[plan["kind"] == KIND_COMMITTEE]
    final = plan[plan["kind"] == KIND_FINAL]
    lines.append(Text(""))
    lines.append(Text(f"提分清单：可改进{len(fixable)}项，合计可挽回总分{num_text(fixable['total_gain'].sum())}分；"
                      f"委员会评定{len(committee)}项；"
                      + (f"待评定{len(waiting)}项；" if waiting else "") + f"无法挽回{len(final)}项"
                      + (f"。完整清单见 {out}" if out is not None else "")))
    title = f"{row['name']}（{branch_id}）{result.meta.year or result.rubric.year}年度考核自检"
    return Panel(Group(*lines), title=title, title_align="left", expand=False)


@dataclass
class SelfCheck:
    """Everything a self-check shows, computed once: the CLI prints and writes it, the web page renders it."""

    result: Result  # every branch in the data, evaluated with :func:`selfcheck_rubric`
    measured: dict  # measure key -> Measured, for the whole data
    plan: pd.DataFrame  # :func:`scoring.selfcheck.improvement_plan` of the branch
    next: dict  # :func:`scoring.selfcheck.next_level` of the branch
    branch_id: str
    rubric: Rubric  # the rubric as loaded (before quotas were dropped for a one-branch workbook)
    registry: object
    shown: str  # the rubric's name as the user gave it
    pending: Pending | None = None  # :func:`scoring.selfcheck.find_pending`: what the committee has not decided yet


def prepare_selfcheck(data: list[Path], branch_id: str, rubric_spec=None, plugins: list[Path] = (),
                      year: int | None = None, loaded: tuple | None = None, command: str | None = None) -> SelfCheck:
    """Read the data, score every branch, and build one branch's plan and next-level path.

    ``loaded`` is ``(rubric, registry, shown)`` from :func:`scoring.engine.load` when the caller fixed the
    rubric and plugins already (the web server does, at start); otherwise ``rubric_spec`` and ``plugins``
    are loaded here. Raises :class:`~scoring.errors.ScoringError` subclasses for user mistakes (a
    :class:`~scoring.errors.DataError` listing every located problem, a UsageError for an unknown branch id
    with the closest ids)."""
    data = [Path(d) for d in data]
    branch_id = str(branch_id).strip()
    rubric, reg, shown = loaded if loaded is not None else load(rubric_spec, list(plugins))
    year = year or rubric.year
    dataset = read_for(data, (rubric, reg), year=year)
    branches = dataset.table("branches")
    if branch_id not in set(branches["branch_id"].astype(str)):
        raise _unknown_branch(branch_id, branches)
    measured = compute_measures(rubric, reg, dataset, year)
    scored, dropped, notes = selfcheck_rubric(rubric, len(branches))
    if command is None:
        command = "scoring " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    meta = build_meta(rubric, reg, dataset, year, command)
    meta.selfcheck_notes, meta.dropped_quotas, meta.rubric_shown = notes, dropped, shown
    result = explain(evaluate(scored, branches, measured, meta=meta))
    result.meta.title = selfcheck_title(result, branch_id)
    pending = find_pending(result, measured, branch_id, dataset, reg.measures)
    plan = improvement_plan(result, measured, branch_id, pending)
    nxt = next_level(result, measured, branch_id, pending)
    return SelfCheck(result=result, measured=measured, plan=plan, next=nxt, branch_id=branch_id, rubric=rubric,
                     registry=reg, shown=shown, pending=pending)


def main_selfcheck(data: list[Path], branch_id: str, rubric_spec, out: Path | None, plugins: list[Path],
                   console: Console | None = None, year: int | None = None) -> int:
    """``scoring self-check``: score the data, then check one branch. Prints the summary on ``console``
    and writes the workbook to ``out`` (default ``selfcheck_<BRANCH_ID>.xlsx``). Returns the exit status
    (0); user mistakes raise :class:`~scoring.errors.ScoringError` subclasses (UsageError for an unknown
    branch id, with the closest ids)."""
    console = console or Console()
    data = [Path(d) for d in data]
    branch_id = str(branch_id).strip()
    out = Path(out) if out is not None else default_output(branch_id)
    check_paths(list(data), [out])
    sc = prepare_selfcheck(data, branch_id, rubric_spec, plugins, year=year)
    write_selfcheck(sc.result, sc.plan, sc.next, branch_id, out, measured=sc.measured, pending=sc.pending)
    console.print(render_summary(sc.result, sc.plan, sc.next, branch_id, out, pending=sc.pending))
    console.print(f"自检工作簿已写入：{out}")
    return 0


def cmd(a) -> int:
    if a.output is not None:  # the rubric and plugin files are inputs too
        check_paths(list(a.data) + code_and_rubric(a.rubric, a.plugin), [a.output])
    return main_selfcheck(a.data, a.branch, a.rubric, a.output, a.plugin, None, year=a.year)
