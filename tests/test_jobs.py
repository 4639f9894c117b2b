"""The job registry: every notebook is a job, 01's personas reach 04 and 05, and runs are ordered by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import jobs
from helpers.jobs import Job

ROOT = Path(__file__).resolve().parents[1]


def test_registry_names_exactly_the_notebooks():
    assert [j.stem for j in jobs.JOBS] == sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [j.number for j in jobs.JOBS] == [int(j.stem[:2]) for j in jobs.JOBS]


def test_personas_come_from_01_and_go_to_04_and_05():
    assert jobs.producer("personas") == jobs.job(1)
    assert [j.number for j in jobs.JOBS if "personas" in j.consumes] == [4, 5]
    assert jobs.job(1).produces == ("personas", "tiers")
    assert [j.number for j in jobs.JOBS if "tiers" in j.consumes] == [4]  # 04 weighs personas by tier size


def test_every_artifact_lives_in_its_producers_folder():
    consumed = {name for j in jobs.JOBS for name in j.consumes}
    produced = {name for j in jobs.JOBS for name in j.produces}
    assert consumed <= produced == set(jobs.ARTIFACTS)
    for name, relative in jobs.ARTIFACTS.items():
        assert Path(relative).parts[0] == jobs.producer(name).stem


@pytest.mark.parametrize("key", [4, "4", "04", "04_product_affinity_focus_group", " 04 "])
def test_job_by_number_or_stem(key):
    assert jobs.job(key).stem == "04_product_affinity_focus_group"


@pytest.mark.parametrize("key", [6, "product_affinity", "", "4_product_affinity_focus_group"])
def test_unknown_job_is_one_sentence_naming_the_jobs(key):
    with pytest.raises(LookupError, match=r"no job .*; the jobs are 01_persona_enrichment, 02_"):
        jobs.job(key)


def test_artifact_path_is_inside_the_run_folder(tmp_path):
    assert jobs.artifact_path(tmp_path, "personas") == tmp_path / "01_persona_enrichment" / "personas.json"
    assert jobs.artifact_path(str(tmp_path), "personas") == tmp_path / "01_persona_enrichment" / "personas.json"
    assert jobs.artifact_path(tmp_path, "tiers") == tmp_path / "01_persona_enrichment" / "tiers.csv"
    with pytest.raises(LookupError, match="no artifact 'orders'; artifacts: personas, tiers"):
        jobs.artifact_path(tmp_path, "orders")
    with pytest.raises(LookupError, match="no job produces 'orders'"):
        jobs.producer("orders")


def stems(stages):
    return [[j.number for j in stage] for stage in stages]


def test_all_jobs_run_04_and_05_after_01_the_rest_at_once():
    assert stems(jobs.order(jobs.JOBS)) == [[1, 2, 3], [4, 5]]


def test_order_ignores_input_order_and_sorts_each_stage():
    picked = [jobs.job(5), jobs.job(3), jobs.job(1), jobs.job(4)]
    assert stems(jobs.order(picked)) == [[1, 3], [4, 5]]


def test_a_consumer_without_its_producer_runs_at_once():
    assert stems(jobs.order([jobs.job(4), jobs.job(5)])) == [[4, 5]]
    assert stems(jobs.order([jobs.job(2)])) == [[2]]
    assert jobs.order([]) == []


def test_chains_make_one_stage_per_link():
    chain = [Job(3, "03_c", consumes=("b",)), Job(1, "01_a", produces=("a",)),
             Job(2, "02_b", produces=("b",), consumes=("a",)), Job(4, "04_d")]
    assert stems(jobs.order(chain)) == [[1, 4], [2], [3]]


def test_a_cycle_is_refused_with_its_path():
    loop = [Job(1, "01_a", produces=("a",), consumes=("b",)), Job(2, "02_b", produces=("b",), consumes=("a",))]
    with pytest.raises(ValueError, match=r"cycle: 0[12]_[ab] -> 0[12]_[ab] -> 0[12]_[ab]"):
        jobs.order(loop)


def test_a_job_consuming_its_own_artifact_is_not_a_cycle():
    # e.g. a job that reads yesterday's copy of what it rewrites today
    assert stems(jobs.order([Job(1, "01_a", produces=("a",), consumes=("a",))])) == [[1]]
