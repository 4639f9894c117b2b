"""The batch runner: ``python -m helpers.run`` executes the notebooks with papermill into dated outputs.

This is the only module that calls papermill. One run:

1. selects notebooks (``--jobs``), checks ``-p`` overrides against their parameters cells and coerces
   them to the declared types, before anything executes;
2. executes each notebook into a private staging folder inside ``<out>/<date>/`` (job 01 first, since
   04 and 05 use its personas; the rest in parallel worker processes), with a time budget per notebook;
3. exports a code-free HTML report per notebook and reads back what each notebook ``record``-ed;
4. publishes every job into ``<out>/<date>/`` as it finishes (same-day rerun policy below), and rewrites
   ``run.json`` and ``index.html`` atomically.

Same-day reruns: a succeeded job replaces the day's report for that notebook, and the report it
replaces moves to ``<date>/previous/<HHMMSS-id>/``. A failed job never replaces a succeeded one: it is
kept beside it as ``NN_name.failed.ipynb`` / ``.failed.html`` / ``NN_name.failed/``, and its run.json
entry (status ``failed``) carries ``previous_success`` pointing at the report that is still published.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import html
import json
import logging
import math
import multiprocessing
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from helpers import config, report

KERNEL_NAME = "python3"
DEFAULT_TIMEOUT = 3600.0
DEFAULT_WORKERS = 2
DEFAULT_SEED = 7
START_TIMEOUT = 120
STOP_GRACE = 30  # seconds stopped workers get to shut their kernels down before they are killed
FIRST_JOB = 1  # job 01 creates the personas that 04 and 05 use
NOTEBOOK_PATTERN = re.compile(r"^(\d{2})_[A-Za-z0-9_]+\.ipynb$")
_SECRET_WORDS = {"key", "keys", "apikey", "token", "secret", "password", "passwd", "pwd", "credential",
                 "credentials", "auth", "bearer"}
SUCCEEDED, FAILED = "succeeded", "failed"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class RunError(RuntimeError):
    """The run cannot start (bad flag, unknown job or parameter, missing setting); nothing has executed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (how schedulers stop a task), turned into an interrupt so the run cleans up as on Ctrl-C."""


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped part-way; the jobs published before the stop stay published."""

    def __init__(self, published: int, not_run: int, terminated: bool):
        super().__init__(f"interrupted: {published} published, {not_run} not run; earlier reports untouched")
        self.published, self.not_run, self.terminated = published, not_run, terminated


# ---------------------------------------------------------------------------------------------- results


@dataclass
class JobResult:
    notebook: str
    status: str
    ipynb: str | None
    html: str | None
    seconds: float
    error: str | None
    metrics: dict[str, Any] = field(default_factory=dict)
    sandbox: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    previous_success: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED


@dataclass
class RunResult:
    date: str
    sandbox: bool
    run_dir: Path
    jobs: list[JobResult]

    @property
    def ok(self) -> bool:
        return bool(self.jobs) and all(job.ok for job in self.jobs)

    @property
    def manifest(self) -> Path:
        return self.run_dir / "run.json"

    @property
    def index(self) -> Path:
        return self.run_dir / "index.html"

    def job(self, notebook: str) -> JobResult:
        for job in self.jobs:
            if job.notebook == notebook or job.notebook.startswith(f"{notebook}_"):
                return job
        raise KeyError(notebook)


@dataclass(frozen=True)
class Notebook:
    number: int
    stem: str
    path: Path


# ---------------------------------------------------------------------------------------------- selection


def default_notebooks_dir() -> Path:
    return config.project_root() / "notebooks"


def discover(notebooks_dir: Path) -> list[Notebook]:
    """Every ``NN_name.ipynb`` in the folder, by number."""
    if not notebooks_dir.is_dir():
        raise RunError(f"notebook folder {notebooks_dir} does not exist; pass --notebooks DIR")
    found = [
        Notebook(int(m.group(1)), path.stem, path)
        for path in sorted(notebooks_dir.glob("*.ipynb"))
        if (m := NOTEBOOK_PATTERN.match(path.name))
    ]
    if not found:
        raise RunError(f"no NN_name.ipynb notebooks in {notebooks_dir}; pass --notebooks DIR")
    return found


