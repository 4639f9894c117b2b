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
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from helpers import config, lifeline
from helpers.redaction import redact
from helpers.report import earlier_runs
from helpers.runner import account as accounts
from helpers.runner import execute, mail, plan, publish
from helpers.runner import pdf as pdf_export
from helpers.runner.results import (
    FAILED,
    PARTIAL,
    TRANSIENT,
    JobResult,
    RunError,
    RunInterrupted,
    RunResult,
    Terminated,
)
from helpers.runner.workers import environment, interrupts, run_stages
from helpers.scheduling.accounts import Account

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
    account: Account | None = None,
    echo: Callable[[str], None] = print,
    pdf: bool = False,
    email_to: Sequence[str] = (),
) -> RunResult:
    """Run the selected notebooks into ``<out>/<date>/``; raises :class:`RunError` only before executing.

    Everything that can be checked is checked before any kernel starts, in this order: the account (its
    keys must be set), the notebooks and ``parameters``, the date and limits, the kernel, the settings (the
    project's notebooks only: fixtures and other folders may need no keys), and last ``out`` (which is
    then made).

    ``account`` (from ``helpers.scheduling.accounts``): its keys, API roots, cache folder and persona prefix are this
    run's environment and its kernels' (until it returns), the run goes to ``<out>/<account>/<date>/``, and
    the account's parameter overrides apply under ``parameters``, which win.
    """
    config.load_env()
    with _account_scope(account, sandbox):
        nb_dir = Path(notebooks_dir) if notebooks_dir else plan.default_notebooks_dir()
        notebooks = plan.discover(nb_dir)
        selected = plan.select(notebooks, jobs)
        layers = accounts.layers(account) if account else []
        overrides = plan.plan_parameters(selected, dict(parameters or {}), layers, known=notebooks)
        run_date = _parse_date(date)
        _check_limits(timeout, workers)
        if pdf:
            pdf_export.check()
        recipients = mail.check(email_to) if email_to else []
        argv0 = execute.kernel_command()
        execute.check_kernel_imports_helpers(argv0)
        project_notebooks = nb_dir.resolve() == plan.default_notebooks_dir().resolve()
        if project_notebooks and not sandbox:
            plan.check_settings()
        # Absolute: kernels run in the notebooks' folder, so a relative path would mean another place to them.
        out_root = Path(out).expanduser().resolve() if out else config.project_root() / "outputs"
        # An account's days are apart from every other's: its own lock, staging, same-day reruns, previous/.
        run_dir = account.output_dir(out_root, run_date) if account else out_root / run_date
        publish.check_writable(run_dir, out_root)

        finished: _Publisher | None = None  # set once jobs may start: an interrupt before it ran none
        try:
            with contextlib.ExitStack() as stack:
                env, is_sandbox = _connect(stack, sandbox, seed, echo, out_root)
                if sandbox and project_notebooks:
                    with environment(env):  # the sandbox's URLs and keys; the rest (cache folder) is the user's
                        plan.check_settings()
                staging, stamp = publish.open_staging(stack, run_dir, selected, is_sandbox, echo)
                env["WORKBOOKS_RUN_DIR"] = str(staging)
                # Where the notebooks find their earlier runs ("Since the last run", helpers.report.earlier_runs): the
                # folder of dated days this run's day sits in (an account's own, with --account).
                env[earlier_runs.OUT_ROOT_ENV] = str(run_dir.parent)
                env[earlier_runs.RUN_DATE_ENV] = run_date
                env[lifeline.ENV] = str(os.getpid())  # kernels refuse to send once this process is gone
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
                        "pdf": pdf,
                    }
                    for nb in selected
                }
                stages = [[tasks[nb.stem] for nb in stage] for stage in plan.run_order(selected)]
                finished = _Publisher(run_dir, staging, stamp, echo)
                run_stages(stages, workers, finished)
        except KeyboardInterrupt as exc:
            # Also an interrupt during the clean-up after the last job: what was published decides the words.
            if finished is None or isinstance(exc, RunInterrupted):
                raise
            published = len(finished.results)
            raise RunInterrupted(published, len(selected) - published, isinstance(exc, Terminated)) from None

        order = {nb.stem: i for i, nb in enumerate(selected)}
        results = sorted(finished.results, key=lambda job: order[job.notebook])
        result = RunResult(date=run_date, sandbox=is_sandbox, run_dir=run_dir, jobs=results, run_id=stamp)
        if pdf:
            result.index_pdf = publish.print_index(run_dir, echo)
        if recipients:
            result.mail_error = mail.send_run(result, recipients, account=account.name if account else None)
            echo(f"mail: {result.mail_error}" if result.mail_error else f"mail: sent to {', '.join(recipients)}")
        return result


