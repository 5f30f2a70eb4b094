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
from typing import Callable

import numpy as np
import pandas as pd

from .dataset import Dataset


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
    description: str = ""
    plugin: str = ""  # filled by the plugin manager

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"


@dataclass
class MeasureContext:
    """What a measure computes from: the dataset, the assessment year, and the branches."""

    data: Dataset
    year: int

    @property
    def branches(self) -> pd.DataFrame:
        return self.data.table("branches")

    @property
    def branch_index(self) -> pd.Index:
        return pd.Index(self.branches["branch_id"], name="branch_id")

    @property
    def year_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 1, 1)

    @property
    def year_end(self) -> pd.Timestamp:
        """The assessment reference date: 31 December of the assessment year."""
        return pd.Timestamp(self.year, 12, 31)

    def table(self, table_id: str) -> pd.DataFrame:
        return self.data.table(table_id)

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


def fmt_num(s: pd.Series | float, digits: int = 2) -> pd.Series:
    """Numbers as short Chinese-document text: 9 -> "9", 1.50 -> "1.5", 0.333 -> "0.33"."""
    s = pd.Series(s) if not isinstance(s, pd.Series) else s
    r = s.astype(float).round(digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    txt = r.astype(str).str.replace(r"\.0$", "", regex=True)
    return txt.where(r.notna(), "—")


def fmt_pct(s: pd.Series, digits: int = 1) -> pd.Series:
    """Rates in [0, 1] as percent text: 0.875 -> "87.5%"."""
    return fmt_num(s.astype(float) * 100, digits) + "%"


def fmt_value(s: pd.Series, rate: bool) -> pd.Series:
    return fmt_pct(s) if rate else fmt_num(s)


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return (num.astype(float) / den.where(den > 0, np.nan))
