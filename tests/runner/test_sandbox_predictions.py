"""The runner's --sandbox serves an account without Klaviyo's predictions when WORKBOOKS_SANDBOX_NO_PREDICTIONS=1."""

from __future__ import annotations

import contextlib

import pytest
import requests

from helpers.runner import batch


@pytest.mark.parametrize(("value", "predictions"), [("1", False), ("", True)])
def test_no_predictions_variable_reaches_the_sandbox(monkeypatch, value, predictions):
    monkeypatch.setenv("WORKBOOKS_SANDBOX_NO_PREDICTIONS", value)
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "0")
    said = []
    with contextlib.ExitStack() as stack:
        env, sandbox = batch._connect(stack, True, 7, said.append)
        truth = requests.get(env["KLAVIYO_BASE_URL"] + "/sandbox/truth", timeout=60).json()
    assert sandbox and truth["predictions"] is predictions
    assert (truth["profiles_without_predictions"] == truth["profiles_total"]) is not predictions
    assert said[0].endswith(", limits off, no predictions)" if not predictions else ", limits off)")
