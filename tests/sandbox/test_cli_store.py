"""`python -m helpers.sandbox` as a process, and store properties that need no HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from helpers.sandbox.store import Store
from helpers.sandbox.store_ids import decode_event_id, event_id

ROOT = Path(__file__).resolve().parents[2]


def test_cli_prints_urls_and_keys_then_serves_until_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "helpers.sandbox", "--port", "0", "--seed", "3",
                             "--profiles", "1000", "--rate-scale", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) >= {"klaviyo_base_url", "mavera_base_url", "klaviyo_api_key", "mavera_api_key",
                             "mavera_workspace_id", "env"}
        assert info["klaviyo_api_key"].startswith("pk_sbx_") and info["mavera_api_key"].startswith("mvra_test_")
        assert info["env"]["WORKBOOKS_SANDBOX"] == "1"
        truth = requests.get(info["klaviyo_base_url"] + "/sandbox/truth", timeout=10).json()
        assert truth["profiles_total"] == 1000 and truth["seed"] == 3
        r = requests.get(info["klaviyo_base_url"] + "/api/metrics", timeout=10,
                         headers={"Authorization": f"Klaviyo-API-Key {info['klaviyo_api_key']}", "revision": "2026-07-15"})
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0  # a bound on a hang, not a measure of speed


def test_cli_rejects_bad_flags_with_a_clear_message():
    done = subprocess.run([sys.executable, "-m", "helpers.sandbox", "--fault-rate", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "fault rate must be between 0 and 1" in done.stderr


def test_store_is_deterministic_for_a_seed_and_differs_across_seeds():
    a, b, c = Store(5, 500, t_end=1_800_000_000), Store(5, 500, t_end=1_800_000_000), Store(6, 500, t_end=1_800_000_000)
    assert np.array_equal(a.profiles.ids, b.profiles.ids) and not np.array_equal(a.profiles.ids, c.profiles.ids)
    assert [s.id for s in a.segments] == [s.id for s in b.segments]
    assert np.array_equal(a.messaging.flow_daily, b.messaging.flow_daily)
    assert np.all(np.diff(a.profiles.created) >= 0), "created must grow with the row index"


def test_ids_round_trip():
    s = Store(9, 300, t_end=1_800_000_000)
    for i in (0, 1, 299):
        assert s.profile_index(s.profiles.id_of(i)) == i
    assert s.profile_index("01ZZZZZZZZZZZZZZZZZZZZZZZZ") is None
    assert len(s.profiles.id_of(0)) == 26
    assert decode_event_id(event_id("P", 123456)) == ("P", 123456)


def test_shop_is_realistic():
    s = Store(7, 5000, t_end=1_800_000_000)
    p = s.profiles
    clv = p.total_clv[p.has_pred & (p.hist_orders > 0)]
    assert np.percentile(clv, 99) > 5 * np.median(clv), "CLV should be heavy-tailed"
    recent = p.has_pred & (p.last_order > 0) & (s.t_end - p.last_order < 30 * 86400)
    stale = p.has_pred & (p.last_order > 0) & (s.t_end - p.last_order > 250 * 86400)
    assert p.churn[recent].mean() + 0.3 < p.churn[stale].mean(), "churn should follow recency"
    assert 2.0 < s.orders.n / max(1, int((s.orders.per_profile > 0).sum())) < 4.5
    assert len(s.catalog.external_ids) == 150
    assert 38 <= sum(c.channel == "email" for c in s.messaging.campaigns) <= 42
    names = {}
    for c in s.messaging.campaigns:
        names.setdefault(c.name, set()).add(c.channel)
    assert sum(v == {"email", "sms"} for v in names.values()) >= 5, "some campaigns run on both channels"
    sms_segments = {c.audience for c in s.messaging.campaigns if c.channel == "sms"}
    for seg in sms_segments:
        members = s.segment_by_id[seg].members
        counts = [c for c in s.messaging.campaigns if c.channel == "sms" and c.audience == seg]
        row = s.messaging.campaign_daily[counts[0].row].sum(axis=0)
        assert row[0] == p.sms_consent[members].sum(), "SMS goes only to SMS-consented members"


@pytest.mark.parametrize("profiles", [100, 20_000])
def test_store_scales(profiles):
    s = Store(1, profiles, t_end=1_800_000_000)
    assert s.profiles.n == profiles and s.orders.n > 0
