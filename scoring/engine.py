"""Orchestration: rubric + records -> measures -> evaluation. The only impure glue between the parts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import __version__
from .dataset import Dataset
from .errors import PluginError
from .evaluator import Measured, evaluate, measure_requests
from .measure import MeasureContext
from .registry import Registry, make_registry
from .result import Result
from .errors import RubricError
from .rubric import Rubric, cross_check, dump_toml, parse_rubric, read_rubric_data


@dataclass
class Timer:
    phases: dict[str, float] = field(default_factory=dict)

    def __call__(self, name: str):
        timer = self

        class _Phase:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.phases[name] = timer.phases.get(name, 0.0) + time.perf_counter() - self.t

        return _Phase()


def needed_tables(r: Rubric, reg: Registry) -> set[str]:
    out = {"branches"}
    for measure, _ in measure_requests(r).values():
        out |= set(reg.measures[measure].inputs)
    return out


def compute_measures(r: Rubric, reg: Registry, data: Dataset, year: int) -> dict[str, Measured]:
    ctx = MeasureContext(data=data, year=year)
    out: dict[str, Measured] = {}
    for key, (mid, params) in measure_requests(r).items():
        m = reg.measures[mid]
        kwargs = {k: p.default for k, p in m.params.items()}
        kwargs.update(params)
        try:
            frame = m.compute(ctx, **kwargs)
        except Exception as e:  # a plugin bug stops the run with a clear message, not a traceback
            raise PluginError(f"插件「{m.plugin}」的测量项「{mid}」计算失败：{type(e).__name__}: {e}") from e
        if m.kind != "claims":
            missing = {"value", "applicable", "evidence"} - set(frame.columns)
            if missing:
                raise PluginError(f"插件「{m.plugin}」的测量项「{mid}」缺少输出列：{sorted(missing)}")
        out[key] = Measured(frame=frame, unit=m.unit, rate=m.is_rate)
    return out


def score(r: Rubric, reg: Registry, data: Dataset, year: int | None = None, meta: dict | None = None,
          timer: Timer | None = None) -> Result:
    timer = timer or Timer()
    year = year or r.year
    with timer("measure"):
        measured = compute_measures(r, reg, data, year)
    with timer("evaluate"):
        result = evaluate(r, data.table("branches"), measured, meta=meta)
    return result


def build_meta(r: Rubric, reg: Registry, data: Dataset, year: int, command: str, title: str | None = None) -> dict:
    return {
        "title": title or f"{year}年度党支部考核结果",
        "rubric_id": r.id,
        "rubric_name": r.name,
        "rubric_version": r.version,
        "rubric_sha256": r.sha256(),
        "data_sha256": data.sha256(),
        "engine_version": __version__,
        "plugins": reg.plugin_versions(),
        "command": command,
        "year": year,
        "rubric_toml": dump_toml(r),
        "data_notes": list(data.notes),
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "dimension_names": [d.name for d in r.dimensions],
        "rating": r.grading.model,
        "sources": list(data.sources),
    }


def load(rubric_spec, plugins: list[Path] = ()) -> tuple[Rubric, Registry, str]:
    """Load the rubric (extends merged), then the plugins (command-line ones and the rubric's own local
    plugin files), then cross-check the rubric against the measures they provide."""
    data, shown = read_rubric_data(rubric_spec)
    rubric = parse_rubric(data, shown)
    reg = make_registry(list(plugins) + [Path(p) for p in rubric.plugins])
    problems = cross_check(rubric, reg)
    if problems:
        raise RubricError([f"{shown}: {p}" for p in problems])
    return rubric, reg, shown
