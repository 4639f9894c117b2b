"""The sandbox's request counters are exact under concurrent clients (tests compare clients' counts with them)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from sandbox import Sandbox


def test_request_counts_are_exact_under_concurrency():
    with Sandbox(seed=3, profiles=200, rate_scale=0) as sb:
        headers = {"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15"}

        def fetch(_):
            with requests.Session() as session:
                for _ in range(40):
                    session.get(f"{sb.klaviyo_base_url}/api/metrics", headers=headers, timeout=30).raise_for_status()

        with ThreadPoolExecutor(12) as pool:
            list(pool.map(fetch, range(12)))
        assert sb.stats()["klaviyo"]["requests"] == {"GET /api/metrics": 12 * 40}
