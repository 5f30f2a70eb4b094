"""Measures: what plugins provide, and the context they compute in.

A per-branch measure returns a DataFrame indexed by ``branch_id`` (every branch of the county, in any
order) with columns:

    value       float; NaN means "no data for this branch"
    applicable  bool; False means the indicator does not apply to this branch (not zero: the rubric
                leaves its maximum out and rescales)
    evidence    str; a Chinese phrase stating what was measured, e.g. "支委会全年召开9次"

and, optionally, columns the branch self-check (:mod:`scoring.selfcheck`) uses; the evaluator ignores them:

    the counts behind the value, when the measure declares them (``Measure.counts = (numerator column,
                denominator column)``), value = numerator / denominator: 流动党员 contacted / 流动党员 (2 of
                3), hours of training in total / members (772.5 / 25). With them the self-check states a
                step in counts a secretary acts on ("再联系1名流动党员", never "联系率提高到80%" when 80% of
                3 needs all 3; :func:`scoring.wording.count_step` does the arithmetic) and scores the rate
                the count reaches, not the threshold. Write them with ``ctx.result(..., columns={...})``.
    if_approved float; for a measure of records the committee approves (表彰与创新): the value the branch
                would have if the committee approved every record still awaiting review (审核通过 blank).
                Where it differs from ``value`` the self-check says the difference is 待审核.

A claims measure (``kind="claims"``) returns one row per claim with columns ``branch_id, claim,
title, kind, level, has_document (bool), approved (bool)`` and optionally ``pending`` (bool: not yet
reviewed by the committee, 审核通过 blank; a self-check shows what those claims could add as 待审核); the
rubric's bonus block scores it.

The self-check's advice (``Measure.advice``) is called ``advice(params, current, target)`` with measured
values (a count, a rate in [0, 1], a mean); for a measure declaring ``counts`` it is called
``advice(params, current, target, counts)`` with a :class:`scoring.wording.Counts`, and should say the
step as a count ("再联系2名流动党员"; for a mean, the total to add:
"人均学习培训学时提高到32学时（目前30.9学时），25名党员合计再参加27.5学时").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Callable

import numpy as np
import pandas as pd

from . import wording
from .dataset import Dataset
from .errors import PluginError


class UndeclaredInput(PluginError):
    """A measure read a table (or column) it did not declare in ``inputs``."""


@dataclass(frozen=True)
class Param:
    default: object
    description: str


@dataclass(frozen=True)
class Measure:
    id: str
    name: str  # Chinese name
    compute: Callable[..., pd.DataFrame]
    inputs: dict[str, tuple[str, ...]]  # table id -> columns read
    params: dict[str, Param] = field(default_factory=dict)
    unit: str = ""  # Chinese unit for sentences: 次, 学时, 年, 万元, 人, 件, 分; "%" for rates in [0, 1]
    kind: str = "number"  # "count", "rate", "number", "claims"
    digits: int | None = None  # decimals the evidence shows the value with (None: 1 for a rate's percent, 2 otherwise)
    description: str = ""
    plugin: str = ""  # filled by the plugin manager
    # advice for the self-check: advice(params, current, target[, counts]) -> a Chinese step a secretary can
    # act on ("再召开2次支委会", "督促1名党员补交党费"), or None to use the generic wording ("…提高到90%（目前85%）");
    # ``counts`` (a :class:`scoring.wording.Counts`) is passed when the measure declares ``counts``
    advice: Callable[..., str | None] | None = None
    # (numerator column, denominator column) of the frame when value = numerator / denominator (a rate of
    # whole things, or a mean): the self-check then says its steps in counts
    counts: tuple[str, str] | None = None

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"


@dataclass
class MeasureContext:
    """What a measure computes from: the dataset, the assessment year, and the branches.

    When the engine computes a measure, the context shows it only the tables and columns the measure
    declared in ``inputs``: reading another table stops the run with a message naming the plugin (a table
    nobody declared is not even read, so it would silently look empty), and a column not declared is not
    there (a KeyError the engine reports the same way)."""

    data: Dataset
    year: int
    inputs: Mapping[str, tuple[str, ...]] | None = None  # None: everything (tests, tools)
    measure: str = ""
    plugin: str = ""

    @property
    def branches(self) -> pd.DataFrame:
        return self.table("branches")

    @property
    def branch_index(self) -> pd.Index:
        return pd.Index(self.data.table("branches")["branch_id"], name="branch_id")

    @property
    def year_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 1, 1)

    @property
    def year_end(self) -> pd.Timestamp:
        """The assessment reference date: 31 December of the assessment year."""
        return pd.Timestamp(self.year, 12, 31)

    def table(self, table_id: str) -> pd.DataFrame:
        if self.inputs is None:
            return self.data.table(table_id)
        if table_id not in self.inputs:
            sheet = self.data.specs[table_id].sheet if table_id in self.data.specs else table_id
            raise UndeclaredInput(
                f"插件「{self.plugin}」的测量项「{self.measure}」读取了未在 inputs 中声明的数据表「{table_id}」（{sheet}）；"
                f"请在测量项的 inputs 中写明它读取的表和列")
        df = self.data.table(table_id)
        return df[[c for c in self.inputs[table_id] if c in df.columns]]

    def in_year(self, df: pd.DataFrame, col: str = "date") -> pd.DataFrame:
        d = df[col]
        return df[(d >= self.year_start) & (d <= self.year_end)]

    def per_branch(self, s: pd.Series, fill: float = 0.0) -> pd.Series:
        """Reindex a per-branch series (index branch_id) to every branch, filling absent ones."""
        return s.reindex(self.branch_index, fill_value=fill).astype(float)

    def result(self, value: pd.Series, evidence: pd.Series, applicable: pd.Series | None = None,
               columns: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
        """The measure's frame over every branch. ``columns`` adds more per-branch columns (float): the
        counts a measure declares in ``Measure.counts``, for the self-check's advice in counts."""
        idx = self.branch_index
        out = pd.DataFrame(index=idx)
        out["value"] = value.reindex(idx).astype(float)
        out["applicable"] = True if applicable is None else applicable.reindex(idx).fillna(False).astype(bool)
        out["evidence"] = evidence.reindex(idx).astype(object).fillna("").astype(str)
        for name, col in (columns or {}).items():
            out[name] = col.reindex(idx).astype(float)
        return out


# Numbers in evidence phrases: the one formatter of scoring.wording (half up), under the names plugins use.
fmt_num = wording.nums
fmt_pct = wording.pcts


def fmt_value(s: pd.Series, rate: bool) -> pd.Series:
    return wording.values(s, "", rate)


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num.astype(float) / den.where(den > 0, np.nan))
