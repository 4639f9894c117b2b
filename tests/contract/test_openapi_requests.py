"""The request checker the notebook tests use: real client traffic passes, each kind of invalid request fails
with the validation error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from helpers.config import KlaviyoSettings
from helpers.klaviyo import KlaviyoClient
from sandbox import Sandbox
from tests.contract.openapi_requests import assert_valid, problems


@pytest.fixture(scope="module")
def sb(openapi_spec_path):
    with Sandbox(seed=3, profiles=600, rate_scale=0) as box:
        yield box


def test_the_clients_requests_are_valid(sb):
    kc = KlaviyoClient(KlaviyoSettings(sb.klaviyo_api_key, sb.klaviyo_base_url), rate_scale=0, cache=False,
                       progress=False)
    with sb.recording() as sent:
        kc.profiles()
        kc.segment_members()
        kc.flow_messages()
        kc.campaigns("sms")
        kc.catalog_items()
        now = datetime.now(UTC)
        kc.events(kc.metric_id("Placed Order"), now - timedelta(days=30), now)
        kc.campaign_values_report("last_90_days")
        kc.flow_series_report("last_365_days", statistics=["recipients", "delivered", "clicks_unique"])
    assert any(r.path.rstrip("/") == "/api/flow-series-reports" for r in sent)
    assert assert_valid(sent) == len(sent) > 20
    assert any(r.path.endswith("/") for r in sent), "links.next (with its trailing slash) was followed and checked"
    assert sb.recorded() == []  # nothing is kept once no one records


@pytest.mark.parametrize(("params", "headers", "expect"), [
    ({"fields[profile]": "email"}, {}, "fields[profile] not declared"),
    ({"include": "bogus"}, {}, "include"),
    ({"page[size]": "500"}, {}, "page[size]"),
    ({}, {"revision": None}, "revision"),
], ids=["undeclared-param", "enum", "maximum", "missing-revision-header"])
def test_each_kind_of_invalid_get_is_reported(sb, params, headers, expect):
    head = {"Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15", **headers}
    with sb.recording() as sent:
        requests.get(sb.klaviyo_base_url + "/api/segments/", params=params, timeout=10,
                     headers={k: v for k, v in head.items() if v is not None})
    (line,) = problems(sent)
    assert line.startswith("GET /api/segments/") and expect in line, line
    with pytest.raises(AssertionError, match="1 of 1 Klaviyo requests do not match the official OpenAPI document"):
        assert_valid(sent)


def test_a_series_body_without_its_interval_is_reported(sb):
    body = {"data": {"type": "flow-series-report", "attributes": {
        "statistics": ["recipients"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": "RESQ6t"}}}
    with sb.recording() as sent:
        requests.post(sb.klaviyo_base_url + "/api/flow-series-reports", json=body, timeout=10, headers={
            "Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15",
            "Content-Type": "application/vnd.api+json"})
    (line,) = problems(sent)
    assert line.startswith("POST /api/flow-series-reports") and "interval" in line, line


def test_an_invalid_report_body_is_reported(sb):
    body = {"data": {"type": "flow-values-report", "attributes": {"statistics": ["opens"],
                                                                  "timeframe": {"key": "last_fortnight"}}}}
    with sb.recording() as sent:
        requests.post(sb.klaviyo_base_url + "/api/flow-values-reports", json=body, timeout=10, headers={
            "Authorization": f"Klaviyo-API-Key {sb.klaviyo_api_key}", "revision": "2026-07-15",
            "Content-Type": "application/vnd.api+json"})
    (line,) = problems(sent)
    assert "POST /api/flow-values-reports" in line and "conversion_metric_id" in line or "body" in line.lower(), line
