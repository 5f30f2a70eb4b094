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
PREVIOUS_SPEC = {"rank": ("上年排名", "int"), "total": ("上年总分", "num"), "level": ("上年等级", "text"),
                 "change": ("升降", "text"), "rank_change": ("排名变化", "int")}
CHUNK = 2000  # branches whose records are built at a time (iter_branches)
TEXT_CHUNK = 500  # branches whose JSON text is made (and written) at a time (iter_json; Arrow memory per chunk)


def _branch_parts(result: Result):
    """What both writers of the ``branches`` entries (:func:`iter_branches`, :func:`_branch_texts`) start
    from: the branches in rank order, their ids as an index, the specs of a dimension and of a branch's
    head (with ``star`` / ``stars_earned`` where the result has them) and the warnings (None when none)."""
    branches = result.branches.reset_index(drop=True)
    where = pd.Index(_column(branches, "branch_id"))
    dimension_spec = dict(DIMENSION_SPEC)
    if result.dimensions is not None and "star" in result.dimensions.columns:
        dimension_spec["star"] = ("star", "bool")
    head_spec = dict(HEAD_SPEC)
    if "stars_earned" in branches.columns:
        head_spec["stars_earned"] = ("stars_earned", "int")
    warnings = result.warnings if result.warnings is not None and len(result.warnings) else None
    return branches, where, dimension_spec, head_spec, warnings


