import json

from helpers import ratelimits
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
