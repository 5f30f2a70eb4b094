"""JSON view of a :class:`~scoring.result.Result` (the ``--json`` output).

The schema is a contract other systems rely on (product brief, section 6)::

    {"rubric": {"id", "name", "version", "sha256"},
     "data_sha256": "...",
     "branches": [   # in rank order
       {"branch_id", "name", "category", "parent", "rank", "total", "stars", "grade",
        "dimensions": [{"id", "name", "score", "max"}],
        "indicators": [{"id", "dimension", "value", "points", "max", "explanation"}],
        "bonus": [{"id", "points", "counted", "explanation"}],
        "vetoes": [{"id", "effect", "explanation"}],
        "flags": ["..."]}]}

Keys may be added, never renamed or repurposed. Extra keys written here: top level ``title``, ``year``,
``rating``, ``engine_version``, ``plugins``, ``data_notes``; per branch ``level``, ``rated``,
``base_total``, ``bonus_total``, ``deduction``, ``max_total``, ``quota_note``, ``self_score``; per
indicator ``name``, ``target``, ``lost``, ``nominal_max``, ``applicable``; per bonus claim ``title``,
``kind``, ``level``; per veto ``name``.

Numbers are rounded to 4 decimals; NaN / missing become ``null``. The output is deterministic for the
same result (no timestamp), so two runs can be compared byte for byte.

This module also holds :func:`atomic_output`, the write-to-temp-then-rename helper every writer uses.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.result import Result

FLAG_SEPARATOR = "；"
DECIMALS = 4


# --------------------------------------------------------------------------------------------------
# Atomic writes


def _default_mode() -> int:
    """The permission bits a normally created file would get (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path: Path | str, suffix: str) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success move it onto ``path``.

    The temporary file lives in the same directory so that ``os.replace`` is an atomic rename. On any
    exception the temporary file is removed and the exception propagates; an existing ``path`` is left
    exactly as it was. A reader never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix, delete=False) as handle:
        tmp = Path(handle.name)
    try:
        yield tmp
        # NamedTemporaryFile creates the file 0600; give the result the permissions of an ordinary file,
        # or keep those of the file being replaced.
        mode = path.stat().st_mode & 0o777 if path.exists() else _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# --------------------------------------------------------------------------------------------------
# Value cleaning (vectorized per column)


