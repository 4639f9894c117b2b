"""helpers.runner.report_html without a browser: what the HTML holds (tests/browser/ checks how Chromium shows it)."""

from __future__ import annotations

import base64
import datetime as dt
import re

import matplotlib
import nbformat
import pytest
from bs4 import BeautifulSoup

from helpers import report
from helpers.report import blocks as report_blocks
from helpers.report import figures
from helpers.runner import report_html

matplotlib.use("Agg")


def output(data, metadata=None):
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def executed_notebook(*outputs, banner=False):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('label: str = "PARAM_MARKER_91c2"')
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell("job = report.setup('x')  # SETUP_MARKER")
    if banner:
        setup.outputs = [output({"text/html": f"<div>{report.SANDBOX_BANNER}.</div>", "text/plain": ""})]
    shown = nbformat.v4.new_code_cell("show()  # CODE_MARKER")
    shown.outputs = [*outputs, output({report.RECORD_MIME: {"name": "n", "value": 1}, "text/plain": ""})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), params, setup, shown]
    return nb


def external_references(page: str) -> list[str]:
    """Everything in the page a browser would fetch from somewhere other than the page itself."""
    soup = BeautifulSoup(page, "html.parser")
    found = [f"script {s['src']}" for s in soup.find_all("script", src=True)]
    found += [f"link {link.get('href')}" for link in soup.find_all("link")]
    found += [f"img {img['src'][:40]}" for img in soup.find_all("img") if not img["src"].startswith("data:")]
    styles = " ".join(tag.get_text() for tag in soup.find_all("style"))
    found += [f"css {m}" for m in re.findall(r"url\((?!\s*['\"]?data:)[^)]*\)|@import[^;]*", styles)]
    return found


def chart_output(alt="Bars: the VIP tier holds half of all value."):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    data, metadata = figures.figure_output(fig, alt)
    plt.close(fig)
    return output(data, metadata)


# ---------------------------------------------------------------------------------------------- reports


def test_report_is_self_contained_and_code_free():
    page = report_html.report_html(executed_notebook(chart_output()), "01_x", sandbox=False)
    assert external_references(page) == []
    assert "cdnjs" not in page and "require.js" not in page and "mathjax" not in page.lower()
    assert f'content="{report_html.CSP}"' in page
    for marker in ("PARAM_MARKER_91c2", "SETUP_MARKER", "CODE_MARKER", report.RECORD_MIME):
        assert marker not in page
    assert "<title>01_x</title>" in page


def test_chart_alt_text_reaches_the_img():
    page = report_html.report_html(executed_notebook(chart_output()), "t", sandbox=False)
    (img,) = BeautifulSoup(page, "html.parser").find_all("img")
    assert img["alt"] == "Bars: the VIP tier holds half of all value."
    assert img["src"].startswith("data:image/png;base64,")


