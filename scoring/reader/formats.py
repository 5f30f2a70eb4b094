"""Format dispatch: a workbook (python-calamine), a CSV file (UTF-8 or GB18030) or a Parquet file, each
turned into grids of raw cells (one per sheet or file) for the header finder."""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, DataNote, DataProblem, Problem
from .cells import Deferred
from .headers import IGNORED_SHEETS, add_grid, note_continued, table_of_sheet
from .intake import Intake, _Grid
from .limits import Refused, check_csv, check_parquet, start_scan
from .text import _key

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound document: .xls, or an encrypted .xlsx


def read_file(ix: Intake, given: str, path: Path, file: str, fmt: str, in_folder: bool) -> None:
    if fmt == "excel":
        ix.sources.append(file)
        read_workbook(ix, given, path, file, in_folder)
        return
    tid = ix.by_name.get(_key(path.stem))
    if tid is None:
        if in_folder:
            ix.note(DataNote.UNKNOWN_FILE, given, file, None, None, "文件名不是已知的表名，已忽略")
        else:
            known = "、".join(f"{t.id}.csv / {t.sheet}.csv" for t in list(ix.specs.values())[:3])
            ix.problem(DataProblem.UNKNOWN_TABLE_FILE, file, None, None, None, f"无法根据文件名判断是哪张表（文件名应为表名，如 {known} 等）")
        return
    table = ix.specs[tid]
    ix.sources.append(file)
    try:
        (check_csv if fmt == "csv" else check_parquet)(path)
    except Refused as e:
        ix.problem(DataProblem.TOO_LARGE, file, None, None, None, f"无法读取文件：{e}")
        ix.seen.add(tid)
        return
    try:
        if fmt == "csv":
            columns, encoding = _read_csv(path)
            header = None
        else:
            columns, header, nrows = _read_parquet(ix, tid, path, file)
            encoding = None
    except Exception as e:  # unreadable or damaged file: the user's data, reported like any problem
        ix.problem(DataProblem.UNREADABLE_FILE, file, None, None, None, f"无法读取文件：{type(e).__name__}: {e}")
        ix.seen.add(tid)
        return
    if encoding == "gb18030":
        ix.note(DataNote.ENCODING, given, file, None, None, "文件不是 UTF-8 编码，已按 GB18030 读取", table=tid)
    add_grid(ix, _Grid(given, file, None, table, columns, fmt, header=header,
                       nrows=nrows if fmt == "parquet" else None))


# Parquet files at least this large are read a column at a time, as their table is assembled; smaller
# ones (a county's) at once, where opening the file per column would cost more than the memory it saves
DEFER_PARQUET_BYTES = 8 * 2**20


