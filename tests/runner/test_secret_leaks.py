"""No key reaches any output file or log line of a run, even from a notebook that reads both keys.

Every file the run writes (ipynb, HTML, CSV, JSON, PNG, run.json, index.html, previous/) and everything the
runner printed is scanned for the literal key values.
"""

from __future__ import annotations

import json
import secrets

import pytest

import sandbox as sandbox_module
from helpers import run
from tests.runner.support import FIXTURES, files_containing, write_notebook

SENDS_WITH_KEY = """\
from helpers import report
from helpers.klaviyo import KlaviyoClient
from helpers.mavera import MaveraClient

job = report.setup(STEM)
if STEM.startswith("01"):
    KlaviyoClient.from_env().request("GET", "/api/segments")
else:
    MaveraClient.from_env().usage()
"""


def scan(tmp_path, capfd, keys):
    captured = capfd.readouterr()
    (tmp_path / "runner-stdout.log").write_text(captured.out)
    (tmp_path / "runner-stderr.log").write_text(captured.err)
    return files_containing(tmp_path, keys)


def test_scanner_finds_a_planted_key(tmp_path):
    key = f"pk_sbx_{secrets.token_hex(8)}"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "report.html").write_text(f"<p>{key}</p>")
    (tmp_path / "clean.csv").write_text("x\n1\n")
    assert files_containing(tmp_path, [key, "absent"]) == {"a/report.html": [key]}


def test_no_key_in_any_output_of_a_run_with_keys_set(tmp_path, capfd, monkeypatch):
    keys = [f"pk_sbx_{secrets.token_hex(12)}", f"mvra_test_{secrets.token_hex(12)}"]
    monkeypatch.setenv("KLAVIYO_API_KEY", keys[0])
    monkeypatch.setenv("MAVERA_API_KEY", keys[1])
    monkeypatch.setenv("KLAVIYO_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MAVERA_BASE_URL", "http://127.0.0.1:9/mavera/api/v1")
    monkeypatch.setenv("MAVERA_WORKSPACE_ID", "ws_sandbox")
    monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")
    result = run.run_jobs(notebooks_dir=FIXTURES, jobs=[2, 3, 5], out=tmp_path / "outputs", workers=2)
    assert [job.status for job in result.jobs] == ["succeeded", "failed", "succeeded"]
    assert result.sandbox is True
    touched = result.job("05").metrics
    assert touched == {"klaviyo_base_url": "http://127.0.0.1:9", "mavera_workspace": "ws_sandbox", "sandbox": True}
    assert "pk_***" in (result.run_dir / "05_touches_secrets.html").read_text()  # it did print the settings
    assert json.loads((result.run_dir / "05_touches_secrets" / "settings.json").read_text())["klaviyo"]
    assert scan(tmp_path, capfd, keys) == {}


def test_no_key_in_any_output_of_a_sandbox_run(tmp_path, capfd, monkeypatch):
    started = []

    class Recorded(sandbox_module.Sandbox):
        def __enter__(self):
            started.append(self)
            return super().__enter__()

    monkeypatch.setattr(sandbox_module, "Sandbox", Recorded)
    result = run.run_jobs(notebooks_dir=FIXTURES, jobs=[5], out=tmp_path / "outputs", sandbox=True, seed=3)
    (sb,) = started
    assert result.ok and result.sandbox
    assert result.job("05").metrics["klaviyo_base_url"] == sb.klaviyo_base_url  # the kernel saw the sandbox
    assert json.loads(result.manifest.read_text())["sandbox"] is True
    assert scan(tmp_path, capfd, [sb.klaviyo_api_key, sb.mavera_api_key]) == {}


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r\nX-Injected: 1\r\n"])
def test_a_key_that_breaks_the_header_reaches_no_output(breaker, tmp_path, capfd, monkeypatch):
    # requests refuses such a header and its message quotes the header, key and all. The key's parts,
    # whichever way a message escapes them, must reach no file the run writes and no line it prints.
    parts = [secrets.token_hex(12) for _ in range(4)]
    monkeypatch.setenv("KLAVIYO_API_KEY", f"pk_{parts[0]}{breaker}{parts[1]}")
    monkeypatch.setenv("MAVERA_API_KEY", f"mvra_test_{parts[2]}{breaker}{parts[3]}")
    monkeypatch.setenv("KLAVIYO_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MAVERA_BASE_URL", "http://127.0.0.1:9/mavera/api/v1")
    monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")
    notebooks = tmp_path / "notebooks"
    for stem in ("01_klaviyo_key", "02_mavera_key"):
        write_notebook(notebooks / f"{stem}.ipynb", 'note: str = ""  # unused', f"STEM = {stem!r}\n" + SENDS_WITH_KEY)
    result = run.run_jobs(notebooks_dir=notebooks, out=tmp_path / "outputs", workers=2)
    assert [job.status for job in result.jobs] == ["failed", "failed"]
    assert all(job.error for job in result.jobs)
    assert (result.run_dir / "01_klaviyo_key.html").is_file() and (result.run_dir / "02_mavera_key.ipynb").is_file()
    assert scan(tmp_path, capfd, parts) == {}
