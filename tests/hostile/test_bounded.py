"""Every wait is bounded: Retry-After, trickling and oversized bodies, pagination that never ends.

Each hostile server here stops on its own after a while (a few hundred pages, a few seconds of
trickle), so a client without the bound finishes too and the test fails instead of hanging.
"""

from __future__ import annotations

import gzip
import json
import re
import time

import pytest
from werkzeug.wrappers import Response

from helpers.config import KlaviyoSettings
from helpers.http import session as http
from helpers.klaviyo import KlaviyoClient, KlaviyoError
from helpers.mavera import MaveraAPIError, MaveraClient, MaveraError, ResultCache, make_session
from tests.hostile.support import KLAVIYO_KEY, MAVERA_KEY, json_response

SERVER_PAGE_LIMIT = 300  # the hostile chains end here, so a client without a bound ends as well


def klaviyo(server, **kw) -> KlaviyoClient:
    kw.setdefault("attempts", 2)
    return KlaviyoClient(KlaviyoSettings(api_key=KLAVIYO_KEY, base_url=server.base), rate_scale=0, cache=False,
                         progress=False, backoff=0.01, **kw)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def mavera(server, tmp_path, sleeps=None) -> MaveraClient:
    base = server.base + "/api/v1"
    return MaveraClient(MAVERA_KEY, base, "ws_1", cache=ResultCache(base, MAVERA_KEY, tmp_path),
                        session=make_session(MAVERA_KEY, backoff_factor=0), sleep=sleeps if sleeps is not None else Sleeps())


def page(kind, ids, next_url):
    return json_response({"data": [{"type": kind, "id": i, "attributes": {"name": i}} for i in ids],
                          "links": {"next": next_url}}, mimetype="application/vnd.api+json")


