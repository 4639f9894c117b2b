"""helpers.report outside a kernel: parameter validation, artifacts, records read back, progress, lab env."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import report
from tools import lab


def test_setup_creates_the_job_folder_under_the_run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", str(tmp_path))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # setup() replaces them; put them back after
    monkeypatch.setattr(root, "level", root.level)
    job = report.setup("01_persona_enrichment")
    assert job.artifacts == tmp_path / "01_persona_enrichment" and job.artifacts.is_dir()
    assert pd.get_option("display.max_rows") == 30
    assert any(getattr(h, "stream", None) is sys.stdout for h in root.handlers)
    pd.reset_option("^display\\.")  # leave the worker's global pandas/matplotlib state as we found it
    import matplotlib

    matplotlib.rcdefaults()


def test_without_run_dir_artifacts_go_to_the_lab_folder_not_the_published_day(monkeypatch):
    from helpers import config

    # JupyterLab (no WORKBOOKS_RUN_DIR) must not write over the runner's published outputs/<date>/.
    assert report.run_dir() == config.project_root() / "outputs" / "lab" / dt.date.today().isoformat()
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())  # as in Lab
    assert report.headless() is False
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", "/tmp/somewhere")  # under the runner: bars stay quiet
    assert report.headless() is True


def test_job_saves_csv_json_png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    job = report.Job("02_x", tmp_path)
    df = pd.DataFrame({"a": [1, 2]})
    assert job.save_csv(df, "table").read_text() == "a\n1\n2\n"
    saved = job.save_json({"when": dt.date(2026, 7, 15), "n": np.int64(3), "xs": np.arange(2)}, "x.json")
    assert json.loads(saved.read_text()) == {"when": "2026-07-15", "n": 3, "xs": [0, 1]}
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    png = job.save_fig(fig, "chart")
    assert png.name == "chart.png" and png.read_bytes().startswith(b"\x89PNG")
    assert plt.fignum_exists(fig.number)  # still open: the notebook shows it afterwards
    plt.close(fig)
    with pytest.raises(ValueError, match="plain file name"):
        job.save_csv(df, "../escape.csv")


def test_records_are_read_back_last_value_wins():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={report.RECORD_MIME: {"name": "a", "value": 1}}),
        nbformat.v4.new_output("stream", text="hello"),
        nbformat.v4.new_output("display_data", data={report.RECORD_MIME: {"name": "a", "value": [2]}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "no record"}),
    ]
    nb.cells.append(cell)
    assert report.read_records(nb) == {"a": [2]}
    assert report.read_records(json.loads(nbformat.writes(nb))) == {"a": [2]}


def test_record_rejects_values_json_cannot_hold():
    with pytest.raises(TypeError, match="JSON-serialisable"):
        report.record("thing", object())
    with pytest.raises(TypeError, match="JSON-serialisable"):
        report.record("ratio", float("nan"))
    with pytest.raises(ValueError, match="identifier"):
        report.record("not a name", 1)


def test_record_usage_outside_a_kernel_logs(caplog, monkeypatch):
    monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")
    with caplog.at_level(logging.INFO, logger="helpers.report"):
        report.record_usage(klaviyo=SimpleNamespace(requests_sent=4), mavera=SimpleNamespace(credits_spent=12.5))
    assert [r.getMessage() for r in caplog.records] == [
        "record klaviyo_requests = 4", "record mavera_credits = 12.5", "record sandbox = True"
    ]


def test_progress_is_silent_under_the_runner_and_visible_otherwise(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel") or object())  # as in Lab
    assert report.progress(range(3)).disable is False
    assert report.progress(total=3, disable=None).disable is False  # a manual bar, as the client uses
    monkeypatch.delitem(sys.modules, "ipykernel")
    assert report.progress(range(3)).disable is True  # a script writing to a pipe: no bar
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", str(tmp_path))
    bar = report.progress(range(3))
    assert bar.disable is True and list(bar) == [0, 1, 2]


def test_lab_env_puts_the_sandbox_on_top_and_drops_the_run_dir():
    fake = SimpleNamespace(env=lambda: {"KLAVIYO_API_KEY": "pk_sbx_1", "KLAVIYO_BASE_URL": "http://127.0.0.1:9"})
    base = {"KLAVIYO_API_KEY": "pk_real", "WORKBOOKS_RUN_DIR": "/tmp/x", "PATH": "/bin"}
    env = lab.lab_env(fake, base)
    assert env == {"KLAVIYO_API_KEY": "pk_sbx_1", "KLAVIYO_BASE_URL": "http://127.0.0.1:9",
                   "WORKBOOKS_SANDBOX": "1", "PATH": "/bin"}
    assert base["KLAVIYO_API_KEY"] == "pk_real"  # the caller's mapping is not modified
    assert lab.lab_seed({}) == 7 and lab.lab_seed({"WORKBOOKS_SEED": "11"}) == 11
    assert lab.lab_command()[-1].endswith("notebooks")


def test_read_json_reads_another_jobs_artifact_in_this_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", str(tmp_path))
    assert report.read_json("01_persona_enrichment", "personas.json") is None
    report.setup("01_persona_enrichment").save_json({"VIP": "p1"}, "personas.json")
    assert report.read_json("01_persona_enrichment", "personas.json") == {"VIP": "p1"}


# ---------------------------------------------------------------------------------------------- report blocks


@pytest.fixture
def shown(monkeypatch):
    """What the notebook would display: (data, metadata) of each output."""
    outputs = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw=False, metadata=None, **kw: outputs.append((obj, metadata or {})))
    return outputs


def test_save_fig_with_alt_shows_the_chart_with_its_alt_and_closes_it(tmp_path, shown):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar(["a"], [1])
    assert report.Job("01_x", tmp_path).save_fig(fig, "bars", alt="Bar chart: one bar.") is None  # no value shown
    assert (tmp_path / "bars.png").read_bytes().startswith(b"\x89PNG") and not plt.fignum_exists(fig.number)
    (data, metadata), = shown
    assert metadata == {"image/png": {"alt": "Bar chart: one bar."}} and data["image/png"]


def test_header_findings_and_since_are_placed_blocks_and_record_what_index_html_needs(
    tmp_path, shown, monkeypatch, caplog
):
    from helpers.report import blocks as report_blocks
    from helpers.report import earlier_runs
    from helpers.report.currency import Currency

    monkeypatch.setenv(earlier_runs.OUT_ROOT_ENV, str(tmp_path / "out"))
    monkeypatch.setenv(earlier_runs.RUN_DATE_ENV, "2026-07-15")
    job = report.Job("01_x", tmp_path)
    caplog.set_level(logging.INFO, logger="helpers.report")
    job.header(report.period("last_30_days", dt.date(2026, 7, 15)), Currency("EUR", "from the order events"))
    lines = [f"- finding {i}" for i in range(6)]
    job.findings(lines, "**Next step:** act")
    job.since_last_run(lambda previous: ["never called"])  # no earlier run: no section
    assert [report_blocks.place_of({"metadata": m}) for _, m in shown] == ["header", "findings"]
    header, findings = (data["text/html"] for data, _ in shown)
    assert "15 Jun 2026 – 14 Jul 2026 (30 days)" in header and "EUR (€), from the order events" in header
    assert "(report dated 2026-07-15)" in header  # the run date differs from the folder's
    assert findings.count("<li>") == 7 and "finding 3</li><li><strong>Next step:</strong> act" in findings
    assert "<summary>2 more findings</summary>" in findings
    markdown = shown[1][0]["text/markdown"]  # the same findings for readers of the saved notebook
    assert markdown.splitlines() == [*lines[:4], "- **Next step:** act", *lines[4:]]
    assert job.currency.code == "EUR"
    assert "record currency = EUR" in caplog.text
    assert "record headlines = ['finding 0', 'finding 1', 'finding 2']" in caplog.text
    assert "record next_step = Act" in caplog.text and "record evidence = data" in caplog.text


def test_since_last_run_compares_with_the_earlier_run_on_disk(tmp_path, shown, monkeypatch):
    from helpers.report import earlier_runs, history

    root = tmp_path / "out"
    (root / "2026-07-14").mkdir(parents=True)
    (root / "2026-07-14" / "run.json").write_text(json.dumps({"date": "2026-07-14", "sandbox": True, "jobs": [
        {"notebook": "01_x", "status": "succeeded", "sandbox": True, "metrics": {"tier_counts": {"VIP": 10}}}]}))
    monkeypatch.setenv(earlier_runs.OUT_ROOT_ENV, str(root))
    monkeypatch.setenv(earlier_runs.RUN_DATE_ENV, "2026-07-15")
    monkeypatch.setenv("WORKBOOKS_SANDBOX", "1")
    job = report.Job("01_x", tmp_path)
    assert job.since_last_run(history.tiers, {"VIP": 12}, {}, job.currency) is None  # shown, not a cell value
    (data, _), = shown
    assert "Since the last run (14 Jul 2026)" in data["text/html"]
    assert data["text/plain"] == "Tier sizes: VIP 10 → 12 (+2)."
    monkeypatch.delenv("WORKBOOKS_SANDBOX")  # a real run never compares with a sandbox one
    assert report.Job("01_x", tmp_path).previous() is None


def test_save_text_writes_the_artifact_with_one_final_newline(tmp_path):
    job = report.Job(stem="03_segment_overlap", artifacts=tmp_path)
    first = job.save_text("# Mave's plan\n\nRetire A.", "mave_answer.md")
    again = job.save_text("ends already\n", "other.md")
    assert first == tmp_path / "mave_answer.md"
    assert first.read_text(encoding="utf-8") == "# Mave's plan\n\nRetire A.\n"
    assert again.read_text(encoding="utf-8") == "ends already\n"
