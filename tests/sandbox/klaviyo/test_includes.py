"""Every ``include`` and ``additional-fields`` value the 2026-07-15 document lists for an endpoint the sandbox
serves is either served (relationship data plus the included objects; the extra attribute) or refused with a
JSON:API 400 that names it. Walked from the document itself, so a served endpoint cannot be left out."""

from __future__ import annotations

import json

import pytest

from sandbox.store.ids import event_id

# What the sandbox refuses, by design (sandbox/klaviyo/graph.py REFUSED); anything else must be served.
REFUSED = {("GET /api/profiles", "include", "conversations"),
           ("GET /api/profiles/{id}", "include", "conversations"),
           ("GET /api/profiles/{id}", "include", "lists"),
           ("GET /api/events", "include", "attributions"),
           ("GET /api/events/{id}", "include", "attributions")}
# Served, and empty for every object of this store: no profile has a push token, no flow is triggered by a segment.
EMPTY = {("profile", "push-tokens"), ("segment", "flow-triggers")}
QUERY = {"GET /api/campaigns": {"filter": "equals(messages.channel,'sms')"}, "GET /api/events": {"page[size]": "20"},
         "GET /api/profiles": {"page[size]": "20"}}


def _spec_params(spec: dict, op: str) -> dict[str, list[str]]:
    method, path = op.split(" ", 1)
    out = {}
    for p in spec["paths"][path][method.lower()].get("parameters", []):
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].split("/")[-1]]
        if p["name"] == "include" or p["name"].startswith("additional-fields["):
            schema = p["schema"]
            out[p["name"]] = schema.get("items", {}).get("enum") or schema.get("enum") or []
    return out


def _sample_ids(store) -> dict[str, list[str]]:
    """Ids for each path's {id}: objects that have what their includes point at (an MMS message with its
    image and an email one with its template, a flow action that sends, a metric that triggers flows)."""
    m, a = store.messaging, store.assets
    mms = next(c for c in m.campaigns if c.message_id in a.image_of)
    email = next(c for c in m.campaigns if c.channel == "email")
    sender = next(x for f in m.flows for x in f.actions if x.message is not None)
    return {"profiles": [store.profiles.id_of(0)], "segments": [store.segments[0].id], "flows": [m.flows[0].id],
            "flow-actions": [sender.id], "flow-messages": [x.id for x in m.flow_messages[:4]],
            "campaigns": [mms.id, email.id], "campaign-messages": [mms.message_id, email.message_id],
            "metrics": [store.placed_order.id, m_id(store, "Checkout Started")],
            "events": [event_id("P", int(store.sources["P"].day(5)[1][0]))],
            "catalog-items": [store.catalog.item_id(0)], "catalog-categories": [store.catalog.category_id(0)],
            "catalog-variants": [a.variants[0].id], "tags": [a.tags[0].id], "tag-groups": [a.tag_groups[0].id],
            "templates": [a.templates[0].id], "images": [next(iter(a.image_by_id))]}


def m_id(store, name: str) -> str:
    return next(m.id for m in store.metrics if m.name == name)


@pytest.fixture(scope="module")
def document(openapi_spec_path):
    return json.loads(openapi_spec_path.read_text())


def _primary(body) -> list[dict]:
    data = body["data"]
    return data if isinstance(data, list) else [data]


def _check_include(kv, op: str, body: dict, value: str, linked: dict) -> None:
    """Every primary object carries the relationship's data, and every object it names is in ``included``."""
    included = {(o["type"], o["id"]): o for o in body.get("included", [])}
    for res in _primary(body):
        linked.setdefault((res["type"], value), 0)
        if value not in res.get("relationships", {}):
            # A to-one with nothing at its end is left out (its data may not be null): the relationship
            # endpoint must agree that there is none.
            gone = kv.get(res["links"]["self"] + f"relationships/{value}/")
            assert gone.status_code == 404 and "has no" in gone.text, (op, value, res["id"])
            continue
        assert "data" in res["relationships"][value], (op, value, "relationship without data")
        data = res["relationships"][value]["data"]
        for ref in data if isinstance(data, list) else [data]:
            assert (ref["type"], ref["id"]) in included, (op, value, ref)
            assert included[(ref["type"], ref["id"])]["attributes"], (op, value, ref)
            linked[(res["type"], value)] += 1


def _check_additional(op: str, body: dict, param: str, value: str) -> None:
    for res in _primary(body):
        if (param, res["attributes"].get("editor_type")) == ("additional-fields[template]", "CODE"):
            assert value not in res["attributes"]  # the document: "Omitted for CODE/USER_DRAGGABLE" templates
            continue
        assert value in res["attributes"], (op, param, value)


