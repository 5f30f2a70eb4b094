"""Read and validate the input records into a :class:`~scoring.dataset.Dataset`.

Inputs (any number, in any mix):

* an ``.xlsx``/``.xlsm`` workbook (also ``.xls``, ``.xlsb``, ``.ods``), one sheet per table;
* a directory holding CSV and/or Parquet files (one file per table, named by table id or Chinese sheet
  name: ``members.csv`` or ``党员名册.csv``) and/or workbooks (for example one workbook per branch);
* a single CSV or Parquet file named like a table.

The same table found in several places (several workbooks of a folder, several paths) is concatenated.
A county committee merges ~300 branch workbooks plus its own, so the merge is checked: one branch's
records of one table coming from two files (东岗村's 组织生活记录 in 东岗村.xlsx and again in 西岭村.xlsx or
in the committee workbook) is a conflict, reported once per table, branch and extra file at the branch's
first row in that file (the branch's own workbook, the one holding its 支部信息 row, counts as the first
whatever the file order); a branch listed in 支部信息 without a single record in any other table read is
a problem too (its workbook was probably never received). In a folder, files that are not data (说明.docx,
a PDF) are skipped with a note, and so are hidden files and Excel's lock files (``~$东岗村.xlsx``); a
workbook that cannot be opened is a problem.

Validation is lazy, in the spirit of pandera's lazy mode: every problem in every file is collected as a
located :class:`~scoring.errors.Problem` (file, sheet, row, column as the user wrote it) and raised at
the end in one :class:`~scoring.errors.DataError`. Repetitive problems are capped per column and sheet
(the first ``MAX_LISTED`` and one summary line). What was tolerated and corrected (title rows skipped,
full-width digits converted, text dates parsed, unknown columns ignored, stray spaces stripped) is
summarized per column in ``Dataset.notes``.

Lenient mode (``read_dataset(..., lenient=True)``) lets a county run go ahead while a few branches fix
their workbooks. Every problem located in a record is attributed to a branch: the record's 支部编码, or,
where that is empty or unknown, the branch of the member the record names (党员编号 in 党费交纳, 学习培训,
民主评议结果); a conflict and a branch without records belong to their branch. When every problem is
attributed, the branches concerned are removed from every table (支部信息 included) and listed in
``Dataset.excluded`` with their located problems as reasons, so nothing is dropped silently. Problems that
belong to no branch (a missing sheet or required column, an unreadable file, a bad 支部编码 cell itself)
still raise, listing every problem. In lenient mode the cap on repeated problems applies per branch, so
each excluded branch has its own problems listed.

Row numbers are what the user sees: the 1-based Excel row (title and header rows included) or the CSV
line number (header on line 1). Parquet has no rows to look at; its records are numbered as if the file
were a CSV (first record = 2).

Conversion is vectorized over whole columns. Text is parsed once per distinct value (dates, months,
booleans and numbers repeat a lot), so a column of a million dates costs about as much as its few
hundred distinct values. Excel is read with python-calamine directly (no pandas parser in between),
which leaves the run dominated by calamine's own parse.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import DTYPES, EXCLUDED_COLUMNS, Dataset, empty_excluded
from .errors import DataError, PluginError, Problem, UsageError
from .tables import Column, Table

__all__ = ["read_dataset", "EXCEL_SUFFIXES", "CSV_SUFFIXES", "PARQUET_SUFFIXES", "MAX_LISTED"]

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
CSV_SUFFIXES = frozenset({".csv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})

HEADER_SCAN_ROWS = 10  # the header must be within the first rows of a sheet
MAX_LISTED = 20  # problems of one kind listed per column and sheet before one summary line
IGNORED_SHEETS = frozenset({"填表说明", "说明"})  # instruction sheets the template puts beside the data
# A sheet holds at most 1,048,576 rows, so a county's 党费交纳 may continue on "党费交纳2", "党费交纳(续)"...
# (matched on the normalized name, see _key)
_CONTINUATION_RE = re.compile(r"^(.+?)[-_.·(]*(?:续表?|\d{1,3})\)?$")

# every character str.isspace() knows, plus zero-width space and BOM that Excel users paste in
_WS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u3000\u200b\ufeff"

_TRUE = ("是", "√", "✓", "✔", "☑", "y", "yes", "t", "true", "1", "有", "对")
_FALSE = ("否", "×", "✗", "✘", "☒", "n", "no", "f", "false", "0", "无", "错")
_BOOL_WORDS = {**{w: True for w in _TRUE}, **{w: False for w in _FALSE}}

# Text dates: 2025-03-01, 2025-3-1, 2025/03/01, 2025.3.1, 2025年3月1日 (optionally with a time), 20250301.
_DATE_RE = (
    r"^(?:(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"|(\d{4})(\d{2})(\d{2}))$"
)
_ISO_DATE_RE = r"^\d{4}-\d{2}-\d{2}(?: 00:00:00)?$"
# Text months: 2025-01, 2025-1, 2025/01, 2025.1, 2025年1月, 202501.
_MONTH_RE = r"^(?:(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?|(\d{4})(\d{2}))$"
_ISO_MONTH_RE = r"^\d{4}-\d{2}$"
_NUMBER_TEXT_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"
_THOUSANDS_RE = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$"

# Excel serial day numbers accepted as dates: 1910-01-01 .. 2099-12-31. Smaller numbers are far more
# likely a mistyped value (a year, a count) than a date.
_SERIAL_MIN, _SERIAL_MAX = 3654, 73050
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
# years representable at nanosecond precision (the Dataset's datetime64[ns])
_YEAR_MIN, _YEAR_MAX = 1678, 2261

_DATE_TYPES = (_dt.date, pd.Timestamp, np.datetime64)
_NUMBER_TYPES = (int, float, np.integer, np.floating)


# --------------------------------------------------------------------------------------------------
# entry point


def read_dataset(paths: Sequence[Path], specs: Mapping[str, Table], needed: Iterable[str], timer=None, *,
                 lenient: bool = False) -> Dataset:
    """Read every input, validate it against ``specs`` and return the typed tables.

    ``needed`` names the tables the rubric's measures read ("branches" is always needed); a needed table
    that no input provides is a problem. Tables that are present but not needed are read and validated
    too. Raises :class:`DataError` listing every problem when anything is wrong, :class:`UsageError`
    when a path does not exist or is not a data file, :class:`PluginError` when ``needed`` names a table
    no spec defines.

    With ``lenient`` the problems that belong to a branch do not stop the run: that branch's records are
    removed from every table and the branch is listed in ``Dataset.excluded`` (branch_id, name, parent,
    category, reasons). DataError is still raised, listing every problem, when some problem belongs to no
    branch.
    """
    specs = dict(specs)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    wanted = set(needed) | {"branches"}
    unknown = sorted(t for t in wanted if t not in specs)
    if unknown:
        raise PluginError(f"测量项需要的表没有定义：{'、'.join(unknown)}")
    if not paths:
        raise UsageError("没有指定输入数据（工作簿、CSV/Parquet 文件夹或工作簿文件夹）")
    timer = timer or _no_timer
    reader = _Reader(specs)
    with timer("read"):
        for p in paths:
            reader.add_path(Path(p))
    excluded = empty_excluded()
    with timer("validate"):
        tables, origins = reader.assemble()
        reader.check_keys(tables)
        reader.check_references(tables)
        reader.check_conflicts(tables, origins)
        reader.check_branches_have_records(tables)
        reader.check_needed(wanted, tables, [Path(p) for p in paths])
        owners = reader.row_branches(tables) if lenient and reader.pending else None
        reader.flush(owners)
        resolved = bool(reader.problems) and owners is not None and all(b is not None for b in reader.owners)
        if resolved:
            tables, origins, excluded = reader.exclude(tables, origins, owners)
    if reader.problems and not resolved:
        raise DataError(reader.problems)
    return Dataset(
        tables=tables,
        specs=specs,
        sources=list(reader.sources),
        notes=reader.final_notes(),
        origins=origins,
        excluded=excluded,
    )


# --------------------------------------------------------------------------------------------------
# small helpers


class _NoPhase:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _no_timer(_name: str) -> _NoPhase:
    """Stands in for :class:`scoring.engine.Timer` when the caller does not time phases."""
    return _NoPhase()


def _is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def _display(v) -> str:
    """A cell value as the user sees it, for messages."""
    if _is_missing(v):
        return ""
    if isinstance(v, str):
        return v.strip(_WS)
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e16:
            return str(int(f))
        return repr(f)
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if isinstance(v, _dt.datetime):
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
            return v.strftime("%Y-%m-%d")
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v).strip(_WS)


def _key(v) -> str:
    """Normalized name for matching headers and sheet names: NFKC (full-width -> half-width), no
    whitespace anywhere, no leading/trailing ``*`` (the required-column marker), case-folded."""
    s = unicodedata.normalize("NFKC", _display(v))
    s = "".join(s.split()).replace("\u200b", "").replace("\ufeff", "")
    return s.strip("*").lower()


def _header_text(v) -> str:
    """The header as the user wrote it, without surrounding spaces and the required marker."""
    return _display(v).strip("*＊").strip(_WS)


def _column_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _allowed(values: tuple[str, ...]) -> str:
    shown = "、".join(values[:10])
    return shown + ("…" if len(values) > 10 else "")


def _by_unique(text: pd.Series, parse: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Apply ``parse`` to the distinct non-missing values of ``text`` and spread the result back.

    ``parse`` receives a Series of distinct strings (RangeIndex) and returns a DataFrame with one row per
    input value. Rows where ``text`` is missing carry an arbitrary parsed row: callers mask them out.
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    parsed = parse(pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
    out = parsed.take(np.maximum(codes, 0)) if len(parsed) else parsed.reindex(range(len(text)))
    out.index = text.index
    return out


def _nfkc(text: pd.Series) -> pd.Series:
    """NFKC-normalize (full-width digits, letters and punctuation to ASCII) only where needed."""
    wide = text.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False).astype(bool)
    if not wide.any():
        return text
    return text.where(~wide, text.str.normalize("NFKC"))


def _years_ok(year: pd.Series | np.ndarray) -> np.ndarray:
    y = np.asarray(year, dtype="float64")
    return (y >= _YEAR_MIN) & (y <= _YEAR_MAX)


def _ymd_to_datetime(y, m, d) -> pd.Series:
    """Vectorized calendar check: invalid combinations (month 13, 2月30日) become NaT."""
    y = pd.Series(np.asarray(y, dtype="float64"))
    ok = _years_ok(y)
    frame = pd.DataFrame({
        "year": y.where(ok),
        "month": pd.Series(np.asarray(m, dtype="float64")).where(ok),
        "day": pd.Series(np.asarray(d, dtype="float64")).where(ok),
    })
    return pd.to_datetime(frame, errors="coerce").astype("datetime64[ns]")


def _serial_to_datetime(v: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (time of day dropped) to datetime64[ns]; NaT outside the accepted range."""
    ok = np.isfinite(v) & (v >= _SERIAL_MIN) & (v <= _SERIAL_MAX)
    days = np.where(ok, np.floor(np.where(ok, v, 0)), 0).astype("int64")
    out = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    out[~ok] = np.datetime64("NaT")
    return out


