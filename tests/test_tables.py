"""helpers.report.tables (and Job.table): frames as tables a reader can read, checked in the HTML they produce."""

from __future__ import annotations

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from helpers import report
from helpers.report import tables
from helpers.report.currency import Currency

EUR = Currency("EUR", "from the order events")


def parse(page: str):
    soup = BeautifulSoup(page, "html.parser")
    head = [th.get_text() for th in soup.select("thead th")]
    rows = [[td.get_text() for td in tr.select("td")] for tr in soup.select("tbody tr")]
    note = soup.select_one(f".{tables.NOTE_CLASS}")
    return soup, head, rows, note.get_text() if note else None


def test_headers_pick_and_name_columns_and_each_quantity_has_one_format():
    df = pd.DataFrame({"name": ["A", "B"], "recipients": [1845, 12], "click_rate": [0.0345, 0.1],
                       "revenue_per_recipient": [0.7143, 2], "p": [0.0000002, 0.2], "internal_id": ["x", "y"]})
    page = tables.table_html(df, headers={"name": "Campaign", "recipients": "Recipients", "click_rate": "Click rate",
                                          "revenue_per_recipient": "Revenue per recipient", "p": "p"},
                             formats={"recipients": "count", "click_rate": "percent", "revenue_per_recipient": "money",
                                      "p": "p_value"}, currency=EUR)
    _, head, rows, note = parse(page)
    assert head == ["Campaign", "Recipients", "Click rate", "Revenue per recipient", "p"]  # internal_id left out
    assert rows == [["A", "1,845", "3.5%", "€0.71", "< 0.001"], ["B", "12", "10.0%", "€2.00", "0.20"]]
    assert note is None  # every row shown, no file named


def test_the_default_index_is_dropped_and_a_label_index_is_the_first_column():
    plain = pd.DataFrame({"size": [3]})
    assert parse(tables.table_html(plain))[1] == ["Size"]
    labelled = pd.DataFrame({"size": [3, 4]}, index=pd.Index(["VIP", "Regular"], name="tier"))
    _, head, rows, _ = parse(tables.table_html(labelled, formats={"size": "count"}))
    assert head == ["Tier", "Size"] and rows == [["VIP", "3"], ["Regular", "4"]]
    soup = parse(tables.table_html(labelled))[0]  # pandas' class names, for readers of the saved notebook
    assert [th["class"] for th in soup.select("thead th")] == [["index_name"], ["col_heading"]]


def test_a_capped_table_says_how_many_rows_it_shows_and_links_the_file_with_all():
    df = pd.DataFrame({"n": range(58)})
    soup, _, rows, note = parse(tables.table_html(df, max_rows=10, csv_href="05_x/campaigns.csv"))
    assert len(rows) == 10
    assert note == "Showing 10 of 58 — all in campaigns.csv"
    assert soup.select_one(f".{tables.NOTE_CLASS} a")["href"] == "05_x/campaigns.csv"
    _, _, _, note = parse(tables.table_html(df.head(3), csv_href="05_x/campaigns.csv"))
    assert note == "Data: campaigns.csv"


