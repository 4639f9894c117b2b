"""Tier tables that name each statistic, per-tier actions and explanations, on hand-built tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.customers import assign_tiers, churn_bands
from helpers.analysis.tier_actions import (
    LABELLED_FORMATS,
    labelled_tier_summary,
    tier_actions,
    tier_notes,
    tier_statistics,
    turned_tier_summary,
)


def _profiles():
    # Occasional (6): four have never ordered, so the median CLV is 0 while the mean order count is 1.0.
    return pd.DataFrame({
        "profile_id": [f"p{i}" for i in range(10)],
        "predicted_clv": [float(v) for v in range(1, 11)],
        "historic_clv": [0, 0, 0, 0, 130, 130, 300, 320, 340, 5000.0],
        "historic_number_of_orders": [0, 0, 0, 0, 4, 2, 5, 5, 6, 20.0],
        "average_order_value": [np.nan] * 4 + [32.5, 65, 60, 64, 56.7, 250],
        "average_days_between_orders": [np.nan] * 4 + [30, 60, 40, 40, 40, 10.0],
        "churn_probability": [0.1] * 10,
    })


def _stats():
    prof = _profiles()
    tiers, _ = assign_tiers(prof["predicted_clv"])
    return tier_statistics(prof, tiers, churn_bands(prof["churn_probability"]), as_of="2026-03-01")


def test_tier_statistics_add_the_share_that_has_ordered():
    s = _stats()
    assert s["size"].tolist() == [6, 3, 1]
    assert s.at["Occasional", "historic_clv_median"] == 0 and s.at["Occasional", "orders"] == pytest.approx(1.0)
    assert s.at["Occasional", "share_with_orders"] == pytest.approx(2 / 6)
    assert s.at["Occasional", "orders_median"] == 0 and s.at["Regular", "share_with_orders"] == 1.0
    no_orders = _profiles().drop(columns="historic_number_of_orders").assign(historic_number_of_orders=np.nan)
    tiers, _ = assign_tiers(no_orders["predicted_clv"])
    s2 = tier_statistics(no_orders, tiers, churn_bands(no_orders["churn_probability"]), as_of="2026-03-01")
    assert s2["share_with_orders"].isna().all()


def test_labels_say_mean_median_share_or_sum():
    labelled = labelled_tier_summary(_stats())
    for column in ("median historic CLV", "mean historic CLV", "median predicted CLV", "median AOV", "mean orders",
                   "median orders", "share with ≥1 order", "median days between orders", "share of predicted CLV",
                   "value at risk (sum of spend churn takes away: predicted CLV × churn ÷ (1 − churn))", "share of customers"):
        assert column in labelled.columns
    assert not {"aov", "orders", "historic_clv_median", "share_clv"} & set(labelled.columns)
    assert labelled.attrs["formats"]["share of predicted CLV"] == "{:.0%}"
    assert LABELLED_FORMATS["median AOV"] == "money0"  # in the report's currency, never a bare number
    assert "share of historic CLV" in labelled_tier_summary(_stats(), field="historic_clv").columns
    # Every format names a real column, so Styler.format never silently skips one.
    assert set(labelled.attrs["formats"]) <= set(labelled.columns)


def test_the_turned_table_has_a_column_per_tier_and_shows_money_in_the_currency():
    from helpers.report.currency import Currency
    from helpers.report.tables import ByRow, table_html

    turned = turned_tier_summary(_stats())
    assert list(turned.columns) == ["Occasional", "Regular", "VIP"] and turned.index.name == "measure"
    assert set(turned.attrs["formats"]) <= set(turned.index)
    page = table_html(turned, max_rows=None, currency=Currency("EUR", "test"),
                      headers={"measure": "Per tier", **{t: t for t in turned.columns}},
                      formats=dict.fromkeys(turned.columns, ByRow(turned.attrs["formats"])))
    assert page.count("<tr>") == len(turned) + 1 and page.count("<th ") == 4  # four columns, whatever the measures
    assert "€" in page and "$" not in page
    row = page.split("median AOV</td>", 1)[1].split("</tr>", 1)[0]
    assert "€" in row and "%" not in row
    assert ">60%</td>" in page  # shares stay percentages


def test_notes_explain_a_zero_median_and_a_skewed_mean():
    notes = tier_notes(_stats())
    assert notes[0] == ("Occasional: the median historic CLV is 0 because only 33% of Occasional customers have at least "
                        "one order; the mean of 1.0 orders comes from those who have and the median AOV of $49 is over "
                        "customers with an order value.")
    assert len(notes) == 1  # Regular's mean and median are close; VIP is one customer
    skewed = pd.DataFrame({"historic_clv_mean": [400.0], "historic_clv_median": [100.0]}, index=["Whales"])
    assert tier_notes(skewed) == ["Whales: the mean historic CLV ($400) is 4.0× the median ($100): a few big spenders "
                                  "lift the mean; the median is the typical customer."]
    assert tier_notes(skewed, skew_ratio=5) == [] and tier_notes(pd.DataFrame()) == []


SUMMARY = pd.DataFrame(
    {
        "share_customers": [0.1, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1],
        "share_clv": [0.5, 0.4, 0.3, 0.025, 0.02, 0.01, 0.15],
        "churn_high": [0.4, 0.05, 0.2, 0.05, 0.5, 0.02, np.nan],
        "clv_at_risk": [12345.0, 10, 50, 1, 5, 0, np.nan],
        "days_between_orders": [45.0, 30, 40, 90, 120, np.nan, 60],
        "next_order_30d": [0.2, 0.5, 0.3, 0.1, 0.05, np.nan, np.nan],
        "aov": [120.0, 90, 70, 40, 35, np.nan, 80],
        "share_with_orders": [1.0, 1.0, 0.9, 0.8, 0.7, 0.3, 1.0],
    },
    index=pd.Index(["VIP", "Loyal", "Regular", "Occasional", "Lapsing", "New", "Imported"], name="tier"),
)


def test_actions_follow_value_and_churn():
    actions = tier_actions(SUMMARY)
    assert actions["action"].to_dict() == {
        "VIP": "win back", "Loyal": "reward loyalty", "Regular": "grow basket", "Occasional": "nurture",
        "Lapsing": "low-cost reactivation", "New": "first order", "Imported": "protect"}
    assert actions.at["VIP", "reason"] == (
        "VIP holds 50% of predicted CLV from 10% of customers and has 40% at high churn risk, $12,345 of next year's "
        "spend at risk: win them back before their expected next order date (20% are expected to order within 30 days; median "
        "45 days between orders).")
    assert actions.at["New", "reason"].startswith("Only 30% of New customers have ever ordered")
    assert actions.at["Imported", "churn"] == "unknown" and "(no churn scores)" in actions.at["Imported", "reason"]
    assert actions.at["Regular", "reason"].endswith("cross-sell to raise order value (median AOV $70).")
    for reason in actions["reason"]:  # one sentence each
        assert reason.endswith(".") and reason.count(". ") == 0


def test_churn_level_is_the_share_of_spend_if_they_stay_that_churn_takes_away():
    """With value at risk and predicted CLV in the table, a tier's churn level is at risk ÷ (at risk + predicted):
    a VIP tier whose customers sit in the high band but whose value is safe is rewarded, not won back."""
    table = pd.DataFrame({"share_customers": [0.1, 0.1], "share_clv": [0.6, 0.02], "churn_high": [0.4, 0.05],
                          "size": [10, 10], "predicted_clv_mean": [1000.0, 10.0], "clv_at_risk": [100.0, 900.0]},
                         index=["VIP", "Lapsing"])
    actions = tier_actions(table)
    assert actions.at["VIP", "churn"] == "low" and actions.at["VIP", "action"] == "reward loyalty"  # 100 / 10,100
    assert actions.at["Lapsing", "churn"] == "high" and actions.at["Lapsing", "action"] == "low-cost reactivation"
    assert "$900 of next year's spend at risk (90% of what they would spend if they stay)" in actions.at["Lapsing", "reason"]


def test_thresholds_are_parameters_and_boundaries_are_inclusive():
    edge = pd.DataFrame({"share_customers": [0.2], "share_clv": [0.3], "churn_high": [0.3]}, index=["Edge"])
    # 0.3 / 0.2 = 1.5 → high value; 0.3 high-churn share → high churn (both thresholds inclusive).
    assert tier_actions(edge).at["Edge", "action"] == "win back"
    assert tier_actions(edge, high_value_ratio=2.0).at["Edge", "action"] == "re-engage"
    assert tier_actions(edge, high_churn_share=0.5).at["Edge", "action"] == "retain"
    assert tier_actions(SUMMARY, first_order_share=0.0).at["New", "action"] == "nurture"
    assert tier_actions(SUMMARY.iloc[0:0]).empty
    with pytest.raises(TypeError):  # a misspelt threshold is refused, never silently ignored
        tier_actions(SUMMARY, high_value=2.0)
