"""JSON view of a :class:`~scoring.result.Result` (the ``--json`` output).

The schema is a contract other systems rely on (product brief, section 6)::

    {"rubric": {"id", "name", "version", "sha256"},
     "data_sha256": "...",
     "branches": [   # in rank order
       {"branch_id", "name", "category", "parent", "rank", "total", "stars", "grade",
        "dimensions": [{"id", "name", "score", "max"}],
        "indicators": [{"id", "dimension", "value", "points", "max", "explanation",
                        "reason", "reason_fields"}],   # reason: a stable code; fields: its numbers
        "bonus": [{"id", "points", "counted", "explanation"}],
        "vetoes": [{"id", "effect", "explanation"}],
        "flags": ["..."]}]}

Keys may be added, never renamed or repurposed. Extra keys written here: top level ``title``, ``year``,
``rating``, ``engine_version``, ``plugins``, ``data_notes``; per branch ``level``, ``rated``,
``scope_rank``, ``base_total``, ``bonus_total``, ``deduction``, ``max_total``, ``quota_note``, ``quota_tie``
(the level at whose quota line the branch was tied with others, "" when not), ``tie_note`` (which tie-break
key ordered equal published totals, or 并列), ``ranked_total`` (the total as published and ranked),
``requires_note``, ``self_score`` (and ``stars_earned`` in the per-dimension model); per dimension ``star``
(per-dimension model); per indicator ``name``, ``target``, ``lost``, ``nominal_max``, ``applicable``,
``evidence`` (the measure's phrase); per bonus claim ``title``, ``kind``, ``level``, ``reason``; per veto
``name``, ``award_level``, ``reason``.

``reason`` is a stable code (``shortfall.deducted``, ``steps.hit``, ``linear``, ``na``, ``no_data``, ... -- the
codes and their fields are declared by the rule modules, :data:`scoring.rules.CODES`); ``reason_fields`` holds
the numbers its sentence shows (``target``, ``shortfall``, ``per``, ``deducted``, ``op``, ``threshold`` ...),
``rule_points`` (the rule's points before extra deductions) and ``extra_deductions`` where any applied.

Written only when the result carries them (``result.meta``), except ``warnings``:

- ``previous`` per branch, when last year's result was given (``meta.previous``, see
  :mod:`scoring.previous`): ``{"rank", "total", "level", "change", "rank_change"}`` with last year's rank,
  total and level, ``change`` 升星/降星/升级/降级/持平/新参评/等级不可比 and ``rank_change`` last year's rank
  minus this year's (positive = moved up); for a new branch rank, total, level and rank_change are null;
  top level ``gone``: ``[{"branch_id", "name", "rank", "total", "level"}]``, last year's branches that are
  missing this year;
- ``warnings`` per branch (always; ``[]`` when none fired): ``[{"id", "name", "explanation"}]`` from the
  result's ``warnings`` frame;
- top level ``excluded`` (``meta.excluded``, lenient mode): ``[{"branch_id", "name", "reasons"}]``.

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


def _raw(series: pd.Series) -> list:
    return series.astype(object).tolist()


def _json_number(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return round(f, DECIMALS) if math.isfinite(f) else None
    return v if isinstance(v, str) else str(v)


def reason_fields(ind: pd.DataFrame, extras: pd.DataFrame | None) -> list[dict]:
    """Per indicator row the numbers of its reason (the fields its code uses, :func:`scoring.rules.reason_fields`),
    with the rule's points and, when extra deductions found something, ``extra_deductions``: a list of
    ``{"label", "measured", "unit", "per", "raw", "cut", "left", "reason"}``."""
    from scoring import rules

    by_key: dict[tuple, list[dict]] = {}
    if extras is not None and len(extras):
        ex = extras.sort_values(["branch_id", "indicator", "part"], kind="stable")
        cols = ["label", "measured", "unit", "per", "raw", "cut", "left", "reason"]
        values = {c: ex[c].astype(object).tolist() for c in cols}
        for i, key in enumerate(zip(ex["branch_id"].tolist(), ex["indicator"].tolist())):
            by_key.setdefault(key, []).append({c: _json_number(values[c][i]) for c in cols})
    codes = _column(ind, "reason", "").astype(object).fillna("").astype(str).tolist()
    wanted = {code: rules.reason_fields(code) for code in set(codes)}
    fields = {f: _column(ind, f).astype(object).tolist() for f in set().union(*wanted.values()) if f in ind.columns}
    rule_points = _column(ind, "rule_points").astype(object).tolist()
    keys = list(zip(_column(ind, "branch_id").tolist(), _column(ind, "indicator").tolist()))
    out = []
    for i, code in enumerate(codes):
        d = {f: _json_number(fields[f][i]) for f in wanted[code] if f in fields}
        if code in rules.CODES and code not in rules.GENERIC_CODES:
            d["rule_points"] = _json_number(rule_points[i])
        if keys[i] in by_key:
            d["extra_deductions"] = by_key[keys[i]]
        out.append(d)
    return out


def _records(frame: pd.DataFrame, spec: dict[str, tuple[str, str]]) -> list[dict]:
    """Build one dict per row. ``spec`` maps output key -> (frame column, kind)."""
    converters = {"num": _numbers, "int": _ints, "text": _texts, "bool": _bools, "raw": _raw}
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
    meta = result.meta
    branches = result.branches.reset_index(drop=True)

    dimension_spec = {"id": ("dimension", "text"), "name": ("name", "text"), "score": ("score", "num"), "max": ("max", "num")}
    if result.dimensions is not None and "star" in result.dimensions.columns:
        dimension_spec["star"] = ("star", "bool")
    dimensions = _grouped(result.dimensions, dimension_spec, sort_by=["order"])
    ind_frame = result.indicators
    if len(ind_frame):
        ind_frame = ind_frame.assign(_fields=reason_fields(ind_frame, result.extras))
    indicators = _grouped(
        ind_frame,
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
            "evidence": ("evidence", "text"),
            "explanation": ("explanation", "text"),
            "reason": ("reason", "text"),
            "reason_fields": ("_fields", "raw"),
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
            "reason": ("reason", "text"),
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
            "reason": ("reason", "text"),
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
        "quota_tie": ("quota_tie", "text"),
        "tie_note": ("tie_note", "text"),
        "ranked_total": ("ranked_total", "num"),
        "requires_note": ("requires_note", "text"),
        "self_score": ("self_score", "num"),
    }
    if "stars_earned" in branches.columns:
        head_spec["stars_earned"] = ("stars_earned", "int")
    heads = _records(branches, head_spec)
    previous = _previous_records(branches, meta.previous)
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
    if meta.gone is not None:
        extra["gone"] = _records(
            meta.gone,
            {"branch_id": ("branch_id", "text"), "name": ("支部名称", "text"), "rank": ("上年排名", "int"),
             "total": ("上年总分", "num"), "level": ("上年等级", "text")},
        )
    if meta.excluded is not None:
        excluded = meta.excluded
        records = _records(excluded, {"branch_id": ("branch_id", "text"), "name": ("name", "text")})
        reasons = [_reason_list(value) for value in _column(excluded, "reasons").tolist()]
        extra["excluded"] = [{**record, "reasons": reason} for record, reason in zip(records, reasons)]

    return {
        "rubric": {
            "id": meta.rubric_id or None,
            "name": meta.rubric_name or None,
            "version": meta.rubric_version or None,
            "sha256": meta.rubric_sha256 or None,
        },
        "data_sha256": meta.data_sha256 or None,
        "title": meta.title or None,
        "year": meta.year,
        "rating": meta.rating or None,
        "engine_version": meta.engine_version or None,
        "plugins": _plugins(meta.plugins),
        "data_notes": _meta_notes(meta.data_notes),
        "branches": out_branches,
        **extra,
    }


def _warning_records(result: Result) -> dict:
    """Fired warnings (预警) per branch: ``[{"id", "name", "explanation"}]``, from the result's ``warnings``."""
    own = result.warnings
    if own is not None and len(own):
        return _grouped(own, {"id": ("warning", "text"), "name": ("name", "text"), "explanation": ("explanation", "text")},
                        sort_by=["order"])
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
