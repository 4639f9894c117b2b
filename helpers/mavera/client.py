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

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import requests

from helpers.config import ConfigError, MaveraSettings, key_problem
from helpers.http import session as http
from helpers.mavera.cache import LOCK_WAIT, ResultCache, canonical, request_key
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
)
from helpers.mavera.questions import open_ended
from helpers.mavera.results import FocusGroupResult, answers_frame
from helpers.mavera.transport import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_TIMEOUT,
    MAX_RETRY_AFTER,
    credits_of,
    error_line,
    make_session,
    poll_seconds,
    retry_after_wait,
)

CHAT_TIMEOUT = (10, 180)  # Mave takes 30-90 s on a first message
MAX_POST_ATTEMPTS = 5



class _Unknown(Exception):
    """A charging POST failed in a way that leaves open whether Mavera applied it."""


# ---------------------------------------------------------------- bounds
MAX_LIST_PAGES = 1_000  # one list endpoint (100 items a page); a list that never ends stops here


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
        poll = poll_seconds()
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
        message, code = error_line(resp)
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
            body = self._answer_of(resp, method, path, charging, attempt)
            if body is not None:
                return body
        raise MaveraError(f"Mavera {method} {path} still failing after {MAX_POST_ATTEMPTS} attempts; try again later.")

    def _answer_of(self, resp: requests.Response, method: str, path: str, charging: bool,
                   attempt: int) -> dict | None:
        """The body of a POST/PATCH answer, or None after waiting when it should be sent again.

        429 was not applied: wait it out. A 5xx on a charging call may have been applied: ``_Unknown``,
        so the caller looks the object up; on a free call, back off and retry.
        """
        if resp.status_code == 429:
            if (error := self._too_long(resp, method, path)) is not None:
                raise error
            self._sleep(retry_after_wait(resp, attempt))
            return None
        if resp.status_code >= 500:
            if charging:
                raise _Unknown(f"HTTP {resp.status_code}")
            self._sleep(min(30, 2**attempt))
            return None
        if resp.status_code >= 400:
            self._raise_for(resp, method, path)
        body = self._body(resp, method, path, charged=charging)
        if "error" in body and "id" not in body:
            self._raise_for(resp, method, path)
        self.credits_spent += credits_of(body)
        return body

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

    def get_persona(self, persona_id: str) -> dict | None:
        """The persona ``persona_id`` (GET /personas/{id} is free), or None when Mavera does not know it (404):
        a focus group asks only personas that exist, instead of learning it from a 400 after creating one."""
        try:
            return self._get(f"/personas/{persona_id}")
        except MaveraAPIError as exc:
            if exc.status == 404:
                return None
            raise

    def unknown_personas(self, persona_ids: Sequence[str]) -> list[str]:
        """The ids among ``persona_ids`` that Mavera does not know (one free GET each); none in a dry run."""
        if self.dry_run:
            return []
        return [pid for pid in persona_ids if self.get_persona(pid) is None]

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
            self.done.append({"kind": "persona", "id": persona["id"], "credits": credits_of(persona)})
            return persona
        raise MaveraError(f"Creating persona '{payload['name']}' failed twice ({last}) and it does not exist; try again later.")

    def _update_persona(self, existing: dict, payload: dict) -> dict:
        current = {**(existing.get("details") or {}), **existing}
        changes = {k: v for k, v in payload.items()
                   if k not in {"pipeline_type", "type"} and current.get(k) != v}
        if not changes:
            return existing
        persona = self._send("PATCH", f"/personas/{existing['id']}", changes, charging=False)
        self.done.append({"kind": "persona update", "id": persona.get("id"), "credits": credits_of(persona)})
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
            self.done.append({"kind": path.strip("/"), "id": body.get("id"), "credits": credits_of(body)})
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
                                        credits_of(group), from_cache=True)
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
                                credits_of(group))

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
            self.done.append({"kind": "focus group", "id": group["id"], "credits": credits_of(group)})
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
