"""Why a Mavera step stopped: each refusal as its own exception, with one line that says what to do."""

from __future__ import annotations

from helpers.redaction import redact


class MaveraError(RuntimeError):
    """A Mavera call failed; the message is one line that says what to do.

    Redacted here, where the error becomes text: a key a server echoed back never reaches a report.
    """

    def __init__(self, message: object = "", *args: object):
        super().__init__(redact(message), *args)


class BudgetExceeded(MaveraError):
    """A call's credit estimate exceeds what is left of ``max_credits``; nothing was sent."""


class CreditsExhausted(MaveraError):
    """Mavera answered 402: the credit balance is spent. ``done`` lists what completed before it."""

    def __init__(self, message: str, done: list[dict] | None = None):
        super().__init__(message)
        self.done = list(done or [])


class MaveraAPIError(MaveraError):
    """Mavera returned an error response (status and Mavera's error code kept)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class MaveraAuthError(MaveraAPIError):
    """Mavera rejected the key (401) or refused it access (403): no retry helps until it is fixed. It is never
    caught by a notebook's Mavera step: the job stops as a permanent failure (the runner's exit 2)."""


class MaveraSettingsError(MaveraError):
    """A setting is wrong in a way no retry fixes (MAVERA_BASE_URL's server does not speak https, its
    certificate is not trusted): the job stops as a permanent failure (exit 2)."""


class MaveraUnavailable(MaveraAPIError):
    """Mavera did not answer (5xx, timeouts, dropped connections) through every retry within the request's
    deadline. Nothing half-done is hidden: a charged request was looked up after each unanswered attempt,
    so the message says whether it was applied. A step that stops on it did not complete (never "succeeded")."""


class FocusGroupTimeout(MaveraError):
    """A focus group did not finish before the deadline; a rerun resumes it instead of creating it again."""


class FocusGroupFailed(MaveraError):
    """Mavera reports the focus group as failed; it is forgotten locally so a rerun creates a new one."""


