"""index.html rendered from its template alone (no run): names, links, status, findings, costs, escaping, the
sandbox banner, and the history block from earlier run.json folders."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from bs4 import BeautifulSoup

from helpers import report
from helpers.runner.index import headline, render_index, sparkline
from helpers.runner.report_html import CSP
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
    first, second = cells(text).cells[:6], cells(text).cells[6:12]
    assert first[0] == "01_persona_enrichment"
    assert first[1] == "succeeded12.3 s, finished 2026-07-15 06:01"
    assert first[5] == "report · notebook"
    assert second[0] == "03_segment_overlap"
    # A failed job says what failed and what to do, as its page does, not the raw exception line.
    assert second[1].startswith("failed1.0 sThe job stopped with an error (ValueError: a < b & \"c\")")
    assert "The earlier successful report is still published" in second[1]
    assert second[5] == "— · notebook"
    assert '<tr class="succeeded">' in text and '<tr class="failed">' in text
    assert report.SANDBOX_BANNER not in text and 'class="sbx"' not in text


def test_without_headlines_plain_numbers_show_with_readable_names_and_markup_in_them_is_escaped():
    text = render_index(manifest())
    found = cells(text).cells[2]
    assert found == f"Profiles total: 5,000Verdict: {SCRIPT}"  # shown to the reader as text ...
    assert cells(text).scripts == 0  # ... never as an element
    assert "<script>" not in text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    # Ids, mappings of ids and the usage numbers are run.json's, not a finding.
    assert "personas" not in found and "tier_counts" not in found and "sandbox" not in found.lower()
    assert "a &lt; b &amp; &#34;c&#34;" in text  # error text is escaped too


def test_findings_are_the_recorded_headlines_with_the_data_period_and_the_run_costs_add_up():
    data = manifest()
    data["jobs"][0]["title"] = "01 · Persona enrichment"
    data["jobs"][0]["metrics"].update(
        headlines=["Next step: VIP: reward loyalty", "VIP customers hold 53% of predicted CLV", "third", "fourth"],
        period={"text": "snapshot of 15 Jul 2026"}, mavera_credits=900, klaviyo_requests=56)
    data["jobs"][1]["metrics"] = {"mavera_credits": 40.5, "klaviyo_requests": 267}
    page = BeautifulSoup(render_index(data), "html.parser")
    first = page.select("tr.succeeded td")
    assert first[0].get_text(" ", strip=True) == "01 · Persona enrichment 01_persona_enrichment"
    # The verdict first (a notebook's recorded ``verdict``), then the headlines; the next step on its own line,
    # with what it rests on, never folded away.
    assert [li.get_text() for li in first[2].select("li")] == [SCRIPT, "VIP customers hold 53% of predicted CLV",
                                                                "third"]
    assert first[2].select_one("p.next").get_text() == "Next step (evidence: your Klaviyo data): VIP: reward loyalty"
    assert first[2].select_one(".period").get_text() == "Data: snapshot of 15 Jul 2026"
    assert [td.get_text() for td in first[3:5]] == ["900", "56"]
    total = [td.get_text() for td in page.select("tr.total td")]
    assert total[0] == "Total for the run" and total[3:5] == ["940", "323"]


def test_a_verdict_that_is_also_the_first_headline_is_shown_once():
    data = manifest()
    verdict = "Email earns significantly more revenue per recipient because its orders are larger; " * 3
    data["jobs"][0]["metrics"].update(verdict=verdict.strip(), headlines=[
        "Verdict: " + verdict[:150].rsplit(" ", 1)[0] + "…", "click rate: SMS wins", "conversion rate: SMS wins"])
    page = BeautifulSoup(render_index(data), "html.parser")
    shown = [li.get_text() for li in page.select("tr.succeeded td")[2].select("li")]
    assert shown == [verdict.strip(), "click rate: SMS wins", "conversion rate: SMS wins"]


def test_the_page_loads_nothing_from_anywhere():
    page = BeautifulSoup(render_index(manifest()), "html.parser")
    assert page.select_one('meta[http-equiv="Content-Security-Policy"]')["content"] == CSP
    assert not page.select("script, link, img")


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


def day(root, date, sandbox, **metrics_by_notebook):
    folder = root / date
    folder.mkdir(parents=True)
    jobs = [{"notebook": stem, "status": "succeeded", "sandbox": sandbox, "metrics": metrics}
            for stem, metrics in metrics_by_notebook.items()]
    (folder / "run.json").write_text(json.dumps({"date": date, "sandbox": sandbox, "jobs": jobs}))
    (folder / "index.html").write_text("earlier")
    return {"date": date, "sandbox": sandbox, "jobs": jobs}


def test_history_shows_headline_numbers_per_date_of_the_same_kind_with_a_sparkline(tmp_path):
    day(tmp_path, "2026-07-13", True, **{"01_persona_enrichment": {"profiles_total": 4800, "mavera_credits": 900,
                                                                   "clv_at_risk_by_tier": {"VIP": 100.0, "Low": 20.0}},
                                         "02_flow_content_refresh": {"underperforming_message_ids": ["a", "b"],
                                                                     "mavera_credits": 100}})
    day(tmp_path, "2026-07-14", False, **{"01_persona_enrichment": {"profiles_total": 99999}})  # real: not this kind
    today = day(tmp_path, "2026-07-15", True, **{"01_persona_enrichment": {"profiles_total": 5000, "mavera_credits": 0,
                                                                           "clv_at_risk_by_tier": {"VIP": 150.0}},
                                                 "02_flow_content_refresh": {"underperforming_message_ids": ["a"],
                                                                             "mavera_credits": 12}})
    day(tmp_path, "2026-07-16", True, **{"01_persona_enrichment": {"profiles_total": 1}})  # later: not history yet
    page = BeautifulSoup(render_index(today, root=tmp_path), "html.parser")
    table = page.select("table")[1]
    head = [th.get_text() for th in table.select("th")]
    assert head == ["date", "Mavera credits", "Profiles", "CLV at risk", "Messages to rewrite"]
    rows = [[td.get_text() for td in tr.select("td")] for tr in table.select("tr")[1:]]
    assert rows[:2] == [["2026-07-13", "1,000", "4,800", "$120", "2"], ["2026-07-15", "12", "5,000", "$150", "1"]]
    assert table.select("a")[0]["href"] == "../2026-07-13/index.html"  # the earlier day's page, not this one
    assert rows[2][0] == "trend" and len(table.select("tr")[3].select("svg polyline")) == 4
    assert render_index(today, root=tmp_path / "empty").count("Earlier runs") == 0  # one day: no history block


def test_sparkline_draws_the_numbers_it_has_oldest_left():
    line = BeautifulSoup(sparkline([1.0, None, 3.0], width=90, height=22), "html.parser").select_one("polyline")
    assert line["points"] == "2.0,20.0 88.0,2.0"
    assert sparkline([5.0]) == "" and sparkline([None, None]) == ""
    assert BeautifulSoup(sparkline([2.0, 2.0]), "html.parser").select_one("polyline")["points"] == "2.0,20.0 88.0,20.0"


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


def test_several_runs_in_a_day_are_told_apart_and_the_day_counts_every_run():
    from helpers.runner.publish import count_run
    from helpers.runner.results import JobResult

    data = manifest()
    for job in data["jobs"]:
        job["metrics"]["mavera_credits"] = 0
    first = JobResult("01_persona_enrichment", "succeeded", "a.ipynb", "a.html", 1.0, None,
                      metrics={"mavera_credits": 900, "klaviyo_requests": 50, "next_step": "Reach the VIPs on SMS",
                               "evidence": "personas", "headlines": ["one"]},
                      started_at="2026-07-15T06:01:00+00:00", run="060100-aaaaaa")
    again = JobResult(**{**vars(first), "started_at": "2026-07-15T09:14:00+00:00", "run": "091400-bbbbbb"})
    count_run(data, first)
    count_run(data, again)  # the rerun replaced the report; its earlier credits were spent all the same
    data["jobs"][0].update(run="091400-bbbbbb", metrics=again.metrics)
    assert data["day_totals"] == {"runs": 2, "mavera_credits": 1800, "klaviyo_requests": 100}
    page = BeautifulSoup(render_index(data), "html.parser")
    runs = [[td.get_text() for td in tr.select("td")] for tr in page.select("tr.run-total")]
    assert [r[0] for r in runs] == ["Run of 06:01", "Run of 09:14"] and [r[3] for r in runs] == ["900", "900"]
    day = [td.get_text() for td in page.select("tr.total td")]
    assert day[0] == "Total for the day" and day[2] == "2 runs" and day[3] == "1,800"
    assert "run of 09:14" in page.select("tr.succeeded td")[1].get_text()
    step = page.select_one("tr.succeeded p.next").get_text()
    assert step == "Next step (directional: synthetic persona evidence): Reach the VIPs on SMS"
