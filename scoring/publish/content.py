"""What the 公示 and the internal list say: a pure function of the results (the ``scoring run --json``
contract, :func:`scoring.output.jsonout.to_json_dict`) and the committee's options.

Every writer of the notice (the Word/PDF documents and the workbook's 公示预览 sheet) takes its content
from here, so they cannot disagree.

Template variables of a notice (``notice.docx``; a county's own ``--template`` may use any of them)::

    title          关于2025年度党支部星级评定结果的公示 (a township's: 关于石桥镇党委所属党支部……的公示)
    title_lines    the title as printed lines, broken only between words when it is too long for one
    scope          全县, or the township (上级党组织) name;  scope_kind  "county" | "parent"
    scope_phrase   全县 / 石桥镇党委所属
    year, rubric_name
    rating_name    星级评定 / 分类定级 / 考核定级;  level_header  星级 / 等级 / 等次
    count          branches listed (rated only);  summary  五星32个、四星96个……
    level_counts   [{"level", "count"}] best level first
    period_from, period_to, period_days   公示 period, dates as 2026年1月5日, working days in it
    committee, contact, date              落款 (signing body), 联系电话, 落款日期
    list_title     2025年度党支部星级评定结果名单 (and list_title_lines);  order_note  按考核得分从高到低排列 ……
    show_parent    True in the county notice (the list has a 上级党组织 column)
    rows           [{"no", "name", "parent", "category", "level"}]

The internal list (``internal.docx``)::

    title, title_lines, year, rubric_name, committee, date
    flagged    [{"no", "parent", "name", "level", "flags", "reasons": [...]}]  软弱涣散/整顿 candidates
    unrated    [{"no", "parent", "name", "level", "reasons": [...]}]           rating removed by a veto
    excluded   [{"no", "parent", "name", "reasons": [...]}]                    left out for data errors

No 自评分, no scores and no internal flags ever go into a notice: its rows carry only the fields above.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from scoring.errors import DataError, Problem
from scoring.publish.dates import zh_date

# grading model -> (what the assessment is called, the level column's header)
RATING_NAMES = {
    "stars": ("星级评定", "星级"),
    "per_dimension": ("星级评定", "星级"),
    "grade": ("分类定级", "等级"),
    "points": ("考核定级", "等次"),
}
DEFAULT_RATING = ("考核评定", "等级")
STAR_LABELS = {1: "一星", 2: "二星", 3: "三星", 4: "四星", 5: "五星"}
ORDERS = ("rank", "parent")
# characters per line of the printed titles (A4 portrait, 156 mm text width: 二号 22 pt title, 小二 18 pt
# list title; landscape internal list 239 mm)
TITLE_WIDTH = 20
LIST_TITLE_WIDTH = 24
INTERNAL_TITLE_WIDTH = 30
COUNTY = "county"
PARENT = "parent"


@dataclass(frozen=True)
class Options:
    """The committee's choices (command-line options of ``scoring publish``)."""

    date: date
    period_from: date
    period_to: date
    period_days: int
    committee: str
    contact: str
    order: str = "rank"  # the county list: "rank" (by score) or "parent" (grouped by township)


@dataclass
class Document:
    """One document to render: its file stem, the template's variables, and how many branches it lists."""

    stem: str
    kind: str  # "notice" | "internal"
    scope: str
    context: dict = field(default_factory=dict)

    @property
    def rows(self) -> list[dict]:
        return self.context.get("rows", [])


