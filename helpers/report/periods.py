"""The dates a report's data covers, from the timeframe or lookback the notebook used.

A reader needs "16 Apr 2026 – 14 Jul 2026", not ``last_90_days``. Klaviyo resolves its relative timeframes
in whole days ending with yesterday (today is still filling up): ``last_90_days`` is the 90 days before
today, ``last_3_months`` the three calendar months back to the same day. Dates are UTC days, as the
sandbox and this project's fetches count them; an account in another time zone sees its own days.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

_LAST_DAYS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90, "last_365_days": 365}
_LAST_MONTHS = {"last_3_months": 3, "last_12_months": 12}


@dataclass(frozen=True)
class Period:
    """The days the data covers, both ends included; ``start`` is None for a snapshot taken on ``end``."""

    start: dt.date | None
    end: dt.date
    source: str  # what the notebook asked for: "last_90_days", "365 days", "snapshot"

    @property
    def days(self) -> int | None:
        return None if self.start is None else (self.end - self.start).days + 1

    @property
    def text(self) -> str:
        """``16 Apr 2026 – 14 Jul 2026 (90 days)``, or ``snapshot of 15 Jul 2026``."""
        if self.start is None:
            return f"snapshot of {_day(self.end)}"
        days = self.days
        return f"{_day(self.start)} – {_day(self.end)} ({days:,} day{'s' if days != 1 else ''})"

    def as_record(self) -> dict[str, str | int | None]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat(),
                "days": self.days, "source": self.source, "text": self.text}


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b %Y}"


def _months_back(d: dt.date, n: int) -> dt.date:
    year, month = divmod(d.year * 12 + d.month - 1 - n, 12)
    month += 1
    return d.replace(year=year, month=month, day=min(d.day, calendar.monthrange(year, month)[1]))


def _as_date(as_of: dt.date | dt.datetime | None) -> dt.date:
    if as_of is None:
        return dt.datetime.now(dt.UTC).date()
    if isinstance(as_of, dt.datetime):
        return (as_of.astimezone(dt.UTC) if as_of.tzinfo else as_of).date()
    return as_of


def period(span: str | int | None, as_of: dt.date | dt.datetime | None = None) -> Period:
    """The period a notebook's data covers.

    ``span`` is a Klaviyo timeframe key (``"last_90_days"``, ``"last_month"``, ...), a number of days looked
    back from ``as_of`` (events fetched from ``as_of - days`` until ``as_of``, both days included), or None for
    a snapshot (profiles or segment members as they are on ``as_of``). ``as_of`` defaults to now (UTC).
    """
    today = _as_date(as_of)
    yesterday = today - dt.timedelta(days=1)
    if span is None:
        return Period(None, today, "snapshot")
    if isinstance(span, bool):
        raise TypeError("span must be a timeframe key, a number of days or None")
    if isinstance(span, int):
        if span < 1:
            raise ValueError(f"a lookback of {span} days covers nothing; give at least 1")
        return Period(today - dt.timedelta(days=span), today, f"{span} days")
    key = str(span).strip()
    week_start = today - dt.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    year_start = today.replace(month=1, day=1)
    if key in _LAST_DAYS:
        return Period(today - dt.timedelta(days=_LAST_DAYS[key]), yesterday, key)
    if key in _LAST_MONTHS:
        return Period(_months_back(today, _LAST_MONTHS[key]), yesterday, key)
    ranges = {
        "today": (today, today),
        "yesterday": (yesterday, yesterday),
        "this_week": (week_start, today),
        "last_week": (week_start - dt.timedelta(days=7), week_start - dt.timedelta(days=1)),
        "this_month": (month_start, today),
        "last_month": (_months_back(month_start, 1), month_start - dt.timedelta(days=1)),
        "this_year": (year_start, today),
        "last_year": (year_start.replace(year=year_start.year - 1), year_start - dt.timedelta(days=1)),
    }
    if key not in ranges:
        known = ", ".join([*_LAST_DAYS, *_LAST_MONTHS, *ranges])
        raise ValueError(f"timeframe {key!r} is not a Klaviyo timeframe key; use one of {known}")
    start, end = ranges[key]
    return Period(start, end, key)
