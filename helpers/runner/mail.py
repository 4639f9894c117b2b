"""The run's summary by mail (``python -m helpers.run --email-to ADDRESS[,ADDRESS]``), sent once when the run ends.

One message per run, written for the manager it is forwarded to: the subject says the date (and account) and
how many reports are ready; the text and HTML bodies give each job's status, what it found (the headlines the
notebook recorded) and its next step with how strong the evidence is. Attached: the PDFs when the run printed
them (``--pdf``), else ``index.html``, up to :data:`MAX_ATTACHMENT_BYTES`; past that the mail lists where the
files are instead.

Standard library only (``smtplib``, ``email``). Settings: ``helpers.config.SmtpSettings`` (``WORKBOOKS_SMTP_*``),
checked before any job by :func:`check`. Nothing personal or secret goes out: every text passes
``helpers.redaction.redact`` and anything shaped like a mail address or a phone number is masked (the
reports carry aggregates only; this is the net). A mail that cannot be sent is one line returned by
:func:`send_run`; the reports are already published by then.
"""

from __future__ import annotations

import datetime as dt
import html
import mimetypes
import re
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from helpers import config
from helpers.redaction import redact
from helpers.runner.report_html import failure_sentence
from helpers.runner.results import RunError, RunResult

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # most mail servers refuse messages over 10–25 MB (base64 adds a third)
SMTP_TIMEOUT = 60.0
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
_STATUS = {
    "succeeded": "ready",
    "partial": "ready; a Mavera step did not run",
    "failed": "not finished",
}
EVIDENCE = {
    "data": "evidence: your Klaviyo data",
    "personas": "evidence: directional, from synthetic personas",
}


# ---------------------------------------------------------------------------------------------- before the run


def recipients(values: Iterable[str]) -> list[str]:
    """``--email-to a@x.example,b@y.example`` (the flag may repeat) as a list of addresses, in order, once each."""
    found: list[str] = []
    for value in values:
        for part in str(value).split(","):
            address = part.strip()
            if address and address not in found:
                found.append(address)
    return found


def check(email_to: Iterable[str]) -> list[str]:
    """The addresses of ``--email-to``, or a :class:`RunError` before any job: bad addresses, bad or missing
    ``WORKBOOKS_SMTP_*`` settings, one sentence each."""
    addresses = recipients(email_to)
    problems = [p for a in addresses if (p := config.email_address_problem("--email-to", a))]
    if not addresses:
        problems.append("--email-to: give at least one address, e.g. --email-to lead@shop.example")
    problems += config.smtp_problems()
    if problems:
        raise RunError(" ".join(problems))
    return addresses


# ---------------------------------------------------------------------------------------------- the message


