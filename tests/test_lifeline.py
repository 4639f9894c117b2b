"""helpers.lifeline: a process started for a runner sends no request once that runner is gone.

The chain is real: this test starts a stand-in runner, which starts a client that names it in
WORKBOOKS_RUNNER_PID; the stand-in is killed with SIGKILL and left a zombie (not reaped), as a
scheduler that has not yet noticed would leave it. The server counts what reaches it.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from helpers import lifeline

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 120  # ceiling of the bounded waits; not a timing assertion

CLIENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from helpers.http.session import make_session
    from helpers.lifeline import RunnerGone

    url, gate = sys.argv[1], Path(sys.argv[2])
    session = make_session()
    session.get(url, timeout=30)  # while its runner lives
    (gate / "first-sent").touch()
    while not (gate / "go").exists():
        time.sleep(0.05)
    try:
        session.get(url, timeout=30)
        print("SENT", flush=True)
    except RunnerGone as exc:
        print("REFUSED", exc, flush=True)
""")

STAND_IN = textwrap.dedent("""
    import os, subprocess, sys
    env = {**os.environ, "WORKBOOKS_RUNNER_PID": str(os.getpid())}
    subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], env=env).wait()
""")


class Counting(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Counting.hits = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/x"
    httpd.shutdown()


def test_a_client_whose_runner_was_killed_sends_nothing(server, tmp_path):
    stand_in = subprocess.Popen([sys.executable, "-c", STAND_IN, CLIENT, server, str(tmp_path)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + DEADLINE
        while not (tmp_path / "first-sent").exists():
            assert time.monotonic() < end and stand_in.poll() is None, "the client never sent its first request"
            time.sleep(0.05)
        assert Counting.hits == 1
        os.kill(stand_in.pid, signal.SIGKILL)  # not reaped yet: a zombie whose pid still answers kill(pid, 0)
        end = time.monotonic() + DEADLINE
        while Path(f"/proc/{stand_in.pid}/stat").exists() and " Z " not in Path(f"/proc/{stand_in.pid}/stat").read_text():
            assert time.monotonic() < end, "the stand-in runner did not die"
            time.sleep(0.05)
        (tmp_path / "go").touch()
        line = stand_in.stdout.readline()  # the client holds the pipe until it ends
    finally:
        stand_in.kill()
        stand_in.wait()
    assert line.startswith("REFUSED the runner (pid "), line
    assert Counting.hits == 1


def test_alive_for_itself_and_its_ancestors_only():
    assert lifeline.runner_alive(os.getpid())
    assert lifeline.runner_alive(os.getppid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not lifeline.runner_alive(child.pid)  # a pid that is not an ancestor, whatever it is now


def test_unset_means_unchecked(monkeypatch):
    monkeypatch.delenv(lifeline.ENV, raising=False)
    lifeline.check()
    monkeypatch.setenv(lifeline.ENV, str(os.getpid()))
    lifeline.check()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    monkeypatch.setenv(lifeline.ENV, str(child.pid))
    with pytest.raises(lifeline.RunnerGone, match=f"pid {child.pid}"):
        lifeline.check()
