"""The Mavera client: personas, generations, Mave chat and focus groups, with credits kept in check.

Every Mavera request and response shape lives in this module (the public docs are incomplete; see
../shared/research/mavera.md, where "[I]" marks an inferred shape). If a field name turns out wrong
against the live API, it is corrected here and nowhere else.

Spending policy:
- every charging call is estimated first from the documented costs; ``max_credits`` refuses a call whose
  estimate would take this client's spend over the budget, before any request is sent;
- ``dry_run`` builds and prints every payload and sends nothing;
- results are cached on disk by the sha256 of endpoint + canonical JSON payload, so an unchanged rerun
  spends nothing; a focus group created but not finished is remembered and resumed, never re-created;
- a POST that charges credits is retried only when Mavera cannot have applied it (429, connection
  refused); after a 5xx, timeout or dropped connection the client looks the object up by name first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import requests

import apifacts
from helpers import http
from helpers.config import ConfigError, MaveraSettings, cache_dir, key_problem, load_env
from helpers.private import private_dir, tighten_tree, write_private
from helpers.redaction import redact

# ---------------------------------------------------------------- documented credit costs
# From apifacts/mavera_prices.json (guides/credits, features/mave-agent; its "source" says where each figure
# comes from). The sandbox charges from the same file, so a corrected figure changes both at once.
_PRICES = apifacts.load("mavera_prices")
PERSONA_CREDITS = _PRICES["persona"]["create"]  # POST /personas, one-time
GENERATION_CREDITS = (_PRICES["generation"]["min"], _PRICES["generation"]["max"])  # POST /generations
# POST /mave/chat by complexity: (name, max words of a message in that band or None, min credits, max credits).
MAVE_BANDS = tuple((b["complexity"], b["max_words"], b["min"], b["max"]) for b in _PRICES["mave_chat"]["bands"])
_FOCUS_GROUP = _PRICES["focus_group"]

ANSWER_COLUMNS = ["persona_id", "persona_name", "respondent", "question_id", "question", "type", "answer"]
CHAT_TIMEOUT = (10, 180)  # Mave takes 30-90 s on a first message
DEFAULT_TIMEOUT = (10, 120)
MAX_POST_ATTEMPTS = 5
DEFAULT_POLL_SECONDS = 3.0  # real focus groups take 30-120 s (research: poll every 3-5 s)


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


# ---------------------------------------------------------------- errors
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
    """Mavera rejected the key (401): no retry helps until it is fixed (a job that stops on it is a permanent
    failure for the runner, exit 2; inside a Mavera step it is shown like any other refusal)."""


class FocusGroupTimeout(MaveraError):
    """A focus group did not finish before the deadline; a rerun resumes it instead of creating it again."""


class FocusGroupFailed(MaveraError):
    """Mavera reports the focus group as failed; it is forgotten locally so a rerun creates a new one."""


class _Unknown(Exception):
    """A charging POST failed in a way that leaves open whether Mavera applied it."""


# ---------------------------------------------------------------- question builders (payload shapes [I])
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


# ---------------------------------------------------------------- bounds
MAX_RETRY_AFTER = http.RETRY_AFTER_CAP  # a longer Retry-After fails with when to retry, never a long sleep
MAX_LIST_PAGES = 1_000  # one list endpoint (100 items a page); a list that never ends stops here
LOCK_WAIT = 600.0  # seconds a run waits for another run's identical charging request to finish


# ---------------------------------------------------------------- result cache
def canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_key(endpoint: str, payload: Any) -> str:
    return hashlib.sha256(f"{endpoint}\n{canonical(payload)}".encode()).hexdigest()


class ResultCache:
    """JSON files under ``cache_dir()/mavera/<account hash>/``; the key itself is never stored.

    Private to the user (0700 folders, 0600 files; older looser ones are tightened on open): the
    entries are paid results. :meth:`claim` is the lock two runs take on one request hash, so the
    second waits for the first's result instead of paying for the same request again.
    """

    def __init__(self, base_url: str, api_key: str, root: Path | None = None):
        account = hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()[:16]
        self.root = (root or cache_dir()) / "mavera"
        self.dir = self.root / account
        if self.dir.is_dir():
            private_dir(self.dir, parents_up_to=self.root)
            tighten_tree(self.dir)

    def _path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            value = json.loads(self._path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict) -> None:
        private_dir(self.dir, parents_up_to=self.root)
        write_private(self._path(key), json.dumps(value, default=str))  # atomic: never half an entry

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @contextmanager
    def claim(self, key: str, wait: float = LOCK_WAIT, what: str = "This request") -> Iterator[None]:
        """Hold the lock of one request hash (``fcntl.flock`` on ``<key>.lock``), waiting at most ``wait`` s.

        Runs on one machine that share the cache (two schedulers, a notebook and the runner) take
        it around a charging request; the later one then finds the earlier one's result in the cache.
        The lock goes with the process: a run that dies never leaves it held.
        """
        private_dir(self.dir, parents_up_to=self.root)
        fd = os.open(self.dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            deadline = time.monotonic() + wait
            pause = 0.02
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise MaveraError(
                            f"{what}: another run has been sending the same request for over {wait:g} s; "
                            "let it finish, then rerun (its result will be reused, not paid again).") from None
                    time.sleep(pause)
                    pause = min(0.5, pause * 1.5)
            yield
        finally:
            os.close(fd)  # releases the lock


# ---------------------------------------------------------------- HTTP session
def make_session(api_key: str, backoff_factor: float = 0.5, base_url: str | None = None) -> requests.Session:
    """The Mavera session, built on the project's one HTTP policy module (helpers/http.py).

    urllib3 retries idempotent GETs on 429/5xx/dropped connections, honouring Retry-After; POST and
    PATCH are not retried there (only connection failures before anything was sent): the client
    decides per call, because a charging POST must not be repeated blindly. The session sends only to
    the origin of ``base_url`` (the client binds it to its own when given a session without one).
    """
    return http.make_session(
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 "Accept": "application/json", "User-Agent": "klaviyo-mavera-workbooks"},
        retry=http.make_retry(attempts=4, backoff=backoff_factor, backoff_max=20, methods=("GET",),
                              max_retry_after=MAX_RETRY_AFTER),
        timeout=DEFAULT_TIMEOUT,
        origin=base_url,
    )


# ---------------------------------------------------------------- results
@dataclass
class FocusGroupResult:
    id: str | None
    name: str
    status: str
    answers: pd.DataFrame
    raw: dict = field(repr=False)
    credits_used: int = 0
    from_cache: bool = False


def answers_frame(group: Mapping) -> pd.DataFrame:
    """Tidy answers (one row per respondent per question) from a completed focus-group body.

    [I] Shape: ``results.responses[] = {respondent_id, persona{id,name}, answers[{question_id, value}]}``;
    flat rows (``persona_id``, ``question_id``, ``answer``/``score``) are read too.
    """
    questions = {q.get("id"): q for q in group.get("questions") or []}
    results = group.get("results") or {}
    rows = []
    for resp in results.get("responses") or []:
        persona = resp.get("persona") or {}
        pid = persona.get("id") or resp.get("persona_id")
        pname = persona.get("name") or resp.get("persona_name")
        respondent = resp.get("respondent_id") or resp.get("respondent")
        answers = resp.get("answers")
        if answers is None:  # flat row
            answers = [resp]
        for ans in answers:
            qid = ans.get("question_id")
            q = questions.get(qid, {})
            value = next((ans[k] for k in ("value", "answer", "score", "response") if k in ans), None)
            rows.append({"persona_id": pid, "persona_name": pname, "respondent": respondent, "question_id": qid,
                         "question": q.get("text") or ans.get("question"),
                         "type": str(q.get("type") or ans.get("type") or "").lower(), "answer": value})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS).astype({"answer": object})


def _error_line(resp: requests.Response) -> tuple[str, str | None]:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    err = (doc.get("error") or {}) if isinstance(doc, dict) else {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    message = " ".join(str(err.get("message") or resp.reason or "no message").split())
    return message, err.get("code")


def _credits_of(body: Mapping) -> int:
    usage = body.get("usage") or {}
    value = usage.get("credits_used", body.get("credits_charged", 0))
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# ---------------------------------------------------------------- the client
class MaveraClient:
    """Mavera API client with credit estimates, a budget, dry run and a result cache.

    ``credits_spent`` counts credits charged to this client's calls (cache hits are free).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        workspace_id: str | None = None,
        max_credits: int | None = None,
        dry_run: bool = False,
        cache: ResultCache | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = DEFAULT_POLL_SECONDS,
    ):
        if max_credits is not None and max_credits < 0:
            raise ValueError("max_credits must be zero or more (None means no budget).")
        if not (math.isfinite(poll_interval) and poll_interval > 0):
            raise ValueError("poll_interval must be a positive number of seconds.")
        if problem := key_problem("MAVERA_API_KEY", api_key):
            raise ConfigError(problem)  # before a session quotes it in an error
        self.base_url = base_url.rstrip("/")
        self.workspace_id = workspace_id
        self.max_credits = max_credits
        self.dry_run = dry_run
        self.credits_spent = 0
        self.requests_sent = 0
        self.payloads: list[dict] = []  # what dry run would have sent
        self.done: list[dict] = []  # what completed in this run (kept when credits run out)
        self.lock_wait = LOCK_WAIT  # seconds to wait for another run's identical charging request
        self.max_pages = MAX_LIST_PAGES
        self.cache = cache or ResultCache(self.base_url, api_key)
        self._session = session or make_session(api_key, base_url=self.base_url)
        http.bind_origin(self._session, self.base_url)  # the key goes to Mavera's origin and nowhere else
        self._sleep = sleep
        # The first wait between focus-group polls, growing 1.5x per poll up to poll_max_interval.
        self.poll_interval = poll_interval
        self.poll_max_interval = 15.0

    def __repr__(self) -> str:
        return f"MaveraClient(base_url={self.base_url!r}, workspace_id={self.workspace_id!r}, max_credits={self.max_credits}, dry_run={self.dry_run})"

    @classmethod
    def from_env(cls, max_credits: int | None = None, dry_run: bool = False) -> MaveraClient:
        """A client configured from MAVERA_API_KEY / MAVERA_BASE_URL / MAVERA_WORKSPACE_ID (or .env).

        A dry run needs no key: it only shows payloads. ``MAVERA_POLL_SECONDS`` (optional) sets the first
        wait between focus-group polls (default 3 s; an API that finishes groups in moments can set it lower).
        """
        poll = _poll_seconds()
        try:
            s = MaveraSettings.from_env()
        except ConfigError:
            if not dry_run:
                raise
            s = MaveraSettings(api_key="mvra_dry_run", base_url=os.environ.get("MAVERA_BASE_URL", MaveraSettings.base_url),
                               workspace_id=os.environ.get("MAVERA_WORKSPACE_ID") or "ws_dry_run")
        return cls(s.api_key, s.base_url, s.workspace_id, max_credits=max_credits, dry_run=dry_run, poll_interval=poll)

    # ------------------------------------------------------------ estimates
    @staticmethod
    def estimate_persona() -> int:
        return PERSONA_CREDITS

    @staticmethod
    def estimate_generation() -> int:
        """The most one generation can cost: its price depends on the output's length, known only afterwards."""
        return GENERATION_CREDITS[1]

    @staticmethod
    def estimate_mave_chat(message: str = "") -> int:
        return mave_chat_band(message)[2] if message else MAVE_BANDS[-1][3]

    @staticmethod
    def estimate_focus_group(n_personas: int, n_questions: int, responses_per_persona: int = 2) -> int:
        return focus_group_credits(n_personas * responses_per_persona, n_questions)

    @property
    def credits_left(self) -> int | None:
        return None if self.max_credits is None else self.max_credits - self.credits_spent

    def check_budget(self, estimate: int, what: str) -> None:
        """Refuse a whole job up front: raise ``BudgetExceeded`` when ``estimate`` exceeds what is left.

        Notebooks call this once with the summed estimate of everything a step would charge (only what
        is not cached or existing yet), before the first charging request, so a job that cannot finish
        within ``max_credits`` never spends part of it. The per-call checks stay as a backstop. A dry run
        spends nothing, so it is never refused.
        """
        left = self.credits_left
        if self.dry_run or left is None or estimate <= left:
            return
        raise BudgetExceeded(
            f"{what} would cost up to {estimate:,} credits but only {left:,} of max_credits={self.max_credits:,} "
            "remain; raise max_credits or make the job smaller."
        )

    _check_budget = check_budget

    # ------------------------------------------------------------ HTTP
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _show(self, method: str, path: str, payload: Any) -> None:
        entry = {"method": method, "path": path, "json": payload}
        self.payloads.append(entry)
        print(f"[dry run] {method} {path} {canonical(payload)}")

    def _raise_for(self, resp: requests.Response, method: str, path: str) -> None:
        message, code = _error_line(resp)
        where = f"Mavera {method} {path}"
        if resp.status_code == 401:
            raise MaveraAuthError(f"{where}: {message} Check MAVERA_API_KEY.", 401, code)
        if resp.status_code == 402:
            done = ", ".join(f"{d['kind']} {d.get('id')}" for d in self.done) or "nothing"
            raise CreditsExhausted(
                f"{where}: out of Mavera credits ({message}); kept what was done ({done}); add credits and rerun "
                "(finished work is cached and will not be charged again).", self.done,
            )
        raise MaveraAPIError(f"{where} failed with {resp.status_code}: {message}", resp.status_code, code)

    def _not_sent(self, method: str, path: str, exc: requests.RequestException) -> MaveraError | None:
        """The error for a request that was never sent (a refused origin, a base URL requests cannot use)."""
        if isinstance(exc, http.RefusedURL):
            return MaveraError(f"Mavera {method} {path}: the answer pointed to another server ({exc}); the request "
                               f"and the key were not sent there. If Mavera really moved, set MAVERA_BASE_URL "
                               f"(now {self.base_url}).")
        if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidURL)):
            return MaveraError(f"Mavera {method} {path}: MAVERA_BASE_URL={self.base_url} is not an http(s) URL "
                               f"({type(exc).__name__}); set it like https://app.mavera.io/api/v1.")
        return None

    def _body(self, resp: requests.Response, method: str, path: str, charged: bool = False) -> dict:
        """The JSON object of a 2xx answer, or a MaveraError saying what came instead."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        kind = "JSON that is not an object" if body is not None else \
            f"a body that is not JSON ({resp.headers.get('Content-Type') or 'no content type'})"
        after = (" It may have been applied and charged, so it was not repeated; check Mavera before rerunning."
                 if charged else " Try again later; if it persists, check MAVERA_BASE_URL.")
        raise MaveraError(f"Mavera answered {method} {path} ({resp.status_code}) with {kind}.{after}")

    def _too_long(self, resp: requests.Response, method: str, path: str) -> MaveraError | None:
        """A 429 whose Retry-After is beyond :data:`MAX_RETRY_AFTER`: fail now, saying when to retry."""
        wait = http.retry_after_seconds(resp.headers.get("Retry-After"))
        if wait is None or wait <= MAX_RETRY_AFTER:
            return None
        return MaveraAPIError(f"Mavera asks to wait {wait:,.0f} s before {method} {path} (429), longer than the "
                              f"{MAX_RETRY_AFTER:g} s this client waits; rerun at {http.retry_at(wait)} "
                              "(finished work is cached).", 429, "rate_limit_exceeded")

    def _get(self, path: str, params: Mapping | None = None) -> dict:
        try:
            resp = self._session.get(self._url(path), params=params, timeout=DEFAULT_TIMEOUT)
        except requests.RequestException as exc:
            if (error := self._not_sent("GET", path, exc)) is not None:
                raise error from None
            self.requests_sent += 1
            reason = http.transport_failure(exc, DEFAULT_TIMEOUT)
            tries = http.attempts_of(exc, 1)
            raise MaveraError(f"Mavera GET {path} failed after {tries} attempt{'s' if tries != 1 else ''} "
                              f"({reason}); try again later.") from None
        self.requests_sent += 1
        if resp.status_code == 429 and (error := self._too_long(resp, "GET", path)) is not None:
            raise error
        if resp.status_code >= 400:
            self._raise_for(resp, "GET", path)
        return self._body(resp, "GET", path)

    def _send(self, method: str, path: str, payload: dict, charging: bool, timeout=DEFAULT_TIMEOUT) -> dict:
        """POST/PATCH once per attempt; 429 is waited out (it was not applied), up to :data:`MAX_RETRY_AFTER`.

        For a charging call, a 5xx, timeout or dropped connection raises ``_Unknown`` so the caller can
        look the object up; a non-charging call is retried with backoff instead. A request that was
        never sent (refused origin, unusable base URL) fails at once.
        """
        for attempt in range(MAX_POST_ATTEMPTS):
            try:
                resp = self._session.request(method, self._url(path), json=payload, timeout=timeout)
            except requests.RequestException as exc:
                if (error := self._not_sent(method, path, exc)) is not None:
                    raise error from None
                self.requests_sent += 1
                reason = "timeout" if isinstance(exc, requests.Timeout) else http.transport_failure(exc, timeout)
                if charging:  # sent, perhaps applied: the caller looks it up rather than paying twice
                    raise _Unknown(reason) from exc
                self._sleep(min(30, 2**attempt))
                continue
            self.requests_sent += 1
            if resp.status_code == 429:
                if (error := self._too_long(resp, method, path)) is not None:
                    raise error
                self._sleep(_retry_after(resp, attempt))
                continue
            if resp.status_code >= 500:
                if charging:
                    raise _Unknown(f"HTTP {resp.status_code}")
                self._sleep(min(30, 2**attempt))
                continue
            if resp.status_code >= 400:
                self._raise_for(resp, method, path)
            body = self._body(resp, method, path, charged=charging)
            if "error" in body and "id" not in body:
                self._raise_for(resp, method, path)
            self.credits_spent += _credits_of(body)
            return body
        raise MaveraError(f"Mavera {method} {path} still failing after {MAX_POST_ATTEMPTS} attempts; try again later.")

    def _list(self, path: str, params: Mapping | None = None) -> Iterable[dict]:
        """Every item of a list endpoint, following next_cursor (or offset) pages until has_more is false.

        A list that cannot end is stopped with a MaveraError: a cursor seen before, a page served again,
        or more pages than its ``total`` (offset lists) or :attr:`max_pages` allow.
        """
        params = dict(params or {})
        params.setdefault("limit", 100)
        offset = 0
        cursors: set[str] = set()
        pages_seen: set[int] = set()
        budget = self.max_pages
        for number in range(1, 1_000_000):
            page = self._get(path, params)
            items = page.get("data") or []
            if not isinstance(items, list):
                raise MaveraError(f"Mavera answered GET {path} with a list whose data is not a list; try again later.")
            yield from items
            if not page.get("has_more") or not items:
                return
            fingerprint = hash(tuple(str(i.get("id")) if isinstance(i, dict) else repr(i) for i in items))
            total = page.get("total")
            if isinstance(total, int) and total >= 0:
                budget = min(budget, math.ceil(total / max(1, len(items))) + 2)
            cursor = page.get("next_cursor")
            if (cursor and str(cursor) in cursors) or fingerprint in pages_seen or number >= budget:
                raise MaveraError(f"Mavera's GET {path} kept saying has_more (page {number} repeats an earlier one "
                                  f"or passes {budget:,} pages); stopped so it cannot loop - try again later.")
            pages_seen.add(fingerprint)
            if cursor:
                cursors.add(str(cursor))
                params["cursor"] = cursor
            else:  # offset-style endpoints (research §5)
                offset += len(items)
                params["offset"] = offset
        raise AssertionError("unreachable")  # pragma: no cover

    def usage(self) -> dict:
        """GET /usage: credits used/included/remaining this billing period (free)."""
        return self._get("/usage")

    # ------------------------------------------------------------ personas
    def list_personas(self, search: str | None = None, custom_only: bool = False) -> list[dict]:
        """Personas visible to the key (GET /personas is free); ``search`` matches name or description."""
        params: dict[str, Any] = {}
        if search:
            params["search"] = search
        if custom_only:
            params["is_custom"] = "true"
        return list(self._list("/personas", params))

    def find_persona(self, name: str) -> dict | None:
        """The custom persona with exactly this name (case-insensitive), or None."""
        wanted = name.strip().lower()
        return next((p for p in self.list_personas(search=name.strip(), custom_only=True)
                     if str(p.get("name", "")).strip().lower() == wanted), None)

    def upsert_persona(self, name: str, description: str, **fields) -> dict:
        """Create the custom persona ``name``, or update it if one of that name exists (never a duplicate).

        ``fields`` are reference fields of POST /personas (``goals``, ``pains``, ``channels``,
        ``purchase_cadence``, ``age_band``, ``pipeline_type``, ``type`` ...). Returns the persona, with ``id``.
        A creation costs 300 credits; an update is not charged (undocumented [I]).
        """
        if not 2 <= len(name.strip()) <= 100:
            raise ValueError("A persona name must have 2-100 characters.")
        payload = {"pipeline_type": "north_star", "type": "B2C", "name": name.strip(), "description": description, **fields}
        key = request_key("persona-upsert", payload)
        if not self.dry_run and (hit := self.cache.get(key)):
            return hit["response"]
        if self.dry_run:
            self._show("POST", "/personas", payload)
            return {"id": None, "object": "custom_persona", "name": payload["name"], "dry_run": True, "request": payload}
        with self.cache.claim(key, self.lock_wait, f"Persona '{name}'"):  # another run may be creating it now
            if hit := self.cache.get(key):
                return hit["response"]
            existing = self.find_persona(name)
            if existing:
                persona = self._update_persona(existing, payload)
            else:
                self._check_budget(PERSONA_CREDITS, f"Creating persona '{name}'")
                persona = self._create_persona(payload)
            self.cache.put(key, {"endpoint": "persona-upsert", "response": persona})
        return persona

    def _create_persona(self, payload: dict) -> dict:
        for _ in range(2):
            try:
                persona = self._send("POST", "/personas", payload, charging=True)
            except _Unknown as exc:
                found = self.find_persona(payload["name"])
                if found:  # it was applied: the 300 credits were charged even though we saw no answer
                    self.credits_spent += PERSONA_CREDITS
                    self.done.append({"kind": "persona", "id": found["id"], "credits": PERSONA_CREDITS})
                    return found
                last = exc
                continue
            except MaveraAPIError as exc:
                if exc.status == 422 and (found := self.find_persona(payload["name"])):
                    return self._update_persona(found, payload)
                raise
            self.done.append({"kind": "persona", "id": persona["id"], "credits": _credits_of(persona)})
            return persona
        raise MaveraError(f"Creating persona '{payload['name']}' failed twice ({last}) and it does not exist; try again later.")

    def _update_persona(self, existing: dict, payload: dict) -> dict:
        current = {**(existing.get("details") or {}), **existing}
        changes = {k: v for k, v in payload.items()
                   if k not in {"pipeline_type", "type"} and current.get(k) != v}
        if not changes:
            return existing
        persona = self._send("PATCH", f"/personas/{existing['id']}", changes, charging=False)
        self.done.append({"kind": "persona update", "id": persona.get("id"), "credits": _credits_of(persona)})
        return persona

    # ------------------------------------------------------------ generations
    def generation_apps(self) -> list[dict]:
        """The generation apps (``id``, ``name``, ``input_fields``) from GET /generation-apps."""
        return list(self._list("/generation-apps"))

    def generate(self, app_id: str, input_data: Mapping, persona_id: str | None = None) -> dict:
        """POST /generations; the returned dict has ``output`` (markdown text) and ``usage.credits_used``."""
        payload: dict[str, Any] = {"app_id": app_id, "input_data": dict(input_data)}
        if persona_id:
            payload["persona_id"] = persona_id
        if self.workspace_id:
            payload["workspace_id"] = self.workspace_id
        body = self._charged_post("/generations", payload, self.estimate_generation(), f"Generation with {app_id}")
        if "output" not in body:  # older renderings return "content" or "markdown"
            body["output"] = body.get("content") or body.get("markdown") or ""
        return body

    # ------------------------------------------------------------ Mave
    def mave_chat(self, message: str, thread_id: str | None = None) -> dict:
        """POST /mave/chat; returns ``content``, ``thread_id`` (pass it back to continue), ``sources``, ``validation``."""
        if not message.strip():
            raise ValueError("A Mave message cannot be empty.")
        payload: dict[str, Any] = {"message": message}
        if thread_id:
            payload["thread_id"] = thread_id
        if self.workspace_id:
            payload["workspace_id"] = self.workspace_id
        body = self._charged_post("/mave/chat", payload, self.estimate_mave_chat(message), "Mave chat", CHAT_TIMEOUT)
        body.setdefault("sources", [])
        body.setdefault("validation", None)  # the reference schema omits it; the guides promise it
        return body

    def _charged_post(self, path: str, payload: dict, estimate: int, what: str, timeout=DEFAULT_TIMEOUT) -> dict:
        """Cache → dry run → budget → lock → cache again → one POST. No lookup exists for these objects, so
        an unknown outcome is reported, not retried (a retry could charge twice); two runs sending the
        same request at once meet at the lock, and the second reuses the first's answer."""
        key = request_key(path, payload)
        if not self.dry_run and (hit := self.cache.get(key)):
            return {**hit["response"], "from_cache": True}
        if self.dry_run:
            self._show("POST", path, payload)
            return {"id": None, "dry_run": True, "request": payload, "output": "", "content": "", "thread_id": None,
                    "sources": [], "validation": None}
        self._check_budget(estimate, what)
        with self.cache.claim(key, self.lock_wait, what):
            if hit := self.cache.get(key):  # the run holding the lock before us paid for it
                return {**hit["response"], "from_cache": True}
            try:
                body = self._send("POST", path, payload, charging=True, timeout=timeout)
            except _Unknown as exc:
                raise MaveraError(
                    f"{what}: Mavera did not confirm the request ({exc}); it may or may not have been charged, "
                    "so it was not repeated; rerun to try again."
                ) from None
            self.done.append({"kind": path.strip("/"), "id": body.get("id"), "credits": _credits_of(body)})
            self.cache.put(key, {"endpoint": path, "response": body})
        return body

    # ------------------------------------------------------------ focus groups
    def focus_group_payload(self, name: str, persona_ids: Sequence[str], questions: Sequence[Mapping | str],
                            context: str, responses_per_persona: int = 2) -> dict:
        """The POST /focus-groups body [I]. The name carries a short hash of the request so that a group
        can be found again by name after a failure, and a changed request never reuses an old group."""
        if not persona_ids:
            raise ValueError("A focus group needs at least one persona id.")
        if not 1 <= len(questions) <= 20:
            raise ValueError("A focus group takes 1-20 questions.")
        if responses_per_persona < 1:
            raise ValueError("responses_per_persona must be at least 1.")
        qs = []
        for i, q in enumerate(questions):
            q = open_ended(q) if isinstance(q, str) else dict(q)
            if "type" not in q or "text" not in q:
                raise ValueError(f"Question {i + 1} needs a type and text; build it with likert(), nps(), "
                                 "multiple_choice() or open_ended().")
            q.setdefault("id", f"q{i + 1}")
            qs.append(q)
        body = {"workspace_id": self.workspace_id, "persona_ids": list(persona_ids),
                "sample_size": len(persona_ids) * responses_per_persona, "context": context, "questions": qs}
        digest = request_key("/focus-groups", {"name": name, **body})[:8]
        return {"name": f"{name} [{digest}]", **body}

    def run_focus_group(self, name: str, persona_ids: Sequence[str], questions: Sequence[Mapping | str],
                        context: str, responses_per_persona: int = 2, deadline_s: float = 300) -> FocusGroupResult:
        """Create a focus group (or resume the one this request already created), poll until it is done,
        and return its answers as a tidy frame (``ANSWER_COLUMNS``)."""
        if not self.workspace_id and not self.dry_run:
            raise MaveraError("MAVERA_WORKSPACE_ID is not set: focus groups need a workspace; put its id (ws_...) in .env.")
        payload = self.focus_group_payload(name, persona_ids, questions, context, responses_per_persona)
        key = request_key("/focus-groups", payload)
        if self.dry_run:
            self._show("POST", "/focus-groups", payload)
            return FocusGroupResult(None, payload["name"], "dry_run", answers_frame({}), {"dry_run": True, "request": payload})
        hit = self.cache.get(key)
        if hit is None:
            estimate = self.estimate_focus_group(len(persona_ids), len(payload["questions"]), responses_per_persona)
            self._check_budget(estimate, f"Focus group '{name}'")
            # Another run may be creating this very group: the second one in resumes the first's.
            with self.cache.claim(key, self.lock_wait, f"Focus group '{name}'"):
                hit = self.cache.get(key)
                if hit is None:
                    gid = self._create_focus_group(payload)
                    self.cache.put(key, {"state": "created", "id": gid})
        if hit is not None:
            if hit.get("state") == "completed":
                group = hit["response"]
                return FocusGroupResult(group["id"], group["name"], "completed", answers_frame(group), group,
                                        _credits_of(group), from_cache=True)
            gid = hit["id"]  # created on an earlier run and not finished: resume, do not create again
        try:
            group = self._poll_focus_group(gid, deadline_s)
        except FocusGroupFailed:
            # A failed group never completes: forget it, so a rerun creates a fresh one instead of
            # resuming this one forever (find_focus_group skips failed groups of the same name too).
            self.cache.delete(key)
            raise
        self.cache.put(key, {"state": "completed", "id": gid, "response": group})
        return FocusGroupResult(gid, group.get("name", payload["name"]), "completed", answers_frame(group), group,
                                _credits_of(group))

    def find_focus_group(self, name: str) -> dict | None:
        """The focus group with exactly this name that has not failed (free GET), or None.

        A failed group of that name is skipped: it can never complete, so it must not be resumed.
        """
        return next((g for g in self._list("/focus-groups", {"name": name})
                     if g.get("name") == name and str(g.get("status", "")).lower() != "failed"), None)

    def _create_focus_group(self, payload: dict) -> str:
        found = self.find_focus_group(payload["name"])  # created earlier but never recorded locally
        if found:
            return found["id"]
        for _ in range(2):
            try:
                group = self._send("POST", "/focus-groups", payload, charging=True)
            except _Unknown as exc:
                if found := self.find_focus_group(payload["name"]):
                    credits = self.estimate_focus_group(len(payload["persona_ids"]), len(payload["questions"]),
                                                        payload["sample_size"] // len(payload["persona_ids"]))
                    self.credits_spent += credits  # applied, though we never saw the answer
                    self.done.append({"kind": "focus group", "id": found["id"], "credits": credits})
                    return found["id"]
                last = exc
                continue
            self.done.append({"kind": "focus group", "id": group["id"], "credits": _credits_of(group)})
            return group["id"]
        raise MaveraError(f"Creating focus group '{payload['name']}' failed twice ({last}) and it does not exist; "
                          "try again later.")

    def _poll_focus_group(self, gid: str, deadline_s: float) -> dict:
        waited, interval = 0.0, self.poll_interval
        while True:
            try:
                group = self._get(f"/focus-groups/{gid}")
            except MaveraError as exc:
                raise MaveraError(f"Polling focus group {gid} failed ({exc}); rerun to resume it "
                                  "(it will not be created again).") from exc
            status = str(group.get("status", "")).lower()  # docs disagree on case
            if status == "completed":
                return group
            if status == "failed":
                raise FocusGroupFailed(f"Focus group {gid} failed on Mavera's side "
                                       f"({group.get('error') or 'no reason given'}); rerun to create it again.")
            if waited >= deadline_s:
                raise FocusGroupTimeout(f"Focus group {gid} is still {status or 'running'} after {deadline_s:g} s; "
                                        "rerun to resume it (it will not be created again).")
            self._sleep(interval)
            waited += interval
            interval = min(self.poll_max_interval, interval * 1.5)


def _poll_seconds() -> float:
    """``MAVERA_POLL_SECONDS`` from the environment/.env, or the default; a bad value is one clear line."""
    load_env()
    raw = os.environ.get("MAVERA_POLL_SECONDS", "").strip()
    if not raw:
        return DEFAULT_POLL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"MAVERA_POLL_SECONDS must be a positive number of seconds (e.g. 3), not {raw!r}; "
                          "unset it for the default.")
    return value


def _retry_after(resp: requests.Response, attempt: int) -> float:
    """Seconds to wait after a 429: its Retry-After (seconds or a date; callers refuse ones over the
    cap first, and this caps again), else exponential backoff."""
    wait = http.retry_after_seconds(resp.headers.get("Retry-After"))
    return min(MAX_RETRY_AFTER, wait) if wait is not None else float(min(60, 2 ** (attempt + 1)))
