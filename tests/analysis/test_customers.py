"""CLV tiers, churn bands and per-tier numbers on small frames whose answers are worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from helpers.analysis.customers import (
    assign_tiers,
    buyers,
    churn_bands,
    clv_at_risk_matrix,
    column_coverage,
    orders_fallback,
    pareto,
    persona_fields,
    persona_name,
    predictions_note,
    prospect_summary,
    summary_lines,
    tier_summary,
    validate_tiering,
    value_at_risk,
    with_orders_fallback,
)


def test_assign_tiers_by_quantile_ignoring_nulls():
    values = pd.Series([*range(1, 11), np.nan], dtype=float)
    tiers, thresholds = assign_tiers(values)
    np.testing.assert_allclose(thresholds, [6.4, 9.1])  # np.quantile(1..10, [.6, .9])
    assert tiers.value_counts().to_dict() == {"Occasional": 6, "Regular": 3, "VIP": 1}
    assert pd.isna(tiers.iloc[-1])
    assert list(tiers.cat.categories) == ["Occasional", "Regular", "VIP"]


def test_assign_tiers_keeps_ties_in_the_lower_tier():
    tiers, thresholds = assign_tiers(pd.Series([0.0] * 8 + [5.0, 10.0]))
    assert thresholds[0] == 0.0
    assert tiers.tolist() == ["Occasional"] * 8 + ["Regular", "VIP"]


def test_assign_tiers_custom_and_all_null():
    tiers, _ = assign_tiers(pd.Series([1.0, 2, 3, 4]), cuts=[0.5], names=["Low", "High"])
    assert tiers.tolist() == ["Low", "Low", "High", "High"]
    tiers, thresholds = assign_tiers(pd.Series([np.nan, np.nan]))
    assert tiers.isna().all() and len(thresholds) == 0


@pytest.mark.parametrize(
    ("cuts", "names", "message"),
    [
        ([0.9, 0.6], ["a", "b", "c"], "increasing quantiles"),
        ([0.0, 0.5], ["a", "b", "c"], "strictly between 0 and 1"),
        ([], ["a"], "increasing quantiles"),
        ([0.5], ["a", "b", "c"], "one name per tier"),
        ([0.5], ["a", "a"], "distinct"),
    ],
)
def test_validate_tiering_says_what_is_wrong(cuts, names, message):
    with pytest.raises(ValueError, match=message):
        validate_tiering(cuts, names)


def test_churn_bands_boundaries():
    bands = churn_bands(pd.Series([0.0, 0.29, 0.3, 0.59, 0.6, 1.0, np.nan]))
    assert bands.tolist()[:6] == ["low", "low", "medium", "medium", "high", "high"]
    assert pd.isna(bands.iloc[6])


def test_orders_fallback_derives_clv_and_cadence():
    orders = pd.DataFrame({
        "profile_id": ["p1", "p1", "p1", "p2"],
        "datetime": ["2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-31T00:00:00Z", "2026-02-01T12:00:00Z"],
        "value": [10.0, 20.0, 30.0, 99.0],
    })
    out = orders_fallback(orders).set_index("profile_id")
    assert out.at["p1", "historic_clv"] == 60 and out.at["p1", "historic_number_of_orders"] == 3
    assert out.at["p1", "average_order_value"] == 20 and out.at["p1", "average_days_between_orders"] == 15
    assert out.at["p2", "historic_clv"] == 99 and pd.isna(out.at["p2", "average_days_between_orders"])
    assert orders_fallback(orders.iloc[:0]).empty


def _profiles():
    return pd.DataFrame({
        "profile_id": [f"p{i}" for i in range(6)],
        "historic_clv": [10.0, 20, 30, 40, 100, np.nan],
        "predicted_clv": [5.0, 10, 15, 20, 200, np.nan],
        "churn_probability": [0.1, 0.5, 0.7, 0.2, 0.8, np.nan],
        "average_order_value": [10.0, 10, 15, 20, 50, np.nan],
        "historic_number_of_orders": [1.0, 2, 2, 2, 5, np.nan],
        "average_days_between_orders": [np.nan, 30, 40, 50, 20, np.nan],
        "expected_date_of_next_order": ["2026-03-05", "2026-06-01", None, "2026-03-20", "2026-02-20", None],
        "preferred_channel": ["email", "sms", "sms", "email", "sms", None],
        "email_consent": [True, True, False, True, True, False],
        "sms_consent": [False, True, True, False, True, False],
        "country": ["US", "US", "US", "CA", "US", None],
        "region": ["NY", "NY", "CA", "ON", "NY", None],
    })


def test_tier_summary_numbers():
    prof = _profiles()
    tiers, _ = assign_tiers(prof["predicted_clv"], cuts=[0.5], names=["Low", "High"])  # median of 5..200 = 15
    bands = churn_bands(prof["churn_probability"])
    s = tier_summary(prof, tiers, bands, as_of="2026-03-01")
    assert s["size"].tolist() == [3, 2]
    assert s.at["High", "share_customers"] == pytest.approx(0.4)
    assert s.at["High", "share_clv"] == pytest.approx(220 / 250)
    assert s.at["Low", "historic_clv_median"] == 20 and s.at["High", "predicted_clv_mean"] == 110
    # value at risk: predicted CLV × churn ÷ (1 − churn) (predicted CLV already allows for churn)
    assert s.at["High", "clv_at_risk"] == pytest.approx(20 * 0.2 / 0.8 + 200 * 0.8 / 0.2)
    assert s.at["Low", "churn_low"] == pytest.approx(1 / 3) and s.at["Low", "churn_high"] == pytest.approx(1 / 3)
    # within 30 days of 2026-03-01: p0 (03-05) and p3 (03-20); p4 (02-20) is overdue, p1 is too far out
    assert s.at["Low", "next_order_30d"] == pytest.approx(1 / 3) and s.at["High", "next_order_30d"] == pytest.approx(0.5)
    assert s.at["Low", "preferred_channel"] == "sms" and s.at["High", "email_consent"] == 1.0
    assert s.at["Low", "top_regions"] == "NY, US 67%; CA, US 33%"
    assert s.at["Low", "days_between_orders"] == 35


def test_clv_at_risk_matrix_and_pareto():
    prof = _profiles()
    tiers, _ = assign_tiers(prof["predicted_clv"], cuts=[0.5], names=["Low", "High"])
    matrix = clv_at_risk_matrix(prof, tiers, churn_bands(prof["churn_probability"]))
    assert matrix.loc["High", "high"] == pytest.approx(200 * 0.8 / 0.2) and matrix.loc["High", "medium"] == 0
    assert matrix.loc["Low", "medium"] == pytest.approx(10 * 0.5 / 0.5)
    curve = pareto(pd.Series([20.0, 50, np.nan, 30]))
    np.testing.assert_allclose(curve["value_share"], [0.5, 0.8, 1.0])
    np.testing.assert_allclose(curve["customer_share"], [1 / 3, 2 / 3, 1.0])


def test_persona_fields_are_built_from_the_numbers():
    prof = _profiles()
    tiers, _ = assign_tiers(prof["predicted_clv"], cuts=[0.5], names=["Low", "High"])
    s = tier_summary(prof, tiers, churn_bands(prof["churn_probability"]), as_of="2026-03-01")
    fields = persona_fields("High", s.loc["High"])
    assert persona_name("High") == "CLV tier: High"
    assert "2 people (40% of customers, 88% of predicted clv)" in fields["description"]
    assert "median order value $35" in fields["description"]
    assert fields["channels"][0] in {"email", "sms"} and fields["purchase_cadence"] == "orders about every 35 days"


def test_predictions_note_counts_recent_profiles_without_predictions():
    prof = pd.DataFrame({
        "has_predictions": [True, False, False, False],
        "created": ["2025-01-01", "2026-02-15", "2025-06-01", "not a date"],
    })
    note = predictions_note(prof, as_of="2026-03-01")
    # p1 joined 14 days before as_of; p2 long ago; p3's date is unreadable, so not counted as recent
    assert note.startswith("**4 profiles**; **3** (75%) have no predictions — 1 of those joined in the last 90 days.")


def test_with_orders_fallback_replaces_the_historic_columns():
    prof = pd.DataFrame({"profile_id": ["p1", "p2"], "historic_clv": [np.nan, np.nan], "country": ["US", "CA"]})
    orders = pd.DataFrame({"profile_id": ["p1", "p1"], "datetime": ["2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"],
                           "value": [10.0, 30.0]})
    out = with_orders_fallback(prof, orders).set_index("profile_id")
    assert out.at["p1", "historic_clv"] == 40 and out.at["p1", "average_days_between_orders"] == 10
    assert pd.isna(out.at["p2", "historic_clv"]) and out.at["p2", "country"] == "CA"
    assert list(out.index) == ["p1", "p2"]


def test_summary_lines_name_the_top_tier_and_the_largest_block_at_risk():
    prof = _profiles()
    tiers, _ = assign_tiers(prof["predicted_clv"], cuts=[0.5], names=["Low", "High"])
    bands = churn_bands(prof["churn_probability"])
    s = tier_summary(prof, tiers, bands, as_of="2026-03-01")
    lines = summary_lines(s, clv_at_risk_matrix(prof, tiers, bands), profiles_total=6, profiles_without_predictions=1,
                          personas=2, label="predicted CLV")
    assert lines == [
        "- 6 profiles; 1 without Klaviyo's predictions.",
        "- **High** customers are 40% of tiered customers and hold 88% of predicted CLV.",
        # Low: 5·0.1/0.9 + 10·0.5/0.5 + 15·0.7/0.3 = 45.6; High: 20·0.2/0.8 + 200·0.8/0.2 = 805
        "- 851 of next year's spend is at risk: what churn takes away (the spend if they stay, less predicted CLV, "
        "which already allows for churn); the largest block is High × high churn (800).",
        "- Personas: 2 of 2 tiers have a Mavera persona.",
    ]


def test_summary_lines_without_churn_scores_skip_the_risk_bullet():
    prof = _profiles().assign(predicted_clv=np.nan, churn_probability=np.nan)
    tiers, _ = assign_tiers(prof["historic_clv"], cuts=[0.5], names=["Low", "High"])
    bands = churn_bands(prof["churn_probability"])
    s = tier_summary(prof, tiers, bands, field="historic_clv", as_of="2026-03-01")
    lines = summary_lines(s, clv_at_risk_matrix(prof, tiers, bands), profiles_total=6, profiles_without_predictions=6,
                          personas=0, label="historic CLV", fallback=True, dry_run=True)
    assert lines[0] == ("- 6 profiles; 6 without Klaviyo's predictions (the whole account: tiers use historic CLV from "
                        "orders).")
    assert not any("at risk" in line for line in lines)
    assert lines[-1] == "- Personas: 0 of 2 tiers have a Mavera persona (dry run)."


def test_assign_tiers_refuses_cuts_that_tie_and_says_where_to_put_them():
    # 41 of 100 customers at 0: the 0.2 and 0.4 quantiles are both 0, so the middle tier would be empty
    values = pd.Series([0.0] * 41 + list(range(1, 60)), dtype=float, name="predicted_clv")
    with pytest.raises(ValueError, match=r"^tier_cuts \[0\.2, 0\.4\] tie: 41% of customers have predicted CLV 0 .*"
                                         r"put the cut now at 0\.4 above 0\.41\.$"):
        assign_tiers(values, [0.2, 0.4], label="predicted CLV")
    tiers, thresholds = assign_tiers(values, [0.2, 0.45], label="predicted CLV")  # the advice works
    assert thresholds[0] == 0 < thresholds[1] and tiers.value_counts()["Regular"] > 0
    # a tie that reaches the top: the lower cut must come down instead
    with pytest.raises(ValueError, match=r"95% of customers have value 7 .*put the cut now at 0\.6 below 0\.05\.$"):
        assign_tiers(pd.Series([0.0] * 5 + [7.0] * 95))


def test_value_at_risk_does_not_count_churn_twice():
    """Klaviyo's predicted CLV already allows for churn: a loyal VIP (1,000 expected, churn 0.1) risks what churn
    takes from the spend if they stay (1,111 − 1,000 = 111); a lapsing buyer (50 expected, churn 0.9) risks 450.
    Predicted CLV × churn said the opposite (100 against 45)."""
    risk = value_at_risk(pd.Series([1000.0, 50.0, np.nan, 10.0]), pd.Series([0.1, 0.9, 0.5, 1.0]))
    assert risk[0] == pytest.approx(1000 / 0.9 - 1000) and risk[1] == pytest.approx(50 / 0.1 - 50)
    assert np.isnan(risk[2]) and risk[3] == pytest.approx(10 * 0.99 / 0.01)  # churn capped at CHURN_CAP


def test_summary_lines_count_prospects_and_modelled_profiles_apart():
    summary = pd.DataFrame({"size": [90, 10], "share_customers": [0.9, 0.1], "share_clv": [0.4, 0.6],
                            "clv_at_risk": [np.nan, np.nan]}, index=["Occasional", "VIP"])
    lines = summary_lines(summary, pd.DataFrame(), profiles_total=300, profiles_without_predictions=40, personas=2,
                          label="predicted CLV", prospects=200, modelled=25)
    assert lines[0] == "- 300 profiles; 40 without Klaviyo's predictions, 25 profiles' churn and CLV are modelled from their orders."
    assert lines[1] == ("- 200 profiles have never ordered: prospects, counted apart; the tiers describe the 100 customers "
                        "who have.")


def test_buyers_and_prospects_are_apart():
    prof = _profiles().assign(historic_number_of_orders=[0.0, 2, 0, 2, 5, np.nan],
                              created=pd.Timestamp("2026-02-15", tz="UTC"))
    assert buyers(prof).tolist() == [False, True, False, True, True, False]
    p = prospect_summary(prof, as_of="2026-03-01")
    assert p["count"] == 2 and p["share"] == pytest.approx(2 / 6) and p["joined_90d"] == 1.0
    assert p["email_consent"] == 0.5 and p["top_regions"].startswith("NY, US 50%")
    assert p["description"].startswith("2 prospects (33% of profiles) have never ordered; 100% joined in the last 90 days")


def _no_predictions_row():
    prof = _profiles().assign(predicted_clv=np.nan, churn_probability=np.nan, expected_date_of_next_order=None,
                              preferred_channel=None)
    tiers, _ = assign_tiers(prof["historic_clv"], cuts=[0.5], names=["Low", "High"])
    s = tier_summary(prof, tiers, churn_bands(prof["churn_probability"]), field="historic_clv", as_of="2026-03-01")
    return s


def test_tier_summary_without_expected_dates_leaves_next_order_unknown():
    s = _no_predictions_row()
    assert s["next_order_30d"].isna().all()
    assert s[["churn_low", "churn_medium", "churn_high"]].isna().all().all()
    assert s["preferred_channel"].isna().all()


def test_persona_fields_leave_out_sentences_without_numbers():
    """Without predictive analytics there is no churn, 30-day outlook or channel affinity: say nothing about them."""
    fields = persona_fields("High", _no_predictions_row().loc["High"], field="historic_clv")
    text = fields["description"]
    assert "Churn risk" not in text and "within 30 days" not in text and "Prefers" not in text
    assert "predicted CLV" not in text and "unknown" not in text and "nan" not in text.lower()
    assert "Median historic CLV $70; median order value $35; 3.5 orders on average; orders about every 35 days." in text
    assert "100% accept email marketing, 50% accept SMS marketing." in text
    assert fields["channels"] == ["email", "sms"]
    with_predictions = persona_fields("High", tier_summary(
        _profiles(), assign_tiers(_profiles()["predicted_clv"], cuts=[0.5], names=["Low", "High"])[0],
        churn_bands(_profiles()["churn_probability"]), as_of="2026-03-01").loc["High"])["description"]
    assert "Churn risk is mostly" in with_predictions and "50% are expected to order within 30 days" in with_predictions


def test_column_coverage_is_aggregate_only():
    cov = column_coverage(_profiles())
    assert "profile_id" not in cov.index
    assert cov.at["predicted_clv", "filled"] == 5 and cov.at["predicted_clv", "filled_share"] == pytest.approx(5 / 6)
    assert cov.at["predicted_clv", "median"] == 15 and cov.at["region", "distinct"] == 3
    assert pd.isna(cov.at["email_consent", "median"]) and cov.at["email_consent", "distinct"] == 2
