"""Hostile servers on loopback addresses, run in threads inside the test (fixtures in conftest.py).

``Hostile`` is a werkzeug app whose answers a test scripts (``handler(request) -> Response``); it
records every request that reached it, so a test can assert that a foreign server got none.
``RawServer`` speaks raw TCP for answers no WSGI app can give (garbage, a body cut short).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

KLAVIYO_KEY = "pk_hostile_0123456789abcdef"
MAVERA_KEY = "mvra_test_hostile_0123456789abcdef"


class _Quiet(WSGIRequestHandler):
    def log(self, *args, **kwargs) -> None:  # clients giving up mid-answer are the point here
        pass


class Hostile:
    """A scripted server: ``handler(request)`` answers, ``requests`` records what arrived."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.handler: Callable[[Request], Response] = lambda req: json_response({})
        self.base = ""

    def __call__(self, environ, start_response):
        req = Request(environ)
        with self.lock:
            self.requests.append({"method": req.method, "path": req.path, "url": req.url,
                                  "headers": dict(req.headers), "body": req.get_data(as_text=True)})
            number = len(self.requests)
        req.number = number  # which request this is (1-based), for scripts that change over a chain
        return self.handler(req)(environ, start_response)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]


def json_response(body, status: int = 200, headers: dict | None = None, mimetype: str = "application/json"):
    return Response(json.dumps(body), status=status, headers=headers or {}, mimetype=mimetype)


@contextmanager
def serve(app, host: str = "127.0.0.1") -> Iterator[str]:
    server = make_server(host, 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class RawServer:
    """A TCP server that reads one HTTP request head (and its body) and hands the socket to ``act``."""

    def __init__(self, act: Callable[[socket.socket], None], read_request: bool = True) -> None:
        self.act = act
        self.read_request = read_request  # False: act at once (a TLS client sends no HTTP head)
        self.count = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.count += 1
                sock = self.request
                if not outer.read_request:
                    outer.act(sock)
                    return
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                try:
                    outer.act(sock)
                except OSError:
                    pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RawServer:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
