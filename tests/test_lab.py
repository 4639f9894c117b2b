"""`make lab` (tools.lab): Lab's allow-root setting only for root, the URL line, and a clean stop."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import psutil

from tests.processes import MARK, kill_leftovers, marked
from tools import lab

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 600  # bound on each wait, so a broken start fails instead of hanging; never a timing assertion


def test_allow_root_is_passed_only_to_root():
    assert "--ServerApp.allow_root=True" in lab.lab_command(euid=0)
    assert not [arg for arg in lab.lab_command(euid=1000) if "allow_root" in arg]
    assert lab.lab_command(euid=0)[-1] == f"--ServerApp.root_dir={ROOT / 'notebooks'}"


def test_lab_url_is_read_from_the_server_info_of_that_pid(tmp_path):
    info = {"url": "http://localhost:8890/", "token": "abc123", "pid": os.getpid(), "port": 8890}
    (tmp_path / f"jpserver-{os.getpid()}.json").write_text(json.dumps(info))
    assert lab.lab_url(os.getpid(), str(tmp_path)) == "http://localhost:8890/lab?token=abc123"
    assert lab.lab_url(os.getpid() + 1, str(tmp_path)) is None
    assert lab.lab_url(os.getpid(), str(tmp_path / "absent")) is None


def test_lab_starts_prints_its_url_and_ctrl_c_leaves_nothing_running(tmp_path):
    mark = uuid.uuid4().hex
    jupyter = {f"JUPYTER_{name}_DIR": str(tmp_path / name.lower()) for name in ("CONFIG", "DATA", "RUNTIME")}
    env = {**os.environ, **jupyter, MARK: mark, "BROWSER": "true"}  # no browser is opened
    proc = subprocess.Popen([sys.executable, "-m", "tools.lab"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)  # tools.lab exited

    threading.Thread(target=read, daemon=True).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=DEADLINE)
            assert line is not None, f"tools.lab exited ({proc.wait()}) before printing the URL"
            found = re.match(r"JupyterLab: open (http://\S+/lab\?token=\w+)  \(Ctrl-C stops", line)
            url = found.group(1) if found else None
        with urllib.request.urlopen(url, timeout=DEADLINE) as page:
            assert page.status == 200
        base, token = url.split("/lab?")
        start = urllib.request.Request(f"{base}/api/kernels?{token}", data=b"{}", method="POST",
                                       headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(start, timeout=DEADLINE) as made:
            assert json.loads(made.read())["execution_state"] in {"starting", "idle"}

        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
        assert proc.wait(timeout=DEADLINE) == 130
        # Lab and the kernel it started: nothing that carries this run's mark is left.
        psutil.wait_procs(marked(mark), timeout=DEADLINE)
        assert marked(mark) == []
    finally:
        kill_leftovers(proc, mark)
