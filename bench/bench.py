"""Benchmark: time per phase and peak memory for generated counties.

    python bench/bench.py                 # 300 and 3,000 branches, Excel input
    python bench/bench.py --sizes 300 3000 30000 --format parquet

For each size, a sample county is generated (``scoring.sample``) into a temporary folder, then one run is
made in a fresh child process (so that peak memory belongs to that run alone) with the phases:

    read      parse the workbook / CSV / Parquet files (python-calamine for Excel)
    validate  coerce types and check every cell, key and reference (lazy, all problems at once)
    measure   run every measure of the rubric (plugins, vectorized over branches)
    evaluate  the pure evaluator (points, bonus, vetoes, levels, quotas, ranking)
    write     results.xlsx and results.json

Figures are wall-clock seconds of one run on this machine; run it twice and compare medians before
drawing conclusions. No test depends on these numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(data: Path, out: Path, rubric: str) -> dict:
    from scoring.engine import Timer, build_meta, load, needed_tables, score
    from scoring.output.jsonout import write_json
    from scoring.output.xlsx import write_results
    from scoring.reader import read_dataset

    timer = Timer()
    with timer("rubric"):
        r, reg, _ = load(rubric)
    data_set = read_dataset([data], reg.tables, needed_tables(r, reg), timer=timer, year=r.year)
    meta = build_meta(r, reg, data_set, r.year, "bench")
    result = score(r, reg, data_set, r.year, meta, timer)
    with timer("write"):
        write_results(result, out / "results.xlsx")
        write_json(result, out / "results.json")
    rows = sum(len(t) for t in data_set.tables.values())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"phases": timer.phases, "rows": rows, "branches": len(result.branches), "peak_mib": peak_kib / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 3000])
    ap.add_argument("--format", choices=("xlsx", "parquet", "csv"), default="xlsx")
    ap.add_argument("--rubric", default="five_star")
    ap.add_argument("--child", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(Path(a.child[0]), Path(a.child[1]), a.rubric)))
        return 0

    from scoring.sample import generate_county, write_dataset

    order = ["rubric", "read", "validate", "measure", "evaluate", "write"]
    print(f"{'branches':>9} {'rows':>10} {'generate':>9} " + " ".join(f"{p:>9}" for p in order) + f" {'total':>8} {'peak MiB':>9}")
    for n in a.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            t0 = time.perf_counter()
            tables = generate_county(n_branches=n, seed=2025, year=2025)
            target = tmp / "county.xlsx" if a.format == "xlsx" else tmp / "data"
            write_dataset(tables, target, a.format)
            gen = time.perf_counter() - t0
            out = tmp / "out"
            out.mkdir()
            p = subprocess.run(
                [sys.executable, __file__, "--rubric", a.rubric, "--child", str(target), str(out)],
                capture_output=True, text=True,
            )
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                return 1
            res = json.loads(p.stdout.strip().splitlines()[-1])
            ph = res["phases"]
            total = sum(ph.get(k, 0.0) for k in order)
            print(f"{res['branches']:>9} {res['rows']:>10} {gen:>9.2f} " + " ".join(f"{ph.get(k, 0.0):>9.2f}" for k in order)
                  + f" {total:>8.2f} {res['peak_mib']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