# --------------------------------------------------------------------------------------------------
# Reading the results dictionary


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def branches_frame(results: dict, source: str = "结果文件") -> pd.DataFrame:
    """The branches of a results dictionary as a frame (rank order), with ``level`` and ``rated`` filled
    from ``stars``/``grade`` when a file written by another system lacks them. Raises a DataError naming
    what is missing."""
    items = results.get("branches") if isinstance(results, dict) else None
    if not isinstance(items, list):
        raise DataError([Problem(source, None, None, None,
                                 "不是 scoring run --json 写出的结果文件：缺少支部列表「branches」")])
    problems = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(Problem(source, None, None, None, f"branches 第{i}项不是对象"))
            continue
        missing = [k for k in ("branch_id", "name", "parent", "rank") if k not in item]
        if missing:
            problems.append(Problem(source, None, None, None, f"branches 第{i}项缺少：{'、'.join(missing)}"))
    if problems:
        raise DataError(problems)
    frame = pd.DataFrame({
        "branch_id": [_text(b["branch_id"]) for b in items],
        "name": [_text(b["name"]) for b in items],
        "parent": [_text(b["parent"]) for b in items],
        "category": [_text(b.get("category")) for b in items],
        "rank": pd.to_numeric(pd.Series([b["rank"] for b in items], dtype=object), errors="coerce"),
        "stars": pd.to_numeric(pd.Series([b.get("stars") for b in items], dtype=object), errors="coerce"),
        "grade": [_text(b.get("grade")) for b in items],
        "level": [_text(b.get("level")) for b in items],
        "rated": [b.get("rated") for b in items],
        "flags": [list(b.get("flags") or []) for b in items],
        "vetoes": [list(b.get("vetoes") or []) for b in items],
        "warnings": [list(b.get("warnings") or []) for b in items],
    })
    # Fallbacks for the core contract only: stars or grade give the level; rated = has one of them.
    star_label = frame["stars"].map(lambda s: STAR_LABELS.get(int(s), f"{int(s)}星") if pd.notna(s) else "")
    derived = star_label.where(star_label != "", frame["grade"])
    frame["level"] = frame["level"].where(frame["level"] != "", derived)
    has_level = frame["stars"].notna() | (frame["grade"] != "")
    frame["rated"] = frame["rated"].where(frame["rated"].notna(), has_level).astype(bool)
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def level_order(frame: pd.DataFrame) -> list[str]:
    """The levels of the rated branches, best first: by stars where the model has them, else by the
    median rank of the branches at the level."""
    rated = frame[frame["rated"]]
    if not len(rated):
        return []
    key = rated.groupby("level", sort=False).agg(stars=("stars", "max"), rank=("rank", "median"))
    key["stars"] = key["stars"].fillna(-1)
    key = key.sort_values(["stars", "rank"], ascending=[False, True], kind="stable")
    return list(key.index)


def _summary(rated: pd.DataFrame, order: list[str]) -> tuple[str, list[dict]]:
    counts = rated["level"].value_counts()
    level_counts = [{"level": lv, "count": int(counts[lv])} for lv in order if lv in counts]
    return "、".join(f"{c['level']}{c['count']}个" for c in level_counts), level_counts


def _parent_order(frame: pd.DataFrame) -> list[str]:
    """Townships in the order of their branch codes (the county's own numbering)."""
    first = frame.groupby("parent", sort=False)["branch_id"].min().sort_values(kind="stable")
    return list(first.index)


# --------------------------------------------------------------------------------------------------
# Notices


def _rows(rated: pd.DataFrame) -> list[dict]:
    out = rated[["name", "parent", "category", "level"]].copy()
    out.insert(0, "no", range(1, len(out) + 1))
    return out.to_dict("records")


def _common(results: dict, options: Options) -> dict:
    rating_name, level_header = RATING_NAMES.get(results.get("rating") or "", DEFAULT_RATING)
    rubric = results.get("rubric") or {}
    return {
        "year": results.get("year") or "",
        "rubric_name": rubric.get("name") or "考核评价标准",
        "rating_name": rating_name,
        "level_header": level_header,
        "period_from": zh_date(options.period_from),
        "period_to": zh_date(options.period_to),
        "period_days": options.period_days,
        "contact": options.contact,
        "date": zh_date(options.date),
    }


def notice(results: dict, options: Options, frame: pd.DataFrame | None = None, parent: str | None = None) -> Document:
    """The county notice (``parent`` None) or one township's."""
    frame = branches_frame(results) if frame is None else frame
    common = _common(results, options)
    order = level_order(frame)
    rated = frame[frame["rated"]]
    year, rating_name = common["year"], common["rating_name"]
    if parent is None:
        if options.order == "parent":
            position = {p: i for i, p in enumerate(_parent_order(frame))}
            rated = rated.assign(_p=rated["parent"].map(position)).sort_values(["_p", "rank"], kind="stable")
            order_note = "按上级党组织排列，同一上级党组织内按考核得分从高到低排列"
        else:
            order_note = "按考核得分从高到低排列"
        scope, scope_kind, phrase, committee = "全县", COUNTY, "全县", options.committee
        title_lines = [f"关于{year}年度党支部{rating_name}结果的公示"]
        list_lines = [f"{year}年度党支部{rating_name}结果名单"]
        stem = "公示-全县"
    else:
        rated = rated[rated["parent"] == parent]
        order_note = "按考核得分从高到低排列"
        scope, scope_kind, phrase, committee = parent, PARENT, f"{parent}所属", parent
        title_lines = [f"关于{parent}所属党支部", f"{year}年度{rating_name}结果的公示"]
        list_lines = [parent, f"{year}年度党支部{rating_name}结果名单"]
        stem = f"公示-{safe_name(parent)}"
    summary, level_counts = _summary(rated, order)
    context = {
        **common,
        "title": "".join(title_lines),
        "title_lines": fit_lines(title_lines, TITLE_WIDTH),
        "list_title": "".join(list_lines),
        "list_title_lines": fit_lines(list_lines, LIST_TITLE_WIDTH),
        "scope": scope,
        "scope_kind": scope_kind,
        "scope_phrase": phrase,
        "committee": committee,
        "count": len(rated),
        "summary": summary,
        "level_counts": level_counts,
        "order_note": order_note,
        "show_parent": parent is None,
        "rows": _rows(rated),
    }
    return Document(stem=stem, kind="notice", scope=scope, context=context)


