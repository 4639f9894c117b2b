"""Exit codes for schedulers: 0 all succeeded, 1 a run-time failure (retry may help), 2 a permanent one.

A job's failure is permanent when its notebook stopped on ParameterError, ConfigError or a rejected key
(KlaviyoAuthError, MaveraAuthError): the exception's name as the executed notebook records it. run.json
says which kind each failed job was.
"""

from __future__ import annotations

import json
import secrets

import pytest

from helpers import run
from tests.runner.support import files_containing, write_notebook

PARAMETERS = 'n: int = 1  # a number'
BAD_PARAMETER = """\
from helpers import params, report

job = report.setup("01_bad_parameter")
raise params.ParameterError("parameter n=-1 should be at least 1 (e.g. -p n 1)")
"""
MISSING_KEY = """\
from helpers import config

config.KlaviyoSettings.from_env()  # KLAVIYO_API_KEY is not set in tests
"""
OUTAGE = """\
raise ConnectionError("Mavera answered 503 Service Unavailable on POST /mave/chat")
"""


def notebooks(folder, **cells):
    for stem, source in cells.items():
        write_notebook(folder / f"{stem}.ipynb", PARAMETERS, source)
    return folder


def test_a_permanent_failure_exits_2_and_says_so(tmp_path, capfd):
    folder = notebooks(tmp_path / "nb", **{"01_bad_parameter": BAD_PARAMETER, "02_missing_key": MISSING_KEY,
                                          "03_outage": OUTAGE})
    code = run.main(["--notebooks", str(folder), "--out", str(tmp_path / "out"), "--no-html", "--workers", "2"])
    out = capfd.readouterr().out
    assert code == 2, out
    assert "0 of 3 job(s) succeeded" in out
    assert "not worth retrying before a fix: 01_bad_parameter, 02_missing_key" in out
    (day,) = (tmp_path / "out").iterdir()
    jobs = {job["notebook"]: job for job in json.loads((day / "run.json").read_text())["jobs"]}
    assert {stem: job["failure"] for stem, job in jobs.items()} == {
        "01_bad_parameter": "permanent", "02_missing_key": "permanent", "03_outage": "transient"}
    assert jobs["01_bad_parameter"]["error"].startswith("ParameterError: parameter n=-1 should be at least 1")
    assert jobs["02_missing_key"]["error"].startswith("ConfigError: KLAVIYO_API_KEY is not set")


def test_a_run_time_failure_alone_exits_1(tmp_path, capfd):
    folder = notebooks(tmp_path / "nb", **{"03_outage": OUTAGE})
    code = run.main(["--notebooks", str(folder), "--out", str(tmp_path / "out"), "--no-html"])
    out = capfd.readouterr().out
    assert code == 1, out
    assert "not worth retrying" not in out
    (day,) = (tmp_path / "out").iterdir()
    (job,) = json.loads((day / "run.json").read_text())["jobs"]
    assert job["failure"] == "transient" and job["error"].startswith("ConnectionError: Mavera answered 503")


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("job", "variable", "ename"),
    [(3, "KLAVIYO_API_KEY", "KlaviyoAuthError"), (4, "MAVERA_API_KEY", "MaveraAuthError"),
     (3, "MAVERA_API_KEY", "MaveraAuthError")],
    ids=["klaviyo-401", "mavera-401", "mavera-401-inside-a-mavera-step"],
)
def test_a_key_the_api_rejects_stops_the_notebook_and_is_permanent(sandbox_env, monkeypatch, tmp_path, capfd,
                                                                    job, variable, ename):
    """Well-formed keys pass the runner's checks; the API's 401 stops the real notebook uncaught (03 on its
    first Klaviyo call, 04 looking for personas before it fetches anything, 03's Mave step, which no longer
    makes it a "succeeded" with 0 credits), and no retry would help."""
    wrong = {"KLAVIYO_API_KEY": "pk_sbx_", "MAVERA_API_KEY": "mvra_test_"}[variable] + secrets.token_hex(16)
    monkeypatch.setenv(variable, wrong)
    code = run.main(["--jobs", str(job), "--out", str(tmp_path), "--no-html", "--workers", "1"])
    out = capfd.readouterr().out
    assert code == 2, out
    (day,) = tmp_path.iterdir()
    (entry,) = json.loads((day / "run.json").read_text())["jobs"]
    assert entry["failure"] == "permanent" and entry["error"].startswith(f"{ename}: "), entry["error"]
    assert variable in entry["error"] and entry["status"] == "failed"
    assert files_containing(tmp_path, [wrong]) == {}
