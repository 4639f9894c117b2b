"""Kernels that run side by side share the Klaviyo account's limits, so a normal run draws no 429."""

from __future__ import annotations

import pytest

from helpers import run
from helpers.http import ratelimits
from helpers.http.session import Pacer
from helpers.runner import workers
from sandbox import Sandbox
from tests.runner.support import quiet


def test_share_scales_the_pacing_of_parallel_kernels(monkeypatch):
    monkeypatch.delenv("KLAVIYO_RATE_SCALE", raising=False)
    assert workers.klaviyo_share(1.0) == {}
    assert workers.klaviyo_share(0.5) == {"KLAVIYO_RATE_SCALE": "0.5"}
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "4")
    assert workers.klaviyo_share(0.5) == {"KLAVIYO_RATE_SCALE": "2.0"}
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "0")  # pacing switched off stays off
    assert workers.klaviyo_share(0.5) == {"KLAVIYO_RATE_SCALE": "0.0"}


def test_two_kernels_together_stay_within_a_one_per_second_bucket(monkeypatch):
    # profile_count is 1/s and 15/min: rounding each kernel's half up gave 2/s and 16/min together.
    monkeypatch.delenv("KLAVIYO_RATE_SCALE", raising=False)
    scale = float(workers.klaviyo_share(0.5)["KLAVIYO_RATE_SCALE"])
    lim = Pacer(ratelimits.limit_for, scale=scale).limit("GET", "/api/segments/s1?additional-fields[segment]=profile_count")
    assert 2 * lim.burst / lim.burst_window <= 1 and 2 * lim.steady / lim.steady_window <= 15 / 60


@pytest.mark.notebook
@pytest.mark.serial
def test_parallel_jobs_at_real_limits_draw_no_429(monkeypatch, tmp_path):
    # Jobs 03 and 05 both page through profiles at once, after 01 (which 05 needs for its personas).
    with Sandbox(seed=7, rate_scale=1) as sb:
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        result = run.run_jobs(jobs=[1, 3, 5], out=tmp_path, html=False, workers=2, echo=quiet)
        stats = sb.stats()["klaviyo"]
    assert result.ok, [(j.notebook, j.error) for j in result.jobs]
    assert stats["requests"].get("GET /api/profiles", 0) > 0
    assert stats["throttled"] == 0, stats["throttled_by_bucket"]
