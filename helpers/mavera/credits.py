"""What Mavera charges: the documented credit costs, and the estimates made from them before any call."""

from __future__ import annotations

import math

import apifacts

# ---------------------------------------------------------------- documented credit costs
# From apifacts/mavera_prices.json (guides/credits, features/mave-agent; its "source" says where each figure
# comes from). The sandbox charges from the same file, so a corrected figure changes both at once.
_PRICES = apifacts.load("mavera_prices")
PERSONA_CREDITS = _PRICES["persona"]["create"]  # POST /personas, one-time
GENERATION_CREDITS = (_PRICES["generation"]["min"], _PRICES["generation"]["max"])  # POST /generations
# POST /mave/chat by complexity: (name, max words of a message in that band or None, min credits, max credits).
MAVE_BANDS = tuple((b["complexity"], b["max_words"], b["min"], b["max"]) for b in _PRICES["mave_chat"]["bands"])
_FOCUS_GROUP = _PRICES["focus_group"]


def focus_group_credits(respondents: int, n_questions: int) -> int:
    """Credits for one focus group: the documented rule made exact.

    Docs: "~50-75 credits for 10-25 respondents, plus ~2 per question; 50 respondents and 5 questions
    ≈ 100-125". The line through those figures is 40 + 1.5 per respondent + 2 per question (10 → 55,
    25 → 77.5, 50 resp. + 5 q. → 125), rounded up, never below the documented floor of 50. The
    coefficients live in apifacts/mavera_prices.json, which the sandbox charges from too.
    """
    f = _FOCUS_GROUP
    return max(f["floor"], math.ceil(f["base"] + f["per_respondent"] * respondents + f["per_question"] * n_questions))


def mave_chat_band(message: str) -> tuple[str, int, int]:
    """(complexity, min credits, max credits) for a Mave message, classified by its length.

    Mavera decides complexity itself; message length is the proxy used here (and by the sandbox), and
    budgets use the band's maximum so the estimate is never below the charge.
    """
    words = len(message.split())
    for name, limit, lo, hi in MAVE_BANDS:
        if limit is None or words <= limit:
            return name, lo, hi
    raise AssertionError("unreachable")  # pragma: no cover