def _clean(text: Any) -> str:
    """Text safe to mail: keys redacted, addresses and phone numbers masked."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[address]", redact(str(text))))


def _day(date: str) -> str:
    try:
        day = dt.date.fromisoformat(date)
        return f"{day.day} {day:%b %Y}"
    except ValueError:
        return date


def job_summary(job: dict[str, Any]) -> dict[str, Any]:
    """One job as the mail shows it: title, status in words, findings, next step and its evidence."""
    metrics = job.get("metrics") or {}
    headlines = [str(h) for h in metrics.get("headlines") or [] if str(h).strip()]
    next_step = str(metrics.get("next_step") or "").strip()
    if not next_step:  # notebooks recorded before next_step: their headlines open with it
        next_step = next((h for h in headlines if h.lower().startswith("next step")), "")
    findings = [h for h in headlines if h != next_step]
    status = job.get("status", "failed")
    error = failure_sentence(job["error"]) if job.get("error") else str(job.get("missing") or "")  # partial: what
    return {
        "title": _clean(job.get("title") or job.get("notebook", "?")),
        "status": _STATUS.get(status, status),
        "ok": status in ("succeeded", "partial"),
        "error": _clean(error),
        "findings": [_clean(f) for f in findings[:3]],
        "next_step": _clean(re.sub(r"(?i)^next step:\s*", "", next_step)),
        "evidence": EVIDENCE.get(str(metrics.get("evidence") or "data"), EVIDENCE["data"]),
        "credits": float(metrics.get("mavera_credits") or 0),
    }


def subject(result: RunResult, account: str | None) -> str:
    ready = sum(1 for j in result.jobs if j.status in ("succeeded", "partial"))
    who = f" ({account})" if account else ""
    sandbox = " — sandbox data" if result.sandbox else ""
    return f"Klaviyo × Mavera reports{who}, {_day(result.date)}: {ready} of {len(result.jobs)} ready{sandbox}"


def _text_body(result: RunResult, jobs: list[dict[str, Any]], files: list[str], listed: list[str]) -> str:
    lines = [f"Reports of {_day(result.date)}" + (" (sandbox data: a synthetic shop, not your account)"
                                                  if result.sandbox else ""), ""]
    for job in jobs:
        lines.append(f"{job['title']}: {job['status']}")
        if job["error"]:
            lines.append(f"  {job['error']}")
        lines += [f"  - {f}" for f in job["findings"]]
        if job["next_step"]:
            lines.append(f"  Next step ({job['evidence']}): {job['next_step']}")
        lines.append("")
    credits = sum(j["credits"] for j in jobs)
    lines.append(f"Mavera credits spent by this run: {credits:,.0f}.")
    if files:
        lines.append("Attached: " + ", ".join(files) + ".")
    if listed:
        lines.append("Too large to attach; the files are on the machine that ran the reports:")
        lines += [f"  {p}" for p in listed]
    return "\n".join(lines) + "\n"


def _html_body(result: RunResult, jobs: list[dict[str, Any]], files: list[str], listed: list[str]) -> str:
    e = html.escape
    parts = [f"<h2 style=\"font-size:18px\">Reports of {e(_day(result.date))}</h2>"]
    if result.sandbox:
        parts.append('<p style="background:#fef3c7;color:#78350f;padding:6px 10px">Sandbox data: a synthetic shop, '
                     "not your Klaviyo account.</p>")
    for job in jobs:
        colour = "#15803d" if job["ok"] else "#b91c1c"
        parts.append(f"<h3 style=\"font-size:16px;margin-bottom:4px\">{e(job['title'])} — "
                     f"<span style=\"color:{colour}\">{e(job['status'])}</span></h3>")
        if job["error"]:
            parts.append(f"<p>{e(job['error'])}</p>")
        if job["findings"]:
            parts.append("<ul>" + "".join(f"<li>{e(f)}</li>" for f in job["findings"]) + "</ul>")
        if job["next_step"]:
            parts.append(f"<p><b>Next step</b> <i>({e(job['evidence'])})</i>: {e(job['next_step'])}</p>")
    credits = sum(j["credits"] for j in jobs)
    parts.append(f"<p style=\"color:#555\">Mavera credits spent by this run: {credits:,.0f}.</p>")
    if files:
        parts.append(f"<p style=\"color:#555\">Attached: {e(', '.join(files))}.</p>")
    if listed:
        parts.append("<p>Too large to attach; the files are on the machine that ran the reports:</p><ul>"
                     + "".join(f"<li><code>{e(p)}</code></li>" for p in listed) + "</ul>")
    return ("<!doctype html><html><body style=\"font-family:Arial,Helvetica,sans-serif;color:#111;"
            f"max-width:720px\">{''.join(parts)}</body></html>")


def attachments(result: RunResult, limit: int = MAX_ATTACHMENT_BYTES) -> tuple[list[Path], list[Path]]:
    """(files to attach, files too large to attach): the index first, then each job's report; PDFs when the
    run printed them, else ``index.html``."""
    run_dir = result.run_dir
    if result.index_pdf is not None:
        wanted = [result.index_pdf, *(run_dir / j.pdf for j in result.jobs if j.pdf)]
    else:
        wanted = [run_dir / "index.html"]
    attached: list[Path] = []
    listed: list[Path] = []
    used = 0
    for path in wanted:
        if not path.is_file():
            continue
        size = path.stat().st_size
        if used + size <= limit:
            attached.append(path)
            used += size
        else:
            listed.append(path)
    return attached, listed


def compose(result: RunResult, to: Sequence[str], sender: str, account: str | None = None,
            limit: int = MAX_ATTACHMENT_BYTES) -> EmailMessage:
    """The summary message of ``result`` (not sent)."""
    jobs = [job_summary(vars(job)) for job in result.jobs]
    attached, listed = attachments(result, limit)
    names = [p.name for p in attached]
    message = EmailMessage()
    message["Subject"] = subject(result, account)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message.set_content(_text_body(result, jobs, names, [str(p) for p in listed]))
    message.add_alternative(_html_body(result, jobs, names, [str(p) for p in listed]), subtype="html")
    for path in attached:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, sub = kind.split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return message


# ---------------------------------------------------------------------------------------------- sending


def send(message: EmailMessage, settings: config.SmtpSettings) -> None:
    """Hand ``message`` to the SMTP server (STARTTLS unless switched off; SMTPS on port 465)."""
    context = ssl.create_default_context()
    if settings.implicit_tls:
        server: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT)
    with server:
        if settings.starttls and not settings.implicit_tls:
            server.starttls(context=context)
        if settings.user and settings.password:
            server.login(settings.user, settings.password)
        server.send_message(message)


def send_run(result: RunResult, to: Sequence[str], account: str | None = None,
             limit: int = MAX_ATTACHMENT_BYTES) -> str | None:
    """Compose and send the run's summary; None when the server took it, else one line saying why not
    (never a secret)."""
    try:
        settings = config.SmtpSettings.from_env()
        send(compose(result, to, settings.sender, account, limit), settings)
    except (OSError, config.ConfigError) as exc:  # smtplib's and ssl's errors, timeouts: all OSErrors
        why = str(exc).strip() or type(exc).__name__
        return redact(f"the summary mail to {', '.join(to)} was not sent ({type(exc).__name__}: {why[:200]}); "
                      f"the reports are in {result.run_dir}")
    return None
