"""The Mavera side of the sandbox: a WSGI app that speaks Mavera's wire format (mounted at /mavera/api/v1).

Shapes follow the research notes (../shared/research/mavera.md). Where Mavera's public docs are silent
(focus groups above all) the most likely shape is used and marked "[I]" in a comment. Answers and
generated text are deterministic functions of the seed and the request, and are built from what was
sent (persona numbers, stimulus, segment names) so reports made from the sandbox read sensibly.

Credits follow the documented figures, computed by the same functions the client's estimates use
(``helpers.mavera``), so an estimate is never below what the sandbox charges.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from typing import Any

import numpy as np
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from helpers.mavera import (
    GENERATION_CREDITS,
    PERSONA_CREDITS,
    focus_group_credits,
    mave_chat_band,
)

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

def _app(app_id: str, name: str, category: str, description: str, *specific: tuple[str, str, str]) -> dict:
    """A generation app: the brief fields every app shares, its own (name, label, type) fields, then context."""
    def field(name, label, kind="text", required=False):
        return {"name": name, "label": label, "type": kind, "required": required}

    fields = [field("product", "Product or topic", required=True), field("offer", "Offer"),
              field("audience", "Audience"), field("tone", "Tone"), *(field(*f) for f in specific),
              field("context", "Context", "textarea"), field("variant", "Variant number", "number")]
    return {"id": app_id, "name": name, "category": category, "description": description, "input_fields": fields}


GENERATION_APPS = [
    _app("email-subject-line", "Email Subject Line", "Email", "A subject line (and preview text) for a marketing email.",
         ("original", "Current subject line", "text")),
    _app("email-body", "Email Body", "Email", "Body copy with a call to action for a marketing email.",
         ("goal", "Goal of the email", "text"), ("original", "Current body", "textarea")),
    _app("sms-message", "SMS Message", "SMS",
         "A marketing text message within 160 characters, opt-out language included.",
         ("original", "Current message", "text")),
]
_APPS = {app["id"]: app for app in GENERATION_APPS}


class ApiError(Exception):
    """An error response in Mavera's shape: {"error": {message, type, code, param}}."""

    def __init__(self, status: int, message: str, type_: str, code: str, param: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}


def _bad(message: str, param: str | None = None, code: str = "invalid_field") -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def _digest(*parts: Any) -> bytes:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def _rng(*parts: Any) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(_digest(*parts)[:8], "big"))