def select(notebooks: list[Notebook], jobs: Iterable[int] | None) -> list[Notebook]:
    if jobs is None:
        return notebooks
    wanted = list(dict.fromkeys(int(j) for j in jobs))
    by_number = {nb.number: nb for nb in notebooks}
    missing = [j for j in wanted if j not in by_number]
    if missing:
        have = ",".join(str(nb.number) for nb in notebooks)
        raise RunError(f"--jobs {','.join(map(str, missing))}: no such notebook (available: {have})")
    return [by_number[j] for j in sorted(wanted)]


def parse_jobs(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise RunError(f"--jobs {text!r}: give job numbers separated by commas, e.g. --jobs 1,3") from None


# ---------------------------------------------------------------------------------------------- parameters


def declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Name → {inferred_type_name, default, help} from the notebook's ``parameters`` cell."""
    import papermill

    try:
        return papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises bare ValueErrors for missing kernelspecs and the like
        raise RunError(f"cannot read the parameters of {path.name}: {exc}") from None


def secret_like(name: str) -> bool:
    """True for names such as ``api_key``, ``mavera_token`` or ``apiKey``: such values belong in the environment."""
    words = re.split(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])", name)
    return any(word.lower() in _SECRET_WORDS for word in words if word)


def _declared_type(spec: dict[str, Any]) -> tuple[type | None, bool]:
    """(base type, optional) from an annotation such as ``int``, ``list[str]``, ``float | None``."""
    name = (spec.get("inferred_type_name") or "None").replace(" ", "")
    optional = False
    if name.startswith("Optional[") and name.endswith("]"):
        name, optional = name[len("Optional[") : -1], True
    parts = [p for p in name.split("|") if p]
    if "None" in parts and len(parts) > 1:
        optional = True
        parts = [p for p in parts if p != "None"]
    base = parts[0].split("[", 1)[0].lower() if parts else "none"
    kinds = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}
    if base in kinds:
        return kinds[base], optional
    try:  # no annotation: fall back to the type of the literal default
        default = ast.literal_eval(spec.get("default") or "None")
    except (ValueError, SyntaxError):
        return None, optional
    if default is None:
        return None, True
    return type(default) if type(default) in kinds.values() else None, optional


def coerce_parameter(name: str, value: Any, spec: dict[str, Any]) -> Any:
    """Coerce one ``-p`` value to the declared type (papermill itself would guess from the text)."""
    kind, optional = _declared_type(spec)
    if optional and isinstance(value, str) and value.strip().lower() in {"none", "null"}:
        return None
    if kind is None:
        return value
    if kind in (list, dict) and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise RunError(f"-p {name}: {value!r} is not a valid {kind.__name__} (use JSON)") from None
    try:
        return report.validate(name, value, kind, optional=optional)
    except report.ParameterError as exc:
        raise RunError(f"-p {name}: {exc}") from None