def mail_day(out: str | Path | None, date: str | None, account: Account | None, email_to: Sequence[str]) -> RunResult:
    """Mail the summary of a day's published reports (its run.json) without running anything: the Airflow DAG's
    last task per account, after its one-job tasks (``--mail-only``). A :class:`RunError` when the day has
    no reports or the mail settings are wrong; a mail that fails is ``RunResult.mail_error``."""
    config.load_env()
    recipients = mail.check(email_to)
    run_date = _parse_date(date)
    out_root = Path(out).expanduser().resolve() if out else config.project_root() / "outputs"
    run_dir = account.output_dir(out_root, run_date) if account else out_root / run_date
    manifest = publish.read_manifest(run_dir)
    if not manifest["jobs"]:
        raise RunError(f"--mail-only: {run_dir} holds no reports (no run.json): run the jobs of {run_date} first")
    fields = set(JobResult.__dataclass_fields__)
    jobs = [JobResult(**{k: v for k, v in entry.items() if k in fields}) for entry in manifest["jobs"]]
    index_pdf = run_dir / "index.pdf"
    result = RunResult(date=run_date, sandbox=bool(manifest.get("sandbox")), run_dir=run_dir, jobs=jobs,
                       index_pdf=index_pdf if index_pdf.is_file() else None)
    result.mail_error = mail.send_run(result, recipients, account=account.name if account else None)
    return result


@contextlib.contextmanager
def _account_scope(account: Account | None, sandbox: bool) -> Iterator[None]:
    """Without an account, nothing changes; with one, its environment (``runner.account``) for the run."""
    if account is None:
        yield
        return
    accounts.refuse_sandbox(account.name, sandbox)
    with environment(accounts.environment(account)):
        yield


class _Publisher:
    """Called with each job's outcome as it finishes: publishes it and prints its one-line verdict."""

    def __init__(self, run_dir: Path, staging: Path, stamp: str, echo: Callable[[str], None]):
        self.run_dir, self.staging, self.stamp, self.echo = run_dir, staging, stamp, echo
        self.results: list[JobResult] = []

    def __call__(self, outcome: dict[str, Any]) -> None:
        with interrupts.deferred():  # a half-published job would be worse than either outcome
            try:
                job = publish.publish(self.run_dir, self.staging, outcome, self.stamp, self.echo)
            except OSError as exc:  # the disk filled or the folder went away: this job fails, the run goes on
                job = JobResult(**outcome)
                job.status, job.failure = FAILED, job.failure or TRANSIENT
                job.error = redact((f"{job.error}; " if job.error else "") + f"not published: {exc}")
            self.results.append(job)
        if job.ok:
            self.echo(f"[{job.notebook}] succeeded in {job.seconds:.1f} s -> {self.run_dir / (job.html or job.ipynb)}")
        elif job.status == PARTIAL:
            kept = " (the day's complete report stays published)" if job.previous_success else ""
            self.echo(f"[{job.notebook}] PARTIAL in {job.seconds:.1f} s -> {self.run_dir / (job.html or job.ipynb)}: "
                      f"{job.missing}{kept}")
        else:
            kept = " (earlier successful report kept)" if job.previous_success else ""
            self.echo(f"[{job.notebook}] FAILED in {job.seconds:.1f} s: {job.error}{kept}")


