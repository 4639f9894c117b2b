"""Credentials go only to the configured origin: URLs from answers naming another one are refused unsent."""

from __future__ import annotations

import pytest

from helpers.config import KlaviyoSettings
from helpers.http import session as http
from helpers.klaviyo import KlaviyoClient, KlaviyoError
from helpers.mavera import MaveraClient, MaveraError, ResultCache, make_session
from tests.hostile.support import KLAVIYO_KEY, MAVERA_KEY, json_response


def klaviyo(server, **kw) -> KlaviyoClient:
    kw.setdefault("attempts", 2)
    return KlaviyoClient(KlaviyoSettings(api_key=KLAVIYO_KEY, base_url=server.base), rate_scale=0, cache=False,
                         progress=False, backoff=0.01, **kw)


def mavera(server, tmp_path, base: str | None = None) -> MaveraClient:
    base = base or server.base + "/api/v1"
    return MaveraClient(MAVERA_KEY, base, "ws_1", cache=ResultCache(base, MAVERA_KEY, tmp_path),
                        session=make_session(MAVERA_KEY, backoff_factor=0), sleep=lambda s: None)


def segments_page(ids, next_url=None):
    return json_response({"data": [{"type": "segment", "id": i, "attributes": {"name": i}} for i in ids],
                          "links": {"next": next_url}})


@pytest.mark.parametrize("where", ["host", "port", "scheme"])
def test_links_next_to_another_origin_is_refused_and_nothing_is_sent_there(hostile, foreign, other_port, where):
    target = {"host": foreign.base, "port": other_port.base,
              "scheme": hostile.base.replace("http://", "https://")}[where]
    hostile.handler = lambda req: segments_page(["S1"], f"{target}/api/segments?page%5Bcursor%5D=2")
    with pytest.raises(KlaviyoError, match="pointed to another server") as info:
        klaviyo(hostile).segments()
    message = str(info.value)
    assert "KLAVIYO_BASE_URL" in message and "\n" not in message and KLAVIYO_KEY not in message
    assert foreign.requests == [] and other_port.requests == []
    assert len(hostile.requests) == 1  # the https attempt never reached this server either


def test_a_redirect_to_another_host_is_refused_before_it_is_followed(hostile, foreign):
    hostile.handler = lambda req: json_response({}, status=307, headers={"Location": foreign.base + "/api/segments"})
    with pytest.raises(KlaviyoError, match="pointed to another server"):
        klaviyo(hostile).segments()
    assert foreign.requests == []


def test_same_origin_links_are_followed_with_the_key(hostile):
    hostile.handler = lambda req: segments_page(
        [f"S{req.number}"], f"{hostile.base}/api/segments?page%5Bcursor%5D={req.number}" if req.number < 3 else None)
    assert list(klaviyo(hostile).segments()["segment_id"]) == ["S1", "S2", "S3"]
    assert all(r["headers"]["Authorization"] == f"Klaviyo-API-Key {KLAVIYO_KEY}" for r in hostile.requests)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_mavera_never_follows_a_url_to_another_host(hostile, foreign, tmp_path, method):
    hostile.handler = lambda req: json_response({}, status=307, headers={"Location": foreign.base + req.path})
    mc = mavera(hostile, tmp_path)
    with pytest.raises(MaveraError, match="another server") as info:
        mc.usage() if method == "GET" else mc.generate("app_1", {"brief": "x"})
    assert foreign.requests == [] and MAVERA_KEY not in str(info.value)
    assert mc.credits_spent == 0


def test_a_session_sends_only_to_its_origin(hostile, foreign):
    session = http.make_session(headers={"Authorization": "Bearer mvra_x"}, origin=hostile.base)
    assert session.get(hostile.base + "/ok").status_code == 200
    with pytest.raises(http.RefusedURL) as info:
        session.get(foreign.base + "/steal")
    assert foreign.requests == [] and "mvra_x" not in str(info.value)
    with pytest.raises(ValueError, match="already sends to"):
        http.bind_origin(session, foreign.base)
