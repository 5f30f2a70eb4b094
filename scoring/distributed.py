"""``scoring run --executor dask``: the measures computed on a Dask cluster, partitioned by branch.

What goes to the workers is small: the input paths, the rubric as given (a path or a built-in name), the
plugin paths, the year and the partition (its number and the count). Each worker reads the inputs
itself (no frames are shipped: pickling a county's tables to the workers costs more than scoring them),
validates them, keeps the records of its block of 支部信息 (contiguous, in the table's order) and computes
every measure of the rubric on that block. The driver gathers the measure frames, puts them in the
order of 支部信息 and evaluates globally: grading, quotas, ranking, ties and the comparison with last
year see every branch at once, exactly as a local run does, so the JSON is byte for byte the local one.

The checks that need the whole input (keys, references, conflicts between files, the data fingerprint)
run on the whole input: every worker validates all of it (a data error is reported once, from the first
partition, with every problem), and the first partition also returns the run's metadata (fingerprint,
data-quality notes, sources, excluded branches). Reading and validation are therefore repeated per
worker, not divided: what is divided is the measuring. A cluster without a shared file system needs the
inputs at the same path on every worker.

``dask[distributed]`` is an optional dependency (``pip install ".[dask]"``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import DataError, PluginError, RubricError, ScoringError, UsageError


def partition_bounds(n: int, k: int) -> list[tuple[int, int]]:
    """(start, stop) positions of ``k`` contiguous blocks of ``n`` branches, as equal as they can be."""
    cuts = [n * i // k for i in range(k + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(k)]


def restrict(data: Dataset, start: int, stop: int) -> Dataset:
    """The dataset of the branches at positions ``start:stop`` of 支部信息: their records in every table
    (a record's branch is its own 支部编码, else the branch of the record it references, as the lenient
    mode attributes records), and the records that belong to no branch in every partition."""
    from .reader.intake import Intake
    from .reader.lenient import row_branches

    owners = row_branches(Intake(dict(data.specs)), data.tables)
    branches = data.tables["branches"]
    mine = pd.Index(branches["branch_id"].iloc[start:stop].dropna().unique(), dtype=object)
    tables, origins = {}, {}
    for tid, frame in data.tables.items():
        if tid == "branches":
            keep = np.zeros(len(frame), dtype=bool)
            keep[start:stop] = True
        else:
            owner = owners[tid]
            keep = pd.isna(owner) | pd.Index(owner, dtype=object).isin(mine)
        tables[tid] = frame[keep].reset_index(drop=True)
        if tid in data.origins:
            origins[tid] = data.origins[tid][keep].reset_index(drop=True)
    return replace(data, tables=tables, origins=origins)


def _error_payload(e: ScoringError) -> tuple:
    """A scoring error as plain data (DataError and RubricError do not survive pickling as they are)."""
    if isinstance(e, DataError):
        return ("data", list(e.problems))
    if isinstance(e, RubricError):
        return ("rubric", list(e.messages))
    return ({UsageError: "usage", PluginError: "plugin"}.get(type(e), "other"), str(e))


def _raise(payload: tuple) -> None:
    kind, value = payload
    if kind == "data":
        raise DataError(value)
    if kind == "rubric":
        raise RubricError(value)
    raise {"usage": UsageError, "plugin": PluginError}.get(kind, ScoringError)(value)


def score_partition(paths: list[str], rubric_spec, plugins: list[str], year: int, lenient: bool, part: int,
                    parts: int, command: str, title: str | None) -> dict:
    """On a worker: read and validate the inputs, measure the branches of partition ``part`` of
    ``parts``. Returns the measure frames by measure key and the number of branches; the first partition
    also the run's metadata and the whole 支部信息."""
    from .engine import build_meta, compute_measures, load, read_for, require_branches

    try:
        rubric, reg, _ = load(rubric_spec, [Path(p) for p in plugins])
        data = read_for([Path(p) for p in paths], (rubric, reg), lenient=lenient, year=year)
        require_branches(data, paths)
        out: dict = {}
        if part == 0:
            out["meta"] = build_meta(rubric, reg, data, year, command, title)
            out["branches"] = data.tables["branches"]
        start, stop = partition_bounds(len(data.tables["branches"]), parts)[part]
        block = restrict(data, start, stop)
        del data
        measured = compute_measures(rubric, reg, block, year)
        out["frames"] = {key: m.frame for key, m in measured.items()}
        out["n"] = stop - start
        return out
    except ScoringError as e:
        return {"error": _error_payload(e)}


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None, processes: bool = True):
    """A client of the cluster at ``scheduler``, or of a LocalCluster started (and stopped) here; Dask's
    own logging kept below errors so the terminal shows only what the command says."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise UsageError("使用 --executor dask 需要安装 Dask：pip install \".[dask]\"（或 pip install \"dask[distributed]\"）") from e
    quiet = [logging.getLogger(name) for name in ("distributed", "dask", "tornado", "bokeh")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if scheduler:
                try:
                    client = Client(scheduler, timeout=30)
                except (OSError, TimeoutError) as e:
                    raise UsageError(f"无法连接 Dask 调度器 {scheduler}：{e}") from e
                with client:
                    yield client
            else:
                n = workers or os.cpu_count() or 1
                with LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
                    yield client
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def score_on_dask(paths, rubric_spec, plugins, year: int, command: str, title: str | None, timer=None, *,
                  lenient: bool = False, scheduler: str | None = None, workers: int | None = None,
                  processes: bool = True):
    """The result of ``scoring run`` with the measures computed on Dask (see the module docstring)."""
    from .engine import Timer, as_measured, evaluate_measured, load
    from .evaluator import measure_requests

    timer = timer or Timer(quiet=True)
    rubric, reg, _ = load(rubric_spec, list(plugins))
    paths = [str(Path(p).resolve()) for p in paths]
    plugins = [str(Path(p).resolve()) for p in plugins]
    spec = rubric_spec
    if spec is not None and Path(str(spec)).exists():
        spec = str(Path(str(spec)).resolve())
    with _client(scheduler, workers, processes) as client:
        parts = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        with timer("dask.measure"):
            futures = [client.submit(score_partition, paths, spec, plugins, year, lenient, i, parts, command, title,
                                     pure=False) for i in range(parts)]
            outs = client.gather(futures)
    for out in outs:  # the first partition's error is the whole input's (every worker validated all of it)
        if "error" in out:
            _raise(out["error"])
    meta, branches = outs[0]["meta"], outs[0]["branches"]
    with timer("evaluate"):
        measured = {}
        for key, (mid, params) in measure_requests(rubric).items():
            m = reg.measures[mid]
            frames = [out["frames"][key] for out in outs if out["n"] or m.kind == "claims"]
            frame = pd.concat(frames, ignore_index=m.kind == "claims") if len(frames) > 1 else frames[0]
            if m.kind != "claims":  # in the order of 支部信息, as the local run has it
                frame = frame.loc[~frame.index.duplicated()]
                frame = frame.reindex(pd.Index(branches["branch_id"], name=frame.index.name)) \
                    if frame.index.isin(branches["branch_id"]).all() and len(frame) == len(branches) else frame
            measured[key] = as_measured(m, frame, params)
        result = evaluate_measured(rubric, reg, branches, measured, meta)
    return result
