"""Two accounts, two sandboxes (seeds 7 and 11), one Mavera key: the real job 01 for each through
``--account``. Each lands in its own folder with its own data, its own cache and its own personas."""

from __future__ import annotations

import json

import pytest

from helpers import run
from helpers.mavera import MaveraClient
from sandbox import Sandbox
from tests.runner.support import files_containing

DATE = "2026-07-15"


@pytest.mark.notebook
def test_two_accounts_write_apart_with_their_own_caches_and_personas(tmp_path, monkeypatch):
    cache, out = tmp_path / "cache", tmp_path / "out"
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(cache))
    monkeypatch.setenv("KLAVIYO_RATE_SCALE", "0")
    monkeypatch.setenv("MAVERA_POLL_SECONDS", "0.05")
    with Sandbox(seed=7, rate_scale=0) as first, Sandbox(seed=11, rate_scale=0) as second:
        # An agency: one Mavera workspace (the first sandbox's) serves both Klaviyo accounts.
        path = tmp_path / "accounts.toml"
        path.write_text("".join(f"""
[accounts.{name}]
klaviyo_api_key_env = "{name.upper()}_KLAVIYO_API_KEY"
mavera_api_key_env = "AGENCY_MAVERA_API_KEY"
klaviyo_base_url = "{sb.klaviyo_base_url}"
mavera_base_url = "{first.mavera_base_url}"
mavera_workspace_id = "{first.mavera_workspace_id}"
""" for name, sb in (("alpha", first), ("beta", second))))
        monkeypatch.setenv("ALPHA_KLAVIYO_API_KEY", first.klaviyo_api_key)
        monkeypatch.setenv("BETA_KLAVIYO_API_KEY", second.klaviyo_api_key)
        monkeypatch.setenv("AGENCY_MAVERA_API_KEY", first.mavera_api_key)
        monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")  # the banner; keys and roots come from the account
        for name in ("alpha", "beta"):
            code = run.main(["--account", name, "--accounts", str(path), "--jobs", "1", "--date", DATE,
                             "--out", str(out), "--workers", "1", "--no-html"])
            assert code == 0, name
        truth = {"alpha": first.truth(), "beta": second.truth()}
        listed = MaveraClient(first.mavera_api_key, first.mavera_base_url).list_personas(custom_only=True)
        keys = [first.klaviyo_api_key, second.klaviyo_api_key, first.mavera_api_key]

    assert sorted(p.name for p in out.iterdir()) == ["alpha", "beta"]
    assert sorted(p.name for p in cache.iterdir()) == ["alpha", "beta"]  # nothing cached for both at once
    names = {p["id"]: p["name"] for p in listed}
    made = set()
    for name in ("alpha", "beta"):
        (job,) = json.loads((out / name / DATE / "run.json").read_text())["jobs"]
        assert job["status"] == "succeeded", job["error"]
        # Its own sandbox's data: the seeds plant different counts.
        assert job["metrics"]["profiles_without_predictions"] == truth[name]["profiles_without_predictions"]
        personas = job["metrics"]["personas"]
        assert personas and {names[i] for i in personas.values()} == {f"CLV tier ({name}): {t}" for t in personas}
        saved = json.loads((out / name / DATE / "01_persona_enrichment" / "personas.json").read_text())
        assert saved == personas
        made |= set(personas.values())
        assert any((cache / name).rglob("*")), f"{name} cached nothing"
    assert truth["alpha"]["profiles_without_predictions"] != truth["beta"]["profiles_without_predictions"]
    # One Mavera workspace, two sets of personas: neither run updated the other's.
    assert set(names) == made and len(made) == 6  # three tiers each
    assert not any(n.startswith("CLV tier: ") for n in names.values())
    assert files_containing(out, keys) == {}
