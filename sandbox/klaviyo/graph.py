"""The resources the Klaviyo emulator serves, as a graph: each JSON:API type with how to find one by id,
its attributes, and its relationships.

From that one table come every resource object (sparse fieldsets, ``relationships`` with links written as
Klaviyo writes them, with a trailing slash, and ``data`` when the relationship is included or always sent),
compound documents (``include``: the related objects in ``included``), and the generic endpoints a link can
lead to: ``/api/<type>/<id>``, ``/api/<type>/<id>/<relationship>`` and
``/api/<type>/<id>/relationships/<relationship>``. A relationship is linked only where the 2026-07-15
document serves both its links (``RelationshipLinks`` requires ``self`` and ``related``), so every link the
sandbox writes can be followed.

``include`` and ``additional-fields`` values the document lists are either served or refused here with a
400 that names them (``REFUSED``); none is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import assets as A
from . import render as R
from .call import ApiError, Call, bad_param, not_found
from .params import OPERATIONS
from .select import match_objects, sort_objects


@dataclass(frozen=True)
class Rel:
    target: str  # JSON:API type of the related resources
    many: bool
    get: Callable[[Any, Any], Any] | None  # (store, obj) -> list of objects | object | None
    always: bool = False  # data sent even when not included (Klaviyo does for these)
    linked: bool = True  # the document serves /<type>/<id>/<name> and /<type>/<id>/relationships/<name>
    fields: dict[str, Callable] = field(default_factory=dict)  # filter/sort getters on the related objects


@dataclass(frozen=True)
class Kind:
    type: str
    path: str  # "/api/flows"
    find: Callable[[Any, str], Any]  # (store, id) -> object or None
    ident: Callable[[Any, Any], str]  # (store, object) -> id
    attrs: Callable[[Any, Any, set], dict]
    rels: dict[str, Rel] = field(default_factory=dict)


def _row(store, ident: str):
    return store.profile_index(ident)


def _catalog_row(store, ident: str):
    prefix = "$custom:::$default:::"
    ext = ident[len(prefix):] if ident.startswith(prefix) else None
    k = store.catalog.external_ids.index(ext) if ext in store.catalog.external_ids else None
    return k


def _category_row(store, ident: str):
    cat = store.catalog
    return next((c for c in range(len(cat.categories)) if cat.category_id(c) == ident), None)


def _segments_of(store, i: int) -> list:
    out = []
    for s in store.segments:
        # The needle in the members' own dtype (int32): a Python int makes NumPy cast the whole array to int64
        # first, on every call, which made each profile page cost O(store) (0.3 s a page at 1M profiles).
        pos = int(s.members.searchsorted(s.members.dtype.type(i)))
        if pos < len(s.members) and s.members[pos] == i:
            out.append(s)
    return out


def _flows_triggered(store, kind: str, ident: str) -> list:
    m = store.messaging
    return [m.flow_by_id[f] for f, (k, ref) in store.assets.triggers.items() if k == kind and ref == ident]


def _items_of(store, c: int) -> list[int]:
    return [k for k in range(store.catalog.n) if c in store.catalog.item_categories[k]]


ACTION_FIELDS = {"id": lambda a: a.id, "action_type": lambda a: a.kind.upper().replace("-", "_"),
                 "status": lambda a: "live", "created": lambda a: a.created, "updated": lambda a: a.updated}
MESSAGE_FIELDS = {"id": lambda m: m.id, "name": lambda m: m.name, "created": lambda m: m.created,
                  "updated": lambda m: m.updated}


def _kinds() -> dict[str, Kind]:
    def tags(store, obj) -> list:
        return store.assets.tags_of.get(obj.id, [])

    kinds = [
        Kind("profile", "/api/profiles", _row, lambda st, i: st.profiles.id_of(int(i)), R.profile, {
            "segments": Rel("segment", True, lambda st, i: _segments_of(st, int(i))),
            "push-tokens": Rel("push-token", True, lambda st, i: []),  # no profile has a push token here
        }),
        Kind("segment", "/api/segments", lambda st, i: st.segment_by_id.get(i), lambda st, s: s.id, R.segment, {
            "profiles": Rel("profile", True, None),  # served by routes.py (filters, paging)
            "tags": Rel("tag", True, tags),
            "flow-triggers": Rel("flow", True, lambda st, s: _flows_triggered(st, "segment", s.id)),
        }),
        Kind("flow", "/api/flows", lambda st, i: st.messaging.flow_by_id.get(i), lambda st, f: f.id, R.flow, {
            "flow-actions": Rel("flow-action", True, lambda st, f: f.actions, fields=ACTION_FIELDS),
            "tags": Rel("tag", True, tags),
        }),
        Kind("flow-action", "/api/flow-actions", lambda st, i: st.messaging.action_by_id.get(i), lambda st, a: a.id,
             R.flow_action, {
                 "flow": Rel("flow", False, lambda st, a: st.messaging.flows[a.flow_index], always=True),
                 "flow-messages": Rel("flow-message", True, lambda st, a: [a.message] if a.message else [],
                                      always=True, fields=MESSAGE_FIELDS),
             }),
        Kind("flow-message", "/api/flow-messages", lambda st, i: st.messaging.flow_message_by_id.get(i),
             lambda st, m: m.id, R.flow_message, {
                 "flow-action": Rel("flow-action", False, lambda st, m: st.messaging.action_by_id[m.action_id],
                                    always=True),
                 "template": Rel("template", False, lambda st, m: st.assets.template_of.get(m.id)),
             }),
        Kind("campaign", "/api/campaigns", lambda st, i: st.messaging.campaign_by_id.get(i), lambda st, c: c.id,
             R.campaign, {
                 "campaign-messages": Rel("campaign-message", True, lambda st, c: [c]),
                 "tags": Rel("tag", True, tags),
             }),
        # One message per campaign: the campaign object stands for its message too.
        Kind("campaign-message", "/api/campaign-messages", lambda st, i: st.messaging.campaign_by_message.get(i),
             lambda st, c: c.message_id, R.campaign_message, {
                 "campaign": Rel("campaign", False, lambda st, c: c, always=True),
                 "template": Rel("template", False, lambda st, c: st.assets.template_of.get(c.message_id)),
                 "image": Rel("image", False, lambda st, c: st.assets.image_of.get(c.message_id)),
             }),
        Kind("metric", "/api/metrics", lambda st, i: st.metric_by_id.get(i), lambda st, m: m.id, R.metric, {
            "flow-triggers": Rel("flow", True, lambda st, m: _flows_triggered(st, "metric", m.id)),
        }),
        Kind("event", "/api/events", lambda st, i: st.event(i), lambda st, e: e.id, R.event, {
            "profile": Rel("profile", False, lambda st, e: e.row, always=True),
            "metric": Rel("metric", False, lambda st, e: st.metric_by_id[e.metric_id], always=True),
        }),
        Kind("catalog-item", "/api/catalog-items", _catalog_row, lambda st, k: st.catalog.item_id(int(k)),
             R.catalog_item, {
                 "variants": Rel("catalog-variant", True, lambda st, k: st.assets.variants_of[int(k)], fields={
                     "ids": lambda v: v.id, "sku": lambda v: v.external_id, "published": lambda v: True,
                     "title": lambda v: v.label, "created": lambda v: 0}),
             }),
        Kind("catalog-category", "/api/catalog-categories", _category_row,
             lambda st, c: st.catalog.category_id(int(c)), R.catalog_category, {
                 "items": Rel("catalog-item", True, lambda st, c: _items_of(st, int(c))),
             }),
        Kind("catalog-variant", "/api/catalog-variants", lambda st, i: st.assets.variant_by_id.get(i),
             lambda st, v: v.id, A.catalog_variant, {
                 # The document has no /catalog-variants/{id}/item: the item is named by data only.
                 "item": Rel("catalog-item", False, lambda st, v: v.item, always=True, linked=False),
             }),
        Kind("tag", "/api/tags", lambda st, i: st.assets.tag_by_id.get(i), lambda st, t: t.id, A.tag, {
            "tag-group": Rel("tag-group", False, lambda st, t: t.group),
        }),
        Kind("tag-group", "/api/tag-groups", lambda st, i: st.assets.tag_group_by_id.get(i), lambda st, g: g.id,
             A.tag_group, {"tags": Rel("tag", True, lambda st, g: g.tags)}),
        Kind("template", "/api/templates", lambda st, i: st.assets.template_by_id.get(i), lambda st, t: t.id,
             A.template),
        Kind("image", "/api/images", lambda st, i: st.assets.image_by_id.get(i), lambda st, im: im.id, A.image),
        Kind("push-token", "/api/push-tokens", lambda st, i: None, lambda st, t: "", lambda st, t, o: {}),
    ]
    return {k.type: k for k in kinds}


KINDS = _kinds()
BY_PATH = {k.path: k for k in KINDS.values()}

# Values the document lists that the sandbox refuses, and why (one sentence each, shown in the 400).
REFUSED = {
    ("include", "profile", "conversations"): "the sandbox holds no SMS conversations",
    ("include", "profile", "lists"): "the sandbox account has no lists (only segments)",
    ("include", "event", "attributions"): "the sandbox does not attribute events to campaigns or flows",
}
# additional-fields[<type>] values served, per type (the document lists no others for the served endpoints).
ADDITIONAL = {"profile": {"subscriptions", "predictive_analytics"}, "segment": {"profile_count"},
              "flow": {"definition"}, "template": {"definition"}}


def primary_type(op: str) -> str:
    """The JSON:API type an operation's data is made of."""
    path = op.split(" ", 1)[1]
    parts = path.split("/")
    if len(parts) >= 5 and parts[4] == "relationships":
        kind = BY_PATH["/".join(parts[:3])]
        return kind.rels[parts[5]].target
    if len(parts) >= 5:
        base = BY_PATH.get("/".join(parts[:3]))
        if base is not None and parts[4] in base.rels:
            return base.rels[parts[4]].target
    if path == "/api/segments/{id}/profiles":
        return "profile"
    return BY_PATH["/".join(parts[:3])].type


