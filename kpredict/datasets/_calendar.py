"""Calendar of the demo company: the fixed end date, the data spans and the holiday list.

Why a constant end date: the generator must never read the clock (re-running it a year later must
give the same bytes), so every span counts back from ``DEMO_END``. A span of ``years`` years is the
``years`` whole years that end on ``DEMO_END``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["DEMO_END", "HOLIDAY_EFFECTS", "as_ns", "holiday_calendar", "span_days", "span_start"]

DEMO_END = dt.date(2026, 10, 31)
"""Last day of every data set (inclusive)."""

HOLIDAY_EFFECTS: dict[str, float] = {
    # Multiplier on a fully holiday-sensitive product's demand: shopping days lift demand, days on
    # which most shops close or shorten their hours depress it.
    "New Year's Day": 0.45,
    "Good Friday": 0.7,
    "Easter Monday": 0.75,
    "Labour Day": 0.8,
    "Summer Bank Holiday": 1.25,
    "Black Friday": 1.9,
    "Christmas Eve": 1.7,
    "Christmas Day": 0.35,
    "Boxing Day": 1.4,
    "New Year's Eve": 1.5,
}


def span_start(years: int) -> np.datetime64:
    """First day of the ``years`` whole years that end on ``DEMO_END``."""
    after_end = DEMO_END + dt.timedelta(days=1)
    return np.datetime64(after_end.replace(year=after_end.year - years), "D")


def span_days(years: int) -> np.ndarray:
    """Every day (``datetime64[D]``) from ``span_start(years)`` to ``DEMO_END`` inclusive."""
    return np.arange(span_start(years), np.datetime64(DEMO_END, "D") + 1, dtype="datetime64[D]")


def as_ns(values: np.ndarray) -> np.ndarray:
    """Datetimes as tz-naive ``datetime64[ns]``, the one timestamp type of every demo table."""
    return np.asarray(values).astype("datetime64[ns]")


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm; exact for every year)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    """Last ``weekday`` (Monday=0) of a month."""
    day = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def _black_friday(year: int) -> dt.date:
    """Friday after the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(days=22)


def holiday_calendar(first_year: int, last_year: int) -> list[tuple[dt.date, str]]:
    """The same ten retail holidays every year, sorted by date."""
    days: list[tuple[dt.date, str]] = []
    for year in range(first_year, last_year + 1):
        easter = _easter(year)
        days += [
            (dt.date(year, 1, 1), "New Year's Day"),
            (easter - dt.timedelta(days=2), "Good Friday"),
            (easter + dt.timedelta(days=1), "Easter Monday"),
            (dt.date(year, 5, 1), "Labour Day"),
            (_last_weekday(year, 8, 0), "Summer Bank Holiday"),
            (_black_friday(year), "Black Friday"),
            (dt.date(year, 12, 24), "Christmas Eve"),
            (dt.date(year, 12, 25), "Christmas Day"),
            (dt.date(year, 12, 26), "Boxing Day"),
            (dt.date(year, 12, 31), "New Year's Eve"),
        ]
    return sorted(days)
