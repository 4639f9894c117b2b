"""Focus-group question payloads (shapes marked [I] in ../shared/research/mavera.md are inferred)."""

from __future__ import annotations

from collections.abc import Sequence


def likert(text: str, scale: int = 5, id: str | None = None) -> dict:
    if scale not in (5, 7):
        raise ValueError("A Likert scale must have 5 or 7 points.")
    return _question("likert", text, id, scale=scale)


def nps(text: str, id: str | None = None) -> dict:
    return _question("nps", text, id)


def multiple_choice(text: str, options: Sequence[str], id: str | None = None) -> dict:
    if len(options) < 2:
        raise ValueError("A multiple-choice question needs at least two options.")
    return _question("multiple_choice", text, id, options=[str(o) for o in options])


def open_ended(text: str, id: str | None = None) -> dict:
    return _question("open_ended", text, id)


def _question(qtype: str, text: str, qid: str | None, **extra) -> dict:
    if not str(text).strip():
        raise ValueError("A question needs its text.")
    q = {"type": qtype, "text": str(text), **extra}
    if qid:
        q["id"] = qid
    return q


