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
``scope_rank``, ``base_total``, ``bonus_total``, ``deduction``, ``max_total``, ``quota_note``,
``requires_note``, ``self_score`` (and ``stars_earned`` in the per-dimension model); per dimension ``star``
(per-dimension model); per indicator ``name``, ``target``, ``lost``, ``nominal_max``, ``applicable``; per
bonus claim ``title``, ``kind``, ``level``; per veto ``name``, ``award_level``.

Written only when the result carries them (``result.meta``), except ``warnings``:

- ``previous`` per branch, when last year's result was given (``meta["previous"]``, see
  :mod:`scoring.previous`): ``{"rank", "total", "level", "change", "rank_change"}`` with last year's rank,
  total and level, ``change`` 升星/降星/升级/降级/持平/新参评/等级不可比 and ``rank_change`` last year's rank
  minus this year's (positive = moved up); for a new branch rank, total, level and rank_change are null;
  top level ``gone``: ``[{"branch_id", "name", "rank", "total", "level"}]``, last year's branches that are
  missing this year;
- ``warnings`` per branch (always; ``[]`` when none fired): ``[{"id", "name", "explanation"}]`` from the
  result's ``warnings`` frame, or from ``meta["warnings"]`` (then ``id`` is null);
- top level ``excluded`` (``meta["excluded"]``, lenient mode): ``[{"branch_id", "name", "reasons"}]``.

Numbers are rounded to 4 decimals; NaN / missing become ``null``. The output is deterministic for the
same result (no timestamp), so two runs can be compared byte for byte.

Files are written with :func:`scoring.atomic.atomic_output`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.atomic import atomic_output
from scoring.result import Result

FLAG_SEPARATOR = "；"
DECIMALS = 4


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


def _reason_list(value) -> list[str]:
    """Reasons of an excluded branch: a list as it is, a "；"-joined text split, nothing for a missing value."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [part.strip() for part in str(value).split(FLAG_SEPARATOR) if part.strip()]


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

    dimension_spec = {"id": ("dimension", "text"), "name": ("name", "text"), "score": ("score", "num"), "max": ("max", "num")}
    if result.dimensions is not None and "star" in result.dimensions.columns:
        dimension_spec["star"] = ("star", "bool")
    dimensions = _grouped(result.dimensions, dimension_spec, sort_by=["order"])
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
            "award_level": ("award_level", "text"),
            "explanation": ("explanation", "text"),
        },
    )
    warnings = _warning_records(result)

    head_spec = {
        "branch_id": ("branch_id", "text"),
        "name": ("name", "text"),
        "category": ("category", "text"),
        "parent": ("parent", "text"),
        "rank": ("rank", "int"),
        "scope_rank": ("scope_rank", "int"),
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
        "requires_note": ("requires_note", "text"),
        "self_score": ("self_score", "num"),
    }
    if "stars_earned" in branches.columns:
        head_spec["stars_earned"] = ("stars_earned", "int")
    heads = _records(branches, head_spec)
    previous = _previous_records(branches, meta.get("previous"))
    # "grade" is null (not "") where the rubric does not grade or a veto removed the rating.
    for head in heads:
        if head["grade"] == "":
            head["grade"] = None
    flags = _split_flags(_column(branches, "flags", ""))
    # Keys of the grouped dicts are the raw branch ids; look them up with the raw column values.
    raw_ids = _column(branches, "branch_id").tolist()

    out_branches = []
    for position, (head, raw_id, branch_flags) in enumerate(zip(heads, raw_ids, flags)):
        entry = dict(head)
        entry["dimensions"] = dimensions.get(raw_id, [])
        entry["indicators"] = indicators.get(raw_id, [])
        entry["bonus"] = bonus.get(raw_id, [])
        entry["vetoes"] = vetoes.get(raw_id, [])
        entry["flags"] = branch_flags
        entry["warnings"] = warnings.get(raw_id, [])
        if previous is not None:
            entry["previous"] = previous[position]
        out_branches.append(entry)

    extra = {}
    if meta.get("gone") is not None:
        extra["gone"] = _records(
            meta["gone"],
            {"branch_id": ("branch_id", "text"), "name": ("支部名称", "text"), "rank": ("上年排名", "int"),
             "total": ("上年总分", "num"), "level": ("上年等级", "text")},
        )
    if meta.get("excluded") is not None:
        excluded = meta["excluded"]
        records = _records(excluded, {"branch_id": ("branch_id", "text"), "name": ("name", "text")})
        reasons = [_reason_list(value) for value in _column(excluded, "reasons").tolist()]
        extra["excluded"] = [{**record, "reasons": reason} for record, reason in zip(records, reasons)]

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
        **extra,
    }


def _warning_records(result: Result) -> dict:
    """Fired warnings (预警) per branch: ``[{"id", "name", "explanation"}]``, from the result's ``warnings``
    frame, or from ``meta["warnings"]`` (branch_id, 事项, 说明; no ids) when the frame is absent or empty."""
    own = getattr(result, "warnings", None)
    if own is not None and len(own):
        return _grouped(own, {"id": ("warning", "text"), "name": ("name", "text"), "explanation": ("explanation", "text")},
                        sort_by=["order"])
    given = (result.meta or {}).get("warnings")
    if given is not None and len(given):
        return _grouped(given, {"id": ("warning", "text"), "name": ("事项", "text"), "explanation": ("说明", "text")})
    return {}


def _previous_records(branches: pd.DataFrame, previous: pd.DataFrame | None) -> list[dict] | None:
    """Per branch (aligned to ``branches``) last year's rank, total, level and the change; None when no
    previous results were given."""
    if previous is None:
        return None
    aligned = previous.drop_duplicates("branch_id").set_index("branch_id").reindex(_column(branches, "branch_id").to_numpy())
    return _records(
        aligned.reset_index(drop=True),
        {"rank": ("上年排名", "int"), "total": ("上年总分", "num"), "level": ("上年等级", "text"),
         "change": ("升降", "text"), "rank_change": ("排名变化", "int")},
    )


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
