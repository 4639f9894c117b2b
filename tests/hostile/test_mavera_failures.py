"""Every way a Mavera call can fail ends as MaveraError, so a notebook's Mavera step reports it and the
Klaviyo analysis is kept: odd bodies, unusable base URLs and connection failures of every kind."""

from __future__ import annotations

import socket

import pytest
from werkzeug.wrappers import Response

from helpers.config import ConfigError, MaveraSettings
from helpers.mavera import MaveraClient, MaveraError, ResultCache, make_session
from tests.hostile.support import MAVERA_KEY, RawServer, closed_port, json_response


def client(base: str, tmp_path) -> MaveraClient:
    return MaveraClient(MAVERA_KEY, base, "ws_1", cache=ResultCache(base, MAVERA_KEY, tmp_path),
                        session=make_session(MAVERA_KEY, backoff_factor=0), sleep=lambda s: None)


CALLS = {
    "usage": lambda mc: mc.usage(),
    "list": lambda mc: mc.list_personas(),
    "generate": lambda mc: mc.generate("app_1", {"brief": "x"}),
    "chat": lambda mc: mc.mave_chat("Which segments overlap?"),
    "persona": lambda mc: mc.upsert_persona("CLV tier: VIP", "Loyal buyers."),
    "focus group": lambda mc: mc.run_focus_group("Bundles", ["p1"], ["Why?"], "A bundle."),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("body", ["html", "empty", "json list", "json string"])
def test_a_2xx_answer_that_is_not_a_json_object_is_a_mavera_error(hostile, tmp_path, call, body):
    content = {"html": ("<html>maintenance</html>", "text/html"), "empty": ("", "application/json"),
               "json list": ("[1, 2]", "application/json"), "json string": ('"ok"', "application/json")}[body]
    hostile.handler = lambda req: Response(content[0], status=200, mimetype=content[1])
    mc = client(hostile.base + "/api/v1", tmp_path)
    with pytest.raises(MaveraError, match="Mavera answered") as info:
        CALLS[call](mc)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("base", ["127.0.0.1:9/api/v1", "localhost:9/api/v1", "ftp://127.0.0.1/api/v1", "/api/v1"])
@pytest.mark.parametrize("call", CALLS)
def test_a_base_url_without_an_http_scheme_is_a_mavera_error(tmp_path, base, call):
    with pytest.raises(MaveraError, match="MAVERA_BASE_URL=.* is not an http"):
        CALLS[call](client(base, tmp_path))


def test_a_base_url_without_a_scheme_is_refused_at_start_in_one_line(monkeypatch):
    monkeypatch.setenv("MAVERA_API_KEY", MAVERA_KEY)
    monkeypatch.setenv("MAVERA_BASE_URL", "app.mavera.io/api/v1")
    with pytest.raises(ConfigError, match=r"^MAVERA_BASE_URL=app.mavera.io/api/v1 does not start with https://"):
        MaveraSettings.from_env()
    with pytest.raises(ConfigError, match="MAVERA_BASE_URL"):
        MaveraClient.from_env(dry_run=True)


def _drop(sock: socket.socket) -> None:
    sock.shutdown(socket.SHUT_RDWR)


def _garbage(sock: socket.socket) -> None:
    sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def _cut_short(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\": ")
    sock.shutdown(socket.SHUT_RDWR)


def _bad_chunk(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    sock.shutdown(socket.SHUT_RDWR)


def _bad_gzip(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                 b"Content-Length: 12\r\n\r\nnot gzip at!")


@pytest.mark.parametrize("mode", ["refused", "tls to plain http", "dropped", "garbage", "cut short",
                                  "bad chunk", "bad gzip"])
@pytest.mark.parametrize("call", CALLS)
def test_connection_failures_of_every_kind_are_mavera_errors(tmp_path, mode, call):
    if mode == "refused":
        with pytest.raises(MaveraError):
            CALLS[call](client(f"http://127.0.0.1:{closed_port()}/api/v1", tmp_path))
        return
    act = {"tls to plain http": _garbage, "dropped": _drop, "garbage": _garbage, "cut short": _cut_short,
           "bad chunk": _bad_chunk, "bad gzip": _bad_gzip}[mode]
    with RawServer(act, read_request=mode != "tls to plain http") as server:
        base = server.base.replace("http://", "https://") if mode == "tls to plain http" else server.base
        mc = client(base + "/api/v1", tmp_path)
        with pytest.raises(MaveraError) as info:
            CALLS[call](mc)
    assert "\n" not in str(info.value) and mc.credits_spent == 0


def test_a_charging_post_cut_short_is_reported_as_maybe_charged_and_not_repeated(tmp_path):
    with RawServer(_cut_short) as server:
        mc = client(server.base + "/api/v1", tmp_path)
        with pytest.raises(MaveraError, match="may or may not have been charged"):
            mc.generate("app_1", {"brief": "x"})
        assert server.count == 2  # the POST, then its lookup (cut short too): never a second POST


def test_json_error_bodies_of_any_shape_are_mavera_errors(hostile, tmp_path):
    hostile.handler = lambda req: json_response(["not", "an", "object"], status=500)
    with pytest.raises(MaveraError, match="failed with 500"):
        client(hostile.base + "/api/v1", tmp_path).usage()
