"""The day's ``index.html``, in a business reader's terms: per job what it found (the two or three headline
sentences each notebook records, with names, not ids), what the run cost (Mavera credits, Klaviyo requests)
and, from the earlier ``run.json`` of the same kind under the same output root, the headline numbers per
date with a sparkline each.

The markup lives in ``templates/index.html.j2``; this module only turns run.json entries into plain
values for it. Autoescaping is on, so a metric or error text can never inject markup. The page loads
nothing: inline styles and SVG, and a Content-Security-Policy that forbids the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from helpers import report
from helpers.report import earlier_runs
from helpers.runner.report_html import CSP, failure_sentence

TEMPLATE = "index.html.j2"


@cache
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("helpers.runner", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field is an error, not an empty cell
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE)


def headline(value: Any) -> str:
    """A metric as a short line of text: counts with separators, long strings cut, lists counted."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:37] + "…"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {headline(v)}" for k, v in list(value.items())[:6])
        return "{" + inner + (", …" if len(value) > 6 else "") + "}"
    if isinstance(value, list):
        return f"{len(value)} item" + ("" if len(value) == 1 else "s")
    return str(value)


# Metrics every notebook records for the run, or that only the runner and history read: never a "finding".
_USAGE = {"klaviyo_requests", "mavera_credits", "sandbox", "headlines", "period", "currency", report.MISSING_RECORD}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


EVIDENCE = {
    "data": "evidence: your Klaviyo data",
    "personas": "directional: synthetic persona evidence",
}


def _findings(metrics: dict[str, Any]) -> list[str]:
    """The verdict a notebook recorded (05's ``verdict``) and its headlines; for a notebook that records
    none, its plain numbers with readable names (``profiles_total: 5,000`` → ``Profiles total: 5,000``);
    ids, lists and mappings stay in run.json."""
    headlines = metrics.get("headlines")
    if isinstance(headlines, list) and headlines:
        verdict = metrics.get("verdict")
        lines = [str(verdict)] if isinstance(verdict, str) and verdict.strip() else []
        lines += [str(h) for h in headlines if not _repeats(str(h), lines) and not str(h).lower().startswith("next step")]
        return lines[:3]
    plain = [(k, v) for k, v in metrics.items() if k not in _USAGE and isinstance(v, int | float | str | bool)
             and not k.endswith(("_id", "_ids"))]
    return [f"{k.replace('_', ' ').capitalize()}: {headline(v)}" for k, v in plain[:3]]


def _repeats(headline: str, shown: list[str]) -> bool:
    """Whether a headline says again what is shown: 05's first finding is its verdict ("Verdict: …", shortened)."""
    said = re.sub(r"(?i)^verdict:\s*", "", headline).rstrip("…").strip()
    return any(line.startswith(said) for line in shown)


def _when(stamp: str | None) -> str:
    """``2026-07-15T06:01:02+00:00`` → ``2026-07-15 06:01``: the minute is enough for a reader."""
    text = str(stamp or "")
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def next_step(metrics: dict[str, Any]) -> tuple[str | None, str]:
    """(the recorded next step, what it rests on in words); a next step recorded only as a headline
    (reports made before ``next_step`` was recorded) is found there."""
    step = metrics.get("next_step")
    if not isinstance(step, str) or not step.strip():
        headlines = metrics.get("headlines") if isinstance(metrics.get("headlines"), list) else []
        old = next((str(h) for h in headlines if str(h).lower().startswith("next step")), None)
        step = old.split(":", 1)[1].strip() if old and ":" in old else None
    evidence = str(metrics.get("evidence") or "data")
    return step, EVIDENCE.get(evidence, EVIDENCE["data"])


def _clock(stamp: str | None) -> str:
    """``2026-07-15T09:14:02+02:00`` → ``09:14``."""
    text = str(stamp or "")
    return text[11:16] if len(text) >= 16 and text[10] == "T" else ""


