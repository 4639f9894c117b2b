"""One job: execute a notebook with papermill into the staging folder, within its time budget.

This is the only module that calls papermill's executor. :func:`execute_one` never raises: a failed
cell, a timeout, a dead kernel or a kernel that will not start all become a failed job whose notebook
shows where it stopped. It runs in a worker process (see ``workers``) but knows nothing of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import html
import logging
import math
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from helpers import report
from helpers.redaction import redact, redact_notebook
from helpers.runner import pdf
from helpers.runner.export import export_html
from helpers.runner.files import write_atomic
from helpers.runner.report_html import failed_report_html, failure_sentence
from helpers.runner.results import FAILED, PARTIAL, PERMANENT, SUCCEEDED, TRANSIENT, JobResult, RunError

KERNEL_NAME = "python3"
START_TIMEOUT = 120
# A notebook that stops on one of these failed for a reason a rerun cannot fix (a bad parameter, a missing
# or malformed setting or key, a key Klaviyo or Mavera rejects): exit code 2. Matched on the exception's
# name as the executed notebook records it (PapermillExecutionError.ename), since the class itself lived
# in the kernel. Mavera's BudgetExceeded and CreditsExhausted are not here: the notebooks catch them
# (helpers.steps) and finish with the Klaviyo analysis, so a job never stops on them.
PERMANENT_ERRORS = frozenset({"ParameterError", "ConfigError", "KlaviyoAuthError", "KlaviyoSettingsError",
                              "MaveraAuthError", "MaveraSettingsError"})
# Writing under --out failed: the kernel had started, and rerunning would repeat the notebook's requests.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.EACCES, errno.EPERM})


class _NotebookBudget:
    """nbclient ``timeout_func``: every cell gets what is left of the notebook's total time budget."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline: float | None = None

    def __call__(self, cell) -> int:
        now = time.monotonic()
        if self.deadline is None:  # starts with the first cell, so kernel start-up is not charged
            self.deadline = now + self.seconds
        return max(1, math.ceil(self.deadline - now))


# ---------------------------------------------------------------------------------------------- the kernel


def kernel_command() -> str:
    """The interpreter the ``python3`` kernel will run (jupyter_client maps a bare ``python`` to ours)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv0 = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv[0]
    except NoSuchKernel:
        raise RunError(
            f"no Jupyter kernel named {KERNEL_NAME!r}: install ipykernel here (pip install -r requirements.txt)"
        ) from None
    major, minor = sys.version_info[:2]
    if argv0 in {"python", f"python{major}", f"python{major}.{minor}"}:
        return sys.executable
    return argv0


def check_kernel_imports_helpers(argv0: str) -> None:
    if Path(argv0).resolve() == Path(sys.executable).resolve():
        return
    import subprocess

    probe = subprocess.run([argv0, "-c", "import helpers"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        raise RunError(
            f"the {KERNEL_NAME} kernel ({argv0}) cannot import helpers: a user-level kernelspec shadows this "
            f"environment's; remove it (jupyter kernelspec remove {KERNEL_NAME}) or pip install -e . there"
        )


# ---------------------------------------------------------------------------------------------- one job


def execute_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook into the staging folder and export its report; never raises.

    ``task`` holds ``stem``, ``path`` (the source notebook), ``staging``, ``parameters``, ``timeout``
    (seconds for the whole notebook), ``html`` and ``sandbox``; the result is a :class:`JobResult` as a dict.
    Its ``error`` and the saved notebook and report hold no key (:mod:`helpers.redaction`).
    """
    started_at = _now()
    begin = time.monotonic()
    try:
        return _execute_one(task, started_at, begin)
    except Exception as exc:  # a failure of the runner's own bookkeeping fails this job, never the whole run
        error = redact(f"the runner could not finish this job: {type(exc).__name__}: {exc}")
        return asdict(JobResult(
            notebook=task["stem"], status=FAILED, ipynb=None, html=None,
            seconds=round(time.monotonic() - begin, 2), error=error, sandbox=bool(task["sandbox"]),
            started_at=started_at, finished_at=_now(), failure=TRANSIENT,
        ))


