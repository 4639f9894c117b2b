"""What the emulator charges: Mavera's documented credit costs from ``apifacts/mavera_prices.json``.

The client's estimates read the same file (helpers/mavera/client.py); each side has its own few lines of
arithmetic, so the emulator needs no client code and a wrong figure is corrected in the data file once.
"""

from __future__ import annotations

import math

import apifacts

_PRICES = apifacts.load("mavera_prices")

PERSONA = _PRICES["persona"]["create"]
PERSONA_UPDATE = _PRICES["persona"]["update"]
GENERATION_MIN, GENERATION_MAX = _PRICES["generation"]["min"], _PRICES["generation"]["max"]
CHARS_PER_GENERATION_CREDIT = 40  # the emulator's own choice: longer copy costs more, within the documented range
_BANDS = [(b["complexity"], b["max_words"], b["min"], b["max"]) for b in _PRICES["mave_chat"]["bands"]]
_GROUP = _PRICES["focus_group"]


def generation(text: str) -> int:
    """Credits for a generation whose output is ``text``."""
    return min(GENERATION_MAX, GENERATION_MIN + len(text) // CHARS_PER_GENERATION_CREDIT)


def chat_band(message: str) -> tuple[str, int, int]:
    """(complexity, min credits, max credits) of a Mave message, by its length in words."""
    words = len(message.split())
    return next((name, lo, hi) for name, limit, lo, hi in _BANDS if limit is None or words <= limit)


def focus_group(respondents: int, questions: int) -> int:
    """Credits for a focus group of ``respondents`` answering ``questions`` questions."""
    raw = _GROUP["base"] + _GROUP["per_respondent"] * respondents + _GROUP["per_question"] * questions
    return max(_GROUP["floor"], math.ceil(raw))