def plan_parameters(selected: list[Notebook], overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per notebook, the overrides it declares, coerced; an override no notebook declares is an error."""
    declared = {nb.stem: declared_parameters(nb.path) for nb in selected}
    for name in overrides:
        if secret_like(name):
            raise RunError(
                f"-p {name}: secrets are never parameters; put it in .env or the environment instead"
            )
        if not any(name in params for params in declared.values()):
            stems = ", ".join(declared)
            raise RunError(
                f"-p {name}: none of the selected notebooks ({stems}) has a parameter named {name!r}; "
                f"list them with: papermill --help-notebook notebooks/NN_name.ipynb"
            )
    return {
        stem: {
            name: coerce_parameter(name, value, params[name])
            for name, value in overrides.items()
            if name in params
        }
        for stem, params in declared.items()
    }


# ---------------------------------------------------------------------------------------------- execution


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


def _check_kernel_imports_helpers(argv0: str) -> None:
    if Path(argv0).resolve() == Path(sys.executable).resolve():
        return
    import subprocess

    probe = subprocess.run([argv0, "-c", "import helpers"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        raise RunError(
            f"the {KERNEL_NAME} kernel ({argv0}) cannot import helpers: a user-level kernelspec shadows this "
            f"environment's; remove it (jupyter kernelspec remove {KERNEL_NAME}) or pip install -e . there"
        )


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


def _worker_init() -> None:
    """Worker processes leave Ctrl-C to the runner, and stop on SIGTERM (the runner's way to stop them)."""
    global _IN_WORKER
    _IN_WORKER = True
    _worker_signals()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # A runner killed outright (SIGKILL, OOM) cannot stop its workers, and an idle one waits on its task
    # queue forever; its kernel follows it out (ipykernel exits when its parent does).
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


_IN_WORKER = False


def _worker_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)


def _worker_stop(signum: int, _frame) -> None:
    # While a notebook runs, nbclient's own handler replaces this one and shuts the kernel down first.
    # Exit at once rather than raise: an exception raised here can land in a task (concurrent.futures
    # reports it as the task's result and the worker lives on) or in a weakref callback (ignored, with a
    # traceback). A kernel still starting follows its worker out.
    os._exit(128 + signum)


def execute_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one notebook into the staging folder; never raises (a worker-process entry point)."""
    try:
        return _execute_one(task)
    finally:
        if _IN_WORKER:  # nbclient resets SIGINT/SIGTERM to their defaults after each notebook
            _worker_signals()


def _execute_one(task: dict[str, Any]) -> dict[str, Any]:
    import nbformat
    import papermill

    # The runner prints its own one-line verdict; nbclient's and the kernel's log lines are noise here.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    # A stopped run shuts kernels down mid-cell; asyncio then logs nbclient's abandoned tasks as tracebacks.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    stem, staging = task["stem"], Path(task["staging"])
    source = Path(task["path"])
    out = staging / f"{stem}.ipynb"
    started_at = _now()
    print(f"[{stem}] started", flush=True)
    begin = time.monotonic()
    budget = float(task["timeout"])
    exc: BaseException | None = None
    for attempt in (1, 2):
        exc = None
        try:
            with _environment(_klaviyo_share(task.get("rate_share", 1.0))):
                _execute(papermill, source, out, task, budget)
        except Exception as caught:  # every failure (execution, timeout, dead kernel, no kernel) fails the job
            exc = caught
        # Parallel kernel start-ups can race for ZMQ ports (papermill #511); a kernel that died before
        # running a single cell gets one more try. Nothing has executed, so nothing is repeated.
        if exc is None or attempt == 2 or not _died_before_any_cell(exc, out):
            break
        print(f"[{stem}] the kernel did not start ({type(exc).__name__}); retrying once", flush=True)
    seconds = round(time.monotonic() - begin, 2)

    nb = nbformat.read(out, as_version=4) if out.exists() else None
    error = _describe_error(exc, budget, nb) if exc is not None else None
    if nb is None:  # papermill never got to save it (e.g. the kernel would not start)
        nb = nbformat.read(source, as_version=4)
    if error and not isinstance(exc, _papermill_execution_error()):
        _mark_stopped(nb, error)
    _scrub(nb, stem)
    metrics = report.read_records(nb)
    _write_atomic(out, nbformat.writes(nb))

    html_name = None
    if task["html"]:
        try:
            _write_atomic(staging / f"{stem}.html", export_html(nb, title=stem))
            html_name = f"{stem}.html"
        except Exception as export_exc:  # a missing report is a failed job, but the notebook is kept
            error = error or f"HTML export failed: {type(export_exc).__name__}: {export_exc}"
    return asdict(
        JobResult(
            notebook=stem,
            status=FAILED if error else SUCCEEDED,
            ipynb=f"{stem}.ipynb",
            html=html_name,
            seconds=seconds,
            error=error,
            metrics=metrics,
            sandbox=bool(task["sandbox"]),
            started_at=started_at,
            finished_at=_now(),
        )
    )


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


def _klaviyo_share(share: float) -> dict[str, str]:
    """Kernels running side by side share one Klaviyo account's limits: each paces against its share.

    Klaviyo counts every private key of an account in one bucket per endpoint, and each kernel's client
    paces only its own requests; without this, two jobs fetching profiles at once would each take the
    whole burst window and draw 429s.
    """
    if share >= 1.0:
        return {}
    base = float(os.environ.get("KLAVIYO_RATE_SCALE") or 1.0)
    return {"KLAVIYO_RATE_SCALE": repr(base * share)}


def _died_before_any_cell(exc: BaseException, out: Path) -> bool:
    import nbformat

    if isinstance(exc, _papermill_execution_error()):
        return False
    if not out.exists():
        return True
    try:
        return _running_cell_index(nbformat.read(out, as_version=4)) is None
    except Exception:  # a half-written file: treat like no file
        return True


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


# ---------------------------------------------------------------------------------------------- HTML


def export_html(nb, *, title: str) -> str:
    """A code-free report: no inputs, no prompts, no parameter cells, no record outputs; images inline."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

    class DropRecordsAndEmptyCells(Preprocessor):
        def preprocess(self, nb, resources):
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [o for o in cell.outputs if report.RECORD_MIME not in o.get("data", {})]
            nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
            return nb, resources

    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            enabled=True,
            remove_cell_tags={"parameters", "injected-parameters", "remove-cell"},
            remove_input_tags={"remove-input", "hide-input"},
            remove_all_outputs_tags={"remove-output"},
        ),
        enabled=True,
    )
    exporter.register_preprocessor(DropRecordsAndEmptyCells(enabled=True), enabled=True)
    import copy

    body, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources={"metadata": {"name": title}})
    return body


