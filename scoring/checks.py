"""Semantic checks of a rubric beyond its schema: the helpers of the messages, and the checks that need
the data (run before every run, after measuring).

The checks that need only the rubric and the plugins are in :func:`scoring.rubric.cross_check` (errors)
and the rule modules' own ``check`` (a steps table whose best step is below the maximum, a linear range
that never reaches full marks). This module adds what only the data can tell, as warnings: a quota that
gives a scope no place at all (a 3-branch township with 15% 五星), and an indicator whose full marks no
branch's data can reach (a 12-point 现场检查 whose inspection items total 6).

Nothing here names a built-in measure or table: enumerations come from the measures' declared
``Param.choices`` and ``Measure.choices``, and what bounds a measured value from the optional
``ceiling`` column a measure's frame may carry (the most the value could be for that branch, e.g. the
sum of the inspection items' maxima).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import wording as w


def suggest(word, options: Iterable) -> str:
    """"，是否应为「party_lectures」？" when exactly one option is closest to ``word`` and close enough (difflib
    ratio at least 0.6; 0.5 for Chinese, where one character of a short word is much), else ""."""
    opts = list(dict.fromkeys(str(o) for o in options if o is not None))
    if not isinstance(word, str) or not opts or word in opts:
        return ""
    cutoff = 0.6 if word.isascii() else 0.5
    scored = sorted(((difflib.SequenceMatcher(None, word, o).ratio(), o) for o in opts), reverse=True)
    best, choice = scored[0]
    if best < cutoff or (len(scored) > 1 and scored[1][0] == best):
        return ""  # nothing close, or two equally close ("两星": 二星 or 四星?): no guess
    return f"，是否应为「{choice}」？"


def listed(options: Iterable) -> str:
    return "、".join(str(o) for o in options) or "无"


def who(ind) -> str:
    """An indicator as messages name it: 指标「党课」（party_lectures）."""
    return f"指标「{ind.name}」（{ind.id}）"


# ---------------------------------------------------------------- checks on the data (run time)
def quota_warnings(r, branches: pd.DataFrame) -> list[str]:
    """A quota that gives some scope no place at all: per scope, its name, branch count, share and the 0."""
    from .evaluator import scope_key, share_count

    out = []
    for q in r.quotas:
        scope = scope_key(branches, q.scope)
        n = scope.value_counts()
        allowed = share_count(q.max_share, n, q.rounding)
        zero = allowed[allowed <= 0].index
        share = w.num(q.max_share * 100, 4) + "%"
        rounding = {"floor": "向下取整", "round": "四舍五入", "ceil": "向上取整"}[q.rounding]
        for s in sorted(zero, key=str):
            name = "全县" if q.scope == "county" else f"{w.SCOPE_NAMES[q.scope]}「{s}」"
            out.append(f"名额：{name}只有{int(n[s])}个支部，{q.level}不超过{share}，{rounding}后为0个名额："
                       f"该范围内没有支部能评为{q.level}（如需保留，请改用 rounding = \"ceil\" 或调整比例）")
    return out


def _over(m, ids: pd.Index, variant: str, cache: dict) -> pd.DataFrame:
    """The columns the ceiling check reads (value, applicable and, when there, ceiling) of a measure's frame
    over the branch ids ``ids`` (text) of a variant. The frame's index as text is made once per index
    (the measures of a run mostly share one), and where each branch's row is, once per index and variant."""
    index = m.frame.index
    key = ("index", id(index))
    if key not in cache:
        cache[key] = (index, index.astype(str))  # the index kept, so that its id stays its own
    frame = m.frame[[c for c in ("value", "applicable", "ceiling") if c in m.frame.columns]].set_axis(cache[key][1])
    where = ("rows", id(index), variant)
    if where not in cache:
        cache[where] = cache[key][1].get_indexer(ids) if cache[key][1].is_unique else None
    pos = cache[where]
    if pos is not None and (pos >= 0).all():  # every branch has a row: the rows taken, no gaps to fill
        return frame.take(pos).set_axis(ids)
    return frame.reindex(ids)


