"""Cell values as the user sees them (for messages) and the normalized keys headers and sheet names are
matched on."""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

# every character str.isspace() knows, plus zero-width space and BOM that Excel users paste in
_WS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u3000\u200b\ufeff"


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



def _file_names(first: str, second: str) -> tuple[str, str]:
    """Two files as messages name them: by file name, by full path where the names alone are equal."""
    a, b = Path(first).name, Path(second).name
    return (a, b) if a != b else (first, second)


BRIEF = 60  # characters of a value shown in a message


def _brief(v) -> str:
    """A cell value for a message: as the user sees it, cut after BRIEF characters (a 10,000-character
    cell must not flood the list of problems)."""
    s = _display(v)
    return s if len(s) <= BRIEF else f"{s[:BRIEF]}…（共{len(s)}个字符）"
