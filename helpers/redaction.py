"""Keys never reach text: every error message, log line and report goes through :func:`redact`.

Keys are masked where errors are turned into text (``KlaviyoError``/``MaveraError`` construction,
the runner's error recording), not where they are printed, so a message that travelled through a
library (requests quoting a header, a server echoing it back) is caught too. The secrets masked
are the keys in the environment (``KLAVIYO_API_KEY``, ``MAVERA_API_KEY``, the mail password
``WORKBOOKS_SMTP_PASSWORD``) and every credential a
session or settings object was built with (:func:`register`), in the forms a message may quote
them: as is, escaped (``\\r\\n`` as ``repr`` and JSON write them) and each piece between
characters a header cannot carry (a key broken by a line break, a space or a non-Latin-1 letter is
quoted in pieces; pieces shorter than :data:`_MIN_PIECE` are too common to be secret, e.g. ``live``).
Anything that merely looks like a credential (``Klaviyo-API-Key …``, ``Bearer …``, ``pk_…``,
``mvra_…``) is masked as well. The clients redact where they turn errors into text; the runner applies
the same :func:`redact` as a net over everything it writes (run.json, index.html, the executed notebook
via :func:`redact_notebook`). This is the only redaction module; it imports nothing of the project, so
every layer can use it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable

KEY_VARIABLES = ("KLAVIYO_API_KEY", "MAVERA_API_KEY", "WORKBOOKS_SMTP_PASSWORD")

_lock = threading.Lock()
_registered: set[str] = set()

# A credential after its scheme, and tokens shaped like the two services' keys.
_PATTERNS = (
    (re.compile(r"(?i)\b(Klaviyo-API-Key|Bearer)(\s+|\\[rnt]|%20)+[^\s'\",;)}\]]+"), r"\1 ***"),
    (re.compile(r"\bpk_[A-Za-z0-9_\-]{3,}"), "pk_***"),
    (re.compile(r"\bmvra_[A-Za-z0-9_\-]+"), "mvra_***"),
)
# Where a key cannot go into a header unchanged: control characters, spaces, non-Latin-1 letters, and
# their escaped forms as repr() and JSON write them.
_BREAKS = re.compile(r"[\x00-\x20\x7f-\x9f]+|[^\x00-\xff]+|\\[rnt0]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}")
_MIN_PIECE = 4  # shorter pieces of a broken key carry too little to matter and would mask ordinary words


def register(secret: str | None) -> None:
    """Mask ``secret`` in every later :func:`redact` (sessions and settings call this with their keys)."""
    if secret and secret.strip():
        with _lock:
            _registered.add(secret)


def mask(secret: str | None) -> str:
    """A form of a key that is safe to show: its prefix only (``pk_***``)."""
    if not secret:
        return "<unset>"
    prefix = secret.split("_", 1)[0] if "_" in secret else secret[:2]
    return f"{prefix}_***"


def _forms(secret: str) -> set[str]:
    """The ways a message may quote ``secret``: raw, escaped, and its pieces between unsafe characters."""
    forms = {secret, secret.strip(), repr(secret)[1:-1], json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1], secret.encode("unicode_escape").decode("ascii")}
    for form in list(forms):
        forms.update(p for p in _BREAKS.split(form) if len(p) >= _MIN_PIECE)
    return {f for f in forms if f}


def secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Every secret :func:`redact` masks now (environment keys, registered ones, ``extra``)."""
    with _lock:
        found = set(_registered)
    found.update(v for name in KEY_VARIABLES if (v := os.environ.get(name)) and v.strip())
    found.update(s for s in extra if s and s.strip())
    return sorted(found)


def redact(text: object, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret and anything shaped like a credential masked."""
    out = "" if text is None else str(text)
    forms: dict[str, str] = {}
    for secret in secrets(extra):
        for form in _forms(secret):
            forms.setdefault(form, mask(secret))
    for form in sorted(forms, key=len, reverse=True):  # longest first: a piece never splits a whole key
        if form in out:
            out = out.replace(form, forms[form])
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out


def redact_notebook(nb):
    """The notebook with every key removed from its outputs, metadata and sources (a new node if any was)."""
    import nbformat  # only the runner calls this; kernels and clients never pay for the import

    text = nbformat.writes(nb)
    clean = redact(text)
    # Safe forms hold no quote or backslash, so replacing inside the JSON text keeps it valid JSON.
    return nb if clean == text else nbformat.reads(clean, as_version=4)