def _column(frame: pd.DataFrame, name: str, default=None) -> pd.Series:
    """``frame[name]``, or a column of ``default`` when the frame lacks it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _numbers(series: pd.Series) -> list:
    """Floats rounded to 4 decimals, ``None`` for NaN/NA/inf."""
    values = pd.to_numeric(series, errors="coerce").astype(float).round(DECIMALS).to_numpy()
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()


def _ints(series: pd.Series) -> list:
    values = pd.to_numeric(series, errors="coerce").astype(float).tolist()
    return [int(v) if math.isfinite(v) else None for v in values]


def _texts(series: pd.Series) -> list:
    """Strings as they are ("" stays ""); NaN/None become ``None``."""
    return [None if pd.isna(v) else (v if isinstance(v, str) else str(v)) for v in series.astype(object).tolist()]


def _bools(series: pd.Series) -> list:
    return [None if pd.isna(v) else bool(v) for v in series.astype(object).tolist()]


def _records(frame: pd.DataFrame, spec: dict[str, tuple[str, str]]) -> list[dict]:
    """Build one dict per row. ``spec`` maps output key -> (frame column, kind)."""
    converters = {"num": _numbers, "int": _ints, "text": _texts, "bool": _bools}
    columns = {key: converters[kind](_column(frame, col)) for key, (col, kind) in spec.items()}
    keys = list(columns)
    return [dict(zip(keys, row)) for row in zip(*columns.values())] if keys else []


def _grouped(frame: pd.DataFrame, spec: dict[str, tuple[str, str]], sort_by: list[str] | None = None) -> dict:
    """Group ``frame`` by branch once and return ``{branch_id: [record, ...]}`` (row order kept)."""
    if frame is None or len(frame) == 0 or "branch_id" not in frame.columns:
        return {}
    if sort_by:
        present = [c for c in sort_by if c in frame.columns]
        if present:
            frame = frame.sort_values(present, kind="stable")
    frame = frame.reset_index(drop=True)
    records = _records(frame, spec)
    positions = frame.groupby("branch_id", sort=False).indices
    return {bid: [records[i] for i in idx] for bid, idx in positions.items()}


def _split_flags(series: pd.Series) -> list[list[str]]:
    text = series.astype(object).where(series.notna(), "").astype(str)
    return [[part.strip() for part in value.split(FLAG_SEPARATOR) if part.strip()] for value in text.tolist()]


def _meta_notes(notes) -> list[str]:
    return [str(note) for note in (notes or [])]


def _plugins(plugins) -> list[dict]:
    out = []
    for item in plugins or []:
        if isinstance(item, (tuple, list)) and len(item) >= 2:
            out.append({"name": str(item[0]), "version": str(item[1])})
        else:
            out.append({"name": str(item), "version": None})
    return out


# --------------------------------------------------------------------------------------------------
# Public API


def to_json_dict(result: Result) -> dict:
    """The contract dictionary for ``result`` (branches in rank order)."""
    meta = result.meta or {}
    branches = result.branches.reset_index(drop=True)

    dimensions = _grouped(
        result.dimensions,
        {"id": ("dimension", "text"), "name": ("name", "text"), "score": ("score", "num"), "max": ("max", "num")},
        sort_by=["order"],
    )
    indicators = _grouped(
        result.indicators,
        {
            "id": ("indicator", "text"),
            "dimension": ("dimension", "text"),
            "name": ("name", "text"),
            "value": ("value", "num"),
            "target": ("target", "num"),
            "points": ("points", "num"),
            "max": ("max", "num"),
            "nominal_max": ("nominal_max", "num"),
            "lost": ("lost", "num"),
            "applicable": ("applicable", "bool"),
            "explanation": ("explanation", "text"),
        },
        sort_by=["order"],
    )
    bonus = _grouped(
        result.bonus,
        {
            "id": ("claim", "text"),
            "title": ("title", "text"),
            "kind": ("kind", "text"),
            "level": ("level", "text"),
            "points": ("points", "num"),
            "counted": ("counted", "bool"),
            "explanation": ("explanation", "text"),
        },
    )
    vetoes = _grouped(
        result.vetoes,
        {
            "id": ("veto", "text"),
            "name": ("name", "text"),
            "effect": ("effect", "text"),
            "explanation": ("explanation", "text"),
        },
    )

    heads = _records(
        branches,
        {
            "branch_id": ("branch_id", "text"),
            "name": ("name", "text"),
            "category": ("category", "text"),
            "parent": ("parent", "text"),
            "rank": ("rank", "int"),
            "total": ("total", "num"),
            "stars": ("stars", "int"),
            "grade": ("grade", "text"),
            "level": ("level", "text"),
            "rated": ("rated", "bool"),
            "base_total": ("base_total", "num"),
            "bonus_total": ("bonus", "num"),
            "deduction": ("deduction", "num"),
            "max_total": ("max_total", "num"),
            "quota_note": ("quota_note", "text"),
            "self_score": ("self_score", "num"),
        },
    )
    # "grade" is null (not "") where the rubric does not grade or a veto removed the rating.
    for head in heads:
        if head["grade"] == "":
            head["grade"] = None
    flags = _split_flags(_column(branches, "flags", ""))
    # Keys of the grouped dicts are the raw branch ids; look them up with the raw column values.
    raw_ids = _column(branches, "branch_id").tolist()

    out_branches = []
    for head, raw_id, branch_flags in zip(heads, raw_ids, flags):
        entry = dict(head)
        entry["dimensions"] = dimensions.get(raw_id, [])
        entry["indicators"] = indicators.get(raw_id, [])
        entry["bonus"] = bonus.get(raw_id, [])
        entry["vetoes"] = vetoes.get(raw_id, [])
        entry["flags"] = branch_flags
        out_branches.append(entry)

    return {
        "rubric": {
            "id": meta.get("rubric_id"),
            "name": meta.get("rubric_name"),
            "version": meta.get("rubric_version"),
            "sha256": meta.get("rubric_sha256"),
        },
        "data_sha256": meta.get("data_sha256"),
        "title": meta.get("title"),
        "year": meta.get("year"),
        "rating": meta.get("rating"),
        "engine_version": meta.get("engine_version"),
        "plugins": _plugins(meta.get("plugins")),
        "data_notes": _meta_notes(meta.get("data_notes")),
        "branches": out_branches,
    }


def _json_default(value):
    """Last-resort conversion of numpy / pandas scalars that slipped through."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        number = float(value)
        return round(number, DECIMALS) if math.isfinite(number) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def dumps(result: Result) -> str:
    return json.dumps(to_json_dict(result), ensure_ascii=False, indent=2, default=_json_default, allow_nan=False) + "\n"


def write_json(result: Result, path: Path | str) -> None:
    """Write the JSON contract to ``path`` atomically (UTF-8, ``ensure_ascii=False``, indent 2)."""
    text = dumps(result)
    with atomic_output(path, ".json") as tmp:
        tmp.write_text(text, encoding="utf-8")
