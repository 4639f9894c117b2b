"""The committed parameter table (sandbox/klaviyo/params.json) is exactly what scripts/extract_sandbox_params.py makes of the official spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.klaviyo import params as klaviyo_params
from scripts.extract_sandbox_params import OUT, extract, render


@pytest.fixture(scope="module")
def spec(openapi_spec_path):
    return json.loads(openapi_spec_path.read_text()), openapi_spec_path.name


def test_committed_table_matches_official_spec(spec):
    document, _ = spec
    data = extract(document)
    assert data["revision"] == klaviyo_params.REVISION
    assert data["operations"] == klaviyo_params.OPERATIONS


def test_committed_json_is_the_generator_output(spec):
    """Byte for byte, so a hand edit of the generated table cannot go unnoticed."""
    document, name = spec
    assert render(extract(document), name) == OUT.read_text(encoding="utf-8")
    assert OUT.parent == Path(klaviyo_params.__file__).parent  # the file the sandbox reads at import
    assert json.loads(OUT.read_text(encoding="utf-8"))["source"] == klaviyo_params.SOURCE


def test_extractor_reads_filter_rules_and_limits(monkeypatch):
    op = {"parameters": [
        {"name": "filter", "in": "query", "required": True,
         "description": "See docs<br>Allowed field(s)/operator(s):<br>`id`: `any`<br>`created`: `less-than`, "
                        "`greater-than`"},
        {"name": "page[size]", "in": "query", "schema": {"type": "integer", "default": 20, "maximum": 100}},
        {"name": "fields[profile]", "in": "query", "schema": {"type": "array", "items": {"enum": ["b", "a"]}}},
        {"name": "id", "in": "path", "schema": {"type": "string"}},
    ]}
    document = {"info": {"version": "2099-01-01"},
                "paths": {"/api/profiles": {"get": op}}}
    monkeypatch.setattr("scripts.extract_sandbox_params.OPERATIONS", ["GET /api/profiles"])
    assert extract(document) == {"revision": "2099-01-01", "operations": {"GET /api/profiles": {
        "fields[profile]": {"enum": ["a", "b"]},
        "filter": {"fields": {"created": ["greater-than", "less-than"], "id": ["any"]}, "required": True},
        "page[size]": {"default": 20, "max": 100}}}}


def test_every_served_operation_is_in_the_table_and_nothing_else(sandbox):
    """The generator's list, the committed table and the routes the app serves (named and generic) agree."""
    from scripts.extract_sandbox_params import OPERATIONS as listed

    assert sorted(listed) == sorted(klaviyo_params.OPERATIONS) == sorted(sandbox.klaviyo.handlers)
