"""What every notebook calls first and last: set-up, the sandbox banner, artifacts and recorded metrics.

A notebook starts with ``job = report.setup("NN_name")`` and ends with ``report.record(...)`` calls.
Recorded values travel inside the executed notebook as display outputs with a private MIME type
(the scrapbook pattern), so the runner reads them back from the saved ``.ipynb`` with no side channel;
the HTML export drops those outputs (``helpers.run``).

In between, ``job.header(report.period(...), currency)``, ``job.findings(lines, next_step)`` and
``job.since_last_run(history.<job>, ...)`` show the blocks the code-free report opens with (they are lifted
to its top: ``helpers.report.blocks``), ``job.table(df, ...)`` shows frames as readable tables and
``job.save_fig(fig, name, alt=...)`` shows charts with their alt text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import config
from helpers.progress import headless, progress  # noqa: F401  (re-exported: report.progress, report.headless)
from helpers.report.currency import Currency
from helpers.report.currency import currency as currency_of
from helpers.report.periods import Period, period  # noqa: F401  (re-exported: report.period)

RECORD_MIME = "application/vnd.workbooks.record+json"
# The record a partial job leaves (``not_done``): the runner marks the job "partial" with this sentence.
MISSING_RECORD = "missing"
SANDBOX_BANNER = "Sandbox data — synthetic shop, not your Klaviyo account"
_UNSET = object()


# ---------------------------------------------------------------------------------------------- set-up


@dataclass
class Job:
    """One notebook's run: where its artifacts go, how to save and show them, and the blocks its report
    opens with (:meth:`header`, :meth:`findings`, :meth:`since_last_run`)."""

    stem: str
    artifacts: Path
    currency: Currency = field(default_factory=currency_of)  # what money in tables is in; set by header()
    _previous: Any = field(default=_UNSET, repr=False, compare=False)

    def _path(self, name: str, suffix: str) -> Path:
        if Path(name).name != name:
            raise ValueError(f"artifact name {name!r} must be a plain file name, not a path")
        path = self.artifacts / name
        return path if path.suffix == suffix else path.with_name(path.name + suffix)

    def save_csv(self, df, name: str, *, index: bool = False) -> Path:
        """Write a DataFrame as CSV into the artifact folder; returns the path."""
        path = self._path(name, ".csv")
        df.to_csv(path, index=index)
        return path

    def save_json(self, obj: Any, name: str) -> Path:
        """Write a JSON document (dates and numpy scalars converted) into the artifact folder."""
        path = self._path(name, ".json")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path

    def save_text(self, text: str, name: str) -> Path:
        """Save ``text`` (e.g. Mavera's answer as Markdown) as ``artifacts/name``, ending in a newline."""
        path = self._path(name, Path(name).suffix or ".txt")
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return path

    def save_fig(self, fig, name: str, *, dpi: int = 120, alt: str | None = None) -> Path | None:
        """Save a matplotlib figure as PNG. With ``alt`` (one sentence: what the chart shows) the figure is
        also shown, carrying that alt text into the report, and closed, and nothing is returned (a cell that
        ends with it shows the chart, not a path); without it the figure stays open for the notebook to show
        and the PNG's path is returned."""
        path = self._path(name, ".png")
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        if alt is None:
            return path
        from helpers.report.figures import show_figure

        show_figure(fig, alt)
        return None

    def table(
        self,
        df,
        *,
        headers: Mapping[str, str] | None = None,
        formats: Mapping[str, Any] | None = None,
        max_rows: int | None = 10,
        csv: str | Path | None = None,
        caption: str | None = None,
    ) -> None:
        """Show a frame as a table a reader can read (``helpers.report.tables.table_html``): ``headers`` picks and
        names the columns, ``formats`` gives each quantity one format (``"percent"``, ``"money"`` in this
        report's currency, ``"count"``, ...), at most ``max_rows`` rows with "showing N of M — all in
        ``file.csv``" linking the artifact. ``csv``: a file name saves ``df`` there first; a path (as
        :meth:`save_csv` returns) links that file as it is, e.g. the full data behind a selection. Returns
        nothing, so a table as a cell's last line shows no value after it."""
        from helpers.report import tables

        path: Path | None = None
        if isinstance(csv, Path):
            path = csv
        elif csv is not None:
            path = self.save_csv(df, csv, index=not _default_index(df))
        href = f"{self.artifacts.name}/{path.name}" if path is not None else None
        page = tables.table_html(df, headers=headers, formats=formats, max_rows=max_rows, csv_href=href,
                                 currency=self.currency, caption=caption)
        from IPython.display import display

        display({"text/html": page, "text/plain": tables.table_text(df, headers, max_rows)}, raw=True)

    # ------------------------------------------------------------------ the blocks a report opens with

    def header(self, covered: Period, currency: Currency | None = None, *, money: bool = True) -> None:
        """Run date, the data period actually covered and the currency, for the top of the report; records
        ``period`` and ``currency``. ``currency`` (default: :func:`helpers.report.currency.currency`) is then the
        one :meth:`table` formats money in; ``money=False`` for a report with no amounts in it."""
        from helpers.report import blocks as report_blocks
        from helpers.report import earlier_runs

        if currency is not None:
            self.currency = currency
        shown = self.currency.text if money else "none: this report holds no amounts of money"
        _, run_date = earlier_runs.located()
        run_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        block = report_blocks.header_html(run_at, covered.text, shown, filed_under=run_date)
        report_blocks.show(report_blocks.HEADER, block,
                           f"Run {run_at:%Y-%m-%d %H:%M} UTC · data {covered.text} · currency {shown}")
        record("period", covered.as_record())
        record("currency", self.currency.code if money else None)

    def findings(self, lines: Sequence[str], next_step: str | None = None,
                 headlines: Sequence[str] | None = None) -> None:
        """The findings a report opens with (3–5 Markdown lines; more fold away) ending with the recommended
        ``next_step``; records ``headlines``, two or three short plain sentences for index.html and the mail
        (default: the first findings), ``next_step`` (plain, without its "Next step:") and ``evidence`` (what
        the step rests on: ``next_steps.NextStep.evidence``, "data" unless it says "personas")."""
        from helpers.report import blocks as report_blocks

        lines = [str(line) for line in lines if str(line).strip()]
        keep = report_blocks.MAX_FINDINGS - (1 if next_step else 0)
        shown, rest = lines[:keep] + ([next_step] if next_step else []), lines[keep:]
        report_blocks.show(report_blocks.FINDINGS, report_blocks.findings_html(shown, more=rest),
                           "\n".join(report_blocks.plain(x) for x in shown + rest), markdown=report_blocks.markdown_bullets(shown + rest))
        chosen = list(headlines) if headlines is not None else lines
        record("headlines", [_short(report_blocks.plain(x)) for x in chosen[:3]])
        if next_step:
            step = re.sub(r"(?i)^next step:\s*", "", report_blocks.plain(next_step))
            record("next_step", step[:1].upper() + step[1:])
            record("evidence", getattr(next_step, "evidence", "data"))

    def previous(self):
        """This notebook's earlier successful run of the same kind (``helpers.report.earlier_runs.Previous``), or
        None: the report's "Since the last run" compares with it."""
        if self._previous is _UNSET:
            from helpers.report import earlier_runs

            root, run_date = earlier_runs.located()
            self._previous = earlier_runs.previous_run(root, self.stem, sandbox=config.is_sandbox(),
                                                       run_date=run_date)
        return self._previous

    def since_last_run(self, compare: Callable[..., list[str]], *args: Any, **kwargs: Any) -> None:
        """Show what moved since the earlier run: ``compare(previous, *args, **kwargs)`` (a
        ``helpers.report.history`` function) gives the sentences. Shows nothing without an earlier run. Returns
        nothing, so a cell that ends with it shows no value."""
        previous = self.previous()
        if previous is None:
            return
        from helpers.report import blocks as report_blocks

        lines = compare(previous, *args, **kwargs)
        report_blocks.show(report_blocks.SINCE, report_blocks.since_html(previous.date, lines),
                           "\n".join(report_blocks.plain(x) for x in lines) or "Nothing moved.",
                           markdown=report_blocks.markdown_bullets(lines) or "Nothing moved.")

    def progress(self, iterable: Iterable, **kw):
        """A progress bar over ``iterable``: a widget in JupyterLab, silent under the runner."""
        return progress(iterable, **kw)


def _default_index(df) -> bool:
    import pandas as pd

    return isinstance(df.index, pd.RangeIndex) and df.index.name is None


def _short(text: str, limit: int = 160) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def currency(events=None) -> Currency:
    """The currency of a report's amounts (:func:`helpers.report.currency.currency`): from the order ``events`` when
    they name one, else ``WORKBOOKS_CURRENCY``, else US dollars, marked as assumed."""
    return currency_of(events)


def run_dir() -> Path:
    """The run folder: ``WORKBOOKS_RUN_DIR`` (set by the runner) or ``outputs/lab/<today>/`` in JupyterLab.

    Lab runs against the sandbox and writes whenever a cell runs, so it keeps out of the runner's
    ``outputs/<date>/``: published reports and their artifacts are never overwritten from Lab.
    """
    configured = os.environ.get("WORKBOOKS_RUN_DIR", "").strip()
    if configured:
        return Path(configured)
    return config.project_root() / "outputs" / "lab" / dt.date.today().isoformat()


def read_json(stem: str, name: str) -> Any | None:
    """A JSON artifact another job saved in this run folder (e.g. 01's personas.json), or None."""
    path = run_dir() / stem / name
    return json.loads(path.read_text()) if path.exists() else None


def setup(notebook_stem: str) -> Job:
    """Prepare a notebook: display options, plot style, logging, banner; returns its :class:`Job`."""
    _display_options()
    _plot_style()
    _logging_to_stdout()
    artifacts = run_dir() / notebook_stem
    artifacts.mkdir(parents=True, exist_ok=True)
    if config.is_sandbox():
        show_sandbox_banner()
    return Job(stem=notebook_stem, artifacts=artifacts)


def _display_options() -> None:
    import pandas as pd

    # Small frames keep the saved notebook and the HTML report light; analysts call .head() for more.
    pd.set_option("display.max_rows", 30)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 140)
    pd.set_option("display.precision", 4)