def _execute_one(task: dict[str, Any], started_at: str, begin: float) -> dict[str, Any]:
    import nbformat

    # The runner prints its own one-line verdict; nbclient's and the kernel's log lines are noise here.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    # A stopped run shuts kernels down mid-cell; asyncio then logs nbclient's abandoned tasks as tracebacks.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    stem, staging = task["stem"], Path(task["staging"])
    source = Path(task["path"])
    out = staging / f"{stem}.ipynb"
    print(f"[{stem}] started", flush=True)
    budget = float(task["timeout"])
    exc = _execute_with_retry(source, out, task, budget)
    seconds = round(time.monotonic() - begin, 2)

    nb = _read(out)
    error = redact(_describe_error(exc, budget, nb)) if exc is not None else None
    if nb is None:  # papermill never got to save it (the kernel would not start, or the disk is full)
        nb = nbformat.read(source, as_version=4)
    if error and not isinstance(exc, _papermill_execution_error()):
        _mark_stopped(nb, error)
    _scrub(nb, stem)
    nb = redact_notebook(nb)
    metrics = report.read_records(nb)
    ipynb: str | None = f"{stem}.ipynb"
    try:
        write_atomic(out, nbformat.writes(nb))
    except OSError as write_error:
        # What papermill left there is unredacted and may be cut short: publish no notebook rather than that.
        with contextlib.suppress(OSError):
            out.unlink()
        ipynb = None
        error = error or redact(f"could not save the executed notebook: {_os_error(write_error)}")

    html_name, export_error = _export(nb, staging, stem, error, bool(task["sandbox"])) if task["html"] and ipynb else (None, None)
    error = error or export_error  # a missing report is a failed job, but the notebook is kept
    pdf_name = None
    if task.get("pdf") and html_name:
        pdf_name, pdf_error = _export_pdf(staging, html_name)
        error = error or pdf_error
    missing = None if error else missing_part(metrics)
    return asdict(
        JobResult(
            notebook=stem,
            status=FAILED if error else PARTIAL if missing else SUCCEEDED,
            ipynb=ipynb,
            html=html_name,
            pdf=pdf_name,
            seconds=seconds,
            error=error,
            metrics=metrics,
            sandbox=bool(task["sandbox"]),
            started_at=started_at,
            finished_at=_now(),
            title=_title(nb),
            failure=(failure_kind(exc) if exc is not None else TRANSIENT) if error else None,
            missing=missing,
        )
    )


def missing_part(metrics: dict[str, Any]) -> str | None:
    """What a finished notebook said it did not do (``helpers.report.not_done``), redacted; None: nothing."""
    said = metrics.get(report.MISSING_RECORD)
    text = " ".join(str(said).split()) if said else ""
    return redact(text) if text else None


def _title(nb) -> str | None:
    """The first Markdown cell's ``# heading``, without the marker."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip() or None
            return None
    return None


def failure_kind(exc: BaseException) -> str:
    """:data:`PERMANENT` when the notebook stopped on one of :data:`PERMANENT_ERRORS`, else :data:`TRANSIENT`."""
    if isinstance(exc, _papermill_execution_error()) and exc.ename in PERMANENT_ERRORS:
        return PERMANENT
    return TRANSIENT


def _read(path: Path):
    """The notebook papermill saved, or None when there is none or it was cut short (a failed write)."""
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # missing, empty or truncated: nbformat raises several types for these
        return None


def _execute_with_retry(source: Path, out: Path, task: dict[str, Any], budget: float) -> BaseException | None:
    """Execute the notebook; the exception that failed it, or None."""
    import papermill

    exc: BaseException | None = None
    for attempt in (1, 2):
        exc = None
        try:
            _execute(papermill, source, out, task, budget)
        except Exception as caught:  # every failure (execution, timeout, dead kernel, no kernel) fails the job
            exc = caught
        # Parallel kernel start-ups can race for ZMQ ports (papermill #511); a kernel that died before
        # running a single cell gets one more try. Nothing has executed, so nothing is repeated.
        if exc is None or attempt == 2 or not _died_before_any_cell(exc, out):
            break
        print(f"[{task['stem']}] the kernel did not start ({type(exc).__name__}); retrying once", flush=True)
    return exc


def _execute(papermill, source: Path, out: Path, task: dict[str, Any], budget: float) -> None:
    papermill.execute_notebook(
        str(source),
        str(out),
        parameters=task["parameters"],
        kernel_name=KERNEL_NAME,
        language="python",
        progress_bar=False,
        log_output=False,
        start_timeout=START_TIMEOUT,
        execution_timeout=budget,
        timeout_func=_NotebookBudget(budget),
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        # The kernel's working folder, like in JupyterLab; set here rather than papermill's cwd=,
        # which chdirs the whole process.
        resources={"metadata": {"path": str(source.parent)}},
    )


def _export(nb, staging: Path, stem: str, error: str | None, sandbox: bool) -> tuple[str | None, str | None]:
    """(the report's file name, None), or (None, why the export failed).

    A failed job's page is one sentence (and the banner): its traceback stays in the executed .ipynb."""
    try:
        page = failed_report_html(stem, failure_sentence(error), sandbox) if error else export_html(nb, title=stem)
        write_atomic(staging / f"{stem}.html", page)
    except Exception as exc:
        return None, redact(f"HTML export failed: {type(exc).__name__}: {exc}")
    return f"{stem}.html", None


def _export_pdf(staging: Path, html_name: str) -> tuple[str | None, str | None]:
    """(the PDF's file name, None), or (None, why it could not be printed): the same page as the HTML."""
    target = staging / html_name.replace(".html", ".pdf")
    try:
        pdf.file_to_pdf(staging / html_name, target)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return None, redact(f"PDF export failed: {exc}")
    return target.name, None


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- failures


def _describe_error(exc: BaseException, budget: float, nb) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    where = _stopped_at(nb)
    if isinstance(exc, PapermillExecutionError):
        evalue = (exc.evalue or "").strip().splitlines()
        return f"{exc.ename}: {evalue[0] if evalue else ''} (In [{exc.exec_count}])".replace(":  (", " (")
    if isinstance(exc, CellTimeoutError):
        return f"timed out: the notebook ran past its {budget:g} s budget (--timeout){where}"
    if isinstance(exc, DeadKernelError):
        return f"the kernel died (out of memory or killed){where}"
    if _disk_error(exc):
        return f"could not save the notebook as it ran: {_os_error(exc)}{where}"
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}{where}".rstrip(": ")


