"""An unchanged rerun within the cache lifetimes costs nothing: no Klaviyo request, no Mavera credit.

Notebook 04 reads a year of events up to "now", the request that used to change on every run; the second
run, against the same sandbox and cache folder, must be answered from the caches and say so in its record.
"""

from __future__ import annotations

import pytest

from tests.notebooks.support import run_job, sandbox_session
from tests.notebooks.test_04_product_affinity_focus_group import make_personas

pytestmark = pytest.mark.notebook


def test_second_run_of_notebook_04_sends_nothing_and_spends_nothing(tmp_path_factory):
    with sandbox_session(tmp_path_factory, 7) as sb:
        make_personas(sb)
        first = run_job(sb, tmp_path_factory.mktemp("out"), 4)
        second = run_job(sb, tmp_path_factory.mktemp("out"), 4)
    assert first["job"].ok, first["job"].error
    assert second["job"].ok, second["job"].error
    one, two = first["job"].metrics, second["job"].metrics
    assert one["klaviyo_requests"] > 0 and one["mavera_credits"] > 0
    assert two["klaviyo_requests"] == 0 and two["mavera_credits"] == 0
    assert two["klaviyo_cache_hits"] == one["klaviyo_requests"] + one["klaviyo_cache_hits"]
    assert sum(second["stats"]["klaviyo"]["requests"].values()) == sum(first["stats"]["klaviyo"]["requests"].values())
    assert two["top_pairs"] == one["top_pairs"] and two["focus_group_id"] == one["focus_group_id"]
