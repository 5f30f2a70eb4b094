"""The state of one read: the specs, what each sheet and file contributed, and every problem and note
collected on the way (lazy validation: nothing raises until the end).

Problems located in records of assembled tables are kept pending (:meth:`Intake.emit_rows`) and emitted
by :meth:`Intake.flush` once every table is known, because attributing a record to a branch (lenient
mode) may need another table: a member's branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataNote, DataProblem, Problem
from ..tables import Table
from .text import _key

MAX_LISTED = 20  # problems of one kind listed per column and sheet before one summary line


@dataclass
class _Grid:
    """One sheet or file before its header is located: positional columns of raw cells."""

    given: str  # the path as the user gave it
    file: str  # the file, for messages
    sheet: str | None  # None for CSV and Parquet
    table: Table
    columns: list  # np.ndarray (workbooks) or pd.Series (CSV, Parquet) per column
    fmt: str  # "excel", "csv" or "parquet"
    header: list | None = None  # Parquet: the column names (the grid holds data only)
    nrows: int | None = None  # Parquet: the number of records (columns not read are None in ``columns``)


def factored(codes: np.ndarray, uniques) -> tuple[np.ndarray, pd.Index]:
    """pd.factorize's (codes, uniques) as validation keeps them: int32 codes where they fit (a province's
    36M dues rows), the distinct values as an object index."""
    if len(uniques) < 2**31 - 1:
        codes = codes.astype("int32", copy=False)
    return codes, pd.Index(uniques, dtype=object)


@dataclass
class _Part:
    """What one sheet or file contributes to a table, before conversion."""

    given: str
    file: str
    sheet: str | None
    fmt: str
    headers: dict[str, str]  # every column id -> header as written here (the spec's header where absent)
    present: frozenset[str]  # column ids the sheet has
    data: dict[str, object]  # column id -> raw values of the data rows (np.ndarray or pd.Series)
    rows: np.ndarray  # Excel row / CSV line of each data row


@dataclass
class _Piece:
    """The records one sheet or file contributes to an assembled table (blank rows dropped)."""

    given: str
    file: str
    sheet: str | None
    headers: dict[str, str]
    present: frozenset[str]
    rows: np.ndarray


@dataclass
class _Note:
    key: tuple
    given: str
    file: str
    sheet: str | None
    column: str | None
    count: int
    message: str  # may contain {n}: the count
    # the row of the record the message gives as its example (the piece's first one noted), for notes
    # about records; None for notes about a file, sheet or column. A partitioned read (each worker
    # assembling the records of its own branches) keeps the note of the first example (merge_notes)
    first: int | None = None


class TableLog:
    """Record problems and notes as they are found: the :class:`Intake`'s own, and the log of one table's
    assembly, kept apart from the intake's until :meth:`Intake.add_log`. Tables are assembled side by side
    on threads, and their problems and notes are added in the order of the tables, so that a run lists
    (and caps) them as a table-by-table read does. The assembly of a table reads and writes only its own
    entries of the intake (``pieces``, ``offsets`` and ``codes`` of its table)."""

    def __init__(self):
        # problems located in records of assembled tables, emitted by Intake.flush() once every table is
        # known (attributing a record to a branch may need another table: a member's branch)
        self.pending: list[tuple[DataProblem, str, np.ndarray, str, str, Callable[[_Piece, int], str]]] = []
        self.notes: list[_Note] = []

    def emit_rows(self, code: DataProblem, tid: str, mask: np.ndarray, column: str, label: str,
                  message: Callable[[_Piece, int], str]) -> None:
        """Problems for records of an assembled table (``mask`` over its rows), located and capped per
        contributing sheet; emitted by :meth:`Intake.flush`."""
        self.pending.append((code, tid, mask, column, label, message))

    def note(self, kind: DataNote, given: str, file: str, sheet: str | None, column: str | None, message: str,
             count: int = 1, table: str | None = None, first: int | None = None) -> None:
        """A note; ``first``: for a note about records, the row of the record its message gives as example."""
        key = (given, table or sheet or file, sheet, column, kind)
        self.notes.append(_Note(key, given, file, sheet, column, count, message, first))


class Intake(TableLog):
    def __init__(self, specs: dict[str, Table]):
        super().__init__()
        self.specs = specs
        self.problems: list[Problem] = []
        self.owners: list[str | None] = []  # per problem: the branch it is attributed to (lenient mode)
        self.sources: list[str] = []
        self.parts: dict[str, list[_Part]] = {}  # table id -> sheets and files, in reading order
        self.pieces: dict[str, list[_Piece]] = {}  # the same after assembly
        self.offsets: dict[str, np.ndarray] = {}  # table id -> start of each piece in the assembled table
        self.by_name: dict[str, str] = {}
        for t in specs.values():
            self.by_name.setdefault(_key(t.sheet), t.id)
            self.by_name.setdefault(_key(t.id), t.id)
        self.lookups: dict[str, dict[str, str]] = {}
        for t in specs.values():
            lk: dict[str, str] = {}
            for c in t.columns:
                lk.setdefault(_key(c.header), c.id)
                lk.setdefault(_key(c.id), c.id)
            self.lookups[t.id] = lk
        self.seen: set[str] = set()  # tables some sheet or file was found for, readable or not
        self.wanted: set[str] = set()  # tables the rubric needs (for messages)
        # table id -> the column ids to read (see read_dataset's ``columns``); a table not listed is read whole
        self.keep: dict[str, frozenset[str]] = {}
        self.pruned: set[str] = set()  # tables of which some sheet or file had a column left out
        self.codes: dict[tuple[str, str], tuple[np.ndarray, pd.Index]] = {}  # see factorize()
        # (table, column, target table, target column) -> the target row of each of the column's distinct
        # values (in the order of its codes), -1 where there is none: what check_references found
        self.looked_up: dict[tuple[str, str, str, str], np.ndarray] = {}
        # table id -> its columns the key and reference checks factorize (its key, its references, the
        # columns other tables' references point to)
        self.checked: dict[str, set[str]] = {t: set(spec.key) | {fk.column for fk in spec.foreign_keys}
                                             for t, spec in self.specs.items()}
        for spec in self.specs.values():
            for fk in spec.foreign_keys:
                self.checked.setdefault(fk.table, set()).add(fk.target)

    def factorize(self, tid: str, frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
        """``(codes, uniques)`` of a column of an assembled table (code -1: empty), found once for every
        check that needs it (keys, references, their consistency); :meth:`drop_codes` frees them."""
        got = self.codes.get((tid, column))
        if got is None:
            got = self.codes[(tid, column)] = factored(*pd.factorize(frame[column], use_na_sentinel=True))
        return got

    def drop_codes(self) -> None:
        self.codes = {}
        self.looked_up = {}

    # -- problems and notes ------------------------------------------------------------------------

    def problem(self, code: DataProblem, file: str, sheet: str | None, row: int | None, column: str | None,
                message: str, owner: str | None = None) -> None:
        """One problem. ``owner`` is the branch it is attributed to in lenient mode: only problems of a record
        (``code.of_record``) have one."""
        self.problems.append(Problem(file, sheet, row, column, message, code))
        self.owners.append(owner if code.of_record else None)

    def emit(self, code: DataProblem, file: str, sheet: str | None, column: str | None, rows: np.ndarray,
             positions: np.ndarray, label: str, message: Callable[[int], str], owner: str | None = None) -> None:
        """Problems for the cells at ``positions`` (in row order): the first MAX_LISTED, then one summary
        (with the same code: it stands for the problems it does not list)."""
        for p in positions[:MAX_LISTED]:
            self.problem(code, file, sheet, int(rows[p]), column, message(int(p)), owner)
        rest = len(positions) - MAX_LISTED
        if rest > 0:
            at = int(rows[positions[MAX_LISTED]])
            self.problem(code, file, sheet, at, column, f"…该列另有{rest}处同类问题（{label}，自本行起未逐一列出）",
                         owner)

    def attributed(self) -> bool:
        """Lenient mode: whether every problem is one of a record and attributed to a branch."""
        return bool(self.problems) and all(
            p.code.of_record and b is not None for p, b in zip(self.problems, self.owners))

    def per_piece(self, tid: str, mask: np.ndarray):
        """(piece, start, positions within the piece) for every piece with a True in ``mask``."""
        starts = self.offsets[tid]
        pieces = self.pieces[tid]
        ends = starts + np.array([len(p.rows) for p in pieces], dtype="int64")
        cum = np.concatenate([[0], np.cumsum(mask, dtype="int64")])
        for k in np.flatnonzero(cum[ends] - cum[starts]):
            a = int(starts[k])
            yield pieces[k], a, np.flatnonzero(mask[a:int(ends[k])])

    def flush(self, owners: dict[str, np.ndarray] | None) -> None:
        """Emit the pending record problems. With ``owners`` (per table, the branch of each record or None,
        see :meth:`row_branches`) each problem is attributed to its record's branch and the cap applies per
        sheet, column and branch; without, per sheet and column."""
        for code, tid, mask, column, label, message in self.pending:
            for p, a, pos in self.per_piece(tid, mask):
                def at(i: int, p=p, a=a) -> str:
                    return message(p, a + i)

                if owners is None:
                    self.emit(code, p.file, p.sheet, p.headers[column], p.rows, pos, label, at)
                    continue
                which, branches = pd.factorize(owners[tid][a + pos], use_na_sentinel=True)
                order = np.argsort(which, kind="stable")
                bounds = np.flatnonzero(np.r_[True, which[order][1:] != which[order][:-1], True])
                for lo, hi in zip(bounds[:-1], bounds[1:]):  # one group per branch with problems here
                    k = int(which[order[lo]])
                    self.emit(code, p.file, p.sheet, p.headers[column], p.rows, pos[order[lo:hi]], label, at,
                              None if k < 0 else branches[k])
        self.pending = []

    def add_log(self, log: TableLog) -> None:
        self.pending.extend(log.pending)
        self.notes.extend(log.notes)

    def final_notes(self) -> list[Problem]:
        return final_notes(self.notes)

    def locate(self, tid: str, i: int) -> tuple[_Piece, int]:
        """The sheet and row a record of an assembled table came from."""
        k = int(np.searchsorted(self.offsets[tid], i, side="right")) - 1
        while len(self.pieces[tid][k].rows) == 0:  # pieces without records share their start
            k -= 1
        p = self.pieces[tid][k]
        return p, int(p.rows[i - self.offsets[tid][k]])



def final_notes(notes: list[_Note]) -> list[Problem]:
    """One note per (input, table, column, kind); the same note from many files of a folder is merged."""
    groups: dict[tuple, list[_Note]] = {}
    for n in notes:
        groups.setdefault(n.key, []).append(n)
    out = []
    for group in groups.values():
        first = group[0]
        files = list(dict.fromkeys(n.file for n in group))
        text = first.message.format(n=sum(n.count for n in group))
        if len(files) == 1:
            out.append(Problem(first.file, first.sheet, None, first.column, text, first.key[-1]))
        else:
            out.append(Problem(first.given, first.sheet, None, first.column,
                               f"{text}（涉及{len(files)}个文件，如 {Path(files[0]).name}）", first.key[-1]))
    return sorted(out, key=Problem.sort_key)


def merge_notes(lists: list[list[_Note]], files: list[str]) -> list[_Note]:
    """The notes of one read made of the notes of its partitions (each read every file, and assembled
    the records of its own branches): a note about a file, sheet or column is in every list and is kept
    once (from the first list); the notes about records of one (input, table, column, kind) and file are
    one note with their counts added and the example of the first record, in the reading order of
    ``files`` (the read's sources), as the read of every record would have noted them."""
    kept = [n for n in lists[0] if n.first is None] if lists else []
    merged: dict[tuple, _Note] = {}
    for notes in lists:
        for n in notes:
            if n.first is None:
                continue
            at = (n.key, n.file)
            got = merged.get(at)
            if got is None:
                merged[at] = _Note(n.key, n.given, n.file, n.sheet, n.column, n.count, n.message, n.first)
                continue
            got.count += n.count
            if n.first < got.first:
                got.message, got.first = n.message, n.first
    order = {f: i for i, f in enumerate(files)}
    return kept + sorted(merged.values(), key=lambda n: order.get(n.file, len(order)))


def _branch_column(spec: Table) -> str | None:
    """The column holding a record's own 支部编码: the key of 支部信息, or a reference to it."""
    if spec.id == "branches":
        return "branch_id"
    for fk in spec.foreign_keys:
        if fk.table == "branches" and fk.target == "branch_id":
            return fk.column
    return None
