"""Integrity across records and tables: duplicate keys (located at both rows, across files and
sheets), identical rows in tables without a key, references to records that do not exist, references
that disagree with the record they point to, and needed tables no input provides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataNote, DataProblem
from ..lookup import key_positions
from .intake import Intake, _Piece
from .text import _brief, _file_names


def check_keys(ix: Intake, tables: dict[str, pd.DataFrame]) -> None:
    for tid, frame in tables.items():
        key = list(ix.specs[tid].key)
        if not len(frame):
            continue
        if not key:
            if tid not in ix.pruned:  # identical in the columns read is not identical: only said when all were read
                note_identical_rows(ix, tid, frame)
            continue
        combined = _key_codes(ix, tid, frame, key)  # -1 where a key column is empty
        complete = combined >= 0
        counts = np.bincount(combined[complete], minlength=1)
        if counts.max() <= 1:  # every key once: the usual case, no mask over the rows
            continue
        dup = complete & (counts[np.maximum(combined, 0)] > 1)
        pos = np.flatnonzero(dup)
        group = pd.factorize(combined[pos])[0]
        order = np.lexsort((pos, group))
        g_sorted, p_sorted = group[order], pos[order]
        starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
        first = np.empty(group.max() + 1, dtype="int64")
        second = np.empty(group.max() + 1, dtype="int64")
        first[g_sorted[starts]] = p_sorted[starts]
        second[g_sorted[starts]] = p_sorted[starts + 1]
        other = np.full(len(frame), -1, dtype="int64")
        other[pos] = np.where(pos == first[group], second[group], first[group])

        def message(p: _Piece, i: int, frame=frame, key=key, other=other, tid=tid) -> str:
            shown = "、".join(f"{p.headers[k]}「{_brief(frame[k].iat[i])}」" for k in key)
            q, row = ix.locate(tid, int(other[i]))
            if (q.file, q.sheet) == (p.file, p.sheet):
                where = f"第{row}行"
            elif q.file == p.file and q.sheet:
                where = f"工作表「{q.sheet}」第{row}行"
            else:  # another file: named, with its sheet where that is not the same sheet name
                sheet = f"工作表「{q.sheet}」" if q.sheet and q.sheet != p.sheet else ""
                where = f"「{_file_names(p.file, q.file)[1]}」{sheet}第{row}行"
            return f"{shown}重复（另见{where}）"

        ix.emit_rows(DataProblem.DUPLICATE_KEY, tid, dup, key[0], "重复", message)


def _key_codes(ix: Intake, tid: str, frame: pd.DataFrame, key: list[str]) -> np.ndarray:
    """One integer code per row for the values of the ``key`` columns (equal codes: equal values), -1 where
    any of them is empty, below ``max(4 * rows, 2**24)`` (``check_keys`` counts them with bincount);
    factorized per column, so text keys are hashed once per row and column. The codes of a column are
    validation's own (not to be changed); pairs are int32 where they fit (a province's 36M dues rows:
    each int64 temporary is 288 MB of fresh memory)."""
    combined = None
    for k in key:
        codes, uniques = ix.factorize(tid, frame, k)
        if combined is None:
            combined = codes
            continue
        width = max(len(uniques), 1)
        span = (int(combined.max()) + 1) * width
        empty = (combined < 0) | (codes < 0)
        pair = combined.astype("int32" if span < 2**31 else "int64")  # a copy: combined may be validation's
        pair *= width
        pair += codes
        pair[empty] = -1
        if span > max(4 * len(pair), 1 << 24):  # compact again (no overflow, bincount stays small)
            pair = np.where(empty, -1, pd.factorize(pair)[0])
        combined = pair
    return combined


def note_identical_rows(ix: Intake, tid: str, frame: pd.DataFrame) -> None:
    """A table without a key (meetings, training...) may hold the same record twice, for example
    when two workbooks both contain it; that is not an error, but it is counted twice, so say so."""
    again = frame.duplicated(keep="first").to_numpy()
    if not again.any():
        return
    for p, a, pos in ix.per_piece(tid, again):
        ix.note(DataNote.IDENTICAL_ROWS, p.given, p.file, p.sheet, None,
                f"{{n}}行与本表其他行内容完全相同（如第{int(p.rows[pos[0]])}行），将分别计入，请确认不是重复录入",
                count=len(pos), table=tid, first=int(p.rows[pos[0]]))


def check_references(ix: Intake, tables: dict[str, pd.DataFrame]) -> None:
    found = _References(ix, tables)
    for tid, frame in tables.items():
        spec = ix.specs[tid]
        for fk in spec.foreign_keys:
            target = ix.specs.get(fk.table)
            if target is None:
                continue
            if fk.table not in tables:
                if fk.table == tid:
                    continue
                for p in ix.pieces[tid]:
                    ix.note(DataNote.UNCHECKED, p.given, p.file, p.sheet, p.headers[fk.column],
                            f"没有「{target.sheet}」，未核对{p.headers[fk.column]}", table=tid)
                continue
            values = frame[fk.column]
            by_value = found.rows(tid, fk)  # per distinct value the row referenced, -1 if none
            # per record (code -1, an empty reference, takes the last slot: not missing)
            missing = np.append(by_value < 0, False)[ix.factorize(tid, frame, fk.column)[0]]
            if missing.any():
                ix.emit_rows(
                        DataProblem.UNKNOWN_REFERENCE,
                    tid, missing, fk.column, "不存在",
                    lambda p, i, v=values, t=target, c=fk.column:
                        f"{p.headers[c]}「{_brief(v.iat[i])}」在「{t.sheet}」中不存在")
            check_consistency(ix, tid, frame, fk, tables[fk.table], by_value)


class _References:
    """For every reference, the row of the record it points to. The references to one target column (a
    province's 党费, 学习培训 and 民主评议 all point to 党员名册's 3 million member ids) are looked up
    together: the target's first row per value found once, and the distinct values of every column
    pointing to it looked up in one pass (one hash table of the target instead of one per column)."""

    def __init__(self, ix: Intake, tables: dict[str, pd.DataFrame]):
        self.ix, self.tables = ix, tables
        self.groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for tid in tables:
            for fk in ix.specs[tid].foreign_keys:
                if fk.table in tables and fk.table in ix.specs:
                    self.groups.setdefault((fk.table, fk.target), []).append((tid, fk.column))
        self.done: dict[tuple[str, str], tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]] = {}

    def rows(self, tid: str, fk) -> np.ndarray:
        """Per distinct value of ``fk.column`` of ``tid`` (in the order of its codes, ``Intake.factorize``):
        the first row of ``fk.table`` whose ``fk.target`` it is, -1 where there is none. Taken per record
        only where a record needs it (a province's 36M dues rows)."""
        key = (fk.table, fk.target)
        if key not in self.done:
            self.done[key] = self._look_up(key)
        first, found = self.done[key]
        nowhere = len(first) - 1  # the last slot of ``first``: -1
        by_value = first[np.where(found[(tid, fk.column)] >= 0, found[(tid, fk.column)], nowhere)]
        # kept for the consistency check and the measures (ctx.positions): not looked up again
        self.ix.looked_up[(tid, fk.column, fk.table, fk.target)] = by_value
        return by_value

    def _look_up(self, key: tuple[str, str]):
        ix, tables = self.ix, self.tables
        tcodes, tuniques = ix.factorize(key[0], tables[key[0]], key[1])
        first = np.full(len(tuniques) + 1, -1, dtype="int64")
        present = np.flatnonzero(tcodes >= 0)
        first[tcodes[present][::-1]] = present[::-1]  # assigned last to first: the first row of each value wins
        members = self.groups[key]
        uniques = [np.asarray(ix.factorize(t, tables[t], c)[1], dtype=object) for t, c in members]
        sizes = [len(u) for u in uniques]
        if sum(sizes) and len(tuniques):
            every = key_positions(np.concatenate(uniques), tuniques)
        else:
            every = np.full(sum(sizes), -1, dtype="int64")
        parts = np.split(every, np.cumsum(sizes)[:-1])
        return first, dict(zip(members, parts))


def check_consistency(ix: Intake, tid: str, frame: pd.DataFrame, fk, ref: pd.DataFrame, by_value: np.ndarray) -> None:
    """A record pointing to a record of another table (a member) must agree with it on the references
    both have (the member's branch). ``ref`` is the referenced table, ``by_value`` the row in ``ref`` of
    each distinct value of the record's reference (-1 when it does not exist, :meth:`_References.rows`).
    Compared on factorized codes, the referenced record's worked out per distinct value."""
    spec, target = ix.specs[tid], ix.specs[fk.table]
    for other in spec.foreign_keys:
        if other is fk:
            continue
        for tfk in target.foreign_keys:
            if (tfk.table, tfk.target) != (other.table, other.target) or tfk.column == fk.target:
                continue
            scodes, suniques = ix.factorize(fk.table, ref, tfk.column)
            # per record the code among suniques of its member's branch, -1: no member or no branch there
            per_value = np.where(by_value >= 0, scodes[np.maximum(by_value, 0)] if len(scodes) else -1, -1)
            # int32 where the codes fit: over a province's 36M dues rows, half the bytes
            small = "int32" if len(suniques) < 2**31 - 2 else "int64"
            expected = np.append(per_value, -1).astype(small)[ix.factorize(tid, frame, fk.column)[0]]
            acodes, auniques = ix.factorize(tid, frame, other.column)
            same = key_positions(auniques, suniques) if len(auniques) and len(suniques) else \
                np.full(len(auniques), -1, dtype="int64")
            # the record's own branch among suniques, -2: empty
            actual = np.append(same, -2).astype(small)[acodes]
            # differs where both are known and not equal: one comparison over the rows, the few rows that
            # differ then checked for an unknown side
            differs = actual != expected
            at = np.flatnonzero(differs)
            if not len(at):
                continue
            differs[at[(expected[at] < 0) | (actual[at] == -2)]] = False
            if not differs.any():
                continue
            theader = target.column(tfk.column).header
            shared = np.asarray(suniques, dtype=object)
            values = frame[other.column]

            def message(p: _Piece, i: int, expected=expected, values=values, shared=shared, theader=theader,
                        other=other) -> str:
                return (f"{p.headers[fk.column]}「{_brief(frame[fk.column].iat[i])}」在「{target.sheet}」中的"
                        f"{theader}是「{_brief(shared[expected[i]])}」，与本行{p.headers[other.column]}"
                        f"「{_brief(values.iat[i])}」不一致")

            ix.emit_rows(DataProblem.INCONSISTENT_REFERENCE, tid, differs, other.column, "与名册不一致", message)


def check_needed(ix: Intake, wanted: set[str], tables: dict[str, pd.DataFrame], paths: list[Path]) -> None:
    if not ix.seen and any(p.code is DataProblem.UNKNOWN_WORKBOOK for p in ix.problems):
        return  # no input holds any known table: the unknown workbooks' lines say what was expected
    file = "、".join(str(p) for p in paths)
    folder = any(p.is_dir() for p in paths)
    for tid in sorted(wanted, key=lambda t: list(ix.specs).index(t)):
        if tid in ix.seen:
            continue
        spec = ix.specs[tid]
        hint = f"（或文件夹中的 {spec.id}.csv / {spec.sheet}.csv）" if folder else ""
        ix.problem(DataProblem.MISSING_SHEET, file, None, None, None, f"缺少工作表「{spec.sheet}」{hint}")
