"""The sandbox server: both emulators behind one threaded werkzeug server, plus faults, latency and
the /sandbox control endpoints (truth, stats, scheduled faults)."""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .faults import FaultInjector
from .klaviyo import JSONAPI, ApiError, KlaviyoEmulator, RateLimiter
from .mavera import MaveraEmulator
from .store.shop import Store
from .store.truth import compute_truth

MAVERA_PREFIX = "/mavera/api/v1"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
POLL_SECONDS = 0.05  # the first wait between focus-group polls that env() suggests to clients


@dataclass(frozen=True)
class RecordedRequest:
    """One Klaviyo request as it reached the sandbox (for checking clients against the official document)."""

    method: str
    path: str
    query: str  # the raw query string
    headers: dict[str, str]
    body: bytes


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log on stderr: tests and notebooks make thousands of requests."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class Sandbox:
    """Both emulated APIs on 127.0.0.1 over real HTTP; use as a context manager or call start()/stop()."""

    def __init__(self, seed: int = 7, profiles: int = 5000, fault_rate: float = 0.0, latency_ms: float = 0,
                 rate_scale: float = 1.0, mavera_credits: int = 20000, port: int = 0,
                 clock: Callable[[], float] = time.time, record_requests: bool = False, predictions: bool = True,
                 mavera_state: str | Path | None = None):
        """``mavera_state``: a file keeping Mavera's custom personas across sandboxes of this seed (the runner's
        ``--sandbox`` passes one per output folder), as the real service keeps them; None: this sandbox only."""
        if rate_scale < 0:
            raise ValueError(f"rate_scale must be >= 0 (0 switches limits off), got {rate_scale}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        self.seed = seed
        self.latency = latency_ms / 1000.0
        self.port = port
        self.klaviyo_api_key = f"pk_sbx_{secrets.token_hex(16)}"
        self.mavera_api_key = f"mvra_test_{secrets.token_hex(16)}"
        self.mavera_workspace_id = "ws_sandbox"
        self.store = Store(seed=seed, profiles=profiles, predictions=predictions)
        self.limiter = RateLimiter(rate_scale, clock)
        self.faults = FaultInjector(seed, fault_rate)
        self.klaviyo = KlaviyoEmulator(self.store, self.klaviyo_api_key, self.limiter)
        self.mavera = MaveraEmulator(seed=seed, api_key=self.mavera_api_key, workspace_id=self.mavera_workspace_id,
                                     credits=mavera_credits, rate_scale=rate_scale, state=mavera_state)
        self._apis = DispatcherMiddleware(self.klaviyo, {MAVERA_PREFIX: self.mavera.wsgi_app})
        self._truth: dict | None = None
        # Klaviyo requests kept for sb.recorded() / sb.recording(); Mavera has no official document to check.
        self._recording = 1 if record_requests else 0
        self._recorded: list[RecordedRequest] = []
        self._record_lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        self._server = make_server("127.0.0.1", self.port, self.wsgi_app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- public API --------------------------------------------------------------------------------
    @property
    def klaviyo_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mavera_base_url(self) -> str:
        return f"{self.klaviyo_base_url}{MAVERA_PREFIX}"

    def env(self) -> dict[str, str]:
        return {"KLAVIYO_API_KEY": self.klaviyo_api_key, "KLAVIYO_BASE_URL": self.klaviyo_base_url,
                "KLAVIYO_REVISION": "2026-07-15", "MAVERA_API_KEY": self.mavera_api_key,
                "MAVERA_BASE_URL": self.mavera_base_url, "MAVERA_WORKSPACE_ID": self.mavera_workspace_id,
                "WORKBOOKS_SANDBOX": "1",
                # The Klaviyo client paces against the same scaled limits (0: none) instead of the real ones.
                "KLAVIYO_RATE_SCALE": str(self.limiter.scale),
                # Focus groups here finish after a few polls (POLLS_TO_COMPLETE), so the first wait can be short.
                "MAVERA_POLL_SECONDS": str(POLL_SECONDS)}

    def truth(self) -> dict:
        if self._truth is None:
            self._truth = compute_truth(self.store)
        return self._truth

    def stats(self) -> dict:
        return {"klaviyo": {"requests": self.klaviyo.request_counts(), "throttled": self.limiter.throttled,
                            "throttled_by_bucket": dict(self.limiter.throttled_by_bucket),
                            "faults": self.faults.injected},
                "mavera": self.mavera.stats()}

    def schedule_fault(self, method: str, path_prefix: str, status: int, count: int = 1) -> None:
        self.faults.schedule(method, path_prefix, status, count)

    def clear_faults(self) -> int:
        """Drop scheduled faults still waiting (a test that queued more than the client sends must not leave
        them to the next test on a shared sandbox); returns how many."""
        return self.faults.clear_scheduled()

    def recorded(self) -> list[RecordedRequest]:
        """Every Klaviyo request received while recording (``record_requests=True`` or ``recording()``)."""
        with self._record_lock:
            return list(self._recorded)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[RecordedRequest]]:
        """Record the Klaviyo requests received inside the block; the list yielded fills as they arrive."""
        with self._record_lock:
            start = len(self._recorded)
            self._recording += 1
        window: list[RecordedRequest] = []
        try:
            yield window
        finally:
            with self._record_lock:
                self._recording -= 1
                window.extend(self._recorded[start:])
                if not self._recording:
                    self._recorded.clear()

    def _record(self, environ, body: bytes) -> None:
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        req = RecordedRequest(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""),
                              environ.get("QUERY_STRING", ""), headers, body)
        with self._record_lock:
            if self._recording:
                self._recorded.append(req)

    # --- WSGI --------------------------------------------------------------------------------------
    def wsgi_app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/sandbox/"):
            return self._control(Request(environ))(environ, start_response)
        body = _buffer_body(environ)
        if self._recording and path.startswith("/api/"):
            self._record(environ, body)
        fault = self.faults.decide(environ.get("REQUEST_METHOD", "GET"), path, environ.get("QUERY_STRING", ""), body)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            if fault.status == -1:
                time.sleep(fault.delay)
            elif fault.status == 0:
                return self._drop(environ, start_response)
            else:
                return self._fault_response(path, fault.status)(environ, start_response)
        return self._apis(environ, start_response)

    @staticmethod
    def _drop(environ, start_response):
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # Writing to the shut socket fails inside werkzeug, which treats it as a dropped connection.
        start_response("500 Internal Server Error", [("Content-Length", "0")])
        return [b""]

    @staticmethod
    def _fault_response(path: str, status: int) -> Response:
        if path.startswith(MAVERA_PREFIX):
            body = {"error": {"message": f"Injected sandbox fault ({status}).", "type": "server_error",
                              "code": "throttled" if status == 429 else "sandbox_fault"}}
            resp = Response(json.dumps(body), status, content_type="application/json")
        else:
            if status == 429:
                resp = ApiError(429, "throttled", "Request was throttled.",
                                "Request was throttled. Expected available in 1 second.").response()
            else:
                resp = ApiError(status, "error", "A server error occurred.",
                                f"Injected sandbox fault ({status}); retry later.").response()
        if status == 429:
            resp.headers["Retry-After"] = "1"
        return resp

    def _control(self, request: Request) -> Response:
        if request.remote_addr not in LOOPBACK:
            return Response(json.dumps({"error": "control endpoints answer loopback clients only"}), 403,
                            content_type="application/json")
        if request.path == "/sandbox/truth" and request.method == "GET":
            return Response(json.dumps(self.truth()), content_type="application/json")
        if request.path == "/sandbox/stats" and request.method == "GET":
            return Response(json.dumps(self.stats()), content_type="application/json")
        if request.path == "/sandbox/faults" and request.method == "POST":
            try:
                spec = json.loads(request.get_data(as_text=True))
                self.schedule_fault(spec.get("method", "GET"), spec["path_prefix"], int(spec["status"]),
                                    int(spec.get("count", 1)))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                return Response(json.dumps({"error": f"bad fault spec: {exc}; send {{\"method\", \"path_prefix\", "
                                                     f"\"status\", \"count\"}}"}), 400, content_type="application/json")
            return Response(json.dumps({"scheduled": spec}), 201, content_type="application/json")
        return Response(json.dumps({"error": f"no control endpoint {request.method} {request.path}"}), 404,
                        content_type="application/json")


__all__ = ["Sandbox", "JSONAPI", "RecordedRequest"]


def _buffer_body(environ) -> bytes:
    """Read the request body (so faults can depend on it) and put it back for the app to read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body
