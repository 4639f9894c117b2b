"""The Klaviyo HTTP cache and the Mavera result files are private to the user, whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest

from helpers.config import KlaviyoSettings
from helpers.klaviyo import KlaviyoClient
from helpers.mavera import MaveraClient, ResultCache
from sandbox.mavera import MaveraEmulator
from tests.hostile.support import MAVERA_KEY, serve


@pytest.fixture
def loose_umask():
    """The umask of a shared machine's default account: files 0644, folders 0755 unless set explicitly."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_klaviyo_cache_is_created_private_and_loose_ones_are_tightened(sandbox, tmp_path, monkeypatch, loose_umask):
    root = tmp_path / "cache"
    monkeypatch.setenv("WORKBOOKS_CACHE_DIR", str(root))

    def run() -> dict:
        """The modes of the cache's files while the client has them open (SQLite's -wal/-shm included)."""
        kc = KlaviyoClient(KlaviyoSettings(api_key=sandbox.klaviyo_api_key, base_url=sandbox.klaviyo_base_url),
                           rate_scale=0, progress=False)
        assert len(kc.segments()) > 0
        modes = {f.name: mode(f) for f in root.glob("klaviyo-*.sqlite*")}
        kc.close()
        return modes

    modes = run()
    assert any(name.endswith(".sqlite-wal") for name in modes) and mode(root) == 0o700
    assert modes == dict.fromkeys(modes, 0o600)
    os.chmod(root, 0o755)  # as an older version left them
    for f in root.glob("klaviyo-*.sqlite*"):
        os.chmod(f, 0o644)
    modes = run()
    assert mode(root) == 0o700 and modes == dict.fromkeys(modes, 0o600)


def test_mavera_results_are_created_private_and_loose_ones_are_tightened(tmp_path, loose_umask):
    emu = MaveraEmulator(seed=3, api_key=MAVERA_KEY, workspace_id="ws_1", credits=5000, rate_scale=0)
    with serve(emu) as base:
        cache = ResultCache(base, MAVERA_KEY, tmp_path)
        mc = MaveraClient(MAVERA_KEY, base, "ws_1", cache=cache)
        mc.generate("email-subject-line", {"product": "Oak Tray"})
        entries = list(cache.dir.glob("*.json"))
        assert len(entries) == 1 and mode(entries[0]) == 0o600
        assert mode(cache.dir) == mode(cache.root) == 0o700
        for folder in (cache.dir, cache.root):
            os.chmod(folder, 0o755)
        os.chmod(entries[0], 0o644)
        again = ResultCache(base, MAVERA_KEY, tmp_path)  # opened by the next run
        assert mode(again.dir) == mode(again.root) == 0o700 and mode(entries[0]) == 0o600
        assert MaveraClient(MAVERA_KEY, base, "ws_1", cache=again).generate(
            "email-subject-line", {"product": "Oak Tray"})["from_cache"]
