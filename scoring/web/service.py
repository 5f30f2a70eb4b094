"""The web server's one contact with the engine: every engine call of ``scoring serve`` is in this module.

The pages never score anything themselves. A self-check is :func:`scoring.commands.selfcheck.prepare_selfcheck`
(the function ``scoring self-check`` uses) and its workbook :func:`scoring.output.selfcheck_xlsx.write_selfcheck`;
the committee view is the JSON contract (:func:`scoring.output.jsonout.to_json_dict`) of a run scored
with :func:`scoring.engine.score`, or a results JSON written by ``scoring run --json``. This module turns
those into plain dicts and lists (view models) for the templates, with the engine's own number formatter.

Uploaded files live in a temporary folder; every text shown to the user passes through a ``shown``
function that replaces that folder by nothing, so messages name the file as the user uploaded it.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scoring.engine import build_meta, load, read_for, require_branches, score
from scoring.errors import DataError, Problem, UsageError
from scoring.output.jsonout import FLAG_SEPARATOR, to_json_dict
from scoring.output.selfcheck_xlsx import detail_frame, write_selfcheck
from scoring.output.template import write_template
from scoring.reader import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES
from scoring.selfcheck import KIND_COMMITTEE, KIND_FINAL, KIND_FIX, KIND_PENDING, num_text
from scoring.commands.selfcheck import prepare_selfcheck

#: what an upload may be: what the reader reads
DATA_SUFFIXES = frozenset(EXCEL_SUFFIXES | CSV_SUFFIXES | PARQUET_SUFFIXES)
#: plan kinds shown as committee-decided items, apart from lost points; "待评定" (committee-filled items
#: not yet scored, shown with the range of points they can take)
COMMITTEE_KINDS = (KIND_COMMITTEE, KIND_PENDING)
MAX_PROBLEMS_SHOWN = 300
EPS = 0.005
COMMAND = "scoring serve（网页自检）"

Shown = Callable[[str], str]


def num(x, digits: int = 2) -> str:
    """A number as every output writes it (9 -> "9", 1.50 -> "1.5"); "—" for a missing value."""
    if x is None:
        return "—"
    try:
        return num_text(float(x), digits)
    except (TypeError, ValueError):
        return str(x)


def _plain(text: str) -> str:
    return text


# --------------------------------------------------------------------------------------------------
# the engine, loaded once at start


@dataclass
class Engine:
    """The rubric and plugins the operator fixed at start. An upload never brings a rubric or code."""

    rubric: object
    registry: object
    shown: str  # the rubric as the operator named it
    year: int | None = None

    @classmethod
    def start(cls, rubric_spec=None, plugins: Iterable[Path] = (), year: int | None = None) -> Engine:
        rubric, registry, shown = load(rubric_spec, list(plugins))
        return cls(rubric=rubric, registry=registry, shown=shown, year=year)

    @property
    def loaded(self) -> tuple:
        return self.rubric, self.registry, self.shown

    @property
    def assessment_year(self) -> int:
        return self.year or self.rubric.year

    def describe(self) -> dict:
        r = self.rubric
        return {"name": r.name, "version": r.version, "id": r.id, "shown": self.shown, "year": self.assessment_year,
                "levels": [lv.label for lv in r.grading.levels]}

    def template_bytes(self) -> bytes:
        """The data-collection template of the server's rubric (``scoring template``)."""
        with tempfile.TemporaryDirectory(prefix="scoring-template-") as tmp:
            path = Path(tmp) / "template.xlsx"
            write_template(self.rubric, self.registry, path)
            return path.read_bytes()

    def read_branches(self, paths: list[Path], shown: Shown = _plain) -> list[dict]:
        """Read and validate the uploaded records; the branches they hold, in file order. Raises
        :class:`DataError` (every located problem) or :class:`UsageError` like ``scoring self-check``."""
        data = read_for(paths, (self.rubric, self.registry), year=self.assessment_year)
        require_branches(data, [shown(str(p)) for p in paths])
        b = data.table("branches")
        return [{"branch_id": str(i), "name": str(n), "parent": str(p), "category": str(c)}
                for i, n, p, c in zip(b["branch_id"], b["name"], b["parent"], b["category"])]

    def selfcheck(self, paths: list[Path], branch_id: str, workbook: Path, shown: Shown = _plain) -> dict:
        """One branch's self-check, exactly as ``scoring self-check``: the page's view model; the
        self-check workbook is written to ``workbook``."""
        sc = prepare_selfcheck(paths, branch_id, loaded=self.loaded, year=self.year, command=COMMAND)
        meta = sc.result.meta
        meta.sources = [shown(str(s)) for s in meta.sources]
        meta.data_notes = [shown(str(s)) for s in meta.data_notes]
        write_selfcheck(sc.result, sc.plan, sc.next, sc.branch_id, workbook, measured=sc.measured, pending=sc.pending)
        return selfcheck_view(sc)

    def committee_run(self, paths: list[Path]) -> dict:
        """Score the committee's records as ``scoring run`` does; the results as the JSON contract."""
        data = read_for(paths, (self.rubric, self.registry), year=self.assessment_year)
        require_branches(data, [str(p) for p in paths])
        year = self.assessment_year
        meta = build_meta(self.rubric, self.registry, data, year, "scoring serve --data "
                          + " ".join(str(p) for p in paths))
        return to_json_dict(score(self.rubric, self.registry, data, year, meta))


