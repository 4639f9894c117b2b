"""helpers.analysis.clv_model on a simulated shop with known buy-till-you-die parameters (tests/analysis/btyd_sim.py).

One fit of 20,000 simulated customers is shared by the tests of this module (a MAP fit takes seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from helpers.analysis import clv_model
from tests.analysis.btyd_sim import AS_OF, simulate


@pytest.fixture(scope="module")
def shop():
    orders, future = simulate(20_000, seed=1)
    return orders, future, clv_model.predict(orders, AS_OF)


def test_fields_are_klaviyos_indexed_by_profile(shop):
    orders, _, pred = shop
    assert pred.index.name == "profile_id"
    assert list(pred.columns) == clv_model.FIELDS
    assert set(pred.index) == set(orders["profile_id"])
    totals = orders.groupby("profile_id")["value"].agg(["sum", "size"]).reindex(pred.index)
    assert np.allclose(pred["historic_clv"], totals["sum"]) and (pred["historic_number_of_orders"] == totals["size"]).all()
    assert pred["churn_probability"].between(0, 1).all() and (pred["predicted_clv"] >= 0).all()


def test_churn_probability_ranks_who_never_buys_again(shop):
    """AUC of churn_probability against "no order in the next year" is at least 0.7."""
    _, future, pred = shop
    gone = future.reindex(pred.index)["future_orders"].to_numpy() == 0
    u = mannwhitneyu(pred["churn_probability"][gone], pred["churn_probability"][~gone]).statistic
    auc = u / (gone.sum() * (~gone).sum())
    assert auc >= 0.7, auc


def test_predicted_orders_and_spend_add_up_to_what_happens(shop):
    _, future, pred = shop
    actual = future.reindex(pred.index)
    assert pred["predicted_number_of_orders"].sum() == pytest.approx(actual["future_orders"].sum(), rel=0.15)
    assert pred["predicted_clv"].sum() == pytest.approx(actual["future_spend"].sum(), rel=0.20)


def test_fit_recovers_the_simulated_parameters(shop):
    params = shop[2].attrs["fit"].params
    truth = {"r": 0.9, "alpha": 25.0, "a": 0.9, "b": 4.0, "p": 6.0, "q": 4.0, "v": 15.0}
    for name, value in truth.items():
        assert params[name] == pytest.approx(value, rel=0.25), name


def test_a_one_time_buyer_from_a_year_ago_is_not_certainly_alive(shop):
    """The plain BG/NBD calls every customer without a repeat order alive (churn 0); this model does not."""
    model = shop[2].attrs["fit"]
    rows = pd.DataFrame({"frequency": [0.0, 6.0], "recency": [0.0, 340.0], "T": [365.0, 350.0],
                         "mean_repeat_value": [np.nan, 40.0], "historic_clv": [40.0, 280.0],
                         "historic_number_of_orders": [1, 7]}, index=pd.Index(["once", "regular"], name="profile_id"))
    churn = clv_model.score(model, rows)["churn_probability"]
    assert churn["once"] >= 0.3 and churn["regular"] <= 0.2


def test_too_few_repeat_buyers_is_one_sentence():
    orders = pd.DataFrame({"profile_id": [f"p{i}" for i in range(50)],
                           "datetime": pd.Timestamp("2025-06-01", tz="UTC"), "value": 10.0})
    with pytest.raises(clv_model.ModelError, match="0 customers with a second order"):
        clv_model.predict(orders, AS_OF)


def test_holdout_compares_predicted_and_actual_orders_after_the_cutoff():
    orders, _ = simulate(4_000, seed=2)
    table = clv_model.holdout(orders, AS_OF - pd.Timedelta(days=120), AS_OF)
    assert list(table.columns) == ["customers", "predicted", "actual"]
    assert table.index[0] == "0" and table.index[-1] == "6+"
    after = orders[orders["datetime"] >= AS_OF - pd.Timedelta(days=120)]
    cohort = set(orders.loc[orders["datetime"] < AS_OF - pd.Timedelta(days=120), "profile_id"])
    assert table.attrs["actual_total"] == after["profile_id"].isin(cohort).sum()
    assert table.attrs["predicted_total"] == pytest.approx(table.attrs["actual_total"], rel=0.2)
