"""The memory case of ``make bench``: one kernel's peak resident memory when jobs 01 and 03 run on a big account.

A sandbox holding ``profiles`` profiles (1,000,000 by default) runs in its own process, limits off
(``--rate-scale 0``: the case measures memory, not pacing), so its store is not counted. Each job then runs
alone through the real runner, ``python -m helpers.run --jobs N --workers 1 --no-html``, in a child process
pointed at that sandbox by the environment the sandbox prints (``Sandbox.env()``), with a fresh cache folder
(a cold fetch, and a million profiles' pages kept out of the user's cache). HTML export is skipped: it runs
in the runner, not the kernel, and the kernel is what is measured.

What is measured: **VmHWM of the kernel process**, from ``/proc/<pid>/status``. The kernel (the process
running ``ipykernel_launcher``) is found among the runner's descendants by polling every
``SAMPLE_SECONDS``. VmHWM is the high-water mark the kernel's own page tables keep, so polling only has to
see the kernel before it exits, not at its peak; the last reading is the peak up to what grows in the last
interval (the kernel is shutting down then). This was chosen over ``getrusage(RUSAGE_CHILDREN)`` because
that reports the largest of all waited-for descendants together, runner and worker included, and counts
nothing a parent did not wait for; the runner's other processes are reported separately
(``runner_peak_mb``: the largest VmHWM among them). Linux only (``/proc``). Nothing here asserts the target:
the table prints each peak against :data:`TARGET_MB` and the JSON keeps the numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from helpers.config import project_root

TARGET_MB = 1536  # issue #12: one kernel under 1.5 GB (GiB; every MB here is 2**20 bytes, as VmHWM's kB are KiB)
SAMPLE_SECONDS = 0.25
JOBS = {1: "01_persona_enrichment", 3: "03_segment_overlap"}
# The recorded metrics each job must get right at this size, checked against the sandbox's planted truth.
TRUTH_KEYS = {1: ("profiles_total", "profiles_without_predictions"),
              3: ("redundant_pairs", "nested_pairs", "tiny_segments")}


def vm_hwm_kb(status: str) -> int | None:
    """The ``VmHWM`` (peak resident set, kB) of a ``/proc/<pid>/status`` text; None when absent (a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def is_kernel(cmdline: list[str]) -> bool:
    """Whether a command line is a Jupyter Python kernel (``python -m ipykernel_launcher -f ...``)."""
    return any(part == "ipykernel_launcher" or part.endswith("ipykernel_launcher.py") for part in cmdline)


class TreeSampler:
    """Polls the VmHWM of a process and all its descendants until stopped; keeps each one's last reading.

    ``kernel_peak_kb`` is the largest among kernels, ``other_peak_kb`` among the rest (the root included).
    """

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self.pid, self.interval = pid, interval
        self.peaks: dict[tuple[int, float], tuple[bool, int]] = {}  # (pid, start time) -> (kernel?, kB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vmhwm-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            try:
                key = (proc.pid, proc.create_time())
                kernel = self.peaks[key][0] if key in self.peaks else is_kernel(proc.cmdline())
                kb = vm_hwm_kb(Path(f"/proc/{proc.pid}/status").read_text())
            except (psutil.Error, OSError):
                continue  # it ended between the listing and the read: its last reading stands
            if kb is not None:
                self.peaks[key] = (kernel, max(kb, self.peaks.get(key, (kernel, 0))[1]))

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def kernel_peak_kb(self) -> int | None:
        return max((kb for kernel, kb in self.peaks.values() if kernel), default=None)

    def other_peak_kb(self) -> int | None:
        return max((kb for kernel, kb in self.peaks.values() if not kernel), default=None)


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def parse_jobs(text: str) -> list[int] | None:
    """``"1,3"`` as ``[1, 3]``; None unless every item is a job this case runs."""
    try:
        jobs = [int(item) for item in text.split(",")]
    except ValueError:
        return None
    return jobs if jobs and set(jobs) <= set(JOBS) else None


def truth_check(job: int, metrics: dict[str, Any], truth: dict[str, Any]) -> dict[str, bool]:
    """For each planted fact the job records, whether its metric equals the sandbox's truth (unrecorded: no)."""
    return {key: key in metrics and metrics[key] == truth.get(key) for key in TRUTH_KEYS.get(job, ())}


def run_job(job: int, env: dict[str, str], work: Path, truth: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one job through the runner in a child process and measure its kernel; one row of the table."""
    out = work / f"out-{job:02d}"
    log = work / f"runner-{job:02d}.log"
    argv = [sys.executable, "-m", "helpers.run", "--jobs", str(job), "--out", str(out), "--workers", "1",
            "--no-html", "--timeout", str(timeout)]
    t = time.perf_counter()
    with open(log, "w") as sink:
        proc = subprocess.Popen(argv, cwd=project_root(), env=env, stdout=sink, stderr=subprocess.STDOUT)
        with TreeSampler(proc.pid) as sampler:
            code = proc.wait()
    seconds = time.perf_counter() - t
    manifests = sorted(out.glob("*/run.json"))
    record = json.loads(manifests[-1].read_text())["jobs"][0] if manifests else {}
    metrics = record.get("metrics") or {}
    checks = truth_check(job, metrics, truth)
    status = record.get("status", "not run")
    error = record.get("error") or (None if code == 0 else log.read_text()[-600:].strip())
    row = {"job": JOBS[job], "status": status, "exit_code": code, "seconds": round(seconds, 1),
           "notebook_seconds": record.get("seconds"), "kernel_peak_mb": _mb(sampler.kernel_peak_kb()),
           "runner_peak_mb": _mb(sampler.other_peak_kb()), "under_target": None, "truth": checks,
           "klaviyo_requests": metrics.get("klaviyo_requests"), "error": error}
    if row["kernel_peak_mb"] is not None:
        row["under_target"] = row["kernel_peak_mb"] < TARGET_MB
    print(f"  {row['job']:<22} {status:<9} kernel peak {row['kernel_peak_mb']} MiB, {row['seconds']} s, "
          f"truth {'ok' if checks and all(checks.values()) else checks}", flush=True)
    return row


def memory_benchmark(profiles: int, jobs: list[int], seed: int, timeout: float = 3600.0) -> dict[str, Any]:
    """Start the sandbox in its own process, run each job alone against it, and measure (see the module doc)."""
    import requests

    from sandbox.process import SandboxProcess

    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        t = time.perf_counter()
        with SandboxProcess(seed=seed, profiles=profiles, rate_scale=0, latency_ms=0) as sb:
            started = time.perf_counter() - t
            t = time.perf_counter()
            truth = requests.get(sb.klaviyo_base_url + "/sandbox/truth", timeout=600).json()
            truth_seconds = time.perf_counter() - t
            # Only the sandbox's variables and a cache of our own: a developer's .env must not point elsewhere.
            env = {**os.environ, **sb.env, "WORKBOOKS_IGNORE_DOTENV": "1",
                   "WORKBOOKS_CACHE_DIR": str(work / "cache"), "PYTHONUNBUFFERED": "1"}
            rows = [run_job(job, env, work, truth, timeout) for job in jobs]
            sandbox_kb = vm_hwm_kb(Path(f"/proc/{sb.proc.pid}/status").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"profiles": profiles, "seed": seed, "target_mb": TARGET_MB, "measure": "VmHWM of the kernel process",
            "sandbox": {"start_seconds": round(started, 1), "truth_seconds": round(truth_seconds, 1),
                        "peak_rss_mb": _mb(sandbox_kb)},
            "jobs": rows}


def print_table(result: dict[str, Any]) -> None:
    sb = result["sandbox"]
    print(f"kernel peak memory (VmHWM), {result['profiles']:,} profiles; target: under {result['target_mb']} MiB "
          f"(1.5 GiB), not asserted; sandbox: started in {sb['start_seconds']} s, truth in {sb['truth_seconds']} s, "
          f"peak RSS {sb['peak_rss_mb']} MiB")
    head = f"{'job':<22} {'status':<9} {'kernel MiB':>10} {'runner MiB':>10} {'seconds':>8} {'target':>7} truth"
    print(head)
    print("-" * len(head))
    for r in result["jobs"]:
        target = "-" if r["under_target"] is None else ("under" if r["under_target"] else "OVER")
        truth = "ok" if r["truth"] and all(r["truth"].values()) else ",".join(k for k, v in r["truth"].items()
                                                                             if not v) or "-"
        print(f"{r['job']:<22} {r['status']:<9} {r['kernel_peak_mb'] or '-':>10} {r['runner_peak_mb'] or '-':>10} "
              f"{r['seconds']:>8} {target:>7} {truth}")
        if r["error"]:
            print(f"    error: {r['error'].splitlines()[0][:200]}")
