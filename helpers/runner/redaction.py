"""Keys out of everything the runner writes: run.json, index.html, the executed notebook and its HTML report.

The clients redact where they turn errors into text; this is the runner's net under them, for text it did
not write itself (a library's exception message in a traceback, an error line copied into run.json). It
knows the keys because it hands them to the kernels: whatever the environment holds in
:data:`SECRET_VARIABLES` is replaced by :func:`helpers.config.redact`'s safe form, wherever it appears.

A key may appear whole, escaped (``repr``, JSON) or split by the characters that made it unusable as a
header (CR/LF, spaces, non-Latin-1 letters). So besides the whole key in each of those forms, every long
run of letters and digits in it is replaced on its own; runs shorter than :data:`MIN_FRAGMENT` are left
alone, as they are too common to be secret (``pk``, ``sbx``, ``live``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

from helpers import config

SECRET_VARIABLES = ("KLAVIYO_API_KEY", "MAVERA_API_KEY")
MIN_FRAGMENT = 10
_RUN = re.compile(rf"[A-Za-z0-9]{{{MIN_FRAGMENT},}}")


def secrets_in_env() -> list[str]:
    """The key values the kernels of this run see (the runner's environment, ``.env`` already loaded)."""
    return [value for name in SECRET_VARIABLES if (value := os.environ.get(name, "").strip())]


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every form of every key replaced by its safe form (``pk_***``)."""
    for secret in secrets_in_env() if secrets is None else secrets:
        if not secret:
            continue
        safe = config.redact(secret)
        for form in _forms(secret):
            text = text.replace(form, safe)
    return text


def redact_notebook(nb):
    """The notebook with every key removed from its outputs, metadata and sources (a new node if any was)."""
    import nbformat

    secrets = secrets_in_env()
    text = nbformat.writes(nb)
    clean = redact(text, secrets)
    # The safe forms hold no quote or backslash, so replacing inside the JSON text keeps it valid JSON.
    return nb if clean == text else nbformat.reads(clean, as_version=4)


def _forms(secret: str) -> list[str]:
    whole = [secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]]
    fragments = sorted(set(_RUN.findall(secret)), key=len, reverse=True)
    # Longest first, so a fragment never leaves the tail of a longer form behind.
    return [form for form in dict.fromkeys([*sorted(whole, key=len, reverse=True), *fragments]) if form]