# ---------------------------------------------------------------------------------------------- publishing


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; reports are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _day_lock(run_dir: Path) -> Iterator[None]:
    """Two runs on the same day publish one at a time (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: single-run use only
        yield
        return
    with open(run_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("jobs"), list):
            return data
    except (OSError, ValueError):
        pass
    return {"date": run_dir.name, "sandbox": False, "jobs": []}


def _names(stem: str, failed: bool) -> tuple[str, str, str]:
    base = f"{stem}.failed" if failed else stem
    return f"{base}.ipynb", f"{base}.html", base


def _retire(run_dir: Path, names: Iterable[str], stamp: str) -> None:
    """Move a report's files out of the way into previous/<stamp>/ (never deleted)."""
    present = [run_dir / n for n in names if (run_dir / n).exists()]
    if not present:
        return
    target = run_dir / "previous" / stamp
    target.mkdir(parents=True, exist_ok=True)
    for path in present:
        os.replace(path, target / path.name)


def _stamp() -> str:
    return f"{dt.datetime.now():%H%M%S}-{uuid.uuid4().hex[:6]}"


def _kind(sandbox: bool) -> str:
    return "sandbox" if sandbox else "real"


def separate_kinds(run_dir: Path, sandbox: bool) -> str | None:
    """Keep sandbox and real reports out of one day folder (call under the day lock).

    When the day's published jobs are of the other kind, everything published (reports, artifacts,
    run.json, index.html; not ``previous/``) moves to ``previous/<stamp>/`` and the day starts afresh.
    Returns the line to print, or None when nothing moved.
    """
    kinds = {bool(job.get("sandbox")) for job in read_manifest(run_dir)["jobs"]}
    if not kinds or kinds == {sandbox}:
        return None
    target = run_dir / "previous" / _stamp()
    target.mkdir(parents=True)
    for path in run_dir.iterdir():
        if path.name != "previous" and not path.name.startswith("."):  # .lock, live staging, temp files
            os.replace(path, target / path.name)
    held = "mixed" if len(kinds) > 1 else _kind(not sandbox)
    return (
        f"{run_dir} held {held} reports; moved them to {target.relative_to(run_dir)}/ "
        f"so this {_kind(sandbox)} run does not mix with them"
    )


