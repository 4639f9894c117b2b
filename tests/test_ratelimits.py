import json

import pytest

from helpers.http import ratelimits
from scripts.extract_ratelimits import extract


def test_profiles_limits_and_predictive_bucket():
    plain = ratelimits.limit_for("GET", "/api/profiles", {"page[size]": "100"})
    assert (plain.bucket, plain.burst, plain.steady) == ("GET /api/profiles", 75, 750)
    pa = ratelimits.limit_for("GET", "/api/profiles?additional-fields%5Bprofile%5D=subscriptions,predictive_analytics")
    assert (pa.bucket, pa.burst, pa.steady) == ("GET /api/profiles#predictive_analytics", 10, 150)


def test_templated_paths_share_one_bucket():
    a = ratelimits.limit_for("GET", "/api/segments/abc/relationships/profiles")
    b = ratelimits.limit_for("GET", "/api/segments/xyz/relationships/profiles")
    assert a == b and a.bucket == "GET /api/segments/{id}/relationships/profiles"
    count = ratelimits.limit_for("GET", "/api/segments/abc", {"additional-fields[segment]": "profile_count"})
    assert (count.burst, count.steady) == (1, 15)


def test_reporting_daily_cap():
    lim = ratelimits.limit_for("POST", "/api/flow-values-reports")
    assert (lim.burst, lim.steady, lim.daily) == (1, 2, 225)
    assert lim.scaled(10).steady == 20 and lim.scaled(0.01).steady == 1


def test_unknown_path_has_no_limit():
    assert ratelimits.limit_for("GET", "/api/not-a-thing/at/all") is None


def test_committed_table_matches_official_spec(openapi_spec_path):
    spec = json.loads(openapi_spec_path.read_text())
    assert extract(spec) == ratelimits._table()


@pytest.mark.parametrize("kernels", [2, 3, 4, 7])
def test_shares_of_parallel_clients_never_add_up_to_more_than_the_limit(kernels):
    limits = []
    for key, op in ratelimits._table()["operations"].items():
        limits.append(ratelimits.Limit(key, op["burst"], op["steady"], op["daily"]))
        limits += [ratelimits.Limit(key, c["burst"], c["steady"], op["daily"]) for c in op["conditional"]]
    for whole in limits:
        key = whole.bucket
        part = whole.share(1 / kernels)
        assert kernels * part.burst / part.burst_window <= whole.burst, key
        assert kernels * part.steady / part.steady_window <= whole.steady / 60, key
        assert part.burst >= 1 and part.steady >= 1
        if whole.daily is not None:
            assert kernels * part.daily <= whole.daily, key


def test_share_floors_and_stretches_where_scaled_rounds():
    count = ratelimits.limit_for("GET", "/api/segments/abc", {"additional-fields[segment]": "profile_count"})
    assert (count.burst, count.steady) == (1, 15)
    half = count.share(0.5)
    assert (half.burst, half.burst_window, half.steady, half.steady_window) == (1, 2, 7, 60)
    third = ratelimits.limit_for("POST", "/api/flow-values-reports").share(1 / 3)  # 1/s, 2/min, 225/day
    assert (third.burst, third.burst_window, third.steady, third.steady_window, third.daily) == (1, 3, 1, 120, 75)
    assert ratelimits.limit_for("GET", "/api/profiles").share(1 / 3).burst == 25  # 75/3, not 24
    # The sandbox's enforcement keeps rounding (unchanged for scale >= 1).
    assert (count.scaled(0.5).burst, count.scaled(0.5).steady) == (1, 8)