def _plot_style() -> None:
    import matplotlib

    matplotlib.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
        }
    )


def _logging_to_stdout() -> None:
    # stdout, not stderr: stderr outputs render as red boxes in Lab and in the HTML report.
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    for noisy in ("urllib3", "requests_cache", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def show_sandbox_banner() -> None:
    """A visible banner that survives the code-free HTML export (it is an output, not code)."""
    from IPython.display import HTML, display

    display(
        HTML(
            '<div style="border:2px solid #b45309;background:#fef3c7;color:#78350f;'
            'padding:8px 12px;border-radius:6px;font-weight:600">'
            f"{SANDBOX_BANNER}. Numbers below come from the local emulator, seeded and reproducible."
            "</div>"
        )
    )


# ---------------------------------------------------------------------------------------------- records


def _json_default(value: Any):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, pandas Series
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):  # other numpy-like scalars
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _to_json_value(name: str, value: Any) -> Any:
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"record({name!r}, ...): value must be JSON-serialisable (numbers, strings, lists, dicts): {exc}"
        ) from None
    return json.loads(text)


def record(name: str, value: Any) -> None:
    """Record a headline number for run.json and index.html (the last value recorded under a name wins)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"record name {name!r} must be an identifier such as 'profiles_total'")
    payload = {"name": name, "value": _to_json_value(name, value)}
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        logging.getLogger("helpers.report").info("record %s = %s", name, payload["value"])
        return
    from IPython.display import display

    # The empty text/plain keeps JupyterLab from showing "no renderer for this MIME type".
    display({RECORD_MIME: payload, "text/plain": ""}, raw=True)


_not_done: list[str] = []  # this kernel's missing parts, in order (one kernel runs one notebook)


def not_done(sentence: str) -> None:
    """Say that a part of this report was not done and why (one sentence, e.g. "The focus group did not run:
    Mavera has no credits left."): shown at the top of the report, and recorded as ``missing`` so the runner
    publishes the job as ``partial`` with that sentence (``run.json``, ``index.html``). Called by the Mavera
    steps of ``helpers.steps`` whenever they stop; a notebook calls it for any other step it could not do."""
    from helpers.report import blocks as report_blocks

    text = " ".join(str(sentence).replace("**", "").split())
    if not text or text in _not_done:
        return
    _not_done.append(text)
    report_blocks.show(report_blocks.MISSING, report_blocks.missing_html([text]), f"Partial report: {text}",
                       markdown=f"**Partial report:** {text}")
    record(MISSING_RECORD, " ".join(_not_done))


def missing() -> list[str]:
    """What :func:`not_done` said so far in this kernel."""
    return list(_not_done)


def record_usage(klaviyo=None, mavera=None) -> None:
    """Record ``klaviyo_requests``, ``klaviyo_cache_hits``, ``mavera_credits`` and ``sandbox`` from the two clients."""
    record("klaviyo_requests", int(klaviyo.requests_sent) if klaviyo is not None else 0)
    if hasattr(klaviyo, "cache_hits"):  # requests answered from the HTTP cache, sending nothing
        record("klaviyo_cache_hits", int(klaviyo.cache_hits))
    credits = mavera.credits_spent if mavera is not None else 0
    record("mavera_credits", int(credits) if float(credits).is_integer() else float(credits))
    record("sandbox", config.is_sandbox())


def read_records(nb) -> dict[str, Any]:
    """The values a notebook recorded, read back from an executed notebook (NotebookNode or dict)."""
    records: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") not in {"display_data", "execute_result"}:
                continue
            payload = output.get("data", {}).get(RECORD_MIME)
            if isinstance(payload, str):  # nbformat may keep JSON MIME bundles as text
                payload = json.loads(payload)
            if isinstance(payload, dict) and "name" in payload:
                records[payload["name"]] = payload.get("value")
    return records
