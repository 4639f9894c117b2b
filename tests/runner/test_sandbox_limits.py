"""``--sandbox`` enforces Klaviyo's real limits unless ``KLAVIYO_RATE_SCALE`` says otherwise (0: none)."""

from __future__ import annotations

import contextlib

import pytest

from helpers.runner import batch
from helpers.runner.results import RunError


def connect(monkeypatch, scale: str | None) -> tuple[dict[str, str], list[str]]:
    if scale is None:
        monkeypatch.delenv("KLAVIYO_RATE_SCALE", raising=False)
    else:
        monkeypatch.setenv("KLAVIYO_RATE_SCALE", scale)
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        env, is_sandbox = batch._connect(stack, True, 7, lines.append)
        assert is_sandbox
        return env, lines


@pytest.mark.parametrize(("scale", "enforced", "said"), [(None, 1.0, ""), ("0", 0.0, ", limits off"),
                                                          ("0.5", 0.5, ", limits x0.5")])
def test_the_sandbox_enforces_the_share_the_clients_pace_against(monkeypatch, scale, enforced, said):
    env, lines = connect(monkeypatch, scale)
    # Sandbox.env() writes its limiter's scale: what the sandbox enforces and the kernels' clients pace against.
    assert float(env["KLAVIYO_RATE_SCALE"]) == enforced
    assert lines[-1].endswith(f"(seed 7{said})"), lines


@pytest.mark.parametrize("scale", ["fast", "-1", "nan"])
def test_a_bad_share_is_one_line_before_the_sandbox_starts(monkeypatch, scale):
    with pytest.raises(RunError, match=r"^KLAVIYO_RATE_SCALE=.*: give a number >= 0"):
        connect(monkeypatch, scale)
