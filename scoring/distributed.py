"""``scoring run --executor dask``: the run computed on a Dask cluster, partitioned by branch.

What goes to the workers is small: the input paths, the rubric as given (a path or a built-in name), the
plugin paths, the year and the partition (its number and the count); no frames are shipped (pickling a
county's tables to the workers costs more than scoring them). The partitions are contiguous blocks of
支部信息 in the table's order; a record belongs to the block of its own 支部编码.

Each worker reads every input file (a workbook cannot be parsed in part), but assembles, converts,
validates, hashes and measures only the records of its own block (:mod:`scoring.reader.split`). It returns
the measure frames and what the global checks need: the sorted row hashes of every table, the hashes of
every key, the notes, the year check's notes. The driver puts them together: keys repeated across
blocks, the data fingerprint (the merged row hashes, the same formula as a local run), the notes merged
as one read would have made them. Then it evaluates globally: grading, quotas, ranking, ties and the
comparison with last year see every branch at once, exactly as a local run does, so the JSON is byte for
byte the local one.

A split read is used only where it gives exactly what the whole read gives. Whenever a block cannot be
sure (any problem in the input, a record of no branch in 支部信息, a key found in two blocks, a table of
records placed in a year with records in one block and none in another), the run falls back to the
whole read: every worker validates all of the input (a data error is reported once, from the first
partition, with every problem, as the local run reports it), and the first partition also returns the
run's metadata. Erroneous input therefore costs a second pass; valid input is read once, in blocks. A
cluster without a shared file system needs the inputs at the same path on every worker.

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


from .reader.split import partition_bounds  # noqa: F401  (re-exported: the partitions of both reads)


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


def score_own_partition(paths: list[str], rubric_spec, plugins: list[str], year: int, part: int, parts: int) -> dict:
    """On a worker: read the records of partition ``part`` of ``parts`` (:mod:`scoring.reader.split`),
    measure its branches. Returns the measure frames, the block's 支部信息 and what the driver merges
    (:func:`_merged`); ``{"whole": reason}`` where the block cannot give what a whole read gives."""
    from .engine import compute_measures, load, read_for, year_check
    from .reader.split import NotSplit, Split

    try:
        rubric, reg, _ = load(rubric_spec, [Path(p) for p in plugins])
        split = Split(part, parts)
        try:
            data = read_for([Path(p) for p in paths], (rubric, reg), year=year, split=split)
            year_notes = year_check(data, year)
        except (NotSplit, DataError) as e:
            return {"whole": str(e)}
        keyed = {tid: list(data.specs[tid].key) for tid in data.tables if tid != "branches" and data.specs[tid].key}
        out = {
            "n": len(data.branches),
            "branches": data.branches,
            "sources": list(data.sources),
            "notes": split.notes,
            "year_notes": year_notes,
            "rows": {tid: len(frame) for tid, frame in data.tables.items()},
            "hashes": {tid: (sorted(frame.columns), data.row_hashes(tid)) for tid, frame in data.tables.items()},
            "keys": {tid: np.sort(data.key_hashes(tid, key)) for tid, key in keyed.items()},
        }
        measured = compute_measures(rubric, reg, data, year)
        out["frames"] = {key: m.frame for key, m in measured.items()}
        return out
    except ScoringError as e:
        return {"error": _error_payload(e)}


def _merged(outs: list[dict], rubric, reg, year: int, command: str, title: str | None):
    """The whole run's 支部信息 and metadata from the blocks' returns, or None where the blocks together
    cannot stand for the whole read: no branch at all, a key in two blocks, a table placed in a year with
    records in one block and none in another (the year check's notes name the tables it found records in)."""
    from .dataset import fingerprint
    from .engine import build_meta
    from .reader.intake import final_notes, merge_notes

    if not sum(out["n"] for out in outs):
        return None
    for tid in outs[0]["keys"]:
        keys = np.sort(np.concatenate([out["keys"][tid] for out in outs]), kind="stable")  # merges sorted runs
        if len(keys) > 1 and (keys[1:] == keys[:-1]).any():
            return None
    filled = [out for out in outs if out["n"]]
    for tid in outs[0]["rows"]:  # the year check names the tables with records placed in a year
        if reg.tables[tid].year_column and len({out["rows"][tid] > 0 for out in filled}) > 1:
            return None
    branches = pd.concat([out["branches"] for out in outs], ignore_index=True)
    hashes = {tid: (cols, np.sort(np.concatenate([out["hashes"][tid][1] for out in outs]), kind="stable"))
              for tid, (cols, _) in outs[0]["hashes"].items()}
    sources = outs[0]["sources"]
    notes = final_notes(merge_notes([out["notes"] for out in outs], sources))
    whole = Dataset(tables={"branches": branches}, specs=dict(reg.tables), sources=sources, notes=notes)
    meta = build_meta(rubric, reg, whole, year, command, title, fingerprint=False,
                      year_notes=[n for out in filled for n in out["year_notes"]])
    meta.data_sha256 = fingerprint(hashes)
    return branches, meta


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
            futures = [client.submit(score_own_partition, paths, spec, plugins, year, i, parts, pure=False)
                       for i in range(parts)]
            outs = client.gather(futures)
        for out in outs:  # a plugin's or the rubric's error is the same in every block
            if "error" in out:
                _raise(out["error"])
        merged = None if any("whole" in out for out in outs) else _merged(outs, rubric, reg, year, command, title)
        for out in outs:  # merged: a province's row and key hashes (over 1 GB) are let go before evaluating
            out.pop("hashes", None)
            out.pop("keys", None)
        if merged is None:  # the whole read on every worker: what a local run finds, problems included
            with timer("dask.whole"):
                futures = [client.submit(score_partition, paths, spec, plugins, year, lenient, i, parts, command,
                                         title, pure=False) for i in range(parts)]
                outs = client.gather(futures)
            for out in outs:  # the first partition's error is the whole input's (every worker validated all of it)
                if "error" in out:
                    _raise(out["error"])
            merged = outs[0]["branches"], outs[0]["meta"]
    branches, meta = merged
    with timer("evaluate"):
        measured = {}
        ids = pd.Index(branches["branch_id"].to_numpy(dtype=object), dtype=object)
        for key, (mid, params) in measure_requests(rubric).items():
            m = reg.measures[mid]
            frames = [out["frames"][key] for out in outs if out["n"] or m.kind == "claims"]
            frame = pd.concat(frames, ignore_index=m.kind == "claims") if len(frames) > 1 else frames[0]
            if m.kind != "claims":  # in the order of 支部信息, as the local run has it
                again = frame.index.duplicated()
                if again.any():
                    frame = frame.loc[~again]
                # looked up as object: pandas' Arrow "str" isin makes a Python scalar of every value
                # (3 s for the measures of 30,000 branches)
                index = pd.Index(frame.index.to_numpy(dtype=object), dtype=object)
                if len(frame) == len(branches) and not index.equals(ids) and index.isin(ids).all():
                    frame = frame.reindex(pd.Index(branches["branch_id"], name=frame.index.name))
                # (the blocks are contiguous in 支部信息's order: their frames together usually are in it)
            measured[key] = as_measured(m, frame, params)
        result = evaluate_measured(rubric, reg, branches, measured, meta)
    return result
