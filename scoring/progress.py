"""A progress bar for long runs (reading files, measuring, writing), on standard error, quiet with -q."""

from __future__ import annotations

import sys
import time

PHASES_ZH = {
    "rubric": "加载评分标准", "read": "读取数据文件", "validate": "校验数据", "measure": "计算测量项",
    "fingerprint": "计算数据指纹", "evaluate": "评分、否决、名额与排名", "write": "写出结果文件",
    "write.xlsx": "写出结果工作簿", "write.json": "写出 JSON 结果", "write.parquet": "写出 Parquet 结果",
    "dask.measure": "Dask 集群按支部分区读取、校验并计算测量项",
    "dask.whole": "数据需要整体核对：Dask 各节点读取并校验全部数据",
}


class Phases:
    """Times named phases and, unless quiet, shows them on a rich progress bar.

    Use as ``with phases("read"): ...``; ``phases.step()`` advances within a phase (one measure, one file).
    The phase timings are in ``phases.phases`` (seconds), for the benchmark.
    """

    def __init__(self, quiet: bool = True, total: int = 7):
        self.phases: dict[str, float] = {}
        self._progress = None
        self._task = None
        if not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("开始", total=total)

    def add_steps(self, n: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=self._progress.tasks[0].total + n)

    def step(self, description: str | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, **({"description": description} if description else {}))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, name: str):
        outer = self

        class _Phase:
            def __enter__(self):
                if outer._progress is not None:
                    outer._progress.update(outer._task, description=PHASES_ZH.get(name, name))
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                outer.phases[name] = outer.phases.get(name, 0.0) + time.perf_counter() - self.t
                outer.step()
                return False

        return _Phase()
