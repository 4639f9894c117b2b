"""What every notebook calls first and last: set-up, the sandbox banner, artifacts and recorded metrics.

A notebook starts with ``job = report.setup("NN_name")`` and ends with ``report.record(...)`` calls.
Recorded values travel inside the executed notebook as display outputs with a private MIME type
(the scrapbook pattern), so the runner reads them back from the saved ``.ipynb`` with no side channel;
the HTML export drops those outputs (``helpers.run``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import config
from helpers.progress import headless, progress  # noqa: F401  (re-exported: report.progress, report.headless)

RECORD_MIME = "application/vnd.workbooks.record+json"
SANDBOX_BANNER = "Sandbox data — synthetic shop, not your Klaviyo account"


class ParameterError(ValueError):
    """A notebook parameter is out of range or of the wrong type; the message says which and what to pass."""


# ---------------------------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Job:
    """One notebook's run: where its artifacts go and how to save them."""

    stem: str
    artifacts: Path

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

    def save_fig(self, fig, name: str, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG; the figure stays open so the notebook still shows it."""
        path = self._path(name, ".png")
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        return path

    def progress(self, iterable: Iterable, **kw):
        """A progress bar over ``iterable``: a widget in JupyterLab, silent under the runner."""
        return progress(iterable, **kw)


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


# ---------------------------------------------------------------------------------------------- parameters


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def validate(
    name: str,
    value: Any,
    kind: type | None = None,
    *,
    choices: Sequence | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    optional: bool = False,
) -> Any:
    """Check and coerce one parameter; raises :class:`ParameterError` with one sentence on failure.

    ``kind`` is ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict`` or ``datetime.date``
    (ISO strings are parsed). ``minimum``/``maximum`` bound numbers, or the length of lists.
    """
    if value is None:
        if optional:
            return None
        raise ParameterError(f"parameter {name} is required; set it with -p {name} VALUE")
    value = _coerce(name, value, kind) if kind is not None else value
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"parameter {name}={value!r} is not one of {allowed}")
    measured = len(value) if isinstance(value, list | dict | str) and kind is not str else value
    if minimum is not None and measured < minimum:
        raise ParameterError(f"parameter {name}={value!r} must be at least {minimum}")
    if maximum is not None and measured > maximum:
        raise ParameterError(f"parameter {name}={value!r} must be at most {maximum}")
    return value


def _coerce(name: str, value: Any, kind: type) -> Any:
    wrong = ParameterError(f"parameter {name}={value!r} should be {_kind_name(kind)}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise wrong
    if kind is int:
        if isinstance(value, bool):
            raise wrong
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise wrong from None
        raise wrong
    if kind is float:
        if isinstance(value, bool):
            raise wrong
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise wrong from None
        if not math.isfinite(result):  # nan/inf would reach the kernel as bare names and fail there
            raise ParameterError(f"parameter {name}={value!r} should be a finite number")
        return result
    if kind is str:
        if isinstance(value, str):
            return value
        raise wrong
    if kind is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ParameterError(f"parameter {name}={value!r} should be a date like 2026-07-15") from None
    if kind in (list, dict):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise wrong from None
        if isinstance(value, tuple) and kind is list:
            value = list(value)
        if isinstance(value, kind):
            return value
        raise wrong
    if isinstance(value, kind):
        return value
    raise wrong


def _kind_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false",
            list: "a list", dict: "a mapping"}.get(kind, f"a {kind.__name__}")