def check_options(op: str, call: Call) -> None:
    """400 for any include or additional-fields value the document lists but the sandbox does not serve."""
    allowed = OPERATIONS[op]
    if "include" in allowed:
        kind = KINDS[primary_type(op)]
        for value in call.listing("include"):
            why = REFUSED.get(("include", kind.type, value))
            if why or value not in kind.rels:
                raise bad_param("include", f"include={value} is not emulated: {why or 'no such relationship here'}; "
                                           "leave it out (the other include values are served).")
    for name in allowed:
        if name.startswith("additional-fields["):
            kind = name[len("additional-fields["):-1]
            for value in call.listing(name):
                if value not in ADDITIONAL.get(kind, set()):
                    raise bad_param(name, f"{name}={value} is not emulated by the sandbox; leave it out.")


def _links(call: Call, kind: Kind, ident: str, name: str) -> dict:
    return {"self": f"{call.base}{kind.path}/{ident}/relationships/{name}/",
            "related": f"{call.base}{kind.path}/{ident}/{name}/"}


def identifier(store, type_: str, obj) -> dict:
    return {"type": type_, "id": KINDS[type_].ident(store, obj)}


def related(store, rel: Rel, obj):
    """The related objects of ``obj`` over ``rel``: a list (to-many) or one object or None (to-one)."""
    got = rel.get(store, obj) if rel.get else None
    return list(got) if rel.many else got