# --------------------------------------------------------------------------------------------------
# errors as the page lists them


def problem_list(err: DataError, shown: Shown = _plain, limit: int = MAX_PROBLEMS_SHOWN) -> dict:
    """The located problems of a DataError, as the CLI lists them, with uploaded files named as uploaded."""
    rows = []
    for p in err.problems[:limit]:
        q = Problem(shown(p.file), p.sheet, p.row, p.column, shown(p.message))
        rows.append({"where": q.location(), "message": q.message, "file": q.file, "sheet": q.sheet or "",
                     "row": q.row, "column": q.column or "", "text": str(q)})
    return {"count": len(err.problems), "problems": rows, "more": max(0, len(err.problems) - limit)}


def unsupported_file(name: str) -> UsageError:
    others = "、".join(sorted(EXCEL_SUFFIXES - {".xlsx"}))
    return UsageError(f"「{name}」不是可读取的数据文件：请上传填好的数据采集模板（Excel 工作簿 .xlsx，也可以是 {others}），"
                      "或按表名命名的 CSV / Parquet 文件")


# --------------------------------------------------------------------------------------------------
# the self-check as the result page shows it


def _row(frame: pd.DataFrame, branch_id: str) -> pd.Series:
    return frame[frame["branch_id"] == branch_id].iloc[0]


def _of(frame: pd.DataFrame | None, branch_id: str) -> pd.DataFrame:
    if frame is None or not len(frame) or "branch_id" not in frame.columns:
        return pd.DataFrame()
    return frame[frame["branch_id"] == branch_id]


