"""Extract the query parameters the sandbox accepts from Klaviyo's official OpenAPI document.

Writes sandbox/klaviyo/params.json (data, read at import by sandbox/klaviyo/params.py): for each operation
the sandbox serves, its query parameters with their enums (sparse fieldsets, includes, sort), page-size
default and maximum, whether the parameter is required, and the field/operator pairs its ``filter``
description allows. The sandbox validates requests against that table, so it rejects what the real API
rejects without loading the 3 MB document at start-up. Run it again when the target revision changes:

    python scripts/extract_sandbox_params.py ../shared/specs/klaviyo-openapi-2026-07-15.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "sandbox" / "klaviyo" / "params.json"

# The operations the sandbox emulates: the named routes (routes.py, reports.py) and the generic ones of
# graph.py (objects by id, relationships); tests/sandbox/klaviyo/test_params_table.py checks they agree.
OPERATIONS = [
    "GET /api/campaign-messages/{id}",
    "GET /api/campaign-messages/{id}/campaign",
    "GET /api/campaign-messages/{id}/image",
    "GET /api/campaign-messages/{id}/relationships/campaign",
    "GET /api/campaign-messages/{id}/relationships/image",
    "GET /api/campaign-messages/{id}/relationships/template",
    "GET /api/campaign-messages/{id}/template",
    "GET /api/campaigns",
    "GET /api/campaigns/{id}",
    "GET /api/campaigns/{id}/campaign-messages",
    "GET /api/campaigns/{id}/relationships/campaign-messages",
    "GET /api/campaigns/{id}/relationships/tags",
    "GET /api/campaigns/{id}/tags",
    "GET /api/catalog-categories",
    "GET /api/catalog-categories/{id}",
    "GET /api/catalog-categories/{id}/items",
    "GET /api/catalog-categories/{id}/relationships/items",
    "GET /api/catalog-items",
    "GET /api/catalog-items/{id}",
    "GET /api/catalog-items/{id}/relationships/variants",
    "GET /api/catalog-items/{id}/variants",
    "GET /api/catalog-variants/{id}",
    "GET /api/events",
    "GET /api/events/{id}",
    "GET /api/events/{id}/metric",
    "GET /api/events/{id}/profile",
    "GET /api/events/{id}/relationships/metric",
    "GET /api/events/{id}/relationships/profile",
    "GET /api/flow-actions/{id}",
    "GET /api/flow-actions/{id}/flow",
    "GET /api/flow-actions/{id}/flow-messages",
    "GET /api/flow-actions/{id}/relationships/flow",
    "GET /api/flow-actions/{id}/relationships/flow-messages",
    "GET /api/flow-messages/{id}",
    "GET /api/flow-messages/{id}/flow-action",
    "GET /api/flow-messages/{id}/relationships/flow-action",
    "GET /api/flow-messages/{id}/relationships/template",
    "GET /api/flow-messages/{id}/template",
    "GET /api/flows",
    "GET /api/flows/{id}",
    "GET /api/flows/{id}/flow-actions",
    "GET /api/flows/{id}/relationships/flow-actions",
    "GET /api/flows/{id}/relationships/tags",
    "GET /api/flows/{id}/tags",
    "GET /api/images/{id}",
    "GET /api/metrics",
    "GET /api/metrics/{id}",
    "GET /api/metrics/{id}/flow-triggers",
    "GET /api/metrics/{id}/relationships/flow-triggers",
    "GET /api/profiles",
    "GET /api/profiles/{id}",
    "GET /api/profiles/{id}/push-tokens",
    "GET /api/profiles/{id}/relationships/push-tokens",
    "GET /api/profiles/{id}/relationships/segments",
    "GET /api/profiles/{id}/segments",
    "GET /api/segments",
    "GET /api/segments/{id}",
    "GET /api/segments/{id}/flow-triggers",
    "GET /api/segments/{id}/profiles",
    "GET /api/segments/{id}/relationships/flow-triggers",
    "GET /api/segments/{id}/relationships/profiles",
    "GET /api/segments/{id}/relationships/tags",
    "GET /api/segments/{id}/tags",
    "GET /api/tag-groups/{id}",
    "GET /api/tag-groups/{id}/relationships/tags",
    "GET /api/tag-groups/{id}/tags",
    "GET /api/tags/{id}",
    "GET /api/tags/{id}/relationships/tag-group",
    "GET /api/tags/{id}/tag-group",
    "GET /api/templates/{id}",
    "POST /api/campaign-values-reports",
    "POST /api/flow-series-reports",
    "POST /api/flow-values-reports",
]

# Filter descriptions list what is allowed as "<br>`field`: `op`, `op`" after this heading.
FILTER_RULE = re.compile(r"`(?P<field>[^`]+)`: (?P<ops>`[^`]+`(?:, `[^`]+`)*)")


def _filter_fields(description: str) -> dict[str, list[str]]:
    allowed = description.split("Allowed field(s)/operator(s):", 1)
    if len(allowed) < 2:
        raise ValueError(f"filter description without an allowed-fields list: {description[:120]!r}")
    fields: dict[str, list[str]] = {}
    for m in FILTER_RULE.finditer(allowed[1]):
        ops = re.findall(r"`([^`]+)`", m["ops"])
        fields[m["field"]] = sorted(set(fields.get(m["field"], [])) | set(ops))
    return fields


def _param(p: dict) -> dict:
    schema = p.get("schema", {})
    entry: dict = {}
    if p["name"] == "filter":
        entry["fields"] = _filter_fields(p.get("description", ""))
    enum = schema.get("enum") or schema.get("items", {}).get("enum")
    if enum:
        entry["enum"] = sorted(enum)
    if "maximum" in schema:
        entry["max"] = schema["maximum"]
        if "default" in schema:
            entry["default"] = schema["default"]
    if p.get("required"):
        entry["required"] = True
    return entry


def extract(spec: dict) -> dict:
    """``{"revision": ..., "operations": {"METHOD /path": {param: {...}}}}`` for the emulated operations."""
    operations = {}
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        try:
            op = spec["paths"][path][method.lower()]
        except KeyError as exc:
            raise SystemExit(f"{key} is not in the OpenAPI document; update OPERATIONS in {__file__}.") from exc
        params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
        operations[key] = {p["name"]: _param(p) for p in sorted(params, key=lambda p: p["name"])}
    return {"revision": spec["info"]["version"], "operations": operations}


def render(data: dict, source: str) -> str:
    """The committed JSON text: ``data`` with a ``source`` saying where it comes from (as apifacts/ does)."""
    document = {"source": (f"Klaviyo's OpenAPI document {source}, revision {data['revision']}: the query parameters "
                           "of each operation the sandbox serves, their enums, page-size default and maximum, "
                           "whether required, and the field/operator pairs each filter description allows; "
                           "extracted by scripts/extract_sandbox_params.py (do not edit by hand: "
                           "tests/sandbox/klaviyo/test_params_table.py checks the two agree)"),
                **data}
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else Path("../shared/specs/klaviyo-openapi-2026-07-15.json")
    data = extract(json.loads(spec_path.read_text()))
    OUT.write_text(render(data, spec_path.name))
    print(f"{len(data['operations'])} operations, revision {data['revision']} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
