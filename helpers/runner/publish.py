"""The day folder ``<out>/<date>/``: staging, the day lock, publishing one job, ``run.json``.

Same-day reruns: a succeeded job replaces the day's report for that notebook, and the report it
replaces moves to ``<date>/previous/<HHMMSS-id>/``. A failed or partial job never replaces a succeeded one:
it is kept beside it as ``NN_name.failed.ipynb`` / ``.failed.html`` / ``NN_name.failed/`` (``.partial``
likewise), and its run.json entry (status ``failed`` or ``partial``) carries ``previous_success`` pointing at
the report that is still published. With no succeeded report that day a partial one is published under the
plain name, and a failed rerun is then kept beside it in turn (``previous_success`` names the partial report,
with its ``status``): a published Klaviyo analysis is never replaced by a failure.
Sandbox and real reports never share a day folder (:func:`separate_kinds`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from helpers.runner.files import write_atomic
from helpers.runner.index import render_index
from helpers.runner.plan import Notebook
from helpers.runner.results import FAILED, PARTIAL, SUCCEEDED, TRANSIENT, JobResult, RunError

INDEX_PDF = "index.pdf"
_KEPT_FIELDS = ("status", "ipynb", "html", "pdf", "seconds", "metrics", "finished_at", "missing")
_BESIDE = (FAILED, PARTIAL)  # the suffixes of attempts kept beside a published report


def check_writable(run_dir: Path, out: Path) -> None:
    """``--out`` must be a folder this process can write in: else a :class:`RunError` before any job runs.

    Creating a file is the only test that holds for root too, who ignores permission bits but not a
    read-only mount or a full disk. Makes ``run_dir`` (as the run would anyway); leaves nothing else.
    """
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file, not a folder: give a folder (it is made if missing)")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir, prefix=".probe-") as probe:
            probe.write(b"x")  # a file of no bytes needs no space: one byte finds a full disk
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != out else ""
        raise RunError(
            f"--out {out} cannot be written: {exc.strerror or exc}{where}; give a folder you can write to"
            + (" or free space there" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "")
        ) from None


def open_staging(
    stack: contextlib.ExitStack, run_dir: Path, selected: list[Notebook], sandbox: bool, echo: Callable[[str], None]
) -> tuple[Path, str]:
    """Make this run's staging folder ``.staging-<stamp>`` (removed when ``stack`` closes); (folder, stamp).

    Under the day lock: staging left by killed runs is removed, a day of the other kind is moved aside,
    and the day's artifacts of jobs this run does not rerun are copied in. A write that fails here (a
    full disk) is a :class:`RunError`: no job has run yet.
    """
    try:
        return _open_staging(stack, run_dir, selected, sandbox, echo)
    except OSError as exc:
        raise RunError(
            f"cannot prepare {run_dir} for this run: {exc.strerror or exc}; free space there or give another --out"
        ) from None


def _open_staging(
    stack: contextlib.ExitStack, run_dir: Path, selected: list[Notebook], sandbox: bool, echo: Callable[[str], None]
) -> tuple[Path, str]:
    run_dir.mkdir(parents=True, exist_ok=True)
    run_stamp = stamp()
    staging = run_dir / f".staging-{run_stamp}"
    with day_lock(run_dir):
        remove_stale_staging(run_dir)
        staging.mkdir()
        stack.callback(shutil.rmtree, staging, ignore_errors=True)
        stack.enter_context(staging_in_use(staging))
        moved = separate_kinds(run_dir, sandbox)
        if moved:
            echo(moved)
        seed_staging(run_dir, staging, selected, sandbox)
    return staging, run_stamp


def stamp() -> str:
    """A name for this run's staging and previous/ folders: the time, and a random part for same-second runs."""
    return f"{dt.datetime.now():%H%M%S}-{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------------------------------------- locks


@contextlib.contextmanager
def day_lock(run_dir: Path) -> Iterator[None]:
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


