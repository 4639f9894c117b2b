"""``make lab``: JupyterLab on notebooks/, with a sandbox running so every notebook works at once.

The sandbox lives in this process (seed from ``WORKBOOKS_SEED``, default 7), so JupyterLab runs as a
child process rather than replacing this one; stopping JupyterLab (Ctrl-C) stops the sandbox too.
Kernels started from Lab inherit the sandbox's variables. Once Lab listens, one line gives the URL to
open (Lab's own log says it too, among much else).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

from helpers import config

DEFAULT_SEED = 7
STOP_GRACE = 60  # seconds Lab gets to shut its kernels down before it is killed


def lab_seed(environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get("WORKBOOKS_SEED", "").strip()
    if not raw:
        return DEFAULT_SEED
    try:
        return int(raw)
    except ValueError:
        raise config.ConfigError(f"WORKBOOKS_SEED={raw!r} is not a whole number; unset it or use e.g. 7") from None


def lab_env(sandbox, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment for JupyterLab and its kernels: ``base`` with the sandbox's variables on top."""
    env = dict(base)
    env.update(sandbox.env())
    env["WORKBOOKS_SANDBOX"] = "1"
    # In Lab, artifacts go to outputs/lab/<today>/ (report.run_dir); a leftover runner setting would send them elsewhere.
    env.pop("WORKBOOKS_RUN_DIR", None)
    return env


def lab_command(euid: int | None = None) -> list[str]:
    notebooks = config.project_root() / "notebooks"
    command = [sys.executable, "-m", "jupyter", "lab"]
    # Lab refuses to start as root ("Running as root is not recommended"), and root is how containers
    # run; only then is the setting passed, so a normal user keeps Lab's guard.
    if (os.geteuid() if euid is None else euid) == 0:
        command.append("--ServerApp.allow_root=True")
    return [*command, f"--ServerApp.root_dir={notebooks}"]


def lab_url(pid: int, runtime_dir: str | None = None) -> str | None:
    """The URL (token included) of the Jupyter server with this pid, once it listens; else None."""
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers(runtime_dir):
        if info.get("pid") == pid:
            url = info["url"].rstrip("/") + "/lab"
            return f"{url}?token={info['token']}" if info.get("token") else url
    return None


def _interrupt(signum, _frame):
    raise KeyboardInterrupt


def _stop(lab: subprocess.Popen) -> None:
    """Shut Lab down: in a terminal Ctrl-C only makes it ask whether to; SIGTERM shuts it (and its kernels) down."""
    while lab.poll() is None:
        try:
            lab.terminate()
            lab.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            lab.kill()
        except KeyboardInterrupt:  # a second Ctrl-C: now
            lab.kill()
    lab.wait()


def main() -> int:
    from sandbox import Sandbox

    config.load_env()
    seed = lab_seed()
    signal.signal(signal.SIGTERM, _interrupt)  # stopped alone (docker stop, kill): take Lab down too
    with Sandbox(seed=seed) as sb:
        print(
            f"sandbox (seed {seed}): Klaviyo at {sb.klaviyo_base_url}, Mavera at {sb.mavera_base_url}; "
            "notebooks opened here read the synthetic shop, not your Klaviyo account",
            flush=True,
        )
        lab = subprocess.Popen(lab_command(), env=lab_env(sb))
        try:
            # `python -m jupyter lab` execs jupyter-lab, so the server's pid is the child's.
            while lab.poll() is None:
                url = lab_url(lab.pid)
                if url:
                    print(f"JupyterLab: open {url}  (Ctrl-C stops Lab and the sandbox)", flush=True)
                    break
                time.sleep(0.25)
            return lab.wait()
        except KeyboardInterrupt:
            _stop(lab)
            return 130


if __name__ == "__main__":
    sys.exit(main())
