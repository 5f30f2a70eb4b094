"""Conversion per dtype, vectorized over whole columns (every sheet of a table at once).

Text is parsed once per distinct value (dates, months, booleans and numbers repeat a lot). Each
conversion returns the typed values, the cells that could not be read (issues, each with its problem
code) and the cells that were corrected and accepted (fixes, summarized as notes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataNote, DataProblem, PluginError
from ..tables import Column
from .cells import _Cells, _union, _years_ok
from .intake import factored
from .text import _allowed, _display

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


def _by_unique(c: _Cells, parse: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Apply ``parse`` to the distinct values of the text part of ``c`` and spread the result back.

    ``parse`` receives a Series of distinct strings (RangeIndex) and returns a DataFrame with one row per
    input value. Rows without text carry an arbitrary parsed row: callers mask them out. Arrow text
    comes factorized (:attr:`_Cells.factors`); workbook text is factorized here.
    """
    codes, distinct = c.distinct()
    parsed = parse(distinct)
    out = parsed.take(np.maximum(codes, 0)) if len(parsed) else parsed.reindex(range(c.n))
    out.index = pd.RangeIndex(c.n)
    return out


def _nfkc(text: pd.Series) -> pd.Series:
    """NFKC-normalize (full-width digits, letters and punctuation to ASCII) only where needed."""
    wide = text.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False).astype(bool)
    if not wide.any():
        return text
    return text.where(~wide, text.str.normalize("NFKC"))


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


def _month_codes(dates: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, pd.Index]]:
    """datetime64 -> object array of "YYYY-MM" (None for NaT), formatted once per distinct month, and its
    (codes, uniques) as pd.factorize of it gives them (-1: empty; the distinct months are distinct
    "YYYY-MM" labels, in order of first appearance)."""
    months = dates.astype("datetime64[M]")
    codes, uniques = pd.factorize(months, use_na_sentinel=True)
    labels = np.array([str(u)[:7] for u in np.asarray(uniques, dtype="datetime64[M]")] + [None], dtype=object)
    return labels[np.where(codes < 0, len(uniques), codes)], factored(codes, labels[:-1])




@dataclass
class _Issue:
    """Cells of one column that could not be read."""

    code: DataProblem
    mask: np.ndarray
    label: str  # short name of the kind of problem, for the summary line
    message: Callable[[str, str], str]  # (header, display value) -> message


@dataclass
class _Fix:
    """Cells that were corrected and accepted, summarized in one note per sheet and column."""

    kind: DataNote
    mask: np.ndarray
    message: str  # with {n}: the number of cells, {ex}: an example
    example: Callable[[int], str]  # position -> example text


@dataclass
class _Converted:
    values: object  # array-like of the column's final dtype
    issues: list[_Issue] = field(default_factory=list)
    fixes: list[_Fix] = field(default_factory=list)
    # (codes, uniques) of ``values`` as pd.factorize gives them (-1: empty), where the conversion found
    # them anyway: the key and reference checks reuse them (Intake.factorize)
    codes: tuple[np.ndarray, pd.Index] | None = None


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


def _any(mask: np.ndarray | None) -> bool:
    """Some row of a mask that may be None (a part the column does not have: :attr:`_Cells.has_num`)."""
    return mask is not None and bool(mask.any())


def _shown_text(c: _Cells) -> Callable[[int], str]:
    return lambda i: _display(c.text.iloc[i])