def _read_parquet(ix: Intake, tid: str, path: Path, file: str) -> tuple[list, list, int]:
    """The columns of a Parquet file the read needs (None in the place of the others), its column names
    and its number of records. In a large file (``DEFER_PARQUET_BYTES``) each needed column is a
    :class:`Deferred`, read from the file when its table is assembled, so that a province's raw columns
    are never all held at once (a raw column is let go once it is converted)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    index = {c for c in (pf.schema_arrow.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
    names = [n for n in pf.schema_arrow.names if n not in index]  # as pandas names them, index left out
    if len(set(names)) < len(names):  # repeated names: pandas tells them apart, read as it reads them
        frame = pd.read_parquet(path).reset_index(drop=True)
        return [frame.iloc[:, j] for j in range(frame.shape[1])], list(frame.columns), len(frame)
    keep = ix.keep.get(tid)
    lookup = ix.lookups[tid]
    wanted = [n for n in names if keep is None or lookup.get(_key(n)) in keep]
    if path.stat().st_size < DEFER_PARQUET_BYTES:
        frame = pd.read_parquet(path, columns=wanted).reset_index(drop=True) if wanted else pd.DataFrame()
        got = {n: frame.iloc[:, j] for j, n in enumerate(frame.columns)}
        return [got.get(n) for n in names], names, pf.metadata.num_rows
    return [Deferred(_parquet_column(path, n, file)) if n in wanted else None for n in names], names, \
        pf.metadata.num_rows


def _parquet_column(path: Path, name: str, file: str):
    def load() -> pd.Series:
        try:
            text = _parquet_text(path, name)
            if text is not None:
                return text
            return pd.read_parquet(path, columns=[name]).iloc[:, 0].reset_index(drop=True)
        except Exception as e:  # a damaged data page, found only now: the file's problem, located
            raise DataError([Problem(file, None, None, name, f"无法读取文件：{type(e).__name__}: {e}",
                                     code=DataProblem.UNREADABLE_FILE)]) from None
    return load


# a text column whose first row group has more distinct values than this share of its rows is read as
# strings: a dictionary of mostly distinct values (ids of 党员名册, or pages the writer stored plain once
# its dictionary grew too large) costs more to build and unify than hashing the strings once. Measured
# on the sample's 30,000 branches: 党费交纳's 党员编号 (0.085 of a row group distinct) 0.96 s from the
# dictionary against 1.35 s as strings; 学习培训's (0.24) 0.85 s against 0.67 s
DICTIONARY_SHARE = 0.15


def _parquet_text(path: Path, name: str) -> pd.Series | None:
    """A text column of a Parquet file as an Arrow dictionary, read from the file's dictionary-encoded
    pages as they are (Parquet writers encode text that way by default) and its row groups'
    dictionaries unified into one; None when the column is not text or is mostly distinct values
    (``DICTIONARY_SHARE``, judged on its first row group). A province's 36M dues rows' 支部编码 and
    月份 are read so in a quarter of the time of reading them as strings and encoding them (which hashes
    every string), their 党员编号 in two thirds, and each holds 4 bytes per row instead of its strings.
    See cells._encoded_text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, read_dictionary=[name])
    field = pf.schema_arrow.field(name)
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) or pf.metadata.num_row_groups == 0:
        return None
    first = pf.read_row_group(0, columns=[name]).column(0)
    if len(first) and sum(len(c.dictionary) for c in first.chunks) > DICTIONARY_SHARE * len(first):
        return None
    column = pq.read_table(path, columns=[name], read_dictionary=[name]).column(0).unify_dictionaries()
    return pd.Series(pd.arrays.ArrowExtensionArray(column))


def read_workbook(ix: Intake, given: str, path: Path, file: str, in_folder: bool = False) -> None:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        # bounds first: calamine itself would abort the process on a far corner. The worksheets are scanned
        # on a thread while calamine parses the ones before; nothing is added before every part passed
        scanning = start_scan(path)
    except Refused as e:
        ix.problem(DataProblem.TOO_LARGE, file, None, None, None, f"无法读取工作簿：{e}")
        return
    # what the sheets add to the intake, in order: added once every part of the workbook passed the scan
    effects: list[Callable[[], None]] = []
    recognized, others = 0, []
    try:
        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as e:  # not a workbook, damaged, password protected
            if scanning is not None:
                scanning.finish()  # a refused part is said instead
            ix.problem(DataProblem.UNREADABLE_FILE, file, None, None, None,
                       f"无法打开工作簿：{_why_unreadable(path, e)}")
            return
        try:
            for meta in wb.sheets_metadata:
                name = meta.name
                if meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                tid, continued = table_of_sheet(ix, name)
                if continued:
                    effects.append(partial(note_continued, ix, given, file, name, tid))
                found = scanning.sheet(name) if scanning is not None else None  # before calamine parses it
                try:
                    sheet = wb.get_sheet_by_name(name)
                    if tid is None:
                        if meta.visible == SheetVisibleEnum.Visible and _key(name) not in IGNORED_SHEETS \
                                and sheet.start is not None:
                            others.append(name)
                        continue
                    rows = sheet.to_python(skip_empty_area=False)
                except Exception as e:
                    effects.append(partial(ix.problem, DataProblem.UNREADABLE_SHEET, file, name, None, None,
                                           f"无法读取工作表：{type(e).__name__}: {e}"))
                    if tid is not None:
                        effects.append(partial(ix.seen.add, tid))
                    continue
                recognized += 1
                columns = _rows_to_columns(rows)
                if found is not None and found.errors:  # calamine reads an error cell as "": put its value back
                    for (r, j), value in found.errors.items():
                        if j < len(columns) and r < len(columns[j]):
                            columns[j][r] = value
                effects.append(partial(add_grid, ix, _Grid(given, file, name, ix.specs[tid], columns, "excel")))
            if scanning is not None:
                scanning.finish()  # the parts no sheet was parsed from (a chart sheet's) are checked too
        finally:
            wb.close()
    except Refused as e:  # a part refused while its sheet or an earlier one was parsed: nothing of it is used
        ix.problem(DataProblem.TOO_LARGE, file, None, None, None, f"无法读取工作簿：{e}")
        return
    finally:
        if scanning is not None:
            scanning.close()
    for effect in effects:
        effect()
    if recognized or not others:
        for name in others:
            ix.note(DataNote.UNKNOWN_SHEET, given, file, name, None, "不是已知的工作表，已忽略")
        return
    # not one known sheet: a workbook from another system, or a results workbook, said in one line; in a
    # folder of branch workbooks it is skipped (a summary someone keeps there), given by itself an error
    expected = [t.sheet for t in ix.specs.values() if t.id in ix.wanted] or [t.sheet for t in ix.specs.values()]
    found = f"工作簿中没有可识别的数据表：其中的工作表为{_names(others)}，评分需要的是{_names(expected)}"
    if in_folder:
        ix.note(DataNote.UNKNOWN_WORKBOOK, given, file, None, None, f"{found}，已跳过")
    else:
        ix.problem(DataProblem.UNKNOWN_WORKBOOK, file, None, None, None,
                   f"{found}（是否选错了文件？评分结果工作簿或其他系统导出的表格不能作为数据）")


