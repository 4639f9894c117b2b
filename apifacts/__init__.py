"""Documented API facts that both the clients (``helpers``) and the emulator (``sandbox``) need, as data.

One JSON file per fact sheet, each with a ``source`` field saying where its numbers come from:
``klaviyo_ratelimits`` (extracted from Klaviyo's OpenAPI document by scripts/extract_ratelimits.py) and
``mavera_prices`` (Mavera's documented credit costs). The clients estimate and pace from these files and
the emulator charges and enforces from them, so neither side takes its numbers from the other's code.
This package holds data only and imports neither side.
"""

from __future__ import annotations

import json
from importlib import resources


def names() -> list[str]:
    """The fact sheets this package holds (file names without ``.json``)."""
    return sorted(f.name.removesuffix(".json") for f in resources.files(__name__).iterdir() if f.name.endswith(".json"))


def load(name: str) -> dict:
    """The parsed fact sheet ``name`` (a new dict on every call, so a caller may keep or cache it)."""
    resource = resources.files(__name__).joinpath(f"{name}.json")
    if not resource.is_file():
        raise KeyError(f"no fact sheet apifacts/{name}.json; there are: {', '.join(names())}")
    return json.loads(resource.read_text(encoding="utf-8"))
