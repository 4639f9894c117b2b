"""The papermill batch runner behind ``python -m helpers.run``; see ``helpers/run.py`` for what one run does.

Modules, in the order a run uses them: ``plan`` (which notebooks, parameters), ``workers`` (processes,
signals), ``execute`` (one notebook), ``export`` (its HTML report), ``publish`` (the day folder, run.json),
``index`` (index.html from ``templates/``), ``batch`` (:func:`run_jobs`), ``cli`` (:func:`main`).
"""

from helpers.runner.batch import run_jobs
from helpers.runner.cli import main
from helpers.runner.results import JobResult, RunError, RunResult

__all__ = ["JobResult", "RunError", "RunResult", "main", "run_jobs"]
