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
- a POST that charges credits is made exactly once: it is sent again at once only when Mavera cannot have
  applied it (429, connection refused); after a 5xx, timeout or dropped connection the client waits, looks
  the object up (free GETs) and sends again only when it is not there (:meth:`MaveraClient._once`).
  Personas and focus groups are found by name, generations by a title carrying the request's hash
  (GET /generations, title search), Mave answers by their thread (GET /mave/threads). Mavera documents
  no idempotency key (research §1), so this lookup is the safest documented approach; its one gap: an
  object Mavera applies only after the lookup (a request still running when our read timed out) could
  be charged twice, which is why the lookup comes after a backoff, not at once.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import requests

from helpers.config import ConfigError, MaveraSettings, insecure_url_problem, key_problem
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
    FocusGroupFailed,
    FocusGroupTimeout,
    MaveraAPIError,
    MaveraAuthError,
    MaveraError,
    MaveraSettingsError,
    MaveraUnavailable,
)
from helpers.mavera.questions import open_ended
from helpers.mavera.results import FocusGroupResult, answers_frame
from helpers.mavera.transport import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_TIMEOUT,
    credits_of,
    make_session,
    poll_seconds,
)
from helpers.mavera.wire import MAX_LIST_PAGES, Wire, _Unresolved

CHAT_TIMEOUT = (10, 180)  # Mave takes 30-90 s on a first message
LOOKUP_PAGES = 3  # newest pages of a list searched for a request that may have been applied