def _yyyymmdd_to_datetime(v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v) & (v >= 19000101) & (v <= 22611231) & (np.mod(np.where(np.isfinite(v), v, 0), 1) == 0)
    iv = np.where(ok, v, 0).astype("int64")
    out = _ymd_to_datetime(iv // 10000, iv // 100 % 100, iv % 100).to_numpy(copy=True)
    out[~ok] = np.datetime64("NaT")
    return out


def _month_strings(dates: np.ndarray) -> np.ndarray:
    """datetime64 -> object array of "YYYY-MM" (None for NaT), formatted once per distinct month."""
    months = dates.astype("datetime64[M]")
    codes, uniques = pd.factorize(months, use_na_sentinel=True)
    labels = np.array([str(u)[:7] for u in np.asarray(uniques, dtype="datetime64[M]")] + [None], dtype=object)
    return labels[np.where(codes < 0, len(uniques), codes)]


# --------------------------------------------------------------------------------------------------
# cells of one column, split by kind


@dataclass
class _Cells:
    """One raw column, split by the kind of value in each cell (the rest of each part is missing)."""

    raw: pd.Series  # original values, for messages
    text: pd.Series  # "str" dtype, stripped; NA where the cell is not text or only whitespace
    spaced: np.ndarray  # bool: the text had surrounding whitespace that was stripped
    num: np.ndarray  # float64
    when: np.ndarray  # datetime64[ns]
    flag: pd.Series  # "boolean"
    other: np.ndarray  # bool: a value of another kind (time of day, duration, error value...)
    oob: np.ndarray  # bool: a date cell outside the representable years

    @property
    def n(self) -> int:
        return len(self.raw)

    @property
    def empty(self) -> np.ndarray:
        return ~(
            self.text.notna().to_numpy()
            | ~np.isnan(self.num)
            | ~np.isnat(self.when)
            | self.flag.notna().to_numpy()
            | self.other
            | self.oob
        )

    def take(self, keep: np.ndarray) -> _Cells:
        return _Cells(
            raw=self.raw[keep].reset_index(drop=True),
            text=self.text[keep].reset_index(drop=True),
            spaced=self.spaced[keep],
            num=self.num[keep],
            when=self.when[keep],
            flag=self.flag[keep].reset_index(drop=True),
            other=self.other[keep],
            oob=self.oob[keep],
        )


def _dates_from_any(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Date-like values to day-precision datetime64[ns]; also the mask of out-of-range ones."""
    ts = pd.to_datetime(values, errors="coerce")
    if getattr(ts.dtype, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    present = ts.notna().to_numpy()
    ok = present & _years_ok(ts.dt.year.to_numpy(dtype="float64", na_value=np.nan))
    ts = ts.where(ok).dt.floor("D").astype("datetime64[ns]")
    return ts.to_numpy(), present & ~ok


_MISSING, _TEXT, _NUMBER, _DATE, _BOOL, _OTHER = range(6)


def _kind_of_type(t: type) -> int:
    if issubclass(t, str):
        return _TEXT
    if issubclass(t, (bool, np.bool_)):
        return _BOOL
    if issubclass(t, _NUMBER_TYPES):
        return _NUMBER
    if issubclass(t, _DATE_TYPES):
        return _DATE
    if t is type(None) or t is type(pd.NA) or t is type(pd.NaT):
        return _MISSING
    return _OTHER


def _split(s: pd.Series) -> _Cells:
    s = s.reset_index(drop=True)
    n = len(s)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    text = pd.Series(pd.NA, index=s.index, dtype="str")
    num = np.full(n, np.nan)
    when = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    flag = pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)))
    other = np.zeros(n, dtype=bool)
    oob = np.zeros(n, dtype=bool)

    if pd.api.types.is_bool_dtype(s.dtype):
        flag = s.astype("boolean")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        num = s.astype("float64").to_numpy(na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        when, oob = _dates_from_any(s)
    elif pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        text = s.astype("str")
    else:
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "string":
            text = s.astype("str")
        elif inferred == "empty":
            pass
        elif inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            num = s.astype("float64").to_numpy(na_value=np.nan)
        elif inferred in ("date", "datetime", "datetime64"):
            when, oob = _dates_from_any(s)
        elif inferred == "boolean":
            flag = s.astype("boolean")
        else:  # a mix of kinds: classify each cell by its Python type (classified once per type)
            types = s.map(type)
            kinds = types.map({t: _kind_of_type(t) for t in types.unique()}).to_numpy(dtype="int64")
            if (kinds == _TEXT).any():
                text = s.where(kinds == _TEXT).astype("str")
            if (kinds == _NUMBER).any():
                num = pd.to_numeric(s.where(kinds == _NUMBER), errors="coerce").astype("float64").to_numpy(
                    na_value=np.nan)
            if (kinds == _DATE).any():
                when, oob = _dates_from_any(s.where(kinds == _DATE))
            if (kinds == _BOOL).any():
                flag = s.where(kinds == _BOOL).astype("boolean")
            other = kinds == _OTHER
    stripped = text.str.strip(_WS)
    has_text = stripped.notna() & stripped.ne("")
    spaced = (has_text & stripped.ne(text)).fillna(False).to_numpy(dtype=bool)
    text = stripped.where(has_text)
    return _Cells(raw=s, text=text, spaced=spaced, num=num, when=when, flag=flag, other=other, oob=oob)


# --------------------------------------------------------------------------------------------------
# conversion per dtype (whole columns: every sheet of a table at once)


@dataclass
class _Issue:
    """Cells of one column that could not be read."""

    mask: np.ndarray
    label: str  # short name of the kind of problem, for the summary line
    message: Callable[[str, str], str]  # (header, display value) -> message


@dataclass
class _Fix:
    """Cells that were corrected and accepted, summarized in one note per sheet and column."""

    kind: str
    mask: np.ndarray
    message: str  # with {n}: the number of cells, {ex}: an example
    example: Callable[[int], str]  # position -> example text


@dataclass
class _Converted:
    values: object  # array-like of the column's final dtype
    issues: list[_Issue] = field(default_factory=list)
    fixes: list[_Fix] = field(default_factory=list)


def _convert(c: _Cells, col: Column, excel: np.ndarray) -> _Converted:
    """``excel`` marks the rows that come from workbooks (where a text date is itself a correction)."""
    if col.dtype in ("str", "enum"):
        return _convert_text(c, col)
    if col.dtype in ("int", "float"):
        return _convert_number(c, integer=col.dtype == "int")
    if col.dtype == "date":
        return _convert_date(c, excel)
    if col.dtype == "month":
        return _convert_month(c)
    if col.dtype == "bool":
        return _convert_bool(c)
    raise PluginError(f"表格定义中的列「{col.header}」使用了未知的类型「{col.dtype}」")


def _shown_text(c: _Cells) -> Callable[[int], str]:
    return lambda i: _display(c.text.iloc[i])


def _convert_text(c: _Cells, col: Column) -> _Converted:
    out = np.full(c.n, None, dtype=object)
    text = c.text
    changed = c.spaced.copy()
    if col.dtype == "enum":  # enumeration values never contain spaces: "国有 企业" is 国有企业
        inner = text.str.contains(r"\s", regex=True).fillna(False).to_numpy(dtype=bool)
        if inner.any():
            text = text.where(~inner, text.str.replace(r"\s+", "", regex=True))
            changed |= inner
    has_text = text.notna().to_numpy()
    # unchanged text keeps the original Python str objects (no round trip through Arrow)
    same = has_text & ~changed
    raw = c.raw.to_numpy(dtype=object) if c.raw.dtype == object else text.to_numpy(dtype=object)
    out[same] = raw[same]
    if changed.any():
        out[changed] = text[changed].to_numpy(dtype=object)
    has_num = ~np.isnan(c.num)
    if has_num.any():
        v = c.num[has_num]
        whole = (np.mod(v, 1) == 0) & (np.abs(v) < 1e16)
        shown = pd.Series(v).astype(str).to_numpy(dtype=object)
        shown[whole] = v[whole].astype("int64").astype(str).astype(object)
        out[has_num] = shown
    has_date = ~np.isnat(c.when)
    if has_date.any():
        out[has_date] = pd.Series(c.when[has_date]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    has_flag = c.flag.notna().to_numpy()
    if has_flag.any():
        out[has_flag] = np.where(c.flag[has_flag].to_numpy(dtype=bool), "是", "否").astype(object)
    odd = c.other | c.oob
    if odd.any():  # rare cells (a time of day in a text column): shown as the user sees them
        out[odd] = np.array([_display(v) for v in c.raw[odd]], dtype=object)
    res = _Converted(out)
    if c.spaced.any():
        res.fixes.append(_Fix("spaces", c.spaced, "{n}处单元格首尾的空格已去除", _shown_text(c)))
    if col.dtype == "enum":
        allowed = pd.Series(out, dtype=object).isin(col.values).to_numpy()
        bad = ~c.empty & ~allowed
        if bad.any():
            values = _allowed(col.values)
            res.issues.append(_Issue(bad, "值不在允许范围内",
                                     lambda h, v: f"「{h}」的值「{v}」不在允许范围内（{values}）"))
            out[bad] = None
    return res


def _parse_number_text(u: pd.Series) -> pd.DataFrame:
    wide = _nfkc(u)
    fullwidth = wide.ne(u).to_numpy(dtype=bool)
    compact = wide.str.replace(r"\s+", "", regex=True)
    thousands = compact.str.fullmatch(_THOUSANDS_RE).fillna(False).to_numpy(dtype=bool)
    compact = compact.where(~thousands, compact.str.replace(",", "", regex=False))
    plain = compact.str.fullmatch(_NUMBER_TEXT_RE).fillna(False).to_numpy(dtype=bool)
    value = pd.to_numeric(compact.where(plain), errors="coerce").astype("float64")
    return pd.DataFrame({"value": value, "fullwidth": fullwidth & plain, "thousands": thousands})


def _convert_number(c: _Cells, integer: bool) -> _Converted:
    v = c.num.copy()
    bad = c.other | c.oob | ~np.isnat(c.when) | c.flag.notna().to_numpy()
    fixes: list[_Fix] = []
    has_text = c.text.notna().to_numpy()
    if has_text.any():
        parsed = _by_unique(c.text, _parse_number_text)
        pv = parsed["value"].to_numpy(dtype="float64", na_value=np.nan)
        v[has_text] = pv[has_text]
        bad |= has_text & np.isnan(pv)
        fullwidth = parsed["fullwidth"].to_numpy(dtype=bool) & has_text
        thousands = parsed["thousands"].to_numpy(dtype=bool) & has_text
        if fullwidth.any():
            fixes.append(_Fix("fullwidth", fullwidth, "{n}处全角数字已转换为半角（如「{ex}」）", _shown_text(c)))
        if thousands.any():
            fixes.append(_Fix("thousands", thousands, "{n}处数字中的千位分隔符已去除（如「{ex}」）", _shown_text(c)))
    present = ~np.isnan(v)
    bad |= present & ~np.isfinite(v)
    issues = []
    if bad.any():
        issues.append(_Issue(bad.copy(), "应为数字", lambda h, s: f"「{h}」应为数字，实际为「{s}」"))
    v[bad] = np.nan
    if integer:
        finite = np.isfinite(v)
        fv = np.where(finite, v, 0)
        fraction = finite & ((np.mod(fv, 1) != 0) | (np.abs(fv) > 2**53))
        if fraction.any():
            issues.append(_Issue(fraction, "应为整数", lambda h, s: f"「{h}」应为整数，实际为「{s}」"))
            v[fraction] = np.nan
        finite = np.isfinite(v)
        values = pd.arrays.IntegerArray(np.where(finite, v, 0).astype("int64"), ~finite)
        return _Converted(values, issues, fixes)
    return _Converted(v, issues, fixes)


def _parse_date_text(u: pd.Series) -> pd.DataFrame:
    t = _nfkc(u)
    parts = t.str.extract(_DATE_RE)
    y = pd.to_numeric(parts[0].fillna(parts[3]), errors="coerce")
    m = pd.to_numeric(parts[1].fillna(parts[4]), errors="coerce")
    d = pd.to_numeric(parts[2].fillna(parts[5]), errors="coerce")
    when = _ymd_to_datetime(y, m, d).to_numpy()
    matched = y.notna().to_numpy()
    serial = ~matched & t.str.fullmatch(_NUMBER_TEXT_RE).fillna(False).to_numpy(dtype=bool)
    if serial.any():
        sv = pd.to_numeric(t.where(serial), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        when = np.where(serial, _serial_to_datetime(sv), when)
    iso = t.str.fullmatch(_ISO_DATE_RE).fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame({"when": when, "serial": serial, "iso": iso})


def _convert_date(c: _Cells, excel: np.ndarray) -> _Converted:
    when = c.when.copy()
    bad = c.other | c.oob | c.flag.notna().to_numpy()
    fixes: list[_Fix] = []
    has_num = ~np.isnan(c.num)
    if has_num.any():
        compact = _yyyymmdd_to_datetime(c.num)
        got = np.where(np.isnat(compact), _serial_to_datetime(c.num), compact)
        when[has_num] = got[has_num]
        bad |= has_num & np.isnat(got)
        ok = has_num & ~np.isnat(got)
        if ok.any():
            fixes.append(_Fix("number_date", ok, "{n}处数字已按日期识别（如「{ex}」）",
                              lambda i: f"{_display(c.num[i])}→{str(when[i])[:10]}"))
    has_text = c.text.notna().to_numpy()
    if has_text.any():
        parsed = _by_unique(c.text, _parse_date_text)
        got = parsed["when"].to_numpy(dtype="datetime64[ns]")
        when[has_text] = got[has_text]
        bad |= has_text & np.isnat(got)
        ok = has_text & ~np.isnat(got)
        serial = ok & parsed["serial"].to_numpy(dtype=bool)
        # in a workbook every text date is a correction (the cell should be a date); in CSV/Parquet text
        # is the only way to write a date, so only formats other than YYYY-MM-DD are worth a note
        noted = ok & ~serial & (excel | ~parsed["iso"].to_numpy(dtype=bool))
        if noted.any():
            fixes.append(_Fix("text_date", noted, "{n}处文本日期已识别为日期（如「{ex}」）", _shown_text(c)))
        if serial.any():
            fixes.append(_Fix("number_date", serial, "{n}处数字已按日期识别（如「{ex}」）",
                              lambda i: f"{c.text.iloc[i]}→{str(when[i])[:10]}"))
    issues = []
    if bad.any():
        issues.append(_Issue(bad, "无法识别的日期", lambda h, s: f"无法识别的日期「{s}」"))
        when[bad] = np.datetime64("NaT")
    return _Converted(when, issues, fixes)


def _parse_month_text(u: pd.Series) -> pd.DataFrame:
    t = _nfkc(u)
    parts = t.str.extract(_MONTH_RE)
    y = pd.to_numeric(parts[0].fillna(parts[2]), errors="coerce")
    m = pd.to_numeric(parts[1].fillna(parts[3]), errors="coerce")
    when = _ymd_to_datetime(y, m, np.ones(len(t))).to_numpy()
    rest = np.isnat(when) & y.isna().to_numpy()  # not a month: maybe a full date or a serial number
    if rest.any():
        full = _parse_date_text(t.where(rest)).loc[:, "when"].to_numpy(dtype="datetime64[ns]")
        when = np.where(rest, full, when)
    iso = t.str.fullmatch(_ISO_MONTH_RE).fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame({"when": when, "iso": iso})


def _convert_month(c: _Cells) -> _Converted:
    when = c.when.copy()
    bad = c.other | c.oob | c.flag.notna().to_numpy()
    fixes: list[_Fix] = []
    has_num = ~np.isnan(c.num)
    if has_num.any():
        v = c.num
        whole = has_num & (np.mod(np.where(has_num, v, 0), 1) == 0)
        yyyymm = whole & (v >= 190001) & (v <= 226112)
        iv = np.where(yyyymm, v, 0).astype("int64")
        ym = _ymd_to_datetime(iv // 100, iv % 100, np.ones(len(iv))).to_numpy()
        got = np.where(yyyymm, ym, _serial_to_datetime(v))
        when[has_num] = got[has_num]
        bad |= has_num & np.isnat(got)
    has_text = c.text.notna().to_numpy()
    if has_text.any():
        parsed = _by_unique(c.text, _parse_month_text)
        got = parsed["when"].to_numpy(dtype="datetime64[ns]")
        when[has_text] = got[has_text]
        bad |= has_text & np.isnat(got)
        noted = has_text & ~np.isnat(got) & ~parsed["iso"].to_numpy(dtype=bool)
        if noted.any():
            fixes.append(_Fix("month_format", noted, "{n}处月份已统一为YYYY-MM格式（如「{ex}」）",
                              lambda i: f"{c.text.iloc[i]}→{str(when[i])[:7]}"))
    issues = []
    if bad.any():
        issues.append(_Issue(bad, "无法识别的月份",
                             lambda h, s: f"无法识别的月份「{s}」（应写成 YYYY-MM，如 2025-01）"))
        when[bad] = np.datetime64("NaT")
    return _Converted(_month_strings(when), issues, fixes)


def _parse_bool_text(u: pd.Series) -> pd.DataFrame:
    words = _nfkc(u).str.replace(r"\s+", "", regex=True).str.lower()
    return pd.DataFrame({"flag": words.map(_BOOL_WORDS).astype("boolean")})


def _convert_bool(c: _Cells) -> _Converted:
    flag = c.flag.copy()
    bad = c.other | c.oob | ~np.isnat(c.when)
    has_num = ~np.isnan(c.num)
    if has_num.any():
        ones, zeros = has_num & (c.num == 1), has_num & (c.num == 0)
        flag[ones] = True
        flag[zeros] = False
        bad |= has_num & ~(ones | zeros)
    has_text = c.text.notna().to_numpy()
    if has_text.any():
        parsed = _by_unique(c.text, _parse_bool_text)["flag"].astype("boolean")
        flag = flag.where(~has_text, parsed)
        bad |= has_text & parsed.isna().to_numpy()
    issues = []
    if bad.any():
        issues.append(_Issue(bad, "应填是或否", lambda h, s: f"「{h}」应填「是」或「否」，实际为「{s}」"))
        flag[bad] = pd.NA
    return _Converted(flag.astype("boolean").array, issues)


# --------------------------------------------------------------------------------------------------
# reading sources


@dataclass
class _Grid:
    """One sheet or file before its header is located: positional columns of raw cells."""

    given: str  # the path as the user gave it
    file: str  # the file, for messages
    sheet: str | None  # None for CSV and Parquet
    table: Table
    columns: list  # np.ndarray (workbooks) or pd.Series (CSV, Parquet) per column
    fmt: str  # "excel", "csv" or "parquet"
    header: list | None = None  # Parquet: the column names (the grid holds data only)


@dataclass
class _Part:
    """What one sheet or file contributes to a table, before conversion."""

    given: str
    file: str
    sheet: str | None
    fmt: str
    headers: dict[str, str]  # every column id -> header as written here (the spec's header where absent)
    present: frozenset[str]  # column ids the sheet has
    data: dict[str, object]  # column id -> raw values of the data rows (np.ndarray or pd.Series)
    rows: np.ndarray  # Excel row / CSV line of each data row


@dataclass
class _Piece:
    """The records one sheet or file contributes to an assembled table (blank rows dropped)."""

    given: str
    file: str
    sheet: str | None
    headers: dict[str, str]
    present: frozenset[str]
    rows: np.ndarray


@dataclass
class _Note:
    key: tuple
    given: str
    file: str
    sheet: str | None
    column: str | None
    count: int
    message: str  # may contain {n}: the count


def _cell(col, r: int):
    return col[r] if isinstance(col, np.ndarray) else col.iloc[r]


def _slice(col, a: int, b: int | None = None):
    return col[a:b] if isinstance(col, np.ndarray) else col.iloc[a:b]


def _any_value(col) -> bool:
    return bool(pd.notna(col).any()) if isinstance(col, np.ndarray) else bool(col.notna().any())


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


def _as_series(values, n: int) -> pd.Series:
    if values is None:
        return pd.Series(np.full(n, None, dtype=object), dtype=object)
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(values, dtype=object)


def _raw_column(parts: list[_Part], cid: str) -> pd.Series:
    """One column of a table: the raw values of every sheet in order (None where a sheet lacks it)."""
    if len(parts) == 1:
        return _as_series(parts[0].data.get(cid), len(parts[0].rows))
    values = [p.data.get(cid) for p in parts]
    if all(v is None or isinstance(v, np.ndarray) for v in values):  # workbooks: plain object arrays
        return pd.Series(np.concatenate(
            [v if v is not None else np.full(len(p.rows), None, dtype=object) for p, v in zip(parts, values)]
        ), dtype=object)
    series = [_as_series(v, len(p.rows)) for p, v in zip(parts, values) if len(p.rows)]
    if not series:
        return pd.Series([], dtype=object)
    if len({str(s.dtype) for s in series}) > 1:
        series = [s.astype(object) for s in series]
    return pd.concat(series, ignore_index=True)


def _empty_column(dtype: str, n: int) -> pd.Series:
    if dtype == "object":
        return pd.Series(np.full(n, None, dtype=object), index=pd.RangeIndex(n), dtype=object)
    return pd.Series(index=pd.RangeIndex(n), dtype=dtype)


class _Reader:
    def __init__(self, specs: dict[str, Table]):
        self.specs = specs
        self.problems: list[Problem] = []
        self.owners: list[str | None] = []  # per problem: the branch it is attributed to (lenient mode)
        # problems located in records of assembled tables, emitted by flush() once every table is known
        # (attributing a record to a branch may need another table: a member's branch)
        self.pending: list[tuple[str, np.ndarray, str, str, Callable[[_Piece, int], str]]] = []
        self.notes: list[_Note] = []
        self.sources: list[str] = []
        self.parts: dict[str, list[_Part]] = {}  # table id -> sheets and files, in reading order
        self.pieces: dict[str, list[_Piece]] = {}  # the same after assembly
        self.offsets: dict[str, np.ndarray] = {}  # table id -> start of each piece in the assembled table
        self.by_name: dict[str, str] = {}
        for t in specs.values():
            self.by_name.setdefault(_key(t.sheet), t.id)
            self.by_name.setdefault(_key(t.id), t.id)
        self.lookups: dict[str, dict[str, str]] = {}
        for t in specs.values():
            lk: dict[str, str] = {}
            for c in t.columns:
                lk.setdefault(_key(c.header), c.id)
                lk.setdefault(_key(c.id), c.id)
            self.lookups[t.id] = lk
        self.seen: set[str] = set()  # tables some sheet or file was found for, readable or not

    # -- problems and notes ------------------------------------------------------------------------

    def problem(self, file: str, sheet: str | None, row: int | None, column: str | None, message: str,
                owner: str | None = None) -> None:
        self.problems.append(Problem(file, sheet, row, column, message))
        self.owners.append(owner)

    def emit(self, file: str, sheet: str | None, column: str | None, rows: np.ndarray, positions: np.ndarray,
             label: str, message: Callable[[int], str], owner: str | None = None) -> None:
        """Problems for the cells at ``positions`` (in row order): the first MAX_LISTED, then one summary."""
        for p in positions[:MAX_LISTED]:
            self.problem(file, sheet, int(rows[p]), column, message(int(p)), owner)
        rest = len(positions) - MAX_LISTED
        if rest > 0:
            at = int(rows[positions[MAX_LISTED]])
            self.problem(file, sheet, at, column, f"…该列另有{rest}处同类问题（{label}，自本行起未逐一列出）", owner)

    def per_piece(self, tid: str, mask: np.ndarray):
        """(piece, start, positions within the piece) for every piece with a True in ``mask``."""
        starts = self.offsets[tid]
        pieces = self.pieces[tid]
        ends = starts + np.array([len(p.rows) for p in pieces], dtype="int64")
        cum = np.concatenate([[0], np.cumsum(mask, dtype="int64")])
        for k in np.flatnonzero(cum[ends] - cum[starts]):
            a = int(starts[k])
            yield pieces[k], a, np.flatnonzero(mask[a:int(ends[k])])

    def emit_rows(self, tid: str, mask: np.ndarray, column: str, label: str,
                  message: Callable[[_Piece, int], str]) -> None:
        """Problems for records of an assembled table (``mask`` over its rows), located and capped per
        contributing sheet; emitted by :meth:`flush`."""
        self.pending.append((tid, mask, column, label, message))

    def flush(self, owners: dict[str, np.ndarray] | None) -> None:
        """Emit the pending record problems. With ``owners`` (per table, the branch of each record or None,
        see :meth:`row_branches`) each problem is attributed to its record's branch and the cap applies per
        sheet, column and branch; without, per sheet and column."""
        for tid, mask, column, label, message in self.pending:
            for p, a, pos in self.per_piece(tid, mask):
                def at(i: int, p=p, a=a) -> str:
                    return message(p, a + i)

                if owners is None:
                    self.emit(p.file, p.sheet, p.headers[column], p.rows, pos, label, at)
                    continue
                codes, branches = pd.factorize(owners[tid][a + pos], use_na_sentinel=True)
                order = np.argsort(codes, kind="stable")
                bounds = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1], True])
                for lo, hi in zip(bounds[:-1], bounds[1:]):  # one group per branch with problems here
                    code = int(codes[order[lo]])
                    self.emit(p.file, p.sheet, p.headers[column], p.rows, pos[order[lo:hi]], label, at,
                              None if code < 0 else branches[code])
        self.pending = []

    def note(self, kind: str, given: str, file: str, sheet: str | None, column: str | None, message: str,
             count: int = 1, table: str | None = None) -> None:
        key = (given, table or sheet or file, sheet, column, kind)
        self.notes.append(_Note(key, given, file, sheet, column, count, message))

    def final_notes(self) -> list[Problem]:
        """One note per (input, table, column, kind); the same note from many files of a folder is merged."""
        groups: dict[tuple, list[_Note]] = {}
        for n in self.notes:
            groups.setdefault(n.key, []).append(n)
        out = []
        for group in groups.values():
            first = group[0]
            files = list(dict.fromkeys(n.file for n in group))
            text = first.message.format(n=sum(n.count for n in group))
            if len(files) == 1:
                out.append(Problem(first.file, first.sheet, None, first.column, text))
            else:
                out.append(Problem(first.given, first.sheet, None, first.column,
                                   f"{text}（涉及{len(files)}个文件，如 {Path(files[0]).name}）"))
        return sorted(out, key=Problem.sort_key)

    # -- sources -----------------------------------------------------------------------------------

    def add_path(self, p: Path) -> None:
        given = str(p)
        if not p.exists():
            raise UsageError(f"找不到输入：{given}")
        if p.is_dir():
            readable = 0
            for q in sorted(p.iterdir(), key=lambda q: q.name):
                if q.name.startswith("~$"):  # the lock file Excel/WPS keep beside a workbook while it is open
                    self.note("lock_file", given, str(q), None, None,
                              f"「{q.name}」是 Excel 打开工作簿时生成的临时文件，已跳过"
                              "（对应的工作簿可能仍在编辑中，请确认已保存）")
                    continue
                if _is_hidden(q):
                    kind = "文件夹" if q.is_dir() else "文件"
                    self.note("hidden", given, str(q), None, None, f"「{q.name}」是隐藏或系统{kind}，已跳过")
                    continue
                if q.is_dir():
                    self.note("subdir", given, str(q), None, None, "子文件夹中的文件未读取")
                    continue
                fmt = self.format_of(q)
                if fmt is None:
                    self.note("other_file", given, str(q), None, None, f"「{q.name}」不是工作簿，已跳过")
                    continue
                readable += 1
                self.read_file(given, q, str(q), fmt, in_folder=True)
            if not readable:
                self.problem(given, None, None, None, "文件夹中没有可读取的数据文件（.xlsx、.xlsm、.csv、.parquet）")
            return
        fmt = self.format_of(p)
        if fmt is None:
            raise UsageError(f"无法识别的输入文件：{given}（应为 .xlsx/.xlsm 工作簿、CSV 或 Parquet 文件，或包含它们的文件夹）")
        self.read_file(given, p, given, fmt, in_folder=False)

    @staticmethod
    def format_of(p: Path) -> str | None:
        suffix = p.suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            return "excel"
        if suffix in CSV_SUFFIXES:
            return "csv"
        if suffix in PARQUET_SUFFIXES:
            return "parquet"
        return None

    def read_file(self, given: str, path: Path, file: str, fmt: str, in_folder: bool) -> None:
        if fmt == "excel":
            self.sources.append(file)
            self.read_workbook(given, path, file)
            return
        tid = self.by_name.get(_key(path.stem))
        if tid is None:
            if in_folder:
                self.note("unknown_file", given, file, None, None, "文件名不是已知的表名，已忽略")
            else:
                known = "、".join(f"{t.id}.csv / {t.sheet}.csv" for t in list(self.specs.values())[:3])
                self.problem(file, None, None, None, f"无法根据文件名判断是哪张表（文件名应为表名，如 {known} 等）")
            return
        table = self.specs[tid]
        self.sources.append(file)
        try:
            if fmt == "csv":
                columns, encoding = _read_csv(path)
                header = None
            else:
                frame = pd.read_parquet(path).reset_index(drop=True)
                columns, encoding = [frame.iloc[:, j] for j in range(frame.shape[1])], None
                header = list(frame.columns)
        except Exception as e:  # unreadable or damaged file: the user's data, reported like any problem
            self.problem(file, None, None, None, f"无法读取文件：{type(e).__name__}: {e}")
            self.seen.add(tid)
            return
        if encoding == "gb18030":
            self.note("encoding", given, file, None, None, "文件不是 UTF-8 编码，已按 GB18030 读取", table=tid)
        self.add_grid(_Grid(given, file, None, table, columns, fmt, header=header))

    def read_workbook(self, given: str, path: Path, file: str) -> None:
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as e:  # not a workbook, damaged, password protected
            self.problem(file, None, None, None, f"无法打开工作簿：{_why_unreadable(path, e)}")
            return
        try:
            for meta in wb.sheets_metadata:
                name = meta.name
                if meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                tid = self.table_of_sheet(given, file, name)
                try:
                    sheet = wb.get_sheet_by_name(name)
                    if tid is None:
                        if meta.visible == SheetVisibleEnum.Visible and _key(name) not in IGNORED_SHEETS \
                                and sheet.start is not None:
                            self.note("unknown_sheet", given, file, name, None, "不是已知的工作表，已忽略")
                        continue
                    rows = sheet.to_python(skip_empty_area=False)
                except Exception as e:
                    self.problem(file, name, None, None, f"无法读取工作表：{type(e).__name__}: {e}")
                    if tid is not None:
                        self.seen.add(tid)
                    continue
                self.add_grid(_Grid(given, file, name, self.specs[tid], _rows_to_columns(rows), "excel"))
        finally:
            wb.close()

    def table_of_sheet(self, given: str, file: str, name: str) -> str | None:
        key = _key(name)
        tid = self.by_name.get(key)
        if tid is None:
            m = _CONTINUATION_RE.match(key)
            tid = self.by_name.get(m.group(1)) if m else None
            if tid is not None:
                self.note("continued_sheet", given, file, name, None,
                          f"作为「{self.specs[tid].sheet}」的续表读取", table=tid)
        return tid

    # -- one sheet: header, columns, raw data rows -------------------------------------------------

    def locate_header(self, g: _Grid) -> int | None:
        """Index of the header row: the first of the first rows that names at least half of the
        table's columns, else the one naming the most; None when no row names any."""
        lookup = self.lookups[g.table.id]
        nrows = len(g.columns[0]) if g.columns else 0
        best, best_count = None, 0
        for r in range(min(HEADER_SCAN_ROWS, nrows)):
            ids = {lookup[k] for k in (_key(_cell(col, r)) for col in g.columns) if k in lookup}
            if 2 * len(ids) >= len(g.table.columns):
                return r
            if len(ids) > best_count:
                best, best_count = r, len(ids)
        return best

    def add_grid(self, g: _Grid) -> None:
        spec = g.table
        self.seen.add(spec.id)
        where = (g.file, g.sheet)
        if g.header is not None:  # Parquet: names are the header, every row is data
            header_cells, h = list(g.header), None
            data = g.columns
            first_row = 2
        else:
            if not any(_any_value(col) for col in g.columns):  # an empty sheet: the table has no records
                self.add_part(g, {}, {}, np.zeros(0, dtype="int64"))
                return
            h = self.locate_header(g)
            if h is None:
                shown = "、".join(f"「{c.header}」" for c in spec.columns[:4])
                self.problem(*where, None, None, f"前{HEADER_SCAN_ROWS}行中找不到表头（表头应包含{shown}等列）")
                return
            header_cells = [_cell(col, h) for col in g.columns]
            data = [_slice(col, h + 1) for col in g.columns]
            first_row = h + 2
            if h > 0 and any(_any_value(_slice(col, 0, h)) for col in g.columns):
                self.note("title_rows", g.given, g.file, g.sheet, None,
                          f"表头在第{h + 1}行，上方的标题行已跳过", table=spec.id)

        lookup = self.lookups[spec.id]
        mapping: dict[str, int] = {}
        headers: dict[str, str] = {}
        header_row = h + 1 if h is not None else 1
        for j, cell in enumerate(header_cells):
            k = _key(cell)
            cid = lookup.get(k)
            letter = _column_letter(j) if g.fmt == "excel" else str(j + 1)
            if cid is None:
                if k:
                    self.note("unknown_column", g.given, g.file, g.sheet, _header_text(cell),
                              "不是该表的列，已忽略", table=spec.id)
                elif j < len(data) and _has_content(data[j]):
                    self.note("unnamed_column", g.given, g.file, g.sheet, None,
                              f"第{letter}列没有表头，其中的内容已忽略", table=spec.id)
                continue
            text = _header_text(cell)
            if cid in mapping:
                before = mapping[cid]
                other = _column_letter(before) if g.fmt == "excel" else str(before + 1)
                self.problem(*where, header_row, text,
                             f"「{text}」列重复出现（第{other}列和第{letter}列），无法确定使用哪一列")
                continue
            mapping[cid] = j
            headers[cid] = text
        for c in spec.columns:
            if c.id not in mapping and c.required:
                self.problem(*where, None, c.header, f"缺少必填列「{c.header}」")
        nrows = len(data[0]) if data else 0
        rows = np.arange(first_row, first_row + nrows, dtype="int64")
        self.add_part(g, {cid: data[j] for cid, j in mapping.items()}, headers, rows)

    def add_part(self, g: _Grid, data: dict[str, object], headers: dict[str, str], rows: np.ndarray) -> None:
        spec = g.table
        self.parts.setdefault(spec.id, []).append(_Part(
            g.given, g.file, g.sheet, g.fmt,
            headers={c.id: headers.get(c.id, c.header) for c in spec.columns},
            present=frozenset(data), data=data, rows=rows,
        ))

    # -- tables: convert every sheet of a table at once --------------------------------------------

    def assemble(self) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        tables: dict[str, pd.DataFrame] = {}
        origins: dict[str, pd.DataFrame] = {}
        for tid, parts in self.parts.items():
            tables[tid], origins[tid] = self.build(tid, parts)
        return tables, origins

    def build(self, tid: str, parts: list[_Part]) -> tuple[pd.DataFrame, pd.DataFrame]:
        spec = self.specs[tid]
        sizes = np.array([len(p.rows) for p in parts], dtype="int64")
        owner = np.repeat(np.arange(len(parts)), sizes)
        rows = np.concatenate([p.rows for p in parts]).astype("int64")
        cells = {c.id: _split(_raw_column(parts, c.id)) for c in spec.columns
                 if any(c.id in p.present for p in parts)}
        blank = np.logical_and.reduce([c.empty for c in cells.values()]) if cells else np.ones(len(rows), bool)
        if blank.any():  # fully empty rows (often trailing ones Excel keeps formatted) are dropped
            keep = ~blank
            cells = {cid: c.take(keep) for cid, c in cells.items()}
            owner, rows = owner[keep], rows[keep]
        n = len(rows)
        counts = np.bincount(owner, minlength=len(parts))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64")
        self.pieces[tid] = [_Piece(p.given, p.file, p.sheet, p.headers, p.present, rows[a:a + k])
                            for p, a, k in zip(parts, starts, counts)]
        self.offsets[tid] = starts
        excel = np.array([p.fmt == "excel" for p in parts], dtype=bool)[owner]

        out: dict[str, pd.Series] = {}
        for col in spec.columns:
            c = cells.get(col.id)
            if c is None:
                out[col.id] = _empty_column(DTYPES[col.dtype], n)
                continue
            conv = _convert(c, col, excel)
            bad = np.zeros(n, dtype=bool)
            for issue in conv.issues:
                bad |= issue.mask
                self.emit_rows(tid, issue.mask, col.id, issue.label,
                               lambda p, i, m=issue.message, c=c, cid=col.id:
                                   m(p.headers[cid], _display(c.raw.iloc[i])))
            for fix in conv.fixes:
                for p, a, pos in self.per_piece(tid, fix.mask):
                    example = fix.example(a + int(pos[0])).replace("{", "{{").replace("}", "}}")
                    self.note(fix.kind, p.given, p.file, p.sheet, p.headers[col.id],
                              fix.message.format(n="{n}", ex=example), count=len(pos), table=tid)
            if col.required:
                has_column = np.array([col.id in p.present for p in parts], dtype=bool)[owner]
                empty = c.empty & ~bad & has_column
                if empty.any():
                    self.emit_rows(tid, empty, col.id, "必填项为空",
                                   lambda p, i, cid=col.id: f"「{p.headers[cid]}」为必填项，不能为空")
            out[col.id] = pd.Series(conv.values, index=pd.RangeIndex(n), dtype=DTYPES[col.dtype])
        frame = pd.DataFrame(out, index=pd.RangeIndex(n), columns=list(spec.column_ids))
        for col in spec.columns:  # keep object columns object (pandas would infer its "str" dtype)
            if frame[col.id].dtype != DTYPES[col.dtype]:
                frame[col.id] = frame[col.id].astype(DTYPES[col.dtype])

        file_codes, files = pd.factorize(np.array([p.file for p in parts], dtype=object))
        sheet_codes, sheets = pd.factorize(np.array([p.sheet for p in parts], dtype=object), use_na_sentinel=True)
        origin = pd.DataFrame({
            "file": pd.Categorical.from_codes(file_codes[owner], categories=list(files)),
            "sheet": pd.Categorical.from_codes(sheet_codes[owner], categories=list(sheets)),
            "row": rows,
        }, index=frame.index)
        return frame, origin

    # -- integrity across records and tables -------------------------------------------------------

    def locate(self, tid: str, i: int) -> tuple[_Piece, int]:
        """The sheet and row a record of an assembled table came from."""
        k = int(np.searchsorted(self.offsets[tid], i, side="right")) - 1
        while len(self.pieces[tid][k].rows) == 0:  # pieces without records share their start
            k -= 1
        p = self.pieces[tid][k]
        return p, int(p.rows[i - self.offsets[tid][k]])


    def check_keys(self, tables: dict[str, pd.DataFrame]) -> None:
        for tid, frame in tables.items():
            key = list(self.specs[tid].key)
            if not len(frame):
                continue
            if not key:
                self.note_identical_rows(tid, frame)
                continue
            sub = frame[key]
            complete = sub.notna().all(axis=1).to_numpy()
            dup = sub.duplicated(keep=False).to_numpy() & complete
            if not dup.any():
                continue
            pos = np.flatnonzero(dup)
            group = sub.iloc[pos].groupby(key, sort=False, dropna=False).ngroup().to_numpy()
            order = np.lexsort((pos, group))
            g_sorted, p_sorted = group[order], pos[order]
            starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
            first = np.empty(group.max() + 1, dtype="int64")
            second = np.empty(group.max() + 1, dtype="int64")
            first[g_sorted[starts]] = p_sorted[starts]
            second[g_sorted[starts]] = p_sorted[starts + 1]
            other = np.full(len(frame), -1, dtype="int64")
            other[pos] = np.where(pos == first[group], second[group], first[group])

            def message(p: _Piece, i: int, frame=frame, key=key, other=other, tid=tid) -> str:
                shown = "、".join(f"{p.headers[k]}「{_display(frame[k].iat[i])}」" for k in key)
                q, row = self.locate(tid, int(other[i]))
                if (q.file, q.sheet) == (p.file, p.sheet):
                    where = f"第{row}行"
                elif q.file == p.file and q.sheet:
                    where = f"工作表「{q.sheet}」第{row}行"
                else:  # another file: named, with its sheet where that is not the same sheet name
                    sheet = f"工作表「{q.sheet}」" if q.sheet and q.sheet != p.sheet else ""
                    where = f"「{_file_names(p.file, q.file)[1]}」{sheet}第{row}行"
                return f"{shown}重复（另见{where}）"

            self.emit_rows(tid, dup, key[0], "重复", message)

    def note_identical_rows(self, tid: str, frame: pd.DataFrame) -> None:
        """A table without a key (meetings, training...) may hold the same record twice, for example
        when two workbooks both contain it; that is not an error, but it is counted twice, so say so."""
        again = frame.duplicated(keep="first").to_numpy()
        if not again.any():
            return
        for p, a, pos in self.per_piece(tid, again):
            self.note("identical_rows", p.given, p.file, p.sheet, None,
                      f"{{n}}行与本表其他行内容完全相同（如第{int(p.rows[pos[0]])}行），将分别计入，请确认不是重复录入",
                      count=len(pos), table=tid)

    def check_references(self, tables: dict[str, pd.DataFrame]) -> None:
        for tid, frame in tables.items():
            spec = self.specs[tid]
            for fk in spec.foreign_keys:
                target = self.specs.get(fk.table)
                if target is None:
                    continue
                if fk.table not in tables:
                    if fk.table == tid:
                        continue
                    for p in self.pieces[tid]:
                        self.note("unchecked", p.given, p.file, p.sheet, p.headers[fk.column],
                                  f"没有「{target.sheet}」，未核对{p.headers[fk.column]}", table=tid)
                    continue
                tframe = tables[fk.table]
                ref = tframe[tframe[fk.target].notna()].drop_duplicates(subset=[fk.target])
                index = pd.Index(ref[fk.target].to_numpy(dtype=object), dtype=object)
                values = frame[fk.column]
                at = index.get_indexer(values.to_numpy(dtype=object))  # row of the referenced record, -1 if none
                missing = values.notna().to_numpy() & (at < 0)
                if missing.any():
                    self.emit_rows(
                        tid, missing, fk.column, "不存在",
                        lambda p, i, v=values, t=target, c=fk.column:
                            f"{p.headers[c]}「{_display(v.iat[i])}」在「{t.sheet}」中不存在")
                self.check_consistency(tid, frame, fk, ref, at)

    def check_consistency(self, tid: str, frame: pd.DataFrame, fk, ref: pd.DataFrame, at: np.ndarray) -> None:
        """A record pointing to a record of another table (a member) must agree with it on the references
        both have (the member's branch). ``ref`` holds the referenced records, ``at`` the position in
        ``ref`` of each record's reference (-1 when it does not exist)."""
        spec, target = self.specs[tid], self.specs[fk.table]
        found = at >= 0
        for other in spec.foreign_keys:
            if other is fk:
                continue
            for tfk in target.foreign_keys:
                if (tfk.table, tfk.target) != (other.table, other.target) or tfk.column == fk.target:
                    continue
                shared = ref[tfk.column].to_numpy(dtype=object)
                expected = np.full(len(frame), None, dtype=object)
                expected[found] = shared[at[found]]
                actual = frame[other.column].to_numpy(dtype=object)
                differs = found & pd.notna(expected) & pd.notna(actual) & (expected != actual)
                if not differs.any():
                    continue
                theader = target.column(tfk.column).header

                def message(p: _Piece, i: int, expected=expected, actual=actual, theader=theader, other=other) -> str:
                    return (f"{p.headers[fk.column]}「{_display(frame[fk.column].iat[i])}」在「{target.sheet}」中的"
                            f"{theader}是「{_display(expected[i])}」，与本行{p.headers[other.column]}"
                            f"「{_display(actual[i])}」不一致")

                self.emit_rows(tid, differs, other.column, "与名册不一致", message)

    def check_needed(self, wanted: set[str], tables: dict[str, pd.DataFrame], paths: list[Path]) -> None:
        file = "、".join(str(p) for p in paths)
        folder = any(p.is_dir() for p in paths)
        for tid in sorted(wanted, key=lambda t: list(self.specs).index(t)):
            if tid in self.seen:
                continue
            spec = self.specs[tid]
            hint = f"（或文件夹中的 {spec.id}.csv / {spec.sheet}.csv）" if folder else ""
            self.problem(file, None, None, None, f"缺少工作表「{spec.sheet}」{hint}")

    # -- merging many workbooks: conflicts and branches without records -----------------------------

    def check_conflicts(self, tables: dict[str, pd.DataFrame], origins: dict[str, pd.DataFrame]) -> None:
        """One branch's records of one table must come from one file. The branch's own file comes first:
        the one holding its 支部信息 row when that file has such records, else the first file read; every
        further file is a problem at the branch's first record there. (支部信息 itself reports the same
        branch in two files as a duplicate 支部编码.)"""
        home = pd.Series(dtype=object)  # branch -> the file holding its 支部信息 row
        if "branches" in tables and len(tables["branches"]):
            ids = tables["branches"]["branch_id"]
            home = pd.Series(origins["branches"]["file"].astype(object).to_numpy(), index=ids.to_numpy(dtype=object))
            home = home[ids.notna().to_numpy() & ~ids.duplicated().to_numpy()]
        for tid, frame in tables.items():
            column = _branch_column(self.specs[tid])
            if tid == "branches" or column is None or not len(frame):
                continue
            files = origins[tid]["file"]
            codes = files.cat.codes.to_numpy()
            if (codes == codes[0]).all():  # one file (a county workbook): nothing to merge
                continue
            branch = frame[column]
            b, _ = pd.factorize(branch.to_numpy(dtype=object), use_na_sentinel=True)
            width = int(codes.max()) + 1
            pair = np.unique(b[b >= 0].astype("int64") * width + codes[b >= 0])  # distinct (branch, file)
            if not (np.bincount(pair // width) > 1).any():  # every branch from one file: the usual case
                continue
            pairs = pd.DataFrame({"branch": branch.to_numpy(dtype=object), "file": codes})[b >= 0]
            firsts = pairs.drop_duplicates(["branch", "file"])  # first record of a branch in a file, in order
            names = np.asarray(files.cat.categories, dtype=object)
            at_home = names[firsts["file"].to_numpy()] == home.reindex(firsts["branch"].to_numpy()).to_numpy()
            firsts = firsts.iloc[np.lexsort((np.arange(len(firsts)), ~at_home))]  # the own file first
            extra = firsts.duplicated("branch").to_numpy()
            first_file = firsts[~extra].set_index("branch")["file"]
            mask = np.zeros(len(frame), dtype=bool)
            mask[firsts.index[extra]] = True
            sheet = self.specs[tid].sheet

            def message(p: _Piece, i: int, branch=branch, first_file=first_file, names=names, sheet=sheet) -> str:
                b = branch.iat[i]
                one, two = _file_names(names[first_file.loc[b]], p.file)
                return f"支部「{_display(b)}」的「{sheet}」同时出现在「{one}」和「{two}」中，请核对后只保留一份"

            self.emit_rows(tid, mask, column, "同一支部的记录来自多个文件", message)

    def check_branches_have_records(self, tables: dict[str, pd.DataFrame]) -> None:
        """A branch of 支部信息 without a single record in any other table read: its workbook is missing.
        Not checked when 支部信息 is the only table read."""
        branches = tables.get("branches")
        others = [(tid, c) for tid in tables if tid != "branches" and (c := _branch_column(self.specs[tid]))]
        if branches is None or not len(branches) or not others:
            return
        ids = branches["branch_id"]
        known = pd.Index(ids.dropna().unique(), dtype=object)
        seen = np.zeros(len(known), dtype=bool)
        for tid, column in others:  # the roster (党员名册) usually names every branch: stop once all are seen
            at = known.get_indexer(tables[tid][column].unique())
            seen[at[at >= 0]] = True
            if seen.all():
                return
        lonely = ids.isin(known[~seen]).to_numpy()
        sheet = self.specs["branches"].sheet

        def message(p: _Piece, i: int, ids=ids, names=branches["name"], sheet=sheet) -> str:
            shown = " ".join(_display(v) for v in (ids.iat[i], names.iat[i]) if not _is_missing(v))
            return f"支部「{shown}」在「{sheet}」中，但没有任何记录（未收到该支部的工作簿？）"

        self.emit_rows("branches", lonely, "branch_id", "没有任何记录", message)

    # -- lenient mode: problems per branch, branches left out ----------------------------------------

    def row_branches(self, tables: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
        """Per table, the branch each record belongs to (object array, None where it belongs to none):
        its own 支部编码 when 支部信息 lists it, else the branch of the record it references (a member's
        branch for 党费交纳), else None."""
        branches = tables.get("branches")
        known = pd.Index(branches["branch_id"].dropna().unique() if branches is not None else [], dtype=object)
        out: dict[str, np.ndarray] = {}
        for tid, frame in tables.items():
            spec = self.specs[tid]
            owner = np.full(len(frame), None, dtype=object)
            for fk in spec.foreign_keys:  # through a referenced record: the member's branch
                ref = tables.get(fk.table)
                through = _branch_column(self.specs[fk.table]) if fk.table in self.specs else None
                if fk.table in ("branches", tid) or ref is None or through is None:
                    continue
                ref = ref[ref[fk.target].notna()].drop_duplicates(subset=[fk.target])
                if not len(ref):
                    continue
                at = pd.Index(ref[fk.target].to_numpy(dtype=object), dtype=object).get_indexer(
                    frame[fk.column].to_numpy(dtype=object))
                via = np.where(at >= 0, ref[through].to_numpy(dtype=object)[np.maximum(at, 0)], None)
                ok = (known.get_indexer(via) >= 0) & pd.isna(owner)
                owner[ok] = via[ok]
            column = _branch_column(spec)
            if column is not None:  # the record's own 支部编码 comes first
                own = frame[column].to_numpy(dtype=object)
                ok = known.get_indexer(own) >= 0
                owner[ok] = own[ok]
            out[tid] = owner
        return out

    def exclude(self, tables: dict[str, pd.DataFrame], origins: dict[str, pd.DataFrame],
                owners: dict[str, np.ndarray]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], pd.DataFrame]:
        """Remove every record of the branches problems were attributed to; return the remaining tables and
        origins (renumbered from 0) and the excluded branches with their reasons."""
        pairs = sorted(set(zip(self.problems, self.owners)), key=lambda pb: pb[0].sort_key())
        texts = pd.DataFrame({"branch_id": [b for _, b in pairs], "text": [str(p) for p, _ in pairs]}, dtype=object)
        reasons = texts.groupby("branch_id", sort=False)["text"].agg("；".join)
        branches = tables["branches"]
        listed = branches[branches["branch_id"].isin(reasons.index)].drop_duplicates("branch_id")
        excluded = pd.DataFrame({
            **{c: listed[c].to_numpy(dtype=object) for c in EXCLUDED_COLUMNS if c != "reasons"},
            "reasons": reasons.reindex(listed["branch_id"]).to_numpy(dtype=object),
        }, columns=list(EXCLUDED_COLUMNS), dtype=object)
        gone = pd.Index(reasons.index, dtype=object)
        kept_tables: dict[str, pd.DataFrame] = {}
        kept_origins: dict[str, pd.DataFrame] = {}
        for tid, frame in tables.items():
            keep = ~pd.Index(owners[tid], dtype=object).isin(gone)
            kept_tables[tid] = frame[keep].reset_index(drop=True)
            kept_origins[tid] = origins[tid][keep].reset_index(drop=True)
        return kept_tables, kept_origins, excluded


_HIDDEN_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})  # system files users do not see
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound document: .xls, or an encrypted .xlsx


def _is_hidden(p: Path) -> bool:
    """Hidden by name (".DS_Store", "._x.xlsx" from a Mac), a known system file, or hidden on Windows."""
    if p.name.startswith(".") or p.name.lower() in _HIDDEN_NAMES:
        return True
    try:
        return bool(getattr(p.stat(), "st_file_attributes", 0) & 2)  # FILE_ATTRIBUTE_HIDDEN
    except OSError:
        return False


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


def _branch_column(spec: Table) -> str | None:
    """The column holding a record's own 支部编码: the key of 支部信息, or a reference to it."""
    if spec.id == "branches":
        return "branch_id"
    for fk in spec.foreign_keys:
        if fk.table == "branches" and fk.target == "branch_id":
            return fk.column
    return None


def _file_names(first: str, second: str) -> tuple[str, str]:
    """Two files as messages name them: by file name, by full path where the names alone are equal."""
    a, b = Path(first).name, Path(second).name
    return (a, b) if a != b else (first, second)


def _has_content(col) -> bool:
    return _any_value(col) and not _split(_as_series(col, len(col))).empty.all()
