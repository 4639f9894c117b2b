"""What a notebook calls to turn its analysis into a report.

``job`` holds the set-up (:func:`setup`, :class:`Job`: saving tables, figures and JSON into the job's
folder) and :func:`record`, the headline numbers the runner copies into ``run.json``; the other modules
here are the report's parts: ``blocks`` (the findings, header and "since the last run" blocks), ``tables``,
``figures``, ``periods``, ``currency``, ``history`` and ``earlier_runs`` (what moved since the last run)
and ``next_steps``. Nothing here imports the exporter (nbconvert): kernels stay light.
"""

from helpers.report.job import (
    MISSING_RECORD,
    RECORD_MIME,
    SANDBOX_BANNER,
    Job,
    Period,
    currency,
    headless,
    missing,
    not_done,
    period,
    progress,
    read_json,
    read_records,
    record,
    record_usage,
    run_dir,
    setup,
    show_sandbox_banner,
)

__all__ = [
    "MISSING_RECORD", "RECORD_MIME", "SANDBOX_BANNER", "Job", "Period", "currency", "headless", "missing",
    "not_done", "period", "progress",
    "read_json", "read_records", "record", "record_usage", "run_dir", "setup", "show_sandbox_banner",
]