# ---------------------------------------------------------------- the client
class MaveraClient(Wire):
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
        if problem := insecure_url_problem("MAVERA_BASE_URL", base_url):
            raise ConfigError(problem)  # the key never travels unencrypted
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

    # ------------------------------------------------------------ dry run
    def _show(self, method: str, path: str, payload: Any) -> None:
        entry = {"method": method, "path": path, "json": payload}
        self.payloads.append(entry)
        print(f"[dry run] {method} {path} {canonical(payload)}")

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
        try:
            persona, found = self._once("POST", "/personas", payload, lambda: self.find_persona(payload["name"]),
                                        f"Creating persona '{payload['name']}'")
        except MaveraAPIError as exc:
            if exc.status == 422 and (existing := self.find_persona(payload["name"])):
                return self._update_persona(existing, payload)
            raise
        credits = PERSONA_CREDITS if found else credits_of(persona)
        if found:  # it was applied: the 300 credits were charged even though we saw no answer
            self.credits_spent += credits
        self.done.append({"kind": "persona", "id": persona["id"], "credits": credits})
        return persona

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
        # The title (documented, free text) carries the request's hash, so a generation applied without
        # its answer arriving is found again by title (GET /generations) instead of being paid twice.
        title = f"Workbooks {app_id} [{request_key('/generations', payload)[:12]}]"[-100:]
        body = self._charged_post("/generations", payload, self.estimate_generation(), f"Generation with {app_id}",
                                  find=lambda: self.find_generation(title, app_id), extra={"title": title})
        if "output" not in body:  # older renderings return "content" or "markdown"
            body["output"] = body.get("content") or body.get("markdown") or ""
        return body

    def find_generation(self, title: str, app_id: str | None = None) -> dict | None:
        """The generation with exactly this title among the newest (free GET /generations, title search), or None.

        The filter names (``search``, ``app_id``, ``workspace_id``) are inferred [I]; the exact title is
        compared here, so a filter Mavera ignores only means more items read.
        """
        params: dict[str, Any] = {"search": title}
        if app_id:
            params["app_id"] = app_id
        if self.workspace_id:
            params["workspace_id"] = self.workspace_id
        items = itertools.islice(self._list("/generations", params), LOOKUP_PAGES * 100)
        return next((g for g in items if isinstance(g, dict) and g.get("title") == title), None)

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
        body = self._charged_post("/mave/chat", payload, self.estimate_mave_chat(message), "Mave chat", CHAT_TIMEOUT,
                                  find=self._mave_finder(message, thread_id))
        body.setdefault("sources", [])
        body.setdefault("validation", None)  # the reference schema omits it; the guides promise it
        return body

    def _mave_finder(self, message: str, thread_id: str | None) -> Callable[[], dict | None]:
        """How to find Mave's answer to ``message`` after an unanswered send (free GETs of threads): in its own
        thread for a continuation, else among the newest threads holding at most this one exchange."""

        def find() -> dict | None:
            if thread_id:
                candidates: Iterable[str] = [thread_id]
            else:
                params = {"workspace_id": self.workspace_id} if self.workspace_id else {}
                newest = itertools.islice(self._list("/mave/threads", params), LOOKUP_PAGES * 20)
                candidates = [t["id"] for t in newest if isinstance(t, dict) and t.get("id")
                              and int(t.get("message_count") or 0) <= 2]
            for tid in candidates:
                if (answer := self._answer_in_thread(tid, message, new_thread=not thread_id)) is not None:
                    return answer
            return None

        return find

    def _answer_in_thread(self, tid: str, message: str, new_thread: bool) -> dict | None:
        """Mave's reply to ``message`` when it is the thread's last exchange, shaped like POST /mave/chat's answer.

        Its credits: the message's own usage when shown, else the thread's total for a new thread (its only
        exchange), else the estimate's upper bound (a continuation's share is not documented: never under-counted).
        """
        thread = self._get(f"/mave/threads/{tid}")
        messages = [m for m in thread.get("messages") or [] if isinstance(m, dict)]
        if len(messages) < 2:
            return None
        asked, reply = messages[-2], messages[-1]
        if asked.get("role") != "user" or asked.get("content") != message or reply.get("role") != "assistant":
            return None
        credits = credits_of(reply) or (int(thread.get("credits_used") or 0) if new_thread else 0) \
            or self.estimate_mave_chat(message)
        return {"id": reply.get("id"), "object": "mave_message", "thread_id": tid, "role": "assistant",
                "content": reply.get("content") or "", "sources": thread.get("sources") or [],
                "personas_used": thread.get("personas_used") or [], "validation": reply.get("validation"),
                "usage": {"credits_used": credits}, "created_at": reply.get("created_at")}

    def _charged_post(self, path: str, payload: dict, estimate: int, what: str, timeout=DEFAULT_TIMEOUT, *,
                      find: Callable[[], dict | None], extra: Mapping[str, Any] | None = None) -> dict:
        """Cache → dry run → budget → lock → cache again → the POST, made exactly once (:meth:`_once`, with
        ``find`` to look the object up after an unanswered attempt). Two runs sending the same request at
        once meet at the lock, and the second reuses the first's answer. ``extra`` fields are sent but not
        part of the cache key (a lookup handle derived from the request, such as a generation's title)."""
        key = request_key(path, payload)
        payload = {**payload, **(extra or {})}
        if not self.dry_run and (hit := self.cache.get(key)) and "response" in hit:
            return {**hit["response"], "from_cache": True}
        if self.dry_run:
            self._show("POST", path, payload)
            return {"id": None, "dry_run": True, "request": payload, "output": "", "content": "", "thread_id": None,
                    "sources": [], "validation": None}
        self._check_budget(estimate, what)
        with self.cache.claim(key, self.lock_wait, what):
            hit = self.cache.get(key)
            if hit and "response" in hit:  # the run holding the lock before us paid for it
                return {**hit["response"], "from_cache": True}
            # An earlier run left it unresolved (unanswered, lookup failed): look it up before sending.
            earlier = find() if hit and hit.get("state") == "unknown" else None
            try:
                body, found = (earlier, True) if earlier is not None else self._once("POST", path, payload, find,
                                                                                    what, timeout)
            except _Unresolved:
                self.cache.put(key, {"endpoint": path, "state": "unknown"})
                raise
            if found:  # applied, though its answer never arrived: charged all the same
                self.credits_spent += credits_of(body)
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
        group, found = self._once("POST", "/focus-groups", payload, lambda: self.find_focus_group(payload["name"]),
                                  f"Creating focus group '{payload['name']}'")
        credits = credits_of(group)
        if found:  # applied, though we never saw the answer: charged all the same (the estimate if not shown)
            credits = credits or self.estimate_focus_group(len(payload["persona_ids"]), len(payload["questions"]),
                                                           payload["sample_size"] // len(payload["persona_ids"]))
            self.credits_spent += credits
        self.done.append({"kind": "focus group", "id": group["id"], "credits": credits})
        return group["id"]

    def _poll_focus_group(self, gid: str, deadline_s: float) -> dict:
        waited, interval = 0.0, self.poll_interval
        while True:
            try:
                group = self._get(f"/focus-groups/{gid}")
            except MaveraUnavailable as exc:  # an outage through every retry: the step did not complete
                raise MaveraUnavailable(f"Polling focus group {gid} failed ({exc}); rerun to resume it "
                                        "(it will not be created again).", exc.status, exc.code) from exc
            except (MaveraAuthError, MaveraSettingsError):
                raise
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