def ceiling_warnings(r, registry, branches: pd.DataFrame, measured: dict) -> list[str]:
    """Indicators whose full marks the data cannot reach (or, for a committee's score, exceeds).

    Where the measure's frame has a ``ceiling`` column (the most the value could be for that branch), a
    branch whose ceiling scores below the indicator's maximum loses points nobody can give back. Where it
    has none, an indicator the committee scores (a manual rule) is checked on the values themselves: when
    not one applicable branch reaches full marks, the scale of the data and the maximum probably differ."""
    from . import rules
    from .evaluator import _groups, measure_key

    out = []
    cats = branches.set_index(branches["branch_id"].astype(str))["category"].astype(str)
    names = {v.id: f"类别变体「{v.name}」" for v in r.variants}
    frames: dict = {}  # a measure's columns over a variant's branches, once (many indicators share one)
    for vid, dims, idx in _groups(r, branches):
        label = names.get(vid, "")
        ids = pd.Index(idx).astype(str)
        for d in dims:
            for ind in d.indicators:
                m = measured.get(measure_key(ind.measure, ind.params))
                if m is None:
                    continue
                rt = rules.of(ind.rule)
                f = _over(m, ids, vid, frames)
                applies = f["applicable"].fillna(False).astype(bool).to_numpy()
                if ind.categories:
                    if ("categories", vid) not in frames:
                        frames[("categories", vid)] = cats.reindex(ids)
                    applies &= frames[("categories", vid)].isin(ind.categories).to_numpy()
                if not applies.any():
                    continue
                top = rt.top(ind.rule, ind.max)
                where = f"（{label}）" if label else ""
                if "ceiling" in f.columns and f["ceiling"].notna().any():
                    # the most any branch's records allow (one branch missing an inspection item is a data
                    # matter; a scale that nobody can reach is a rubric matter)
                    ceil = f["ceiling"].to_numpy(dtype=float)
                    known = applies & ~np.isnan(ceil)
                    if known.any():
                        best = float(np.nanmax(ceil[known]))
                        pts = float(rt.points(ind.rule, np.array([best]), ind.max)[0])
                        if rt.kind_of(ind.rule) == rules.KIND_COMMITTEE and best > ind.max + 1e-9:
                            what = registry.measures[ind.measure].ceiling_text or "数据上限"
                            out.append(f"{who(ind)}{where}满分{w.num(ind.max)}分，但{what}有{w.num(best)}{m.unit}："
                                       f"超过{w.num(ind.max)}分的部分不计，得分差别大的支部可能同得满分，"
                                       "请核对数据与评分标准的满分是否一致")
                        if pts < top - 1e-9:
                            what = registry.measures[ind.measure].ceiling_text or "数据上限"
                            gets = "" if abs(pts - best) < 1e-9 else f"，最多得{w.num(pts)}分"
                            out.append(f"{who(ind)}{where}满分{w.num(ind.max)}分，但{int(known.sum())}个支部的{what}最多只有"
                                       f"{w.num(best)}{m.unit}{gets}：每个支部至少失{w.num(top - pts)}分且无法挽回，"
                                       "请核对数据与评分标准的满分是否一致")
                    continue
                if rt.kind_of(ind.rule) != rules.KIND_COMMITTEE:
                    continue
                v = f["value"].to_numpy(dtype=float)
                has = applies & ~np.isnan(v)
                if has.sum() < 2:
                    continue
                pts = rt.points(ind.rule, v, ind.max)
                if not (pts[has] >= top - 1e-9).any():
                    out.append(f"{who(ind)}{where}满分{w.num(ind.max)}分，但{int(has.sum())}个支部中得分最高的只有"
                               f"{w.num(np.nanmax(v[has]))}{m.unit}，没有支部得满分：请核对评分项目的满分合计与评分标准是否一致")
    return out


def data_warnings(r, registry, branches: pd.DataFrame, measured: dict) -> list[str]:
    """Every warning the data gives about the rubric (the terminal and 评分标准与审计 list them)."""
    return quota_warnings(r, branches) + ceiling_warnings(r, registry, branches, measured)
