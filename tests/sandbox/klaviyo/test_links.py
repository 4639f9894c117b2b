"""Paths with and without a trailing slash answer alike, links are written as Klaviyo writes them, and every
link the sandbox emits can be followed (a crawl of the served endpoints, each answer checked against the spec)."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

STARTS = [("/api/profiles", {"page[size]": "3", "include": "push-tokens",
                             "additional-fields[profile]": "subscriptions,predictive_analytics"}),
          ("/api/segments", {"include": "tags,flow-triggers"}),
          ("/api/flows", {"include": "flow-actions,tags"}),
          # SMS first: its first campaign is an MMS, whose image link is then among the first followed.
          ("/api/campaigns", {"filter": "equals(messages.channel,'sms')", "include": "campaign-messages,tags",
                              "page[size]": "3"}),
          ("/api/campaigns", {"filter": "equals(messages.channel,'email')", "include": "campaign-messages,tags",
                              "page[size]": "3"}),
          ("/api/metrics", {"include": "flow-triggers"}),
          ("/api/events", {"page[size]": "5", "include": "profile,metric"}),
          ("/api/catalog-items", {"page[size]": "3", "include": "variants"}),
          ("/api/catalog-categories", {"page[size]": "3"})]
PER_TEMPLATE = 4  # distinct URLs followed per endpoint template: enough to reach every kind of link


def _links(doc) -> list[str]:
    """Every URL under a "links" key anywhere in a document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "links" and isinstance(v, dict):
                out += [u for u in v.values() if isinstance(u, str)]
            else:
                out += _links(v)
    elif isinstance(doc, list):
        for v in doc:
            out += _links(v)
    return out


def _template(url: str) -> str:
    """The endpoint a URL is for, ids replaced (what PER_TEMPLATE counts by)."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    return "/".join("{id}" if k == 3 else p for k, p in enumerate(parts))


@pytest.mark.parametrize("path", ["/api/profiles", "/api/segments", "/api/flows", "/api/metrics",
                                  "/api/catalog-categories"])
def test_trailing_slash_and_slashless_answer_alike(kv, path):
    plain, slashed = kv.get(path), kv.get(path + "/")
    assert plain.status_code == slashed.status_code == 200
    assert plain.json() == slashed.json()
    one = plain.json()["data"][0]["links"]["self"]
    assert kv.get(one).json() == kv.get(one.rstrip("/")).json()
    campaigns = kv.get("/api/campaigns/", {"filter": "equals(messages.channel,'email')"})
    assert campaigns.status_code == 200
    cid = campaigns.json()["data"][0]["id"]
    assert kv.get(f"/api/campaigns/{cid}/campaign-messages/").json() == \
        kv.get(f"/api/campaigns/{cid}/campaign-messages").json()


def test_links_are_written_the_way_klaviyo_writes_them(kv, sandbox):
    body = kv.get("/api/profiles", {"page[size]": "2", "fields[profile]": "email"}).json()
    base = sandbox.klaviyo_base_url
    nxt = body["links"]["next"]
    # https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=...: a slash before the query, brackets encoded.
    assert re.fullmatch(re.escape(base) + r"/api/profiles/\?.*page%5Bcursor%5D=[A-Za-z0-9_-]+.*", nxt), nxt
    assert "page%5Bsize%5D=2" in nxt and "fields%5Bprofile%5D=email" in nxt  # the next page asks the same
    assert body["links"]["self"].startswith(base + "/api/profiles/?")
    profile = body["data"][0]
    assert profile["links"]["self"] == f"{base}/api/profiles/{profile['id']}/"
    assert profile["relationships"]["segments"]["links"] == {
        "self": f"{base}/api/profiles/{profile['id']}/relationships/segments/",
        "related": f"{base}/api/profiles/{profile['id']}/segments/"}


def test_every_emitted_link_can_be_followed(kv):
    queue: deque[str] = deque()
    for path, params in STARTS:
        resp = kv.get(path, params)
        assert resp.status_code == 200, (path, resp.text[:300])
        queue.extend(_links(resp.json()))
    seen: set[str] = set()
    per_template: dict[str, int] = {}
    followed = 0
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        template = _template(url)
        if per_template.get(template, 0) >= PER_TEMPLATE:
            continue
        per_template[template] = per_template.get(template, 0) + 1
        resp = kv.get(url)  # kv checks every answer against the OpenAPI document
        assert resp.status_code == 200, f"{url} -> {resp.status_code}: {resp.text[:300]}"
        followed += 1
        queue.extend(_links(resp.json()))
    # The crawl reached every kind of link: objects by id, related objects and relationship endpoints.
    kinds = {t for t in per_template}
    for expected in ("/api/profiles/{id}/segments", "/api/profiles/{id}/relationships/push-tokens",
                     "/api/segments/{id}/tags", "/api/segments/{id}/relationships/flow-triggers",
                     "/api/flow-actions/{id}/flow", "/api/flow-messages/{id}/template",
                     "/api/campaign-messages/{id}/image", "/api/campaigns/{id}/relationships/tags",
                     "/api/metrics/{id}/flow-triggers", "/api/events/{id}/profile", "/api/events/{id}",
                     "/api/catalog-items/{id}/variants", "/api/catalog-categories/{id}/items",
                     "/api/tags/{id}/tag-group", "/api/tag-groups/{id}/tags", "/api/templates/{id}",
                     "/api/catalog-variants/{id}"):
        assert expected in kinds, f"the crawl never reached {expected}"
    assert followed > 100
