"""Resource bounds on input, checked before a file is parsed: one bad file must never take the run or
the machine down.

A workbook is a zip archive of XML parts. Before python-calamine opens one, :func:`scan_workbook` checks
each part's declared uncompressed size and compression ratio (a zip bomb declares sizes far beyond what
a county's records need, or a ratio no spreadsheet has), then reads every part once to check that its
actual size is what it declares (the zip module stops at the declared size and checks the CRC, so a part
that lies fails there). Worksheet parts are scanned on the way for the cells calamine will place: a
sheet with cells at A1 and XFD1048576 makes calamine allocate the whole rectangle (16,384 x 1,048,576
cells, 512 GB) and abort the process, so a sheet whose used rectangle exceeds :data:`MAX_CELLS` is refused
with its extent. The scan also collects error cells (#N/A, #REF!...), which calamine turns into empty
strings, so that they are reported by name instead of as empty cells.

Reading a workbook (:func:`start_scan`) checks every part that is not a worksheet before calamine opens
the workbook and scans the worksheets on a thread: each worksheet's scan is waited for before calamine
parses that sheet, so the next sheet is scanned while calamine parses this one.

CSV files are bounded by size, Parquet files by the uncompressed size their metadata declares.
Everything here works on raw bytes with numpy, a few passes per megabyte, so the scan costs a small
fraction of calamine's own parse.
"""

from __future__ import annotations

import re
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np

MAX_PART_BYTES = 1 << 30  # one part of a workbook, unzipped (a sheet of 1,048,576 rows is ~ 400 MB)
MAX_TOTAL_BYTES = 2 << 30  # every part of a workbook together, unzipped
MAX_RATIO = 200  # unzipped / zipped size of one part larger than RATIO_FLOOR (spreadsheets: 5-20)
RATIO_FLOOR = 1 << 20
MAX_CELLS = 25_000_000  # the rectangle calamine allocates for one sheet (1,048,576 rows x 23 columns)
MAX_CSV_BYTES = 1 << 30  # one CSV file
MAX_PARQUET_BYTES = 2 << 30  # one Parquet file, uncompressed as its metadata declares
MAX_TEXT = 32767  # characters in one cell: Excel's own limit
MAX_ERROR_CELLS = 10_000  # error cells collected per sheet (more are reported as a count)

_CHUNK = 1 << 22
_MB = 1 << 20
_LETTER_A, _LETTER_Z, _DIGIT_0, _DIGIT_9 = ord("A"), ord("Z"), ord("0"), ord("9")
_REF = b' r="'
_ERROR_TYPE = b't="e"'
_VALUE_RE = re.compile(rb"<v>([^<]{1,64})</v>")

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class Refused(Exception):
    """A file refused before parsing; the message (Chinese) says why and what to do."""


@dataclass
class SheetScan:
    """What the scan found in one worksheet part."""

    rows: int = 0  # the used rectangle: last row and column (1-based) of a cell with content
    columns: int = 0
    first_row: int = 0  # first row and column of a cell with content (0 when none)
    first_column: int = 0
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) 0-based -> "#N/A"
    more_errors: int = 0  # error cells beyond MAX_ERROR_CELLS
    # cells without a reference (<c><v>1</v></c>) are placed one after the other: bounded by the number of
    # row elements and the most cells in one row (the rest of a row carried over a chunk boundary)
    implicit: bool = False
    row_elements: int = 0
    widest_row: int = 0
    open_row: int = 0

    def extent(self) -> tuple[int, int, int, int]:
        """(first row, first column, last row, last column) calamine will allocate, 1-based."""
        if self.implicit:
            return (1, 1, max(self.rows, self.row_elements), max(self.columns, self.widest_row))
        return (self.first_row, self.first_column, self.rows, self.columns)

    @property
    def cells(self) -> int:
        r0, c0, r1, c1 = self.extent()
        return 0 if not r1 or not c1 else (r1 - r0 + 1) * (c1 - c0 + 1)


@dataclass
class WorkbookScan:
    sheets: dict[str, SheetScan] = field(default_factory=dict)  # by sheet name (xlsx/xlsm only)


