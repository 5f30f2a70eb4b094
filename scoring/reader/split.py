"""A partitioned read (``scoring run --executor dask``): every worker reads every file, assembles only the
records of its own block of branches (a contiguous block of 支部信息 in the table's order, by each record's
own 支部编码), validates them, and returns what the driver needs to put the whole read together: the row
hashes of every table (for the data fingerprint), the hashes of every key (for duplicates across blocks)
and the notes (merged by :func:`~scoring.reader.intake.merge_notes`).

A read is split only where that gives exactly what the read of every record gives. Whenever it might
not, the worker raises :class:`NotSplit` and the driver reads the whole input on every worker instead
(see :mod:`scoring.distributed`): a problem anywhere (its message, location and cap per sheet must be
those of the whole read), a record whose 支部编码 is empty or not in 支部信息 (it belongs to no block), a
table without a 支部编码 column. Key values repeated across blocks are found by the driver from the key
hashes (a collision of two different keys only costs the whole read, never a wrong result).

A check added to validation that looks across branches (beyond keys, references, the fingerprint and
the notes) needs its own summary merged by the driver (:func:`scoring.distributed._merged`), or a block
raising NotSplit where it might differ: otherwise a split read would miss it without a word."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .assemble import _raw_column
from .cells import Deferred, _as_series, _no_text, _split
from .convert import _convert
from .intake import Intake, _Part, _branch_column, factored


class NotSplit(Exception):
    """This input cannot be read in blocks of branches with the same outcome as a whole read; the message
    (English, for developers) says why."""


def partition_bounds(n: int, k: int) -> list[tuple[int, int]]:
    """(start, stop) positions of ``k`` contiguous blocks of ``n`` branches, as equal as they can be."""
    cuts = [n * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


@dataclass
class Split:
    """Block ``part`` of ``parts`` of a read; :meth:`define` (after 支部信息 is assembled) and
    :meth:`take` (before every other table is) are called by the assembly."""

    part: int
    parts: int
    block: np.ndarray | None = None  # over the rows of 支部信息: this block's branches
    known: pd.Index | None = None  # the distinct 支部编码 of 支部信息
    owner: np.ndarray | None = None  # per value of ``known``: the block of its (first) row
    notes: list = field(default_factory=list)  # the read's notes, for merge_notes

    def order(self, tables: list[str]) -> list[str]:
        """The order of assembly: 支部信息 first (its rows define the blocks)."""
        if "branches" not in tables:
            raise NotSplit("no 支部信息")
        return ["branches"] + [t for t in tables if t != "branches"]

    def define(self, branches: pd.DataFrame) -> None:
        n = len(branches)
        start, stop = partition_bounds(n, self.parts)[self.part]
        self.block = np.zeros(n, dtype=bool)
        self.block[start:stop] = True
        codes, uniques = pd.factorize(branches["branch_id"].to_numpy(dtype=object), use_na_sentinel=True)
        first = np.full(len(uniques), n, dtype="int64")
        present = np.flatnonzero(codes >= 0)
        np.minimum.at(first, codes[present], present)
        cuts = np.array([a for a, _ in partition_bounds(n, self.parts)], dtype="int64")
        self.known = pd.Index(uniques, dtype=object)
        self.owner = np.searchsorted(cuts, first, side="right") - 1

    def take(self, ix: Intake, tid: str, parts: list[_Part]) -> None:
        """Keep of ``parts`` (in place) the rows of this block's branches, and in block 0 also the rows
        of no known branch (blank rows, dropped by the assembly; any other makes the read unsplittable,
        see :meth:`check_orphans`)."""
        spec = ix.specs[tid]
        column = _branch_column(spec)
        if column is None:
            raise NotSplit(f"table {tid} has no branch column")
        if not any(column in p.present for p in parts):
            raise NotSplit(f"table {tid} lacks its branch column {column}")
        sizes = [len(p.rows) for p in parts]
        raw = _raw_column(parts, column)  # a column not read yet is read here, once
        excel = np.repeat(np.array([p.fmt == "excel" for p in parts], dtype=bool), sizes)
        conv = _convert(_split(raw, _no_text(len(raw))), spec.column(column), excel)
        codes, uniques = conv.codes or factored(*pd.factorize(conv.values, use_na_sentinel=True))
        at = self.known.get_indexer(uniques)
        block = np.append(np.where(at >= 0, self.owner[np.maximum(at, 0)], -1), -1)[codes]  # -1: no branch
        keep = (block == self.part) | ((block < 0) if self.part == 0 else False)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype("int64")
        for p, a, b in zip(parts, starts[:-1], starts[1:]):
            idx = np.flatnonzero(keep[a:b])
            loaded = isinstance(p.data.get(column), Deferred)  # read above: not read again
            if len(idx) == b - a:
                if loaded:
                    p.data[column] = raw.iloc[a:b].reset_index(drop=True)
                continue
            if not len(idx):  # nothing of this part: its columns not read at all
                p.data = {cid: None for cid in p.data}
            else:
                p.data = {cid: raw.iloc[a + idx].reset_index(drop=True) if cid == column and loaded
                          else _taken(v, idx, b - a) for cid, v in p.data.items()}
            p.rows = p.rows[idx]

    def check_orphans(self, ix: Intake, tables: dict[str, pd.DataFrame]) -> None:
        """After assembly: a record of no known branch (kept by block 0; blank rows are dropped by then)
        belongs to no block, so the read is not split."""
        if self.part != 0:
            return
        for tid, frame in tables.items():
            if tid == "branches" or not len(frame):
                continue
            codes, uniques = ix.factorize(tid, frame, _branch_column(ix.specs[tid]))
            if (codes < 0).any() or (self.known.get_indexer(uniques) < 0).any():
                raise NotSplit(f"table {tid} has records of no branch in 支部信息")


def _taken(values, idx: np.ndarray, n: int):
    """The rows ``idx`` of a part's raw column (an array, a Series, or a Parquet column not read yet)."""
    if values is None:
        return None
    if isinstance(values, Deferred):
        return Deferred(lambda: _as_series(values(), n).iloc[idx].reset_index(drop=True))
    if isinstance(values, np.ndarray):
        return values[idx]
    return _as_series(values, n).iloc[idx].reset_index(drop=True)
