"""The sample county (示例县) and writing datasets: ``scoring sample``.

:func:`generate_county` asks the plugins for a synthetic county (the ``scoring_sample`` hook; the built-in
generator is ``plugins/sample_county.py``). :func:`write_dataset` writes tables as one Excel workbook
(Chinese sheet names and headers; a table longer than a sheet continues on numbered sheets) or as one
Parquet/CSV file per table (canonical English column ids). Files are written atomically.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from .atomic import atomic_output
from .tables import Table

FORMATS = ("xlsx", "parquet", "csv")


def generate_county(n_branches: int = 320, seed: int = 2025, year: int = 2025, registry=None) -> dict[str, pd.DataFrame]:
    """A synthetic county for assessment year ``year``: ``{table id: frame}`` (canonical column ids, the
    dtypes of :mod:`scoring.dataset`, in the tables' registration order), from the plugins'
    ``scoring_sample`` hook. Same arguments, identical frames."""
    reg = registry if registry is not None else _registry()
    tables = {tid: _dataset_dtypes(df) for tid, df in iter_sample(n_branches, seed, year, reg)}
    return dict(_ordered(tables, dict(reg.tables)))


def iter_sample(n_branches: int = 320, seed: int = 2025, year: int = 2025, registry=None):
    """The sample county's tables as ``(table id, frame)`` pairs, one after another as the plugin makes
    them (text columns of repeated values may be categorical): what :func:`write_dataset` streams, so that
    ``scoring sample --branches 100000`` never holds the province at once."""
    n = int(n_branches)
    if n < 1:
        raise ValueError("n_branches must be at least 1")
    reg = registry if registry is not None else _registry()
    tables = reg.pm.hook.scoring_sample(n_branches=n, seed=int(seed), year=int(year))
    if tables is None:
        from .errors import PluginError

        raise PluginError("没有插件提供示例数据（scoring_sample）")
    return iter(tables.items()) if isinstance(tables, dict) else iter(tables)


def _dataset_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical text columns as the object columns of str the dataset dtypes name."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    return df.assign(**{c: pd.Series(df[c].to_numpy(dtype=object), index=df.index, dtype=object) for c in cats})


def _registry():
    from .registry import make_registry

    return make_registry()


def _specs(specs) -> dict[str, Table]:
    return dict(specs) if specs is not None else dict(_registry().tables)


# ----------------------------------------------------------------------------------------------------
# Writing


def write_dataset(tables, path: Path, fmt: str = "xlsx", specs=None) -> list[Path]:
    """Write ``tables`` as one workbook (``fmt="xlsx"``, ``path`` is the file) or one file per table
    (``"parquet"`` / ``"csv"``, ``path`` is a directory). ``specs`` (table id -> Table; default: the
    registered plugins' tables) give sheet names, headers and column kinds. Returns the written paths.

    ``tables`` is ``{table id: frame}`` or an iterable of ``(table id, frame)`` pairs (:func:`iter_sample`):
    Parquet and CSV files are then written as the tables come and dropped after, so memory holds one
    table at a time; a workbook's sheets follow the specs' order, so it collects them first."""
    path = Path(path)
    specs = _specs(specs)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        tables = tables if isinstance(tables, dict) else dict(tables)
        _atomic(path, partial(_write_xlsx, tables, specs))
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    written = []
    pairs = _ordered(tables, specs) if isinstance(tables, dict) else tables
    for tid, df in pairs:
        target = path / f"{tid}.{fmt}"
        writer = _write_parquet if fmt == "parquet" else _write_csv
        _atomic(target, partial(writer, df, specs.get(tid)))
        written.append(target)
        del df
    return written


def _ordered(tables: dict[str, pd.DataFrame], specs: dict[str, Table]):
    """Tables with a spec in the specs' order (the plugins' registration order), then the others."""
    known = [tid for tid in specs if tid in tables]
    return [(tid, tables[tid]) for tid in known + sorted(set(tables) - set(known))]


def _atomic(target: Path, write) -> None:
    """Call ``write(tmp)`` for a temporary name beside ``target`` (same suffix), then move it into place."""
    with atomic_output(target) as tmp:
        write(str(tmp))


def _column_kinds(df: pd.DataFrame, spec: Table | None) -> list[tuple[str, str, str]]:
    """(column id, header, kind) with kind in str/int/float/date/bool, in spec order then extra columns."""
    out = []
    if spec is not None:
        for c in spec.columns:
            if c.id in df.columns:
                kind = {"enum": "str", "month": "str"}.get(c.dtype, c.dtype)
                out.append((c.id, c.header, kind))
    known = {c for c, _, _ in out}
    for col in df.columns:
        if col in known:
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            kind = "bool"
        elif pd.api.types.is_datetime64_any_dtype(s):
            kind = "date"
        elif pd.api.types.is_integer_dtype(s):
            kind = "int"
        elif pd.api.types.is_numeric_dtype(s):
            kind = "float"
        else:
            kind = "str"
        out.append((col, str(col), kind))
    return out


def _display_width(values: pd.Series) -> int:
    s = values.dropna().astype(str)
    if s.empty:
        return 0
    return int((s.str.len() + s.str.count(r"[^\x00-\x7f]")).max())


def _xlsx_values(s: pd.Series, kind: str) -> list:
    """Python values ready for xlsxwriter: str, int/float, Excel serial day numbers, or None."""
    if kind == "date":
        d = pd.to_datetime(s)
        serial = (d - pd.Timestamp("1899-12-30")).dt.days.astype("float64")
        return [None if v != v else v for v in serial.tolist()]
    if kind == "bool":
        return pd.Series(s, dtype="boolean").map({True: "是", False: "否"}).astype(object).where(
            s.notna(), None).tolist()
    if kind in ("int", "float"):
        num = pd.to_numeric(s, errors="coerce")
        vals = num.astype("float64").tolist()
        return [None if v != v else (int(v) if kind == "int" else v) for v in vals]
    vals = s.astype(object).where(s.notna(), None).tolist()
    return [None if v is None or v == "" else str(v) for v in vals]


_MAX_SHEET_ROWS = 1_048_575  # Excel's row limit less the header row


def _write_xlsx(tables: dict[str, pd.DataFrame], specs: dict[str, Table], target: str) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center",
                              "valign": "vcenter", "text_wrap": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    try:
        for tid, whole in _ordered(tables, specs):
            spec = specs.get(tid)
            name = spec.sheet if spec is not None else str(tid)[:31]
            # a sheet holds 1,048,576 rows: a longer table continues on "党费交纳2", "党费交纳3", ... (the
            # reader reads continuation sheets as one table)
            for part, start in enumerate(range(0, max(len(whole), 1), _MAX_SHEET_ROWS), 1):
                ws = wb.add_worksheet(name if part == 1 else f"{name}{part}")
                _write_sheet(ws, whole.iloc[start:start + _MAX_SHEET_ROWS], spec, head_fmt, date_fmt)
    finally:
        wb.close()


def _write_sheet(ws, df: pd.DataFrame, spec: Table | None, head_fmt, date_fmt) -> None:
    cols = _column_kinds(df, spec)
    # constant_memory streams rows in order: widths, panes and the header come first
    writers, fmts, values = [], [], []
    for ci, (cid, header, kind) in enumerate(cols):
        head_w = _display_width(pd.Series([header]))
        if kind == "date":
            width = 12
        elif kind == "str":
            width = _display_width(df[cid].iloc[:2000])
        else:
            width = min(_display_width(df[cid].iloc[:2000]), 14)
        ws.set_column(ci, ci, max(8, min(46, max(width, head_w) + 2)))
        writers.append(ws.write_string if kind in ("str", "bool") else ws.write_number)
        fmts.append(date_fmt if kind == "date" else None)
        values.append(_xlsx_values(df[cid], kind))
    ws.freeze_panes(1, 0)
    ws.set_row(0, 20)
    for ci, (_, header, _) in enumerate(cols):
        ws.write_string(0, ci, header, head_fmt)
    if cols:
        ws.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
    for r, row in enumerate(zip(*values), start=1):
        for ci, v in enumerate(row):
            if v is not None:  # empty stays an empty cell
                writers[ci](r, ci, v, fmts[ci])


def _csv_frame(df: pd.DataFrame, spec: Table | None) -> pd.DataFrame:
    out = {}
    for cid, _, kind in _column_kinds(df, spec):
        s = df[cid]
        if kind == "date":
            out[cid] = pd.to_datetime(s).dt.strftime("%Y-%m-%d")
        elif kind == "bool":
            out[cid] = pd.Series(s, dtype="boolean").map({True: "是", False: "否"}).astype(object)
        else:
            out[cid] = s
    return pd.DataFrame(out)


def _write_csv(df: pd.DataFrame, spec: Table | None, target: str) -> None:
    _csv_frame(df, spec).to_csv(target, index=False, encoding="utf-8-sig", lineterminator="\n")


PARQUET_ROW_GROUP = 1 << 18  # rows per row group: a reader of a range of branches skips the others


def _arrow_column(s: pd.Series, kind: str):
    import pyarrow as pa

    arrow_types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "date": pa.timestamp("ns"),
                   "bool": pa.bool_()}
    if isinstance(s.dtype, pd.CategoricalDtype):
        return pa.array(s, from_pandas=True).cast(arrow_types[kind])
    if kind == "str":
        return pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    return pa.array(s, type=arrow_types[kind], from_pandas=True)


def _write_parquet(df: pd.DataFrame, spec: Table | None, target: str) -> None:
    """One Parquet file, written a row group at a time (a categorical text column is written as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "date": pa.timestamp("ns"),
                   "bool": pa.bool_()}
    cols = _column_kinds(df, spec)
    schema = pa.schema([(cid, arrow_types[kind]) for cid, _, kind in cols])
    # the pandas metadata of the dataset dtypes (Int64 columns read back as Int64)
    head = _dataset_dtypes(df[[c for c, _, _ in cols]].iloc[:0])
    schema = schema.with_metadata(pa.Table.from_pandas(head, schema=schema, preserve_index=False).schema.metadata)
    with pq.ParquetWriter(target, schema) as writer:
        for start in range(0, max(len(df), 1), PARQUET_ROW_GROUP):
            part = df.iloc[start:start + PARQUET_ROW_GROUP]
            arrays = [_arrow_column(part[cid], kind) for cid, _, kind in cols]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema), row_group_size=PARQUET_ROW_GROUP)
