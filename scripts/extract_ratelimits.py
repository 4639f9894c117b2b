"""Extract Klaviyo's per-operation rate limits from the official OpenAPI document.

Writes apifacts/klaviyo_ratelimits.json, which both the client (pacing, helpers/http/ratelimits.py) and the
sandbox (enforcement, sandbox/klaviyo/limits.py) read, so the two always agree. Run it again when the target revision changes:

    python scripts/extract_ratelimits.py ../shared/specs/klaviyo-openapi-2026-07-15.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "apifacts" / "klaviyo_ratelimits.json"

# The lower limits that apply with certain parameters appear only in description prose, e.g.
# "Rate limits when using the `additional-fields[profile]=predictive_analytics` parameter ...
#  Burst: `10/s`<br>Steady: `150/m`".
CONDITIONAL = re.compile(
    r"Rate limits when using the `(?P<param>[^`=]+)=(?P<value>[^`]+)` parameter.*?"
    r"Burst: `(?P<burst>\d+)/s`.*?Steady: `(?P<steady>\d+)/m`",
    re.S,
)


def _rate(text: str | None) -> int | None:
    return int(text.split("/")[0]) if text else None


def extract(spec: dict) -> dict:
    operations = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            limit = op.get("x-klaviyo-ratelimit") if isinstance(op, dict) else None
            if not limit:
                continue
            entry = {
                "burst": _rate(limit.get("burst")),
                "steady": _rate(limit.get("steady")),
                "daily": _rate(limit.get("daily")),
                "scopes": op.get("x-klaviyo-scopes", []),
                "conditional": [],
            }
            for m in CONDITIONAL.finditer(op.get("description", "")):
                entry["conditional"].append(
                    {
                        "param": m["param"],
                        "value": m["value"],
                        "burst": int(m["burst"]),
                        "steady": int(m["steady"]),
                    }
                )
            operations[f"{method.upper()} {path}"] = entry
    revision = spec["info"]["version"]
    source = (f"Klaviyo's OpenAPI document, revision {revision}: x-klaviyo-ratelimit and x-klaviyo-scopes of each "
              "operation, and the lower limits its description states for some parameters; extracted by "
              "scripts/extract_ratelimits.py")
    return {"source": source, "revision": revision, "operations": dict(sorted(operations.items()))}


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else Path("../shared/specs/klaviyo-openapi-2026-07-15.json")
    data = extract(json.loads(spec_path.read_text()))
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{len(data['operations'])} operations, revision {data['revision']} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
