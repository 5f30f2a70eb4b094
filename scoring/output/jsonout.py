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
    """Strings as they are ("" stays ""); NaN/None become ``None`` (missing found for the whole column)."""
    values = series.astype(object)
    missing = values.isna().to_numpy().tolist()
    return [None if m else (v if v.__class__ is str else str(v)) for v, m in zip(values.tolist(), missing)]


def _bools(series: pd.Series) -> list:
    values = series.astype(object)
    missing = values.isna().to_numpy().tolist()
    return [None if m else bool(v) for v, m in zip(values.tolist(), missing)]


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


def _extra_records(extras: pd.DataFrame | None) -> dict[tuple, list[dict]]:
    """Extra deductions by (branch_id, indicator), in part order."""
    by_key: dict[tuple, list[dict]] = {}
    if extras is not None and len(extras):
        ex = extras.sort_values(["branch_id", "indicator", "part"], kind="stable")
        cols = ["label", "measured", "unit", "per", "raw", "cut", "left", "reason"]
        values = {c: ex[c].astype(object).tolist() for c in cols}
        for i, key in enumerate(zip(ex["branch_id"].tolist(), ex["indicator"].tolist())):
            by_key.setdefault(key, []).append({c: _json_number(values[c][i]) for c in cols})
    return by_key


def reason_fields(ind: pd.DataFrame, extras: pd.DataFrame | None, by_key: dict | None = None) -> list[dict]:
    """Per indicator row the numbers of its reason (the fields its code uses, :func:`scoring.rules.reason_fields`),
    with the rule's points and, when extra deductions found something, ``extra_deductions``: a list of
    ``{"label", "measured", "unit", "per", "raw", "cut", "left", "reason"}``. ``by_key`` is
    :func:`_extra_records` of ``extras`` made once (for a result written in chunks)."""
    from scoring import rules

    by_key = _extra_records(extras) if by_key is None else by_key
    codes = _column(ind, "reason", "").astype(object).fillna("").astype(str).tolist()
    wanted = {code: rules.reason_fields(code) for code in set(codes)}
    fields = {f: _numbers_or_raw(_column(ind, f)) for f in set().union(*wanted.values()) if f in ind.columns}
    rule_points = _numbers_or_raw(_column(ind, "rule_points"))
    keys = list(zip(_column(ind, "branch_id").tolist(), _column(ind, "indicator").tolist())) if by_key else None
    with_rule = {code: code in rules.CODES and code not in rules.GENERIC_CODES for code in wanted}
    plan = {code: [f for f in wanted[code] if f in fields] for code in wanted}
    out = []
    for i, code in enumerate(codes):
        d = {f: fields[f][i] for f in plan[code]}
        if with_rule[code]:
            d["rule_points"] = rule_points[i]
        if keys is not None and keys[i] in by_key:
            d["extra_deductions"] = by_key[keys[i]]
        out.append(d)
    return out