def notices(results: dict, options: Options, by_parent: bool = False) -> tuple[list[Document], list[str]]:
    """The county notice, then (``by_parent``) one per township that has rated branches, in the order of
    their branch codes. Also returns the townships left without a notice (no rated branch)."""
    frame = branches_frame(results)
    docs = [notice(results, options, frame)]
    skipped = []
    if by_parent:
        rated_parents = set(frame.loc[frame["rated"], "parent"])
        stems = {docs[0].stem}
        for parent in _parent_order(frame):
            if parent not in rated_parents:
                skipped.append(parent)
                continue
            doc = notice(results, options, frame, parent)
            stem, k = doc.stem, 1
            while doc.stem in stems:  # two names that differ only in characters a file name cannot hold
                k += 1
                doc.stem = f"{stem}-{k}"
            stems.add(doc.stem)
            docs.append(doc)
    return docs, skipped


# --------------------------------------------------------------------------------------------------
# The internal list


def _flag_reasons(row, n_branches: int) -> list[str]:
    """Why a branch carries its flags: the veto sentences (each names the flag it sets), a sentence for
    a flag no veto explains (the bottom-by-rank rule), and the warnings (预警)."""
    vetoes = [_text(v.get("explanation")) for v in row.vetoes if isinstance(v, dict)]
    reasons = [v for v in vetoes if v]
    unexplained = [f for f in row.flags if not any(f in v for v in reasons)]
    if unexplained:
        rank = int(row.rank) if pd.notna(row.rank) else None
        where = f"全县排名第{rank}名（共{n_branches}个），排名靠后" if rank is not None else "排名靠后"
        reasons.append(f"{where}，列为{'、'.join(unexplained)}")
    reasons += [f"（预警）{_text(w.get('explanation'))}" for w in row.warnings
                if isinstance(w, dict) and _text(w.get("explanation"))]
    return reasons


def internal(results: dict, options: Options) -> Document:
    """The 整顿/软弱涣散 list with every reason, the branches whose rating a veto removed, and those left out
    for data errors (lenient mode). Never published."""
    frame = branches_frame(results)
    common = _common(results, options)
    n = len(frame)
    flagged_rows = frame[frame["flags"].map(bool)]
    flagged = [{"no": i, "parent": r.parent, "name": r.name, "level": r.level, "flags": "、".join(r.flags),
                "reasons": _flag_reasons(r, n)}
               for i, r in enumerate(flagged_rows.itertuples(index=False), 1)]
    unrated_rows = frame[~frame["rated"]]
    unrated = []
    for i, r in enumerate(unrated_rows.itertuples(index=False), 1):
        reasons = [_text(v.get("explanation")) for v in r.vetoes
                   if isinstance(v, dict) and v.get("effect") in (None, "no_rating") and _text(v.get("explanation"))]
        unrated.append({"no": i, "parent": r.parent, "name": r.name, "level": r.level,
                        "reasons": reasons or ["未评定等级"]})
    excluded = []
    for i, item in enumerate(results.get("excluded") or [], 1):
        reasons = item.get("reasons") or []
        excluded.append({"no": i, "parent": _text(item.get("parent")), "name": _text(item.get("name")),
                         "reasons": [reasons] if isinstance(reasons, str) else [str(x) for x in reasons]})
    year = common["year"]
    title = f"{year}年度软弱涣散和整顿候选党支部名单"
    context = {
        **common,
        "title": title,
        "title_lines": fit_lines([title], INTERNAL_TITLE_WIDTH),
        "committee": options.committee,
        "flagged": flagged,
        "unrated": unrated,
        "excluded": excluded,
    }
    return Document(stem="内部名单-软弱涣散和整顿候选", kind="internal", scope="全县", context=context)


def text_width(text: str) -> float:
    """Width in Chinese characters: ASCII letters and digits count half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def fit_lines(parts: list[str], width: float) -> list[str]:
    """A title as printed lines: the whole on one line when it fits ``width`` characters, else broken
    only between the given parts (a title must not break inside a word), joined greedily."""
    lines: list[str] = []
    for part in parts:
        if lines and text_width(lines[-1] + part) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return lines


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def safe_name(text: str) -> str:
    """A file-name part for a township name (no path separators or characters Windows refuses)."""
    return _UNSAFE.sub("_", text).strip("._") or "未命名"