def test_every_listed_include_and_additional_field_is_served_or_refused(kv, sandbox, document):
    ids = _sample_ids(sandbox.store)
    ops = sorted(op for op in sandbox.klaviyo.handlers if op.startswith("GET "))
    refused, linked, checked = set(), {}, 0
    for op in ops:
        path = op.split(" ", 1)[1]
        urls = [path.replace("{id}", i) for i in ids[path.split("/")[2]]] if "{id}" in path else [path]
        for param, values in _spec_params(document, op).items():
            for value, url in ((v, u) for v in values for u in urls):
                resp = kv.get(url, {**QUERY.get(op, {}), param: value})
                checked += 1
                if resp.status_code == 400:
                    err = resp.json()["errors"][0]
                    assert err["source"]["parameter"] == param and value in err["detail"], (op, param, value, err)
                    refused.add((op, param, value))
                elif resp.status_code == 404 and not path.endswith("{id}"):
                    pass  # a to-one relationship with nothing at its end (an SMS message's template)
                else:
                    assert resp.status_code == 200, (op, param, value, resp.text[:300])
                    if param == "include":
                        _check_include(kv, op, resp.json(), value, linked)
                    else:
                        _check_additional(op, resp.json(), param, value)
    assert refused == REFUSED
    assert checked > 40
    # Served means something: every served include links related objects somewhere, except the empty ones.
    assert {k for k, n in linked.items() if n == 0} <= EMPTY, {k: n for k, n in linked.items() if n == 0}


def test_included_objects_carry_realistic_content(kv, sandbox):
    flows = kv.get("/api/flows", {"include": "tags"}).json()
    tags = {o["id"]: o["attributes"]["name"] for o in flows["included"] if o["type"] == "tag"}
    assert {"Onboarding", "Retention"} <= set(tags.values())
    tag = kv.get(f"/api/tags/{next(iter(tags))}", {"include": "tag-group"}).json()
    assert tag["included"][0]["attributes"]["name"] in {"Lifecycle", "Promotion", "Audience"}

    metrics = kv.get("/api/metrics", {"include": "flow-triggers"}).json()
    triggers = {m["id"]: [r["id"] for r in m["relationships"]["flow-triggers"]["data"]] for m in metrics["data"]}
    names = {f["id"]: f["attributes"]["name"] for f in metrics["included"]}
    placed = triggers[sandbox.store.placed_order.id]
    assert placed and all(names[f] in ("Post-Purchase Thank You", "Winback", "VIP Thank You") for f in placed)
    for flow_id in placed:
        definition = kv.get(f"/api/flows/{flow_id}", {"additional-fields[flow]": "definition"}).json()[
            "data"]["attributes"]["definition"]
        assert definition["triggers"] == [{"type": "metric", "id": sandbox.store.placed_order.id}]
        actions = {a["id"]: a for a in definition["actions"]}
        step, walked = definition["entry_action_id"], []
        while step:  # the actions chain from the entry action through links.next
            walked.append(actions[step]["type"])
            step = actions[step]["links"]["next"]
        assert len(walked) == len(actions) and walked[0].startswith("send-")
        sends = [a for a in definition["actions"] if a["type"] == "send-email"]
        assert all(a["data"]["message"]["subject_line"] for a in sends)

    email = next(m for m in sandbox.store.messaging.flow_messages if m.channel == "email")
    got = kv.get(f"/api/flow-messages/{email.id}", {"include": "template"}).json()
    (template,) = got["included"]
    assert email.subject in template["attributes"]["html"] and template["attributes"]["editor_type"] == "CODE"
    assert got["data"]["attributes"]["definition"]["template_id"] == template["id"]

    items = kv.get("/api/catalog-items", {"include": "variants", "page[size]": "10"}).json()
    variants = [o for o in items["included"] if o["type"] == "catalog-variant"]
    assert len(variants) >= 10 and all(v["attributes"]["sku"] and v["attributes"]["price"] > 0 for v in variants)
    assert all(v["relationships"]["item"]["data"]["type"] == "catalog-item" for v in variants)

    sms = kv.get("/api/campaigns", {"filter": "equals(messages.channel,'sms')",
                                    "include": "campaign-messages"}).json()
    mms = [m for m in sms["included"] if m["attributes"]["definition"]["content"]["media_url"]]
    assert mms
    image = kv.get(mms[0]["relationships"]["image"]["links"]["related"]).json()["data"]
    assert image["attributes"]["image_url"] == mms[0]["attributes"]["definition"]["content"]["media_url"]
