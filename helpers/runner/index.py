"""The day's ``index.html``: one row per job with status, duration, links and headline numbers.

The markup lives in ``templates/index.html.j2``; this module only turns run.json entries into plain
values for it. Autoescaping is on, so a metric or error text can never inject markup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from helpers import report

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


def _row(job: dict[str, Any]) -> dict[str, Any]:
    kept = job.get("previous_success")
    return {
        "notebook": job.get("notebook", "?"),
        "status": job.get("status", "?"),
        "sandbox": bool(job.get("sandbox")),
        "error": job.get("error"),
        "kept": {"html": kept.get("html"), "ipynb": kept.get("ipynb")} if kept else None,
        "seconds": f"{float(job.get('seconds') or 0):.1f}",
        "finished_at": job.get("finished_at") or "",
        "html": job.get("html"),
        "ipynb": job.get("ipynb"),
        "metrics": [(name, headline(value)) for name, value in (job.get("metrics") or {}).items()],
    }


def render_index(manifest: dict[str, Any]) -> str:
    jobs = manifest["jobs"]
    sandbox = any(job.get("sandbox") for job in jobs)
    return _template().render(
        date=manifest["date"],
        banner=report.SANDBOX_BANNER if sandbox else "",
        jobs=[_row(job) for job in jobs],
    )