def column_name(n: int) -> str:
    """1-based column number -> Excel letters (1 -> A, 16384 -> XFD)."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _size(n: int) -> str:
    return f"{n / _MB:,.0f} MB" if n >= _MB else f"{n:,} 字节"


def scan_workbook(path: Path) -> WorkbookScan | None:
    """Check a zip-based workbook (.xlsx, .xlsm, .xlsb, .ods) before it is parsed. Returns what was found
    in its worksheets, None when the file is not a zip archive (an .xls, or a damaged file that calamine
    will explain); raises :class:`Refused` when a bound is exceeded."""
    scanning = start_scan(path)
    if scanning is None:
        return None
    with scanning:
        return scanning.finish()


def start_scan(path: Path) -> Scanning | None:
    """:func:`scan_workbook` with its worksheets scanned on a thread while calamine parses the ones
    before (the scan is about a third of calamine's own parse: a county's workbook reads 0.3 s sooner).
    Checked before this returns: every part's declared size and ratio, and every part that is not a
    worksheet (calamine reads those when it opens the workbook). :meth:`Scanning.sheet` waits for one
    worksheet's scan and must be called before calamine parses that sheet; :meth:`Scanning.finish`
    waits for all of them. Either raises :class:`Refused` with the first problem in the order of the
    archive's parts, the one :func:`scan_workbook` of the whole file would give, so nothing of a refused
    workbook is used. None when the file is not a zip archive."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    try:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        total = 0
        for info in infos:
            if info.file_size > MAX_PART_BYTES:
                raise Refused(f"工作簿中的「{info.filename}」解压后有 {_size(info.file_size)}，超过可读取的上限"
                              f" {_size(MAX_PART_BYTES)}（文件可能已损坏或是恶意构造的压缩包）")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise Refused(f"工作簿中的「{info.filename}」压缩比异常（{_size(info.compress_size)}解压后为"
                              f" {_size(info.file_size)}，约{ratio:,.0f}倍），不像是正常的表格文件，已拒绝读取")
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise Refused(f"工作簿解压后共有 {_size(total)}，超过可读取的上限 {_size(MAX_TOTAL_BYTES)}；"
                          "请把数据分成几个工作簿")
        parts = _sheet_parts(zf)
        sheets = [i for i in infos if i.filename in parts]
        for k, info in enumerate(infos):
            if info.filename in parts:
                continue
            try:
                _read_part(zf, info, scanning=False)
            except Refused:
                # a worksheet before it in the archive may have a problem of its own: that one comes first
                for before in infos[:k]:
                    if before.filename in parts:
                        _checked(_read_part(zf, before, scanning=True), parts[before.filename])
                raise
    except BaseException:
        zf.close()
        raise
    return Scanning(zf, sheets, parts)


def _checked(found: SheetScan | None, sheet: str) -> SheetScan | None:
    """A worksheet's scan, refused when calamine would allocate more than :data:`MAX_CELLS` cells for it."""
    if found is not None and found.cells > MAX_CELLS:
        r0, c0, r1, c1 = found.extent()
        raise Refused(
            f"工作表「{sheet}」的已用区域为 {column_name(c0)}{r0}:{column_name(c1)}{r1}（{r1 - r0 + 1:,}行 ×"
            f" {c1 - c0 + 1:,}列），超出可读取的范围（最多 {MAX_CELLS:,} 个单元格）；"
            f"请删除表格右侧和下方多余的行和列（含只有空格的单元格）后重新保存")
    return found


class Scanning:
    """The worksheets of a workbook being scanned on a thread, in the order of the archive's parts (see
    :func:`start_scan`); a context manager that waits for the thread and closes the archive."""

    def __init__(self, zf: zipfile.ZipFile, sheets: list[zipfile.ZipInfo], parts: dict[str, str]):
        self._zf, self._sheets, self._parts = zf, sheets, parts
        self._at = {parts[info.filename]: k for k, info in enumerate(sheets)}  # sheet name -> its place
        self._done = [threading.Event() for _ in sheets]
        self._found: dict[str, SheetScan] = {}
        self._failed: tuple[int, BaseException] | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="scan-workbook", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        k = 0
        try:
            for k, info in enumerate(self._sheets):
                if self._stop:
                    break
                name = self._parts[info.filename]
                found = _checked(_read_part(self._zf, info, scanning=True), name)
                if found is not None:
                    self._found[name] = found
                self._done[k].set()
        except BaseException as e:  # raised in the caller's thread, by the first wait at or after it
            self._failed = (k, e)
        finally:
            for done in self._done:
                done.set()

    def sheet(self, name: str) -> SheetScan | None:
        """What the scan found in the worksheet ``name``; raises :class:`Refused` when this or an earlier
        part of the archive is refused. A sheet the workbook's own list does not name as a worksheet part
        (its part could not be told) waits for every part, as before any sheet was parsed, and gives None."""
        k = self._at.get(name)
        if k is None:
            self.finish()
            return None
        self._done[k].wait()
        if self._failed is not None and self._failed[0] <= k:
            raise self._failed[1]
        return self._found.get(name)

    def finish(self) -> WorkbookScan:
        """Every worksheet's scan (raises :class:`Refused` as :meth:`sheet` does, for any of them)."""
        self._thread.join()
        if self._failed is not None:
            raise self._failed[1]
        return WorkbookScan(sheets=dict(self._found))  # (found in the order of the parts)

    def close(self) -> None:
        """Stop scanning after the part at hand, wait for the thread and close the archive."""
        self._stop = True
        self._thread.join()
        self._zf.close()

    def __enter__(self) -> Scanning:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name -> sheet name, from xl/workbook.xml and its relationships (xlsx/xlsm)."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error, OSError, ValueError):
        return {}
    targets = {}
    for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
        target = rel.get("Target") or ""
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = str(PurePosixPath(part))
    out = {}
    for sheet in book.iter(f"{_NS_MAIN}sheet"):
        part = targets.get(sheet.get(f"{_NS_REL}id"))
        if part and part.endswith(".xml"):
            out[part] = sheet.get("name") or ""
    return out


