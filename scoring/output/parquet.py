"""Parquet view of a :class:`~scoring.result.Result` (``scoring run --parquet DIR``): the result's tidy
tables as one Parquet file each, for systems downstream (a province's data warehouse, BI tools).

    DIR/branches.parquet     one row per branch, rank order (the columns of ``Result.branches``)
    DIR/dimensions.parquet   one row per branch and dimension
    DIR/indicators.parquet   one row per branch and indicator: value, points, reason code, its fields,
                             evidence and explanation
    DIR/bonus.parquet        one row per bonus claim
    DIR/vetoes.parquet       one row per fired veto
    DIR/warnings.parquet     one row per fired warning (预警)

Column names are the English ids documented in :mod:`scoring.result`; text is UTF-8, numbers are
float64 or int64, ``stars`` a nullable integer. Every file carries the run in its key-value metadata:
``scoring.rubric_id``, ``scoring.rubric_version``, ``scoring.rubric_sha256``, ``scoring.data_sha256``,
``scoring.year``, ``scoring.engine_version``. The files are written into a temporary folder and moved
into ``DIR`` when all are complete (:func:`scoring.atomic.atomic_folder`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scoring.atomic import atomic_folder
from scoring.result import Result

TABLES = ("branches", "dimensions", "indicators", "bonus", "vetoes", "warnings")


def output_files(folder: Path) -> list[Path]:
    """The files ``write_parquet`` writes into ``folder`` (for the checks on outputs before a run)."""
    return [Path(folder) / f"{name}.parquet" for name in TABLES]


def _arrow_table(frame: pd.DataFrame, metadata: dict[bytes, bytes]):
    import pyarrow as pa

    arrays, names = [], []
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == object:
            values = s.to_numpy(dtype=object)
            missing = pd.isna(values)
            present = values[~missing]
            if all(isinstance(v, (bool, np.bool_)) for v in present) and len(present):
                arr = pa.array(np.where(missing, None, values).tolist(), type=pa.bool_())
            elif all(isinstance(v, str) for v in present):
                arr = pa.array(values, type=pa.string(), from_pandas=True)
            elif all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
                arr = pa.array(pd.to_numeric(s, errors="coerce").astype(float), type=pa.float64(), from_pandas=True)
            else:  # mixed values (a reason field holding text for one code and a number for another)
                arr = pa.array([None if m else str(v) for v, m in zip(values, missing)], type=pa.string())
        else:
            arr = pa.array(s, from_pandas=True)
        arrays.append(arr)
        names.append(str(col))
    return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(metadata)


def write_parquet(result: Result, folder: Path | str) -> list[Path]:
    """Write the result's tables into ``folder`` (created when missing); returns the files written."""
    import pyarrow.parquet as pq

    meta = result.meta
    metadata = {f"scoring.{k}".encode(): str(v).encode() for k, v in {
        "rubric_id": meta.rubric_id, "rubric_version": meta.rubric_version, "rubric_sha256": meta.rubric_sha256,
        "data_sha256": meta.data_sha256, "year": meta.year if meta.year is not None else "",
        "engine_version": meta.engine_version}.items()}
    folder = Path(folder)
    with atomic_folder(folder) as tmp:
        for name in TABLES:
            frame = getattr(result, name)
            if frame is None:
                frame = pd.DataFrame()
            pq.write_table(_arrow_table(frame.reset_index(drop=True), metadata), tmp / f"{name}.parquet")
    return output_files(folder)
