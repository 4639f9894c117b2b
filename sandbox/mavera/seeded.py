"""Deterministic choices for the Mavera emulator: the same seed and request always give the same answer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def digest(*parts: Any) -> bytes:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def rng(*parts: Any) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(digest(*parts)[:8], "big"))


def pick(options: list[str], *parts: Any) -> str:
    return options[int.from_bytes(digest(*parts)[:4], "big") % len(options)]

