"""One revision is spoken: another valid revision date is refused with a 400 that says which one and why;
a value that is not a revision date is a malformed-revision 400."""

from __future__ import annotations

import pytest
import requests


def _get(sandbox, revision: str) -> requests.Response:
    return requests.get(sandbox.klaviyo_base_url + "/api/segments", timeout=10, headers={
        "Authorization": f"Klaviyo-API-Key {sandbox.klaviyo_api_key}", "revision": revision})


def test_the_pinned_revision_is_served(sandbox):
    assert _get(sandbox, "2026-07-15").status_code == 200


@pytest.mark.parametrize("revision", ["2026-10-15", "2025-04-15", "2026-07-15.pre", "2024-10-15"])
def test_other_revision_dates_say_which_revision_this_emulator_speaks(sandbox, revision):
    resp = _get(sandbox, revision)
    assert resp.status_code == 400
    (err,) = resp.json()["errors"]
    assert err["source"] == {"parameter": "revision"}
    assert revision in err["detail"] and "speaks revision 2026-07-15 only" in err["detail"]
    assert "pins" in err["detail"] and "KLAVIYO_REVISION" in err["detail"]


@pytest.mark.parametrize("revision", ["latest", "2026-13-01", "2026-02-30", "15-07-2026", "2026-07-15;drop"])
def test_malformed_revision_stays_a_400(sandbox, revision):
    resp = _get(sandbox, revision)
    assert resp.status_code == 400
    (err,) = resp.json()["errors"]
    assert err["detail"].startswith("Malformed revision header") and err["source"] == {"parameter": "revision"}
