"""Which files an input path stands for: a workbook, a CSV or Parquet file named like a table, or a
folder of them. In a folder, files that are not data (说明.docx, a PDF) are skipped with a note, and so
are hidden files, system files and Excel's lock files (``~$东岗村.xlsx``)."""

from __future__ import annotations

import stat
from pathlib import Path

from ..errors import DataNote, DataProblem, UsageError
from .formats import read_file
from .intake import Intake

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
CSV_SUFFIXES = frozenset({".csv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})

_HIDDEN_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})  # system files users do not see


def _is_hidden(p: Path) -> bool:
    """Hidden by name (".DS_Store", "._x.xlsx" from a Mac), a known system file, or hidden on Windows."""
    if p.name.startswith(".") or p.name.lower() in _HIDDEN_NAMES:
        return True
    try:
        return bool(getattr(p.stat(), "st_file_attributes", 0) & 2)  # FILE_ATTRIBUTE_HIDDEN
    except OSError:
        return False


def _is_regular(p: Path) -> bool:
    """A regular file, following links; stat() never opens the file, so a pipe cannot block here."""
    try:
        return stat.S_ISREG(p.stat().st_mode)
    except OSError:
        return False


def format_of(p: Path) -> str | None:
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


def add_path(ix: Intake, p: Path) -> None:
    given = str(p)
    if not p.exists():
        raise UsageError(f"找不到输入：{given}")
    if p.is_dir():
        readable = 0
        for q in sorted(p.iterdir(), key=lambda q: q.name):
            if q.name.startswith("~$"):  # the lock file Excel/WPS keep beside a workbook while it is open
                ix.note(DataNote.LOCK_FILE, given, str(q), None, None,
                        f"「{q.name}」是 Excel 打开工作簿时生成的临时文件，已跳过"
                        "（对应的工作簿可能仍在编辑中，请确认已保存）")
                continue
            if _is_hidden(q):
                kind = "文件夹" if q.is_dir() else "文件"
                ix.note(DataNote.HIDDEN, given, str(q), None, None, f"「{q.name}」是隐藏或系统{kind}，已跳过")
                continue
            if q.is_dir():
                ix.note(DataNote.SUBDIR, given, str(q), None, None, "子文件夹中的文件未读取")
                continue
            if not _is_regular(q):  # a named pipe or device would block or never end: never opened
                ix.note(DataNote.NOT_REGULAR, given, str(q), None, None,
                        f"「{q.name}」不是普通文件（命名管道、设备或无效的链接），已跳过")
                continue
            fmt = format_of(q)
            if fmt is None:
                ix.note(DataNote.OTHER_FILE, given, str(q), None, None, f"「{q.name}」不是工作簿，已跳过")
                continue
            readable += 1
            read_file(ix, given, q, str(q), fmt, in_folder=True)
        if not readable:
            ix.problem(DataProblem.NO_DATA_FILES, given, None, None, None, "文件夹中没有可读取的数据文件（.xlsx、.xlsm、.csv、.parquet）")
        return
    if not _is_regular(p):
        raise UsageError(f"输入 {given} 不是普通文件（命名管道、设备等），无法作为数据读取")
    fmt = format_of(p)
    if fmt is None:
        raise UsageError(f"无法识别的输入文件：{given}（应为 .xlsx/.xlsm 工作簿、CSV 或 Parquet 文件，或包含它们的文件夹）")
    read_file(ix, given, p, given, fmt, in_folder=False)
