"""Per-phase wall time, CPU time and peak resident memory of one run, for the benchmark.

:class:`Probe` is a :class:`scoring.progress.Phases` that also measures, for every phase:

    wall   seconds (perf_counter)
    cpu    CPU seconds (user + system) of this process and of its live child processes (the Dask
           LocalCluster's workers), so a phase that runs on workers is counted too
    peak   the highest resident memory during the phase, in MiB: the kernel's high-water mark (VmHWM),
           reset at the start of the phase (``/proc/PID/clear_refs``), summed over this process and its
           children (an upper bound when they peak at different moments)

``python bench/probe.py OUT.json -- scoring run ...`` runs the command line in this process with the probe
in place of the engine's timer and writes ``{"phases": {...}, "startup": {...}, "exit": code}`` to OUT.json.
Linux only (``/proc``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time


_HWM = re.compile(r"VmHWM:\s+(\d+) kB")


def _children() -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process().children(recursive=True)]
    except Exception:  # psutil missing or a child gone: this process alone
        return []


def _cpu(pid: int | None = None) -> float:
    """user + system CPU seconds of a process (this one when ``pid`` is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return 0.0


def _hwm(pid: str | int = "self") -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            m = _HWM.search(f.read())
        return int(m.group(1)) / 1024 if m else 0.0
    except OSError:
        return 0.0


def _reset(pid: str | int = "self") -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def total_cpu(pids: list[int]) -> float:
    return _cpu() + sum(_cpu(p) for p in pids)


class Probe:
    """Mixin over :class:`scoring.progress.Phases` (created by :func:`probe_class`)."""

    def _probe_init(self):
        self.stats: dict[str, dict] = {}
        self.seen_children: dict[int, float] = {}  # pid -> last CPU seen (workers that exit keep their share)

    def _cpu_now(self) -> float:
        kids = _children()
        for p in kids:
            self.seen_children[p] = _cpu(p)
        return _cpu() + sum(self.seen_children.values())

    def __call__(self, name: str):
        outer = self
        inner = super().__call__(name)

        class _Phase:
            def __enter__(self):
                self.kids = _children()
                _reset()
                for p in self.kids:
                    _reset(p)
                self.cpu = outer._cpu_now()
                self.t = time.perf_counter()
                inner.__enter__()

            def __exit__(self, *exc):
                inner.__exit__(*exc)
                wall = time.perf_counter() - self.t
                cpu = outer._cpu_now() - self.cpu
                kids = set(self.kids) | set(_children())
                peak = _hwm() + sum(_hwm(p) for p in kids)
                s = outer.stats.setdefault(name, {"wall": 0.0, "cpu": 0.0, "peak": 0.0})
                s["wall"] += wall
                s["cpu"] += cpu
                s["peak"] = max(s["peak"], peak)
                return False

        return _Phase()


def probe_class():
    from scoring.progress import Phases

    class ProbedPhases(Probe, Phases):
        def __init__(self, quiet: bool = True, total: int = 6):
            Phases.__init__(self, quiet=True, total=total)
            self._probe_init()
            PROBES.append(self)

    return ProbedPhases


PROBES: list = []


def main() -> int:
    out = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    if argv and argv[0] == "scoring":
        argv = argv[1:]
    w0, c0 = time.perf_counter(), time.process_time()
    import scoring.engine
    import scoring.cli

    ProbedPhases = probe_class()
    scoring.engine.Timer = ProbedPhases
    import_wall, import_cpu = time.perf_counter() - w0, time.process_time() - c0
    code = scoring.cli.main(argv)
    stats: dict[str, dict] = {}
    for p in PROBES:
        for name, s in p.stats.items():
            t = stats.setdefault(name, {"wall": 0.0, "cpu": 0.0, "peak": 0.0})
            t["wall"] += s["wall"]
            t["cpu"] += s["cpu"]
            t["peak"] = max(t["peak"], s["peak"])
    result = {
        "phases": stats,
        "startup": {"import_wall": import_wall, "import_cpu": import_cpu},
        "exit": code,
    }
    with open(out, "w") as f:
        json.dump(result, f)
    return 0 if code == 0 else code


if __name__ == "__main__":
    sys.exit(main())