def _f(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _bar(score, maximum) -> float:
    s, m = _f(score), _f(maximum)
    if not s or not m or m <= 0:
        return 0.0
    return round(max(0.0, min(100.0, s / m * 100)), 1)


def _self_score(value, total) -> dict | None:
    v = _f(value)
    if v is None:
        return None
    diff = v - float(total)
    word = "与计算得分一致" if abs(diff) < EPS else f"比计算得分{'高' if diff > 0 else '低'}{num(abs(diff))}分"
    return {"value": v, "text": f"自评分{num(v)}分，{word}"}


def _warning(name, text) -> dict:
    """A fired warning: its sentence, led by its name unless the sentence starts with it."""
    name, text = str(name or ""), str(text or "")
    return {"name": name, "text": text if not name or text.startswith(name) else f"{name}：{text}"}


def _next_view(nxt: dict) -> dict:
    """The next level: state (top / unrated / reachable / quota / blocked), the gap, the steps with their
    gains, what stands in the way."""
    if not nxt.get("next_level"):
        state = "top"
    elif not nxt.get("rated", True):
        state = "unrated"
    elif nxt.get("reachable"):
        state = "reachable"
    elif any(b["type"] == "quota" for b in nxt.get("blockers") or []):
        state = "quota"
    elif any(b["type"] == "pending" for b in nxt.get("blockers") or []):
        state = "pending"
    else:
        state = "blocked"
    unit = nxt.get("threshold_unit") or "分"
    return {
        "state": state,
        "level": nxt.get("next_level"),
        "threshold": nxt.get("threshold"),
        "unit": unit,
        "gap": nxt.get("gap"),
        "summary": nxt.get("summary") or "",
        "path": [{"action": s["action"], "gain": s["gain"]} for s in nxt.get("path") or []],
        "path_gain": nxt.get("path_gain") or 0.0,
        "blockers": [b["text"] for b in nxt.get("blockers") or [] if b["type"] != "veto"],
        "veto_blocked": any(b["type"] == "veto" for b in nxt.get("blockers") or []),
        "quota_total": nxt.get("quota_total"),
        "quota_path": [{"action": s["action"], "gain": s["gain"]} for s in nxt.get("quota_path") or []],
        "awaiting": list(nxt.get("awaiting") or []),
        "notes": list(nxt.get("notes") or []),
    }


def selfcheck_view(sc) -> dict:
    """The result page's view model of a :class:`scoring.commands.selfcheck.SelfCheck`.

    Indicators are split three ways, each shown once: ``lost`` (lost points the branch can act on or can
    no longer recover, biggest loss first, with the plan's actions), ``committee`` (items the committee
    decides, never counted as lost points; a 待评定 one with ``pending`` and the ``low``-``high`` points it
    can take), ``others`` (full marks or not applicable, rubric order). ``pending`` is None, or the total
    as a range (``headline``, ``low``, ``high``, ``level``) and the bonus, extra conditions and vetoes that
    await the committee (``notes``)."""
    result, plan, bid = sc.result, sc.plan, sc.branch_id
    pend = getattr(sc, "pending", None)
    pend = pend if pend is not None and pend.active else None
    waiting = {p["indicator"]: p for p in pend.indicators} if pend is not None else {}
    row = _row(result.branches, bid)
    meta = result.meta
    dims = _of(result.dimensions, bid).sort_values("order")
    dim_names = dict(zip(dims["dimension"], dims["name"]))
    ind = _of(result.indicators, bid).sort_values("order")
    measured = detail_frame(result, bid, sc.measured, pend)["测量值"].tolist()

    actions: dict[str, list[dict]] = {}
    committee_ids: set[str] = set()
    for p in plan.itertuples(index=False):
        actions.setdefault(p.indicator, []).append({"text": str(p.action), "kind": str(p.kind),
                                                    "gain": float(p.total_gain), "recoverable": float(p.recoverable)})
        if p.kind in COMMITTEE_KINDS:
            committee_ids.add(p.indicator)

    lost, committee, others = [], [], []
    for i, shown_value in zip(ind.itertuples(index=False), measured):
        item = {
            "id": i.indicator, "name": str(i.name), "dimension": str(dim_names.get(i.dimension, i.dimension)),
            "measured": shown_value, "points": float(i.points), "max": float(i.max), "lost": float(i.lost),
            "explanation": str(i.explanation), "applicable": bool(i.applicable), "order": int(i.order),
            "actions": actions.get(i.indicator, []),
        }
        if i.indicator in waiting:
            w = waiting[i.indicator]
            item.update(pending=True, word=w["word"], low=w["low"], high=w["high"], explanation=w["text"], lost=0.0,
                        actions=[a for a in item["actions"] if a["kind"] != KIND_PENDING])
            committee.append(item)
        elif i.indicator in committee_ids:
            committee.append(item)
        elif item["applicable"] and item["lost"] > EPS:
            lost.append(item)
        else:
            others.append(item)
    lost.sort(key=lambda x: (-round(x["lost"], 2), x["order"]))

    vetoes = _of(result.vetoes, bid)
    clear = {b.get("veto"): b["text"] for b in sc.next.get("blockers") or [] if b["type"] == "veto"}
    veto_flags = {str(f) for f in vetoes["flag"]} if len(vetoes) else set()
    veto_items = [{"name": str(v.name), "text": clear.get(v.veto, str(v.explanation))}
                  for v in vetoes.itertuples(index=False)] if len(vetoes) else []
    flags = [f for f in str(row["flags"]).split(FLAG_SEPARATOR) if f and f not in veto_flags]
    warnings = _of(result.warnings, bid)
    bonus = _of(result.bonus, bid)

    fixable = plan[plan["kind"] == KIND_FIX]
    n = len(result.branches)
    r = result.rubric
    return {
        "title": str(meta.title or ""),
        "year": meta.year or r.year,
        "rubric": {"name": r.name, "version": r.version},
        "branch": {"id": bid, "name": str(row["name"]), "parent": str(row["parent"]), "category": str(row["category"])},
        "total": float(row["total"]),
        "base_total": float(row["base_total"]),
        "bonus_total": float(row["bonus"]),
        "deduction": float(row["deduction"]),
        "max_total": _f(row.get("max_total")),
        "level": str(row["level"]),
        "rated": bool(row["rated"]),
        "rank": (f"第{int(row['rank'])}名（数据中共{n}个支部）" if pend is None else "排名待考评委员会评定后确定")
        if n > 1 else None,
        "self_score": (_self_score(row["self_score"], row["total"]) if pend is None or _f(row["self_score"]) is None
                       else {"value": float(row["self_score"]), "text": pend.self_score_text(float(row["self_score"]))}),
        "pending": None if pend is None else {
            "word": KIND_PENDING, "headline": pend.headline(), "total": pend.total_text(), "low": pend.total_low, "high": pend.total_high,
            "level": pend.level_text(), "level_low": pend.level_low, "level_high": pend.level_high,
            "notes": ([pend.bonus["text"]] if pend.bonus is not None else []) + [q["text"] for q in pend.requires]
                     + [f"{v['name']}：{v['text']}" for v in pend.vetoes],
        },
        "notes": [str(row[k]) for k in ("quota_note", "requires_note") if str(row[k])],
        "dimensions": [{"name": str(d.name), "score": float(d.score), "max": float(d.max), "pct": _bar(d.score, d.max)}
                       for d in dims.itertuples(index=False)],
        "vetoes": veto_items,
        "flags": flags,
        "warnings": [_warning(w.name, w.explanation) for w in warnings.itertuples(index=False)] if len(warnings) else [],
        "next": _next_view(sc.next),
        "lost": lost,
        "lost_total": sum(x["lost"] for x in lost),
        "committee": committee,
        "others": others,
        "bonus": [{"title": str(b.title), "kind": str(b.kind), "level": str(b.level), "counted": bool(b.counted),
                   "points": float(b.points), "explanation": str(b.explanation)} for b in bonus.itertuples(index=False)]
        if len(bonus) else [],
        "counts": {"fixable": len(fixable), "fixable_gain": float(fixable["total_gain"].sum()),
                   "committee": len(committee) - len(waiting), "pending": len(waiting),
                   "final": int((plan["kind"] == KIND_FINAL).sum())},
        "data_notes": list(meta.data_notes),
        "sources": list(meta.sources),
    }


# --------------------------------------------------------------------------------------------------
# the committee view: a run's results (the JSON contract)


def load_results_json(path: Path) -> dict:
    """A results JSON written by ``scoring run --json``; a UsageError in Chinese for anything else."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"找不到结果文件：{path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path} 不是有效的 JSON 结果文件（{type(e).__name__}: {e}）") from None
    if not isinstance(data, dict) or not isinstance(data.get("branches"), list) or not isinstance(data.get("rubric"), dict):
        raise UsageError(f"{path} 不是 scoring run --json 写出的结果文件（缺少 rubric 或 branches）")
    for i, b in enumerate(data["branches"]):
        if not isinstance(b, dict) or not {"branch_id", "name", "total"} <= set(b):
            raise UsageError(f"{path}: branches[{i}] 缺少 branch_id、name 或 total，不是 scoring run --json 的结果")
    return data


def _level_order(branches: list[dict]) -> list[str]:
    """The levels of a run, best first: by the best total among the branches at each level, levels
    without a rating (不评星, 未评定) last."""
    best: dict[str, tuple[bool, float]] = {}
    for b in branches:
        level = str(b.get("level") or "")
        key = (b.get("rated", True) is False, -(_f(b.get("total")) or 0.0))
        best[level] = min(best.get(level, key), key)
    return sorted(best, key=lambda lv: best[lv])


def _counts(branches: list[dict], order: list[str]) -> dict[str, int]:
    counts = {lv: 0 for lv in order}
    for b in branches:
        counts[str(b.get("level") or "")] += 1
    return {lv: n for lv, n in counts.items() if n}


def run_view(results: dict, source: str) -> dict:
    """A run for the committee pages: its branches by township (上级党组织), county rank order kept
    within each; townships in the order of their branch codes (the order the county numbered them)."""
    branches = results["branches"]
    order = _level_order(branches)
    townships: dict[str, list[dict]] = {}
    for b in branches:
        townships.setdefault(str(b.get("parent") or "（未填上级党组织）"), []).append(b)
    groups = []
    for name, members in townships.items():
        totals = [t for t in (_f(b.get("total")) for b in members) if t is not None]
        groups.append({"name": name, "branches": members, "count": len(members), "levels": _counts(members, order),
                       "mean": sum(totals) / len(totals) if totals else None,
                       "first_code": min(str(b["branch_id"]) for b in members)})
    groups.sort(key=lambda g: (g["first_code"], g["name"]))
    rubric = results.get("rubric") or {}
    return {
        "title": results.get("title") or "考核结果",
        "year": results.get("year"),
        "rubric": rubric,
        "source": source,
        "count": len(branches),
        "levels": _counts(branches, order),
        "townships": groups,
        "excluded": results.get("excluded") or [],
        "data_notes": results.get("data_notes") or [],
    }


def branch_view(results: dict, branch_id: str) -> dict | None:
    """One branch of a run for its detail page: the same three-way split of indicators as the
    self-check page (lost points, committee-decided items, the rest); None for an unknown id."""
    b = next((x for x in results["branches"] if str(x.get("branch_id")) == branch_id), None)
    if b is None:
        return None
    dims = b.get("dimensions") or []
    dim_names = {d.get("id"): d.get("name") for d in dims}
    lost, others = [], []
    for order, i in enumerate(b.get("indicators") or []):
        lost_points = _f(i.get("lost"))
        if lost_points is None and _f(i.get("max")) is not None and _f(i.get("points")) is not None:
            lost_points = float(i["max"]) - float(i["points"])
        item = {"id": i.get("id"), "name": i.get("name") or i.get("id"), "order": order,
                "dimension": dim_names.get(i.get("dimension"), i.get("dimension") or ""),
                "measured": None, "points": _f(i.get("points")), "max": _f(i.get("max")), "lost": lost_points or 0.0,
                "explanation": i.get("explanation") or "", "applicable": i.get("applicable", True) is not False,
                "actions": []}
        (lost if item["applicable"] and item["lost"] > EPS else others).append(item)
    lost.sort(key=lambda x: (-round(x["lost"], 2), x["order"]))
    return {
        "branch": {"id": str(b["branch_id"]), "name": str(b.get("name")), "parent": str(b.get("parent") or ""),
                   "category": str(b.get("category") or "")},
        "rank": None, "county_rank": b.get("rank"), "count": len(results["branches"]),
        "total": _f(b.get("total")), "base_total": _f(b.get("base_total")), "bonus_total": _f(b.get("bonus_total")),
        "deduction": _f(b.get("deduction")), "level": str(b.get("level") or ""), "rated": b.get("rated", True) is not False,
        "self_score": _self_score(b.get("self_score"), b["total"]) if _f(b.get("total")) is not None else None,
        "notes": [str(b[k]) for k in ("quota_note", "requires_note") if b.get(k)],
        "dimensions": [{"name": d.get("name"), "score": _f(d.get("score")), "max": _f(d.get("max")),
                        "pct": _bar(d.get("score"), d.get("max"))} for d in dims],
        "vetoes": [{"name": v.get("name") or v.get("id"), "text": v.get("explanation") or ""} for v in b.get("vetoes") or []],
        "flags": list(b.get("flags") or []),
        "warnings": [_warning(w.get("name"), w.get("explanation")) for w in b.get("warnings") or []],
        "bonus": [{"title": x.get("title") or x.get("id"), "kind": x.get("kind") or "", "level": x.get("level") or "",
                   "counted": bool(x.get("counted")), "points": _f(x.get("points")) or 0.0,
                   "explanation": x.get("explanation") or ""} for x in b.get("bonus") or []],
        "previous": b.get("previous"),
        "lost": lost, "lost_total": sum(x["lost"] for x in lost), "committee": [], "others": others, "pending": None,
    }
