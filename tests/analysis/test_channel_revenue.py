"""Revenue per recipient = conversion rate × average order value, on hand-built channel totals."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.channel_revenue import (
    revenue_decomposition,
    revenue_driver,
    unsubscribe_cost,
    verdict_sentence,
)
from helpers.analysis.channels import campaign_table, channel_estimate, compare_channels
from helpers.analysis.stats import difference_test
from helpers.report.currency import Currency

USD = Currency("USD", "test")


def _table(email=(10000, 100, 10000.0), sms=(10000, 200, 8000.0), parts=8):
    """Campaign rows (delivered, conversions, revenue) summing to the channel totals given, each channel split
    over `parts` campaigns whose rates and order values differ by a few per cent (campaign-level tests need
    several campaigns)."""
    rows = []
    wobble = 1 + 0.04 * np.sin(np.arange(parts) * 2.3)
    wobble /= wobble.mean()
    for channel, (n, k, r) in (("email", email), ("sms", sms)):
        for i in range(parts):
            rows.append((f"{channel}{i}", channel, n / parts, k / parts * wobble[i], r / parts * wobble[::-1][i]))
    return pd.DataFrame(rows, columns=["campaign_id", "channel", "delivered", "conversions", "revenue"])


def _comparison(unsub_email=0.004, unsub_sms=0.008, unsub_significant=True, rpr_significant=True):
    return pd.DataFrame(
        {
            "email": [unsub_email, 1.0], "sms": [unsub_sms, 0.8], "p_value": [1e-6, 1e-4],
            "p_adjusted": [4e-6, 3e-4], "significant": [unsub_significant, rpr_significant],
            "winner": ["email" if unsub_email < unsub_sms else "sms", "email"], "test": ["two-proportion z", "compound-model z"],
        },
        index=pd.Index(["unsubscribe_rate", "revenue_per_recipient"], name="metric"),
    )


def test_the_two_factors_multiply_to_revenue_per_recipient():
    d = revenue_decomposition(_table())
    assert d.loc["conversion_rate", "email"] == pytest.approx(0.01) and d.loc["conversion_rate", "sms"] == pytest.approx(0.02)
    assert d.loc["average_order_value", "email"] == pytest.approx(100.0)
    assert d.loc["average_order_value", "sms"] == pytest.approx(40.0)
    for c in ("email", "sms"):
        assert d.loc["conversion_rate", c] * d.loc["average_order_value", c] == pytest.approx(d.loc["revenue_per_recipient", c])
    assert d.loc["revenue_per_recipient", "ratio"] == pytest.approx(0.8)
    for factor in d.index:
        row = d.loc[factor]
        for c in ("email", "sms"):
            assert row[f"{c}_low"] <= row[c] <= row[f"{c}_high"]
        assert row["ci_low"] <= row["difference"] <= row["ci_high"]


def test_each_factor_is_tested_at_the_campaign_level():
    table = _table()
    d = revenue_decomposition(table)
    for factor in ("conversion_rate", "average_order_value"):
        est = {c: channel_estimate(table.assign(conversion_rate=table["conversions"] / table["delivered"]), c, factor)
               for c in ("email", "sms")}
        test = difference_test(est["email"], est["sms"])
        assert d.loc[factor, "p_value"] == pytest.approx(test["p_value"])
        assert d.loc[factor, "email"] == pytest.approx(est["email"].mean)
        assert d.loc[factor, "test"].startswith("campaign-level t (8 email, 8 SMS campaigns)")
        assert d.loc[factor, "significant"]
    # The two factors are one family: Holm over the two p-values.
    p = sorted(d.loc[["conversion_rate", "average_order_value"], "p_value"])
    assert sorted(d.loc[["conversion_rate", "average_order_value"], "p_adjusted"]) == pytest.approx(
        [min(1, 2 * p[0]), min(1, max(2 * p[0], p[1]))])


def test_order_values_give_the_spread_and_the_fallback_is_named():
    assumed = revenue_decomposition(_table(), order_value_cv=1.0)
    assert "order values: an assumed order-value spread (cv 1" in assumed.loc["average_order_value", "test"]
    rng = np.random.default_rng(3)
    orders = {"email": rng.lognormal(np.log(100), 0.5, 100), "sms": list(rng.lognormal(np.log(40), 0.9, 200))}
    measured = revenue_decomposition(_table(), order_values=orders)
    assert "the spread of this account's 300 orders" in measured.loc["average_order_value", "test"]
    assert "the spread of this account's 300 orders" in measured.loc["revenue_per_recipient", "test"]


def test_small_aov_difference_is_not_significant():
    d = revenue_decomposition(_table(email=(10000, 100, 5000.0), sms=(10000, 110, 5400.0)))
    assert not d.loc["average_order_value", "significant"]
    assert not d.loc["conversion_rate", "significant"]


def test_comparison_supplies_the_recorded_revenue_test():
    d = revenue_decomposition(_table(), comparison=_comparison(rpr_significant=False))
    assert d.loc["revenue_per_recipient", "p_value"] == pytest.approx(1e-4)
    assert d.loc["revenue_per_recipient", "p_adjusted"] == pytest.approx(3e-4)
    assert "Holm over the four" in d.loc["revenue_per_recipient", "test"]


def test_missing_channel_and_missing_columns_are_clear_errors():
    with pytest.raises(ValueError, match="No sms deliveries"):
        revenue_decomposition(_table()[lambda t: t["channel"] == "email"])
    with pytest.raises(ValueError, match=r"needs columns \['revenue'\]"):
        revenue_decomposition(_table().drop(columns="revenue"))


def test_driver_shares_of_the_log_gap():
    drive = revenue_driver(revenue_decomposition(_table()))
    # ln(0.8) = ln(2) + ln(0.4): AOV explains more than all of the gap, conversion pulls the other way.
    assert drive["leader"] == "email" and drive["driver"] == "average_order_value"
    assert drive["offset"] == "conversion_rate"
    assert drive["shares"]["conversion_rate"] == pytest.approx(math.log(2) / math.log(0.8), rel=0.02)
    assert sum(drive["shares"].values()) == pytest.approx(1.0)
    assert drive["driver_significant"] and drive["offset_significant"]


def test_driver_when_both_factors_point_the_same_way_and_when_equal():
    same = revenue_driver(revenue_decomposition(_table(sms=(10000, 150, 22500.0))))
    # sms: CR 1.5 %, AOV 150 → both above email; ln 2.25 = ln 1.5 + ln 1.5.
    assert same["leader"] == "sms" and same["offset"] is None
    assert same["shares"]["conversion_rate"] == pytest.approx(0.5)
    tie = revenue_driver(revenue_decomposition(_table(sms=(10000, 100, 10000.0))))
    assert tie["leader"] is None and tie["driver"] is None


def test_no_conversions_on_a_channel_has_no_driver():
    d = revenue_decomposition(_table(sms=(10000, 0, 0.0)))
    assert math.isnan(d.loc["average_order_value", "sms"])
    assert d.loc["average_order_value", "p_value"] == 1.0
    drive = revenue_driver(d)
    assert drive["leader"] == "email" and drive["driver"] is None


def test_unsubscribe_cost_names_who_pays():
    cost = unsubscribe_cost(_comparison(), leader="email")
    assert cost["higher"] == "sms" and cost["ratio"] == pytest.approx(2.0)
    assert cost["significant"] and not cost["leader_pays"]
    assert unsubscribe_cost(_comparison(), leader="sms")["leader_pays"]
    assert not unsubscribe_cost(_comparison(unsub_significant=False), leader="sms")["leader_pays"]
    equal = unsubscribe_cost(_comparison(unsub_email=0.004, unsub_sms=0.004))
    assert equal["higher"] is None and not equal["significant"]


def _one_sentence(text: str) -> bool:
    return text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text[:-1])


def test_verdict_names_driver_offset_and_unsubscribe_cost():
    d = revenue_decomposition(_table())
    text = verdict_sentence(d, _comparison(), USD)
    assert _one_sentence(text)
    assert text.startswith("Email earns significantly more revenue per recipient ($1.000 email vs $0.800 SMS)")
    assert "because its orders are significantly larger ($100.00 vs $40.00 average order value)" in text
    euro = verdict_sentence(d, _comparison(), Currency("EUR", "test"))
    assert "(€1.000 email vs €0.800 SMS)" in euro and "$" not in euro
    assert "although SMS converts significantly better (2.00% vs 1.00%)" in text
    assert "; SMS also loses significantly more subscribers (0.80% vs 0.40% unsubscribe rate)" in text


def test_verdict_says_when_the_revenue_winner_loses_more_subscribers():
    d = revenue_decomposition(_table())
    text = verdict_sentence(d, _comparison(unsub_email=0.009, unsub_sms=0.003), USD)
    assert "; but email also loses significantly more subscribers (0.90% vs 0.30% unsubscribe rate)" in text
    assert "weigh" in text and _one_sentence(text)


def test_verdict_without_a_significant_revenue_difference_names_no_winner():
    d = revenue_decomposition(_table())
    text = verdict_sentence(d, _comparison(rpr_significant=False, unsub_significant=False), USD)
    assert text.startswith("Neither channel earns significantly more revenue per recipient")
    assert "SMS converts significantly better" in text and "email's orders are significantly larger" in text
    assert text.endswith("; unsubscribe rates do not differ significantly.") and _one_sentence(text)
    flat = revenue_decomposition(_table(email=(10000, 100, 5000.0), sms=(10000, 105, 5200.0)))
    quiet = verdict_sentence(flat, None, USD)
    assert quiet == "Neither channel earns significantly more revenue per recipient ($0.500 email vs $0.520 SMS)."


def test_verdict_on_a_real_campaign_table():
    rows, names = [], []
    for i in range(10):
        w = 1 + 0.05 * math.sin(i)
        rows += [(f"e{i}", f"m{i}", "email", 20000, 0.02 * w, 0.010 * w, 20000.0 * w, 0.002 * w),
                 (f"s{i}", f"n{i}", "sms", 20000, 0.05 * w, 0.020 * w, 12000.0 * w, 0.006 * w)]
        names += [(f"e{i}", f"Sale {i}", "email"), (f"s{i}", f"Sale {i} (SMS)", "sms")]
    campaigns = pd.DataFrame(names, columns=["campaign_id", "name", "channel"])
    report = pd.DataFrame(rows, columns=["campaign_id", "campaign_message_id", "send_channel", "recipients",
                                         "click_rate", "conversion_rate", "conversion_value", "unsubscribe_rate"])
    table = campaign_table(report, campaigns)
    comparison = compare_channels(table)
    d = revenue_decomposition(table, comparison=comparison)
    text = verdict_sentence(d, comparison, USD)
    assert text.startswith("Email earns significantly more revenue per recipient")
    assert "SMS also loses significantly more subscribers" in text and _one_sentence(text)


def test_factor_table_reads_each_factor_with_its_interval():
    from helpers.analysis.channel_revenue import factor_table

    d = revenue_decomposition(_table())
    shown = factor_table(d, revenue_driver(d), Currency("EUR", "test"))
    assert shown["factor"].tolist() == ["conversion rate", "average order value", "revenue per recipient"]
    assert shown.loc[1, "email"].startswith("€100.00 (€")
    assert shown.loc[0, "sms"].startswith("2.00% (")
    assert shown.loc[2, "share of gap"] == "" and shown.loc[1, "share of gap"].startswith("+")
    assert not shown.apply(lambda col: col.astype(str).str.contains(r"\$")).any().any()
