"""Notebook 03 end to end against the sandbox: redundant, nested and tiny segments equal the planted truth.

Each seed is ONE notebook run that several assertions read: seed 7 is the session run the end-to-end checks
read too (conftest.py), seed 11 this module's own.
"""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from tests.notebooks.support import refused

pytestmark = pytest.mark.notebook
JOB = "03_segment_overlap"


@pytest.fixture(scope="module", params=[7, 11], ids=lambda s: f"seed{s}")
def outcome(request):
    return request.getfixturevalue(f"day_seed{request.param}").jobs[JOB]  # the shared runs (tests/conftest.py)


def test_notebook_succeeds(outcome):
    assert outcome["job"].ok, outcome["job"].error


def test_overlap_findings_equal_truth(outcome):
    metrics, truth = outcome["job"].metrics, outcome["truth"]
    assert truth["redundant_pairs"] and truth["nested_pairs"] and truth["tiny_segments"]
    assert metrics["redundant_pairs"] == truth["redundant_pairs"]
    assert metrics["nested_pairs"] == truth["nested_pairs"]
    assert metrics["tiny_segments"] == truth["tiny_segments"]
    assert metrics["segments_analyzed"] == truth["segments_total"]


def test_mave_answered_and_plan_saved(outcome):
    metrics, stats = outcome["job"].metrics, outcome["stats"]
    assert metrics["mave_thread_id"] and stats["mavera"]["chats"] == 1
    folder = outcome["dir"] / JOB
    assert "Sources" in (folder / "mave_answer.md").read_text()
    plan = (folder / "plan.csv").read_text()
    for tiny in metrics["tiny_segments"]:  # retired, unless a live campaign or flow uses it (then kept)
        assert (f"keep,{tiny}" if tiny in metrics["kept_in_use"] else f"retire,{tiny}") in plan


def _markdown(outcome, cell_id: str) -> str:
    nb = nbformat.read(outcome["dir"] / f"{JOB}.ipynb", as_version=4)
    return "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.get("id") == cell_id
                     for o in c.get("outputs", []))


def test_segments_in_use_are_kept_and_only_the_others_retired(outcome):
    """Planted: a tiny segment triggers a live flow, another is excluded by a scheduled push, a third is named
    only by a cancelled campaign. The first two are kept ("in use by …"), the third retired."""
    metrics, truth = outcome["job"].metrics, outcome["truth"]
    assert truth["kept_in_use"] and truth["retired_segments"]
    assert metrics["kept_in_use"] == truth["kept_in_use"]
    assert metrics["retired_segments"] == truth["retired_segments"]
    plan = _markdown(outcome, "cell-15")
    assert "Kept although tiny, because live campaigns or flows use them" in plan
    assert "flow “Beta Program Welcome” (trigger)" in plan and "(excluded audience)" in plan
    uses = (outcome["dir"] / JOB / "segment_uses.csv").read_text()
    assert all(s in uses for s in truth["segment_uses"])


def test_every_disagreement_between_mave_and_the_plan_is_listed(outcome):
    """Planted: Mave folds the nested segment into several others, retires the tiny segments in use and, for
    some seeds, one nothing flagged. The count is recorded and each one named under Mave's answer."""
    metrics, truth = outcome["job"].metrics, outcome["truth"]
    assert metrics["mave_disagreements"] == truth["mave_disagreements"] > 0
    listed = _markdown(outcome, "cell-13").split("### Mave and the plan", 1)[1]
    assert f"disagrees with the deterministic plan in {truth['mave_disagreements']} places" in listed
    segments = pd.read_csv(outcome["dir"] / JOB / "segments.csv")
    names = dict(zip(segments["segment_id"], segments["name"], strict=True))
    for inner in truth["mave_several_targets"]:
        assert f"Mave sends “{names[inner]}” into " in listed and "different segments" in listed
    for kept in truth["kept_in_use"]:
        assert f"Mave would retire “{names[kept]}”, which is in use by " in listed
    if truth["mave_planted_retirement"]:
        assert f"Mave would retire “{names[truth['mave_planted_retirement']]}”" in listed
    rows = (outcome["dir"] / JOB / "mave_disagreements.csv").read_text().splitlines()
    assert len(rows) == 1 + truth["mave_disagreements"]


def test_plan_table_shows_whole_reasons_and_no_nan(outcome):
    nb = nbformat.read(outcome["dir"] / f"{JOB}.ipynb", as_version=4)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.get("id") == "cell-12"
                   for o in c.get("outputs", []))
    assert "too few to target on its own" in html and "use it as a filter there" in html
    assert "…" not in html and ">nan<" not in html.lower()


def test_usage_is_recorded(outcome):
    metrics, stats = outcome["job"].metrics, outcome["stats"]
    assert metrics["sandbox"] is True
    assert metrics["mavera_credits"] == stats["mavera"]["credits_used"] > 0
    assert metrics["klaviyo_requests"] > 0


def test_bad_parameter_is_one_sentence_and_spends_nothing(sandbox, sandbox_env, tmp_path):
    before = sandbox.stats()
    error = refused(sandbox, tmp_path, 3, segment_ids=["only-one"])
    assert "segment_ids needs at least two segments" in error
    after = sandbox.stats()
    assert after["klaviyo"]["requests"] == before["klaviyo"]["requests"]
    assert after["mavera"]["credits_used"] == before["mavera"]["credits_used"]
