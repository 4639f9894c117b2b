"""Query parameters the sandbox accepts per operation, extracted from Klaviyo's OpenAPI document.

The table is data, ``params.json`` beside this module, written by scripts/extract_sandbox_params.py (query
parameters, their enums and maxima, and the field/operator pairs each ``filter`` description allows), so
that the sandbox rejects exactly what the real API rejects without loading the 3 MB document at start-up.
Do not edit the JSON by hand: rerun the script when the revision changes
(tests/sandbox/klaviyo/test_params_table.py checks that the two agree).
"""

from __future__ import annotations

import json
from importlib import resources

_TABLE = json.loads(resources.files(__package__).joinpath("params.json").read_text(encoding="utf-8"))

SOURCE: str = _TABLE["source"]
REVISION: str = _TABLE["revision"]
# {"METHOD /path": {query parameter: {"enum": [...], "max": n, "default": n, "required": True, "fields": {...}}}}
OPERATIONS: dict[str, dict[str, dict]] = _TABLE["operations"]