def remove_stale_staging(run_dir: Path) -> None:
    """Remove staging folders left by runs that were killed (call under the day lock); live ones are locked."""
    try:
        import fcntl
    except ImportError:  # Windows: cannot tell live from stale, so leave them
        return
    for folder in run_dir.glob(".staging-*"):
        marker = folder / ".active"
        try:
            with open(marker, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # another run is using it
        except OSError:
            pass  # not a folder or no marker could be made: stale either way
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _staging_in_use(staging: Path) -> Iterator[None]:
    """Hold a lock inside the staging folder for the run's lifetime, so other runs see it is live."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(staging / ".active", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def publish(
    run_dir: Path, staging: Path, outcome: dict[str, Any], stamp: str, echo: Callable[[str], None] | None = None
) -> JobResult:
    """Move one job from staging into the day's folder and update run.json/index.html (under the lock)."""
    job = JobResult(**outcome)
    stem = job.notebook
    with _day_lock(run_dir):
        # A run of the other kind may have started since this one did.
        moved = separate_kinds(run_dir, job.sandbox)
        if moved and echo:
            echo(moved)
        manifest = read_manifest(run_dir)
        previous = next((j for j in manifest["jobs"] if j.get("notebook") == stem), None)
        good = None
        if previous and previous.get("status") == SUCCEEDED:
            good = {k: previous.get(k) for k in ("ipynb", "html", "seconds", "metrics", "finished_at")}
        elif previous and previous.get("previous_success"):
            good = previous["previous_success"]
        if good and not (run_dir / str(good.get("ipynb"))).exists():
            good = None  # the report it names is gone; nothing to protect

        keep_beside = job.status == FAILED and good is not None
        ipynb, html_name, artifacts = _names(stem, failed=keep_beside)
        if keep_beside:
            _retire(run_dir, _names(stem, failed=True), stamp)
            job.previous_success = good
        else:
            _retire(run_dir, (*_names(stem, failed=False), *_names(stem, failed=True)), stamp)

        os.replace(staging / f"{stem}.ipynb", run_dir / ipynb)
        job.ipynb = ipynb
        if job.html:
            os.replace(staging / job.html, run_dir / html_name)
            job.html = html_name
        if (staging / stem).is_dir():
            # Copied, not moved: jobs still running in this run read it from staging (04/05 need 01's
            # personas.json). The staging folder is removed when the run ends.
            shutil.copytree(staging / stem, run_dir / artifacts)

        manifest["jobs"] = sorted(
            [j for j in manifest["jobs"] if j.get("notebook") != stem] + [asdict(job)],
            key=lambda j: j.get("notebook", ""),
        )
        manifest["date"] = run_dir.name
        manifest["sandbox"] = job.sandbox
        _write_atomic(run_dir / "run.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        _write_atomic(run_dir / "index.html", render_index(manifest))
    return job


def _seed_staging(run_dir: Path, staging: Path, selected: list[Notebook], sandbox: bool = False) -> None:
    """Give this run the published artifacts of jobs it does not rerun (e.g. 01's personas for 04).

    Only from jobs of the same kind: sandbox persona ids mean nothing to the real Mavera, and back.
    """
    chosen = {nb.stem for nb in selected}
    for job in read_manifest(run_dir)["jobs"]:
        stem = job.get("notebook", "")
        source = run_dir / stem
        if bool(job.get("sandbox")) != sandbox:
            continue
        if stem and stem not in chosen and source.is_dir():
            shutil.copytree(source, staging / stem)


# ---------------------------------------------------------------------------------------------- index.html


def _headline(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:37] + "…"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_headline(v)}" for k, v in list(value.items())[:6])
        return "{" + inner + (", …" if len(value) > 6 else "") + "}"
    if isinstance(value, list):
        return f"{len(value)} item" + ("" if len(value) == 1 else "s")
    return html.escape(str(value))


def _link(href: str | None, label: str) -> str:
    return f'<a href="{html.escape(href)}">{label}</a>' if href else "—"


def render_index(manifest: dict[str, Any]) -> str:
    rows = []
    for job in manifest["jobs"]:
        metrics = job.get("metrics") or {}
        items = "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(_headline(v))}</li>" for k, v in metrics.items()
        )
        status = job.get("status", "?")
        extra = ""
        if job.get("error"):
            extra += f'<div class="error">{html.escape(job["error"])}</div>'
        kept = job.get("previous_success")
        if kept:
            extra += (
                f'<div class="kept">The earlier successful report is still published: '
                f"{_link(kept.get('html'), 'report')} · {_link(kept.get('ipynb'), 'notebook')}</div>"
            )
        sandbox = ' <span class="sbx">sandbox</span>' if job.get("sandbox") else ""
        rows.append(
            f'<tr class="{html.escape(status)}"><td><b>{html.escape(job.get("notebook", "?"))}</b>{sandbox}</td>'
            f"<td>{html.escape(status)}{extra}</td><td>{float(job.get('seconds') or 0):.1f} s</td>"
            f"<td>{html.escape(job.get('finished_at') or '')}</td>"
            f"<td>{_link(job.get('html'), 'report')} · {_link(job.get('ipynb'), 'notebook')}</td>"
            f"<td><ul>{items}</ul></td></tr>"
        )
    banner = ""
    if any(job.get("sandbox") for job in manifest["jobs"]):
        banner = f'<p class="banner">{html.escape(report.SANDBOX_BANNER)} (rows marked “sandbox”).</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workbooks {html.escape(manifest["date"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 6px 8px; text-align: left; vertical-align: top; }}