def iter_branches(result: Result, chunk: int = CHUNK):
    """The ``branches`` entries of the JSON contract in rank order, ``chunk`` branches at a time (lists of
    dicts): a province's records are never all built at once."""
    meta = result.meta
    branches, where, dimension_spec, head_spec, warning_rows = _branch_parts(result)
    dimensions = _ByBranch(result.dimensions, where, dimension_spec, ["order"])
    indicators = _ByBranch(result.indicators, where, INDICATOR_SPEC, ["order"])
    by_key = _extra_records(result.extras)
    add_fields = (lambda sub: sub.assign(_fields=reason_fields(sub, None, by_key)))
    bonus = _ByBranch(result.bonus, where, BONUS_SPEC)
    vetoes = _ByBranch(result.vetoes, where, VETO_SPEC)
    warnings = _ByBranch(warning_rows, where, WARNING_SPEC, ["order"])
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
    return _records(aligned.reset_index(drop=True), PREVIOUS_SPEC)


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
    ensure_ascii=False, indent=2)`` plus a newline, made a chunk of branches at a time (the branches by
    :func:`_branch_texts`, column by column, not through :func:`iter_branches`' dicts)."""
    head, extra = _top(result)
    items = list(head.items())
    yield b"{"
    for key, value in items:
        yield b"\n  " + _encode(key, 0) + b": " + _encode(value, 1) + b","
    yield b'\n  "branches": ['
    first = True
    for text in _branch_texts(result):
        yield text
        first = False
    yield b"]" if first else b"\n  ]"
    for key, value in extra.items():
        yield b",\n  " + _encode(key, 0) + b": " + _encode(value, 1)
    yield b"\n}\n"



# --------------------------------------------------------------------------------------------------
# The JSON text, made column by column (what write_json streams)
#
# ``iter_json`` does not build a dict per row: the values of a chunk's column become their JSON texts at
# once (numbers by orjson over a whole numpy array, strings quoted with Arrow when nothing in them needs an
# escape, by orjson otherwise), a record's texts are joined element-wise with its keys and indentation
# (Arrow's binary_join_element_wise), a branch's records with Arrow's list join (binary_join), its entry
# element-wise again, and a chunk's entries are one Arrow buffer. The text is the one orjson writes for
# :func:`iter_branches`' dicts, byte for byte; a string orjson would escape goes through orjson.

_ESCAPED = r'[\x00-\x1f"\\]'  # what orjson escapes in a string (nothing else: the output is UTF-8)
_SCAN = 1 << 24  # bytes of string data looked at a time for characters to escape


def _pa():
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def _encoded(values):
    """Each of ``values`` (a list of scalars, or a numeric / bool numpy array) as the JSON text orjson writes
    for it, as an Arrow large_string array. One orjson call for all: its indented output has one value per
    line (a string's newlines are escaped), so the texts are cut out of it at the newlines."""
    import orjson

    pa, _ = _pa()
    n = len(values)
    if n == 0:
        return pa.array([], pa.large_string())
    text = orjson.dumps(values, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    buf = np.frombuffer(text, np.uint8)
    newlines = np.flatnonzero(buf == 10)  # before each value and before the closing "]"
    keep = np.ones(len(buf), dtype=bool)
    keep[[0, -1]] = False  # "[" and "]"
    keep[newlines] = False
    keep[newlines[:-1] + 1] = False  # the indent's two spaces
    keep[newlines[:-1] + 2] = False
    keep[newlines[1:-1] - 1] = False  # the comma after each value but the last
    data = buf[keep]
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[:n] = newlines[:-1] - 4 * np.arange(n) - 1  # value i starts at newline i + 3, after 4 + 4i dropped bytes
    offsets[n] = len(data)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _join(pieces: list):
    """Per row the concatenation of ``pieces``: texts (the same in every row) and Arrow string arrays."""
    pa, pc = _pa()
    args, text = [], ""
    for piece in pieces:
        if isinstance(piece, str):
            text += piece
            continue
        if text:
            args.append(pa.scalar(text, pa.large_string()))
            text = ""
        args.append(piece)
    if text:
        args.append(pa.scalar(text, pa.large_string()))
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


def _arrow_strings(series: pd.Series) -> bool:
    """Whether ``series`` holds its strings in Arrow (pandas' default string dtype, ``string[pyarrow]``)."""
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    return False


def _plain(array) -> bool:
    """Whether no string of ``array`` (a large_string ChunkedArray) holds a character JSON escapes."""
    for chunk in array.chunks:
        offsets_buffer, data_buffer = chunk.buffers()[1:3]
        if not len(chunk) or data_buffer is None:
            continue
        offsets = np.frombuffer(offsets_buffer, np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buffer, np.uint8)[offsets[0]:offsets[-1]]
        for at in range(0, len(data), _SCAN):
            part = data[at:at + _SCAN]
            if ((part < 0x20) | (part == 0x22) | (part == 0x5C)).any():
                return False
    return True


class _Source:
    """One column of a result frame, kept to write the values of any of its rows as JSON (``pieces``).
    ``kind`` is that of the record specs (num, int, text, bool) or ``field``, a reason field
    (:func:`_numbers_or_raw`)."""

    def __init__(self, frame: pd.DataFrame, column: str, kind: str, empty_null: bool = False):
        pa, _ = _pa()
        series = _column(frame, column)
        self.empty_null = empty_null  # "" is written as null (a branch's grade)
        if kind == "field":
            if pd.api.types.is_bool_dtype(series.dtype):
                kind = "bool"
            elif pd.api.types.is_numeric_dtype(series.dtype):
                kind = "num"
            elif _arrow_strings(series):
                kind = "text"  # a string or missing: _json_number gives the string or None
            else:
                kind = "python"
                self.values = np.empty(len(series), dtype=object)
                self.values[:] = [_json_number(v) for v in series.astype(object).tolist()]
        self.kind = kind
        if kind in ("num", "int"):
            if series.dtype in (np.float64, np.int64):  # the frame's own array, converted a chunk at a time
                self.values = series.to_numpy()
            else:
                self.values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
        elif kind == "bool":
            if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
                self.values, self.missing = series.to_numpy(dtype=bool), None
            else:
                values = _bools(series)
                self.missing = np.array([v is None for v in values], dtype=bool)
                self.values = np.array([bool(v) for v in values], dtype=bool)
        elif kind == "text":
            if _arrow_strings(series):
                array = series.array.__arrow_array__()
            else:
                array = pa.array(_texts(series), type=pa.large_string())
            array = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
            self.values = array.cast(pa.large_string()) if not pa.types.is_large_string(array.type) else array
            self.plain = _plain(self.values)

    def pieces(self, rows: np.ndarray) -> list:
        """The JSON texts of the values at positions ``rows``, as pieces for :func:`_join`."""
        pa, pc = _pa()
        if self.kind == "num":  # as _numbers: floats rounded to 4 decimals (NaN and inf are null)
            return [_encoded(self.values[rows].astype(float).round(DECIMALS))]
        if self.kind == "int":
            values = self.values[rows].astype(float)
            finite = np.isfinite(values)
            if not (np.abs(values[finite]) < 2.0 ** 63).all():
                return [_encoded([int(v) if f else None for v, f in zip(values.tolist(), finite.tolist())])]
            out = _encoded(np.where(finite, values, 0).astype(np.int64))
            return [out if finite.all() else pc.if_else(pa.array(~finite), "null", out)]
        if self.kind == "bool":
            out = pc.if_else(pa.array(self.values[rows]), "true", "false")
            if self.missing is not None and self.missing[rows].any():
                out = pc.if_else(pa.array(self.missing[rows]), "null", out)
            return [out.cast(pa.large_string())]
        if self.kind == "python":
            return [_encoded(self.values[rows].tolist())]
        if len(rows) and (np.diff(rows) == 1).all():  # consecutive rows: a slice, not a copy
            values = self.values.slice(int(rows[0]), len(rows)).combine_chunks()
        else:
            values = self.values.take(pa.array(rows, type=pa.int64())).combine_chunks()
        if self.empty_null:
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.large_string()), values)
        if not self.plain and pc.any(pc.match_substring_regex(values, _ESCAPED)).as_py():
            return [_encoded(values.to_pylist())]  # something to escape: orjson does it
        if not values.null_count:
            return ['"', values, '"']
        return [pc.fill_null(_join(['"', values, '"']), "null")]


