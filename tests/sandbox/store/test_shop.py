"""The seeded shop: deterministic per seed, realistic, scalable; properties that need no HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from sandbox.store import Store
from sandbox.store.ids import event_id


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
    # Event ids carry their kind and row index: 11 characters like Klaviyo's, distinct per row and kind.
    ids = {event_id(kind, k) for kind in "PL" for k in (0, 1, 31, 32, 123456)}
    assert len(ids) == 10 and all(len(i) == 11 and i[0] == "4" for i in ids)


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
