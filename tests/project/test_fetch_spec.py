"""scripts/fetch_spec.py (`make spec`): the pinned OpenAPI document, downloaded over real HTTP from a local server.

These machines reach no code host, so a server on 127.0.0.1 stands in for raw.githubusercontent.com
(``WORKBOOKS_SPEC_URL`` points the fetch at it), serving the shared copy or a tampered one.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts import fetch_spec


class Served:
    """One document at /stable.json; counts the requests it answered."""

    def __init__(self) -> None:
        self.body = b""
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests += 1
                if self.path != "/stable.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/stable.json"


@pytest.fixture
def served():
    srv = Served()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def no_shared(monkeypatch, tmp_path):
    """A clone with nothing beside it, and its own cache: only a download can provide the document."""
    monkeypatch.setattr(fetch_spec, "SHARED", tmp_path / "shared" / "specs" / fetch_spec.FILENAME)
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "specs"


OFFICIAL = fetch_spec.present()  # found before any test points SHARED elsewhere


def official_bytes() -> bytes:
    found = OFFICIAL
    if found is None:
        pytest.skip(f"needs the shared or a cached copy to serve; {fetch_spec.HINT}")
    return found.read_bytes()


def test_the_pin_is_the_shared_copy():
    if not fetch_spec.SHARED.is_file():
        pytest.skip(f"{fetch_spec.SHARED} is absent (CI has it)")
    assert fetch_spec.sha256_of(fetch_spec.SHARED) == fetch_spec.SHA256


def test_make_spec_downloads_checks_and_caches_once(served, no_shared, monkeypatch, capsys):
    served.body = official_bytes()
    monkeypatch.setenv(fetch_spec.URL_ENV, served.url)
    assert fetch_spec.main([]) == 0
    saved = no_shared / fetch_spec.FILENAME
    assert saved.read_bytes() == served.body
    assert [p.name for p in no_shared.iterdir()] == [fetch_spec.FILENAME]  # no .part file left
    out = capsys.readouterr().out
    assert f"from {served.url}" in out and f"{saved} (sha256 checked)" in out

    assert fetch_spec.main([]) == 0  # a second run finds the checked copy and sends nothing
    assert served.requests == 1
    assert f"{saved} (revision 2026-07-15, present)" in capsys.readouterr().out
    assert fetch_spec.locate() == saved


def test_a_document_with_another_sha256_is_refused_and_nothing_is_saved(served, no_shared, monkeypatch, capsys):
    served.body = b'{"openapi": "3.0.2", "info": {"version": "2026-07-15"}, "paths": {}}'
    monkeypatch.setenv(fetch_spec.URL_ENV, served.url)
    assert fetch_spec.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "sha256" in err and "nothing was saved" in err and served.url in err
    assert list(no_shared.iterdir()) == []
    with pytest.raises(fetch_spec.SpecError, match="nothing was saved"):
        fetch_spec.locate()


def test_a_damaged_cached_copy_is_not_used(served, no_shared, monkeypatch):
    served.body = official_bytes()
    no_shared.mkdir(parents=True)
    (no_shared / fetch_spec.FILENAME).write_bytes(served.body[: len(served.body) // 2])  # a cut download
    assert fetch_spec.present() is None
    monkeypatch.setenv(fetch_spec.URL_ENV, served.url)
    assert fetch_spec.locate().read_bytes() == served.body


def test_offline_with_no_copy_is_one_line_that_says_to_run_make_spec(no_shared, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(fetch_spec.URL_ENV, f"http://127.0.0.1:{port}/stable.json")
    with pytest.raises(fetch_spec.SpecError) as info:
        fetch_spec.locate()
    message = str(info.value)
    assert "\n" not in message and "run `make spec`" in message and "could not download" in message
    with pytest.raises(fetch_spec.SpecError, match="run `make spec`"):
        fetch_spec.locate(fetch=False)


def test_the_shared_copy_wins_and_nothing_is_downloaded(no_shared, monkeypatch, tmp_path):
    shared = tmp_path / "shared" / "specs" / fetch_spec.FILENAME
    shared.parent.mkdir(parents=True)
    shared.write_text("{}")  # CI's copy is used as it is
    monkeypatch.setattr(fetch_spec, "SHARED", shared)
    monkeypatch.setenv(fetch_spec.URL_ENV, "http://127.0.0.1:9/unreachable")
    assert fetch_spec.locate(shared=shared) == shared
    assert not no_shared.exists()
