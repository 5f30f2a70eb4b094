"""The floor for a county run: only read the input workbook with python-calamine and write the same cells
as the results workbook with xlsxwriter (constant_memory), nothing else.

    python bench/floor.py INPUT.xlsx CELLS.pickle OUT.xlsx

``CELLS.pickle`` holds the results workbook's cells as ``[(sheet name, rows), ...]`` (``bench.py`` makes it
from a ``scoring run`` workbook, untimed). Loading it is not part of the floor: the script prints, as one
JSON line, the seconds it spent loading (wall and CPU) so the caller subtracts them from the process it
timed, and the seconds of the read and of the write.

No pandas, no validation, no formats, no widths: a run can only be slower than this.
"""

from __future__ import annotations

import json
import pickle
import sys
import time

from python_calamine import CalamineWorkbook
import xlsxwriter


def read(path: str) -> int:
    wb = CalamineWorkbook.from_path(path)
    cells = 0
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        cells += sum(len(r) for r in rows)
    return cells


def write(sheets, path: str) -> None:
    wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                    "strings_to_formulas": False, "strings_to_urls": False})
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v == "" or v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                else:  # dates and times as calamine returns them
                    ws.write(r, c, str(v))
    wb.close()


def main() -> int:
    source, cells_pickle, out = sys.argv[1:4]
    w0, c0 = time.perf_counter(), time.process_time()
    with open(cells_pickle, "rb") as f:
        sheets = pickle.load(f)
    load_wall, load_cpu = time.perf_counter() - w0, time.process_time() - c0
    w1 = time.perf_counter()
    n_read = read(source)
    w2 = time.perf_counter()
    write(sheets, out)
    w3 = time.perf_counter()
    print(json.dumps({"load_wall": load_wall, "load_cpu": load_cpu, "read": w2 - w1, "write": w3 - w2,
                      "cells_read": n_read, "cells_written": sum(1 for _, rows in sheets for r in rows for v in r if v not in ("", None))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
