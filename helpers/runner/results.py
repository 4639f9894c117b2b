"""What a run returns (:class:`RunResult` of :class:`JobResult`) and the errors that end it early."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUCCEEDED, FAILED = "succeeded", "failed"
# The Klaviyo analysis was published but a Mavera step was not done (no personas, a refusal, spent credits or
# budget, an outage, a focus group that never completed): the job's ``missing`` says what and why, in one
# sentence. A notebook says so with ``helpers.report.not_done`` (helpers.steps does it for every Mavera step).
PARTIAL = "partial"
# Why a job failed, for schedulers (exit codes below, and each job's ``failure`` in run.json): a rerun may
# succeed (network, 5xx, an outage, a timeout, a full disk), or it cannot until something is changed
# (a bad parameter or setting; see helpers.runner.execute.PERMANENT_ERRORS).
TRANSIENT, PERMANENT = "transient", "permanent"
# Exit codes of python -m helpers.run. EXIT_PARTIAL: no job failed, but at least one is partial (its analysis is
# published, a Mavera step is missing); a failure's code wins over it.
EXIT_OK, EXIT_FAILED, EXIT_PERMANENT, EXIT_PARTIAL = 0, 1, 2, 3


class RunError(RuntimeError):
    """The run cannot start (bad flag, unknown job or parameter, missing setting); nothing has executed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (how schedulers stop a task), turned into an interrupt so the run cleans up as on Ctrl-C."""


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped part-way; the jobs published before the stop stay published."""

    def __init__(self, published: int, not_run: int, terminated: bool):
        super().__init__(f"interrupted: {published} published, {not_run} not run; earlier reports untouched")
        self.published, self.not_run, self.terminated = published, not_run, terminated


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
    title: str | None = None  # the notebook's "# heading", for index.html
    failure: str | None = None  # TRANSIENT or PERMANENT when the job failed
    pdf: str | None = None  # NN_name.pdf with --pdf: the report printed for A4/Letter
    run: str | None = None  # the run that published it (HHMMSS-xxxxxx): a day may hold several runs
    missing: str | None = None  # PARTIAL: what was not done and why, one sentence

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def published_analysis(self) -> bool:
        """Its report holds the Klaviyo analysis: succeeded, or partial."""
        return self.status in (SUCCEEDED, PARTIAL)


@dataclass
class RunResult:
    date: str
    sandbox: bool
    run_dir: Path
    jobs: list[JobResult]
    run_id: str | None = None
    index_pdf: Path | None = None  # with --pdf
    mail_error: str | None = None  # with --email-to: why the summary could not be sent (one line)

    @property
    def ok(self) -> bool:
        return bool(self.jobs) and all(job.ok for job in self.jobs)

    @property
    def exit_code(self) -> int:
        """0 when every job succeeded (and the mail, if asked for, was sent); 2 when one failed for a permanent
        reason (rerunning will not help); 1 when one failed at run time, perhaps for a passing reason, or the mail
        was not sent (retrying may help); else 3 when one is partial (every report is published; a Mavera step
        is missing, and the same run would miss it again until credits, personas or the service come back:
        see docs/airflow.md)."""
        if any(job.failure == PERMANENT for job in self.jobs):
            return EXIT_PERMANENT
        if self.ok and not self.mail_error:
            return EXIT_OK
        if self.jobs and all(job.published_analysis for job in self.jobs) and not self.mail_error:
            return EXIT_PARTIAL
        return EXIT_FAILED  # a job failed, or the mail could not be sent (the reports are published)

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
