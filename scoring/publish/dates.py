"""Dates of a 公示: the signing date, the period (working days, Monday to Friday), Chinese date text.

Statutory holidays and the weekend days made working days around them (调休) change every year by a State
Council notice and are not known here: the default period counts Monday to Friday only, and a committee
whose period crosses a holiday gives the end with ``--to``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

DEFAULT_DAYS = 5

_PATTERNS = (
    re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})\.(\d{1,2})\.(\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*$"),
)


def parse_date(text: str) -> date:
    """``2026-01-05``, ``2026/1/5``, ``2026.1.5`` or ``2026年1月5日``; ValueError with a Chinese message."""
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                break
    raise ValueError(f"日期「{text}」无效，请写成 2026-01-05 或 2026年1月5日")


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def next_working_day(day: date) -> date:
    """``day`` itself when it is Monday to Friday, else the following Monday."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int) -> date:
    """The last day of a period of ``days`` working days starting on ``start`` (a working day)."""
    if days < 1:
        raise ValueError("公示天数至少为 1 个工作日")
    day, left = start, days - 1
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days from ``start`` to ``end``, both included."""
    if end < start:
        return 0
    full_weeks, rest = divmod((end - start).days + 1, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if is_working_day(start + timedelta(days=full_weeks * 7 + offset)):
            count += 1
    return count


def period(signed: date, start: date | None = None, end: date | None = None,
           days: int = DEFAULT_DAYS) -> tuple[date, date, int]:
    """The 公示 period: from ``start`` (default the signing date, moved to Monday when it falls on a
    weekend) to ``end`` (default ``days`` working days later, the start counted), and its working days.
    ValueError (Chinese) when the end lies before the start."""
    start = start or next_working_day(signed)
    end = end or add_working_days(next_working_day(start), days)
    if end < start:
        raise ValueError(f"公示结束日期 {zh_date(end)} 早于开始日期 {zh_date(start)}")
    return start, end, working_days_between(start, end)


def zh_date(day: date) -> str:
    """2026年1月5日 (Arabic numerals, no leading zeros, as official documents write dates)."""
    return f"{day.year}年{day.month}月{day.day}日"
