"""Auth, revision, 404 and bad-parameter errors, as JSON:API errors[] bodies that match the spec."""

from __future__ import annotations

import copy

import pytest
import requests


def _error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/vnd.api+json")
    (err,) = resp.json()["errors"]
    assert {"id", "code", "title", "detail"} <= set(err)
    return err


def test_missing_and_wrong_key_401(kv, sandbox):
    url = sandbox.klaviyo_base_url + "/api/profiles"
    _error(requests.get(url, headers={"revision": "2026-07-15"}, timeout=10), 401)
    err = _error(requests.get(url, headers={"revision": "2026-07-15", "Authorization": "Klaviyo-API-Key pk_wrong"},
                              timeout=10), 401)
    assert "pk_" not in err["detail"], "the error must not echo keys"


def test_missing_and_unknown_revision_400(sandbox):
    url = sandbox.klaviyo_base_url + "/api/segments"
    auth = {"Authorization": f"Klaviyo-API-Key {sandbox.klaviyo_api_key}"}
    assert "revision" in _error(requests.get(url, headers=auth, timeout=10), 400)["detail"]
    err = _error(requests.get(url, headers={**auth, "revision": "2023-02-22"}, timeout=10), 400)
    assert "2023-02-22" in err["detail"]


@pytest.mark.parametrize("path", ["/api/segments/NOPE00", "/api/flows/NOPE00/flow-actions",
                                  "/api/flow-messages/NOPE00", "/api/flow-actions/1/flow-messages",
                                  "/api/campaigns/01ZZZZZZZZZZZZZZZZZZZZZZZZ/campaign-messages",
                                  "/api/segments/NOPE00/relationships/profiles", "/api/metrics/NOPE00"])
def test_unknown_id_404(kv, path):
    _error(kv.get(path), 404)


@pytest.mark.parametrize("params, named", [
    ({"filter": "equals(first_name,'Ava')"}, "first_name"),
    ({"filter": "greater-or-equal(created,2025-01-01T00:00:00Z)"}, "greater-or-equal"),
    ({"filter": "greater-than(created,'2025-01-01T00:00:00Z')"}, "quoted"),
    ({"fields[profile]": "email,shoe_size"}, "shoe_size"),
    ({"additional-fields[profile]": "lifetime_value"}, "lifetime_value"),
    ({"page[size]": "101"}, "page[size]"),
    ({"sort": "first_name"}, "first_name"),
    ({"include": "lists"}, "lists"),
    ({"colour": "blue"}, "colour"),
])
def test_disallowed_profile_parameters_400_name_the_culprit(kv, params, named):
    err = _error(kv.get("/api/profiles", params), 400)
    assert named in err["detail"]
    assert err["source"]["parameter"] in params


def test_campaigns_need_a_channel_filter(kv):
    assert "messages.channel" in _error(kv.get("/api/campaigns"), 400)["detail"]
    assert "messages.channel" in _error(kv.get("/api/campaigns", {"filter": "contains(name,'Sale')"}), 400)["detail"]


def test_segments_page_size_max_10_and_events_max_1000(kv):
    assert "page[size]" in _error(kv.get("/api/segments", {"page[size]": "11"}), 400)["detail"]
    assert "page[size]" in _error(kv.get("/api/events", {"page[size]": "1001"}), 400)["detail"]
    assert kv.get("/api/events", {"page[size]": "1000"}).status_code == 200


def test_validation_can_fail(kv):
    """The spec check is real: a response missing required members is rejected."""
    resp = kv.get("/api/segments")
    broken = copy.copy(resp)
    body = resp.json()
    del body["data"][0]["attributes"]["is_active"]
    import json

    broken._content = json.dumps(body).encode()
    with pytest.raises(AssertionError, match="does not match the OpenAPI document"):
        kv.validate(broken)


@pytest.mark.parametrize("filter_, named", [
    ("greater-than(datetime,'2024-01-01')", "quoted"),
    ("greater-than(datetime,'2024-01-01T00:00:00Z')", "quoted"),
    ("greater-than(timestamp,'abc')", "timestamp"),
    ("less-than(datetime,'abc')", "datetime"),
])
def test_bad_event_time_filters_are_json_400s(kv, filter_, named):
    """A quoted or non-time value is the caller's error: a JSON:API 400 naming it, never a 500."""
    err = _error(kv.get("/api/events", {"filter": filter_, "page[size]": "1"}), 400)
    assert named in err["detail"]
    assert err["source"]["parameter"] == "filter"


@pytest.mark.parametrize("text", ["o:-5", "o:", "x:3", "o:3x", "\udcff"])
def test_forged_page_cursors_are_400s(kv, text):
    """Only cursors the server issued are accepted: a negative offset must not slice from the end."""
    import base64

    cursor = base64.urlsafe_b64encode(text.encode(errors="surrogateescape")).decode().rstrip("=")
    err = _error(kv.get("/api/profiles", {"page[cursor]": cursor, "page[size]": "2"}), 400)
    assert err["source"]["parameter"] == "page[cursor]"


def test_issued_cursor_still_pages(kv):
    first = kv.get("/api/profiles", {"page[size]": "2", "fields[profile]": "created"}).json()
    second = kv.get(first["links"]["next"]).json()
    assert len(second["data"]) == 2 and second["data"][0]["id"] not in {p["id"] for p in first["data"]}