def _read_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, scanning: bool) -> SheetScan | None:
    """Read one part to its end (the zip module checks the declared size and CRC); scan a worksheet."""
    found = SheetScan() if scanning else None
    carry = b""
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                if found is None:
                    continue
                buf = carry + chunk
                cut = buf.rfind(b"<")  # scan whole tags only; the rest goes with the next chunk
                if cut <= 0:
                    carry = buf
                    continue
                _scan(buf[:cut], found)
                carry = buf[cut:]
                if len(carry) > _CHUNK:  # no tag boundary for megabytes: not a worksheet as Excel writes it
                    _scan(carry, found)
                    carry = b""
        if found is not None and carry:
            _scan(carry, found)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise Refused(f"工作簿已损坏（「{info.filename}」无法解压：{type(e).__name__}），请用 Excel 打开后重新保存") from None
    return found


def _scan(buf: bytes, found: SheetScan) -> None:
    """Cell references ( r="AB12") of the cells with content in ``buf`` (whole tags), and error cells."""
    a = np.frombuffer(buf, dtype=np.uint8)
    n = len(a)
    if n < 6:
        return
    # ' r="' followed by a letter: a cell reference (row references are digits); found from the quotes
    quotes = np.flatnonzero(a == 34)
    q = quotes[(quotes >= 3) & (quotes < n - 1)]
    q = q[a[q - 1] == 61]  # '='
    q = q[(a[q - 2] == 114) & (a[q - 3] == 32)]  # 'r', ' '
    nxt = a[q + 1]
    p = q[(nxt >= _LETTER_A) & (nxt <= _LETTER_Z)] + 1
    _count_implicit(a, len(p), found)
    ext = _extent(a, p, quotes)
    if ext is not None and _cells(ext, found) > MAX_CELLS:
        # a self-closing element (<c r="XFD1048576" s="3"/>) has no content and calamine leaves it out:
        # only counted out when it matters, the check costs another pass
        closes = np.flatnonzero(a == 62)  # '>'
        at = np.searchsorted(closes, p)
        content = np.ones(len(p), dtype=bool)
        inside = at < len(closes)
        content[inside] = a[closes[at[inside]] - 1] != 47  # '/'
        ext = _extent(a, p[content], quotes)
    if ext is not None:
        r0, r1, c0, c1 = ext
        found.first_row = r0 if not found.first_row else min(found.first_row, r0)
        found.first_column = c0 if not found.first_column else min(found.first_column, c0)
        found.rows, found.columns = max(found.rows, r1), max(found.columns, c1)
    start = buf.find(_ERROR_TYPE)
    while start >= 0:
        tag = buf.rfind(b"<c", 0, start)
        end = buf.find(b"</c>", start)
        ref = buf.find(_REF, tag, start) if tag >= 0 else -1
        if ref < 0:  # t="e" after r=: look forward within the tag
            close = buf.find(b">", start)
            ref = buf.find(_REF, start, close) if close >= 0 else -1
        if ref >= 0 and end >= 0:
            m = re.match(rb'([A-Z]{1,3})(\d{1,7})"', buf[ref + 4:ref + 16])
            v = _VALUE_RE.search(buf, start, end + 4)
            if m:
                if len(found.errors) < MAX_ERROR_CELLS:
                    col = 0
                    for ch in m.group(1):
                        col = col * 26 + ch - _LETTER_A + 1
                    text = v.group(1).decode("utf-8", "replace") if v else "#错误"
                    found.errors[(int(m.group(2)) - 1, col - 1)] = text
                else:
                    found.more_errors += 1
        start = buf.find(_ERROR_TYPE, start + 1)


