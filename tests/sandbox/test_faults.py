"""Seeded and scheduled faults (429, 5xx, dropped connections): reproducible per seed, independent of order."""

from __future__ import annotations

import pytest
import requests

from sandbox import Sandbox


def _outcomes(seed: int, rate: float) -> list:
    out = []
    with Sandbox(seed=seed, fault_rate=rate, rate_scale=0) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"})
        for k in range(40):
            try:
                r = s.get(f"{sb.klaviyo_base_url}/api/catalog-items", params={"page[size]": str(1 + k % 5)}, timeout=10)
                out.append(r.status_code)
            except requests.ConnectionError:
                out.append("dropped")
                s = requests.Session()
                s.headers.update({"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"})
        out.append(sb.stats()["klaviyo"]["faults"])
    return out


def test_faults_are_reproducible_for_a_seed():
    first, second = _outcomes(5, 0.35), _outcomes(5, 0.35)
    assert first == second
    assert first[-1] > 0 and any(o != 200 for o in first[:-1])
    assert "dropped" in first or any(o in (429, 500, 502, 503, 504) for o in first[:-1])
    assert _outcomes(6, 0.35)[:-1] != first[:-1]


def test_scheduled_faults_drop_and_fail_before_the_request_is_applied(sandbox):
    base = sandbox.klaviyo_base_url
    h = {"Authorization": f"Klaviyo-API-Key {sandbox.klaviyo_api_key}", "revision": "2026-07-15"}
    r = requests.post(f"{base}/sandbox/faults", json={"method": "GET", "path_prefix": "/api/metrics", "status": 0,
                                                       "count": 1}, timeout=10)
    assert r.status_code == 201
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/metrics", headers=h, timeout=10)
    assert requests.get(f"{base}/api/metrics", headers=h, timeout=10).status_code == 200

    before = sandbox.stats()["klaviyo"]["requests"].get("POST /api/campaign-values-reports", 0)
    requests.post(f"{base}/sandbox/faults", json={"method": "POST", "path_prefix": "/api/campaign-values-reports",
                                                   "status": 503, "count": 1}, timeout=10)
    body = {"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["recipients"], "timeframe": {"key": "last_30_days"},
        "conversion_metric_id": sandbox.store.placed_order.id}}}
    failed = requests.post(f"{base}/api/campaign-values-reports", json=body, headers=h, timeout=10)
    assert failed.status_code == 503 and failed.json()["errors"][0]["status"] == 503
    assert sandbox.stats()["klaviyo"]["requests"].get("POST /api/campaign-values-reports", 0) == before
    assert requests.post(f"{base}/api/campaign-values-reports", json=body, headers=h, timeout=10).status_code == 200
    assert requests.post(f"{base}/sandbox/faults", json={"status": 503}, timeout=10).status_code == 400


def _faulted_concurrently(order: list[int], workers: int) -> dict:
    """Each URL's sorted outcomes (status or "dropped") when the same 60 requests arrive in ``order``."""
    from collections import defaultdict
    from concurrent.futures import ThreadPoolExecutor

    outcomes = defaultdict(list)
    with Sandbox(seed=9, fault_rate=0.3, rate_scale=0) as sb:
        headers = {"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"}

        def one(k: int):
            # Each URL is sent twice: its second sighting draws afresh, as a retry would, and which thread
            # holds which sighting does not change the URL's outcomes.
            size, field = 1 + k % 10, ("title", "price", "url")[k % 30 // 10]
            try:
                with requests.Session() as s:
                    status = s.get(f"{sb.klaviyo_base_url}/api/catalog-items", headers=headers, timeout=10,
                                   params={"page[size]": str(size), "fields[catalog-item]": field}).status_code
            except requests.ConnectionError:
                status = "dropped"
            outcomes[(size, field)].append(status)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, order))
        assert sb.faults.injected == len(sb.faults.log) > 0
    return {key: sorted(map(str, v)) for key, v in outcomes.items()}


def test_faults_do_not_depend_on_request_order():
    """Concurrent fetches see the same faults as sequential ones: faults hash the request, not its arrival."""
    import random

    order = list(range(60))
    sequential = _faulted_concurrently(order, 1)
    shuffled = order[:]
    random.Random(3).shuffle(shuffled)
    concurrent = _faulted_concurrently(shuffled, 6)
    assert len(sequential) == 30 and concurrent == sequential
