"""``make lab``: JupyterLab on notebooks/, with a sandbox running so every notebook works at once.

The sandbox lives in this process (seed from ``WORKBOOKS_SEED``, default 7), so JupyterLab runs as a
child process rather than replacing this one; stopping JupyterLab (Ctrl-C) stops the sandbox too.
Kernels started from Lab inherit the sandbox's variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from helpers import config

DEFAULT_SEED = 7


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


def lab_command() -> list[str]:
    notebooks = config.project_root() / "notebooks"
    return [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={notebooks}"]


def main() -> int:
    from sandbox import Sandbox

    config.load_env()
    seed = lab_seed()
    with Sandbox(seed=seed) as sb:
        print(
            f"sandbox (seed {seed}): Klaviyo at {sb.klaviyo_base_url}, Mavera at {sb.mavera_base_url}; "
            "notebooks opened here read the synthetic shop, not your Klaviyo account",
            flush=True,
        )
        try:
            return subprocess.call(lab_command(), env=lab_env(sb))
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