def test_ipython_image_alt_is_the_same_convention():
    """IPython's own ``Image(alt=...)`` yields the same metadata, so notebooks may use either."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.display import Image

    png_b64 = chart_output().data["image/png"]  # any valid PNG: take the chart's
    data, metadata = DisplayFormatter().format(Image(data=base64.b64decode(png_b64), alt="Line: rising."))
    png = output({"image/png": data["image/png"]}, metadata)
    page = report_html.report_html(executed_notebook(png), "t", sandbox=False)
    assert BeautifulSoup(page, "html.parser").find("img")["alt"] == "Line: rising."


def test_image_without_alt_keeps_the_visible_filler():
    bare = chart_output()
    bare.metadata = {}
    page = report_html.report_html(executed_notebook(bare), "t", sandbox=False)
    assert BeautifulSoup(page, "html.parser").find("img")["alt"] == "No description has been provided for this image"


def test_alt_text_is_required_and_escaped():
    with pytest.raises(ValueError, match="one sentence"):
        chart_output(alt="  ")
    page = report_html.report_html(executed_notebook(chart_output(alt='5 < 6 "quoted"')), "t", sandbox=False)
    assert BeautifulSoup(page, "html.parser").find("img")["alt"] == '5 < 6 "quoted"'


@pytest.mark.parametrize(
    ("banner_in_notebook", "sandbox", "expected"),
    [(True, True, 1), (False, True, 1), (False, False, 0), (True, False, 1)],
)
def test_sandbox_banner_appears_once_when_the_run_used_the_sandbox(banner_in_notebook, sandbox, expected):
    page = report_html.report_html(executed_notebook(banner=banner_in_notebook), "t", sandbox=sandbox)
    assert page.count(report.SANDBOX_BANNER) == expected
    if expected and not banner_in_notebook:  # added right after the title
        cells = BeautifulSoup(page, "html.parser").select("main > .jp-Cell")
        assert cells[0].find("h1") and cells[1].select_one(f".{report_html.SANDBOX_CLASS}")


# ---------------------------------------------------------------------------------------------- failed jobs


def test_failed_page_is_title_banner_and_one_escaped_sentence():
    page = report_html.failed_report_html("02_<b>x</b>", "It broke <script>alert(1)</script>.", sandbox=True)
    soup = BeautifulSoup(page, "html.parser")
    assert [child.name for child in soup.find("main").find_all(recursive=False)] == ["h1", "div", "p"]
    assert soup.find("h1").get_text() == "02_<b>x</b>"
    assert soup.find("p").get_text() == "It broke <script>alert(1)</script>."
    assert soup.find_all("script") == [] and soup.find_all("b") == []
    assert report.SANDBOX_BANNER in page and external_references(page) == []
    assert report.SANDBOX_BANNER not in report_html.failed_report_html("t", "s.", sandbox=False)


LEAKS = ("Traceback", ".py", 'File "', "/home", "alice", "http", "klaviyo.com", "(In [")


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("ParameterError: parameter significance=5.0 must be at most 1 (In [3])",
         ["parameter significance=5.0 must be at most 1", "correct the value and run the job again"]),
        ("timed out: the notebook ran past its 3600 s budget (--timeout) (In [12])", ["--timeout"]),
        ("the kernel died (out of memory or killed) (cell 4)", ["out of memory", "run it again"]),
        ("ConfigError: KLAVIYO_API_KEY is not set; copy .env.example to .env and fill it in (In [2])",
         ["KLAVIYO_API_KEY is not set", "fill it in."]),
        ("KeyError: 'tier' (In [7])", ["KeyError: 'tier'", "run the job again"]),
        ('OSError: File "/home/alice/project/helpers/x.py", line 3, cannot read /home/alice/data/orders.csv '
         "from https://a.klaviyo.com/api/profiles?page=2 (In [4])", ["cannot read a file from the server"]),
        ("FileNotFoundError: [Errno 2] No such file or directory: '/home/alice/o.csv' (In [5])",
         ["No such file or directory: 'a file'"]),
        ("ValueError: email/sms split of 3 campaigns is uneven (In [9])", ["email/sms split"]),
        ("", ["run the job again"]),
        # What was being fetched is named (it was "could not reach Klaviyo for GET a file").
        ("KlaviyoError: could not reach Klaviyo to fetch the list of segments (GET /api/segments) after 12 attempts "
         "(connection dropped before an answer); check KLAVIYO_BASE_URL=https://a.klaviyo.com and the network, "
         "then rerun. (In [4])", ["could not reach Klaviyo to fetch the list of segments after 12 attempts"]),
        ("KlaviyoError: Klaviyo failed on flow messages (GET /api/flow-actions/A1/flow-messages, 503) after 12 "
         "attempts; rerun later (In [4])", ["Klaviyo failed on flow messages (503) after 12 attempts"]),
        ("MaveraAuthError: Mavera rejected MAVERA_API_KEY (401 on POST /mave/chat: Invalid API key provided.): set "
         "MAVERA_API_KEY to a current key with access to MAVERA_WORKSPACE_ID (Settings > Developer > API Keys in "
         "Mavera), then rerun. (In [9])",
         ["The job stopped: Mavera rejected MAVERA_API_KEY (401: Invalid API key provided.): set MAVERA_API_KEY"]),
    ],
)
def test_failure_sentence_says_what_failed_and_what_to_do_without_code_or_paths(error, says):
    sentence = report_html.failure_sentence(error)
    for part in says:
        assert part in sentence, sentence
    for leak in LEAKS:
        assert leak not in sentence, (leak, sentence)
    assert "\n" not in sentence and sentence.endswith(".")
    assert "[Errno" not in sentence


def test_failure_sentence_of_a_multiline_error_keeps_only_its_first_line():
    sentence = report_html.failure_sentence('RuntimeError: it broke\nTraceback (most recent call last):\n  File "a.py"')
    assert "it broke" in sentence and "Traceback" not in sentence and "a.py" not in sentence


# ---------------------------------------------------------------------------------------------- the opening blocks


def block(kind, html_text):
    return output({"text/html": html_text, "text/plain": kind}, report_blocks.placed(kind))


def test_header_findings_and_since_open_the_report_right_after_title_and_banner():
    nb = executed_notebook(banner=True)
    nb.cells[0].source = "# 01 · Title\n\n**Question.** What is it?\n\n**Needs.** profiles:read"
    detail = nbformat.v4.new_code_cell("detail()")
    detail.outputs = [output({"text/html": "<p>DETAIL_MARKER</p>"}),
                      block("header", report_blocks.header_html(dt.datetime(2026, 7, 15, 6, 1, tzinfo=dt.UTC),
                                                                "16 Apr 2026 – 14 Jul 2026 (90 days)", "USD ($)"))]
    summary = nbformat.v4.new_code_cell("job.findings(...)")
    summary.outputs = [block("since", report_blocks.since_html("2026-07-14", ["VIP 452 → 470"])),
                       block("findings", report_blocks.findings_html(["- **VIP** holds 53%"], more=["extra"]))]
    nb.cells += [detail, summary]
    page = report_html.report_html(nb, "01_x", sandbox=True)
    cells = BeautifulSoup(page, "html.parser").select("main > .jp-Cell")
    texts = [c.get_text(" ", strip=True) for c in cells]
    assert texts[0].startswith("01 · Title") and "Question" not in texts[0]
    assert cells[1].find(string=re.compile(report.SANDBOX_BANNER))
    assert cells[2].select_one(f".{report_html.HEADER_CLASS}") and "Run: 15 Jul 2026, 06:01 UTC" in texts[2]
    assert cells[3].select_one(f".{report_html.FINDINGS_CLASS}") and "VIP holds 53%" in texts[3]
    assert cells[3].select_one("details summary").get_text() == "1 more finding"
    assert cells[4].select_one(f".{report_html.SINCE_CLASS}") and "Since the last run (14 Jul 2026)" in texts[4]
    assert texts[5].startswith("Question. What is it?")  # the method notes follow the blocks
    assert "DETAIL_MARKER" in texts[-1] and page.count(report.SANDBOX_BANNER) == 1
    assert len(BeautifulSoup(page, "html.parser").select(f".{report_html.FINDINGS_CLASS}")) == 1  # moved, not copied


def test_findings_lines_are_markdown_with_raw_html_escaped():
    page = report_blocks.findings_html(["- **bold** and `code` <img src=x onerror=y()>"])
    assert "<strong>bold</strong>" in page and "<code>code</code>" in page
    assert "<img" not in page and "&lt;img" in page
    assert report_blocks.plain("- **VIP** holds `53%` of *value*") == "VIP holds 53% of value"


def test_without_blocks_the_notebook_keeps_its_order():
    nb = executed_notebook(chart_output(), banner=True)
    page = report_html.report_html(nb, "t", sandbox=True)
    cells = BeautifulSoup(page, "html.parser").select("main > .jp-Cell")
    assert cells[0].find("h1") and cells[1].find(string=re.compile(report.SANDBOX_BANNER)) and cells[2].find("img")
