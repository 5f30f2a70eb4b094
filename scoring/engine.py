"""Orchestration: rubric + records -> measures -> evaluation. The only impure glue between the parts."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .dataset import Dataset
from .errors import DataError, DataNote, DataProblem, PluginError, Problem, RubricError, located
from .evaluator import Measured, evaluate, measure_requests
from .measure import Grouping, Measure, MeasureContext, UndeclaredInput
from .progress import Phases
from .registry import Registry, make_registry
from .result import Result, RunMeta
from .rubric import (
    Rubric,
    cross_check,
    dump_toml,
    parse_rubric,
    read_rubric_data,
    resolve_defaults,
)
from .wording import explain

Timer = Phases  # the benchmark and the CLI time phases with the same object


def needed_tables(r: Rubric, reg: Registry) -> set[str]:
    out = {"branches"}
    for measure, _ in measure_requests(r).values():
        out |= set(reg.measures[measure].inputs)
    return out


def needed_columns(*pairs: tuple[Rubric, Registry]) -> dict[str, set[str]]:
    """Table id -> the columns the measures of the rubrics declare in ``Measure.inputs`` (their union),
    for ``read_dataset(columns=...)``: the reader adds the key, reference, rule and year columns and
    leaves the rest unread (not converted, not checked, not in the fingerprint)."""
    out: dict[str, set[str]] = {}
    for r, reg in pairs:
        for measure, _ in measure_requests(r).values():
            for tid, cols in reg.measures[measure].inputs.items():
                out.setdefault(tid, set()).update(cols)
    return out


def read_for(paths, *pairs: tuple[Rubric, Registry], **kwargs) -> Dataset:
    """The records at ``paths`` as the rubrics of ``pairs`` (rubric, registry) read them: their tables'
    specs, the tables and only the columns their measures declare (``needed_columns``); ``kwargs`` go to
    :func:`scoring.reader.read_dataset` (timer, lenient, year). Every command reads through here, so that
    the fingerprint and the checks cover the same columns whichever command read the data."""
    from .reader import read_dataset

    specs: dict = {}
    needed: set[str] = set()
    for r, reg in pairs:
        specs.update(reg.tables)
        needed |= needed_tables(r, reg)
    return read_dataset(paths, specs, needed, columns=needed_columns(*pairs), **kwargs)


def compute_measure(m: Measure, data: Dataset, year: int, params: dict | None = None,
                    shared: Grouping | None = None) -> pd.DataFrame:
    """One measure's frame for ``params`` (defaults filled in), computed in a context that shows it only
    the tables and columns it declared. A plugin's failure is a :class:`PluginError` naming the plugin.
    ``shared`` is the run's grouping of rows by branch (one for all the measures of a run)."""
    kwargs = {k: p.default for k, p in m.params.items()}
    kwargs.update(params or {})
    ctx = MeasureContext(data=data, year=year, inputs=m.inputs, measure=m.id, plugin=m.plugin, shared=shared)
    try:
        frame = m.compute(ctx, **kwargs)
    except UndeclaredInput:
        raise
    except KeyError as e:  # most often a column the measure did not declare in its inputs
        raise PluginError(f"插件「{m.plugin}」的测量项「{m.id}」计算失败：读取了不存在或未在 inputs 中声明的列 {e}") from e
    except Exception as e:  # a plugin bug stops the run with a clear message, not a traceback
        raise PluginError(f"插件「{m.plugin}」的测量项「{m.id}」计算失败：{type(e).__name__}: {e}") from e
    if m.kind != "claims":
        missing = ({"value", "applicable", "evidence"} | set(m.counts or ())) - set(frame.columns)
        if missing:
            raise PluginError(f"插件「{m.plugin}」的测量项「{m.id}」缺少输出列：{sorted(missing)}")
    return frame


def compute_measures(r: Rubric, reg: Registry, data: Dataset, year: int, progress: Phases | None = None) -> dict[str, Measured]:
    """Every measure the rubric needs, by :func:`scoring.evaluator.measure_key`. Refuses data that does not
    belong to the assessment year (:func:`year_check`)."""
    year_check(data, year)
    out: dict[str, Measured] = {}
    shared = Grouping(data)
    requests = measure_requests(r)
    if progress is not None:
        progress.add_steps(len(requests))
    for key, (mid, params) in requests.items():
        m = reg.measures[mid]
        if progress is not None:
            progress.step(f"计算测量项：{m.name}")
        out[key] = as_measured(m, compute_measure(m, data, year, params, shared), params)
    return out