def _numbers_or_raw(series: pd.Series) -> list:
    """A field column as :func:`_json_number` gives each value: numbers rounded (vectorized), text as is."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return [None if pd.isna(v) else bool(v) for v in series.astype(object).tolist()]
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numbers(series)
    return [_json_number(v) for v in series.astype(object).tolist()]


def _records(frame: pd.DataFrame, spec: dict[str, tuple[str, str]]) -> list[dict]:
    """Build one dict per row. ``spec`` maps output key -> (frame column, kind)."""
    converters = {"num": _numbers, "int": _ints, "text": _texts, "bool": _bools, "raw": _raw}
    columns = {key: converters[kind](_column(frame, col)) for key, (col, kind) in spec.items()}
    keys = list(columns)
    return [dict(zip(keys, row)) for row in zip(*columns.values())] if keys else []


class _ByBranch:
    """The rows of one result frame in branch rank order (each branch's rows in ``sort_by`` order, ties as
    they were), to take the records of a run of consecutive ranks at a time."""

    def __init__(self, frame: pd.DataFrame | None, where: pd.Index, spec: dict, sort_by: list[str] | None = None):
        self.spec = spec
        self.frame = frame if frame is not None and len(frame) and "branch_id" in frame.columns else None
        if self.frame is None:
            return
        pos = where.get_indexer(self.frame["branch_id"])
        keys = [pos]
        for c in reversed([c for c in (sort_by or []) if c in self.frame.columns]):
            keys.insert(0, self.frame[c].to_numpy())
        order = np.lexsort(keys) if len(keys) > 1 else np.argsort(pos, kind="stable")
        order = order[pos[order] >= 0]
        self.order, self.pos = order, pos[order]

    def take(self, start: int, stop: int, extra=None) -> list[list[dict]]:
        """Per branch of ranks start..stop-1 its records (``extra(sub_frame)`` adds a column first)."""
        if self.frame is None:
            return [[] for _ in range(stop - start)]
        lo, hi = np.searchsorted(self.pos, [start, stop])
        sub = self.frame.iloc[self.order[lo:hi]]
        if extra is not None and len(sub):
            sub = extra(sub)
        records = _records(sub, self.spec) if len(sub) else []
        counts = np.bincount(self.pos[lo:hi] - start, minlength=stop - start)
        out, at = [], 0
        for c in counts.tolist():
            out.append(records[at:at + c])
            at += c
        return out


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


DIMENSION_SPEC = {"id": ("dimension", "text"), "name": ("name", "text"), "score": ("score", "num"), "max": ("max", "num")}
INDICATOR_SPEC = {
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
}
BONUS_SPEC = {
    "id": ("claim", "text"),
    "title": ("title", "text"),
    "kind": ("kind", "text"),
    "level": ("level", "text"),
    "points": ("points", "num"),
    "counted": ("counted", "bool"),
    "explanation": ("explanation", "text"),
    "reason": ("reason", "text"),
}
VETO_SPEC = {
    "id": ("veto", "text"),
    "name": ("name", "text"),
    "effect": ("effect", "text"),
    "award_level": ("award_level", "text"),
    "explanation": ("explanation", "text"),
    "reason": ("reason", "text"),
}
WARNING_SPEC = {"id": ("warning", "text"), "name": ("name", "text"), "explanation": ("explanation", "text")}
HEAD_SPEC = {
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
CHUNK = 2000  # branches whose records are built (and written) at a time


def iter_branches(result: Result, chunk: int = CHUNK):
    """The ``branches`` entries of the JSON contract in rank order, ``chunk`` branches at a time (lists of
    dicts): a province's records are never all built at once."""
    meta = result.meta
    branches = result.branches.reset_index(drop=True)
    where = pd.Index(_column(branches, "branch_id"))
    dimension_spec = dict(DIMENSION_SPEC)
    if result.dimensions is not None and "star" in result.dimensions.columns:
        dimension_spec["star"] = ("star", "bool")
    dimensions = _ByBranch(result.dimensions, where, dimension_spec, ["order"])
    indicators = _ByBranch(result.indicators, where, INDICATOR_SPEC, ["order"])
    by_key = _extra_records(result.extras)
    add_fields = (lambda sub: sub.assign(_fields=reason_fields(sub, None, by_key)))
    bonus = _ByBranch(result.bonus, where, BONUS_SPEC)
    vetoes = _ByBranch(result.vetoes, where, VETO_SPEC)
    warnings = _ByBranch(result.warnings if result.warnings is not None and len(result.warnings) else None, where,
                         WARNING_SPEC, ["order"])
    head_spec = dict(HEAD_SPEC)
    if "stars_earned" in branches.columns:
        head_spec["stars_earned"] = ("stars_earned", "int")
    previous_all = _previous_records(branches, meta.previous)
    for start in range(0, len(branches), chunk):
        stop = min(start + chunk, len(branches))
        part = branches.iloc[start:stop]
        heads = _records(part, head_spec)
        previous = previous_all[start:stop] if previous_all is not None else None
        flags = _split_flags(_column(part, "flags", ""))
        dims, inds = dimensions.take(start, stop), indicators.take(start, stop, add_fields)
        bon, vet, warn = bonus.take(start, stop), vetoes.take(start, stop), warnings.take(start, stop)
        out = []
        for i, head in enumerate(heads):
            entry = dict(head)
            # "grade" is null (not "") where the rubric does not grade or a veto removed the rating.
            if entry["grade"] == "":
                entry["grade"] = None
            entry["dimensions"] = dims[i]
            entry["indicators"] = inds[i]
            entry["bonus"] = bon[i]
            entry["vetoes"] = vet[i]
            entry["flags"] = flags[i]
            entry["warnings"] = warn[i]
            if previous is not None:
                entry["previous"] = previous[i]
            out.append(entry)
        yield out


def _top(result: Result) -> tuple[dict, dict]:
    """The contract's keys before ``branches`` and after it."""
    meta = result.meta
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
    head = {
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
        **({"rubric_warnings": list(meta.rubric_warnings)} if getattr(meta, "rubric_warnings", None) else {}),
    }
    return head, extra


def to_json_dict(result: Result) -> dict:
    """The contract dictionary for ``result`` (branches in rank order)."""
    head, extra = _top(result)
    return {**head, "branches": [b for part in iter_branches(result) for b in part], **extra}


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


def _encode(value, depth: int) -> bytes:
    """``value`` as JSON with an indent of 2, its lines shifted to nesting ``depth`` (what
    ``json.dumps(..., indent=2)`` writes for it there): orjson, which encodes in native code."""
    import orjson

    text = orjson.dumps(value, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    return text.replace(b"\n", b"\n" + b"  " * depth) if depth else text


def iter_json(result: Result):
    """The JSON text of ``result`` in pieces (bytes, UTF-8): the same text as ``json.dumps(to_json_dict(result),
    ensure_ascii=False, indent=2)`` plus a newline, made a chunk of branches at a time."""
    head, extra = _top(result)
    items = list(head.items())
    yield b"{"
    for key, value in items:
        yield b"\n  " + _encode(key, 0) + b": " + _encode(value, 1) + b","
    yield b'\n  "branches": ['
    first = True
    for part in iter_branches(result):
        for entry in part:
            yield (b"" if first else b",") + b"\n    " + _encode(entry, 2)
            first = False
    yield b"]" if first else b"\n  ]"
    for key, value in extra.items():
        yield b",\n  " + _encode(key, 0) + b": " + _encode(value, 1)
    yield b"\n}\n"


def dumps(result: Result) -> str:
    return b"".join(iter_json(result)).decode("utf-8")


def write_json(result: Result, path: Path | str) -> None:
    """Write the JSON contract to ``path`` atomically (UTF-8, indent 2), streamed: a chunk of branches is
    built, encoded and written at a time, so a province's JSON is never held in memory whole."""
    with atomic_output(path, ".json") as tmp:
        with open(tmp, "wb") as f:
            for piece in iter_json(result):
                f.write(piece)
