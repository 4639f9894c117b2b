"""The Mavera side of the sandbox: a WSGI app that speaks Mavera's wire format (mounted at /mavera/api/v1).

Shapes follow the research notes (../shared/research/mavera.md). Where Mavera's public docs are silent
(focus groups above all) the most likely shape is used and marked "[I]" in a comment. Answers and
generated text are deterministic functions of the seed and the request, and are built from what was
sent (persona numbers, stimulus, segment names) so reports made from the sandbox read sensibly: the
copy in ``generations.py``, focus-group answers in ``answers.py``, Mave's in ``mave.py``.

Credits follow the documented figures in ``apifacts/mavera_prices.json`` (``prices.py``), the file the
client's estimates read too, so an estimate is never below what the sandbox charges.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import prices
from .answers import answer_group
from .generations import APPS_BY_ID, GENERATION_APPS, generate_text
from .lookups import Lookups
from .mave import mave_answer
from .seeded import digest
from .state import PersonaState

REQUESTS_PER_MINUTE = 240  # Professional tier (guides/rate-limits)
WINDOW_S = 60.0  # sliding window per API key
POLLS_TO_COMPLETE = 3  # GET /focus-groups/{id}: 1st pending, 2nd processing, 3rd onwards completed
QUESTION_TYPES = ("likert", "nps", "multiple_choice", "open_ended")
MAX_PERSONAS_PER_GROUP = 10
MAX_QUESTIONS = 20
MAX_SAMPLE_SIZE = 200

BASE_PERSONAS = [
    ("Gen Z Consumer", "Generational", "Digital natives aged 18-26 who discover brands on social video."),
    ("Millennial Parent", "Generational", "Busy parents aged 30-42 who value convenience and reviews."),
    ("Value Seeker", "Lifestyle", "Price-sensitive shoppers who wait for discounts and compare retailers."),
    ("E-commerce Marketing Manager", "IndustrySpecific", "Owns email/SMS programs and revenue targets."),
]


class ApiError(Exception):
    """An error response in Mavera's shape: {"error": {message, type, code, param}}."""

    def __init__(self, status: int, message: str, type_: str, code: str, param: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}


def _bad(message: str, param: str | None = None, code: str = "invalid_field") -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)