def _convert_text(c: _Cells, col: Column) -> _Converted:
    out = np.full(c.n, None, dtype=object)
    text = c.text
    changed = c.spaced  # may be a read-only broadcast: combined below, not changed in place
    factors = c.factors
    if col.dtype == "enum":  # enumeration values never contain spaces: "国有 企业" is 国有企业
        # (Python's \s, which Arrow's regex engine does not have: matched once per distinct value)
        codes, distinct = c.distinct()
        spaced = distinct.str.contains(r"\s", regex=True).fillna(False).to_numpy(dtype=bool)
        if spaced.any():
            inner = np.append(spaced, False)[codes]
            compact = np.append(distinct.str.replace(r"\s+", "", regex=True).to_numpy(dtype=object), None)[codes]
            if isinstance(text.dtype, pd.CategoricalDtype):  # a categorical takes no value it does not list
                text = text.astype("str")
            text = text.where(~inner, pd.Series(compact, index=text.index, dtype="str"))
            changed = changed | inner
            factors = None  # the compacted values: factorized anew below
    if c.raw.dtype == object:  # workbooks: unchanged text keeps the original Python str objects
        has_text = text.notna().to_numpy()
        same = has_text & ~changed
        raw = c.raw.to_numpy(dtype=object)
        out[same] = raw[same]
        if changed.any():
            out[changed] = text[changed].to_numpy(dtype=object)
    else:  # Arrow text (CSV, Parquet): one Python str per distinct value, shared by its rows
        if factors is not None:
            codes, uniques = factors[0], factors[1].to_numpy(dtype=object)
        else:
            codes, uniques = pd.factorize(text, use_na_sentinel=True)
            uniques = np.asarray(uniques, dtype=object)
        if len(uniques):
            out = np.append(uniques, None)[codes]
    has_num = c.has_num
    if _any(has_num):
        v = c.num[has_num]
        whole = (np.mod(v, 1) == 0) & (np.abs(v) < 1e16)
        shown = pd.Series(v).astype(str).to_numpy(dtype=object)
        shown[whole] = v[whole].astype("int64").astype(str).astype(object)
        out[has_num] = shown
    has_date = c.has_date
    if _any(has_date):
        out[has_date] = pd.Series(c.when[has_date]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    has_flag = c.has_flag
    if _any(has_flag):
        out[has_flag] = np.where(c.flag[has_flag].to_numpy(dtype=bool), "是", "否").astype(object)
    odd = _union(c.n, c.other, c.oob)
    if odd.any():  # rare cells (a time of day in a text column): shown as the user sees them
        out[odd] = np.array([_display(v) for v in c.raw[odd]], dtype=object)
    res = _Converted(out)
    if col.dtype == "str" and c.raw.dtype != object and not (_any(has_num) or _any(has_date) or _any(has_flag)
                                                             or odd.any()):
        res.codes = factored(codes, uniques)
    if c.spaced.any():
        res.fixes.append(_Fix(DataNote.SPACES, c.spaced, "{n}处单元格首尾的空格已去除", _shown_text(c)))
    if col.dtype == "enum":
        allowed = pd.Series(out, dtype=object, copy=False).isin(col.values).to_numpy()
        bad = ~c.empty & ~allowed
        if bad.any():
            values = _allowed(col.values)
            res.issues.append(_Issue(DataProblem.BAD_ENUM, bad, "值不在允许范围内",
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
    bad = _union(c.n, c.other, c.oob, c.has_date, c.has_flag)
    fixes: list[_Fix] = []
    has_text = c.has_text
    if has_text.any():
        parsed = _by_unique(c, _parse_number_text)
        pv = parsed["value"].to_numpy(dtype="float64", na_value=np.nan)
        v[has_text] = pv[has_text]
        bad |= has_text & np.isnan(pv)
        fullwidth = parsed["fullwidth"].to_numpy(dtype=bool) & has_text
        thousands = parsed["thousands"].to_numpy(dtype=bool) & has_text
        if fullwidth.any():
            fixes.append(_Fix(DataNote.FULLWIDTH, fullwidth, "{n}处全角数字已转换为半角（如「{ex}」）", _shown_text(c)))
        if thousands.any():
            fixes.append(_Fix(DataNote.THOUSANDS, thousands, "{n}处数字中的千位分隔符已去除（如「{ex}」）", _shown_text(c)))
    present = ~np.isnan(v)
    bad |= present & ~np.isfinite(v)
    issues = []
    if bad.any():
        issues.append(_Issue(DataProblem.BAD_NUMBER, bad.copy(), "应为数字", lambda h, s: f"「{h}」应为数字，实际为「{s}」"))
    v[bad] = np.nan
    if integer:
        finite = np.isfinite(v)
        fv = np.where(finite, v, 0)
        fraction = finite & ((np.mod(fv, 1) != 0) | (np.abs(fv) > 2**53))
        if fraction.any():
            issues.append(_Issue(DataProblem.NOT_INTEGER, fraction, "应为整数", lambda h, s: f"「{h}」应为整数，实际为「{s}」"))
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
    bad = _union(c.n, c.other, c.oob, c.has_flag)
    fixes: list[_Fix] = []
    has_num = c.has_num
    if _any(has_num):
        compact = _yyyymmdd_to_datetime(c.num)
        got = np.where(np.isnat(compact), _serial_to_datetime(c.num), compact)
        when[has_num] = got[has_num]
        bad |= has_num & np.isnat(got)
        ok = has_num & ~np.isnat(got)
        if ok.any():
            fixes.append(_Fix(DataNote.NUMBER_DATE, ok, "{n}处数字已按日期识别（如「{ex}」）",
                              lambda i: f"{_display(c.num[i])}→{str(when[i])[:10]}"))
    has_text = c.has_text
    if has_text.any():
        parsed = _by_unique(c, _parse_date_text)
        got = parsed["when"].to_numpy(dtype="datetime64[ns]")
        when[has_text] = got[has_text]
        bad |= has_text & np.isnat(got)
        ok = has_text & ~np.isnat(got)
        serial = ok & parsed["serial"].to_numpy(dtype=bool)
        # in a workbook every text date is a correction (the cell should be a date); in CSV/Parquet text
        # is the only way to write a date, so only formats other than YYYY-MM-DD are worth a note
        noted = ok & ~serial & (excel | ~parsed["iso"].to_numpy(dtype=bool))
        if noted.any():
            fixes.append(_Fix(DataNote.TEXT_DATE, noted, "{n}处文本日期已识别为日期（如「{ex}」）", _shown_text(c)))
        if serial.any():
            fixes.append(_Fix(DataNote.NUMBER_DATE, serial, "{n}处数字已按日期识别（如「{ex}」）",
                              lambda i: f"{c.text.iloc[i]}→{str(when[i])[:10]}"))
    issues = []
    if bad.any():
        issues.append(_Issue(DataProblem.BAD_DATE, bad, "无法识别的日期", lambda h, s: f"无法识别的日期「{s}」"))
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
    bad = _union(c.n, c.other, c.oob, c.has_flag)
    has_num = c.has_num
    if c.factors is not None and not (bad.any() or _any(has_num) or _any(c.has_date)):
        return _convert_month_text(c)
    when = c.when.copy()
    fixes: list[_Fix] = []
    if _any(has_num):
        v = c.num
        whole = has_num & (np.mod(np.where(has_num, v, 0), 1) == 0)
        yyyymm = whole & (v >= 190001) & (v <= 226112)
        iv = np.where(yyyymm, v, 0).astype("int64")
        ym = _ymd_to_datetime(iv // 100, iv % 100, np.ones(len(iv))).to_numpy()
        got = np.where(yyyymm, ym, _serial_to_datetime(v))
        when[has_num] = got[has_num]
        bad |= has_num & np.isnat(got)
    has_text = c.has_text
    if has_text.any():
        parsed = _by_unique(c, _parse_month_text)
        got = parsed["when"].to_numpy(dtype="datetime64[ns]")
        when[has_text] = got[has_text]
        bad |= has_text & np.isnat(got)
        noted = has_text & ~np.isnat(got) & ~parsed["iso"].to_numpy(dtype=bool)
        if noted.any():
            fixes.append(_Fix(DataNote.MONTH_FORMAT, noted, "{n}处月份已统一为YYYY-MM格式（如「{ex}」）",
                              lambda i: f"{c.text.iloc[i]}→{str(when[i])[:7]}"))
    issues = []
    if bad.any():
        issues.append(_Issue(DataProblem.BAD_MONTH, bad, "无法识别的月份",
                             lambda h, s: f"无法识别的月份「{s}」（应写成 YYYY-MM，如 2025-01）"))
        when[bad] = np.datetime64("NaT")
    values, codes = _month_codes(when)
    return _Converted(values, issues, fixes, codes=codes)


def _convert_month_text(c: _Cells) -> _Converted:
    """:func:`_convert_month` of a column of Arrow text only: every step on the distinct texts (a
    province's 36M dues rows hold a few hundred), the rows taken by code at the end. The months' codes
    are in the order of their first row, as factorizing the rows gives them."""
    codes, distinct = c.factors
    parsed = _parse_month_text(distinct)
    when = parsed["when"].to_numpy(dtype="datetime64[ns]")
    _, (month_codes, months) = _month_codes(when)

    def spread(per_distinct: np.ndarray, empty) -> np.ndarray:  # to the rows (code -1: no text: ``empty``)
        return np.append(per_distinct, empty)[codes]

    fixes, issues = [], []
    noted = ~np.isnat(when) & ~parsed["iso"].to_numpy(dtype=bool)
    if noted.any():
        fixes.append(_Fix(DataNote.MONTH_FORMAT, spread(noted, False), "{n}处月份已统一为YYYY-MM格式（如「{ex}」）",
                          lambda i: f"{c.text.iloc[i]}→{str(when[codes[i]])[:7]}"))
    bad = np.isnat(when)
    if bad.any():
        issues.append(_Issue(DataProblem.BAD_MONTH, spread(bad, False), "无法识别的月份",
                             lambda h, s: f"无法识别的月份「{s}」（应写成 YYYY-MM，如 2025-01）"))
    row_codes = spread(month_codes, -1)
    values = np.append(np.asarray(months, dtype=object), None)[row_codes]
    return _Converted(values, issues, fixes, codes=factored(row_codes, months))


def _parse_bool_text(u: pd.Series) -> pd.DataFrame:
    words = _nfkc(u).str.replace(r"\s+", "", regex=True).str.lower()
    return pd.DataFrame({"flag": words.map(_BOOL_WORDS).astype("boolean")})


def _convert_bool(c: _Cells) -> _Converted:
    flag = c.flag.copy()
    bad = _union(c.n, c.other, c.oob, c.has_date)
    has_num = c.has_num
    if _any(has_num):
        ones, zeros = has_num & (c.num == 1), has_num & (c.num == 0)
        flag[ones] = True
        flag[zeros] = False
        bad |= has_num & ~(ones | zeros)
    has_text = c.has_text
    if has_text.any():
        parsed = _by_unique(c, _parse_bool_text)["flag"].astype("boolean")
        flag = flag.where(~has_text, parsed)
        bad |= has_text & parsed.isna().to_numpy()
    issues = []
    if bad.any():
        issues.append(_Issue(DataProblem.BAD_BOOL, bad, "应填是或否", lambda h, s: f"「{h}」应填「是」或「否」，实际为「{s}」"))
        flag[bad] = pd.NA
    return _Converted(flag.astype("boolean").array, issues)