def _row(job: dict[str, Any], run_times: dict[str, str] | None = None) -> dict[str, Any]:
    kept = job.get("previous_success")
    metrics = job.get("metrics") or {}
    if job.get("status") in ("failed", "partial") and kept:
        metrics = kept.get("metrics") or metrics  # what the still-published report found
    usage = job.get("metrics") or {}
    return {
        "notebook": job.get("notebook", "?"),
        "title": job.get("title") or job.get("notebook", "?"),
        "status": job.get("status", "?"),
        "sandbox": bool(job.get("sandbox")),
        "error": failure_sentence(job["error"]) if job.get("error") else None,
        "missing": job.get("missing") if job.get("status") == "partial" else None,
        "kept": {"html": kept.get("html"), "ipynb": kept.get("ipynb"),
                 "what": "partial" if kept.get("status") == "partial" else "successful"} if kept else None,
        "seconds": f"{float(job.get('seconds') or 0):.1f}",
        "finished_at": _when(job.get("finished_at")),
        "html": job.get("html"),
        "ipynb": job.get("ipynb"),
        "pdf": job.get("pdf"),
        "findings": _findings(metrics),
        "next_step": next_step(metrics)[0],
        "evidence": next_step(metrics)[1],
        "run_time": (run_times or {}).get(str(job.get("run"))),
        "period": (metrics.get("period") or {}).get("text") if isinstance(metrics.get("period"), dict) else None,
        "credits": f"{_number(usage.get('mavera_credits')):,.0f}",
        "requests": f"{_number(usage.get('klaviyo_requests')):,.0f}",
    }


# ---------------------------------------------------------------------------------------------- history


@dataclass(frozen=True)
class Trend:
    """One headline number followed across runs: its column label and how to read it from a job's metrics."""

    label: str
    notebook: str | None  # None: summed over the day's jobs
    read: Callable[[dict[str, Any]], float | None]


