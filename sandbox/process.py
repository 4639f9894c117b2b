"""The emulator in a child process, for benchmarks and tests that measure clients against it.

In a child process its request handling does not compete with the clients being measured for the
caller's GIL. Standard library only, like the rest of the emulator's side: it imports no client code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the project folder: ``python -m sandbox`` runs from here


class SandboxProcess:
    """``python -m sandbox`` in a child process, so its request handling does not compete with the
    clients being measured for this process's GIL."""

    def __init__(self, **options: Any) -> None:
        args = [sys.executable, "-m", "sandbox"]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError(f"the sandbox exited with code {self.proc.returncode} before it started; "
                               "run `python -m sandbox` to see why.")
        info = json.loads(line)
        self.klaviyo_base_url: str = info["klaviyo_base_url"]
        self.klaviyo_api_key: str = info["klaviyo_api_key"]
        self.env: dict[str, str] = info["env"]  # what points a runner and its kernels at this sandbox

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.klaviyo_base_url + "/sandbox/stats", timeout=30) as answer:
            return json.load(answer)["klaviyo"]

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
