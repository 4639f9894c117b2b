"""helpers.report.periods: the dates a timeframe or lookback covers, as Klaviyo (and the sandbox) count them."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.report.periods import period

TODAY = dt.date(2026, 7, 15)  # a Wednesday


@pytest.mark.parametrize(
    ("span", "start", "end"),
    [
        ("last_7_days", dt.date(2026, 7, 8), dt.date(2026, 7, 14)),
        ("last_30_days", dt.date(2026, 6, 15), dt.date(2026, 7, 14)),
        ("last_90_days", dt.date(2026, 4, 16), dt.date(2026, 7, 14)),
        ("last_365_days", dt.date(2025, 7, 15), dt.date(2026, 7, 14)),
        ("last_3_months", dt.date(2026, 4, 15), dt.date(2026, 7, 14)),
        ("last_12_months", dt.date(2025, 7, 15), dt.date(2026, 7, 14)),
        ("yesterday", dt.date(2026, 7, 14), dt.date(2026, 7, 14)),
        ("today", TODAY, TODAY),
        ("this_week", dt.date(2026, 7, 13), TODAY),
        ("last_week", dt.date(2026, 7, 6), dt.date(2026, 7, 12)),
        ("this_month", dt.date(2026, 7, 1), TODAY),
        ("last_month", dt.date(2026, 6, 1), dt.date(2026, 6, 30)),
        ("this_year", dt.date(2026, 1, 1), TODAY),
        ("last_year", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    ],
)
def test_timeframe_keys_become_the_days_they_cover(span, start, end):
    covered = period(span, TODAY)
    assert (covered.start, covered.end, covered.source) == (start, end, span)


def test_last_n_days_is_n_days_ending_yesterday_and_says_so_in_dates():
    covered = period("last_90_days", TODAY)
    assert covered.days == 90
    assert covered.text == "16 Apr 2026 – 14 Jul 2026 (90 days)"
    assert covered.as_record() == {"start": "2026-04-16", "end": "2026-07-14", "days": 90, "source": "last_90_days",
                                   "text": "16 Apr 2026 – 14 Jul 2026 (90 days)"}


def test_a_lookback_in_days_runs_until_as_of_and_a_datetime_counts_by_its_utc_day():
    as_of = dt.datetime(2026, 7, 15, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 04:30 UTC on the 16th
    covered = period(365, as_of)
    assert (covered.start, covered.end) == (dt.date(2025, 7, 16), dt.date(2026, 7, 16))
    assert covered.text.endswith("(366 days)")  # both ends included: the start day is partial


def test_a_snapshot_has_no_start():
    covered = period(None, TODAY)
    assert covered.start is None and covered.days is None
    assert covered.text == "snapshot of 15 Jul 2026"


def test_a_month_back_from_the_31st_lands_on_the_last_day_of_a_shorter_month():
    assert period("last_3_months", dt.date(2026, 5, 31)).start == dt.date(2026, 2, 28)


@pytest.mark.parametrize(("span", "message"), [("last_2_days", "not a Klaviyo timeframe key"), (0, "at least 1")])
def test_unknown_spans_are_refused_with_one_sentence(span, message):
    with pytest.raises(ValueError, match=message):
        period(span, TODAY)
