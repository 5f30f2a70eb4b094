"""Benchmark: phases with wall time, CPU time and peak memory, the county against a floor, province size,
growth, and the Dask executor. Run from the repository root; nothing here is a test.

    python bench/bench.py county                      # P1: the bundled county vs the floor script
    python bench/bench.py scale --sizes 3000 30000 100000   # P2/P3: Parquet -> JSON + Parquet results, growth
    python bench/bench.py scale --sizes 100000 --excel      # P2: ... and the results workbook
    python bench/bench.py scale --sizes 100000 --split      # P2: ... and a results folder (--split parent)
    python bench/bench.py dask --branches 3000        # P4: --executor dask against local, sha256 of both JSON
    python bench/bench.py all                         # all of the above at their default sizes

Every run is a fresh child process (``bench/probe.py``) so that its memory is its own; per phase it reports
wall seconds, CPU seconds (the process and its child processes: Dask's workers) and the peak resident
memory (MiB) during the phase. The machine may be shared: the load average before and after each run is
printed, and CPU seconds are the figure to compare when it was loaded.

Generated data is kept in ``--workdir`` (default ``/tmp/scoring-bench``) and reused by later runs of the
same size and seed; ``scoring sample`` itself is timed when it runs (wall, CPU, peak memory).

    phases   rubric    load the rubric and plugins
             read      parse the workbook / CSV files; of Parquet only the schema (each column is read
                       from the file as its table is assembled, in validate)
             validate  coerce types, check every value, key, reference and conflict
             fingerprint  waiting for the data's sha256 (Dataset.sha256), which `run` computes on a thread
                       of its own alongside measure and evaluate: its CPU is counted in those phases
             measure   every measure of the rubric (plugins)
             evaluate  the evaluator and the wording of every reason
             write.*   the results workbook(s), JSON, Parquet results
             other     interpreter start-up, imports and what lies between phases
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PHASES = ["rubric", "read", "validate", "fingerprint", "measure", "evaluate", "write.xlsx", "write.json",
          "write.parquet"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def timed(cmd: list[str], **kw) -> dict:
    """Run ``cmd`` as a child process: wall, CPU (user + sys) and peak RSS (MiB) of that child (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, **kw)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        sys.stderr.write(stdout + stderr)
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak": ru.ru_maxrss / 1024, "stdout": stdout,
            "stderr": stderr}


def scoring_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("scoring")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "scoring"]


def sample(workdir: Path, n: int, fmt: str, seed: int = 2025) -> tuple[Path, dict | None]:
    """Generated data for ``n`` branches (reused when present) and the generation's figures."""
    target = workdir / f"county_{n}_{seed}_{fmt}"
    done = target / ".complete"
    if done.exists():
        return (target / "county_2025.xlsx" if fmt == "xlsx" else target), None
    if target.exists():
        shutil.rmtree(target)
    r = timed(scoring_cmd() + ["sample", "--branches", str(n), "-o", str(target), "--format", fmt,
                               "--seed", str(seed)])
    done.write_text("")
    return (target / "county_2025.xlsx" if fmt == "xlsx" else target), r


def probed(args: list[str], out_json: Path) -> dict:
    """``scoring ARGS`` under the probe: the process figures plus per-phase figures."""
    la = load()
    r = timed([sys.executable, str(BENCH / "probe.py"), str(out_json), "--", *args])
    res = json.loads(out_json.read_text())
    res.update(wall=r["wall"], cpu=r["cpu"], peak=r["peak"], load_before=la, load_after=load(), stdout=r["stdout"])
    # workers of a Dask cluster are not waited-for children of the probe: add the CPU the probe saw them use
    phase_cpu = sum(s["cpu"] for s in res["phases"].values())
    res["cpu"] = max(res["cpu"], phase_cpu)
    res["peak"] = max(res["peak"], max((s["peak"] for s in res["phases"].values()), default=0.0))
    return res


