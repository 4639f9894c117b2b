"""helpers.analysis.clv_source: one source of churn and CLV per profile, as job 01's `predictions` parameter says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import clv_source
from tests.analysis.btyd_sim import AS_OF, simulate


@pytest.fixture(scope="module")
def shop():
    """3,000 simulated buyers plus 500 profiles that never ordered; Klaviyo scored the first half of each."""
    orders, _ = simulate(3_000, seed=5)
    ids = sorted(orders["profile_id"].unique()) + [f"x{i:04d}" for i in range(500)]
    scored = np.r_[np.arange(len(ids) - 500) < 1_500, np.arange(500) < 250]
    profiles = pd.DataFrame({"profile_id": ids, "has_predictions": scored})
    klaviyo_orders = orders.groupby("profile_id").size().reindex(ids).fillna(0)
    profiles["historic_number_of_orders"] = np.where(scored, klaviyo_orders.to_numpy(), np.nan)
    profiles["historic_clv"] = np.where(scored, 10.0 * klaviyo_orders.to_numpy(), np.nan)
    profiles["churn_probability"] = np.where(scored, 0.5, np.nan)
    profiles["predicted_clv"] = np.where(scored, 100.0, np.nan)
    profiles["predicted_number_of_orders"] = np.where(scored, 1.0, np.nan)
    profiles["expected_date_of_next_order"] = None
    return profiles, orders


def test_auto_models_only_the_profiles_klaviyo_left_blank(shop):
    profiles, orders = shop
    assert clv_source.needs_orders("auto", profiles)
    c = clv_source.combine(profiles, orders, "auto", AS_OF)
    p = c.profiles
    blank_buyers = ~profiles["has_predictions"] & profiles["profile_id"].str.startswith("c")
    assert c.modelled == blank_buyers.sum() == 1_500 and c.problem is None
    assert (p.loc[blank_buyers, "prediction_source"] == "model").all()
    assert (p.loc[profiles["has_predictions"], "prediction_source"] == "klaviyo").all()
    assert (p.loc[profiles["has_predictions"], "predicted_clv"] == 100).all()  # Klaviyo's kept
    assert p.loc[blank_buyers, "churn_probability"].between(0, 1).all()
    # blank profiles without any order are prospects: 0 orders, no churn or CLV
    blank_never = ~profiles["has_predictions"] & profiles["profile_id"].str.startswith("x")
    assert (p.loc[blank_never, "historic_number_of_orders"] == 0).all()
    assert p.loc[blank_never, "churn_probability"].isna().all() and c.field("predicted_clv") == "predicted_clv"


def test_model_replaces_klaviyos_predictions_for_every_buyer(shop):
    profiles, orders = shop
    c = clv_source.combine(profiles, orders, "model", AS_OF)
    buyers = profiles["profile_id"].str.startswith("c")
    assert c.modelled == 3_000 and (c.profiles.loc[buyers, "prediction_source"] == "model").all()
    assert (c.profiles.loc[buyers, "predicted_clv"] != 100).all()
    comparison = clv_source.compare(profiles, c.model)
    assert list(comparison.index) == ["churn probability", "predicted CLV"]
    assert comparison.at["predicted CLV", "customers"] == 1_500
    assert comparison.at["predicted CLV", "klaviyo_total"] == pytest.approx(150_000)


def test_klaviyo_mode_never_models(shop):
    profiles, orders = shop
    assert not clv_source.needs_orders("klaviyo", profiles)
    c = clv_source.combine(profiles, None, "klaviyo", AS_OF)
    assert c.modelled == 0 and c.model is None and c.profiles["churn_probability"].notna().sum() == 1_750
    unscored = profiles.assign(has_predictions=False)
    assert clv_source.needs_orders("klaviyo", unscored)  # historic CLV from orders, as before
    c = clv_source.combine(unscored, orders, "klaviyo", AS_OF)
    assert c.modelled == 0 and c.field("predicted_clv") == "historic_clv"
    assert (c.profiles["historic_number_of_orders"] >= 1).sum() == 3_000
    assert "no predictive analytics" in clv_source.describe(c, "klaviyo", 365)


def test_a_history_too_thin_for_the_model_is_said_and_keeps_historic_values(shop):
    profiles, _ = shop
    few = pd.DataFrame({"profile_id": profiles["profile_id"][:40], "datetime": AS_OF - pd.Timedelta(days=30),
                        "value": 20.0})
    c = clv_source.combine(profiles.assign(has_predictions=False), few, "auto", AS_OF)
    assert c.modelled == 0 and c.problem.startswith("The churn model was not used: the order history has 0 customers")
    assert (c.profiles["historic_clv"] > 0).sum() == 40
    assert clv_source.describe(c, "auto", 365).startswith("**The churn model was not used")


def test_description_names_who_is_modelled_and_from_what(shop):
    profiles, orders = shop
    c = clv_source.combine(profiles, orders, "auto", AS_OF)
    text = clv_source.describe(c, "auto", 365)
    assert text.startswith("**1,500 profiles get churn and CLV from a model of their own orders**: the profiles "
                           "Klaviyo left without predictions.")
    assert f"read {len(orders):,} Placed Order events of the last 365 days from 3,000 customers" in text
    table, reading = clv_source.holdout_check(orders, AS_OF, 120)
    assert table is not None and reading.startswith("**How well the model fits this account.**")


def test_unknown_mode_is_refused(shop):
    with pytest.raises(ValueError, match="predictions must be one of auto, klaviyo, model"):
        clv_source.combine(shop[0], None, "guess", AS_OF)
