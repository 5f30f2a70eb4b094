"""A county's records as typed pandas tables with canonical English column ids.

dtypes after reading (whatever the source format):
    str, enum, month -> object columns of Python str (None for empty)
    int              -> pandas "Int64"
    float            -> float64 (NaN for empty)
    date             -> datetime64[ns] (NaT for empty)
    bool             -> pandas "boolean"
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import Problem
from .tables import Table

HASH_ROWS = 1 << 22  # rows hashed at a time (Dataset.key_hashes)
EXCLUDED_COLUMNS = ("branch_id", "name", "parent", "category", "reasons")


def empty_excluded() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUDED_COLUMNS})


@dataclass
class Dataset:
    tables: dict[str, pd.DataFrame]
    specs: dict[str, Table]
    sources: list[str] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # data-quality notes: what was tolerated or corrected
    # where each record came from: per table a frame aligned with the table's index, columns file and
    # sheet (categorical; sheet missing for CSV/Parquet) and row (Excel row / CSV line as the user sees it)
    origins: dict[str, pd.DataFrame] = field(default_factory=dict)
    # branches left out in lenient mode because of data problems attributed to them (see
    # ``scoring.reader.read_dataset``): columns EXCLUDED_COLUMNS, one row per branch in 支部信息 order, reasons
    # the "；"-joined located problem texts. Their records are in no table, ``branches`` included.
    excluded: pd.DataFrame = field(default_factory=empty_excluded)
    # the same branches' problems as data: branch_id -> its located problems, each with its code
    # (``Problem.code``), in the order of ``reasons``
    excluded_problems: dict[str, tuple[Problem, ...]] = field(default_factory=dict)
    # columns validation factorized, (table id, column id) -> (the table frame they were found on, codes
    # with -1 for empty, uniques): reused by :meth:`factorized` while the table is that same frame
    codes: dict[tuple[str, str], tuple[pd.DataFrame, np.ndarray, pd.Index]] = field(default_factory=dict, repr=False)
    # what validation's check of references found: (table id, column, target table id, target column) ->
    # (the table frame, the target frame, the target row of each of the column's distinct values in the
    # order of its codes in ``codes``, -1 where none): reused by :meth:`looked_up_rows` while both are those frames
    looked_up: dict[tuple[str, str, str, str], tuple[pd.DataFrame, pd.DataFrame, np.ndarray]] = field(
        default_factory=dict, repr=False)
    # the last ``scoring.engine.year_check``: (year, the tables it looked at, its notes), so that a run
    # checking the year for its notes and again before measuring passes over the records once
    year_checked: tuple | None = field(default=None, repr=False, compare=False)

    def has(self, table_id: str) -> bool:
        return table_id in self.tables

    def table(self, table_id: str) -> pd.DataFrame:
        """The table, or an empty frame with the spec's columns when the input had no such sheet."""
        if table_id in self.tables:
            return self.tables[table_id]
        spec = self.specs[table_id]
        return empty_frame(spec)

    @property
    def branches(self) -> pd.DataFrame:
        return self.tables["branches"]

    def factorized(self, table_id: str, column: str) -> tuple[np.ndarray, pd.Index] | None:
        """``(codes, uniques)`` of a column as validation found them (pd.factorize's, -1 for empty), or None
        when validation did not factorize it or the table has been replaced since."""
        got = self.codes.get((table_id, column))
        if got is None or got[0] is not self.tables.get(table_id):
            return None
        return got[1], got[2]

    def looked_up_rows(self, table_id: str, column: str, target: str, target_column: str) -> np.ndarray | None:
        """The row of ``target`` (the first whose ``target_column`` is the value) of each distinct value of
        the column, in the order of :meth:`factorized`'s uniques, -1 where there is none; None when
        validation did not look them up or a table has been replaced since."""
        got = self.looked_up.get((table_id, column, target, target_column))
        if got is None or got[0] is not self.tables.get(table_id) or got[1] is not self.tables.get(target) \
                or self.factorized(table_id, column) is None:
            return None
        return got[2]

    def sha256(self) -> str:
        """Fingerprint of the content (not of file bytes): equal for equal records in any row order.

        Per table its id, its sorted column names and the sorted row hashes of
        ``pd.util.hash_pandas_object(table[sorted columns], index=False, categorize=True)``. The row hashes
        are combined here column by column with pandas' own formula (:func:`_combine`), so that a column
        validation factorized is hashed from its codes (its distinct values hashed once, then taken by
        code: what pandas does for a categorical) without building a Categorical (whose dtype checks the
        distinct values again: 4 s for a province's 3 million member ids)."""
        # a table's row hashes are hashed as soon as they are made (a province's 36M dues rows: 288 MB, not
        # held with every other table's until the end)
        return _fingerprint((tid, sorted(self.tables[tid].columns), self.row_hashes(tid))
                            for tid in sorted(self.tables))

    def row_hashes(self, tid: str) -> np.ndarray:
        """The sorted uint64 hashes of a table's rows (over its sorted columns), as :meth:`sha256` takes them."""
        df = self.tables[tid]
        if not len(df):
            return np.empty(0, dtype=np.uint64)
        out = self.key_hashes(tid, sorted(df.columns))
        out.sort()  # in place: a province's 36M dues rows are not copied to be sorted
        return out

    def key_hashes(self, tid: str, key) -> np.ndarray:
        """The uint64 hash of each row's values of the ``key`` columns (equal keys: equal hashes). Worked out
        :data:`HASH_ROWS` rows at a time: a value's hash depends on the value alone, so the rows' hashes are
        those of the whole columns, without a whole column's hash and its temporaries per column (over a
        gigabyte for a province's dues, while the measures run)."""
        n = len(self.tables[tid])
        hashers = [self._column_hasher(tid, c) for c in key]
        out = np.empty(n, dtype=np.uint64)
        for a in range(0, n, HASH_ROWS):
            b = min(n, a + HASH_ROWS)
            out[a:b] = _combine((h(a, b) for h in hashers), len(hashers), b - a)
        return out

    def _column_hasher(self, tid: str, column: str):
        """``(start, stop) ->`` the uint64 hash of the column's values in those rows, as
        ``hash_pandas_object(..., categorize=True)`` hashes them."""
        series = self.tables[tid][column]
        got = self.factorized(tid, column)
        if got is None or series.dtype != object or not len(got[1]):
            return lambda a, b: pd.util.hash_pandas_object(series.iloc[a:b], index=False, categorize=True).to_numpy()
        codes, uniques = got
        # the distinct values hashed once; code -1 (empty) takes the appended mark pandas gives a missing value
        hashed = np.append(pd.util.hash_array(np.asarray(uniques, dtype=object), categorize=False),
                           np.iinfo(np.uint64).max).astype(np.uint64)
        return lambda a, b: hashed[codes[a:b]]


