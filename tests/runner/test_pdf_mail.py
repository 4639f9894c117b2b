"""``--pdf`` and ``--email-to`` on the fixture notebooks: the PDFs are opened and their pages counted, and a real
SMTP server on loopback (aiosmtpd) receives the summary mail, which the tests read back.

One module-scoped run (two fixture notebooks, PDFs on, one mail) is shared by the checks; the refusals
(no browser, no mail settings) stop before any job, and the unreachable server is a run of one tiny job.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import run
from helpers.runner import mail, pdf
from helpers.runner.cli import main
from helpers.runner.report_html import TEMPLATE_DIR
from tests.runner.support import FIXTURES, clean_env, quiet

pytestmark = pytest.mark.xdist_group("runner_pdf_mail")
DATE = "2026-07-15"
PASSWORD = "smtp-secret-Xy7q9"  # a fake: the test looks for it everywhere the run wrote or sent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Inbox:
    """aiosmtpd handler: keeps every message it receives, as (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mail_env(mp: pytest.MonkeyPatch, port: int) -> None:
    mp.setenv("WORKBOOKS_SMTP_HOST", "127.0.0.1")
    mp.setenv("WORKBOOKS_SMTP_PORT", str(port))
    mp.setenv("WORKBOOKS_SMTP_FROM", "reports@shop.example")
    mp.setenv("WORKBOOKS_SMTP_STARTTLS", "0")  # loopback test server without TLS


@pytest.fixture(scope="module")
def mailed(tmp_path_factory, smtp_server):
    inbox, port = smtp_server
    out = tmp_path_factory.mktemp("outputs")
    with clean_env(tmp_path_factory.mktemp("cache")) as mp:
        _mail_env(mp, port)
        result = run.run_jobs(notebooks_dir=FIXTURES, jobs=[1, 2], out=out, date=DATE, workers=1, echo=quiet,
                              parameters={"ratio": "1", "label": "00123"}, pdf=True,
                              email_to=["lead@shop.example, second@shop.example"])
    return result, inbox


def _pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def test_every_report_and_the_index_are_printed(mailed):
    result, _ = mailed
    assert result.ok and result.mail_error is None, result.mail_error
    for job in result.jobs:
        assert job.pdf == f"{job.notebook}.pdf"
        assert _pages(result.run_dir / job.pdf) >= 1
    assert result.index_pdf == result.run_dir / "index.pdf"
    assert _pages(result.index_pdf) >= 1
    recorded = {j["notebook"]: j["pdf"] for j in json.loads(result.manifest.read_text())["jobs"]}
    assert recorded == {j.notebook: j.pdf for j in result.jobs}
    assert 'href="01_succeeds.pdf"' in result.index.read_text()


def test_a_later_run_without_pdf_leaves_no_stale_pdf(mailed, tmp_path_factory):
    """The same day run again without --pdf: the index and the rerun job's report changed, so their PDFs are
    retired (into previous/), the other job's stays with its report."""
    import shutil

    result, _ = mailed
    out = tmp_path_factory.mktemp("rerun")
    shutil.copytree(result.run_dir, out / DATE)
    with clean_env(tmp_path_factory.mktemp("cache")):
        again = run.run_jobs(notebooks_dir=FIXTURES, jobs=[1], out=out, date=DATE, workers=1, echo=quiet,
                             parameters={"ratio": "1", "label": "00123"})
    day = again.run_dir
    assert again.ok and again.index_pdf is None
    assert not (day / "index.pdf").exists() and not (day / "01_succeeds.pdf").exists()
    assert (day / "02_records_metrics.pdf").exists()
    assert {j["notebook"]: j["pdf"] for j in json.loads(again.manifest.read_text())["jobs"]} == {
        "01_succeeds": None, "02_records_metrics": "02_records_metrics.pdf"}
    assert list(day.glob("previous/*/index.pdf"))  # retired, never deleted
    assert 'href="01_succeeds.pdf"' not in again.index.read_text()


def test_pdf_pages_are_a4_numbered_and_carry_no_path(mailed):
    from pypdf import PdfReader

    result, _ = mailed
    reader = PdfReader(result.run_dir / "01_succeeds.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)  # A4 in mm
    text = "".join(page.extract_text() for page in reader.pages)
    assert f"Page 1 of {len(reader.pages)}" in text
    for path in result.run_dir.glob("*.pdf"):
        data = path.read_bytes()
        assert str(result.run_dir).encode() not in data and b"workbooks-pdf-" not in data, path.name


def test_a_long_page_is_numbered_on_every_page(tmp_path):
    rows = "".join(f"<tr><td>row {i}</td><td>{'a long cell that must wrap, not run off the page ' * 6}</td></tr>"
                   for i in range(120))
    css = (TEMPLATE_DIR / "report" / "report.css").read_text()
    page = (f"<!doctype html><html><head><style>{css}</style></head><body><div class='workbooks-table'><table>{rows}</table></div></body></html>")
    pdf.html_to_pdf(page, tmp_path / "long.pdf")
    from pypdf import PdfReader

    reader = PdfReader(tmp_path / "long.pdf")
    assert len(reader.pages) >= 3
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in reader.pages[-1].extract_text()
    last = " ".join(reader.pages[-1].extract_text().split())
    assert "row 119" in last and "off the page" in last.replace("\ufb00", "ff")  # the last row, whole


def test_one_mail_reaches_every_address_and_reads_as_a_summary(mailed):
    result, inbox = mailed
    assert len(inbox.messages) == 1
    to, message = inbox.messages[0]
    assert to == ["lead@shop.example", "second@shop.example"]
    assert message["Subject"] == "Klaviyo × Mavera reports, 15 Jul 2026: 2 of 2 ready"
    text = message.get_body(("plain",)).get_content()
    html_body = message.get_body(("html",)).get_content()
    for job in result.jobs:
        title = job.title or job.notebook
        assert title in text and title in html_body
    assert "Mavera credits spent by this run" in text
    names = sorted(part.get_filename() for part in message.iter_attachments())
    assert names == ["01_succeeds.pdf", "02_records_metrics.pdf", "index.pdf"]
    for part in message.iter_attachments():
        assert part.get_content().startswith(b"%PDF")


def test_over_the_size_cap_the_mail_lists_where_the_files_are(mailed):
    result, _ = mailed
    smallest = min(p.stat().st_size for p in result.run_dir.glob("*.pdf"))
    message = mail.compose(result, ["lead@shop.example"], "reports@shop.example", limit=smallest - 1)
    assert list(message.iter_attachments()) == []
    text = message.get_body(("plain",)).get_content()
    assert "Too large to attach" in text and str(result.run_dir / "index.pdf") in text


def test_without_pdf_the_index_page_is_attached(mailed):
    result, _ = mailed
    plain = run.RunResult(date=result.date, sandbox=False, run_dir=result.run_dir, jobs=result.jobs)
    message = mail.compose(plain, ["lead@shop.example"], "reports@shop.example", account="acme")
    assert [p.get_filename() for p in message.iter_attachments()] == ["index.html"]
    assert message["Subject"].startswith("Klaviyo × Mavera reports (acme), 15 Jul 2026")


def test_no_address_phone_or_key_in_a_mail():
    summary = mail.job_summary({
        "title": "Job", "status": "succeeded",
        "metrics": {"headlines": ["Ask ann@shop.example or +44 20 7946 0958 about pk_live_abcdefgh123"],
                    "next_step": "Next step: call +1 (555) 010-9999"},
    })
    words = " ".join(summary["findings"]) + summary["next_step"]
    assert "ann@shop.example" not in words and "7946" not in words and "abcdefgh123" not in words
    assert "010-9999" not in words and summary["next_step"].startswith("call")


def test_unreachable_server_is_one_line_and_exit_1_after_publishing(tmp_path, capsys):
    out = tmp_path / "out"
    with clean_env(tmp_path / "cache") as mp:
        _mail_env(mp, _free_port())  # nothing listens there
        mp.setenv("WORKBOOKS_SMTP_USER", "reports")
        mp.setenv("WORKBOOKS_SMTP_PASSWORD", PASSWORD)
        code = main(["--notebooks", str(FIXTURES), "--jobs", "1", "--out", str(out), "--date", DATE,
                     "--email-to", "lead@shop.example"])
    captured = capsys.readouterr()
    assert code == 1
    lines = [line for line in captured.err.splitlines() if "mail" in line]
    assert len(lines) == 1 and "was not sent" in lines[0], captured.err
    assert (out / DATE / "01_succeeds.html").is_file()  # the report is published all the same
    assert PASSWORD not in captured.out + captured.err
    assert not any(PASSWORD.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file())


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, "WORKBOOKS_SMTP_HOST is not set"),
    ({"WORKBOOKS_SMTP_HOST": "127.0.0.1", "WORKBOOKS_SMTP_FROM": "not an address"}, "is not a mail address"),
    ({"WORKBOOKS_SMTP_HOST": "mail.example", "WORKBOOKS_SMTP_FROM": "r@shop.example", "WORKBOOKS_SMTP_USER": "u",
      "WORKBOOKS_SMTP_PASSWORD": PASSWORD, "WORKBOOKS_SMTP_STARTTLS": "0"}, "unencrypted"),
])
def test_bad_mail_settings_stop_the_run_before_any_job(tmp_path, capsys, variables, expected):
    out = tmp_path / "out"
    with clean_env(tmp_path / "cache") as mp:
        for name in ("WORKBOOKS_SMTP_HOST", "WORKBOOKS_SMTP_FROM", "WORKBOOKS_SMTP_PORT"):
            mp.delenv(name, raising=False)
        for name, value in variables.items():
            mp.setenv(name, value)
        code = main(["--notebooks", str(FIXTURES), "--jobs", "1", "--out", str(out), "--date", DATE,
                     "--email-to", "lead@shop.example"])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err
    assert PASSWORD not in err
    assert not (out / DATE).exists()