# ------------------------------------------------------------------------------------------ Retry-After
@pytest.mark.parametrize("value", ["999999", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_klaviyo_retry_after_beyond_the_cap_fails_at_once_saying_when_to_retry(hostile, value):
    hostile.handler = lambda req: json_response({"errors": [{"detail": "throttled"}]}, 429, {"Retry-After": value})
    with pytest.raises(KlaviyoError) as info:
        klaviyo(hostile, attempts=6).segments()
    message = str(info.value)
    assert re.search(r"rerun at .*\d\d:\d\d local time \(.*\d\d:\d\d UTC\)", message), message
    assert "longer than the 90 s this client waits" in message and "6 attempts" not in message
    assert len(hostile.requests) == 1


@pytest.mark.parametrize("call", ["usage", "generate"])
def test_mavera_retry_after_beyond_the_cap_fails_at_once_saying_when_to_retry(hostile, tmp_path, call):
    hostile.handler = lambda req: json_response({"error": {"message": "Rate limit exceeded."}}, 429,
                                                {"Retry-After": "999999"})
    sleeps = Sleeps()
    mc = mavera(hostile, tmp_path, sleeps)
    with pytest.raises(MaveraAPIError, match=r"asks to wait 999,999 s .* local time .* UTC") as info:
        mc.usage() if call == "usage" else mc.generate("app_1", {"brief": "x"})
    assert info.value.status == 429 and len(hostile.requests) == 1
    assert all(s <= http.RETRY_AFTER_CAP for s in sleeps) and mc.credits_spent == 0


def test_mavera_retry_after_within_the_cap_is_honoured(hostile, tmp_path):
    hostile.handler = lambda req: (json_response({"error": {"message": "slow down"}}, 429, {"Retry-After": "7"})
                                   if req.number == 1 else json_response({"id": "gen_1", "output": "ok"}))
    sleeps = Sleeps()
    assert mavera(hostile, tmp_path, sleeps).generate("app_1", {"brief": "x"})["output"] == "ok"
    assert sleeps == [7.0]


def test_retry_after_forms():
    now = 1_800_000_000.0
    assert http.retry_after_seconds("30", now) == 30
    assert http.retry_after_seconds("Fri, 15 Jan 2027 08:00:30 GMT", now) == 30
    assert http.retry_after_seconds("soon", now) is None and http.retry_after_seconds(None) is None
    assert http.retry_at(3600, now).endswith("09:00 UTC)")


# ------------------------------------------------------------------------------------------ slow and large bodies
def trickle(document: dict, pad_to: int = 1500, every: float = 0.04) -> Response:
    """A valid JSON answer sent one byte at a time (a minute in all): each byte well within the read timeout,
    the whole far past the tests' 2 s deadline, so a loaded machine cannot change which one ends it."""
    body = json.dumps(document).encode().ljust(pad_to)

    def drip():
        for i in range(len(body)):
            time.sleep(every)
            yield body[i:i + 1]

    return Response(drip(), headers={"Content-Length": str(len(body))}, mimetype="application/json")


def test_a_trickling_klaviyo_body_times_out_as_a_whole(hostile, monkeypatch):
    monkeypatch.setattr(http, "BODY_DEADLINE", 2.0)
    hostile.handler = lambda req: trickle({"data": [], "links": {"next": None}})
    with pytest.raises(KlaviyoError, match=r"did not arrive in full within 2(\.0)? s") as info:
        klaviyo(hostile).segments()
    assert "\n" not in str(info.value) and len(hostile.requests) == 1


@pytest.mark.parametrize("call", ["usage", "generate"])
def test_a_trickling_mavera_body_times_out_as_a_whole(hostile, tmp_path, monkeypatch, call):
    monkeypatch.setattr(http, "BODY_DEADLINE", 2.0)
    hostile.handler = lambda req: trickle({"id": "gen_1", "output": "ok", "credits_used": 0})
    mc = mavera(hostile, tmp_path)
    with pytest.raises(MaveraError):
        mc.usage() if call == "usage" else mc.generate("app_1", {"brief": "x"})
    assert [r["method"] for r in hostile.requests].count("POST" if call == "generate" else "GET") == 1


@pytest.mark.parametrize("form", ["declared", "chunked", "gzip"])
def test_a_body_over_the_size_cap_is_refused(hostile, monkeypatch, form):
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 64 * 1024)
    big = json.dumps({"data": [{"type": "segment", "id": f"S{i}", "attributes": {"name": "x" * 100}}
                               for i in range(10_000)], "links": {"next": None}}).encode()  # ~1.3 MB

    def answer(req):
        if form == "declared":
            return Response(big, mimetype="application/json")
        if form == "chunked":  # no Content-Length: only counting the bytes read can stop it
            return Response((big[i:i + 4096] for i in range(0, len(big), 4096)), mimetype="application/json")
        return Response(gzip.compress(big), headers={"Content-Encoding": "gzip"}, mimetype="application/json")

    hostile.handler = answer
    with pytest.raises(KlaviyoError, match=r"over the 0.0625 MB this client reads"):
        klaviyo(hostile).segments()
    assert len(hostile.requests) == 1


# ------------------------------------------------------------------------------------------ pagination
def chain(hostile, kind="segment", same_data=False, empty=False):
    """links.next with a fresh cursor on every page, up to SERVER_PAGE_LIMIT pages."""
    def answer(req):
        n = req.number
        nxt = f"{hostile.base}{req.path}?page%5Bcursor%5D=c{n}" if n < SERVER_PAGE_LIMIT else None
        ids = [] if (empty and n > 1) else (["S1", "S2"] if same_data else [f"S{n}a", f"S{n}b"])
        return page(kind, ids, nxt)

    hostile.handler = answer


def test_klaviyo_same_page_under_a_fresh_cursor_stops_at_once(hostile):
    chain(hostile, same_data=True)
    with pytest.raises(KlaviyoError, match="same page of /api/segments again under a new cursor"):
        klaviyo(hostile).segments()
    assert len(hostile.requests) == 2


def test_klaviyo_empty_pages_that_keep_linking_stop(hostile):
    chain(hostile, empty=True)
    with pytest.raises(KlaviyoError, match="without records"):
        klaviyo(hostile).segments()
    assert len(hostile.requests) == 5  # one page of records, then four empty ones


def test_klaviyo_runaway_chain_of_fresh_pages_stops_at_its_page_budget(hostile):
    chain(hostile)
    with pytest.raises(KlaviyoError, match="ran past 20 pages"):
        klaviyo(hostile, max_pages=20).segments()
    assert len(hostile.requests) == 20


def test_klaviyo_page_budget_follows_the_known_size(hostile):
    chain(hostile)
    kc = klaviyo(hostile)
    with pytest.raises(KlaviyoError, match="ran past 18 pages"):  # 2 per page: 1.5 x 20 / 2 + 3
        list(kc.pages("/api/segments", {"page[size]": 2}, expected=20))
    assert kc._page_budget({"page[size]": 100}, 100, None) == 50_000  # the ceiling: 5 M records a chain


def test_klaviyo_values_report_paging_forever_stops(hostile):
    def answer(req):
        n = req.number
        nxt = f"{hostile.base}/api/flow-values-reports?page_cursor=c{n}" if n < SERVER_PAGE_LIMIT else None
        results = [{"groupings": {"flow_id": "F1", "flow_message_id": "M1", "send_channel": "email"},
                    "statistics": {"recipients": 10}}]
        return json_response({"data": {"type": "flow-values-report", "attributes": {"results": results}},
                              "links": {"next": nxt}})

    hostile.handler = answer
    with pytest.raises(KlaviyoError, match="kept paging"):
        klaviyo(hostile).flow_values_report("last_90_days", "MET1", statistics=["recipients"])
    assert len(hostile.requests) == 2


def mavera_list(hostile, same_data=False, total=None, cursor=True):
    def answer(req):
        n = req.number
        items = [{"id": "p1", "name": "A"}] if same_data else [{"id": f"p{n}_{i}", "name": "A"} for i in range(100)]
        body = {"object": "list", "data": items, "has_more": n < SERVER_PAGE_LIMIT}
        if cursor:
            body["next_cursor"] = f"cur{n}"
        if total is not None:
            body["total"] = total
        return json_response(body)

    hostile.handler = answer


@pytest.mark.parametrize("cursor", [True, False])
def test_mavera_has_more_forever_with_the_same_page_stops(hostile, tmp_path, cursor):
    mavera_list(hostile, same_data=True, cursor=cursor)
    with pytest.raises(MaveraError, match="kept saying has_more"):
        mavera(hostile, tmp_path).list_personas()
    assert len(hostile.requests) == 2


def test_mavera_list_stops_at_the_pages_its_total_allows(hostile, tmp_path):
    mavera_list(hostile, total=250)
    with pytest.raises(MaveraError, match="passes 5 pages"):
        mavera(hostile, tmp_path).list_personas()
    assert len(hostile.requests) == 5


def test_mavera_list_without_a_total_stops_at_the_ceiling(hostile, tmp_path):
    mavera_list(hostile)
    mc = mavera(hostile, tmp_path)
    mc.max_pages = 12
    with pytest.raises(MaveraError, match="passes 12 pages"):
        mc.list_personas()
    assert len(hostile.requests) == 12


def test_mavera_repeated_cursor_stops(hostile, tmp_path):
    def answer(req):
        return json_response({"object": "list", "data": [{"id": f"p{req.number}"}], "has_more": True,
                              "next_cursor": "same" if req.number < SERVER_PAGE_LIMIT else None})

    hostile.handler = answer
    with pytest.raises(MaveraError, match="kept saying has_more"):
        mavera(hostile, tmp_path).list_personas()
    assert len(hostile.requests) == 2
