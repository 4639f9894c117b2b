"""`python -m sandbox` as a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_prints_urls_and_keys_then_serves_until_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--seed", "3",
                             "--profiles", "1000", "--rate-scale", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        info = json.loads(proc.stdout.readline())
        assert set(info) >= {"klaviyo_base_url", "mavera_base_url", "klaviyo_api_key", "mavera_api_key",
                             "mavera_workspace_id", "env"}
        assert info["klaviyo_api_key"].startswith("pk_sbx_") and info["mavera_api_key"].startswith("mvra_test_")
        assert info["env"]["WORKBOOKS_SANDBOX"] == "1"
        truth = requests.get(info["klaviyo_base_url"] + "/sandbox/truth", timeout=10).json()
        assert truth["profiles_total"] == 1000 and truth["seed"] == 3
        r = requests.get(info["klaviyo_base_url"] + "/api/metrics", timeout=10,
                         headers={"Authorization": f"Klaviyo-API-Key {info['klaviyo_api_key']}", "revision": "2026-07-15"})
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0  # a bound on a hang, not a measure of speed


def test_cli_rejects_bad_flags_with_a_clear_message():
    done = subprocess.run([sys.executable, "-m", "sandbox", "--fault-rate", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "fault rate must be between 0 and 1" in done.stderr