def _pick(options: list[str], *parts: Any) -> str:
    return options[int.from_bytes(_digest(*parts)[:4], "big") % len(options)]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class MaveraEmulator:
    """A werkzeug WSGI app emulating Mavera's API for one workspace and one API key."""

    def __init__(self, seed: int, api_key: str, workspace_id: str, credits: int = 20000, rate_scale: float = 1.0):
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
        self._url_map = Map(
            [
                Rule("/personas", methods=["GET"], endpoint="list_personas"),
                Rule("/personas", methods=["POST"], endpoint="create_persona"),
                Rule("/personas/<pid>", methods=["GET"], endpoint="get_persona"),
                Rule("/personas/<pid>", methods=["PATCH"], endpoint="update_persona"),
                Rule("/generation-apps", methods=["GET"], endpoint="list_apps"),
                Rule("/generations", methods=["POST"], endpoint="create_generation"),
                Rule("/mave/chat", methods=["POST"], endpoint="mave_chat"),
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
        self._charge(PERSONA_CREDITS)
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
        return 201, {**persona, "credits_charged": PERSONA_CREDITS, "usage": {"credits_used": PERSONA_CREDITS}}

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
        # [I] the cost of PATCH is undocumented; charged 0 here and reported as such.
        return 200, {**persona, "usage": {"credits_used": 0}}

    # ----------------------------------------------------------------- generations
    def _list_apps(self, request: Request):
        data = [{"object": "generation_app", **app} for app in GENERATION_APPS]
        return 200, {"object": "list", "data": data, "has_more": False, "next_cursor": None}

    def _create_generation(self, request: Request):
        body = self._json(request)
        app_id = body.get("app_id")
        if not app_id:
            raise _bad("app_id is required; list apps with GET /generation-apps.", "app_id", "missing_field")
        app = _APPS.get(app_id)
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
        text = _generate_text(app_id, data, persona, self.seed)
        lo, hi = GENERATION_CREDITS
        credits = min(hi, lo + len(text) // 40)
        self._charge(credits)
        self._stats["generations"] += 1
        now = self.clock()
        gid = self._new_id("generation")
        words = len(text.split())
        return 201, {
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
        complexity, lo, hi = mave_chat_band(message)
        credits = lo + int.from_bytes(_digest(self.seed, message)[:2], "big") % (hi - lo + 1)
        self._charge(credits)
        if not thread_id:
            thread_id = "mave_thread_" + self._new_id("thread")[2:14]
            self._threads[thread_id] = {"messages": 0, "credits_used": 0}
        thread = self._threads[thread_id]
        thread["messages"] += 2
        thread["credits_used"] += credits
        self._stats["chats"] += 1
        content = _mave_answer(message, turn=thread["messages"] // 2)
        personas = [p for p in self._personas.values() if p["is_custom"]][:3] or list(self._personas.values())[:2]
        confidence = round(0.78 + (int.from_bytes(_digest(self.seed, message, "c")[:1], "big") % 15) / 100, 2)
        return 200, {
            "id": self._new_id("mave_message"),
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
        credits = focus_group_credits(sample, len(clean))
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
            "results": _answer_group(self.seed, body, personas, clean, sample, context),
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


# ===================================================================== content built from the request
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


_POSITIVE = ("vip", "loyal", "champion", "high-value", "high value", "repeat", "advocate", "frequent")
_NEGATIVE = ("at risk", "at-risk", "lapsed", "dormant", "occasional", "one-time", "bargain", "price-sensitive")
_REVERSED = ("intrusive", "annoying", "spam", "too many", "too often", "irritat", "overwhelm")
_PRICE = ("price", "fair", "worth", "value for money", "expensive", "cost")


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _number(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    if not match:
        return None
    value = float(match.group(1).replace(",", ""))
    return value


def persona_traits(persona: dict) -> dict:
    """Answer tendencies read from a persona's words and numbers (churn probability, CLV, channel).

    ``affinity`` in [-1, 1]: loyal, high-CLV, low-churn personas answer warmer than high-churn,
    low-value ones. ``price_sensitive`` and ``channel`` steer price and channel questions.
    """
    text = " ".join([persona.get("name", ""), persona.get("description", ""), _flatten(persona.get("details", {}))])
    low = text.lower()
    band = re.search(r"churn[^.;\n]{0,25}?\b(low|medium|high)\b", low)
    churn = _number(r"churn[a-z _-]*?[^0-9\n;]{0,25}?(\d+(?:\.\d+)?)\s*%", low)
    if band:
        churn = {"low": 0.15, "medium": 0.45, "high": 0.75}[band.group(1)]
    elif churn is not None:
        churn /= 100
    else:
        churn = _number(r"churn[a-z _-]*?[^0-9\n;]{0,25}?(0?\.\d+|1\.0+|[01])\b", low)
    clv = _number(r"clv[^0-9\n]{0,40}?\$?\s*(\d[\d,]*(?:\.\d+)?)", low)
    affinity = 0.0
    if churn is not None:
        affinity += (0.35 - min(max(churn, 0.0), 1.0)) * 1.6
    if clv is not None and clv > 0:
        affinity += max(-0.4, min(0.4, (math.log10(clv) - 2.3) * 0.35))
    pos = sum(low.count(w) for w in _POSITIVE)
    neg = sum(low.count(w) for w in _NEGATIVE)
    affinity += max(-0.3, min(0.3, 0.15 * (pos - neg)))
    sms = low.count("sms") + low.count("text message")
    email = low.count("email")
    return {
        "affinity": max(-1.0, min(1.0, affinity)),
        "churn": churn,
        "clv": clv,
        "price_sensitive": (churn is not None and churn >= 0.5) or neg > pos,
        "channel": "sms" if sms > email else ("email" if email > sms else None),
    }


def _stimulus_pull(context: str) -> float:
    low = context.lower()
    pull = 0.0
    if re.search(r"\d+\s*%\s*off|discount|free shipping|save\b|bundle", low):
        pull += 0.1
    prices = [float(p.replace(",", "")) for p in re.findall(r"\$\s*(\d[\d,]*(?:\.\d+)?)", context)]
    if prices and sum(prices) / len(prices) > 150:
        pull -= 0.15
    return pull


def _question_lean(traits: dict, q: dict, context: str) -> float:
    """How favourably this persona leans on this question, in [-1, 1]."""
    text = q["text"].lower()
    lean = traits["affinity"] + _stimulus_pull(context)
    if any(w in text for w in _PRICE) and traits["price_sensitive"]:
        lean -= 0.25 if "discount" not in context.lower() and "% off" not in context.lower() else -0.15
    channel = traits["channel"]
    mentions_sms, mentions_email = "sms" in text or "text message" in text, "email" in text
    if channel and mentions_sms != mentions_email:
        lean += 0.3 if (channel == "sms") == mentions_sms else -0.3
    if any(w in text for w in _REVERSED):
        lean = -lean  # an agreeable persona disagrees that the message is intrusive
    return max(-1.0, min(1.0, lean))


def _subject_of(context: str) -> str:
    first = next((line.strip(" -*#:\t") for line in context.splitlines() if line.strip(" -*#:\t")), "this offer")
    return first if len(first) <= 80 else first[:77].rstrip() + "..."


def _open_answer(persona: dict, traits: dict, lean: float, context: str, rng: np.random.Generator) -> str:
    subject = _subject_of(context)
    who = persona["name"]
    if lean > 0.25:
        opener = ["I'd go for it", "This fits how I already shop", "Honestly, this is appealing"]
        reason = "I already trust the brand and the combination makes sense for me"
    elif lean < -0.25:
        opener = ["I'd probably skip this", "Not convinced", "This doesn't grab me"]
        reason = "I only buy when there's a clear reason or a real deal"
    else:
        opener = ["Maybe", "It depends on timing", "I could see myself trying it"]
        reason = "it's interesting, but I'd compare it with other options first"
    parts = [f"{opener[int(rng.integers(len(opener)))]}: {subject}.", f"As a {who} shopper, {reason}."]
    if traits["churn"] is not None and traits["churn"] >= 0.5:
        parts.append("A time-limited discount or free shipping would change my mind.")
    elif traits["clv"] is not None and traits["clv"] >= 500:
        parts.append("Early access or a loyalty perk would matter more to me than a discount.")
    if traits["channel"]:
        parts.append(f"Reach me by {'SMS' if traits['channel'] == 'sms' else 'email'}.")
    return " ".join(parts)


def _answer(q: dict, persona: dict, traits: dict, context: str, rng: np.random.Generator) -> tuple[Any, str]:
    lean = _question_lean(traits, q, context)
    if q["type"] == "likert":
        scale = q["scale"]
        mid = (scale + 1) / 2
        value = int(np.clip(round(mid + lean * (scale - 1) / 2 * 0.85 + rng.normal(0, 0.6)), 1, scale))
        return value, f"Leaning {'positive' if lean > 0.1 else 'negative' if lean < -0.1 else 'neutral'} on this."
    if q["type"] == "nps":
        value = int(np.clip(round(6.5 + lean * 3.8 + rng.normal(0, 1.2)), 0, 10))
        band = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
        return value, f"Score {value} ({band})."
    if q["type"] == "multiple_choice":
        weights = []
        for option in q["options"]:
            low = option.lower()
            w = 1.0
            if traits["channel"] == "sms" and ("sms" in low or "text" in low):
                w += 2.5
            if traits["channel"] == "email" and "email" in low:
                w += 2.5
            if any(x in low for x in ("neither", "none", "not interested")):
                w *= 0.3 + max(0.0, -lean) * 3
            if "both" in low or "all" in low.split():
                w *= 0.6 + max(0.0, lean) * 2
            weights.append(w)
        p = np.asarray(weights) / sum(weights)
        choice = q["options"][int(rng.choice(len(p), p=p))]
        return choice, f"{choice} suits me best."
    text = _open_answer(persona, traits, lean, context, rng)
    return text, text


def _answer_group(seed: int, body: dict, personas: list[dict], questions: list[dict], sample: int, context: str) -> dict:
    responses = []
    traits = {p["id"]: persona_traits(p) for p in personas}
    for r in range(sample):
        persona = personas[r % len(personas)]  # respondents spread evenly over the personas
        answers = []
        for q in questions:
            rng = _rng(seed, body, persona["id"], r, q["id"])
            value, reasoning = _answer(q, persona, traits[persona["id"]], context, rng)
            answers.append({"question_id": q["id"], "type": q["type"], "value": value, "reasoning": reasoning})
        responses.append({"respondent_id": f"r{r + 1}", "persona": {"id": persona["id"], "name": persona["name"]},
                          "answers": answers})
    return {"summary": _summarise(questions, responses), "responses": responses}


def _summarise(questions: list[dict], responses: list[dict]) -> list[dict]:
    out = []
    for q in questions:
        values = [a["value"] for r in responses for a in r["answers"] if a["question_id"] == q["id"]]
        stat: dict[str, Any] = {"question_id": q["id"], "type": q["type"], "text": q["text"], "n": len(values)}
        if q["type"] in {"likert", "nps"}:
            arr = np.asarray(values, dtype=float)
            stat.update(mean=round(float(arr.mean()), 3), median=float(np.median(arr)), std_dev=round(float(arr.std()), 3))
            if q["type"] == "nps":
                stat["nps"] = round(100 * (float((arr >= 9).mean()) - float((arr <= 6).mean())), 1)
        elif q["type"] == "multiple_choice":
            stat["distribution"] = {o: values.count(o) for o in q["options"]}
        out.append(stat)
    return out


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,:;-") + "…"


def _generate_text(app_id: str, data: dict, persona: dict | None, seed: int) -> str:
    """Copy built from the input: it names the product and offer sent and keeps channel limits
    (subject ≤ 60 characters, SMS ≤ 160 GSM-7 characters with opt-out language)."""
    product = str(data.get("product")).strip()
    # Notebook inputs name "Flow: Message"; the copy talks about the topic, not the message label.
    topic = product.split(":", 1)[0].strip() if ":" in product else product
    offer = str(data.get("offer") or "").strip()
    audience = str(data.get("audience") or (persona or {}).get("name") or "").strip()
    tone = str(data.get("tone") or "warm").strip().lower()
    original = str(data.get("original") or "")
    old_subject = re.search(r"subject:\s*(.*?)\s*(?:\||$)", original, re.IGNORECASE | re.MULTILINE)
    key = (seed, app_id, data, (persona or {}).get("id"))
    if app_id == "email-subject-line":
        short = _fit(topic, 34)
        if offer:
            options = [f"{short}: {offer}", f"{offer} on {short}, today only", f"Still thinking about {short}? {offer}",
                       f"Your {short} pick + {offer}"]
        else:
            options = [f"Your {short} picks are waiting", f"Back in focus: {short}", f"{short}, picked for you",
                       f"A quick look at {short}"]
        if old_subject and old_subject.group(1):
            options.append(f"Re-think: {_fit(old_subject.group(1).strip(), 40)} (new picks inside)")
        subject = _fit(_pick(options, *key), 60)
        preview = _pick([f"{audience or 'Our regulars'} love it; see why.", "One tap to pick up where you left off.",
                         "Made for how you actually shop."], *key, "preview")
        return f"**Subject:** {subject}\n\n**Preview text:** {_fit(preview, 100)}"
    if app_id == "sms-message":
        opener = "Hey!" if tone in {"playful", "casual", "fun"} else "Hi,"
        close = _pick([" Shop now.", " Tap to see it.", " Grab yours today."], *key) + " Reply STOP to opt out."
        middle = f": {offer}." if offer else " is back for you."
        room = 160 - len(opener) - 1 - len(middle) - len(close)
        return f"{opener} {_fit(topic, max(10, room)).rstrip('…')}{middle}{close}"[:160]  # GSM-7 only
    goal = str(data.get("goal") or "come back and complete your order").strip().rstrip(".")
    greeting = "Hi there," if tone != "formal" else "Hello,"
    lines = [
        greeting,
        "",
        f"We picked out **{topic}** for {audience or 'you'}" + (f" — and for a short time, {offer}." if offer else "."),
        _pick(["Customers who bought once keep coming back for it.",
               "It pairs well with what you already have.",
               "It's one of this season's most reordered picks."], *key),
        "",
        f"Our aim with this email: {goal}.",
        "",
        f"**[Shop {topic} now]**",
    ]
    return "\n".join(lines)


_ACTIONS = (
    ("merge", ("redundant", "jaccard", "duplicate", "near-identical")),
    ("fold", ("nested", "inside", "contained", "subset", "containment")),
    ("retire", ("tiny", "too small", "fewer than")),
)


def _kind(text: str) -> str | None:
    low = text.lower()
    return next((kind for kind, words in _ACTIONS if any(w in low for w in words)), None)


def _names(item: str) -> list[str]:
    quoted = re.findall(r"[\"'“‘`]([^\"'”’`]{2,60})[\"'”’`]", item)
    if quoted:
        return quoted[:2]
    head = item.rsplit(":", 1)[0] if re.search(r":\s*[\d.]+%?\s*$", item) else item
    parts = re.split(r"\s+(?:~|↔|<->|vs\.?|and|inside|within|in)\s+", head, maxsplit=1)
    return [re.sub(r"\s*\(\d[\d,]*\)$", "", p).strip(" -*") for p in parts if p.strip(" -*")][:2]


def _mave_answer(message: str, turn: int) -> str:
    """Markdown built from the brief: echoes its segment lines and turns flagged ones into actions.

    Flags come from keywords on a line or from the heading above a bullet list ("Near-duplicate
    pairs (Jaccard):" then "- A ~ B: 0.93").
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    echoed, actions, section = [], [], None
    for line in lines:
        is_item = line[:2] in {"- ", "* "} or bool(re.match(r"^\d+[.)] ", line))
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(line) <= set("|-: ") or cells[0].lower() in {"segment", "name", "id", "segment_id", "pair"}:
                continue
            line, is_item = " · ".join(cells), True
        if not is_item:
            section = _kind(line)
            if section == "retire" and ":" in line:  # "Tiny segments: A (31), B (12)"
                for item in line.split(":", 1)[1].split(","):
                    if item.strip():
                        actions.append(("retire", _names(item.strip()), None))
            elif section and re.search(r"[\"'“‘`][^\"'”’`]{2,60}[\"'”’`]", line):  # a flagged sentence naming segments
                numbers = re.findall(r"\d+(?:\.\d+)?\s*%|\b0\.\d+\b", line)
                actions.append((section, _names(line), numbers[-1].strip() if numbers else None))
            continue
        item = re.sub(r"^(?:[-*]|\d+[.)])\s+", "", line)
        kind = _kind(item) or section
        if kind is None:
            echoed.append(item)
            continue
        numbers = re.findall(r"\d+(?:\.\d+)?\s*%|\b0\.\d+\b", item)
        actions.append((kind, _names(item), numbers[-1].strip() if numbers else None))
    text = []
    for kind, names, figure in actions:
        label = " and ".join(f"“{n}”" for n in names) or "this segment"
        evidence = f" (overlap {figure})" if figure else ""
        if kind == "merge":
            text.append(f"**Merge** {label}{evidence}: they reach essentially the same people; keep one definition.")
        elif kind == "fold" and len(names) == 2:
            text.append(f"**Fold** “{names[0]}” into “{names[1]}”{evidence}: it sits inside the larger segment; "
                        "use a filter on the larger one instead.")
        elif kind == "fold":
            text.append(f"**Fold** {label}{evidence}: it sits inside a larger segment.")
        else:
            text.append(f"**Retire or fold** {label}: too small to move revenue on its own.")
    text = list(dict.fromkeys(text))[:15]
    numbers = re.findall(r"\b\d[\d,]*(?:\.\d+)?%?", message)
    out = []
    if turn > 1:
        out.append(f"Building on the earlier answers in this thread (message {turn}):\n")
    out.append("## Simplified segmentation plan\n")
    if echoed:
        out.append("**What you sent**\n")
        out.extend(f"- {r}" for r in echoed[:10])
        if len(echoed) > 10:
            out.append(f"- … and {len(echoed) - 10} more")
        out.append("")
    out.append("**Recommendations**\n")
    if text:
        out.extend(f"{i}. {a}" for i, a in enumerate(text, 1))
        out.append(f"{len(text) + 1}. Keep every other segment as it is; recheck overlaps after the next list clean-up.")
    else:
        out.append("1. No segment in your brief is flagged as redundant, nested or tiny; keep the current set and "
                   "review overlaps quarterly.")
    out.append("")
    if numbers:
        out.append(f"These recommendations rest on the {len(numbers)} figures in your brief (e.g. {', '.join(numbers[:4])}).")
    out.append("\n_Answer generated by the local Mavera sandbox from the numbers in your message._")
    return "\n".join(out)
