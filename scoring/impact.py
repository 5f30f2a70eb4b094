"""What a new rubric changes on real data: ``scoring rubric diff OLD NEW --data DATA``.

The same records are scored once under each rubric (:func:`scoring.engine.score`); :func:`compare` lines
the two :class:`~scoring.result.Result` objects up and says, before a county office publishes a new
rubric, which branches change level, total, rank or flags and why:

branches      one row per branch in the new rubric's rank order: branch_id, name, parent, category,
              rank_old, rank_new, rank_move (old rank - new rank: positive = moved up), total_old,
              total_new (the published totals, rounded half up at each rubric's precision), total_delta,
              level_old, level_new, change (升星/降星/升级/降级/持平/等级不可比), quota_old, quota_new (the
              quota notes), flags_old, flags_new, level_changed, total_changed, rank_changed,
              flags_changed (bool), why (every reason, in Chinese), why_short (the same with at most
              :data:`SHORT_INDICATORS` indicators, for the terminal)
indicators    one row per branch and indicator whose points moved (as printed, two decimals): branch_id,
              branch_name, rank_new, indicator, name, dimension, points_old, points_new (NaN where the
              rubric has no such indicator), delta, explanation_old, explanation_new; per branch the
              biggest move first, then the new rubric's order
by_indicator  one row per indicator with a move: indicator, name, dimension, max_old, max_new (NaN: not in
              that rubric), up, down (branches whose points rose / fell), delta_sum, delta_mean (over the
              branches that moved); the biggest total move first
levels        level, old, new, delta: branches per level, the new rubric's levels best first, then the
              unrated label, then labels only the old rubric uses
quotas        one row per quota (level and scope, of either rubric) and scope unit (全县, each township or
              category): level, scope, unit, share_old, share_new (NaN: no such quota), places_old,
              places_new, at_old, at_new (branches at that level), down_old, down_new (branches a quota
              moved down from that level), tied_old, tied_new (branches tied at the quota line: all of
              them dropped, or with ``ranking.ties_at_quota = "keep_all"`` all kept), extra_old,
              extra_new (the places beyond the quota that keep_all used)

"Why" names the indicators whose points moved, biggest first, with old -> new points ("党课
（party_lectures）2 → 4"), the bonus and deductions, a rescaled base total, a level reached by score
that changed (and the threshold that moved), vetoes that fire or no longer fire, extra conditions,
quota notes and flags. Everything is merges and group-bys over whole frames; no loop runs per branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import wording
from .evaluator import scope_key, share_count
from .previous import CHANGE_DOWN, CHANGE_SAME, CHANGE_UNKNOWN, CHANGE_UP
from .result import Result
from .rubric import Rubric
from .rubric_tools import QUOTA_SCOPE

SHORT_INDICATORS = 3  # indicators named per branch in the terminal summary ("等N项" for the rest)
LIST_LIMIT = 30  # branches listed per section in the terminal summary
SEP = "；"
NO_QUOTA_NOTE = "未受名额限制"
NO_FLAG = "无"
MISSING = "无此项"


@dataclass
class Impact:
    old: Result
    new: Result
    branches: pd.DataFrame
    indicators: pd.DataFrame
    by_indicator: pd.DataFrame
    levels: pd.DataFrame
    quotas: pd.DataFrame
    rules: list[tuple[str, str]] = field(default_factory=list)  # the rule diff: (section, line)

    @property
    def level_changed(self) -> pd.DataFrame:
        return self.branches[self.branches["level_changed"]]

    @property
    def flags_changed(self) -> pd.DataFrame:
        return self.branches[self.branches["flags_changed"]]


def _precision(r: Rubric) -> int:
    """Decimals of the published total (``ranking.precision``): ranks, ties and quotas are decided on it."""
    return int(r.ranking.precision)


def _text(s: pd.Series) -> pd.Series:
    obj = s.astype(object)
    return obj.where(obj.notna(), "").astype(str)


def _join(parts: list[pd.Series]) -> pd.Series:
    """Row-wise "；"-join of the non-empty texts."""
    frame = pd.concat([_text(p) for p in parts], axis=1)
    stacked = frame.stack()
    stacked = stacked[stacked != ""]
    joined = stacked.groupby(level=0).agg(SEP.join)
    return joined.reindex(frame.index).fillna("").astype(str)


def _pair(a: pd.Series, b: pd.Series, missing: str = wording.DASH, digits: int = wording.NUMBER_DIGITS) -> pd.Series:
    """"a → b" of two numeric columns (half up, trailing zeros dropped; NaN as ``missing``)."""
    left = pd.Series(wording.nums(a.to_numpy(dtype=float), digits), index=a.index).where(a.notna(), missing)
    right = pd.Series(wording.nums(b.to_numpy(dtype=float), digits), index=b.index).where(b.notna(), missing)
    return left.astype(str) + " → " + right.astype(str)


# ---------------------------------------------------------------- levels
def _positions(labels: pd.Series, r: Rubric, unrated_words: tuple[str, ...]) -> pd.Series:
    """Higher = better, by the new rubric's ladder: the best level len(levels), the unrated labels 0,
    labels the ladder does not know NaN."""
    ladder = [lv.label for lv in r.grading.levels]
    pos = labels.map({lb: float(len(ladder) - i) for i, lb in enumerate(ladder)})
    return pos.where(~labels.isin(unrated_words), 0.0).astype(float)


def _level_table(old: Result, new: Result) -> pd.DataFrame:
    order = [lv.label for lv in new.rubric.grading.levels] + [new.rubric.grading.unrated_label]
    order += [lv.label for lv in old.rubric.grading.levels] + [old.rubric.grading.unrated_label]
    order = list(dict.fromkeys(order))
    present = set(old.branches["level"]) | set(new.branches["level"])
    order += sorted(present - set(order))
    a = old.branches["level"].value_counts().reindex(order, fill_value=0)
    b = new.branches["level"].value_counts().reindex(order, fill_value=0)
    out = pd.DataFrame({"level": order, "old": a.to_numpy(), "new": b.to_numpy()})
    out["delta"] = out["new"] - out["old"]
    keep = (out["old"] > 0) | (out["new"] > 0) | out["level"].isin([lv.label for lv in new.rubric.grading.levels])
    return out[keep].reset_index(drop=True)


# ---------------------------------------------------------------- quotas
def _quota_rows(res: Result) -> pd.DataFrame:
    """Per quota of ``res``'s rubric and scope unit: share, places, branches at the level, moved down."""
    b = res.branches
    rows = []
    for q in res.rubric.quotas:
        key = scope_key(b, q.scope)
        unit = key.where(key != "", wording.SCOPE_NAMES["county"]) if q.scope == "county" else key
        n = unit.value_counts()
        places = share_count(q.max_share, pd.Series(n.to_numpy(), index=n.index), q.rounding)
        at = (b["level"] == q.level).groupby(unit).sum()
        down = (b["quota_from"] == q.level).groupby(unit).sum()
        tie = b["quota_tie"] == q.level  # equals at this quota line (ranking.ties_at_quota decided them)
        tied = tie.groupby(unit).sum()
        extra = b["quota_extra"].where(tie, 0).groupby(unit).max()  # keep_all: places beyond the quota
        rows.append(pd.DataFrame({
            "level": q.level, "scope": q.scope, "unit": n.index.astype(str), "share": q.max_share,
            "places": places.to_numpy(), "at": at.reindex(n.index).to_numpy(), "down": down.reindex(n.index).to_numpy(),
            "tied": tied.reindex(n.index).to_numpy(), "extra": extra.reindex(n.index).to_numpy(),
        }))
    cols = ["level", "scope", "unit", "share", "places", "at", "down", "tied", "extra"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def _quota_table(old: Result, new: Result) -> pd.DataFrame:
    a, b = _quota_rows(old), _quota_rows(new)
    m = a.merge(b, on=["level", "scope", "unit"], how="outer", suffixes=("_old", "_new"), sort=False)
    ladder = {lv.label: i for i, lv in enumerate(new.rubric.grading.levels)}
    m["_lv"] = m["level"].map(ladder).fillna(len(ladder))
    m["_sc"] = m["scope"].map({"county": 0, "parent": 1, "category": 2})
    m = m.sort_values(["_lv", "_sc", "unit"], kind="stable").drop(columns=["_lv", "_sc"])
    # a unit the other rubric has no quota for still has its branches at the level
    for side, res in (("old", old), ("new", new)):
        missing = m[f"at_{side}"].isna()
        if missing.any():
            counted = _unit_counts(res.branches, m.loc[missing])
            m.loc[missing, f"at_{side}"] = counted
            m.loc[missing, [f"down_{side}", f"tied_{side}", f"extra_{side}"]] = 0
    counts = [f"{c}_{side}" for c in ("places", "at", "down", "tied", "extra") for side in ("old", "new")]
    for c in counts:
        m[c] = m[c].astype(float)
    return m[["level", "scope", "unit", "share_old", "share_new", *counts]].reset_index(drop=True)


def _unit_counts(b: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Branches at each row's level within its scope unit."""
    out = []
    for scope, group in rows.groupby("scope", sort=False):  # at most three scopes
        key = scope_key(b, str(scope))
        unit = key.where(key != "", wording.SCOPE_NAMES["county"]) if scope == "county" else key
        counts = pd.crosstab(unit, b["level"]).stack()
        idx = pd.MultiIndex.from_arrays([group["unit"], group["level"]])
        out.append(pd.Series(counts.reindex(idx, fill_value=0).to_numpy(), index=group.index))
    return pd.concat(out).reindex(rows.index).to_numpy(dtype=float)


# ---------------------------------------------------------------- indicators
_IND = ["branch_id", "indicator", "name", "dimension_name", "points", "max", "explanation", "order"]


def _indicator_rows(old: Result, new: Result) -> pd.DataFrame:
    a = old.indicators[_IND]
    b = new.indicators[_IND]
    m = a.merge(b, on=["branch_id", "indicator"], how="outer", suffixes=("_old", "_new"))
    digits = wording.NUMBER_DIGITS
    pa = wording.round_half_up(m["points_old"].astype(float), digits)
    pb = wording.round_half_up(m["points_new"].astype(float), digits)
    m["delta"] = pb.fillna(0.0) - pa.fillna(0.0)
    m["name"] = m["name_new"].where(m["name_new"].notna(), m["name_old"])
    m["dimension"] = m["dimension_name_new"].where(m["dimension_name_new"].notna(), m["dimension_name_old"])
    m["order"] = m["order_new"].where(m["order_new"].notna(), m["order_old"] + 10_000)
    return m


def _moved(m: pd.DataFrame, new: Result) -> pd.DataFrame:
    moved = m[m["delta"].abs() > 1e-9].copy()
    rank = new.branches.set_index("branch_id")
    moved["rank_new"] = moved["branch_id"].map(rank["rank"])
    moved["branch_name"] = moved["branch_id"].map(rank["name"])
    moved["_abs"] = -moved["delta"].abs()
    moved = moved.sort_values(["rank_new", "_abs", "order"], kind="stable")
    cols = {"points_old": "points_old", "points_new": "points_new", "explanation_old": "explanation_old",
            "explanation_new": "explanation_new"}
    out = moved[["branch_id", "branch_name", "rank_new", "indicator", "name", "dimension", *cols, "delta"]]
    return out.reset_index(drop=True)


def _by_indicator(moved: pd.DataFrame, old: Rubric, new: Rubric) -> pd.DataFrame:
    cols = ["indicator", "name", "dimension", "max_old", "max_new", "up", "down", "delta_sum", "delta_mean"]
    if moved.empty:
        return pd.DataFrame(columns=cols)
    g = moved.groupby("indicator", sort=False)
    out = pd.DataFrame({
        "name": g["name"].first(), "dimension": g["dimension"].first(),
        "up": g["delta"].agg(lambda d: int((d > 0).sum())), "down": g["delta"].agg(lambda d: int((d < 0).sum())),
        "delta_sum": g["delta"].sum(), "delta_mean": g["delta"].mean(),
    })
    for side, r in (("old", old), ("new", new)):
        # the base table's maximum; an indicator only a category variant has: the variant's
        maxima = {i.id: float(i.max) for _, i in r.all_indicators()}
        maxima.update({i.id: float(i.max) for _, i in r.indicators()})
        out[f"max_{side}"] = out.index.map(pd.Series(maxima, dtype=float)).astype(float)
    out = out.reset_index()
    out["_abs"] = -out["delta_sum"].abs()
    return out.sort_values(["_abs", "indicator"], kind="stable")[cols].reset_index(drop=True)


def _indicator_reasons(moved: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per branch: every moved indicator, and at most :data:`SHORT_INDICATORS` of them with a count."""
    if moved.empty:
        empty = pd.Series(dtype=str)
        return empty, empty
    label = moved["name"].astype(str) + "（" + moved["indicator"].astype(str) + "）"
    text = label + _pair(moved["points_old"], moved["points_new"], MISSING).to_numpy()
    frame = pd.DataFrame({"branch_id": moved["branch_id"], "text": text})
    full = frame.groupby("branch_id", sort=False)["text"].agg("，".join)
    nth = frame.groupby("branch_id", sort=False).cumcount()
    short = frame[nth < SHORT_INDICATORS].groupby("branch_id", sort=False)["text"].agg("，".join)
    count = frame.groupby("branch_id", sort=False).size()
    more = count > SHORT_INDICATORS
    short = short.where(~more.reindex(short.index), short + "等" + count.astype(str).reindex(short.index) + "项")
    return full, short


# ---------------------------------------------------------------- branches
def _fired(res: Result) -> pd.DataFrame:
    v = res.vetoes
    if v is None or len(v) == 0:
        return pd.DataFrame(columns=["branch_id", "veto", "name"])
    return v[["branch_id", "veto", "name"]].drop_duplicates(["branch_id", "veto"])


def _veto_reasons(old: Result, new: Result) -> pd.Series:
    m = _fired(old).merge(_fired(new), on=["branch_id", "veto"], how="outer", suffixes=("_old", "_new"), indicator=True)
    if m.empty:
        return pd.Series(dtype=str)
    gone = m[m["_merge"] == "left_only"]
    came = m[m["_merge"] == "right_only"]
    parts = []
    if len(came):
        parts.append("新触发否决或标记：" + came.groupby("branch_id")["name_new"].agg("、".join))
    if len(gone):
        parts.append("不再触发：" + gone.groupby("branch_id")["name_old"].agg("、".join))
    if not parts:
        return pd.Series(dtype=str)
    frame = pd.concat(parts, axis=1)
    return _join([frame[c] for c in frame.columns])


def _threshold_notes(old: Rubric, new: Rubric) -> dict[str, str]:
    """Level label -> "五星线 90 → 92" for the levels whose minimum moved."""
    a = {lv.label: lv.min for lv in old.grading.levels}
    unit = "颗星" if new.grading.model == "per_dimension" else "分"
    return {lv.label: f"{lv.label}线 {wording.const(a[lv.label])} → {wording.const(lv.min)}{unit}"
            for lv in new.grading.levels if lv.label in a and a[lv.label] != lv.min}


def _branch_table(old: Result, new: Result, moved: pd.DataFrame, m_ind: pd.DataFrame) -> pd.DataFrame:
    keep = ["branch_id", "name", "parent", "category", "rank", "total", "ranked_total", "base_total", "bonus", "deduction", "level",
            "rated", "flags", "quota_from", "quota_note", "requires_note"]
    a = old.branches[keep]
    b = new.branches[keep]
    m = b.merge(a, on="branch_id", how="outer", suffixes=("_new", "_old"), sort=False)
    for c in ("name", "parent", "category"):
        m[c] = m[f"{c}_new"].where(m[f"{c}_new"].notna(), m[f"{c}_old"])
    m["_order"] = m["rank_new"].fillna(m["rank_old"] + len(b))
    m = m.sort_values("_order", kind="stable").reset_index(drop=True)
    m.index = pd.Index(m["branch_id"])

    out = pd.DataFrame(index=m.index)
    out["branch_id"] = m["branch_id"]
    for c in ("name", "parent", "category"):
        out[c] = m[c]
    out["rank_old"], out["rank_new"] = m["rank_old"].astype(float), m["rank_new"].astype(float)
    out["rank_move"] = out["rank_old"] - out["rank_new"]
    out["total_old"] = m["ranked_total_old"].astype(float)  # the published totals, ranked on
    out["total_new"] = m["ranked_total_new"].astype(float)
    out["total_delta"] = out["total_new"] - out["total_old"]
    for side in ("old", "new"):
        out[f"level_{side}"] = _text(m[f"level_{side}"])
        out[f"quota_{side}"] = _text(m[f"quota_note_{side}"])
        out[f"flags_{side}"] = _text(m[f"flags_{side}"])

    unrated = (old.rubric.grading.unrated_label, new.rubric.grading.unrated_label)
    pa = _positions(out["level_old"], new.rubric, unrated)
    pb = _positions(out["level_new"], new.rubric, unrated)
    stars = bool(new.rubric.grading.rates_stars)
    out["change"] = np.select([pa.isna() | pb.isna(), pb > pa, pb < pa],
                              [CHANGE_UNKNOWN, CHANGE_UP[stars], CHANGE_DOWN[stars]], CHANGE_SAME)
    out["level_changed"] = out["level_old"] != out["level_new"]
    out["total_changed"] = (out["total_delta"].abs() > 1e-9) | (out["total_old"].isna() != out["total_new"].isna())
    out["rank_changed"] = out["rank_old"] != out["rank_new"]
    out["flags_changed"] = out["flags_old"] != out["flags_new"]

    # ---- why: what decided the level first, then the points, then the flags
    pre_old = _text(m["quota_from_old"]).where(_text(m["quota_from_old"]) != "", out["level_old"])
    pre_new = _text(m["quota_from_new"]).where(_text(m["quota_from_new"]) != "", out["level_new"])
    by_score = pre_old != pre_new
    thresholds = _threshold_notes(old.rubric, new.rubric)
    t_old, t_new = _text(pre_old.map(thresholds)), _text(pre_new.map(thresholds))
    t_both = t_old.where(t_old == t_new, _join([t_old, t_new]).str.replace(SEP, "，"))
    score_text = ("按总分评定 " + pre_old + " → " + pre_new + ("（" + t_both + "）").where(t_both != "", ""))
    reasons = [score_text.where(by_score, "")]
    q_changed = out["quota_old"] != out["quota_new"]
    quota_text = ("名额：" + out["quota_old"].replace("", NO_QUOTA_NOTE) + " → " + out["quota_new"].replace("", NO_QUOTA_NOTE))
    reasons.append(quota_text.where(q_changed, ""))
    reasons.append(_veto_reasons(old, new).reindex(out.index).fillna(""))
    req_old, req_new = _text(m["requires_note_old"]), _text(m["requires_note_new"])
    req_text = "附加条件：" + req_old.replace("", "无") + " → " + req_new.replace("", "无")
    reasons.append(req_text.where(req_old != req_new, ""))

    full, short = _indicator_reasons(moved)
    points_full, points_short = full.reindex(out.index).fillna(""), short.reindex(out.index).fillna("")
    extra = []
    for col, word in (("bonus", "加分"), ("deduction", "否决扣分")):
        x, y = m[f"{col}_old"].astype(float), m[f"{col}_new"].astype(float)
        differs = (wording.round_half_up(x, 2) != wording.round_half_up(y, 2)) & x.notna() & y.notna()
        extra.append((word + " " + _pair(x, y)).where(differs, ""))
    # the base total is not the sum of the points when it is rescaled from the applicable maximum or
    # blended from weighted sections: say so where it moved
    applicable_max = [r.indicators.groupby("branch_id")["max"].sum() for r in (old, new)]
    max_old = wording.round_half_up(applicable_max[0].reindex(out.index).astype(float), 2)
    max_new = wording.round_half_up(applicable_max[1].reindex(out.index).astype(float), 2)
    base_old, base_new = m["base_total_old"].astype(float), m["base_total_new"].astype(float)
    base_moved = wording.round_half_up(base_old, 2) != wording.round_half_up(base_new, 2)
    base_pair = _pair(base_old, base_new)
    plain = [r.rubric.grading.model != "points" and not r.rubric.grading.sections for r in (old, new)]
    scale = wording.const(new.rubric.grading.scale)
    rescaled = base_moved & (((max_old != old.rubric.grading.scale) & plain[0])
                             | ((max_new != new.rubric.grading.scale) & plain[1]))
    max_text = ("适用指标满分合计" + _pair(max_old, max_new) + "分").where(max_old != max_new,
                                                                   "适用指标满分" + pd.Series(wording.nums(max_new.to_numpy()), index=out.index) + "分")
    extra.append(("基础分按" + max_text + f"折算到{scale}分：" + base_pair).where(rescaled, ""))
    weighted = bool(old.rubric.grading.sections or new.rubric.grading.sections)
    ind_sum = m_ind.groupby("branch_id")["delta"].sum().reindex(out.index).fillna(0.0)
    unexplained = base_moved & ~rescaled & ((base_new - base_old - ind_sum).abs() > 0.005)
    extra.append(("基础分 " + base_pair + ("（按各部分权重计算）" if weighted else "")).where(unexplained, ""))
    flags = ("标记：" + out["flags_old"].replace("", NO_FLAG) + " → " + out["flags_new"].replace("", NO_FLAG))
    flags = flags.where(out["flags_changed"], "")
    out["why"] = _join(reasons + [points_full] + extra + [flags])
    out["why_short"] = _join(reasons + [points_short] + extra + [flags])
    return out.reset_index(drop=True)


def compare(old: Result, new: Result, rules: list[tuple[str, str]] | None = None) -> Impact:
    """Line up two results of the same records (``old`` under the old rubric, ``new`` under the new)."""
    m_ind = _indicator_rows(old, new)
    moved = _moved(m_ind, new)
    return Impact(
        old=old, new=new,
        branches=_branch_table(old, new, moved, m_ind),
        indicators=moved,
        by_indicator=_by_indicator(moved, old.rubric, new.rubric),
        levels=_level_table(old, new),
        quotas=_quota_table(old, new),
        rules=list(rules or []),
    )


# ---------------------------------------------------------------- the terminal summary
def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + wording.num(x)


def _share(x) -> str:
    return "不限" if pd.isna(x) else f"不超过{wording.num(float(x) * 100)}%"


def _count(x) -> str:
    return wording.DASH if pd.isna(x) else str(int(x))


def quota_lines(imp: Impact) -> list[str]:
    """One line per quota (level and scope), its scope units summed."""
    q = imp.quotas
    if q.empty:
        return []
    out = []
    for (level, scope), g in q.groupby(["level", "scope"], sort=False):
        sa, sb = g["share_old"].iloc[0], g["share_new"].iloc[0]
        share = _share(sa) if (pd.isna(sa) and pd.isna(sb)) or sa == sb else f"{_share(sa)} → {_share(sb)}"
        places_a = g["places_old"].sum(min_count=1)
        places_b = g["places_new"].sum(min_count=1)
        places = _count(places_a) if places_a == places_b else f"{_count(places_a)} → {_count(places_b)}"
        where = QUOTA_SCOPE[scope] + ("" if scope == "county" else f"，{len(g)}个")
        line = (f"{level}名额（{where}）：{share}，名额{'合计' if scope != 'county' else ''} {places} 个，"
                f"评为{level} {_count(g['at_old'].sum())} → {_count(g['at_new'].sum())} 个，"
                f"因名额降级 {_count(g['down_old'].sum())} → {_count(g['down_new'].sum())} 个")
        tied = (g["tied_old"].sum(), g["tied_new"].sum())
        if any(tied):
            line += f"，名额线并列 {_count(tied[0])} → {_count(tied[1])} 个"
            extra = (g["extra_old"].sum(), g["extra_new"].sum())
            if any(extra):
                line += f"（并列均保留多用名额 {_count(extra[0])} → {_count(extra[1])} 个）"
            elif tied[1]:
                line += "（名额不足，均未评为" + str(level) + "，需委员会决定）"
        out.append(line)
    return out


def _branch_line(row, digits: tuple[int, int]) -> str:
    """One branch of the terminal summary; ``digits``: the old and new rubric's total precision."""
    def rank(x):
        return wording.DASH if pd.isna(x) else str(int(x))

    head = f"{row.branch_id} {row.name}：{row.level_old} → {row.level_new}"
    if row.change not in (CHANGE_SAME, CHANGE_UNKNOWN) and row.level_changed:
        head += f"（{row.change}）"
    head += (f"，总分 {wording.fixed(row.total_old, digits[0])} → {wording.fixed(row.total_new, digits[1])}，"
             f"排名 {rank(row.rank_old)} → {rank(row.rank_new)}")
    return head + (f"；{row.why_short}" if row.why_short else "")


def summary_lines(imp: Impact, data_shown: str, year: int, output: str | None = None,
                  limit: int = LIST_LIMIT) -> list[str]:
    """The impact in Chinese, as ``rubric diff --data`` prints it under the rule differences."""
    b = imp.branches
    digits = (_precision(imp.old.rubric), _precision(imp.new.rubric))
    n_level = int(b["level_changed"].sum())
    changes = b.loc[b["level_changed"], "change"].value_counts()
    moves = "，".join(f"{k} {int(changes[k])} 个" for k in
                     [*dict.fromkeys([CHANGE_UP[True], CHANGE_UP[False], CHANGE_DOWN[True], CHANGE_DOWN[False],
                                      CHANGE_UNKNOWN])] if k in changes.index)
    lines = [f"对实际数据的影响：{data_shown}，参评支部 {len(b)} 个，考核年度 {year}"]
    lines.append(f"  等级变化 {n_level} 个支部" + (f"（{moves}）" if moves else "")
                 + f"，总分变化 {int(b['total_changed'].sum())} 个，排名变化 {int(b['rank_changed'].sum())} 个，"
                 f"标记变化 {int(b['flags_changed'].sum())} 个")
    lv = imp.levels
    counts = "，".join(f"{r.level} {r.old} → {r.new}" + (f"（{_signed(r.delta)}）" if r.delta else "")
                       for r in lv.itertuples())
    lines.append(f"  各等级支部数（原 → 新）：{counts}")
    ql = quota_lines(imp)
    if ql:
        lines.append("  名额：")
        lines += [f"    {x}" for x in ql]
    if len(imp.by_indicator):
        lines.append(f"  得分变化的指标（{len(imp.by_indicator)} 项）：")
        for r in imp.by_indicator.head(limit).itertuples():
            status = "新增指标，" if pd.isna(r.max_old) else ("已删除，" if pd.isna(r.max_new) else "")
            lines.append(f"    {r.name}（{r.indicator}）：{status}{r.up} 个支部得分提高、{r.down} 个降低，"
                         f"合计 {_signed(r.delta_sum)} 分")
        if len(imp.by_indicator) > limit:
            lines.append(f"    …… 另有 {len(imp.by_indicator) - limit} 项")
    more = f"（完整名单见 {output}）" if output else "（加 -o impact.xlsx 输出每个支部、每项指标的完整对比）"
    for title, rows in (("等级变化的支部", b[b["level_changed"]]),
                        ("等级未变、标记变化的支部", b[b["flags_changed"] & ~b["level_changed"]])):
        if rows.empty:
            continue
        lines.append(f"  {title}（{len(rows)} 个，按新标准排名）：")
        lines += [f"    {_branch_line(r, digits)}" for r in rows.head(limit).itertuples()]
        if len(rows) > limit:
            lines.append(f"    …… 另有 {len(rows) - limit} 个{more}")
    if n_level == 0 and not b["flags_changed"].any():
        lines.append("  没有支部的等级或标记发生变化")
    if output:
        lines.append(f"  完整对比已写入：{output}")
    elif len(b) and (b["total_changed"].any() or b["rank_changed"].any()):
        lines.append("  加 -o impact.xlsx 可输出每个支部的总分、排名、等级和各指标得分的完整对比")
    return lines