@contextlib.contextmanager
def staging_in_use(staging: Path) -> Iterator[None]:
    """Hold a lock inside the staging folder for the run's lifetime, so other runs see it is live."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(staging / ".active", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


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


# ---------------------------------------------------------------------------------------------- run.json


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("jobs"), list):
            return data
    except (OSError, ValueError):
        pass
    return {"date": run_dir.name, "sandbox": False, "jobs": []}


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """run.json and the index.html made from it (with the earlier days under the same root), each replaced
    whole."""
    write_atomic(run_dir / "run.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    write_atomic(run_dir / "index.html", render_index(manifest, root=run_dir.parent))


def _usage(metrics: dict[str, Any] | None) -> tuple[float, float]:
    metrics = metrics or {}
    numbers = []
    for key in ("mavera_credits", "klaviyo_requests"):
        value = metrics.get(key)
        numbers.append(float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0)
    return numbers[0], numbers[1]


def count_run(manifest: dict[str, Any], job: JobResult) -> None:
    """Add ``job``'s Mavera credits and Klaviyo requests to its run's line of the day's ledger (``runs``) and
    to the day's totals (``day_totals``). Kept apart from ``jobs``: a rerun replaces a job's entry, but the
    credits the earlier attempt spent were spent all the same, so the day counts every run."""
    runs = manifest.setdefault("runs", [])
    line = next((r for r in runs if r.get("run") == job.run), None)
    if line is None:
        line = {"run": job.run, "started": job.started_at, "jobs": [], "mavera_credits": 0, "klaviyo_requests": 0}
        runs.append(line)
    credits, requests_ = _usage(job.metrics)
    line["jobs"].append(job.notebook)
    if job.started_at and (not line.get("started") or job.started_at < line["started"]):
        line["started"] = job.started_at
    line["mavera_credits"] = _whole(line["mavera_credits"] + credits)
    line["klaviyo_requests"] = _whole(line["klaviyo_requests"] + requests_)
    manifest["day_totals"] = {
        "runs": len(runs),
        "mavera_credits": _whole(sum(r["mavera_credits"] for r in runs)),
        "klaviyo_requests": _whole(sum(r["klaviyo_requests"] for r in runs)),
    }


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def print_index(run_dir: Path, echo: Callable[[str], None] | None = None) -> Path | None:
    """``index.pdf`` from the day's run.json (under the day lock), laid out for print: the index without its
    links to local files (a forwarded PDF cannot follow them). None, with a line said, when it cannot be
    printed (the reports are published either way)."""
    from helpers.runner import pdf

    target = run_dir / INDEX_PDF
    with day_lock(run_dir):
        page = render_index(read_manifest(run_dir), root=run_dir.parent, printed=True)
        try:
            pdf.html_to_pdf(page, target)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            if echo:
                echo(f"index.pdf could not be printed: {exc}")
            return None
    return target


# ---------------------------------------------------------------------------------------------- the day folder


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
    target = run_dir / "previous" / stamp()
    target.mkdir(parents=True)
    for path in run_dir.iterdir():
        if path.name != "previous" and not path.name.startswith("."):  # .lock, live staging, temp files
            os.replace(path, target / path.name)
    held = "mixed" if len(kinds) > 1 else _kind(not sandbox)
    return (
        f"{run_dir} held {held} reports; moved them to {target.relative_to(run_dir)}/ "
        f"so this {_kind(sandbox)} run does not mix with them"
    )


def seed_staging(run_dir: Path, staging: Path, selected: list[Notebook], sandbox: bool = False) -> None:
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


# ---------------------------------------------------------------------------------------------- one job


def _names(stem: str, beside: str | None = None) -> tuple[str, str, str, str]:
    """(notebook, report, artifact folder, PDF) names: published, or kept beside as ``<stem>.<beside>``."""
    base = f"{stem}.{beside}" if beside else stem
    return f"{base}.ipynb", f"{base}.html", base, f"{base}.pdf"


def _retire(run_dir: Path, names: Iterable[str], stamp: str) -> None:
    """Move a report's files out of the way into previous/<stamp>/ (never deleted)."""
    present = [run_dir / n for n in names if (run_dir / n).exists()]
    if not present:
        return
    target = run_dir / "previous" / stamp
    target.mkdir(parents=True, exist_ok=True)
    for path in present:
        os.replace(path, target / path.name)


def _protected(run_dir: Path, manifest: dict[str, Any], stem: str, status: str) -> dict[str, Any] | None:
    """The day's published report of ``stem`` that a job of ``status`` must not replace, as its run.json fields
    (with its ``status``); or None. A succeeded report is protected from failed and partial attempts, a
    partial one from failed attempts; a succeeded job replaces either."""
    if status not in _BESIDE:
        return None
    previous = next((j for j in manifest["jobs"] if j.get("notebook") == stem), None)
    if previous is None:
        return None
    good = None
    if previous.get("previous_success"):
        good = previous["previous_success"]
    elif previous.get("status") == SUCCEEDED or (previous.get("status") == PARTIAL and status == FAILED):
        good = {k: previous.get(k) for k in _KEPT_FIELDS}
    if good and not (run_dir / str(good.get("ipynb"))).exists():
        return None  # the report it names is gone; nothing to protect
    if good and good.get("status", SUCCEEDED) == PARTIAL and status == PARTIAL:
        return None  # a partial attempt replaces a partial one
    return good