def linkage(store, rel: Rel, obj):
    got = related(store, rel, obj)
    if rel.many:
        return [identifier(store, rel.target, o) for o in got]
    return None if got is None else identifier(store, rel.target, got)


def resource(store, type_: str, obj, call: Call, include: set[str] = frozenset(), extra: dict | None = None) -> dict:
    """One resource object: sparse attributes, relationships (links; data when included or always sent), links."""
    kind = KINDS[type_]
    ident = kind.ident(store, obj)
    attrs = kind.attrs(store, obj, set(call.listing(f"additional-fields[{type_}]")))
    if extra:
        attrs.update(extra)
    out: dict = {"type": type_, "id": ident, "attributes": R.sparse(attrs, call.fields(type_))}
    rels = {}
    for name, rel in kind.rels.items():
        entry: dict = {}
        # The linkage only when it is sent, or a to-one's link depends on it: a profile's segments cost a
        # search per segment, and every profile of every page would pay it for nothing.
        wanted = rel.get is not None and (rel.always or name in include or not rel.many)
        data = linkage(store, rel, obj) if wanted else None
        # A to-one relationship with nothing at its end (an SMS message has no template) is left out: the
        # document's related endpoint answers an object and its linkage data is not nullable.
        if rel.linked and (rel.many or rel.get is None or data is not None):
            entry["links"] = _links(call, kind, ident, name)
        if rel.get is not None and (rel.always or name in include) and (rel.many or data is not None):
            entry["data"] = data  # never a null to-one: the document's relationship data is not nullable
        if entry:
            rels[name] = entry
    if rels:
        out["relationships"] = rels
    out["links"] = {"self": f"{call.base}{kind.path}/{ident}/"}
    return out


def included(store, type_: str, objs: list, call: Call, include: set[str]) -> list[dict]:
    """The ``included`` objects of a compound document whose primary data are ``objs`` (each once)."""
    kind = KINDS[type_]
    seen: set[tuple[str, str]] = set()
    out = []
    for name in call.listing("include"):
        if name not in include:
            continue
        rel = kind.rels[name]
        for obj in objs:
            got = related(store, rel, obj)
            for target in (got if rel.many else [got] if got is not None else []):
                key = (rel.target, KINDS[rel.target].ident(store, target))
                if key not in seen:
                    seen.add(key)
                    out.append(resource(store, rel.target, target, call))
    return out


