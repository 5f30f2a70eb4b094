"""The evaluator's output: tidy tables that every writer (Excel, JSON, self-check) is a view of.

All frames use plain columns (no index semantics). Row order of ``branches`` is rank order; the other
frames are sorted by (rank, rubric order).

branches    one row per branch, rank order:
    branch_id, name, category, parent, rank (int, 1-based, unique, county-wide), scope_rank (rank within
    the rubric's ranking.scope: county, parent or category), base_total (float, points from
    dimensions after not-applicable rescaling and blending), bonus (float, counted bonus after cap),
    deduction (float, fixed deductions from vetoes), total (float), max_total (float, nominal maximum
    without bonus), stars (Int64 or <NA>), grade (str or None), level (str, Chinese label shown to users:
    "五星" / "好" / "未评定" ...), rated (bool: False when a veto removed the rating), flags (str:
    "；"-joined Chinese flags, "" when none), quota_note (str, "" when none), requires_note (str: why a
    level reached by score was not given, e.g. the five-star extra condition; "" when none), self_score
    (float or NaN); in the per_dimension model also stars_earned (int, dimensions that earned their star)
dimensions  branch_id, dimension, name, score, max, order; in the per_dimension model also star (bool)
indicators  branch_id, dimension, indicator, name, value (float or NaN), target (float or NaN),
            points (float), max (float, 0 where not applicable), nominal_max (float), applicable (bool),
            lost (float = max - points), explanation (Chinese sentence), order (int, rubric order)
bonus       branch_id, claim (str id), title, kind, level, points (float, points this claim adds
            after highest-level and cap rules; 0 when not counted), counted (bool), explanation
warnings    branch_id, warning (id), name, explanation, order (fired warnings, 预警: no effect on the score)
vetoes      branch_id, veto (id), name, effect (no_rating, cap, deduct, flag, award), cap_level, award_level,
            points, flag, explanation, order (only fired vetoes)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Result:
    rubric: object  # scoring.rubric.Rubric
    branches: pd.DataFrame
    dimensions: pd.DataFrame
    indicators: pd.DataFrame
    bonus: pd.DataFrame
    vetoes: pd.DataFrame
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["branch_id", "warning", "name", "explanation", "order"]))
    meta: dict = field(default_factory=dict)  # rubric_sha256, data_sha256, engine_version, plugins, command, year
