"""The Mavera client: personas, generations, Mave chat and focus groups, with credits kept in check.

    from helpers.mavera import MaveraClient, likert, nps
    mc = MaveraClient.from_env(max_credits=500)   # MAVERA_API_KEY / _BASE_URL / _WORKSPACE_ID (+ .env)

Every Mavera request and response shape lives in this package and nowhere else, one module per concern:
``client`` (:class:`MaveraClient`: spending policy, personas, generations, Mave, focus groups),
``wire`` (GETs, POST attempts, charged requests made exactly once, lists that end, errors),
``transport`` (the session on the project's HTTP policy, error lines, waits), ``credits`` (documented
prices and estimates), ``errors`` (why a step stopped), ``questions`` (focus-group question payloads),
``cache`` (paid results on disk, the lock two runs share) and ``results`` (answers as a frame).
"""

from helpers.mavera.cache import LOCK_WAIT, ResultCache, canonical, request_key
from helpers.mavera.client import MaveraClient
from helpers.mavera.credits import (
    GENERATION_CREDITS,
    MAVE_BANDS,
    PERSONA_CREDITS,
    focus_group_credits,
    mave_chat_band,
)
from helpers.mavera.errors import (
    BudgetExceeded,
    CreditsExhausted,
    FocusGroupFailed,
    FocusGroupTimeout,
    MaveraAPIError,
    MaveraAuthError,
    MaveraError,
    MaveraSettingsError,
    MaveraUnavailable,
)
from helpers.mavera.questions import likert, multiple_choice, nps, open_ended
from helpers.mavera.results import ANSWER_COLUMNS, FocusGroupResult, answers_frame
from helpers.mavera.transport import make_session

__all__ = [
    "ANSWER_COLUMNS", "GENERATION_CREDITS", "LOCK_WAIT", "MAVE_BANDS", "PERSONA_CREDITS", "BudgetExceeded",
    "CreditsExhausted", "FocusGroupFailed", "FocusGroupResult", "FocusGroupTimeout", "MaveraAPIError",
    "MaveraAuthError", "MaveraClient", "MaveraError", "MaveraSettingsError", "MaveraUnavailable", "ResultCache", "answers_frame", "canonical",
    "focus_group_credits", "likert", "make_session", "mave_chat_band", "multiple_choice", "nps", "open_ended",
    "request_key",
]
