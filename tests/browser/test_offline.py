"""A report stays offline even when a notebook output names other origins: in Chromium, against a local
server that counts every request it gets. Also: a chart's alt text reaches the page, and a table far wider
than the window scrolls in its own box instead of widening the page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import matplotlib
import nbformat
import pytest

from helpers.report import figures
from helpers.runner import report_html
from tests.browser import checks

matplotlib.use("Agg")

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        body = b"body{background:red}"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tracker() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that answers anything and remembers every path asked for."""
    handler = type("Handler", (_Counting,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler.hits
    finally:
        server.shutdown()
        server.server_close()


def output(data: dict, metadata: dict | None = None):
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def notebook(*outputs) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A report"), nbformat.v4.new_code_cell("shown()")]
    nb.cells[1].outputs = list(outputs)
    return nb


def test_outputs_that_name_other_origins_fetch_nothing(tracker, visit, tmp_path):
    origin, hits = tracker
    hostile = (
        f'<img src="{origin}/pixel.png" alt="tracking pixel">'
        f'<link rel="stylesheet" href="{origin}/style.css">'
        f'<script src="{origin}/script.js"></script>'
        f"<style>@import url({origin}/import.css); @font-face {{font-family: x; src: url({origin}/font.woff)}}"
        " p {font-family: x}</style><p>text in a remote font</p>"
        f'<iframe src="{origin}/frame"></iframe>'
    )
    page_file = tmp_path / "hostile.html"
    page_file.write_text(report_html.report_html(notebook(output({"text/html": hostile})), "hostile", False))

    seen = visit(page_file)
    seen.page.wait_for_load_state("networkidle")
    assert hits == [], f"the report fetched {hits} from {origin}"
    # Chromium reports each attempt as a request, refused before it leaves the page.
    assert seen.foreign_requests and all(url.startswith(origin) for url in seen.foreign_requests)
    assert len(seen.failed) == len(seen.foreign_requests), seen.failed
    assert all(failure.endswith(": csp") for failure in seen.failed), seen.failed  # refused by the policy
    # What the browser says instead is the policy refusing each one, nothing else.
    assert seen.console_errors and all("Content Security Policy" in e for e in seen.console_errors), (
        seen.console_errors
    )


def test_chart_alt_text_and_wide_table_in_the_browser(visit, tmp_path):
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(["VIP", "Regular", "Occasional"], [120, 800, 4080])
    data, metadata = figures.figure_output(fig, "Bar chart: most customers are in the Occasional tier.")
    plt.close(fig)
    wide = pd.DataFrame([[f"value {r}-{c} with some words" for c in range(40)] for r in range(5)],
                        columns=[f"a long column header {c}" for c in range(40)])
    nb = notebook(output(data, metadata), output({"text/html": wide.to_html(), "text/plain": "frame"}))
    page_file = tmp_path / "report.html"
    page_file.write_text(report_html.report_html(nb, "alt and table", True))

    seen = visit(page_file)
    seen.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'report.png'}")
    assert seen.console_errors == [] and seen.failed == [] and seen.foreign_requests == []
    assert checks.undecoded_images(seen.page) == []
    alts = seen.page.eval_on_selector_all("img", "imgs => imgs.map(i => i.alt)")
    assert alts == ["Bar chart: most customers are in the Occasional tier."]
    assert checks.missing_alt_texts(seen.page) == []
    table_width = seen.page.eval_on_selector("table", "t => t.getBoundingClientRect().width")
    assert table_width > 2 * checks.WIDTH  # really wider than the window ...
    assert checks.horizontal_overflow(seen.page) == []  # ... and still the page does not scroll sideways
    assert checks.clipped_tables(seen.page) == []
    assert checks.sandbox_banner_shown(seen.page)  # added: this notebook never showed it itself


def test_findings_check_tells_findings_first_from_notes_first(visit, tmp_path):
    """checks.findings_not_first (which test_reports.py applies to every report) passes a page that opens with
    findings and fails one that does not, so a report that lost its opening would be caught."""
    findings = f'<div class="{report_html.FINDINGS_CLASS}"><ul><li>VIP tier: 120 customers</li></ul></div>'
    for name, first, expect_problem in (("findings first", findings, False), ("notes first", "<p>Scopes</p>", True)):
        nb = notebook(output({"text/html": first}), output({"text/html": "<p>detail</p>"}))
        page_file = tmp_path / f"{name}.html"
        page_file.write_text(report_html.report_html(nb, name, True))
        problems = checks.findings_not_first(visit(page_file).page)
        assert bool(problems) is expect_problem, (name, problems)