def test_missing_values_text_in_number_columns_and_markup_are_shown_safely():
    df = pd.DataFrame({"who": ["<script>x()</script>", None], "rate": [float("nan"), "n/a"]})
    page = tables.table_html(df, formats={"rate": "percent"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert parse(page)[2] == [["<script>x()</script>", "–"], ["–", "n/a"]]


def test_rows_of_different_quantities_format_by_row():
    df = pd.DataFrame({"email": [0.0242, 0.714], "sms": [0.04, 0.387]},
                      index=pd.Index(["click_rate", "revenue_per_recipient"], name="metric"))
    by_row = tables.ByRow({"revenue_per_recipient": "money"}, default="percent2")
    rows = parse(tables.table_html(df, formats={"email": by_row, "sms": by_row}))[2]
    assert rows == [["click_rate", "2.42%", "4.00%"], ["revenue_per_recipient", "$0.71", "$0.39"]]


def test_by_row_can_follow_a_column_and_text_rows_wrap():
    """02's tests table: one row a rate, the next revenue per recipient, said by its ``metric`` column."""
    df = pd.DataFrame({"metric": ["click_rate", "revenue_per_recipient"], "rate": [0.0242, 0.8226]})
    by_metric = tables.ByRow({"revenue_per_recipient": "money"}, default="percent2", by="metric")
    rows = parse(tables.table_html(df, formats={"rate": by_metric}, currency=Currency("EUR", "test")))[2]
    assert rows == [["click_rate", "2.42%"], ["revenue_per_recipient", "€0.82"]]  # never "82.26%"
    turned = pd.DataFrame({"VIP": [1200.0, "CA 30%, NY 20%, TX 10%"]}, index=pd.Index(["CLV", "top regions"], name="m"))
    soup = parse(tables.table_html(turned, formats={"VIP": tables.ByRow({"CLV": "money0", "top regions": "text"})}))[0]
    cells = soup.select("td")
    assert "nowrap" in cells[1]["style"] and "nowrap" not in cells[3]["style"]  # the amount holds, the text wraps


def test_wide_tables_sit_in_a_box_that_scrolls_and_numbers_do_not_break():
    soup = parse(tables.table_html(pd.DataFrame({"amount": [11054.0]}), formats={"amount": "money0"}))[0]
    box = soup.select_one(f"div.{tables.TABLE_CLASS}")
    assert "overflow-x:auto" in box["style"] and box.find("table")
    assert "white-space:nowrap" in soup.select_one("td")["style"] and soup.select_one("td").get_text() == "$11,054"


def test_wrong_names_are_refused_before_anything_is_shown():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(KeyError, match="not in the frame"):
        tables.table_html(df, headers={"b": "B"})
    with pytest.raises(ValueError, match="unknown format 'percentage'"):
        tables.table_html(df, formats={"a": "percentage"})
    # A column dropped because it came back empty (e.g. no rewrites in this run) leaves its format unused.
    assert parse(tables.table_html(df, formats={"a": "count", "dropped": "count"}))[2] == [["1"]]


def test_job_table_saves_the_csv_it_links_and_shows_no_value_after_it(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False, **kw: shown.append(obj))
    job = report.Job("05_x", tmp_path / "05_x", currency=EUR)
    job.artifacts.mkdir()
    df = pd.DataFrame({"name": [f"c{i}" for i in range(12)], "revenue": [1.5] * 12})
    assert job.table(df, csv="campaigns.csv", formats={"revenue": "money"}) is None
    assert pd.read_csv(job.artifacts / "campaigns.csv").shape == (12, 2)  # every row, no index column
    _, _, rows, note = parse(shown[0]["text/html"])
    assert len(rows) == 10 and rows[0] == ["c0", "€1.50"] and note == "Showing 10 of 12 — all in campaigns.csv"
    assert 'href="05_x/campaigns.csv"' in shown[0]["text/html"]  # relative to the report beside the folder
    assert "c0" in shown[0]["text/plain"]


def test_p_values_read_as_a_reader_writes_them_never_in_e_notation():
    from helpers.analysis.wording import p_text, timeframe_text

    assert [p_text(p) for p in (1.5e-33, 0.0004, 0.004, 0.0312, 0.5)] == [
        "p < 0.001", "p < 0.001", "p = 0.004", "p = 0.03", "p = 0.50"]
    assert timeframe_text("last_90_days") == "the last 90 days" and timeframe_text("last_month") == "last month"


def test_a_parameter_named_in_the_markdown_reads_as_what_it_meant_in_the_run():
    import nbformat

    from helpers.runner.report_html import plain_words

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("min_recipients: int = 500  # floor\ntimeframe = 'last_90_days'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_markdown_cell(
        "Messages with at least `min_recipients` over `timeframe`; `weighted_support` per bundle; see `tests.csv`.")]
    nb.metadata["papermill"] = {"parameters": {"min_recipients": 1000}}  # a -p override wins over the default
    plain_words(nb)
    assert nb.cells[1].source == ("Messages with at least 1,000 recipients over the last 90 days; customers backing it "
                                  "per bundle; see `tests.csv`.")
