"""One raw column split by the kind of value in each cell (text, number, date, bool, other)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from .text import _WS

# Excel's error values, as calamine's scan (see limits.py) and CSV exports give them: a formula that
# could not be computed. What each means, for the message.
EXCEL_ERRORS = {
    "#N/A": "查找的值不存在", "#REF!": "引用的单元格已被删除", "#DIV/0!": "除数为0", "#VALUE!": "参与计算的值类型不对",
    "#NAME?": "公式中有无法识别的名称", "#NUM!": "数值无效", "#NULL!": "引用的区域不相交",
    "#SPILL!": "结果区域被占用", "#CALC!": "公式无法计算", "#GETTING_DATA": "数据尚未计算完成", "#错误": "公式出错",
}

_DATE_TYPES = (_dt.date, pd.Timestamp, np.datetime64)
_NUMBER_TYPES = (int, float, np.integer, np.floating)

# years representable at nanosecond precision (the Dataset's datetime64[ns])
_YEAR_MIN, _YEAR_MAX = 1678, 2261
_NS_PER_DAY = 86_400 * 10**9


def _years_ok(year: pd.Series | np.ndarray) -> np.ndarray:
    y = np.asarray(year, dtype="float64")
    return (y >= _YEAR_MIN) & (y <= _YEAR_MAX)


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
    error: np.ndarray  # bool: an Excel error value (#N/A, #REF!...), kept out of every other part
    # Arrow text (CSV, Parquet): the text part factorized, (codes, distinct): ``distinct`` the distinct
    # texts (stripped, "str" dtype, RangeIndex, no missing value), ``codes`` each row's position among
    # them, -1 where ``text`` is missing. None for workbooks (Python objects), where it is not kept.
    factors: tuple[np.ndarray, pd.Series] | None = None

    @property
    def n(self) -> int:
        return len(self.raw)

    def distinct(self) -> tuple[np.ndarray, pd.Series]:
        """The text part as (codes, distinct texts): :attr:`factors` for Arrow text, else factorized here
        (codes -1 where there is no text)."""
        if self.factors is not None:
            return self.factors
        codes, uniques = pd.factorize(self.text, use_na_sentinel=True)
        return codes, pd.Series(np.asarray(uniques, dtype=object), dtype="str")

    @property
    def has_text(self) -> np.ndarray:
        """Rows with text; a read-only broadcast of False for a column without text (numbers, dates)."""
        if self.factors is not None:
            return self.factors[0] >= 0
        if _all_missing(self.text):
            return np.broadcast_to(np.False_, (self.n,))
        return self.text.notna().to_numpy()

    # The parts a column does not have are read-only broadcasts of one missing value (see :func:`_split`):
    # the masks of the kinds below are None for them, so that a province's 36M dues rows are not tested
    # row by row for a kind none of them holds.
    @property
    def has_num(self) -> np.ndarray | None:
        """Rows with a number; None when the column has no number part."""
        return None if _broadcast(self.num) else ~np.isnan(self.num)

    @property
    def has_date(self) -> np.ndarray | None:
        return None if _broadcast(self.when) else ~np.isnat(self.when)

    @property
    def has_flag(self) -> np.ndarray | None:
        mask = self.flag.array._mask  # BooleanArray: True where missing
        return None if _broadcast(mask) else ~mask

    @cached_property
    def empty(self) -> np.ndarray:
        """Cells with no value of any kind: one pass per column for the kinds it holds, not seven."""
        filled = _union(self.n, self.has_text, self.has_num, self.has_date, self.has_flag, self.other, self.oob,
                        self.error)
        np.logical_not(filled, out=filled)
        return filled

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
            error=self.error[keep],
            factors=None if self.factors is None else (self.factors[0][keep], self.factors[1]),
        )


def _broadcast(a: np.ndarray) -> bool:
    """A read-only broadcast of one value (a part the column does not have), not values per row."""
    return a.ndim == 1 and len(a) > 1 and a.strides[0] == 0


def _all_missing(text: pd.Series) -> bool:
    """Whether an Arrow text part holds no text at all (told by its null count, not by a pass over it: the
    text part of a province's 36M dues amounts is all missing)."""
    arr = getattr(text.array, "_pa_array", None)
    return arr is not None and arr.null_count == len(arr)


def _union(n: int, *masks: np.ndarray | None) -> np.ndarray:
    """A new writable mask of ``n`` rows: the union of ``masks``, None and broadcasts left out."""
    out = None
    for m in masks:
        if m is None or _broadcast(m):
            continue
        if out is None:
            out = np.array(m, dtype=bool)  # a copy
        else:
            out |= m
    return np.zeros(n, dtype=bool) if out is None else out


def _no_flag(n: int) -> pd.Series:
    """A bool part with no value: ``n`` missing booleans, its values and mask broadcasts (no memory per row;
    copy=False: pandas 3 copies an array given to Series, which would make the broadcasts real)."""
    return pd.Series(pd.arrays.BooleanArray(np.broadcast_to(np.False_, (n,)), np.broadcast_to(np.True_, (n,))),
                     copy=False)


def _dates_from_any(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Date-like values to day-precision datetime64[ns]; also the mask of out-of-range ones."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":  # numpy dates (Parquet): in numpy
        v = values.to_numpy()  # in its own unit: a date past 2262 in seconds does not overflow here
        present = ~np.isnat(v)
        # years _YEAR_MIN.._YEAR_MAX, compared as instants (working out each date's year costs 3 s on 36M)
        ok = present & (v >= np.datetime64(f"{_YEAR_MIN}-01-01")) & (v < np.datetime64(f"{_YEAR_MAX + 1}-01-01"))
        if v.dtype == np.dtype("datetime64[ns]"):  # floored to the day in integers (np.mod: towards the past)
            i = v.view("int64")
            days = np.mod(i, _NS_PER_DAY)
            np.subtract(i, days, out=days)  # in place: one new array for 36M dates, not three
            days[~ok] = np.iinfo(np.int64).min  # NaT
            days = days.view("datetime64[ns]")
        else:
            days = np.where(ok, v, np.datetime64("NaT")).astype("datetime64[D]").astype("datetime64[ns]")
        return days, present & ~ok
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


def _split(s: pd.Series, no_text: pd.Series | None = None) -> _Cells:
    """``no_text``: :func:`_no_text` of the column's length, when the caller splits several columns of one
    length (a table): its Arrow null array (80 MB of offsets for 10 million rows) is then made once."""
    s = s.reset_index(drop=True)
    n = len(s)
    encoded = _encoded_text(s)  # text that comes as codes (Parquet's dictionary pages, a categorical)
    if encoded is None and isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    # the parts a column does not have are read-only broadcasts of one missing value (no memory per row:
    # a column of 10 million member ids would otherwise carry 160 MB of empty numbers and dates)
    text = no_text if no_text is not None and len(no_text) == n else _no_text(n)  # all missing (Arrow nulls)
    num = np.broadcast_to(np.float64(np.nan), (n,))
    when = np.broadcast_to(np.datetime64("NaT", "ns"), (n,))
    flag = _no_flag(n)
    other = np.broadcast_to(np.False_, (n,))
    oob = other

    if encoded is not None:
        return _split_arrow_text(s, num, when, flag, other, factors=encoded)
    if pd.api.types.is_bool_dtype(s.dtype):
        flag = s.astype("boolean")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        num = s.astype("float64").to_numpy(na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        when, oob = _dates_from_any(s)
    elif pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return _split_arrow_text(s.astype("str"), num, when, flag, other)
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
    spaced = error = np.broadcast_to(np.False_, (n,))
    if _all_missing(text) or not text.notna().any():  # no text cell (numbers, dates): nothing to strip or look up
        return _Cells(raw=s, text=text, spaced=spaced, num=num, when=when, flag=flag, other=other, oob=oob,
                      error=error)
    stripped = text.str.strip(_WS)
    has_text = stripped.notna() & stripped.ne("")
    spaced = (has_text & stripped.ne(text)).fillna(False).to_numpy(dtype=bool)
    if spaced.any() or int(has_text.sum()) != int(text.notna().sum()):
        text = stripped.where(has_text)
    # else: nothing to strip and no blank text: the column's own values (shared with raw, not a copy)
    if has_text.any():
        error = text.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
        if error.any():
            text = text.where(~error)
            spaced = spaced & ~error
    return _Cells(raw=s, text=text, spaced=spaced, num=num, when=when, flag=flag, other=other, oob=oob, error=error)


def _split_arrow_text(s: pd.Series, num, when, flag, other, factors=None) -> _Cells:
    """An Arrow text column (CSV, Parquet): factorized once, then stripped, checked for blanks and Excel
    error values per distinct value (a province's 36M dues months are a few hundred distinct texts),
    the codes kept for every later step (:attr:`_Cells.factors`). ``factors``: the column's (codes,
    distinct) as :func:`_factorize_arrow` gives them, when the column comes encoded
    (:func:`_encoded_text`); its text part is then encoded too (an Arrow dictionary)."""
    n = len(s)
    encoded = factors is not None
    codes, distinct = factors if encoded else _factorize_arrow(s)
    stripped = distinct.str.strip(_WS)
    valid = (stripped.notna() & stripped.ne("")).to_numpy(dtype=bool)
    spaced_d = valid & stripped.ne(distinct).fillna(False).to_numpy(dtype=bool)
    error_d = valid & stripped.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    valid = valid & ~error_d
    never = np.broadcast_to(np.False_, (n,))
    spaced = np.append(spaced_d, False)[codes] if spaced_d.any() else never
    error = np.append(error_d, False)[codes] if error_d.any() else never
    if spaced_d.any() or not valid.all():  # some text changes or goes: the distinct texts anew
        kept = pd.Series(stripped.where(valid), dtype="str")
        recodes, distinct = pd.factorize(kept, use_na_sentinel=True)
        distinct = pd.Series(distinct, dtype="str").reset_index(drop=True)
        codes = np.append(recodes, -1)[codes]
        if encoded:  # the stripped texts as codes, not one string per row
            text = _dictionary_series(codes, distinct)
        else:
            text = pd.Series(distinct.array.take(codes, allow_fill=True))
    else:  # nothing to strip and no blank text: the column's own values (shared with raw, not a copy)
        text = s
    if len(distinct) < 2**31 - 1:
        codes = codes.astype("int32", copy=False)
    oob = other
    return _Cells(raw=s, text=text, spaced=spaced, num=num, when=when, flag=flag, other=other, oob=oob,
                  error=error, factors=(codes, distinct))


def _factorize_arrow(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``pd.factorize(s)`` of an Arrow text Series (codes in order of first appearance, -1 for missing;
    the distinct values as a "str" Series), from Arrow's dictionary encoding of each chunk as it is.
    Encoding a chunked array shares one hash table across the chunks, so each chunk's dictionary is a
    prefix of the last one's and the chunks' indices are already codes into it: this is checked (on
    the distinct values only), and pandas' own factorize (which first combines the chunks: a copy of
    the column) is used where it does not hold. About 0.55 s instead of 0.9 s for 10 million member ids."""
    arr = getattr(s.array, "_pa_array", None)
    if isinstance(arr, pa.ChunkedArray) and len(arr):  # (Arrow encodes an empty column into no chunk at all)
        enc = arr.dictionary_encode()
        last = enc.chunk(enc.num_chunks - 1).dictionary
        if all(c.dictionary.equals(last.slice(0, len(c.dictionary))) for c in enc.chunks):
            codes = np.concatenate([c.indices.fill_null(-1).to_numpy() if c.indices.null_count
                                    else c.indices.to_numpy() for c in enc.chunks])
            return codes, pd.Series(pd.array(last, dtype="str"))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype="str").reset_index(drop=True)


def _encoded_text(s: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """(codes, distinct) as :func:`_factorize_arrow` gives them, of a column of text that comes encoded: an
    Arrow dictionary of text (Parquet's dictionary pages, :func:`scoring.reader.formats._parquet_text`,
    its chunks sharing one dictionary) or a categorical of text; None for any other column. The codes
    are renumbered in order of first appearance (-1 for missing) and keep only the values used. A
    dictionary read from Parquet usually is in that order already and uses every value (each row
    group's dictionary is built as the file was written, and unifying them appends each group's new
    values): this is checked in two passes over the codes, and only otherwise are the codes factorized
    (integers: far cheaper than hashing the texts)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        if s.cat.categories.inferred_type not in ("string", "empty"):
            return None
        codes, values = np.asarray(s.cat.codes), np.asarray(s.cat.categories, dtype=object)
    elif isinstance(s.dtype, pd.ArrowDtype) and pa.types.is_dictionary(s.dtype.pyarrow_dtype):
        kind = s.dtype.pyarrow_dtype.value_type
        arr = s.array._pa_array
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) or arr.num_chunks == 0:
            return None
        dictionary = arr.chunk(0).dictionary
        if dictionary.null_count or not all(c.dictionary.equals(dictionary) for c in arr.chunks[1:]):
            return None
        codes = np.concatenate([c.indices.fill_null(-1).to_numpy() if c.indices.null_count
                                else c.indices.to_numpy() for c in arr.chunks])
        values = dictionary.to_numpy(zero_copy_only=False)
    else:
        return None
    if codes.dtype.itemsize < 4:  # pandas keeps few categories' codes in int8/int16: int32 as the others
        codes = codes.astype("int32")
    if not in_first_order(codes, len(values)):
        valid = codes >= 0
        renumbered, order = pd.factorize(codes[valid])
        out = np.full(len(codes), -1, dtype="int32" if len(order) < 2**31 - 1 else "int64")
        out[valid] = renumbered
        codes, values = out, values[order]
    return codes, pd.Series(pd.array(values, dtype="str"))


def in_first_order(codes: np.ndarray, k: int, chunk: int = 1 << 20) -> bool:
    """Whether ``codes`` (-1: missing) number ``k`` values in order of first appearance and use every one
    (``pd.factorize``'s codes): the running maximum never rises by more than 1 and ends at ``k - 1``.
    Checked a chunk at a time (the running maximum of a province's 36M codes is not held at once)."""
    top = -1
    for a in range(0, len(codes), chunk):
        run = np.maximum.accumulate(codes[a:a + chunk])
        np.maximum(run, top, out=run)
        if run[0] > top + 1 or (run[1:] - run[:-1] > 1).any():
            return False
        top = int(run[-1])
    return top == k - 1


def _dictionary_series(codes: np.ndarray, distinct: pd.Series) -> pd.Series:
    """Codes into ``distinct`` (-1: missing) as a Series of an Arrow dictionary of text (no string per row)."""
    indices = pa.array(codes, mask=codes < 0)
    values = pa.array(distinct.to_numpy(dtype=object), type=pa.large_string())
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([pa.DictionaryArray.from_arrays(indices, values)])))


def _no_text(n: int) -> pd.Series:
    """A text part with no text: ``n`` missing values of the "str" dtype (Arrow arrays are immutable:
    columns may share it)."""
    return pd.Series(pd.array(pa.nulls(n, pa.large_string()), dtype="str"))


class Deferred:
    """A column of a file read only when it is needed (Parquet: one column at a time, as its table is
    assembled); ``load()`` returns it as a Series."""

    def __init__(self, load):
        self.load = load

    def __call__(self) -> pd.Series:
        return self.load()


def _as_series(values, n: int) -> pd.Series:
    if isinstance(values, Deferred):
        values = values()
    if values is None:
        return pd.Series(np.full(n, None, dtype=object), dtype=object, copy=False)
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(values, dtype=object, copy=False)  # a sheet's raw cells: read, never changed