def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class MaveraEmulator(Lookups):
    """A werkzeug WSGI app emulating Mavera's API for one workspace and one API key."""

    def __init__(self, seed: int, api_key: str, workspace_id: str, credits: int = 20000, rate_scale: float = 1.0,
                 state: str | Path | None = None):
        """``state``: a JSON file holding the custom personas (and the id counter) across emulators of this seed,
        as the real service keeps them across runs (``state.PersonaState``); None keeps them in memory only."""
        self.seed = seed
        self.api_key = api_key
        self.workspace_id = workspace_id
        self.credits_included = int(credits)
        self.rate_limit = 0 if rate_scale <= 0 else max(1, round(REQUESTS_PER_MINUTE * rate_scale))
        # Tests replace the clock to step over Retry-After without waiting; nothing else reads time.
        self.clock = time.time
        self._lock = threading.RLock()
        self._window: deque[float] = deque()
        self._counter = 0
        self._personas: dict[str, dict] = {}
        self._groups: dict[str, dict] = {}
        self._threads: dict[str, dict] = {}
        self._generations: dict[str, dict] = {}
        self._stats = dict.fromkeys(
            ("requests", "throttled", "credits_used", "personas_created", "focus_groups_created", "generations", "chats"),
            0,
        )
        self._api_requests = {"errors": 0}
        for name, category, description in BASE_PERSONAS:
            pid = self._new_id("persona")
            self._personas[pid] = {
                "id": pid,
                "object": "persona",
                "name": name,
                "category": category,
                "description": description,
                "is_custom": False,
                "is_expert": category == "IndustrySpecific",
                "created_at": 1706140800,
            }
        self._state = PersonaState(Path(state), seed) if state is not None else None
        if self._state is not None:
            self._counter, custom = self._state.load(self._counter)
            self._personas.update(custom)
        self._url_map = Map(
            [
                Rule("/personas", methods=["GET"], endpoint="list_personas"),
                Rule("/personas", methods=["POST"], endpoint="create_persona"),
                Rule("/personas/<pid>", methods=["GET"], endpoint="get_persona"),
                Rule("/personas/<pid>", methods=["PATCH"], endpoint="update_persona"),
                Rule("/generation-apps", methods=["GET"], endpoint="list_apps"),
                Rule("/generations", methods=["GET"], endpoint="list_generations"),
                Rule("/generations", methods=["POST"], endpoint="create_generation"),
                Rule("/mave/chat", methods=["POST"], endpoint="mave_chat"),
                Rule("/mave/threads", methods=["GET"], endpoint="list_threads"),
                Rule("/mave/threads/<tid>", methods=["GET"], endpoint="get_thread"),
                Rule("/focus-groups", methods=["GET"], endpoint="list_groups"),
                Rule("/focus-groups", methods=["POST"], endpoint="create_group"),
                Rule("/focus-groups/<gid>", methods=["GET"], endpoint="get_group"),
                Rule("/usage", methods=["GET"], endpoint="usage"),
            ],
            strict_slashes=False,
        )

    # ----------------------------------------------------------------- WSGI plumbing
    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            response = self._dispatch(request)
        return response(environ, start_response)

    def stats(self) -> dict:
        with self._lock:
            return {**self._stats, "credits_remaining": self._remaining()}

    def _dispatch(self, request: Request) -> Response:
        self._stats["requests"] += 1
        headers: dict[str, str] = {}
        try:
            self._authenticate(request)
            headers = self._rate_limit()
            adapter = self._url_map.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            status, body = getattr(self, "_" + endpoint)(request, **args)
        except ApiError as exc:
            self._api_requests["errors"] += 1
            status = exc.status
            body = {"error": {"message": exc.message, "type": exc.type, "code": exc.code, "param": exc.param}}
            headers = {**headers, **exc.headers}
        except MethodNotAllowed:
            status = 405
            body = {"error": {"message": f"{request.method} is not allowed on {request.path}.",
                              "type": "invalid_request_error", "code": "method_not_allowed", "param": None}}
        except NotFound:
            status = 404
            body = {"error": {"message": f"No Mavera endpoint at {request.path}.", "type": "invalid_request_error",
                              "code": "not_found", "param": None}}
        except HTTPException as exc:  # pragma: no cover - werkzeug raised something unexpected
            status = exc.code or 500
            body = {"error": {"message": exc.description, "type": "api_error", "code": "error", "param": None}}
        return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth:
            raise ApiError(401, "No API key provided: send 'Authorization: Bearer mvra_...'.",
                           "authentication_error", "missing_api_key")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.api_key:
            raise ApiError(401, "Invalid API key provided.", "authentication_error", "invalid_api_key")

    def _rate_limit(self) -> dict[str, str]:
        if not self.rate_limit:
            return {}
        now = self.clock()
        while self._window and self._window[0] <= now - WINDOW_S:
            self._window.popleft()
        reset = (self._window[0] if self._window else now) + WINDOW_S
        if len(self._window) >= self.rate_limit:
            self._stats["throttled"] += 1
            wait = max(1, math.ceil(reset - now))
            raise ApiError(
                429, f"Rate limit exceeded. Please retry after {wait} seconds.", "rate_limit_error",
                "rate_limit_exceeded", None,
                {"Retry-After": str(wait), "X-RateLimit-Limit": str(self.rate_limit),
                 "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(math.ceil(reset))},
            )
        self._window.append(now)
        return {"X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(self.rate_limit - len(self._window)),
                "X-RateLimit-Reset": str(math.ceil(reset))}

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _error(status: int, message: str, type_: str, code: str, param: str | None = None) -> ApiError:
        return ApiError(status, message, type_, code, param)

    def _new_id(self, kind: str) -> str:
        self._counter += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self._counter}".encode()).hexdigest()
        return "cl" + digest[:23]  # CUID-looking, deterministic for (seed, creation order)

    def _remaining(self) -> int:
        return self.credits_included - self._stats["credits_used"]

    def _charge(self, credits: int) -> None:
        remaining = self._remaining()
        if credits > remaining:
            raise ApiError(
                402,
                f"Insufficient credits: this request needs {credits} credits and {remaining} remain. "
                "Add credits or wait for the next billing period.",
                "insufficient_credits", "credits_exhausted",
            )
        self._stats["credits_used"] += credits

    @staticmethod
    def _json(request: Request) -> dict:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object.", None, "invalid_json")
        return body

    @staticmethod
    def _page(items: list[dict], request: Request) -> dict:
        try:
            limit = int(request.args.get("limit", 50))
        except ValueError:
            raise _bad("limit must be an integer between 1 and 100.", "limit") from None
        if not 1 <= limit <= 100:
            raise _bad("limit must be an integer between 1 and 100.", "limit")
        cursor = request.args.get("cursor")
        start = 0
        if cursor:
            try:
                start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise _bad("cursor is not valid; pass next_cursor from the previous page.", "cursor") from None
        page = items[start : start + limit]
        more = start + limit < len(items)
        nxt = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if more else None
        return {"object": "list", "data": page, "has_more": more, "next_cursor": nxt}

    # ----------------------------------------------------------------- personas
    def _list_personas(self, request: Request):
        items = list(self._personas.values())
        custom = request.args.get("is_custom")
        if custom is not None:
            want = custom.lower() in {"1", "true", "yes"}
            items = [p for p in items if p["is_custom"] == want]
        if category := request.args.get("category"):
            items = [p for p in items if p["category"].lower() == category.lower()]
        if search := request.args.get("search", "").strip().lower():
            items = [p for p in items if search in p["name"].lower() or search in p["description"].lower()]
        if name := request.args.get("name"):  # [I] the Shopify integration page filters by ?name=
            items = [p for p in items if p["name"].lower() == name.lower()]
        return 200, self._page(items, request)

    def _get_persona(self, request: Request, pid: str):
        return 200, self._persona_or_404(pid)

    def _persona_or_404(self, pid: str) -> dict:
        if pid not in self._personas:
            raise ApiError(404, f"Persona {pid} not found.", "invalid_request_error", "not_found", "id")
        return self._personas[pid]

    def _check_name(self, name: Any, own_id: str | None = None) -> str:
        if not isinstance(name, str) or not 2 <= len(name.strip()) <= 100:
            raise _bad("name must be a string of 2-100 characters.", "name")
        for p in self._personas.values():
            if p["is_custom"] and p["id"] != own_id and p["name"].lower() == name.strip().lower():
                raise ApiError(
                    422, f"A custom persona named '{name}' already exists ({p['id']}); update it with PATCH /personas/{{id}}.",
                    "invalid_request_error", "duplicate_persona", "name",
                )
        return name.strip()

    def _create_persona(self, request: Request):
        body = self._json(request)
        name = self._check_name(body.get("name"))
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            raise _bad("description is required: describe who this persona is.", "description", "missing_field")
        pipeline = body.get("pipeline_type", "north_star")
        if pipeline not in {"north_star", "intermediate", "advanced"}:
            raise _bad("pipeline_type must be one of north_star, intermediate, advanced.", "pipeline_type")
        ptype = body.get("type", "B2C")
        if ptype not in {"B2B", "B2C"}:
            raise _bad("type must be B2B or B2C.", "type")
        self._charge(prices.PERSONA)
        if self._state is not None:  # another run may have made personas since: never reuse one of their ids
            self._counter = self._state.load(self._counter)[0]
        details = {k: v for k, v in body.items() if k not in {"name", "description", "type", "workspace_id"}}
        details.setdefault("pipeline_type", pipeline)
        details.setdefault("persona_type", ptype)
        pid = self._new_id("persona")
        persona = {
            "id": pid,
            "object": "custom_persona",
            "name": name,
            "category": "Custom",
            "description": description,
            "pipeline_type": pipeline,
            "type": ptype,
            "is_custom": True,
            "is_expert": False,
            "created_at": int(self.clock()),
            "details": details,
        }
        self._personas[pid] = persona
        self._stats["personas_created"] += 1
        self._keep(persona)
        return 201, {**persona, "credits_charged": prices.PERSONA, "usage": {"credits_used": prices.PERSONA}}

    def _update_persona(self, request: Request, pid: str):
        persona = self._persona_or_404(pid)
        if not persona["is_custom"]:
            raise ApiError(403, "Base personas are read-only; create a custom persona instead.",
                           "permission_error", "forbidden", "id")
        body = self._json(request)
        if "name" in body:
            persona["name"] = self._check_name(body["name"], own_id=pid)
        if "description" in body:
            if not isinstance(body["description"], str) or not body["description"].strip():
                raise _bad("description must be a non-empty string.", "description")
            persona["description"] = body["description"]
        for key, value in body.items():
            if key not in {"name", "description", "type", "pipeline_type", "workspace_id"}:
                persona["details"][key] = value
        # [I] the cost of PATCH is undocumented; the price sheet takes it as 0, reported as such.
        self._charge(prices.PERSONA_UPDATE)
        self._keep(persona)
        return 200, {**persona, "usage": {"credits_used": prices.PERSONA_UPDATE}}

    def _keep(self, persona: dict) -> None:
        """Write a created or changed custom persona to the state file, if there is one."""
        if self._state is not None:
            self._state.save(persona, self._counter)

    # ----------------------------------------------------------------- generations
    def _list_apps(self, request: Request):
        data = [{"object": "generation_app", **app} for app in GENERATION_APPS]
        return 200, {"object": "list", "data": data, "has_more": False, "next_cursor": None}

    def _create_generation(self, request: Request):
        body = self._json(request)
        app_id = body.get("app_id")
        if not app_id:
            raise _bad("app_id is required; list apps with GET /generation-apps.", "app_id", "missing_field")
        app = APPS_BY_ID.get(app_id)
        if app is None:
            raise ApiError(404, f"Generation app '{app_id}' not found; list apps with GET /generation-apps.",
                           "invalid_request_error", "not_found", "app_id")
        data = body.get("input_data")
        if not isinstance(data, dict):
            raise _bad("input_data must be an object whose keys are the app's input_fields.", "input_data", "missing_field")
        allowed = {f["name"] for f in app["input_fields"]}
        for key in data:
            if key not in allowed:
                raise _bad(f"input_data.{key} is not an input field of {app_id}; allowed: {sorted(allowed)}.",
                           f"input_data.{key}")
        for field in app["input_fields"]:
            if field["required"] and not str(data.get(field["name"], "")).strip():
                raise _bad(f"input_data.{field['name']} is required by {app_id}.", f"input_data.{field['name']}",
                           "missing_field")
        persona = self._persona_or_404(body["persona_id"]) if body.get("persona_id") else None
        text = generate_text(app_id, data, persona, self.seed)
        credits = prices.generation(text)
        self._charge(credits)
        self._stats["generations"] += 1
        now = self.clock()
        gid = self._new_id("generation")
        words = len(text.split())
        self._generations[gid] = {
            "id": gid,
            "object": "generation",
            "title": body.get("title") or f"{app['name']}: {str(data.get('product'))[:60]}",
            "app": {"id": app_id, "name": app["name"], "category": app["category"]},
            "brand_voice": {"id": body["brand_voice_id"], "label": None} if body.get("brand_voice_id") else None,
            "persona": {"id": persona["id"], "name": persona["name"]} if persona else None,
            "input_data": data,
            "output": text,
            "content": text,
            "content_type": "markdown",
            "workspace_id": body.get("workspace_id") or self.workspace_id,
            "usage": {"prompt_tokens": 40 + 2 * len(json.dumps(data)) // 8, "completion_tokens": 2 * words,
                      "total_tokens": 40 + 2 * len(json.dumps(data)) // 8 + 2 * words, "credits_used": credits},
            "created_at": _iso(now),
            "updated_at": _iso(now),
        }
        return 201, self._generations[gid]

    # ----------------------------------------------------------------- Mave
    def _mave_chat(self, request: Request):
        body = self._json(request)
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise _bad("message is required.", "message", "missing_field")
        thread_id = body.get("thread_id")
        if thread_id and thread_id not in self._threads:
            raise ApiError(404, f"Mave thread {thread_id} not found; omit thread_id to start a new thread.",
                           "invalid_request_error", "not_found", "thread_id")
        complexity, lo, hi = prices.chat_band(message)
        credits = lo + int.from_bytes(digest(self.seed, message)[:2], "big") % (hi - lo + 1)
        self._charge(credits)
        if not thread_id:
            thread_id = "mave_thread_" + self._new_id("thread")[2:14]
            self._threads[thread_id] = {"messages": 0, "credits_used": 0, "log": [], "created_at": self.clock(),
                                        "title": message.strip()[:60],
                                        "workspace_id": body.get("workspace_id") or self.workspace_id}
        thread = self._threads[thread_id]
        thread["messages"] += 2
        thread["credits_used"] += credits
        self._stats["chats"] += 1
        content = mave_answer(message, turn=thread["messages"] // 2, seed=self.seed)
        reply_id = self._new_id("mave_message")
        thread["log"] += [{"id": reply_id + "q", "role": "user", "content": message, "created_at": _iso(self.clock())},
                          {"id": reply_id, "role": "assistant", "content": content, "created_at": _iso(self.clock())}]
        personas = [p for p in self._personas.values() if p["is_custom"]][:3] or list(self._personas.values())[:2]
        confidence = round(0.78 + (int.from_bytes(digest(self.seed, message, "c")[:1], "big") % 15) / 100, 2)
        return 200, {
            "id": reply_id,
            "object": "mave_message",
            "thread_id": thread_id,
            "role": "assistant",
            "content": content,
            "complexity": complexity,
            "sources": [
                {"title": "Sandbox knowledge base: segmentation hygiene", "url": "https://sandbox.mavera.invalid/kb/segments",
                 "domain": "sandbox.mavera.invalid", "source_type": "knowledge_base"},
                {"title": "Sandbox knowledge base: lifecycle messaging", "url": "https://sandbox.mavera.invalid/kb/lifecycle",
                 "domain": "sandbox.mavera.invalid", "source_type": "knowledge_base"},
            ],
            "personas_used": [{"id": p["id"], "name": p["name"]} for p in personas],
            # [I] the reference omits validation; the feature pages promise it: the third-party shape is used.
            "validation": {"confidence_score": confidence, "hallucination_risk": "low", "unsupported_claims": []},
            "usage": {"credits_used": credits},
            "created_at": _iso(self.clock()),
        }

    # ----------------------------------------------------------------- focus groups
    def _list_groups(self, request: Request):
        items = [self._group_view(g, full=False) for g in self._groups.values()]
        if name := request.args.get("name"):
            items = [g for g in items if g["name"] == name]
        if search := request.args.get("search", "").strip().lower():
            items = [g for g in items if search in g["name"].lower()]
        if status := request.args.get("status"):
            items = [g for g in items if g["status"] == status.lower()]
        return 200, self._page(items, request)

    def _get_group(self, request: Request, gid: str):
        if gid not in self._groups:
            raise ApiError(404, f"Focus group {gid} not found.", "invalid_request_error", "not_found", "id")
        group = self._groups[gid]
        group["polls"] += 1
        return 200, self._group_view(group, full=True)

    @staticmethod
    def _group_status(group: dict) -> str:
        if group["polls"] <= 1:
            return "pending"
        return "processing" if group["polls"] < POLLS_TO_COMPLETE else "completed"

    def _group_view(self, group: dict, full: bool) -> dict:
        status = self._group_status(group)
        view = {k: v for k, v in group.items() if k not in {"polls", "results"}}
        view["status"] = status
        view["completed_at"] = group["created_at"] + 45 if status == "completed" else None
        if full:
            view["results"] = group["results"] if status == "completed" else None
        return view

    def _create_group(self, request: Request):
        body = self._json(request)
        if not body.get("workspace_id"):
            raise _bad("workspace_id is required for focus groups.", "workspace_id", "missing_field")
        if body["workspace_id"] != self.workspace_id:
            raise ApiError(403, f"No access to workspace {body['workspace_id']}.", "permission_error", "forbidden",
                           "workspace_id")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("name is required.", "name", "missing_field")
        persona_ids = body.get("persona_ids")
        if not isinstance(persona_ids, list) or not 1 <= len(persona_ids) <= MAX_PERSONAS_PER_GROUP:
            raise _bad(f"persona_ids must list 1-{MAX_PERSONAS_PER_GROUP} persona ids.", "persona_ids")
        for pid in persona_ids:
            if pid not in self._personas:
                raise _bad(f"Persona {pid} does not exist.", "persona_ids", "invalid_persona")
        questions = body.get("questions")
        if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
            raise _bad(f"questions must list 1-{MAX_QUESTIONS} questions.", "questions")
        clean = [_check_question(q, i) for i, q in enumerate(questions)]
        sample = body.get("sample_size", 10 * len(persona_ids))
        if not isinstance(sample, int) or not len(persona_ids) <= sample <= MAX_SAMPLE_SIZE:
            raise _bad(f"sample_size must be an integer from the number of personas to {MAX_SAMPLE_SIZE}.", "sample_size")
        context = body.get("context") or ""
        credits = prices.focus_group(sample, len(clean))
        self._charge(credits)
        gid = self._new_id("focus_group")
        personas = [self._personas[p] for p in persona_ids]
        self._groups[gid] = {
            "id": gid,
            "object": "focus_group",
            "name": name,
            "workspace_id": body["workspace_id"],
            "persona_ids": persona_ids,
            "sample_size": sample,
            "context": context,
            "questions": clean,
            "created_at": int(self.clock()),
            "usage": {"credits_used": credits},
            "polls": 0,
            # Answers are fixed at creation so every poll of a completed group returns the same results.
            "results": answer_group(self.seed, body, personas, clean, sample, context),
        }
        self._stats["focus_groups_created"] += 1
        return 201, self._group_view(self._groups[gid], full=True)

    # ----------------------------------------------------------------- usage
    def _usage(self, request: Request):
        used = self._stats["credits_used"]
        now = self.clock()
        start = now - (now % (30 * 86400))
        return 200, {
            "object": "usage",
            "billing_period": {"start": _iso(start), "end": _iso(start + 30 * 86400)},
            "credits": {"used": used, "included": self.credits_included, "remaining": self._remaining(),
                        "percentage_used": round(100 * used / self.credits_included, 2) if self.credits_included else 100.0},
            "api_requests": {"total_requests": self._stats["requests"], "credits_used": used,
                             "error_count": self._api_requests["errors"]},
            "rate_limit": {"requests_per_minute": self.rate_limit or None},
            "auto_recharge": {"enabled": False, "threshold": None, "credits_to_add": None},
            "limits": {"budget_alert": None, "usage_limit": None},
            "usage": {"credits_used": 0},
        }


def _check_question(q: Any, index: int) -> dict:
    param = f"questions[{index}]"
    if not isinstance(q, dict):
        raise _bad(f"{param} must be an object with type and text.", param)
    qtype = str(q.get("type", "")).lower()
    if qtype not in QUESTION_TYPES:
        raise _bad(f"{param}.type must be one of {', '.join(QUESTION_TYPES)}.", f"{param}.type")
    text = q.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"{param}.text is required.", f"{param}.text", "missing_field")
    out = {"id": str(q.get("id") or f"q{index + 1}"), "type": qtype, "text": text}
    if qtype == "likert":
        scale = q.get("scale", 5)
        if scale not in (5, 7):
            raise _bad(f"{param}.scale must be 5 or 7.", f"{param}.scale")
        out["scale"] = scale
    elif qtype == "multiple_choice":
        options = q.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= 10 or not all(isinstance(o, str) for o in options):
            raise _bad(f"{param}.options must list 2-10 strings.", f"{param}.options")
        out["options"] = options
    return out