tr.failed td:nth-child(2) {{ color: #b91c1c; font-weight: 600; }}
tr.succeeded td:nth-child(2) {{ color: #15803d; font-weight: 600; }}
.error {{ font-weight: 400; font-size: 0.9em; }} .kept {{ color: #444; font-weight: 400; font-size: 0.9em; }}
.banner {{ border: 2px solid #b45309; background: #fef3c7; color: #78350f; padding: 8px 12px; }}
.sbx {{ background: #fef3c7; color: #78350f; font-size: 0.8em; padding: 0 4px; }}
ul {{ margin: 0; padding-left: 1.2em; }}
</style></head><body>
<h1>Klaviyo × Mavera workbooks — {html.escape(manifest["date"])}</h1>
{banner}
<table><tr><th>job</th><th>status</th><th>duration</th><th>finished</th><th>links</th><th>headline numbers</th></tr>
{"".join(rows)}
</table>
<p>Manifest: <a href="run.json">run.json</a>. Replaced reports are kept under <code>previous/</code>.</p>
</body></html>
"""


# ---------------------------------------------------------------------------------------------- the run


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the kernels (they inherit this process's environment), then restore."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _preflight() -> None:
    """Real keys are checked before five kernels start, so a missing key is one line, not five tracebacks."""
    try:
        config.KlaviyoSettings.from_env()
        config.MaveraSettings.from_env()
    except config.ConfigError as exc:
        raise RunError(str(exc)) from None


def run_jobs(
    *,
    jobs: Iterable[int] | None = None,
    notebooks_dir: str | Path | None = None,
    out: str | Path | None = None,
    date: str | dt.date | None = None,
    parameters: dict[str, Any] | None = None,
    sandbox: bool = False,
    seed: int = DEFAULT_SEED,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
    html: bool = True,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Run the selected notebooks into ``<out>/<date>/``; raises :class:`RunError` only before executing."""
    config.load_env()
    nb_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    selected = select(discover(nb_dir), jobs)
    plan = plan_parameters(selected, dict(parameters or {}))
    run_date = _parse_date(date)
    if not math.isfinite(timeout) or timeout <= 0:
        raise RunError(f"--timeout {timeout:g}: give a positive number of seconds")
    if workers < 1:
        raise RunError(f"--workers {workers}: give at least 1")
    argv0 = kernel_command()
    _check_kernel_imports_helpers(argv0)
    # Absolute: kernels run in the notebooks' folder, so a relative path would mean another place to them.
    run_dir = (Path(out).expanduser().resolve() if out else config.project_root() / "outputs") / run_date

    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if sandbox:
            from helpers.sandbox import Sandbox

            sb = stack.enter_context(Sandbox(seed=seed))
            env.update(sb.env())
            echo(f"sandbox: Klaviyo at {sb.klaviyo_base_url}, Mavera at {sb.mavera_base_url} (seed {seed})")
        elif nb_dir.resolve() == default_notebooks_dir().resolve():
            _preflight()
        is_sandbox = sandbox or env.get("WORKBOOKS_SANDBOX") == "1" or config.is_sandbox()

        run_dir.mkdir(parents=True, exist_ok=True)
        stamp = _stamp()
        staging = run_dir / f".staging-{stamp}"
        with _day_lock(run_dir):
            remove_stale_staging(run_dir)
            staging.mkdir()
            stack.callback(shutil.rmtree, staging, ignore_errors=True)
            stack.enter_context(_staging_in_use(staging))
            moved = separate_kinds(run_dir, is_sandbox)
            if moved:
                echo(moved)
            _seed_staging(run_dir, staging, selected, is_sandbox)
        env["WORKBOOKS_RUN_DIR"] = str(staging)
        stack.enter_context(_environment(env))
        echo(f"kernel {KERNEL_NAME}: {argv0}; {len(selected)} job(s) into {run_dir}")

        tasks = [
            {
                "stem": nb.stem,
                "path": str(nb.path),
                "staging": str(staging),
                "parameters": plan[nb.stem],
                "timeout": timeout,
                "html": html,
                "sandbox": is_sandbox,
            }
            for nb in selected
        ]
        results: list[JobResult] = []

        def finished(outcome: dict[str, Any]) -> None:
            with _interrupts.deferred():  # a half-published job would be worse than either outcome
                job = publish(run_dir, staging, outcome, stamp, echo)
                results.append(job)
            if job.ok:
                echo(f"[{job.notebook}] succeeded in {job.seconds:.1f} s -> {run_dir / (job.html or job.ipynb)}")
            else:
                kept = " (earlier successful report kept)" if job.previous_success else ""
                echo(f"[{job.notebook}] FAILED in {job.seconds:.1f} s: {job.error}{kept}")

        first = [task for nb, task in zip(selected, tasks, strict=True) if nb.number == FIRST_JOB]
        rest = [task for nb, task in zip(selected, tasks, strict=True) if nb.number != FIRST_JOB]
        # Always in worker processes, even one at a time: nbclient takes over SIGINT/SIGTERM in the process
        # that runs a notebook, and this one must stay able to stop everything and clean up.
        # spawn, not fork: this process may be running the sandbox's server threads.
        pool = ProcessPoolExecutor(
            max_workers=min(workers, max(len(rest), 1)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
        )
        try:
            for task in first:
                finished(pool.submit(execute_one, task).result())
            share = 1.0 / min(workers, len(rest)) if rest else 1.0
            for future in as_completed([pool.submit(execute_one, {**task, "rate_share": share}) for task in rest]):
                finished(future.result())
        except KeyboardInterrupt as exc:
            _stop_pool(pool)
            raise RunInterrupted(len(results), len(tasks) - len(results), isinstance(exc, Terminated)) from None
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)

    order = {nb.stem: i for i, nb in enumerate(selected)}
    results.sort(key=lambda job: order[job.notebook])
    return RunResult(date=run_date, sandbox=is_sandbox, run_dir=run_dir, jobs=results)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and stop the workers; each shuts its kernel down, or is killed."""
    # No public handle on the workers before Python 3.14 (terminate_workers); shutdown() forgets them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():  # its kernel's parent poller ends the kernel once the worker is gone
            process.kill()
            process.join(5)


class _Interrupts:
    """SIGINT/SIGTERM as interrupts in :func:`main`, held back while a job is being published."""

    def __init__(self) -> None:
        self.installed = False
        self.deferring = 0
        self.pending: int | None = None

    def handle(self, signum: int, _frame) -> None:
        if self.deferring:
            self.pending = signum
            return
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    @contextlib.contextmanager
    def installed_for_main(self) -> Iterator[None]:
        saved = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.installed = True
        try:
            yield
        finally:
            self.installed = False
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring += 1
        try:
            yield
        finally:
            self.deferring -= 1
            pending, self.pending = self.pending, None
            if pending is not None and not self.deferring and self.installed:
                self.handle(pending, None)


_interrupts = _Interrupts()


def _parse_date(value: str | dt.date | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RunError(f"--date {value!r}: use YYYY-MM-DD, e.g. --date 2026-07-15") from None


# ---------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.run",
        description="Run the workbook notebooks with papermill into outputs/<date>/ (ipynb, HTML, run.json).",
    )
    parser.add_argument("--sandbox", action="store_true", help="start the local emulator and run against it")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sandbox store seed (default 7)")
    parser.add_argument("--jobs", help="job numbers to run, e.g. 1,3 (default: all)")
    parser.add_argument("--date", help="run date YYYY-MM-DD naming the output folder (default: today)")
    parser.add_argument("--out", help="output root (default: outputs/ in the project)")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="override a parameter in every selected notebook that has it (coerced to its declared type)",
    )
    parser.add_argument("--no-html", action="store_true", help="skip the per-notebook HTML reports")
    parser.add_argument("--notebooks", help="folder of NN_name.ipynb notebooks (default: notebooks/)")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT,
        help=f"time budget per notebook in seconds, kernel start excluded (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS,
        help=f"notebooks run in parallel after job 01 (default {DEFAULT_WORKERS})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    for name, value in args.parameter:
        overrides[name] = value
    try:
        with _interrupts.installed_for_main():
            result = run_jobs(
                jobs=parse_jobs(args.jobs) if args.jobs else None,
                notebooks_dir=args.notebooks,
                out=args.out,
                date=args.date,
                parameters=overrides,
                sandbox=args.sandbox,
                seed=args.seed,
                timeout=args.timeout,
                workers=args.workers,
                html=not args.no_html,
            )
    except (RunError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        print(exc, flush=True)
        return 143 if exc.terminated else 130
    except KeyboardInterrupt as exc:  # before any job started
        print("interrupted before any job ran; earlier reports untouched", flush=True)
        return 143 if isinstance(exc, Terminated) else 130
    failed = [job.notebook for job in result.jobs if not job.ok]
    summary = f"{len(result.jobs) - len(failed)} of {len(result.jobs)} job(s) succeeded"
    print(f"{summary}{'; failed: ' + ', '.join(failed) if failed else ''}")
    print(f"index: {result.index}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