def as_measured(m: Measure, frame: pd.DataFrame, params: dict | None = None) -> Measured:
    """A measure's frame with what the evaluator and the wording need from the measure (unit, kind, digits,
    counts, its advice bound to the parameters): the one place a local or a distributed run makes it."""
    kwargs = {k: p.default for k, p in m.params.items()}
    kwargs.update(params or {})
    advice = partial(m.advice, kwargs) if m.advice is not None else None
    return Measured(frame=frame, unit=m.unit, rate=m.is_rate, kind=m.kind, digits=m.digits, advice=advice,
                    counts=m.counts)


def _record_years(frame: pd.DataFrame, col: str, dtype: str, known=None) -> tuple[np.ndarray, np.ndarray]:
    """The year of each record as ``(codes, years)``: ``years[codes]`` is each record's year (NaN where the
    column is empty, code -1 takes the last entry). Worked out once per distinct value (a province's dues
    have 36M rows but a few hundred distinct months). ``known``: the column's (codes, uniques) when
    validation found them (``Dataset.factorized``)."""
    codes, uniques = known if known is not None else pd.factorize(frame[col], use_na_sentinel=True)
    distinct = pd.Series(np.asarray(uniques, dtype=object))
    if dtype == "month":
        years = pd.to_numeric(distinct.astype(str).str.slice(0, 4), errors="coerce")
    else:
        years = pd.to_datetime(distinct, errors="coerce").dt.year
    return codes, np.append(years.to_numpy(dtype=float), np.nan)


def _branches_of(data: Dataset, tid: str, rows: np.ndarray) -> np.ndarray:
    """The distinct branch ids of the table's ``rows`` (a mask), from validation's codes where it has them."""
    frame = data.tables[tid]
    known = data.factorized(tid, "branch_id")
    if known is None:
        return pd.unique(frame["branch_id"].to_numpy()[rows])
    codes, uniques = known
    used = np.bincount(codes[rows & (codes >= 0)], minlength=len(uniques)) > 0
    return np.asarray(uniques, dtype=object)[used]


def year_check(data: Dataset, year: int) -> list[Problem]:
    """The data must belong to the assessment year. A table whose records belong to one year (its spec's
    ``year_column``: meetings, dues, training) that has records but none in ``year`` is a data error naming
    the table, the years it has and --year; returns the notes for 数据质量: branches with no such record
    in the year."""
    done = data.year_checked
    if done is not None and done[0] == year and done[1].keys() == data.tables.keys() \
            and all(data.tables[t] is f for t, f in done[1].items()):
        return list(done[2])  # the same tables (frames, not copies) already passed for this year
    notes = _year_check(data, year)
    data.year_checked = (year, dict(data.tables), notes)
    return list(notes)


def _year_check(data: Dataset, year: int) -> list[Problem]:
    problems = []
    # object, not pandas' Arrow "str": its isin makes an Arrow scalar of every value looked up (1.6 s at
    # 30,000 branches against 0.02 s)
    branches = pd.Series(data.table("branches")["branch_id"].to_numpy(dtype=object), dtype=object)
    seen = np.zeros(len(branches), dtype=bool)
    checked = []
    for tid, spec in data.specs.items():
        if spec.year_column is None or tid not in data.tables or not len(data.tables[tid]):
            continue
        frame = data.tables[tid]
        codes, years = _record_years(frame, spec.year_column, spec.column(spec.year_column).dtype,
                                     data.factorized(tid, spec.year_column))
        inside = (years == year)[codes]
        checked.append(spec.sheet)
        if not inside.any():
            present = np.unique(codes[codes >= 0])
            found = sorted({int(y) for y in years[present] if not np.isnan(y)})
            shown = "、".join(f"{y}年" for y in found[:5]) + ("等" if len(found) > 5 else "")
            files = data.origins.get(tid)
            where = "、".join(sorted(files["file"].astype(str).unique())) if files is not None and "file" in files else "、".join(data.sources)
            problems.append(Problem(where, spec.sheet, None, spec.column(spec.year_column).header,
                                    f"没有{year}年的记录（表中记录的年份：{shown or '无'}）；考核年度为{year}年"
                                    "（评分标准的 year，或命令行的 --year），请核对数据的年份或用 --year 指定考核年度",
                                    code=DataProblem.WRONG_YEAR))
            continue
        seen |= branches.isin(np.asarray(_branches_of(data, tid, inside), dtype=object)).to_numpy()
    if problems:
        raise DataError(problems)
    if not checked:
        return []
    missing = branches[~seen].tolist()
    names = data.table("branches").set_index(branches)["name"]
    sheets = "、".join(checked)
    return [Problem("、".join(data.sources), data.specs["branches"].sheet, None, None,
                    f"支部「{names.get(b, b)}」（{b}）在{year}年没有{sheets}中的任何记录", code=DataNote.NO_RECORD_IN_YEAR)
            for b in missing]