def fingerprint(tables: dict[str, tuple[list[str], np.ndarray]]) -> str:
    """:meth:`Dataset.sha256` of tables given as table id -> (sorted column names, sorted row hashes): the
    row hashes of a table read in blocks of branches are merged before they are hashed."""
    return _fingerprint((tid, *tables[tid]) for tid in sorted(tables))


def _fingerprint(tables) -> str:
    """The fingerprint of ``(table id, sorted column names, sorted row hashes)`` in the order of the ids."""
    h = hashlib.sha256()
    for tid, cols, rows in tables:
        h.update(tid.encode())
        h.update("\x1f".join(cols).encode())
        if len(rows):
            h.update(rows.tobytes())
    return h.hexdigest()


def _combine(arrays, count: int, length: int) -> np.ndarray:
    """Row hashes from column hashes: ``pandas.core.util.hashing.combine_hash_arrays`` (CPython's tuple
    hash), which ``hash_pandas_object`` uses for a frame."""
    mult = np.uint64(1000003)
    out = np.full(length, 0x345678, dtype=np.uint64)
    for i, a in enumerate(arrays):
        inverse = count - i
        out ^= a
        out *= mult
        mult += np.uint64(82520 + inverse + inverse)
    out += np.uint64(97531)
    return out


def empty_frame(spec: Table) -> pd.DataFrame:
    return pd.DataFrame({c.id: pd.Series(dtype=DTYPES[c.dtype]) for c in spec.columns})


DTYPES = {
    "str": "object",
    "enum": "object",
    "month": "object",
    "int": "Int64",
    "float": "float64",
    "date": "datetime64[ns]",
    "bool": "boolean",
}