def _key(name: str, indent: int) -> str:
    """A key's line up to its value: the newline, the indent and the quoted key with its colon."""
    import orjson

    return "\n" + " " * indent + orjson.dumps(name).decode() + ": "


def _object(values: dict[str, list], indent: int) -> list:
    """The pieces of a JSON object with the keys of ``values`` (key -> the value's pieces) at ``indent``."""
    out = []
    for i, (key, pieces) in enumerate(values.items()):
        out += [("{" if i == 0 else ",") + _key(key, indent), *pieces]
    return out + ["\n" + " " * (indent - 2) + "}"] if out else ["{}"]


def _lists(texts, counts: np.ndarray, indent: int) -> list:
    """Per branch the JSON list of its ``counts`` consecutive items ``texts`` (at ``indent``), as pieces."""
    pa, pc = _pa()
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if texts is None:
        texts = pa.array([], pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), texts),
                            pa.scalar(",\n" + " " * indent, pa.large_string()))
    full = _join(["[\n" + " " * indent, joined, "\n" + " " * (indent - 2) + "]"])
    return [pc.if_else(pa.array(counts > 0), full, "[]").cast(pa.large_string())]


class _Rows(_ByBranch):
    """A result frame's rows in branch rank order, to write per branch of a run of ranks the JSON list of its
    records (``lists``)."""

    def __init__(self, frame, where, spec, sort_by=None, fields=None):
        super().__init__(frame, where, spec, sort_by)
        self.fields = fields  # writes the "raw" column (the indicators' reason_fields)
        if self.frame is not None:
            self.sources = {key: _Source(self.frame, col, kind) for key, (col, kind) in spec.items() if kind != "raw"}

    def lists(self, start: int, stop: int, indent: int) -> list:
        if self.frame is None:
            return _lists(None, np.zeros(stop - start, dtype=np.int64), indent)
        lo, hi = np.searchsorted(self.pos, [start, stop])
        counts = np.bincount(self.pos[lo:hi] - start, minlength=stop - start)
        if lo == hi:
            return _lists(None, counts, indent)
        rows = self.order[lo:hi]
        values = {key: [self.fields(rows, indent + 2)] if kind == "raw" else self.sources[key].pieces(rows)
                  for key, (_, kind) in self.spec.items()}
        return _lists(_join(_object(values, indent + 2)), counts, indent)


