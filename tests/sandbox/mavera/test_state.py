"""Mavera's personas outlive one sandbox, as they outlive one run on the real service (issue #21)."""

from __future__ import annotations

import json

import requests

from helpers.runner.batch import sandbox_state_file
from sandbox import Sandbox


def _create(sb: Sandbox, name: str) -> str:
    resp = requests.post(f"{sb.mavera_base_url}/personas", timeout=10, json={"name": name, "description": "A tier."},
                         headers={"Authorization": f"Bearer {sb.mavera_api_key}"})
    resp.raise_for_status()
    return resp.json()["id"]


def _get(sb: Sandbox, pid: str) -> requests.Response:
    return requests.get(f"{sb.mavera_base_url}/personas/{pid}", timeout=10,
                        headers={"Authorization": f"Bearer {sb.mavera_api_key}"})


def test_personas_persist_across_sandboxes_of_one_seed_and_folder(tmp_path):
    state = sandbox_state_file(tmp_path, 7)
    assert state == tmp_path / ".sandbox-mavera-seed7.json"  # in the output root, beside the day folders
    with Sandbox(seed=7, profiles=200, rate_scale=0, mavera_state=state) as morning:
        vip = _create(morning, "CLV tier: VIP")
    with Sandbox(seed=7, profiles=200, rate_scale=0, mavera_state=state) as noon:
        assert _get(noon, vip).status_code == 200 and _get(noon, vip).json()["name"] == "CLV tier: VIP"
        listed = requests.get(f"{noon.mavera_base_url}/personas", params={"is_custom": "true"}, timeout=10,
                              headers={"Authorization": f"Bearer {noon.mavera_api_key}"}).json()["data"]
        assert [p["id"] for p in listed] == [vip]
        other = _create(noon, "CLV tier: Regular")
        assert other != vip  # the id counter goes on where the morning's sandbox stopped
    saved = json.loads(state.read_text())
    assert saved["seed"] == 7 and set(saved["personas"]) == {vip, other}
    # Another seed is another store: its ids mean nothing there; without a file nothing is kept at all.
    with Sandbox(seed=8, profiles=200, rate_scale=0, mavera_state=state) as other_seed:
        assert _get(other_seed, vip).status_code == 404
    with Sandbox(seed=7, profiles=200, rate_scale=0) as fresh:
        assert _get(fresh, vip).status_code == 404
