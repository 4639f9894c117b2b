"""`make test`'s two pytest stages: the suite in parallel, then the real-time pacing tests (`-m serial`) alone.

The serial stage runs even when the parallel one failed, so one red does not hide another; the exit status
is 0 only if both passed. An interrupted stage ends the run once pytest has torn everything down:

- Ctrl-C reaches the terminal's whole foreground group, pytest and its workers included: this process
  only waits for them.
- SIGTERM sent to this process alone (``kill`` on make, which passes it to its recipe) is passed on to
  pytest, which the tests' conftest turns into an interrupt. Sent to the whole group, pytest gets it
  twice and ignores the second.

    python -m scripts.test_stages [PYTEST COMMAND...]   # default: this interpreter's ``-m pytest``
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

# One worker more than the cores: many tests mostly wait (for a kernel, a subprocess, a shared run another
# worker is making), and a waiting worker leaves its core idle. Measured on 2 idle cores: 3 workers 6 m 20 s
# for the parallel stage, 2 workers 7 m 6 s. Capped: each worker and its kernels take memory.
WORKERS = min((os.cpu_count() or 1) + 1, 8)
STAGES = (
    ("-n", str(WORKERS), "--dist", "loadgroup", "-q", "-m", "not serial"),
    ("-q", "-m", "serial"),
)
PASSED, FAILED = 0, 1  # pytest's exit statuses; anything else (2: interrupted, 3-5: broken run) stops here


def main(argv: list[str]) -> int:
    pytest = argv or [sys.executable, "-m", "pytest"]
    running: subprocess.Popen | None = None
    stopped: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        stopped.append(signum)
        if signum == signal.SIGTERM and running is not None and running.poll() is None:
            running.send_signal(signal.SIGTERM)

    # Handlers, not SIG_IGN: an ignored SIGINT would be inherited by pytest and Ctrl-C would not reach it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    statuses = []
    for args in STAGES:
        command = [*pytest, *args]
        print(shlex.join(command), flush=True)
        running = subprocess.Popen(command)
        if signal.SIGTERM in stopped:  # it came while pytest was being started
            running.send_signal(signal.SIGTERM)
        statuses.append(running.wait())
        if stopped:
            return 128 + stopped[0]
        if statuses[-1] not in (PASSED, FAILED):
            return statuses[-1]
    if statuses[0] != PASSED:
        print("make test: the parallel stage failed (its summary is above the serial stage's)", file=sys.stderr)
        return FAILED
    return statuses[1]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