class _ReasonFields:
    """The ``reason_fields`` objects of indicator rows as JSON text (what :func:`reason_fields` gives): the
    rows are grouped by reason code, whose fields are the same, and each group written at once."""

    def __init__(self, ind: pd.DataFrame, extras: pd.DataFrame | None):
        from scoring import rules

        self.ind = ind
        self.by_key = _extra_records(extras)
        reason = _column(ind, "reason", "")
        if _arrow_strings(reason):
            codes, uniques = pd.factorize(reason.fillna(""))
        else:
            codes, uniques = pd.factorize(pd.Series(reason.astype(object).fillna("").astype(str).tolist(),
                                                    dtype=object))
        uniques = [str(u) for u in uniques]
        wanted = {code: rules.reason_fields(code) for code in uniques}
        names = [f for f in dict.fromkeys(f for code in uniques for f in wanted[code]) if f in ind.columns]
        self.codes = codes
        self.sources = {f: _Source(ind, f, "field") for f in names}
        self.rule_points = _Source(ind, "rule_points", "field")
        self.plan = [[f for f in wanted[code] if f in self.sources] for code in uniques]
        self.with_rule = [code in rules.CODES and code not in rules.GENERIC_CODES for code in uniques]
        self.extra_rows = np.zeros(len(ind), dtype=bool)  # rows whose (branch, indicator) has extra deductions
        if self.by_key:
            branch_ids = _column(ind, "branch_id")
            candidates = np.flatnonzero(branch_ids.isin({key[0] for key in self.by_key}).to_numpy())
            keys = zip(branch_ids.iloc[candidates].tolist(), _column(ind, "indicator").iloc[candidates].tolist())
            self.extra_rows[candidates[np.array([key in self.by_key for key in keys], dtype=bool)]] = True

    def __call__(self, rows: np.ndarray, indent: int):
        """The objects of the indicator rows ``rows``, their keys at ``indent + 2``."""
        pa, _ = _pa()
        codes = self.codes[rows]
        extra = self.extra_rows[rows]
        groups, texts = [], []
        for k in np.unique(codes).tolist():
            at = np.flatnonzero((codes == k) & ~extra)
            if not len(at):
                continue
            values = {f: self.sources[f].pieces(rows[at]) for f in self.plan[k]}
            if self.with_rule[k]:
                values["rule_points"] = self.rule_points.pieces(rows[at])
            pieces = _object(values, indent + 2)
            texts.append(_join(pieces) if len(pieces) > 1 else
                         pa.array(np.full(len(at), pieces[0], dtype=object), type=pa.large_string()))
            groups.append(at)
        at = np.flatnonzero(extra)
        if len(at):  # rows with extra deductions: made as reason_fields makes them, encoded by orjson
            objects = reason_fields(self.ind.iloc[rows[at]], None, self.by_key)
            texts.append(pa.array([_encode(d, indent // 2).decode("utf-8") for d in objects], type=pa.large_string()))
            groups.append(at)
        back = np.empty(len(rows), dtype=np.int64)
        back[np.concatenate(groups)] = np.arange(len(rows))
        return pa.concat_arrays([t.combine_chunks() if isinstance(t, pa.ChunkedArray) else t for t in texts]).take(
            pa.array(back))


def _branch_texts(result: Result, chunk: int = TEXT_CHUNK):
    """The ``branches`` entries of :func:`iter_branches` as the text ``json.dumps(..., indent=2)`` writes them
    in the top-level object, ``chunk`` branches at a time (UTF-8 bytes): each entry after a newline and an
    indent of 4, a comma before all but the first."""
    pa, _ = _pa()
    meta = result.meta
    branches, where, dimension_spec, head_spec, warnings = _branch_parts(result)
    ind = result.indicators
    fields = _ReasonFields(ind, result.extras) if ind is not None and len(ind) and "branch_id" in ind.columns else None
    sections = {
        "dimensions": _Rows(result.dimensions, where, dimension_spec, ["order"]),
        "indicators": _Rows(ind, where, INDICATOR_SPEC, ["order"], fields=fields),
        "bonus": _Rows(result.bonus, where, BONUS_SPEC),
        "vetoes": _Rows(result.vetoes, where, VETO_SPEC),
        "flags": None,
        "warnings": _Rows(warnings, where, WARNING_SPEC, ["order"]),
    }
    heads = {key: _Source(branches, col, kind, empty_null=key == "grade") for key, (col, kind) in head_spec.items()}
    previous = None
    if meta.previous is not None:
        aligned = (meta.previous.drop_duplicates("branch_id").set_index("branch_id")
                   .reindex(_column(branches, "branch_id").to_numpy()).reset_index(drop=True))
        previous = {key: _Source(aligned, col, kind) for key, (col, kind) in PREVIOUS_SPEC.items()}
    for start in range(0, len(branches), chunk):
        stop = min(start + chunk, len(branches))
        rows = np.arange(start, stop)
        entry = {key: source.pieces(rows) for key, source in heads.items()}
        for key, rows_of in sections.items():
            if rows_of is None:
                flags = _split_flags(_column(branches.iloc[start:stop], "flags", ""))
                counts = np.array([len(f) for f in flags], dtype=np.int64)
                entry[key] = _lists(_encoded([f for part in flags for f in part]), counts, 8)
            else:
                entry[key] = rows_of.lists(start, stop, 8)
        if previous is not None:
            entry["previous"] = [_join(_object({key: s.pieces(rows) for key, s in previous.items()}, 8))]
        pieces = _object(entry, 6)
        pieces[0] = ",\n    " + pieces[0]
        if start == 0:  # no comma before the first entry
            first = np.full(stop - start, pieces[0], dtype=object)
            first[0] = pieces[0][1:]
            pieces[0] = pa.array(first, type=pa.large_string())
        entries = _join(pieces)
        entries = entries.combine_chunks() if isinstance(entries, pa.ChunkedArray) else entries
        offsets = np.frombuffer(entries.buffers()[1], np.int64)[entries.offset:entries.offset + len(entries) + 1]
        yield entries.buffers()[2][int(offsets[0]):int(offsets[-1])].to_pybytes()


def dumps(result: Result) -> str:
    return b"".join(iter_json(result)).decode("utf-8")


def write_json(result: Result, path: Path | str) -> None:
    """Write the JSON contract to ``path`` atomically (UTF-8, indent 2), streamed: a chunk of branches is
    built, encoded and written at a time, so a province's JSON is never held in memory whole."""
    with atomic_output(path, ".json") as tmp:
        with open(tmp, "wb") as f:
            for piece in iter_json(result):
                f.write(piece)