def _tags(a: np.ndarray, lt: np.ndarray, second: int, third: int | None = None) -> np.ndarray:
    """Positions of the start tags "<c" (second="c") or "<row" (second="r", third="o") followed by a
    space, ">" or "/"; ``lt``: the positions of every '<' (but in the last 4 bytes), found once for both."""
    lt = lt[a[lt + 1] == second]
    k = 2
    if third is not None:
        lt = lt[(a[lt + 2] == third) & (a[lt + 3] == 119)]  # "<row"
        k = 4
    after = a[lt + k]
    return lt[(after == 32) | (after == 62) | (after == 47)]


def _count_implicit(a: np.ndarray, refs: int, found: SheetScan) -> None:
    """Cells without a reference (more "<c" tags than cell references): keep the bound on their extent."""
    if len(a) < 8:
        return
    lt = np.flatnonzero(a[:-4] == 60)  # '<'
    cells = _tags(a, lt, 99)  # "<c"
    rows = _tags(a, lt, 114, 111)  # "<row"
    found.row_elements += len(rows)
    if len(cells) <= refs and not found.implicit:
        found.open_row = 0
        return
    found.implicit = True
    if not len(rows):
        found.open_row += len(cells)
        found.widest_row = max(found.widest_row, found.open_row)
        return
    row_of = np.searchsorted(rows, cells, side="right") - 1  # -1: the row opened in an earlier chunk
    counts = np.bincount(row_of + 1, minlength=len(rows) + 1)
    counts[0] += found.open_row
    found.widest_row = max(found.widest_row, int(counts.max()))
    found.open_row = int(counts[-1])


def _number(a: np.ndarray, at: np.ndarray, width: int, letters: bool) -> np.ndarray:
    """The values of same-width references parts starting at ``at``: column letters (A=1) or digits."""
    w = a[at[:, None] + np.arange(width)].astype(np.int64) - (_LETTER_A - 1 if letters else _DIGIT_0)
    return w @ ((26 if letters else 10) ** np.arange(width - 1, -1, -1, dtype=np.int64))


def _extent(a: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[int, int, int, int] | None:
    """(first row, last row, first column, last column), 1-based, of the cell references starting at
    positions ``p`` of ``a`` (``q``: positions of every '"', so the closing quote of each reference). Only
    the extremes are computed: the widest and narrowest row numbers and column names, the rest skipped."""
    if not len(p):
        return None
    n = len(a)
    length = q[np.minimum(np.searchsorted(q, p), len(q) - 1)] - p
    second = a[np.minimum(p + 1, n - 1)]
    third = a[np.minimum(p + 2, n - 1)]
    nletters = 1 + ((second >= _LETTER_A) & (second <= _LETTER_Z)) * (
        1 + ((third >= _LETTER_A) & (third <= _LETTER_Z)))
    ndigits = length - nletters
    ok = (ndigits >= 1) & (ndigits <= 8)
    p, nletters, ndigits = p[ok], nletters[ok], ndigits[ok]
    if not len(p):
        return None

    def extreme(sizes, start, letters, pick):
        size = int(pick(sizes))
        sel = sizes == size
        return int(pick(_number(a, start[sel], size, letters)))

    col_lo, col_hi = extreme(nletters, p, True, np.min), extreme(nletters, p, True, np.max)
    digits_at = p + nletters
    return (extreme(ndigits, digits_at, False, np.min), extreme(ndigits, digits_at, False, np.max), col_lo, col_hi)


def _cells(ext: tuple[int, int, int, int], found: SheetScan) -> int:
    r0, r1, c0, c1 = ext
    if found.rows:
        r0, r1 = min(r0, found.first_row), max(r1, found.rows)
        c0, c1 = min(c0, found.first_column), max(c1, found.columns)
    return (r1 - r0 + 1) * (c1 - c0 + 1)


def check_csv(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise Refused(f"CSV 文件有 {_size(size)}，超过可读取的上限 {_size(MAX_CSV_BYTES)}；请把数据分成几个文件，"
                      "或保存为 Parquet 格式")


def check_parquet(path: Path) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:  # not Parquet or damaged: the reader itself says so
        return
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > MAX_PARQUET_BYTES:
        raise Refused(f"Parquet 文件解压后有 {_size(size)}，超过可读取的上限 {_size(MAX_PARQUET_BYTES)}；请把数据分成几个文件")