def sandbox_state_file(out_root: Path, seed: int) -> Path:
    """Where ``--sandbox`` keeps the emulated Mavera's personas for this output folder and seed, so a run of 04
    or 05 alone finds the personas job 01 made in an earlier run, as it would on the real Mavera."""
    return out_root / f".sandbox-mavera-seed{seed}.json"


def _connect(
    stack: contextlib.ExitStack, sandbox: bool, seed: int, echo: Callable[[str], None], out_root: Path | None = None
) -> tuple[dict[str, str], bool]:
    """(environment for the kernels, whether the data is from a sandbox); starts the sandbox if asked, its Mavera
    personas kept under ``out_root`` (:func:`sandbox_state_file`; None: this sandbox only)."""
    env: dict[str, str] = {}
    if sandbox:
        from sandbox import Sandbox  # the runner's only import of the emulator

        scale = _sandbox_rate_scale()
        # WORKBOOKS_SANDBOX_NO_PREDICTIONS=1: an account without Klaviyo's predictive analytics (python -m sandbox
        # --no-predictions), so job 01 models churn and CLV from the orders.
        predictions = os.environ.get("WORKBOOKS_SANDBOX_NO_PREDICTIONS", "").strip() not in ("1", "true", "yes")
        state = sandbox_state_file(out_root, seed) if out_root is not None else None
        sb = stack.enter_context(Sandbox(seed=seed, rate_scale=scale, predictions=predictions, mavera_state=state))
        env.update(sb.env())
        limits = "" if scale == 1 else ", limits off" if scale == 0 else f", limits x{scale:g}"
        shop = "" if predictions else ", no predictions"
        echo(f"sandbox: Klaviyo at {sb.klaviyo_base_url}, Mavera at {sb.mavera_base_url} (seed {seed}{limits}{shop})")
    return env, sandbox or env.get("WORKBOOKS_SANDBOX") == "1" or config.is_sandbox()


def _sandbox_rate_scale() -> float:
    """The share of Klaviyo's real limits the sandbox enforces: ``KLAVIYO_RATE_SCALE`` when set (the client
    paces against the same share), else 1, so a demo waits as a real account would; 0 switches them off
    (the tests' runs, a quick look)."""
    try:
        scale = config.rate_scale()
    except config.ConfigError:
        raw = os.environ.get("KLAVIYO_RATE_SCALE", "").strip()
        raise RunError(f"KLAVIYO_RATE_SCALE={raw!r}: give a number >= 0 (1: Klaviyo's limits, 0: none)") from None
    return 1.0 if scale is None else scale


def _check_limits(timeout: float, workers: int) -> None:
    if not math.isfinite(timeout) or timeout <= 0:
        raise RunError(f"--timeout {timeout:g}: give a positive number of seconds")
    if workers < 1:
        raise RunError(f"--workers {workers}: give at least 1")


def _parse_date(value: str | dt.date | None) -> str:
    """The run date: today by default; a date after today is refused (its folder would sort after every real
    run, and "since the last run" would compare against a day that has not happened)."""
    if value is None:
        return dt.date.today().isoformat()
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise RunError(f"--date {value!r}: use YYYY-MM-DD, e.g. --date 2026-07-15") from None
    # Today in UTC; or the local date where it is already tomorrow there (east of UTC), so the default
    # date of a run is never refused when given explicitly.
    today = max(dt.datetime.now(dt.UTC).date(), dt.date.today())
    if day > today:
        raise RunError(f"--date {day.isoformat()} is after today ({today.isoformat()}, UTC): give today or an "
                       "earlier date, or leave --date out")
    return day.isoformat()
