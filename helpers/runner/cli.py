"""``python -m helpers.run``: the command line over :func:`run_jobs`, its exit codes and summary lines.

Exit codes, for schedulers (an Airflow task may retry on 1 and not on 2):

- 0: every job succeeded;
- 3: no job failed, but at least one is partial: its Klaviyo analysis is published and a Mavera step is missing
  (no personas, refused, out of credits or budget, an outage after retries); run.json's ``missing`` says what.
  Rerunning now would miss it again until that is fixed (docs/airflow.md: the DAG fails the task without retry);
- 1: a job failed at run time, possibly for a passing reason (network, a 5xx, a Mavera outage, a timeout,
  a full disk): a retry may succeed;
- 2: the run could not start (bad flag, parameter, setting or key, unusable ``--out``, bad accounts file or
  unknown ``--account``; nothing ran), or a job failed for a permanent reason (it stopped on one of
  ``execute.PERMANENT_ERRORS``: a bad parameter or setting, a rejected key): fix, then rerun;
- 130 / 143: stopped by Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from helpers import config
from helpers.redaction import redact, secrets
from helpers.runner import account as accounts
from helpers.runner import plan
from helpers.runner.batch import DEFAULT_SEED, DEFAULT_TIMEOUT, DEFAULT_WORKERS, mail_day, run_jobs
from helpers.runner.results import EXIT_PERMANENT, PARTIAL, PERMANENT, RunError, RunInterrupted, Terminated
from helpers.runner.workers import interrupts
from helpers.scheduling.accounts import Account

# The command's options as data: (flags, argparse settings), in the order --help lists them.
OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--sandbox",), {"action": "store_true", "help": "start the local emulator and run against it"}),
    (("--account",), {"metavar": "NAME", "help": "run for one account of the accounts file: its keys, "
                      "outputs/<account>/<date>/, its own caches and persona names, its parameter overrides (-p wins)"}),
    (("--accounts",), {"metavar": "FILE", "help": "accounts file for --account (default: "
                       f"${accounts.FILE_VARIABLE}, else accounts.toml in the project)"}),
    (("--seed",), {"type": int, "default": DEFAULT_SEED, "help": "sandbox store seed (default 7)"}),
    (("--jobs",), {"help": "job numbers to run, e.g. 1,3 (default: all)"}),
    (("--date",), {"help": "run date YYYY-MM-DD naming the output folder (default: today)"}),
    (("--out",), {"help": "output root (default: outputs/ in the project)"}),
    (("-p", "--parameter"), {"nargs": 2, "action": "append", "default": [], "metavar": ("NAME", "VALUE"),
                             "help": "override a parameter in every selected notebook that has it (coerced to its "
                                     "declared type)"}),
    (("--no-html",), {"action": "store_true", "help": "skip the per-notebook HTML reports"}),
    (("--pdf",), {"action": "store_true", "help": "also print each report and the index to NN_name.pdf and "
                  "index.pdf (A4; WORKBOOKS_PAPER=letter), with the system's Chromium"}),
    (("--email-to",), {"action": "append", "default": [], "metavar": "ADDRESS[,ADDRESS]",
                       "help": "when the run ends, mail its summary (and the PDFs with --pdf, else index.html) to "
                               "these addresses, through WORKBOOKS_SMTP_HOST/PORT/FROM (see .env.example); an "
                               "--account may name its own"}),
    (("--notebooks",), {"help": "folder of NN_name.ipynb notebooks (default: notebooks/)"}),
    (("--timeout",), {"type": float, "default": DEFAULT_TIMEOUT, "help": "time budget per notebook in seconds, "
                      f"kernel start excluded (default {DEFAULT_TIMEOUT:g})"}),
    (("--workers",), {"type": int, "default": DEFAULT_WORKERS,
                      "help": f"notebooks run in parallel after job 01 (default {DEFAULT_WORKERS})"}),
    (("--no-email",), {"action": "store_true", "help": "send no mail even if the --account names addresses (the "
                       "Airflow DAG's job tasks: it mails once a day)"}),
    (("--mail-only",), {"action": "store_true", "help": "run no job: mail the summary of the day's published "
                        "reports (run.json of --date) to --email-to or the account's addresses"}),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.run",
        description="Run the workbook notebooks with papermill into outputs/<date>/ (ipynb, HTML, run.json).",
    )
    for flags, settings in OPTIONS:
        parser.add_argument(*flags, **settings)
    return parser


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """Run the command; the exit code. ``exiting``: the process ends when this returns (``python -m``)."""
    args = build_parser().parse_args(argv)
    # Installed until the last line is printed: a second Ctrl-C during the clean-up hurries it, and never
    # replaces the closing line with a traceback. When the process is exiting they stay held to the end,
    # so a late press cannot turn exit code 130 into a death by signal after that line.
    with interrupts.installed_for_main(hold=exiting):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    for name, value in args.parameter:
        overrides[name] = value
    account = None
    try:
        account = _account(args)
        email_to = [] if args.no_email else args.email_to or (list(account.email_to) if account else [])
        if args.mail_only:
            return _mail_day(args, account, email_to)
        result = run_jobs(
            jobs=plan.parse_jobs(args.jobs) if args.jobs else None,
            notebooks_dir=args.notebooks,
            out=args.out,
            date=args.date,
            parameters=overrides,
            sandbox=args.sandbox,
            seed=args.seed,
            timeout=args.timeout,
            workers=args.workers,
            html=not args.no_html,
            account=account,
            pdf=args.pdf or bool(account and account.pdf),
            email_to=email_to,
        )
    except (RunError, config.ConfigError) as exc:
        # The account's keys are under their own names here: redact those too.
        known = [*secrets(), *(accounts.secrets(account) if account else [])]
        print(f"error: {redact(str(exc), known)}", file=sys.stderr)
        return EXIT_PERMANENT
    except RunInterrupted as exc:
        print(exc, flush=True)
        return 143 if exc.terminated else 130
    except KeyboardInterrupt as exc:  # run_jobs turns every later one into RunInterrupted
        print("interrupted before any job ran; earlier reports untouched", flush=True)
        return 143 if isinstance(exc, Terminated) else 130
    failed = [job.notebook for job in result.jobs if not job.published_analysis]
    partial = [job.notebook for job in result.jobs if job.status == PARTIAL]
    permanent = [job.notebook for job in result.jobs if job.failure == PERMANENT]
    summary = f"{len(result.jobs) - len(failed) - len(partial)} of {len(result.jobs)} job(s) succeeded"
    print(f"{summary}{'; partial: ' + ', '.join(partial) if partial else ''}"
          f"{'; failed: ' + ', '.join(failed) if failed else ''}")
    if permanent:
        print(f"not worth retrying before a fix: {', '.join(permanent)} (a parameter or setting is wrong)")
    print(f"index: {result.index}")
    if result.index_pdf:
        print(f"index (PDF): {result.index_pdf}")
    if result.mail_error:
        print(f"mail not sent: {result.mail_error}", file=sys.stderr)
    return result.exit_code


def _mail_day(args: argparse.Namespace, account: Account | None, email_to: list[str]) -> int:
    """``--mail-only``: the summary of the day's published reports, sent now; 0, or 1 when it was not sent."""
    if not email_to:
        raise RunError("--mail-only: say where to with --email-to ADDRESS (or email_to in the account's entry)")
    result = mail_day(args.out, args.date, account, email_to)
    if result.mail_error:
        print(f"mail not sent: {result.mail_error}", file=sys.stderr)
        return result.exit_code
    print(f"mail: sent to {', '.join(email_to)} ({len(result.jobs)} report(s) of {result.date})")
    return 0


def _account(args: argparse.Namespace) -> Account | None:
    """The account of ``--account NAME`` (``--accounts FILE``), or None: every run without one is as before."""
    if args.account is None:
        if args.accounts is not None:
            raise RunError(f"--accounts {args.accounts}: say which account to run with --account NAME")
        return None
    accounts.refuse_sandbox(args.account, args.sandbox)  # before the file is read: the flags alone are wrong
    return accounts.load(args.account, args.accounts)