def print_phases(title: str, res: dict) -> None:
    ph = res["phases"]
    print(f"\n{title}   (load average 1/5 min before {res['load_before']}, after {res['load_after']})")
    print(f"  {'phase':<14}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}")
    inside_w = inside_c = 0.0
    for name in PHASES + sorted(set(ph) - set(PHASES)):
        if name in ph:
            s = ph[name]
            inside_w += s["wall"]
            inside_c += s["cpu"]
            print(f"  {name:<14}{s['wall']:>9.2f}{s['cpu']:>9.2f}{s['peak']:>10.0f}")
    print(f"  {'other':<14}{res['wall'] - inside_w:>9.2f}{max(res['cpu'] - inside_c, 0):>9.2f}")
    print(f"  {'total':<14}{res['wall']:>9.2f}{res['cpu']:>9.2f}{res['peak']:>10.0f}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- P1
def bench_county(a) -> dict:
    data = Path(a.data)
    with tempfile.TemporaryDirectory(prefix="bench-county-") as tmp:
        tmp = Path(tmp)
        res = probed(["run", str(data), "-o", str(tmp / "r.xlsx"), "--json", str(tmp / "r.json")],
                     tmp / "phases.json")
        print_phases(f"P1 county: scoring run {data} -o r.xlsx --json r.json", res)

        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(tmp / "r.xlsx"))
        sheets = [(name, wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names]
        with open(tmp / "cells.pickle", "wb") as f:
            pickle.dump(sheets, f)
        la = load()
        fl = timed([sys.executable, str(BENCH / "floor.py"), str(data), str(tmp / "cells.pickle"), str(tmp / "f.xlsx")])
        inner = json.loads(fl["stdout"].strip().splitlines()[-1])
        floor_wall = fl["wall"] - inner["load_wall"]
        floor_cpu = fl["cpu"] - inner["load_cpu"]
        print(f"\n  floor (bench/floor.py: calamine read of the input, the same {inner['cells_written']:,} result cells "
              f"written with xlsxwriter constant_memory; load average before {la}, after {load()}):")
        print(f"  {'floor':<14}{floor_wall:>9.2f}{floor_cpu:>9.2f}{fl['peak']:>10.0f}   "
              f"(read {inner['read']:.2f} s, write {inner['write']:.2f} s)")
        scoring_wall = sum(res["phases"].get(p, {}).get("wall", 0.0) for p in ("measure", "evaluate"))
        scoring_cpu = sum(res["phases"].get(p, {}).get("cpu", 0.0) for p in ("measure", "evaluate"))
        out = {"ratio_wall": res["wall"] / floor_wall, "ratio_cpu": res["cpu"] / floor_cpu,
               "scoring_share_wall": scoring_wall / res["wall"], "scoring_share_cpu": scoring_cpu / res["cpu"]}
        print(f"  P1 ratio run / floor: wall {out['ratio_wall']:.2f}x, CPU {out['ratio_cpu']:.2f}x (goal <= 1.3x); "
              f"scoring (measure + evaluate) {out['scoring_share_wall']:.0%} of the run's wall, "
              f"{out['scoring_share_cpu']:.0%} of its CPU (goal <= 10%)")
        return out


# ---------------------------------------------------------------------------------------------- P2, P3
def bench_scale(a) -> list[dict]:
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in a.sizes:
        data, gen = sample(work, n, "parquet")
        if gen is not None:
            print(f"\nscoring sample --branches {n} --format parquet: wall {gen['wall']:.1f} s, CPU {gen['cpu']:.1f} s, "
                  f"peak {gen['peak']:.0f} MiB")
        with tempfile.TemporaryDirectory(prefix=f"bench-{n}-", dir=a.out_dir) as tmp:
            tmp = Path(tmp)
            args = ["run", str(data), "--json", str(tmp / "r.json"), "--parquet", str(tmp / "parquet"), "-q"]
            if a.excel or a.split:
                args += ["-o", str(tmp / "r.xlsx")] + (["--split", "parent"] if a.split else [])
            else:
                args += ["--no-xlsx"]
            if a.executor != "local":
                args += ["--executor", a.executor]
            res = probed(args, tmp / "phases.json")
            what = "Parquet -> JSON + Parquet results" + (
                " + results folder (--split parent)" if a.split else " + results workbook" if a.excel else "")
            print_phases(f"{n:,} branches ({what}, --executor {a.executor})", res)
            rows.append({"n": n, "wall": res["wall"], "cpu": res["cpu"], "peak": res["peak"],
                         "json_mib": (tmp / "r.json").stat().st_size / 2**20})
    if len(rows) > 1:
        print("\ngrowth (ratio to the previous size; 'per 10x' scales the ratio to ten times the branches)")
        print(f"  {'branches':>9}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}{'x wall':>9}{'x CPU':>8}{'x peak':>8}"
              f"{'per 10x: CPU':>14}{'peak':>7}")
        prev = None
        for r in rows:
            line = f"  {r['n']:>9,}{r['wall']:>9.1f}{r['cpu']:>9.1f}{r['peak']:>10.0f}"
            if prev is not None:
                k = r["n"] / prev["n"]
                xw, xc, xp = r["wall"] / prev["wall"], r["cpu"] / prev["cpu"], r["peak"] / prev["peak"]
                to10 = 1 / math.log10(k)
                line += f"{xw:>9.2f}{xc:>8.2f}{xp:>8.2f}{xc ** to10:>14.2f}{xp ** to10:>7.2f}"
            print(line)
            prev = r
    return rows


# ---------------------------------------------------------------------------------------------- P4
def bench_dask(a) -> dict:
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    data, _ = sample(work, a.branches, "parquet")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        tmp = Path(tmp)
        out = {}
        for executor in ("local", "dask"):
            args = ["run", str(data), "--json", str(tmp / f"{executor}.json"), "--no-xlsx", "-q",
                    "--executor", executor]
            res = probed(args, tmp / f"{executor}.phases.json")
            print_phases(f"{a.branches:,} branches, --executor {executor}", res)
            out[executor] = {"wall": res["wall"], "cpu": res["cpu"], "sha256": sha256(tmp / f"{executor}.json")}
        same = out["local"]["sha256"] == out["dask"]["sha256"]
        print(f"\n  P4 JSON sha256 local {out['local']['sha256']}\n"
              f"               dask  {out['dask']['sha256']}\n  byte-identical: {'yes' if same else 'NO'}")
        out["identical"] = same
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=("county", "scale", "dask", "all"))
    ap.add_argument("--data", default=str(ROOT / "sample_data" / "county_2025.xlsx"), help="county workbook for P1")
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000, 100000])
    ap.add_argument("--excel", action="store_true", help="scale: also write the results workbook")
    ap.add_argument("--split", action="store_true",
                    help="scale: also write the results folder, one workbook per 上级党组织 (run --split parent)")
    ap.add_argument("--executor", default="local", choices=("local", "dask"))
    ap.add_argument("--branches", type=int, default=3000, help="dask: branches of the county compared")
    ap.add_argument("--workdir", default="/tmp/scoring-bench", help="generated data, reused between runs")
    ap.add_argument("--out-dir", default=None, help="where run outputs go (a temporary folder, removed)")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"python {sys.version.split()[0]}; load average now {load()}")
    if a.what in ("county", "all"):
        bench_county(a)
    if a.what in ("scale", "all"):
        bench_scale(a)
    if a.what in ("dask", "all"):
        bench_dask(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
