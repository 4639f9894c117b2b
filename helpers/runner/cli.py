"""``python -m helpers.run``: the command line over :func:`run_jobs`, its exit codes and summary lines."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from helpers import config
from helpers.runner import plan
from helpers.runner.batch import DEFAULT_SEED, DEFAULT_TIMEOUT, DEFAULT_WORKERS, run_jobs
from helpers.runner.results import RunError, RunInterrupted, Terminated
from helpers.runner.workers import interrupts


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
        with interrupts.installed_for_main():
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
