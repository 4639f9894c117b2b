"""The client's range-split fetches stay exact when many records share one `created`/`joined_group_at` value.

The sandbox's profiles are created at distinct seconds, so a split boundary never lands inside a group of
equal timestamps there; real accounts (imports, bulk sign-ups) have thousands of profiles created in the
same second. Here the sandbox's store is coarsened in place so that ties are everywhere, then the client
must still return every profile and every segment member exactly once.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.config import KlaviyoSettings
from helpers.klaviyo import KlaviyoClient
from sandbox import Sandbox

PROFILES = 3000


@pytest.fixture(scope="module")
def tied_sandbox():
    with Sandbox(seed=5, profiles=PROFILES, rate_scale=0) as sb:
        yield sb


@pytest.mark.parametrize("distinct", [1, 3, 37, 1095])
def test_fetches_are_exact_when_created_values_tie(tied_sandbox, distinct):
    sb = tied_sandbox
    p = sb.store.profiles
    original = p.created.copy()
    try:
        # Coarsen onto `distinct` instants, keeping created non-decreasing in the row index (the store's order).
        edges = np.linspace(original[0], original[-1] + 1, distinct + 1)
        p.created[:] = edges[np.searchsorted(edges, original, side="right") - 1].astype(np.int64)
        assert len(np.unique(p.created)) == distinct and np.all(np.diff(p.created) >= 0)

        kc = KlaviyoClient(KlaviyoSettings(api_key=sb.klaviyo_api_key, base_url=sb.klaviyo_base_url),
                           rate_scale=0, cache=False, progress=False)
        frame = kc.profiles()
        assert len(frame) == PROFILES and frame["profile_id"].is_unique
        ids = np.char.decode(p.ids, "ascii")
        assert set(frame["profile_id"]) == set(ids)

        members = kc.segment_members()
        assert set(members) == {s.id for s in sb.store.segments}
        for seg in sb.store.segments:
            got = members[seg.id]
            assert len(got) == len(set(got)) == len(seg.members), seg.id
            assert set(got) == set(ids[seg.members]), seg.id
    finally:
        p.created[:] = original