def includes(call: Call) -> set[str]:
    return set(call.listing("include"))


def document(store, type_: str, objs: list, call: Call, links: dict, extras: list[dict] | None = None,
             many: bool = True) -> dict:
    """A (compound) document of ``objs``: data, links, and ``included`` when ``include`` was asked for."""
    inc = includes(call)
    data = [resource(store, type_, o, call, inc, extras[k] if extras else None) for k, o in enumerate(objs)]
    body: dict = {"data": data if many else (data[0] if data else None), "links": links}
    if "include" in OPERATIONS[call.op] and inc:
        body["included"] = included(store, type_, objs, call, inc)
    return body


def page(store, type_: str, rows, call: Call, obj_of: Callable | None = None,
         extra_of: Callable | None = None) -> dict:
    """One page of ``rows`` (objects, or row keys mapped by ``obj_of``) by the cursor offset, as a document."""
    size, offset = call.page_size(), call.cursor()
    chunk = list(rows[offset:offset + size])
    objs = [obj_of(r) for r in chunk] if obj_of else chunk
    extras = [extra_of(r) for r in chunk] if extra_of else None
    return document(store, type_, objs, call, call.page_links(offset, size, len(rows)), extras)


# --- generic endpoints ----------------------------------------------------------------------------
def _target(store, call: Call) -> tuple[Kind, Any]:
    kind = BY_PATH["/".join(call.op.split(" ", 1)[1].split("/")[:3])]
    obj = kind.find(store, call.args["id"])
    if obj is None:
        raise not_found(kind.type, call.args["id"])
    return kind, obj


def get_one(store, call: Call) -> dict:
    kind, obj = _target(store, call)
    return document(store, kind.type, [obj], call, {"self": call.url()}, many=False)


def _related_rows(store, call: Call, rel: Rel, obj) -> list:
    got = related(store, rel, obj)
    rows = got if rel.many else ([] if got is None else [got])
    for name in ("filter", "sort"):
        if call.query.get(name) and not rel.fields:
            raise bad_param(name, f"{name} is not emulated on {call.op.split(' ', 1)[1]}; leave it out.")
    if rel.fields:
        rows = sort_objects(match_objects(rows, call, rel.fields), call, rel.fields)
    return rows


def get_related(store, call: Call) -> dict:
    kind, obj = _target(store, call)
    rel = kind.rels[call.op.rsplit("/", 1)[1]]
    rows = _related_rows(store, call, rel, obj)
    if not rel.many:
        if not rows:
            raise ApiError(404, "not_found", "Not found.", f"{kind.type} {call.args['id']} has no {rel.target}.")
        return document(store, rel.target, rows, call, {"self": call.url()}, many=False)
    if "page[size]" in OPERATIONS[call.op] or "page[cursor]" in OPERATIONS[call.op]:
        return page(store, rel.target, rows, call)
    return document(store, rel.target, rows, call, {"self": call.url()})


def get_relationship(store, call: Call) -> dict:
    kind, obj = _target(store, call)
    rel = kind.rels[call.op.rsplit("/", 1)[1]]
    rows = _related_rows(store, call, rel, obj)
    ids = [identifier(store, rel.target, o) for o in rows]
    if not rel.many:
        if not ids:
            raise ApiError(404, "not_found", "Not found.", f"{kind.type} {call.args['id']} has no {rel.target}.")
        return {"data": ids[0], "links": {"self": call.url()}}
    if "page[size]" in OPERATIONS[call.op] or "page[cursor]" in OPERATIONS[call.op]:
        size, offset = call.page_size(), call.cursor()
        return {"data": ids[offset:offset + size], "links": call.page_links(offset, size, len(ids))}
    return {"data": ids, "links": {"self": call.url()}}


def generic_routes(spec_ops: set[str], taken: set[str]) -> dict[str, Callable]:
    """Handlers for every GET-by-id and relationship endpoint of the graph that the document has and that
    no named route serves already."""
    out: dict[str, Callable] = {}
    for kind in KINDS.values():
        key = f"GET {kind.path}/{{id}}"
        if key in spec_ops and key not in taken and kind.type != "push-token":
            out[key] = get_one
        for name, rel in kind.rels.items():
            if not rel.linked or rel.get is None:
                continue
            for key, fn in ((f"GET {kind.path}/{{id}}/{name}", get_related),
                            (f"GET {kind.path}/{{id}}/relationships/{name}", get_relationship)):
                if key in spec_ops and key not in taken:
                    out[key] = fn
    return out
