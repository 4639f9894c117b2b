"""The sandbox's order histories come from a buy-till-you-die process with known parameters (sandbox/store/btyd.py),
and an account mode without predictions: a fitted model finds the planted parameters again from the Placed Order
events served over HTTP, and ``--no-predictions`` nulls every profile's predictive analytics."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers.analysis import clv_model
from helpers.klaviyo import KlaviyoClient
from sandbox import Sandbox
from sandbox.store.shop import Store


@pytest.mark.parametrize("seed", [7, 11])
def test_modified_bg_nbd_fitted_to_the_served_orders_recovers_the_planted_parameters(seed, monkeypatch):
    with Sandbox(seed=seed, rate_scale=0) as sb:
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        truth = sb.truth()["btyd"]
        kc = KlaviyoClient.from_env()
        end = pd.Timestamp(sb.store.t_end, unit="s", tz="UTC")
        orders = kc.events(kc.metric_id("Placed Order"), end - pd.Timedelta(days=truth["history_days"] + 1), end)
    assert truth["model"] == "modified_bg_nbd" and truth["exact"]
    assert orders["profile_id"].nunique() == truth["buyers"]
    params = clv_model.fit(clv_model.summarise(orders, end)).params
    for name in ("r", "alpha", "a", "b"):
        assert params[name] == pytest.approx(truth[name], rel=0.35), (name, params[name], truth[name])


def test_one_time_buyers_drop_out_more_often_than_the_plain_bg_nbd_allows():
    """About a / (a + b) of the buyers leave right after their first order: many one-order buyers from long ago."""
    s = Store(7, 5000, t_end=1_800_000_000)
    once = (s.orders.per_profile == 1).sum() / (s.orders.per_profile > 0).sum()
    assert 0.25 < once < 0.6


def test_no_predictions_mode_nulls_predictive_analytics_and_keeps_the_orders():
    with_pred, without = Store(7, 2000, t_end=1_800_000_000), Store(7, 2000, t_end=1_800_000_000, predictions=False)
    assert not without.profiles.has_pred.any() and with_pred.profiles.has_pred.any()
    assert (without.orders.time == with_pred.orders.time).all()
    with Sandbox(seed=7, profiles=500, rate_scale=0, predictions=False) as sb:
        truth = sb.truth()
    assert truth["predictions"] is False and truth["profiles_without_predictions"] == truth["profiles_total"] == 500


def test_cli_flag_starts_an_account_without_predictions():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--profiles", "300", "--no-predictions"],
                            stdout=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        import requests

        truth = requests.get(first["klaviyo_base_url"] + "/sandbox/truth", timeout=30).json()
        assert truth["predictions"] is False and truth["profiles_without_predictions"] == 300
    finally:
        proc.terminate()
        proc.wait(timeout=30)
