"""Lenient mode: every problem located in a record is attributed to a branch (the record's 支部编码, or,
where that is empty or unknown, the branch of the member the record names); when every problem is
attributed, those branches are removed from every table and listed with their problems as reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import EXCLUDED_COLUMNS
from ..errors import Problem
from .intake import Intake, _branch_column


def row_branches(ix: Intake, tables: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Per table, the branch each record belongs to (object array, None where it belongs to none):
    its own 支部编码 when 支部信息 lists it, else the branch of the record it references (a member's
    branch for 党费交纳), else None."""
    branches = tables.get("branches")
    known = pd.Index(branches["branch_id"].dropna().unique() if branches is not None else [], dtype=object)
    out: dict[str, np.ndarray] = {}
    for tid, frame in tables.items():
        spec = ix.specs[tid]
        owner = np.full(len(frame), None, dtype=object)
        for fk in spec.foreign_keys:  # through a referenced record: the member's branch
            ref = tables.get(fk.table)
            through = _branch_column(ix.specs[fk.table]) if fk.table in ix.specs else None
            if fk.table in ("branches", tid) or ref is None or through is None:
                continue
            ref = ref[ref[fk.target].notna()].drop_duplicates(subset=[fk.target])
            if not len(ref):
                continue
            at = pd.Index(ref[fk.target].to_numpy(dtype=object), dtype=object).get_indexer(
                frame[fk.column].to_numpy(dtype=object))
            via = np.where(at >= 0, ref[through].to_numpy(dtype=object)[np.maximum(at, 0)], None)
            ok = (known.get_indexer(via) >= 0) & pd.isna(owner)
            owner[ok] = via[ok]
        column = _branch_column(spec)
        if column is not None:  # the record's own 支部编码 comes first
            own = frame[column].to_numpy(dtype=object)
            ok = known.get_indexer(own) >= 0
            owner[ok] = own[ok]
        out[tid] = owner
    return out


def exclude(ix: Intake, tables: dict[str, pd.DataFrame], origins: dict[str, pd.DataFrame],
            owners: dict[str, np.ndarray]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], pd.DataFrame,
                                                    dict[str, tuple[Problem, ...]]]:
    """Remove every record of the branches problems were attributed to; return the remaining tables and
    origins (renumbered from 0), the excluded branches with their reasons, and each excluded branch's
    problems (with their codes)."""
    pairs = sorted(set(zip(ix.problems, ix.owners)), key=lambda pb: pb[0].sort_key())
    texts = pd.DataFrame({"branch_id": [b for _, b in pairs], "text": [str(p) for p, _ in pairs]}, dtype=object)
    reasons = texts.groupby("branch_id", sort=False)["text"].agg("；".join)
    branches = tables["branches"]
    listed = branches[branches["branch_id"].isin(reasons.index)].drop_duplicates("branch_id")
    excluded = pd.DataFrame({
        **{c: listed[c].to_numpy(dtype=object) for c in EXCLUDED_COLUMNS if c != "reasons"},
        "reasons": reasons.reindex(listed["branch_id"]).to_numpy(dtype=object),
    }, columns=list(EXCLUDED_COLUMNS), dtype=object)
    gone = pd.Index(reasons.index, dtype=object)
    kept_tables: dict[str, pd.DataFrame] = {}
    kept_origins: dict[str, pd.DataFrame] = {}
    for tid, frame in tables.items():
        keep = ~pd.Index(owners[tid], dtype=object).isin(gone)
        kept_tables[tid] = frame[keep].reset_index(drop=True)
        kept_origins[tid] = origins[tid][keep].reset_index(drop=True)
    by_branch: dict[str, list[Problem]] = {}
    for p, b in pairs:
        by_branch.setdefault(b, []).append(p)
    return kept_tables, kept_origins, excluded, {b: tuple(ps) for b, ps in by_branch.items()}
