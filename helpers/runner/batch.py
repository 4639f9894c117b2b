"""One batch run, :func:`run_jobs`: check everything, start the sandbox if asked, execute, publish.

1. selects notebooks (``jobs``), checks ``parameters`` against their parameters cells and coerces them to
   the declared types, before anything executes (``plan``);
2. executes each notebook into a private staging folder inside ``<out>/<date>/`` (the first job alone,
   the rest in parallel worker processes), with a time budget per notebook (``workers``, ``execute``);
3. exports a code-free HTML report per notebook and reads back what each notebook ``record``-ed;
4. publishes every job into ``<out>/<date>/`` as it finishes, and rewrites ``run.json`` and
   ``index.html`` atomically (``publish``, ``index``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from helpers import config, earlier_runs
from helpers.runner import execute, plan, publish
from helpers.runner.results import JobResult, RunError, RunInterrupted, RunResult, Terminated
from helpers.runner.workers import environment, interrupts, run_stages

DEFAULT_TIMEOUT = 3600.0
DEFAULT_WORKERS = 2
DEFAULT_SEED = 7


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
    nb_dir = Path(notebooks_dir) if notebooks_dir else plan.default_notebooks_dir()
    selected = plan.select(plan.discover(nb_dir), jobs)
    overrides = plan.plan_parameters(selected, dict(parameters or {}))
    run_date = _parse_date(date)
    _check_limits(timeout, workers)
    argv0 = execute.kernel_command()
    execute.check_kernel_imports_helpers(argv0)
    # Absolute: kernels run in the notebooks' folder, so a relative path would mean another place to them.
    run_dir = (Path(out).expanduser().resolve() if out else config.project_root() / "outputs") / run_date

    with contextlib.ExitStack() as stack:
        env, is_sandbox = _connect(stack, sandbox, seed, nb_dir, echo)
        staging, stamp = publish.open_staging(stack, run_dir, selected, is_sandbox, echo)
        env["WORKBOOKS_RUN_DIR"] = str(staging)
        # Where the notebooks find their earlier runs ("Since the last run", helpers.earlier_runs).
        env[earlier_runs.OUT_ROOT_ENV] = str(run_dir.parent)
        env[earlier_runs.RUN_DATE_ENV] = run_date
        stack.enter_context(environment(env))
        echo(f"kernel {execute.KERNEL_NAME}: {argv0}; {len(selected)} job(s) into {run_dir}")

        tasks = {
            nb.stem: {
                "stem": nb.stem,
                "path": str(nb.path),
                "staging": str(staging),
                "parameters": overrides[nb.stem],
                "timeout": timeout,
                "html": html,
                "sandbox": is_sandbox,
            }
            for nb in selected
        }
        stages = [[tasks[nb.stem] for nb in stage] for stage in plan.run_order(selected)]
        finished = _Publisher(run_dir, staging, stamp, echo)
        try:
            run_stages(stages, workers, finished)
        except KeyboardInterrupt as exc:
            published = len(finished.results)
            raise RunInterrupted(published, len(tasks) - published, isinstance(exc, Terminated)) from None

    order = {nb.stem: i for i, nb in enumerate(selected)}
    results = sorted(finished.results, key=lambda job: order[job.notebook])
    return RunResult(date=run_date, sandbox=is_sandbox, run_dir=run_dir, jobs=results)


class _Publisher:
    """Called with each job's outcome as it finishes: publishes it and prints its one-line verdict."""

    def __init__(self, run_dir: Path, staging: Path, stamp: str, echo: Callable[[str], None]):
        self.run_dir, self.staging, self.stamp, self.echo = run_dir, staging, stamp, echo
        self.results: list[JobResult] = []

    def __call__(self, outcome: dict[str, Any]) -> None:
        with interrupts.deferred():  # a half-published job would be worse than either outcome
            job = publish.publish(self.run_dir, self.staging, outcome, self.stamp, self.echo)
            self.results.append(job)
        if job.ok:
            self.echo(f"[{job.notebook}] succeeded in {job.seconds:.1f} s -> {self.run_dir / (job.html or job.ipynb)}")
        else:
            kept = " (earlier successful report kept)" if job.previous_success else ""
            self.echo(f"[{job.notebook}] FAILED in {job.seconds:.1f} s: {job.error}{kept}")


def _connect(
    stack: contextlib.ExitStack, sandbox: bool, seed: int, nb_dir: Path, echo: Callable[[str], None]
) -> tuple[dict[str, str], bool]:
    """(environment for the kernels, whether the data is from a sandbox); starts the sandbox if asked."""
    env: dict[str, str] = {}
    if sandbox:
        from sandbox import Sandbox  # the runner's only import of the emulator

        sb = stack.enter_context(Sandbox(seed=seed))
        env.update(sb.env())
        echo(f"sandbox: Klaviyo at {sb.klaviyo_base_url}, Mavera at {sb.mavera_base_url} (seed {seed})")
    elif nb_dir.resolve() == plan.default_notebooks_dir().resolve():
        _preflight()
    return env, sandbox or env.get("WORKBOOKS_SANDBOX") == "1" or config.is_sandbox()


def _preflight() -> None:
    """Real keys are checked before five kernels start, so a missing key is one line, not five tracebacks."""
    try:
        config.KlaviyoSettings.from_env()
        config.MaveraSettings.from_env()
    except config.ConfigError as exc:
        raise RunError(str(exc)) from None


def _check_limits(timeout: float, workers: int) -> None:
    if not math.isfinite(timeout) or timeout <= 0:
        raise RunError(f"--timeout {timeout:g}: give a positive number of seconds")
    if workers < 1:
        raise RunError(f"--workers {workers}: give at least 1")


def _parse_date(value: str | dt.date | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RunError(f"--date {value!r}: use YYYY-MM-DD, e.g. --date 2026-07-15") from None