def _names(names: list[str], limit: int = 8) -> str:
    shown = "、".join(f"「{n}」" for n in names[:limit])
    return shown + (f"等{len(names)}张" if len(names) > limit else "")


def _rows_to_columns(rows: list[list]) -> list[np.ndarray]:
    if not rows:
        return []
    try:
        grid = np.array(rows, dtype=object)
    except ValueError:
        grid = None
    if grid is None or grid.ndim != 2:
        width = max(len(r) for r in rows)
        grid = np.array([list(r) + [None] * (width - len(r)) for r in rows], dtype=object)
    grid[grid == ""] = None  # calamine gives "" for an empty cell
    return [grid[:, j] for j in range(grid.shape[1])]


def _read_csv(path: Path) -> tuple[list, str]:
    """All cells as text; returns the columns and the encoding that worked."""
    last: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, na_filter=False,
                                encoding=encoding, skip_blank_lines=False)
            return [frame.iloc[:, j] for j in range(frame.shape[1])], encoding
        except UnicodeDecodeError as e:
            last = e
        except pd.errors.EmptyDataError:
            return [], encoding
        except pd.errors.ParserError:  # rows of different widths (a title line above the header)
            try:
                with open(path, encoding=encoding, newline="") as fh:
                    rows = list(csv.reader(fh))
            except UnicodeDecodeError as e:
                last = e
                continue
            return _rows_to_columns(rows), encoding
    raise last if last else ValueError(str(path))



def _why_unreadable(path: Path, error: Exception) -> str:
    """Why a workbook could not be opened, in words its owner can act on."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as e:
        return f"文件无法读取（{e.strerror or type(e).__name__}）"
    suffix = path.suffix.lower()
    detail = f"{type(error).__name__}: {error}"
    if not head:
        return "文件为空（0字节），可能没有保存完整或传输中断"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):  # tables exported by other systems as HTML/XML
        return "文件实际是网页或 XML 格式（常见于从其他系统导出的表格），请用 Excel 打开后另存为 .xlsx"
    if suffix in (".xlsx", ".xlsm", ".xlsb", ".ods"):
        if head.startswith(_OLE_MAGIC):
            return "工作簿设有打开密码或已加密，请取消密码后重新保存"
        if head.startswith(_ZIP_MAGIC):
            return f"文件已损坏或不完整，请用 Excel 打开后重新保存（{detail}）"
        return f"文件内容不是 {suffix} 工作簿（可能是改了扩展名的其他文件），请用 Excel 另存为 .xlsx"
    return f"文件已损坏或不是受支持的工作簿格式（{detail}）"
