"""index.html rendered from its template alone (no run): names, links, status, escaping, the sandbox banner."""

from __future__ import annotations

from html.parser import HTMLParser

from helpers import report
from helpers.runner.index import headline, render_index
from tests.runner.support import hrefs

SCRIPT = "<script>alert('x')</script>"


def manifest(**overrides):
    jobs = [
        {"notebook": "01_persona_enrichment", "status": "succeeded", "ipynb": "01_persona_enrichment.ipynb",
         "html": "01_persona_enrichment.html", "seconds": 12.345, "error": None, "sandbox": False,
         "finished_at": "2026-07-15T06:01:02+00:00",
         "metrics": {"profiles_total": 5000, "verdict": SCRIPT, "tier_counts": {"VIP": 10, "Regular": 90},
                     "personas": ["p1", "p2"], "sandbox": False}},
        {"notebook": "03_segment_overlap", "status": "failed", "ipynb": "03_segment_overlap.failed.ipynb",
         "html": None, "seconds": 1, "error": 'ValueError: a < b & "c"', "sandbox": False, "metrics": {},
         "previous_success": {"ipynb": "03_segment_overlap.ipynb", "html": "03_segment_overlap.html"}},
    ]
    return {"date": "2026-07-15", "sandbox": False, "jobs": jobs, **overrides}


class Cells(HTMLParser):
    """The text of each <td>, to check what a reader of the page sees (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.scripts = 0
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        if tag == "td":
            self._in_td, self.cells = True, [*self.cells, ""]

    def handle_endtag(self, tag):
        self._in_td = self._in_td and tag != "td"

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data


def cells(text):
    parser = Cells()
    parser.feed(text)
    return parser


def test_rows_name_each_job_with_status_duration_and_links():
    text = render_index(manifest())
    assert "<title>Workbooks 2026-07-15</title>" in text
    assert "<h1>Klaviyo × Mavera workbooks — 2026-07-15</h1>" in text
    assert hrefs(text) == [
        "01_persona_enrichment.html", "01_persona_enrichment.ipynb",
        "03_segment_overlap.html", "03_segment_overlap.ipynb",  # the kept report, in the failed row
        "03_segment_overlap.failed.ipynb",  # the failed run has no HTML: a dash instead of a link
        "run.json",
    ]
    first, second = cells(text).cells[:6], cells(text).cells[6:]
    assert first[:5] == ["01_persona_enrichment", "succeeded", "12.3 s", "2026-07-15T06:01:02+00:00",
                         "report · notebook"]
    assert second[0] == "03_segment_overlap"
    assert second[1].startswith('failedValueError: a < b & "c"The earlier successful report is still published')
    assert second[2:5] == ["1.0 s", "", "— · notebook"]
    assert '<tr class="succeeded">' in text and '<tr class="failed">' in text
    assert report.SANDBOX_BANNER not in text and 'class="sbx"' not in text


def test_headline_numbers_are_shortened_and_markup_in_them_is_escaped():
    text = render_index(manifest())
    numbers = cells(text).cells[5]
    assert "profiles_total: 5,000" in numbers
    assert "tier_counts: {VIP: 10, Regular: 90}" in numbers
    assert "personas: 2 items" in numbers and "sandbox: false" in numbers
    assert f"verdict: {SCRIPT}" in numbers  # shown to the reader as text ...
    assert cells(text).scripts == 0  # ... never as an element
    assert "<script>" not in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert "a &lt; b &amp; &#34;c&#34;" in text  # error text is escaped too


def test_hostile_names_and_links_are_escaped():
    hostile = manifest()
    hostile["date"] = "</title><script>x()</script>"
    hostile["jobs"][0]["html"] = '"><script>y()</script>'
    hostile["jobs"][0]["notebook"] = "<b>01</b>"
    hostile["jobs"][0]["metrics"] = {"<img src=x onerror=z()>": 1}
    text = render_index(hostile)
    assert cells(text).scripts == 0 and "<img" not in text and "<b>01</b>" not in text
    assert 'href="&#34;&gt;&lt;script&gt;y()&lt;/script&gt;"' in text


def test_sandbox_rows_are_marked_and_the_page_carries_the_banner():
    sandboxed = manifest(sandbox=True)
    sandboxed["jobs"][1]["sandbox"] = True
    text = render_index(sandboxed)
    assert f'<p class="banner">{report.SANDBOX_BANNER} (rows marked “sandbox”).</p>' in text
    assert text.count('<span class="sbx">sandbox</span>') == 1
    assert cells(text).cells[6] == "03_segment_overlap sandbox"


def test_an_empty_day_renders_a_table_with_no_rows():
    text = render_index({"date": "2026-07-15", "sandbox": False, "jobs": []})
    assert "<tr class=" not in text and hrefs(text) == ["run.json"]
    assert text.endswith("</body></html>\n")


def test_headline_formats():
    assert headline(None) == "none" and headline(True) == "true"
    assert headline(1234567) == "1,234,567" and headline(0.000123456) == "0.0001235"
    assert headline("x" * 41) == "x" * 37 + "…" and headline("short") == "short"
    assert headline({str(i): i for i in range(8)}) == "{0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, …}"
    assert headline([1]) == "1 item" and headline([]) == "0 items"
