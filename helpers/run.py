"""The batch runner: ``python -m helpers.run`` executes the notebooks with papermill into dated outputs.

The code lives in the ``helpers.runner`` package (plan, workers, execute, export, publish, index, cli);
this module is the fixed command and the import path users and schedulers rely on::

    python -m helpers.run --sandbox --jobs 1,3
    from helpers.run import run_jobs, main

One run selects notebooks and checks ``-p`` overrides before anything executes, runs each notebook into
a staging folder inside ``<out>/<date>/`` (job 01 first, since 04 and 05 use its personas; the rest in
parallel worker processes), exports code-free HTML, and publishes every job as it finishes, rewriting
``run.json`` and ``index.html`` atomically. Same-day rerun rules: ``helpers/runner/publish.py``.
"""

from __future__ import annotations

import sys

from helpers.params import secret_like
from helpers.runner import JobResult, RunError, RunResult, main, run_jobs
from helpers.runner.plan import NOTEBOOK_PATTERN, declared_parameters

__all__ = [
    "NOTEBOOK_PATTERN", "JobResult", "RunError", "RunResult",
    "declared_parameters", "main", "run_jobs", "secret_like",
]

if __name__ == "__main__":
    sys.exit(main(exiting=True))
