"""The reports of a real sandbox run, opened in Chromium as a reader would open them from the run folder.

The shared runs of tests/conftest.py (every job at seed 11 on the earlier date, then every job at seed 7 into
the same output root; the notebook tests read the same reports), so that the checked reports have a "Since
the last run" section and the index a history block, and one failing job (``python -m helpers.run`` as a
user starts it) are shared by every page check. Each page must load with no console error,
no failed request and no request anywhere but its own file; not overflow a 1280 px window; decode every image;
cut off no table; open with the findings after title, banner and header; give every chart an alt text; show
tables with human headers. The failed job's page shows the banner and one sentence, no traceback. Screenshots
land in each test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.runner import report_html
from tests.browser import checks
from tests.conftest import SHARED_DATE, SHARED_EARLIER

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FAILING = Path(__file__).resolve().parent / "notebooks"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}", re.I)
PHONE = re.compile(r"\+\d[\d ()-]{7,}\d")
STIMULI = {"04_product_affinity_focus_group": [], "05_sms_vs_email_testing": ["workbooks-email", "workbooks-sms"]}
MOVED = {"01_persona_enrichment", "02_flow_content_refresh", "04_product_affinity_focus_group"}
DATE, EARLIER = SHARED_DATE, SHARED_EARLIER  # seed 7's day; seed 11's, the day before, is what "Since the last run" compares with
HANG_GUARD = 1800  # seconds: only so a wedged kernel cannot hold CI forever; no test measures speed
_OUR_VARS = (
    "KLAVIYO_API_KEY", "KLAVIYO_BASE_URL", "KLAVIYO_REVISION", "MAVERA_API_KEY", "MAVERA_BASE_URL",
    "MAVERA_WORKSPACE_ID", "WORKBOOKS_SANDBOX", "WORKBOOKS_RUN_DIR",
)


def run_cli(args: list[str], cache: Path, date: str = DATE) -> subprocess.CompletedProcess:
    """The runner as a user starts it, in a clean environment (no developer keys, .env or cache). No
    MPLBACKEND: other tests set Agg, under which the kernels' charts never reach the report."""
    env = {k: v for k, v in os.environ.items() if k not in (*_OUR_VARS, "MPLBACKEND")}
    # Limits off: these pages do not depend on how long the fetches waited (the demo keeps the real ones).
    env.update(WORKBOOKS_IGNORE_DOTENV="1", WORKBOOKS_CACHE_DIR=str(cache), KLAVIYO_RATE_SCALE="0")
    return subprocess.run(
        [sys.executable, "-m", "helpers.run", "--sandbox", "--date", date, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD,
    )


@pytest.fixture(scope="module")
def sandbox_run(day_seed7) -> Path:
    assert day_seed7.run_dir.name == DATE
    return day_seed7.run_dir


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("failed-run")
    done = run_cli(["--notebooks", str(FAILING), "--out", str(out)], tmp_path_factory.mktemp("cache"))
    assert done.returncode == 1, f"the failing job should fail the run:\n{done.stdout}\n{done.stderr}"
    return out / DATE


def screenshot(seen, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    seen.page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def assert_loads_cleanly(seen, name: str) -> None:
    assert seen.console_errors == [], f"{name}: console errors {seen.console_errors}"
    assert seen.failed == [], f"{name}: failed requests {seen.failed}"
    assert seen.foreign_requests == [], f"{name}: requests outside the file {seen.foreign_requests}"
    assert checks.horizontal_overflow(seen.page) == [], name
    assert checks.undecoded_images(seen.page) == [], name
    assert checks.clipped_tables(seen.page) == [], name
    assert checks.raw_tables(seen.page) == [], name
    text = seen.page.inner_text("body")
    for leak in (".staging-", "PosixPath", "/tmp/"):  # nothing about the machine that ran it
        assert leak not in text, f"{name}: {leak!r} on the page"
    assert not EMAIL.search(text) and not PHONE.search(text), f"{name}: personal data on the page"


def test_every_job_of_the_run_has_a_report(sandbox_run):
    manifest = json.loads((sandbox_run / "run.json").read_text())
    assert manifest["sandbox"] is True
    assert [(j["notebook"], j["status"], j["html"]) for j in manifest["jobs"]] == [
        (stem, "succeeded", f"{stem}.html") for stem in NOTEBOOKS
    ]


def test_index_page(sandbox_run, visit, tmp_path):
    seen = visit(sandbox_run / "index.html")
    screenshot(seen, tmp_path, "index")
    assert_loads_cleanly(seen, "index.html")
    assert checks.sandbox_banner_shown(seen.page)
    links = seen.page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert {f"{stem}.html" for stem in NOTEBOOKS} <= set(links)
    assert f"../{EARLIER}/index.html" in links  # the history block links the earlier day
    # Per job, what it found in words (the headlines each notebook records), never raw metric keys or ids.
    found = seen.page.eval_on_selector_all("tr.succeeded td:nth-child(3)", "tds => tds.map(td => td.innerText)")
    assert len(found) == len(NOTEBOOKS) and all(text.strip() for text in found)
    manifest = json.loads((sandbox_run / "run.json").read_text())
    text = seen.page.inner_text("body")
    for job in manifest["jobs"]:
        assert job["title"] in text
        for key in ("underperforming_message_ids", "tier_counts", "nps_by_persona"):
            assert key not in text
        for persona_id in (job["metrics"].get("personas") or {}).values():
            assert persona_id not in text
    # The shared day is five runs (one job each): each run's total, then the day's, said apart.
    assert "Total for the day" in text and "5 runs" in text
    assert seen.page.locator("tr.run-total").count() == len(NOTEBOOKS)
    # History: both dates, the headline numbers, a sparkline drawn inline.
    history = seen.page.eval_on_selector_all("table.history tr td:first-child", "tds => tds.map(td => td.innerText)")
    assert history[:2] == [EARLIER, DATE] and history[2] == "trend"
    assert seen.page.locator("svg polyline").count() >= 3


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_report_page(stem, sandbox_run, visit, tmp_path):
    seen = visit(sandbox_run / f"{stem}.html")
    screenshot(seen, tmp_path, stem)
    assert_loads_cleanly(seen, stem)
    assert checks.image_count(seen.page) >= 1, f"{stem}: the report shows no chart"
    assert checks.sandbox_banner_shown(seen.page)
    assert checks.findings_not_first(seen.page) == [], stem
    assert checks.missing_alt_texts(seen.page) == [], stem
    header = seen.page.inner_text(f".{report_html.HEADER_CLASS}")
    assert "Run:" in header and "Data:" in header and "Currency:" in header
    assert "last_" not in header  # dates, not a timeframe key
    findings = seen.page.locator(f".{report_html.FINDINGS_CLASS} > ul > li")
    assert 3 <= findings.count() <= 5 and "Next step" in findings.last.inner_text()
    assert checks.overflowing(seen.page) == [], stem  # 01's tier table turned, text wrapped, stimuli as messages
    shown_findings = seen.page.inner_text(f".{report_html.FINDINGS_CLASS} > ul")  # what is not folded away
    if stem == "05_sms_vs_email_testing":  # the data's verdict and its unsubscribe cost lead, never folded
        assert "Verdict:" in findings.first.inner_text() and "unsubscribe rate" in shown_findings, shown_findings
    if stem in STIMULI:  # what the personas saw, as the channel shows it: no monospace block
        assert seen.page.locator(".workbooks-stimulus").count() == 1 and seen.page.locator("pre").count() == 0
        for kind in STIMULI[stem]:
            assert seen.page.locator(f".workbooks-stimulus .{kind}").count() == 1, kind
    if stem == "02_flow_content_refresh":  # revenue per recipient is money in the tests table, never "82.26%"
        rows = seen.page.eval_on_selector_all("tr", "trs => trs.map(tr => [...tr.cells].map(c => c.innerText))")
        money = [r for r in rows if "revenue per recipient" in r]
        assert money and all("%" not in r[4] and "$" in r[4] for r in money), money
    since = seen.page.inner_text(f".{report_html.SINCE_CLASS}")
    assert since.startswith("Since the last run (14 Jul 2026)"), since
    if stem in MOVED:  # another seed: other tiers, flagged messages, top pairs
        assert seen.page.locator(f".{report_html.SINCE_CLASS} li").count() >= 1, since


def test_failed_job_page_has_the_banner_and_one_sentence_no_traceback(failed_run, visit, tmp_path):
    (job,) = json.loads((failed_run / "run.json").read_text())["jobs"]
    assert job["status"] == "failed" and job["html"] == "01_fails_reading_a_file.html"
    # The executed notebook keeps the traceback for the analyst ...
    executed = nbformat.read(failed_run / job["ipynb"], as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "FileNotFoundError" and errors[0]["traceback"]

    seen = visit(failed_run / job["html"])
    screenshot(seen, tmp_path, "failed_job")
    assert_loads_cleanly(seen, "failed job")
    text = seen.page.inner_text("body")
    source = seen.page.content()
    # ... the page does not: no traceback, no code, no file path.
    for leak in ("Traceback", ".py", 'File "', "/nonexistent", "read_csv", "pd."):
        assert leak not in text and leak not in source, f"{leak!r} reached the failed job's page"
    assert checks.sandbox_banner_shown(seen.page)
    # The title, the banner and one sentence saying what failed and what to do; nothing else.
    shown = seen.page.eval_on_selector_all("main > *", "nodes => nodes.map(n => n.className || n.tagName)")
    assert shown == ["H1", report_html.SANDBOX_CLASS, report_html.FAILURE_CLASS], shown
    sentence = seen.page.inner_text(f".{report_html.FAILURE_CLASS}")
    assert "No such file or directory" in sentence and sentence.endswith("run the job again."), sentence


PAGES = ["index", *NOTEBOOKS]
A4_CONTENT_PX = 703  # 210 mm less the report's 2 × 12 mm margins, at 96 px per inch


@pytest.mark.parametrize("name", PAGES)
def test_every_page_reads_without_a_glossary(name, sandbox_run, visit):
    """No parameter or metric name, no e-notation number, no raw id in what a reader sees (#23)."""
    manifest = json.loads((sandbox_run / "run.json").read_text())
    seen = visit(sandbox_run / f"{name}.html")
    text = seen.page.inner_text("body")
    problems = checks.glossary_words(text, checks.code_words(manifest, ROOT / "notebooks"), checks.raw_ids(manifest))
    assert problems == [], f"{name}: {problems}"


def test_every_page_prints_to_numbered_pages_with_nothing_cut(sandbox_run, visit, tmp_path):
    """The same pages as --pdf prints them: each a PDF whose pages are counted and numbered, and laid out on
    an A4 width in print mode, no table runs past the paper's edge."""
    from pypdf import PdfReader

    from helpers.runner import pdf

    for name in PAGES:
        printed = pdf.file_to_pdf(sandbox_run / f"{name}.html", tmp_path / f"{name}.pdf")
        reader = PdfReader(printed)
        pages = len(reader.pages)
        assert pages >= 1 and f"Page {pages} of {pages}" in reader.pages[-1].extract_text(), name
        seen = visit(sandbox_run / f"{name}.html")
        seen.page.emulate_media(media="print")
        seen.page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
        wide = seen.page.evaluate(
            """(width) => [...document.querySelectorAll('table')]
                 .map((t, i) => [i, Math.round(t.getBoundingClientRect().right)])
                 .filter(([, right]) => right > width + 1)""", A4_CONTENT_PX)
        assert wide == [], f"{name}: tables past the paper's edge (index, right edge px): {wide}"
