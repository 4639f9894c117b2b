"""Every wait bounded in time, every key over https (issue #22), against hostile servers on loopback.

- a server that accepts the connection and never sends headers costs one request deadline (lowered here),
  not attempts x read timeout;
- a cursor chain of fresh cursors and fresh records stops at the size the collection plausibly holds, or at
  the chain's wall-clock budget (lowered here);
- a TLS handshake with a plain-http server is a settings error, tried once;
- a plain-http base URL to another host is refused before any request, unless WORKBOOKS_ALLOW_HTTP=1.

Each server ends on its own after a while (a few thousand pages, a minute of silence), so a client without
the bound finishes too and the test fails instead of hanging. No assertion depends on the machine's speed.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from helpers import config
from helpers.config import ConfigError, KlaviyoSettings
from helpers.klaviyo import KlaviyoClient, KlaviyoError, KlaviyoSettingsError
from helpers.mavera import (
    MaveraClient,
    MaveraError,
    MaveraSettingsError,
    MaveraUnavailable,
    ResultCache,
    make_session,
)
from tests.hostile.support import KLAVIYO_KEY, MAVERA_KEY, RawServer, json_response

SILENCE = 60.0  # how long the header-less server holds a connection before closing it


def klaviyo(base: str, **kw) -> KlaviyoClient:
    return KlaviyoClient(KlaviyoSettings(api_key=KLAVIYO_KEY, base_url=base), rate_scale=0, cache=False,
                         progress=False, backoff=0.01, **kw)


def mavera(base: str, tmp_path, deadline: float | None = None) -> MaveraClient:
    session = make_session(MAVERA_KEY, backoff_factor=0, **({"deadline": deadline} if deadline else {}))
    return MaveraClient(MAVERA_KEY, base, "ws_1", cache=ResultCache(base, MAVERA_KEY, tmp_path), session=session,
                        sleep=lambda s: None)


# ------------------------------------------------------------------------------------------ no headers, ever
@pytest.fixture
def silent():
    """Reads the request, then sends nothing until SILENCE has passed (or the test ends)."""
    done = threading.Event()

    def hold(sock: socket.socket) -> None:
        done.wait(SILENCE)

    with RawServer(hold) as server:
        yield server
        done.set()


def test_klaviyo_request_without_headers_fails_at_its_deadline_not_after_every_read_timeout(silent):
    started = time.monotonic()
    with pytest.raises(KlaviyoError, match=r"no answer within the 2 s deadline for one request") as info:
        klaviyo(silent.base, deadline=2).segments()  # read timeout 120 s: the deadline cuts it
    assert "\n" not in str(info.value) and "the list of segments" in str(info.value)
    assert time.monotonic() - started < SILENCE  # ended by the client, not by the server giving up
    assert silent.count == 1


def test_mavera_lookup_without_headers_fails_at_its_deadline(silent, tmp_path):
    started = time.monotonic()
    with pytest.raises(MaveraUnavailable, match="deadline for one request"):
        mavera(silent.base + "/api/v1", tmp_path, deadline=2).usage()
    assert time.monotonic() - started < SILENCE and silent.count == 1


def test_mavera_charged_post_without_headers_is_looked_up_never_sent_twice(silent, tmp_path):
    """The POST's answer never comes (sent, perhaps applied); the lookup gets none either: the outcome is said
    to be unknown, and the POST is not repeated."""
    mc = mavera(silent.base + "/api/v1", tmp_path, deadline=2)
    with pytest.raises(MaveraError, match="may or may not have been charged, so it was not repeated"):
        mc.generate("app_1", {"brief": "x"})
    assert silent.count == 2  # the POST, then its lookup (GET /generations)


# ------------------------------------------------------------------------------------------ endless chains
ENDLESS = 5_000  # pages the endless server serves before it stops on its own (a client without a bound ends)


def fresh_pages(hostile, kind: str, delay: float = 0.0):
    """links.next with a fresh cursor and fresh records on every page, for ENDLESS pages."""
    def answer(req):
        if delay:
            time.sleep(delay)
        n = req.number
        nxt = f"{hostile.base}{req.path}?page%5Bcursor%5D=c{n}" if n < ENDLESS else None
        return json_response({"data": [{"type": kind, "id": f"{kind}-{n}-{i}", "attributes": {"name": f"n{n}"}}
                                       for i in range(10)], "links": {"next": nxt}},
                             mimetype="application/vnd.api+json")

    hostile.handler = answer


def test_an_endless_chain_of_fresh_segment_pages_stops_at_a_plausible_size(hostile):
    """Segments are few on any account (at most 10,000 here, 10 a page): far past that, the chain is a loop."""
    fresh_pages(hostile, "segment")
    with pytest.raises(KlaviyoError, match=r"/api/segments ran past 1,003 pages, more than the collection can hold"):
        klaviyo(hostile.base).segments()
    assert len(hostile.requests) == 1_003 < ENDLESS


def test_an_endless_chain_stops_within_its_wall_clock_budget(hostile):
    """Profiles have no plausible size (an account may hold millions): the chain's time budget stops it."""
    fresh_pages(hostile, "profile", delay=0.02)
    kc = klaviyo(hostile.base, chain_seconds=1)
    with pytest.raises(KlaviyoError, match=r"/api/profiles was still paging after 1 s \([\d,]+ pages\)"):
        list(kc.paginate("/api/profiles", {"page[size]": 10}))
    assert len(hostile.requests) < ENDLESS


