"""An unusable ``--out`` stops the run before any job; a disk that fills mid-job fails that job alone.

Real file systems, not patched calls: a read-only tmpfs (root ignores permission bits, not a read-only
mount) and a small tmpfs that a notebook fills. Skipped, saying why, where mounting is not allowed.
"""

from __future__ import annotations

import json

from helpers import run
from tests.runner.support import FIXTURES, tmpfs, write_notebook

FILLS_DISK = '''\
from helpers import report

job = report.setup("02_fills_disk")
if tally:
    with open(tally, "a") as handle:  # outside the full disk: how often this notebook ran
        handle.write("ran\\n")
'''
WRITE = '''\
with open(job.artifacts / "filler.bin", "wb") as handle:
    for _ in range(megabytes):
        handle.write(b"\\0" * 2**20)
        handle.flush()
report.record("megabytes", megabytes)
'''


def one_line_error(capsys, code):
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: --out "), captured.err
    assert "Traceback" not in captured.err
    assert "started" not in captured.out  # no job began
    return captured.err


def test_out_naming_a_file(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("not a folder")
    code = run.main(["--notebooks", str(FIXTURES), "--out", str(target), "--jobs", "1", "--no-html"])
    err = one_line_error(capsys, code)
    assert "is a file, not a folder" in err
    assert target.read_text() == "not a folder"


def test_out_on_a_read_only_file_system(tmp_path, capsys):
    with tmpfs(tmp_path / "ro", read_only=True) as folder:
        code = run.main(["--notebooks", str(FIXTURES), "--out", str(folder / "reports"), "--jobs", "1"])
        err = one_line_error(capsys, code)
        assert "Read-only file system" in err and "give a folder you can write to" in err


def test_out_on_a_full_disk(tmp_path, capsys):
    with tmpfs(tmp_path / "full", size="256k") as folder:
        try:
            with open(folder / "filler", "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass
        code = run.main(["--notebooks", str(FIXTURES), "--out", str(folder), "--jobs", "1"])
        err = one_line_error(capsys, code)
        assert "No space left on device" in err and "free space there" in err
        assert not list(folder.rglob(".staging-*"))


def test_a_job_that_fills_the_disk_fails_as_itself_and_earlier_reports_stay(tmp_path, capfd):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_succeeds.ipynb").write_bytes((FIXTURES / "01_succeeds.ipynb").read_bytes())
    write_notebook(notebooks / "02_fills_disk.ipynb",
                   'megabytes: int = 0  # how much to write\ntally: str = ""  # file counting the runs',
                   FILLS_DISK, WRITE)
    tally = tmp_path / "tally.txt"
    with tmpfs(tmp_path / "disk", size="4m") as disk:
        argv = ["--notebooks", str(notebooks), "--out", str(disk), "--date", "2026-07-15", "--no-html"]
        assert run.main([*argv, "--jobs", "1,2"]) == 0
        day = disk / "2026-07-15"
        earlier = {name: (day / name).read_bytes() for name in ("01_succeeds.ipynb", "02_fills_disk.ipynb")}
        capfd.readouterr()

        code = run.main([*argv, "--jobs", "2", "-p", "megabytes", "64", "-p", "tally", str(tally)])
        captured = capfd.readouterr()
        assert code == 1, captured  # a run-time failure: retrying after freeing space may succeed
        assert "Traceback" not in captured.err, captured.err
        assert "retrying" not in captured.out  # a full disk is not a kernel that failed to start
        assert tally.read_text() == "ran\n"  # so the notebook ran once, its requests were not repeated
        (verdict,) = [line for line in captured.out.splitlines() if line.startswith("[02_fills_disk] FAILED")]
        assert "No space left on device" in verdict and "earlier successful report kept" in verdict

        manifest = json.loads((day / "run.json").read_text())
        jobs = {job["notebook"]: job for job in manifest["jobs"]}
        assert jobs["01_succeeds"]["status"] == "succeeded"
        failed = jobs["02_fills_disk"]
        assert failed["status"] == "failed" and failed["failure"] == "transient"
        assert "No space left on device" in failed["error"]
        assert failed["previous_success"]["ipynb"] == "02_fills_disk.ipynb"
        assert {name: (day / name).read_bytes() for name in earlier} == earlier  # earlier reports intact
        assert not list(day.glob(".staging-*")) and not list(day.glob(".02_fills_disk.*"))
