"""Measures: what plugins provide, and the context they compute in.

A per-branch measure returns a DataFrame indexed by ``branch_id`` (every branch of the county, in any
order) with columns:

    value       float; NaN means "no data for this branch"
    applicable  bool; False means the indicator does not apply to this branch (not zero: the rubric
                leaves its maximum out and rescales)
    evidence    str; a Chinese phrase stating what was measured, e.g. "支委会全年召开9次"
    ceiling     float, optional; the most the value could be for this branch given its records (NaN:
                unknown). A branch whose ceiling cannot give an indicator's full marks is warned about.

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

Grouping by branch is shared: ``ctx.by_branch(table)`` gives the branch of every row of a table as a
position in ``ctx.branch_index`` (found once per run, for all measures) and counts, sums, means, minima
and maxima per branch over a row mask without a groupby; ``ctx.positions(table, column, target)`` does
the same for any key (the member of each training row in 党员名册). A plain pandas groupby works too, it
is only slower on large tables.
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
from .lookup import key_positions  # noqa: F401  (part of the measure helpers plugins use)


class UndeclaredInput(PluginError):
    """A measure read a table (or column) it did not declare in ``inputs``."""


@dataclass(frozen=True)
class Param:
    default: object
    description: str
    # the values the parameter may take (a text, or each text of a list): a rubric naming another value is
    # refused with "did you mean" (a veto on kinds = ["越级信访"] would never fire); None: any value
    choices: tuple[str, ...] | None = None


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
    # for a claims measure: the values its output columns take ({"level": (...), "kind": (...)}), so that
    # a bonus block naming a level or kind no claim can have is refused
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # the values the measure can take (lo, hi); None: from its kind (a rate 0..1, a count 0 and up).
    # Rubric checks use it: a rule whose full marks lie outside it can never be reached
    bounds: tuple[float, float] | None = None
    # the measure's frame may carry a column ``ceiling``: the most the value could be for that branch given
    # its records (the inspection items' maxima summed); this names it in warnings ("各检查项目满分合计")
    ceiling_text: str = ""

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"

    @property
    def domain(self) -> tuple[float, float]:
        """The values the measure can take: ``bounds``, else 0..1 for a rate, 0 and up for a count."""
        if self.bounds is not None:
            return (float(self.bounds[0]), float(self.bounds[1]))
        if self.kind == "rate":
            return (0.0, 1.0)
        if self.kind == "count":
            return (0.0, float("inf"))
        return (float("-inf"), float("inf"))


def _as_array(x, n: int, what: str) -> np.ndarray | None:
    """A row mask or a column of values aligned with a table of ``n`` rows, as an array (positionally)."""
    if x is None:
        return None
    if isinstance(x, (pd.Series, pd.Index)):
        arr = x.to_numpy()
    else:
        arr = np.asarray(x)
    if arr.ndim == 0:
        arr = np.full(n, arr.item())
    if len(arr) != n:
        raise ValueError(f"{what}: {len(arr)} rows, the table has {n}")
    return arr


def _floats(values, n: int) -> np.ndarray:
    if isinstance(values, pd.Series):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        if len(arr) != n:
            raise ValueError(f"values: {len(arr)} rows, the table has {n}")
        return arr
    return np.asarray(_as_array(values, n, "values"), dtype=float)


_NAT = np.iinfo(np.int64).min


class ByBranch:
    """The branch of every row of one table and per-branch aggregates over row masks (see
    :meth:`MeasureContext.by_branch`). Every result is a Series indexed like ``ctx.branch_index`` (float,
    or dates for dates); ``mask`` and ``values`` are aligned with the table's rows (a boolean Series or
    array derived from ``ctx.table(...)``). Rows whose 支部编码 is not a branch of the run are left out."""

    def __init__(self, codes: np.ndarray, index: pd.Index):
        self.codes = codes  # per row: position in ``index``, -1 for none
        self.index = index

    def _rows(self, mask) -> np.ndarray:
        ok = self.codes >= 0
        if mask is not None:
            m = _as_array(mask, len(self.codes), "mask")
            ok &= (m.astype(bool) if m.dtype != object else pd.array(m, dtype="boolean").fillna(False).to_numpy(bool))
        return ok

    def _series(self, arr: np.ndarray) -> pd.Series:
        return pd.Series(arr, index=self.index, dtype=float)

    def count(self, mask=None) -> pd.Series:
        """Rows per branch (0 for none)."""
        ok = self._rows(mask)
        return self._series(np.bincount(self.codes[ok], minlength=len(self.index)).astype(float))

    def sum(self, values, mask=None) -> pd.Series:
        """Sum of ``values`` per branch, missing values counted as 0 (0 for a branch without rows)."""
        v = _floats(values, len(self.codes))
        ok = self._rows(mask) & ~np.isnan(v)
        return self._series(np.bincount(self.codes[ok], weights=v[ok], minlength=len(self.index)))

    def mean(self, values, mask=None) -> pd.Series:
        """Mean of the present ``values`` per branch (NaN for a branch without any)."""
        v = _floats(values, len(self.codes))
        ok = self._rows(mask) & ~np.isnan(v)
        n = np.bincount(self.codes[ok], minlength=len(self.index))
        total = np.bincount(self.codes[ok], weights=v[ok], minlength=len(self.index))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._series(np.where(n > 0, total / np.maximum(n, 1), np.nan))

    def _extreme(self, values, mask, ufunc, largest: bool):
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        if pd.api.types.is_datetime64_any_dtype(s):
            v = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
            ok = self._rows(mask) & (v != _NAT)
            start = _NAT + 1 if largest else np.iinfo(np.int64).max
            out = np.full(len(self.index), start, dtype=np.int64)
            ufunc.at(out, self.codes[ok], v[ok])
            out[out == start] = _NAT
            return pd.Series(out.view("datetime64[ns]"), index=self.index)
        v = _floats(s, len(self.codes))
        ok = self._rows(mask) & ~np.isnan(v)
        out = np.full(len(self.index), -np.inf if largest else np.inf)
        ufunc.at(out, self.codes[ok], v[ok])
        out[np.isinf(out) & (np.bincount(self.codes[ok], minlength=len(self.index)) == 0)] = np.nan
        return self._series(out)

    def max(self, values, mask=None) -> pd.Series:
        """Largest present value per branch (NaN / NaT for none); dates give dates."""
        return self._extreme(values, mask, np.maximum, True)

    def min(self, values, mask=None) -> pd.Series:
        """Smallest present value per branch (NaN / NaT for none); dates give dates."""
        return self._extreme(values, mask, np.minimum, False)

    def join(self, texts, sep: str = "、", mask=None) -> pd.Series:
        """The ``texts`` of each branch's rows joined by ``sep`` in row order ("" for none): sort the table
        first for another order. Vectorized by position within the branch."""
        t = _as_array(texts, len(self.codes), "texts")
        ok = self._rows(mask)
        rows = np.flatnonzero(ok)
        out = np.full(len(self.index), "", dtype=object)
        if not len(rows):
            return pd.Series(out, index=self.index, dtype=object)
        codes = self.codes[rows]
        order = np.argsort(codes, kind="stable")
        codes, rows = codes[order], rows[order]
        first = np.r_[True, codes[1:] != codes[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(codes)), 0))
        within = np.arange(len(codes)) - start
        values = np.asarray(t, dtype=object)[rows]
        values = np.where(pd.isna(values), "", values).astype(str).astype(object)
        if within.max() >= 64:  # long lists: one join per branch
            joined = pd.Series(values).groupby(codes, sort=False).agg(sep.join)
            out[joined.index.to_numpy()] = joined.to_numpy(dtype=object)
            return pd.Series(out, index=self.index, dtype=object)
        for j in range(int(within.max()) + 1):
            at = within == j
            c = codes[at]
            out[c] = (out[c] + sep + values[at]) if j else values[at]
        return pd.Series(out, index=self.index, dtype=object)


class Grouping:
    """What every measure of one run shares: the branch index and the key positions of each table's rows
    (found once per table and column, for all measures). The engine makes one per run; a context made
    without one makes its own."""

    def __init__(self, data: Dataset):
        self.data = data
        self._index: pd.Index | None = None
        self._positions: dict[tuple, tuple[object, np.ndarray]] = {}

    @property
    def branch_index(self) -> pd.Index:
        if self._index is None:
            self._index = pd.Index(self.data.table("branches")["branch_id"], name="branch_id")
        return self._index

    def positions(self, table_id: str, column: str, target: str, target_column: str | None = None) -> np.ndarray:
        target_column = target_column or column
        frame = self.data.table(table_id)
        key = (table_id, column, target, target_column)
        hit = self._positions.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        if target == "branches" and target_column == "branch_id":
            where = self.branch_index
        else:
            where = pd.Index(self.data.table(target)[target_column])
        known = self._validated(table_id, column)
        if not len(frame):
            pos = np.zeros(0, dtype=np.int64)
        elif known is not None:  # validation's codes: each distinct value looked up once
            codes, uniques = known
            found = getattr(self.data, "looked_up_rows", None)
            look = found(table_id, column, target, target_column) if found is not None else None
            if look is None:  # validation's check of references did not look them up
                look = key_positions(uniques, where)
            # one take over the rows (code -1, an empty cell, takes the appended -1)
            pos = np.append(np.asarray(look, dtype=np.int64), -1)[codes]
        else:
            pos = key_positions(frame[column], where)
        self._positions[key] = (frame, pos)
        return pos

    def _validated(self, table_id: str, column: str) -> tuple[np.ndarray, pd.Index] | None:
        """The column's codes as validation found them (``Dataset.factorized``), if the data has them."""
        found = getattr(self.data, "factorized", None)
        return found(table_id, column) if found is not None else None

    def factorize(self, table_id: str, column: str) -> tuple[np.ndarray, pd.Index]:
        frame = self.data.table(table_id)
        key = (table_id, column)
        hit = self._positions.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        col = frame[column]
        known = self._validated(table_id, column)
        if known is not None:
            codes, uniques = np.asarray(known[0], dtype=np.int64), known[1]
        elif isinstance(col.dtype, pd.CategoricalDtype):
            codes, uniques = col.cat.codes.to_numpy().astype(np.int64), pd.Index(col.cat.categories)
        else:
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            codes, uniques = np.asarray(codes, dtype=np.int64), pd.Index(uniques)
        self._positions[key] = (frame, (codes, uniques))
        return codes, uniques


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
    shared: Grouping | None = None  # the run's grouping, shared by its measures

    def __post_init__(self):
        if self.shared is None or self.shared.data is not self.data:
            self.shared = Grouping(self.data)

    @property
    def branches(self) -> pd.DataFrame:
        return self.table("branches")

    @property
    def branch_index(self) -> pd.Index:
        return self.shared.branch_index

    def _refuse_undeclared(self, table_id: str) -> None:
        """An undeclared table is refused, naming the plugin."""
        if table_id not in self.inputs:
            sheet = self.data.specs[table_id].sheet if table_id in self.data.specs else table_id
            raise UndeclaredInput(
                f"插件「{self.plugin}」的测量项「{self.measure}」读取了未在 inputs 中声明的数据表「{table_id}」（{sheet}）；"
                f"请在测量项的 inputs 中写明它读取的表和列")

    def _declared(self, table_id: str, column: str) -> None:
        """The column is declared (without making the declared columns' frame, as :meth:`table` does)."""
        if self.inputs is None:
            return
        self._refuse_undeclared(table_id)
        if column not in self.inputs[table_id]:
            raise KeyError(f"{table_id}.{column}")

    def by_branch(self, table_id: str) -> ByBranch:
        """The branch of every row of ``table_id`` (its ``branch_id`` column, which the measure declares)
        and per-branch ``count(mask)``, ``sum(values, mask)``, ``mean``, ``min`` and ``max``: the shared
        grouping, found once per run. ``mask`` and ``values`` are aligned with ``ctx.table(table_id)``::

            m = ctx.table("meetings")
            held = ctx.by_branch("meetings").count(ctx.in_year_mask(m) & (m["kind"] == "党课"))
        """
        self._declared(table_id, "branch_id")
        return ByBranch(self.shared.positions(table_id, "branch_id", "branches"), self.branch_index)

    def factorize(self, table_id: str, column: str) -> tuple[np.ndarray, pd.Index]:
        """``(codes, uniques)`` of a column of ``table_id``: ``uniques[codes[i]]`` is row i's value, code -1
        a missing value; found once per run (free for a categorical column). Work on the few distinct
        values (months, kinds) and spread the result with ``result[codes]``."""
        self._declared(table_id, column)
        return self.shared.factorize(table_id, column)

    def one_of(self, table_id: str, column: str, values) -> np.ndarray:
        """For every row of ``table_id``, whether its ``column`` is one of ``values`` (False where empty): what
        ``table[column].isin(values)`` gives, worked out once per distinct value (:meth:`factorize`) instead
        of comparing every row's text (a province's meetings: 4 million kinds per indicator)."""
        codes, uniques = self.factorize(table_id, column)
        hit = pd.Index(np.asarray(uniques, dtype=object), dtype=object).isin(list(values))
        return np.append(hit, False)[codes]

    def positions(self, table_id: str, column: str, target: str, target_column: str | None = None) -> np.ndarray:
        """For every row of ``table_id``, the position of its ``column`` value among the rows of ``target``
        (whose ``target_column``, default the same name, is a key), -1 where there is none; found once per
        run. ``ctx.positions("training", "member_id", "members")`` is the 党员名册 row of each training row."""
        self._declared(table_id, column)
        self._declared(target, target_column or column)
        return self.shared.positions(table_id, column, target, target_column)

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
        self._refuse_undeclared(table_id)
        df = self.data.table(table_id)
        return df[[c for c in self.inputs[table_id] if c in df.columns]]

    def in_year(self, df: pd.DataFrame, col: str = "date") -> pd.DataFrame:
        return df[self.in_year_mask(df, col)]

    def in_year_mask(self, df: pd.DataFrame, col: str = "date") -> pd.Series:
        """True for the rows whose ``col`` date lies in the assessment year."""
        d = df[col]
        return (d >= self.year_start) & (d <= self.year_end)

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
