"""The Mavera client through the shared `Sandbox` (emulator mounted at /mavera/api/v1, faults scheduled
with POST /sandbox/faults), configured only from the environment as a notebook would be."""

from __future__ import annotations

import pytest
import requests

from helpers.mavera import MaveraClient, MaveraError, likert, nps, open_ended
from helpers.mavera import transport as mavera_transport

QUESTIONS = [likert("I would buy this bundle."), nps("Would you recommend it?"), open_ended("Why?")]


def mavera_stats(sandbox) -> dict:
    return sandbox.stats()["mavera"]


def schedule(sandbox, method, path, status, count):
    resp = requests.post(f"{sandbox.klaviyo_base_url}/sandbox/faults", timeout=10,
                         json={"method": method, "path_prefix": path, "status": status, "count": count})
    assert resp.status_code < 300, resp.text


def test_stats_shape(sandbox_env):
    assert set(mavera_stats(sandbox_env)) >= {"requests", "throttled", "credits_used", "credits_remaining",
                                              "personas_created", "focus_groups_created", "generations", "chats"}


def test_dropped_persona_post_is_looked_up_then_sent_once(sandbox_env):
    before = mavera_stats(sandbox_env)["personas_created"]
    schedule(sandbox_env, "POST", "/mavera/api/v1/personas", 0, 1)  # drop the connection, nothing applied
    client = MaveraClient.from_env()
    persona = client.upsert_persona("mavera-test: dropped create", "Churn risk is mostly low; loyal email buyers.")
    assert persona["id"] and client.credits_spent == 300
    assert mavera_stats(sandbox_env)["personas_created"] == before + 1


def test_focus_group_resumes_after_dropped_polls(sandbox_env, monkeypatch):
    monkeypatch.setattr(mavera_transport, "ATTEMPTS", 4)  # a poll's attempts (12 by default), kept quick here
    client = MaveraClient.from_env()
    pids = [client.upsert_persona("mavera-test: loyal", "Churn risk is mostly low; CLV $2,000.")["id"],
            client.upsert_persona("mavera-test: lapsing", "Churn risk is mostly high; CLV $40.")["id"]]
    before = mavera_stats(sandbox_env)["focus_groups_created"]
    # One poll = 1 try + 3 retries (4 attempts, set above): four drops fail exactly one poll.
    schedule(sandbox_env, "GET", "/mavera/api/v1/focus-groups/", 0, 4)
    with pytest.raises(MaveraError, match="rerun to resume"):
        client.run_focus_group("mavera-test: resume", pids, QUESTIONS, "Bundle: Mug + Coaster, $18")
    assert mavera_stats(sandbox_env)["focus_groups_created"] == before + 1
    rerun = MaveraClient.from_env()
    result = rerun.run_focus_group("mavera-test: resume", pids, QUESTIONS, "Bundle: Mug + Coaster, $18")
    assert len(result.answers) == 2 * 2 * 3 and set(result.answers["persona_id"]) == set(pids)
    assert mavera_stats(sandbox_env)["focus_groups_created"] == before + 1
    assert rerun.credits_spent == 0
