"""tools.bench_memory: reading a kernel's peak memory, and the checks the memory case reports."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tools import bench, bench_memory

STATUS = """Name:\tpython
State:\tS (sleeping)
VmPeak:\t 2345676 kB
VmSize:\t 2345600 kB
VmHWM:\t  812344 kB
VmRSS:\t  700100 kB
"""


def test_vm_hwm_is_read_from_proc_status_text():
    assert bench_memory.vm_hwm_kb(STATUS) == 812344
    assert bench_memory.vm_hwm_kb("Name:\tpython\nState:\tZ (zombie)\n") is None


def test_kernels_are_told_from_the_runner_and_its_workers():
    assert bench_memory.is_kernel(["/x/.venv/bin/python", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"])
    assert bench_memory.is_kernel(["python", "/site-packages/ipykernel_launcher.py", "-f", "k.json"])
    assert not bench_memory.is_kernel(["python", "-m", "helpers.run", "--jobs", "1"])
    assert not bench_memory.is_kernel(["python", "-c", "from multiprocessing.spawn import spawn_main"])


def test_memory_jobs_are_parsed_or_refused():
    assert bench_memory.parse_jobs("1,3") == [1, 3]
    assert bench_memory.parse_jobs("3") == [3]
    assert bench_memory.parse_jobs("2") is None
    assert bench_memory.parse_jobs("1,x") is None
    with pytest.raises(SystemExit):
        bench.main(["--memory-jobs", "1,4"])


def test_truth_check_compares_each_planted_fact():
    truth = {"redundant_pairs": [["a", "b"]], "nested_pairs": [["c", "d"]], "tiny_segments": ["e"]}
    metrics = {"redundant_pairs": [["a", "b"]], "nested_pairs": [], "tiny_segments": ["e"]}
    assert bench_memory.truth_check(3, metrics, truth) == {
        "redundant_pairs": True, "nested_pairs": False, "tiny_segments": True}
    # A job that failed before recording anything gets every fact wrong, even one the truth lacks.
    assert bench_memory.truth_check(1, {}, {"profiles_total": 5}) == {
        "profiles_total": False, "profiles_without_predictions": False}


def test_sampler_finds_a_kernel_below_its_parent_and_its_peak(tmp_path):
    """A stand-in kernel (its script is named ipykernel_launcher.py) two levels down touches 200 MB, frees it,
    and waits; the sampler, reading after the free, still sees the peak, and tells it from the small parent."""
    kernel = tmp_path / "ipykernel_launcher.py"
    kernel.write_text(textwrap.dedent("""
        import sys
        block = bytearray(200 * 2**20)  # zero pages are not resident until written
        for i in range(0, len(block), 4096):
            block[i] = 1
        del block
        print("ready", flush=True)
        sys.stdin.read()
    """))
    parent = f"import subprocess, sys; sys.exit(subprocess.call([sys.executable, {str(kernel)!r}]))"
    proc = subprocess.Popen([sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        sampler = bench_memory.TreeSampler(proc.pid)
        sampler.sample()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert sampler.kernel_peak_kb() >= 200 * 1024
    assert sampler.other_peak_kb() < 100 * 1024
    assert len(sampler.peaks) == 2
