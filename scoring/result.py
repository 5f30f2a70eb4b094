"""The evaluator's output: tidy tables that every writer (Excel, JSON, self-check, web page, 公示) is a view of.

All frames use plain columns (no index semantics). Row order of ``branches`` is rank order; the other
frames are sorted by (rank, rubric order). Reasons are data: every row that explains something carries a
stable ``reason`` code and the numbers behind it (see :mod:`scoring.rules` and :mod:`scoring.wording`);
the ``explanation`` columns are the Chinese sentences :func:`scoring.wording.explain` renders from them.

branches    one row per branch, rank order:
    branch_id, name, category, parent, rank (int, 1-based, unique, county-wide), scope_rank (rank within
    the rubric's ranking.scope: county, parent or category), base_total (float, points from
    dimensions after not-applicable rescaling and blending), bonus (float, counted bonus after cap),
    deduction (float, fixed deductions from vetoes), total (float), max_total (float, nominal maximum
    without bonus), stars (Int64 or <NA>), grade (str or None), level (str, Chinese label shown to users:
    "五星" / "好" / "未评定" ...), rated (bool: False when a veto removed the rating), flags (str:
    "；"-joined Chinese flags, "" when none), quota_from (str: the level reached before a quota moved the
    branch down, "" when none), requires_missed (str: the highest level reached by score but not given
    because an extra condition failed, "" when none), quota_note and requires_note (their sentences),
    self_score (float or NaN); in the per_dimension model also stars_earned (int)
dimensions  branch_id, dimension, name, score, max, order; in the per_dimension model also star (bool)
indicators  branch_id, dimension, dimension_name, indicator, name, value (float or NaN), target (float or
            NaN), points (float), max (float, 0 where not applicable), nominal_max (float), applicable
            (bool), lost (float = max - points), evidence (the measure's phrase), reason (code),
            the reason's fields (columns named in :data:`scoring.rules.FIELD_COLUMNS`, NaN where a code
            has no such field), rule_points (the rule's points before extra deductions), extra (points
            cut by extra deductions), unit and rate (of the measure), variant (the category variant whose
            dimensions scored the row, "" for the base), explanation, order
extras      branch_id, indicator, part (1-based), label, unit, measured, per, raw (measured x per), cut
            (points taken), left (the indicator's points after this cut), reason: one row per extra
            deduction of an indicator that found something to deduct (measured > 0)
bonus       branch_id, claim (str id), title, kind, level, base (points of the level), points (float,
            points this claim adds after highest-level and cap rules; 0 when not counted), counted (bool),
            reason, best_level (the level counted for the same work), cap, explanation
warnings    branch_id, warning (id), name, evidence, value, explanation, order (fired warnings, 预警: no effect
            on the score)
vetoes      branch_id, veto (id), name, effect (no_rating, cap, deduct, flag, award), cap_level, award_level,
            points, flag, evidence, value, explanation, order (only fired vetoes)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .rubric import Rubric


@dataclass
class RunMeta:
    """What a run was, for titles, the audit sheet and the JSON top level. Every field has a default, so a
    result evaluated without a run (the self-check's "what if" scenarios, tests) carries an empty one."""

    title: str = ""
    year: int | None = None
    rubric_id: str = ""
    rubric_name: str = ""
    rubric_version: str = ""
    rubric_sha256: str = ""
    rubric_toml: str = ""  # the resolved rubric as TOML (audit sheet)
    rubric_shown: str = ""  # the rubric as the user named it ("five_star", "rubrics/x.toml")
    rating: str = ""  # the grading model: stars, grade, per_dimension, points
    dimension_names: list[str] = field(default_factory=list)
    data_sha256: str = ""
    sources: list[str] = field(default_factory=list)
    data_notes: list = field(default_factory=list)  # Problem (or str) notes: what was tolerated while reading
    engine_version: str = ""
    plugins: list[tuple[str, str]] = field(default_factory=list)  # (plugin name, version)
    command: str = ""
    generated: str = ""  # "YYYY-MM-DD HH:MM"
    excluded: pd.DataFrame | None = None  # lenient mode: branch_id, name, parent, category, reasons
    previous: pd.DataFrame | None = None  # year over year, see scoring.previous.compare
    gone: pd.DataFrame | None = None  # last year's branches missing this year, see scoring.previous.gone
    selfcheck_notes: list[str] = field(default_factory=list)
    dropped_quotas: dict[str, str] = field(default_factory=dict)  # self-check of one branch: level -> quota text
    # the rubric as a table for the workbook: per indicator dimension, indicator (id), name, max, text (the
    # rule in words, scoring.rules.describe), unit and rate (the measure's), see scoring.engine.rubric_rows
    rubric_rows: list[dict] = field(default_factory=list)
    # what the data says about the rubric (scoring.checks.data_warnings): a quota giving a scope 0 places,
    # full marks the data cannot reach; printed by the run and listed in 评分标准与审计 (警告)
    rubric_warnings: list[str] = field(default_factory=list)
    # one part of a run split by 上级党组织 (scoring.output.split): (its name, the run's number of branches)
    part: tuple[str, int] | None = None


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


WARNING_COLUMNS = ["branch_id", "warning", "name", "evidence", "value", "explanation", "order"]
EXTRA_COLUMNS = ["branch_id", "indicator", "part", "label", "unit", "measured", "per", "raw", "cut", "left", "reason"]


@dataclass
class Result:
    rubric: Rubric
    branches: pd.DataFrame
    dimensions: pd.DataFrame
    indicators: pd.DataFrame
    bonus: pd.DataFrame
    vetoes: pd.DataFrame
    warnings: pd.DataFrame = field(default_factory=lambda: _empty(WARNING_COLUMNS))
    extras: pd.DataFrame = field(default_factory=lambda: _empty(EXTRA_COLUMNS))
    meta: RunMeta = field(default_factory=RunMeta)