def _copy_artifacts(run_dir: Path, staging: Path, job: JobResult, stamp: str) -> Path | None:
    """Copy the job's artifact folder next to where it will be published (a hidden name); the copy or None.

    Copied, not moved: jobs still running in this run read it from staging (04/05 need 01's
    personas.json); the staging folder is removed when the run ends. Copied before anything is moved,
    so that a copy that fails (a full disk) fails this job as itself while the published reports are
    still untouched. Then the job's staged artifacts are dropped to free the space they hold, so that
    run.json can still record the failure.
    """
    source = staging / job.notebook
    if not source.is_dir():
        return None
    target = run_dir / f".{job.notebook}.publishing-{stamp}"
    try:
        shutil.copytree(source, target)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        number, reason = _why(exc)
        if number in (errno.ENOSPC, errno.EDQUOT):
            shutil.rmtree(source, ignore_errors=True)
        job.status = FAILED
        job.failure = job.failure or TRANSIENT
        job.error = (f"{job.error}; " if job.error else "") + f"its artifacts could not be published: {reason}"
        return None
    return target


def _why(exc: OSError) -> tuple[int | None, str]:
    """(errno, reason) of a failed copy; ``shutil.Error`` gathers one ``[Errno N] reason: path`` per file."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        text = str(exc.args[0][0][-1])
        found = re.match(r"\[Errno (\d+)\] ([^:]+)", text)
        return (int(found.group(1)), found.group(2)) if found else (None, text[:200])
    return exc.errno, exc.strerror or str(exc)[:200]


def _move_in(run_dir: Path, staging: Path, job: JobResult, beside: str | None, artifacts_copy: Path | None) -> None:
    """Move the job's notebook, report and artifact copy from staging to their published (or beside) names."""
    stem = job.notebook
    ipynb, html_name, artifacts, pdf_name = _names(stem, beside)
    if job.ipynb:
        os.replace(staging / job.ipynb, run_dir / ipynb)
        job.ipynb = ipynb
    if job.html:
        os.replace(staging / job.html, run_dir / html_name)
        job.html = html_name
    if job.pdf:
        os.replace(staging / job.pdf, run_dir / pdf_name)
        job.pdf = pdf_name
    if artifacts_copy is not None:
        os.replace(artifacts_copy, run_dir / artifacts)


def publish(
    run_dir: Path, staging: Path, outcome: dict[str, Any], stamp: str, echo: Callable[[str], None] | None = None
) -> JobResult:
    """Move one job from staging into the day's folder and update run.json/index.html (under the lock)."""
    job = JobResult(**outcome)
    job.run = stamp
    stem = job.notebook
    with day_lock(run_dir):
        # A run of the other kind may have started since this one did.
        moved = separate_kinds(run_dir, job.sandbox)
        if moved and echo:
            echo(moved)
        manifest = read_manifest(run_dir)
        artifacts_copy = _copy_artifacts(run_dir, staging, job, stamp)
        good = _protected(run_dir, manifest, stem, job.status)
        beside = job.status if good is not None else None
        attempts = [name for kind in _BESIDE for name in _names(stem, kind)]
        if beside:
            _retire(run_dir, attempts, stamp)
            job.previous_success = good
        else:
            _retire(run_dir, (*_names(stem), *attempts), stamp)
        # The day's index changes with this job, so a printed index.pdf would tell the old story: retired here,
        # printed again at the end of a --pdf run (print_index), absent after a run without --pdf.
        _retire(run_dir, [INDEX_PDF], stamp)
        try:
            _move_in(run_dir, staging, job, beside, artifacts_copy)
        finally:
            if artifacts_copy is not None and artifacts_copy.exists():  # moving in failed part-way
                shutil.rmtree(artifacts_copy, ignore_errors=True)

        manifest["jobs"] = sorted(
            [j for j in manifest["jobs"] if j.get("notebook") != stem] + [asdict(job)],
            key=lambda j: j.get("notebook", ""),
        )
        manifest["date"] = run_dir.name
        manifest["sandbox"] = job.sandbox
        count_run(manifest, job)
        try:
            write_manifest(run_dir, manifest)
        except OSError as exc:  # e.g. a full disk: the day's run.json and index.html stay as they were
            job.status = FAILED
            job.failure = job.failure or TRANSIENT
            job.error = (f"{job.error}; " if job.error else "") + f"not recorded in run.json: {exc.strerror or exc}"
    return job
