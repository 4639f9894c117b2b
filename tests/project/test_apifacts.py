"""apifacts: the data files both the clients and the emulator read, each saying where its numbers come from."""

from __future__ import annotations

import pytest

import apifacts


def test_every_fact_sheet_names_its_source():
    assert set(apifacts.names()) >= {"klaviyo_ratelimits", "mavera_prices"}
    for name in apifacts.names():
        source = apifacts.load(name).get("source")
        assert isinstance(source, str) and len(source) > 40, f"apifacts/{name}.json needs a 'source' sentence"


def test_load_hands_out_a_fresh_dict_each_time():
    first = apifacts.load("mavera_prices")
    first["persona"]["create"] = -1
    assert apifacts.load("mavera_prices")["persona"]["create"] == 300


def test_unknown_sheet_says_which_exist():
    with pytest.raises(KeyError, match="klaviyo_ratelimits, mavera_prices"):
        apifacts.load("nope")