def require_branches(data: Dataset, sources: list) -> None:
    """A run needs at least one branch; an empty 支部信息 (an unfilled template) is a data error."""
    if len(data.table("branches")) == 0:
        where = "、".join(str(s) for s in sources)
        raise DataError([Problem(where, data.specs["branches"].sheet, None, None, "没有任何支部记录（是否提交了未填写的模板？）",
                                 DataProblem.NO_BRANCHES)])


def score(r: Rubric, reg: Registry, data: Dataset, year: int | None = None, meta: RunMeta | None = None,
          timer: Phases | None = None) -> Result:
    """Measure, evaluate and word: the result every writer shows."""
    timer = timer or Phases()
    year = year or r.year
    with timer("measure"):
        measured = compute_measures(r, reg, data, year, progress=timer)
    with timer("evaluate"):
        return evaluate_measured(r, reg, data.table("branches"), measured, meta)


def evaluate_measured(r: Rubric, reg: Registry, branches: pd.DataFrame, measured: dict[str, Measured],
                      meta: RunMeta | None = None) -> Result:
    """The rubric's warnings on the measured values (into ``meta``), the evaluation and its words: what a
    local run and a distributed one (after gathering the measures) both do."""
    if meta is not None:
        from .checks import data_warnings

        meta.rubric_warnings = data_warnings(r, reg, branches, measured)
    return explain(evaluate(r, branches, measured, meta=meta))


def fingerprint_alongside(data: Dataset):
    """Start the data fingerprint (:meth:`Dataset.sha256`) on a thread of its own and return the function
    that waits for it. Hashing and sorting a province's row hashes is numpy work that releases the GIL, so
    on a machine with two cores it runs while the measures and the evaluation do, instead of before them.
    Nothing changes the tables meanwhile: measures read them and make their own frames."""
    import threading

    got: dict[str, object] = {}

    def work():
        try:
            got["sha256"] = data.sha256()
        except BaseException as e:  # raised again in the caller's thread by wait()
            got["error"] = e

    thread = threading.Thread(target=work, name="fingerprint", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if "error" in got:
            raise got["error"]
        return got["sha256"]

    return wait


def build_meta(r: Rubric, reg: Registry, data: Dataset, year: int, command: str, title: str | None = None,
               fingerprint: bool = True, year_notes: list[Problem] | None = None) -> RunMeta:
    """The run's metadata. With ``fingerprint=False`` the data fingerprint is left empty for the caller to
    fill in (see :func:`fingerprint_alongside`). ``year_notes``: :func:`year_check`'s notes when the caller
    has them (a read in blocks of branches checks each block), instead of checking ``data``."""
    return RunMeta(
        title=title or f"{year}年度党支部考核结果",
        rubric_id=r.id,
        rubric_name=r.name,
        rubric_version=r.version,
        rubric_sha256=r.sha256(),
        data_sha256=data.sha256() if fingerprint else "",
        engine_version=__version__,
        plugins=reg.plugin_versions(),
        command=command,
        year=year,
        rubric_toml=dump_toml(r),
        data_notes=list(data.notes) + (year_check(data, year) if year_notes is None else list(year_notes)),
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        dimension_names=[d.name for d in r.dimensions],
        rating=r.grading.model,
        sources=list(data.sources),
        excluded=data.excluded if len(data.excluded) else None,
        rubric_rows=rubric_rows(r, reg),
    )


def rubric_rows(r: Rubric, reg: Registry) -> list[dict]:
    """The rubric as a table (the results workbook's 评分标准与审计): per indicator its dimension, id, name,
    maximum, the rule in words, and the measure's unit and whether it is a rate (number formats)."""
    from .rules import describe

    rows = []
    for d in r.dimensions:
        for ind in d.indicators:
            m = reg.measures[ind.measure]
            rows.append({"dimension": d.name, "indicator": ind.id, "name": ind.name, "max": ind.max,
                         "text": describe(ind, reg), "unit": m.unit or "", "rate": bool(m.is_rate)})
    return rows


def load(rubric_spec, plugins: list[Path] = (), execute_plugins: bool = True) -> tuple[Rubric, Registry, str]:
    """Load the rubric (extends merged), then the plugins (command-line ones and the rubric's own local
    plugin files), then cross-check the rubric against the measures they provide. With
    ``execute_plugins=False`` local plugin files are read without running them (what they declare)."""
    data, shown = read_rubric_data(rubric_spec)
    rubric = parse_rubric(data, shown)
    reg = make_registry(list(plugins) + [Path(p) for p in rubric.plugins], execute=execute_plugins)
    problems = cross_check(rubric, reg)
    if problems:
        raise RubricError([located(shown, p) for p in problems])
    return resolve_defaults(rubric, reg), reg, shown