def test_bad_address_stops_the_run_before_any_job(tmp_path, capsys):
    with clean_env(tmp_path / "cache"):
        code = main(["--notebooks", str(FIXTURES), "--jobs", "1", "--out", str(tmp_path / "out"),
                     "--email-to", "lead@shop.example,nobody"])
    err = capsys.readouterr().err
    assert code == 2 and "'nobody' is not a mail address" in err


def test_pdf_without_a_browser_says_how_to_get_one_before_any_job(tmp_path, capsys):
    with clean_env(tmp_path / "cache") as mp:
        mp.setenv(pdf.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
        code = main(["--notebooks", str(FIXTURES), "--jobs", "1", "--out", str(tmp_path / "out"), "--pdf"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "apt-get install chromium" in err, err
    assert not (tmp_path / "out").exists()


def test_mail_only_mails_the_published_day_without_running_a_job(mailed, smtp_server, tmp_path, capsys):
    result, inbox = mailed
    _, port = smtp_server
    before = len(inbox.messages)
    with clean_env(tmp_path / "cache") as mp:
        _mail_env(mp, port)
        code = main(["--mail-only", "--out", str(result.run_dir.parent), "--date", DATE,
                     "--email-to", "boss@shop.example"])
    assert code == 0, capsys.readouterr().err
    assert len(inbox.messages) == before + 1
    to, message = inbox.messages[-1]
    assert to == ["boss@shop.example"] and "2 of 2 ready" in message["Subject"]
    assert sorted(p.get_filename() for p in message.iter_attachments()) == [
        "01_succeeds.pdf", "02_records_metrics.pdf", "index.pdf"]
