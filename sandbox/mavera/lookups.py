"""The Mavera emulator's free lookups of what was created: GET /generations and GET /mave/threads(/{id}).

A client that sent a charging request and got no answer looks the object up before sending it again; these
are the lists it reads (research §5, §7, §8; filter names [I]). :class:`Lookups` is a base of
:class:`~sandbox.mavera.app.MaveraEmulator`, which holds the state (``_generations``, ``_threads``).
"""

from __future__ import annotations

import time

from werkzeug.wrappers import Request


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Lookups:
    """Routes ``list_generations``, ``list_threads`` and ``get_thread`` of the emulator (whose ``clock``,
    ``_page`` and ``_error`` they use)."""

    _generations: dict[str, dict]
    _threads: dict[str, dict]
    workspace_id: str

    def _list_generations(self, request: Request):
        """GET /generations, newest first; ``search`` matches the title, ``app_id`` and ``workspace_id`` filter [I]."""
        search = (request.args.get("search") or "").lower()
        app_id, workspace = request.args.get("app_id"), request.args.get("workspace_id")
        items = [g for g in reversed(self._generations.values())
                 if search in str(g["title"]).lower() and app_id in (None, g["app"]["id"])
                 and workspace in (None, g["workspace_id"])]
        return 200, self._page(items, request)

    def _thread_view(self, tid: str) -> dict:
        thread = self._threads[tid]
        return {"id": tid, "object": "mave_thread", "title": thread.get("title", ""), "current_phase": "VALIDATION",
                "credits_used": thread["credits_used"], "workspace_id": thread.get("workspace_id", self.workspace_id),
                "message_count": thread["messages"], "created_at": _iso(thread.get("created_at", 0)),
                "updated_at": _iso(self.clock())}

    def _list_threads(self, request: Request):
        """GET /mave/threads: offset-style list (research §5), newest first."""
        try:
            limit = int(request.args.get("limit", 20))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            raise self._error(400, "limit and offset must be integers.", "invalid_request_error", "invalid_field",
                              "limit") from None
        workspace = request.args.get("workspace_id")
        items = [self._thread_view(t) for t in reversed(list(self._threads))
                 if workspace in (None, self._threads[t].get("workspace_id", self.workspace_id))]
        page = items[offset:offset + max(1, min(100, limit))]
        return 200, {"object": "list", "data": page, "total": len(items), "limit": limit, "offset": offset,
                     "has_more": offset + len(page) < len(items)}

    def _get_thread(self, request: Request, tid: str):
        if tid not in self._threads:
            raise self._error(404, f"Mave thread {tid} not found.", "invalid_request_error", "not_found", "thread_id")
        return 200, {**self._thread_view(tid), "messages": list(self._threads[tid].get("log", []))}
