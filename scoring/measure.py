"""Measures: what plugins provide, and the context they compute in.

A per-branch measure returns a DataFrame indexed by ``branch_id`` (every branch of the county, in any
order) with columns:

    value       float; NaN means "no data for this branch"
    applicable  bool; False means the indicator does not apply to this branch (not zero: the rubric
                leaves its maximum out and rescales)
    evidence    str; a Chinese phrase stating what was measured, e.g. "支委会全年召开9次"

A claims measure (``kind="claims"``) returns one row per claim with columns ``branch_id, claim,
title, kind, level, has_document (bool), approved (bool)``; the rubric's bonus block scores it.
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
    # advice for the self-check: advice(params, current, target) -> a Chinese step a secretary can act on
    # ("再召开2次支委会", "督促1名党员补交党费"), or None to use the generic wording ("…提高到90%（目前85%）")
    advice: Callable[[dict, float, float], str | None] | None = None

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

    def result(self, value: pd.Series, evidence: pd.Series, applicable: pd.Series | None = None) -> pd.DataFrame:
        idx = self.branch_index
        out = pd.DataFrame(index=idx)
        out["value"] = value.reindex(idx).astype(float)
        out["applicable"] = True if applicable is None else applicable.reindex(idx).fillna(False).astype(bool)
        out["evidence"] = evidence.reindex(idx).astype(object).fillna("").astype(str)
        return out


# Numbers in evidence phrases: the one formatter of scoring.wording (half up), under the names plugins use.
fmt_num = wording.nums
fmt_pct = wording.pcts


def fmt_value(s: pd.Series, rate: bool) -> pd.Series:
    return wording.values(s, "", rate)


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num.astype(float) / den.where(den > 0, np.nan))
