"""A pytest session stopped by SIGTERM unwinds like Ctrl-C: fixtures tear down, and a second SIGTERM (the
group's and make test's, both) does not cut the teardown short. Proven on a session of its own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120  # bound on each wait, so a broken case fails instead of hanging; never a timing assertion

SESSION = '''
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture
def resource():
    (HERE / "set-up").touch()
    yield
    (HERE / "tearing-down").touch()
    while not (HERE / "go-on").exists():  # the second SIGTERM arrives while this waits
        threading.Event().wait(0.05)
    (HERE / "torn-down").touch()


def test_waits_to_be_stopped(resource):
    threading.Event().wait()
'''


def wait_for(path: Path) -> None:
    end = time.monotonic() + DEADLINE
    while not path.exists():
        assert time.monotonic() < end, f"{path.name} never appeared"
        time.sleep(0.05)


def test_sigterm_tears_fixtures_down_and_a_second_one_is_ignored(tmp_path):
    (tmp_path / "test_session.py").write_text(SESSION)
    # The project's conftest as a plugin, so its hooks run in a session of files outside tests/.
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                             str(tmp_path / "test_session.py")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(tmp_path / "set-up")
        proc.send_signal(signal.SIGTERM)
        wait_for(tmp_path / "tearing-down")
        proc.send_signal(signal.SIGTERM)
        (tmp_path / "go-on").touch()
        out, _ = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, out  # pytest's status for an interrupted session
    assert (tmp_path / "torn-down").exists(), out
    assert "KeyboardInterrupt" in out