# ------------------------------------------------------------------------------------------ TLS
def _silent_close(sock: socket.socket) -> None:
    """What a plain-http server does with a TLS ClientHello: reads it and answers in plain text."""
    try:
        sock.recv(4096)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass


def test_klaviyo_tls_to_a_plain_http_server_is_a_settings_error_tried_once():
    with RawServer(_silent_close, read_request=False) as server:
        with pytest.raises(KlaviyoSettingsError, match=r"could not open a secure connection to Klaviyo to fetch "
                                                       r"the list of segments .*check KLAVIYO_BASE_URL=https://"):
            klaviyo(server.base.replace("http://", "https://")).segments()
        assert server.count == 1  # not retried (today: six attempts)


@pytest.mark.parametrize("call", ["usage", "generate"])
def test_mavera_tls_to_a_plain_http_server_is_a_settings_error_tried_once(tmp_path, call):
    with RawServer(_silent_close, read_request=False) as server:
        mc = mavera(server.base.replace("http://", "https://") + "/api/v1", tmp_path)
        with pytest.raises(MaveraSettingsError, match=r"could not open a secure connection to Mavera .*MAVERA_BASE_URL"):
            mc.usage() if call == "usage" else mc.generate("app_1", {"brief": "x"})
        assert server.count == 1 and mc.credits_spent == 0


# ------------------------------------------------------------------------------------------ https only
@pytest.mark.parametrize("name", ["KLAVIYO_BASE_URL", "MAVERA_BASE_URL"])
def test_a_plain_http_base_url_to_another_host_is_refused_in_one_line(monkeypatch, name):
    monkeypatch.setenv(name, "http://a.klaviyo.com" if name.startswith("KLAVIYO") else "http://app.mavera.io/api/v1")
    [problem] = config.preflight()
    assert problem.startswith(f"{name}=http://") and "is plain http: the API key would travel unencrypted" in problem
    assert "set " + name + "=https://" in problem and "\n" not in problem
    monkeypatch.setenv("WORKBOOKS_ALLOW_HTTP", "1")  # a test proxy, said out loud
    assert config.preflight() == []


def test_clients_built_in_code_refuse_plain_http_to_another_host_too(tmp_path):
    with pytest.raises(ConfigError, match="plain http"):
        KlaviyoSettings(api_key=KLAVIYO_KEY, base_url="http://a.klaviyo.com")
    with pytest.raises(ConfigError, match="plain http"):
        MaveraClient(MAVERA_KEY, "http://app.mavera.io/api/v1", "ws_1", cache=ResultCache("x", MAVERA_KEY, tmp_path))


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "127.4.5.6", "localhost:9", "[::1]:9"])
def test_plain_http_to_this_machine_is_allowed(monkeypatch, host):
    monkeypatch.setenv("KLAVIYO_BASE_URL", f"http://{host}")
    assert config.preflight() == []
    assert config.is_loopback(host.rsplit(":", 1)[0] if not host.startswith("[") else "::1")


def test_the_runner_refuses_a_plain_http_base_url_before_any_request(monkeypatch, tmp_path, capsys):
    from helpers import run

    monkeypatch.setenv("KLAVIYO_API_KEY", KLAVIYO_KEY)
    monkeypatch.setenv("MAVERA_API_KEY", MAVERA_KEY)
    monkeypatch.setenv("MAVERA_WORKSPACE_ID", "ws_1")
    monkeypatch.setenv("KLAVIYO_BASE_URL", "http://a.klaviyo.com")
    assert run.main(["--out", str(tmp_path / "out"), "--jobs", "3"]) == 2
    err = capsys.readouterr().err
    assert "KLAVIYO_BASE_URL=http://a.klaviyo.com is plain http" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing ran