def _stopped_at(nb) -> str:
    index = _running_cell_index(nb)
    if index is None:
        return ""
    count = nb.cells[index].get("execution_count")
    return f" (In [{count}])" if count else f" (cell {index + 1})"


def _running_cell_index(nb) -> int | None:
    """The cell that was executing when the run stopped: the last one papermill started."""
    if nb is None:
        return None
    last = None
    for index, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("papermill", {}).get("start_time"):
            last = index
    return last


def _mark_stopped(nb, error: str) -> None:
    """Timeouts and dead kernels get no papermill banner; add one so the analyst sees where it stopped."""
    import nbformat

    if any("papermill-error-cell-tag" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        return
    index = _running_cell_index(nb)
    style = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:1.5em;"'
    banner = nbformat.v4.new_markdown_cell(
        f'<span {style}>The run stopped: {html.escape(error)}.'
        + (' <a href="#workbooks-stopped-here">Go to the cell.</a>' if index is not None else "")
        + "</span>"
    )
    banner.metadata["tags"] = ["papermill-error-cell-tag"]
    if index is not None:
        anchor = nbformat.v4.new_markdown_cell(
            f'<span id="workbooks-stopped-here" {style}>The run stopped in the cell below.</span>'
        )
        anchor.metadata["tags"] = ["papermill-error-cell-tag"]
        nb.cells.insert(index, anchor)
    nb.cells.insert(0, banner)


def _died_before_any_cell(exc: BaseException, out: Path) -> bool:
    if isinstance(exc, _papermill_execution_error()) or _disk_error(exc):
        return False
    if not out.exists():
        return True
    nb = _read(out)
    # Unreadable means a write failed part-way, which papermill only does after the kernel started.
    return nb is not None and _running_cell_index(nb) is None


def _disk_error(exc: BaseException) -> bool:
    """Writing the outputs failed (full disk, quota, read-only or vanished folder), not the kernel."""
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS


def _os_error(exc: OSError) -> str:
    """``No space left on device (errno 28) writing 02_x.ipynb under --out; free space there and rerun``."""
    what = f" writing {Path(exc.filename).name}" if exc.filename else ""
    hint = "; free space there and rerun" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return f"{exc.strerror or type(exc).__name__} (errno {exc.errno}){what} under --out{hint}"


def _papermill_execution_error() -> type:
    from papermill.exceptions import PapermillExecutionError

    return PapermillExecutionError


def _scrub(nb, stem: str) -> None:
    """Parameters live in the injected cell already; papermill's metadata copy is one place too many."""
    meta = nb.metadata.get("papermill")
    if meta is not None:
        meta["parameters"] = {}
        meta["environment_variables"] = {}
        meta["input_path"] = f"{stem}.ipynb"
        meta["output_path"] = f"{stem}.ipynb"
