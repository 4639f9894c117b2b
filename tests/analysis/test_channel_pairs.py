"""Pairing email and SMS campaigns by name and send time, on hand-built campaign lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.channel_pairs import (
    PAIR_COLUMNS,
    UNPAIRED_COLUMNS,
    pair_campaigns,
    paired_comparison,
    paired_ids,
)
from helpers.analysis.channels import campaign_table, paired_line, sms_wins


def _campaigns(rows):
    return pd.DataFrame(rows, columns=["campaign_id", "name", "send_time"])


EMAIL = _campaigns([
    ("e1", "Flash Sale — Email", "2026-03-01T10:00:00Z"),
    ("e2", "Back to School", "2026-08-03T09:00:00Z"),
    ("e3", "Weekly Digest", "2026-04-01T09:00:00Z"),
    ("e3", "Weekly Digest", "2026-04-01T09:00:00Z"),  # a second message row of the same campaign
    ("e4", "Weekly Digest", "2026-04-08T09:00:00Z"),
    ("e5", "Newsletter", "2026-05-01T09:00:00Z"),
    ("e6", "VIP Preview", None),
])
SMS = _campaigns([
    ("s1", "Flash Sale (SMS)", "2026-03-03T18:00:00Z"),
    ("s2", "Back to School (SMS)", "2026-01-09T12:00:00Z"),
    ("s3", "weekly digest", "2026-04-07T09:00:00Z"),
    ("s4", "VIP preview", "2026-06-01T09:00:00Z"),
    ("s5", "SMS", "2026-06-02T09:00:00Z"),
])


def test_pairs_need_the_same_name_and_send_times_within_the_window():
    paired, unpaired = pair_campaigns(EMAIL, SMS, window_days=7)
    assert list(paired.columns) == PAIR_COLUMNS and list(unpaired.columns) == UNPAIRED_COLUMNS
    assert paired_ids(paired) == [["e1", "s1"], ["e4", "s3"]]
    flash = paired.iloc[0]
    assert flash["campaign"] == "flash sale" and flash["days_apart"] == pytest.approx(2 + 8 / 24)
    reasons = dict(zip(unpaired["campaign_id"], unpaired["reason"], strict=True))
    assert reasons["e2"] == ("the same-name SMS campaign went out 206 days apart (2026-08-03 vs 2026-01-09), "
                             "outside the 7-day window")
    assert reasons["s2"].startswith("the same-name email campaign went out 206 days apart (2026-01-09 vs 2026-08-03)")
    # Weekly Digest: e4 is 1 day from s3, e3 six days; the closer one pairs, e3 is told why it did not.
    assert reasons["e3"] == "its same-name SMS campaign within 7 days (2026-04-07) was paired with a closer one"
    assert reasons["e5"] == "no SMS campaign has the same name"
    assert reasons["e6"] == "it has no send time, so its timing cannot be matched"
    assert reasons["s4"] == "the same-name email campaign has no send time"
    assert reasons["s5"] == "its name is only channel words, nothing to match on"
    assert sorted(unpaired["campaign_id"]) == ["e2", "e3", "e5", "e6", "s2", "s4", "s5"]


def test_window_is_a_parameter_and_pairing_does_not_depend_on_row_order():
    wide, _ = pair_campaigns(EMAIL, SMS, window_days=365)
    assert ["e2", "s2"] in paired_ids(wide)
    shuffled, _ = pair_campaigns(EMAIL.iloc[::-1], SMS.iloc[::-1], window_days=7)
    assert paired_ids(shuffled) == [["e1", "s1"], ["e4", "s3"]]
    none, unpaired = pair_campaigns(EMAIL, SMS, window_days=0)
    assert none.empty and len(unpaired) == len(set(EMAIL["campaign_id"])) + len(SMS)
    with pytest.raises(ValueError, match="pair_window_days"):
        pair_campaigns(EMAIL, SMS, window_days=-1)


def test_ties_in_the_gap_pair_the_earlier_email_first():
    email = _campaigns([("e1", "Drop", "2026-01-01T00:00:00Z"), ("e2", "Drop", "2026-01-03T00:00:00Z")])
    sms = _campaigns([("s1", "Drop", "2026-01-02T00:00:00Z")])
    paired, unpaired = pair_campaigns(email, sms)
    assert paired_ids(paired) == [["e1", "s1"]] and list(unpaired["campaign_id"]) == ["e2"]


def test_missing_names_never_pair():
    email = _campaigns([("e1", None, "2026-01-01T00:00:00Z")])
    sms = _campaigns([("s1", float("nan"), "2026-01-01T00:00:00Z")])
    paired, unpaired = pair_campaigns(email, sms)
    assert paired.empty and set(unpaired["reason"]) == {"it has no name to match on"}


def test_empty_inputs():
    empty = _campaigns([])
    paired, unpaired = pair_campaigns(empty, empty)
    assert paired.empty and unpaired.empty
    paired, unpaired = pair_campaigns(EMAIL, empty)
    assert paired.empty and set(unpaired["reason"]) >= {"no SMS campaign has the same name"}
    with pytest.raises(ValueError, match="needs columns"):
        pair_campaigns(EMAIL.drop(columns="name"), SMS)


def test_paired_comparison_has_the_paired_campaigns_columns():
    campaigns = pd.concat([EMAIL.assign(channel="email"), SMS.assign(channel="sms")], ignore_index=True)
    report = pd.DataFrame(
        [("e1", "email", 1000, 0.05, 0.010, 500.0, 0.002), ("s1", "sms", 1000, 0.10, 0.030, 600.0, 0.010),
         ("e4", "email", 2000, 0.04, 0.010, 800.0, 0.002), ("s3", "sms", 500, 0.08, 0.020, 100.0, 0.004),
         ("e2", "email", 900, 0.04, 0.010, 800.0, 0.002)],
        columns=["campaign_id", "send_channel", "recipients", "click_rate", "conversion_rate", "conversion_value",
                 "unsubscribe_rate"],
    )
    table = campaign_table(report, campaigns.drop_duplicates("campaign_id"))
    paired, _ = pair_campaigns(EMAIL, SMS)
    cmp = paired_comparison(table, paired)
    assert list(cmp["email_campaign_id"]) == ["e1", "e4"]
    first = cmp.iloc[0]
    assert first["conversion_rate_diff"] == pytest.approx(0.02)
    assert first["revenue_per_recipient_email"] == pytest.approx(0.5)
    assert first["revenue_per_recipient_sms"] == pytest.approx(0.6)
    assert sms_wins(cmp) == {"click_rate": 2, "conversion_rate": 2, "revenue_per_recipient": 1}
    assert paired_line(cmp).startswith("2 campaigns ran on both channels")
    # A pair whose SMS delivered nothing in the timeframe is dropped; no pairs → an empty frame with the columns.
    assert len(paired_comparison(table[table["campaign_id"] != "s3"], paired)) == 1
    assert paired_comparison(table, paired.iloc[0:0]).empty


def test_paired_tests_use_the_pairs_as_observations():
    from statsmodels.stats.weightstats import DescrStatsW

    from helpers.analysis.channel_pairs import paired_test_line, paired_tests

    diffs = [0.004, 0.006, 0.005, 0.007, 0.003, 0.006]
    paired = pd.DataFrame({
        "conversion_rate_diff": diffs, "click_rate_diff": [0.01, -0.01, 0.02, -0.02, 0.0, 0.005],
        "unsubscribe_rate_diff": [0.001] * 6, "revenue_per_recipient_diff": [0.1, -0.2, 0.05, 0.0, 0.1, -0.1],
    })
    tests = paired_tests(paired)
    row = tests.loc["conversion_rate"]
    d = DescrStatsW(np.array(diffs))
    assert row["pairs"] == 6 and row["sms_better"] == 6
    assert row["p_value"] == pytest.approx(d.ttest_mean(0)[1])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(d.tconfint_mean(0.05))
    assert row["significant"] and not tests.loc["click_rate", "significant"]
    # every pair's unsubscribe difference is the same: nothing to test against, never "significant"
    assert np.isnan(tests.loc["unsubscribe_rate", "p_value"]) and tests.loc["unsubscribe_rate", "sms_better"] == 0
    line = paired_test_line(tests)
    assert line.startswith("Paired t-test over the 6 pairs")
    assert "conversion rate: SMS higher, significantly" in line and "click rate: no significant difference" in line
    assert paired_test_line(paired_tests(paired.iloc[:2])).startswith("Too few campaigns")