def _length(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda m: float(len(m[key])) if isinstance(m.get(key), list) else None


def _value(key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda m: _number(m[key]) if isinstance(m.get(key), int | float) else None


def _segment_issues(m: dict[str, Any]) -> float | None:
    keys = ("redundant_pairs", "nested_pairs", "tiny_segments")
    return float(sum(len(m[k]) for k in keys)) if all(isinstance(m.get(k), list) for k in keys) else None


def _risk(m: dict[str, Any]) -> float | None:
    risk = m.get("clv_at_risk_by_tier")
    return float(sum(_number(v) for v in risk.values())) if isinstance(risk, dict) and risk else None


def _top_lift(m: dict[str, Any]) -> float | None:
    pairs = m.get("top_pairs")
    return _number(pairs[0][2]) if isinstance(pairs, list) and pairs and len(pairs[0]) > 2 else None


def _sms_wins(m: dict[str, Any]) -> float | None:
    won = m.get("winner_by_metric")
    return float(sum(1 for v in won.values() if v == "sms")) if isinstance(won, dict) and won else None


TRENDS: tuple[Trend, ...] = (
    Trend("Mavera credits", None, _value("mavera_credits")),
    Trend("Klaviyo requests", None, _value("klaviyo_requests")),
    Trend("Profiles", "01_persona_enrichment", _value("profiles_total")),
    Trend("CLV at risk", "01_persona_enrichment", _risk),
    Trend("Messages to rewrite", "02_flow_content_refresh", _length("underperforming_message_ids")),
    Trend("Segments to simplify", "03_segment_overlap", _segment_issues),
    Trend("Orders analysed", "04_product_affinity_focus_group", _value("orders_analyzed")),
    Trend("Top pair lift", "04_product_affinity_focus_group", _top_lift),
    Trend("Metrics SMS wins (of 3)", "05_sms_vs_email_testing", _sms_wins),
)


def _day_values(manifest: dict[str, Any]) -> dict[str, float | None]:
    """The trend numbers of one day: each job's latest successful report (a failed rerun's kept one)."""
    metrics = {}
    for job in manifest["jobs"]:
        good = earlier_runs.succeeded_entry(job)
        if good is not None:
            metrics[job.get("notebook")] = good.get("metrics") or {}
    values: dict[str, float | None] = {}
    for trend in TRENDS:
        if trend.notebook is None:
            read = [trend.read(m) for m in metrics.values()]
            values[trend.label] = sum(v for v in read if v is not None) if any(v is not None for v in read) else None
        else:
            values[trend.label] = trend.read(metrics[trend.notebook]) if trend.notebook in metrics else None
    return values


def sparkline(values: Sequence[float | None], width: int = 90, height: int = 22) -> str:
    """An inline SVG polyline of ``values`` (gaps skipped), oldest left; '' with fewer than two numbers."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span = (high - low) or 1.0
    step = (width - 4) / max(len(values) - 1, 1)
    xy = " ".join(f"{2 + i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in points)
    last_x, last_y = xy.rsplit(" ", 1)[-1].split(",")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="trend over {len(points)} runs"><polyline fill="none" stroke="#1d4ed8" '
            f'stroke-width="1.5" points="{xy}"/><circle cx="{last_x}" cy="{last_y}" r="2" fill="#1d4ed8"/></svg>')


def _fmt(label: str, value: float | None, currency: str | None) -> str:
    if value is None:
        return "–"
    if label == "CLV at risk":
        from helpers.report.currency import Currency

        return Currency(currency or "USD", "").format(value, 0)
    if label == "Top pair lift":
        return f"{value:.1f}×"
    return f"{value:,.0f}"


def history(root: Path, date: str, sandbox: bool) -> dict[str, Any] | None:
    """The history block: headline numbers per date (this run's kind, up to ``date``) and a sparkline per
    column, or None with fewer than two dates."""
    days = earlier_runs.manifests(root, sandbox=sandbox, until=date)
    if len(days) < 2:
        return None
    values = [_day_values(day) for day in days]
    labels = [t.label for t in TRENDS if any(v[t.label] is not None for v in values)]
    currency = next((j.get("metrics", {}).get("currency") for d in reversed(days) for j in d["jobs"]
                     if isinstance(j.get("metrics"), dict) and isinstance(j["metrics"].get("currency"), str)), None)
    rows = []
    for day, numbers in zip(days, values, strict=True):
        index = root / day["date"] / "index.html"
        href = None if day["date"] == date or not index.is_file() else f"../{day['date']}/index.html"
        rows.append({"date": day["date"], "href": href,
                     "cells": [_fmt(label, numbers[label], currency) for label in labels]})
    lines = [sparkline([v[label] for v in values]) for label in labels]
    return {"labels": labels, "rows": rows, "sparklines": lines}


def _runs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The day's runs, oldest first, each with its label (its start time) and what it spent. From run.json's
    ledger (``runs``, every run counted, also those whose reports were replaced since); a manifest without
    one counts the published jobs as one run."""
    ledger = [r for r in manifest.get("runs") or [] if isinstance(r, dict)]
    if not ledger:
        jobs = manifest["jobs"]
        ledger = [{"run": None, "started": min((str(j.get("started_at") or "") for j in jobs), default=""),
                   "jobs": [j.get("notebook") for j in jobs],
                   "mavera_credits": sum(_number((j.get("metrics") or {}).get("mavera_credits")) for j in jobs),
                   "klaviyo_requests": sum(_number((j.get("metrics") or {}).get("klaviyo_requests")) for j in jobs)}]
    ledger = sorted(ledger, key=lambda r: str(r.get("started") or ""))
    labels = [_clock(r.get("started")) or "?" for r in ledger]
    if len(set(labels)) < len(labels):  # two runs in one minute: the seconds tell them apart
        labels = [(str(r.get("started") or "")[11:19] or "?") for r in ledger]
    return [{**r, "label": label, "credits": f"{_number(r.get('mavera_credits')):,.0f}",
             "requests": f"{_number(r.get('klaviyo_requests')):,.0f}", "count": len(r.get("jobs") or [])}
            for r, label in zip(ledger, labels, strict=True)]


def render_index(manifest: dict[str, Any], root: Path | None = None, printed: bool = False) -> str:
    """The page for one day's ``run.json``; ``root`` (the output root holding the dated folders) adds the
    history block. ``printed``: for ``index.pdf``, file names instead of links (a PDF travels without them)."""
    jobs = manifest["jobs"]
    sandbox = any(job.get("sandbox") for job in jobs)
    runs = _runs(manifest)
    several = len(runs) > 1
    run_times = {r["run"]: r["label"] for r in runs} if several else {}
    rows = [_row(job, run_times) for job in jobs]
    day_credits = sum(_number(r.get("mavera_credits")) for r in runs)
    day_requests = sum(_number(r.get("klaviyo_requests")) for r in runs)
    return _template().render(
        date=manifest["date"],
        csp=CSP,
        banner=report.SANDBOX_BANNER if sandbox else "",
        jobs=rows,
        runs=runs,
        totals={"credits": f"{day_credits:,.0f}", "requests": f"{day_requests:,.0f}", "runs": len(runs)},
        history=history(root, manifest["date"], sandbox) if root is not None else None,
        printed=printed,
    )
