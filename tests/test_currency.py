"""helpers.report.currency: which currency a report's money is in, said honestly, and amounts written in it."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.report.currency import ENV, currency, from_events


@pytest.fixture(autouse=True)
def no_configured_currency(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def test_order_events_that_name_one_currency_decide():
    events = pd.DataFrame({"properties": [{"$value": 10, "$currency_code": "eur"}, {"$value": 5, "currency": "EUR"}]})
    found = currency(events)
    assert found.code == "EUR" and found.symbol == "€" and not found.assumed
    assert found.text == "EUR (€), from the order events"


def test_events_with_several_currencies_or_none_do_not_decide(monkeypatch):
    assert from_events([{"currency": "EUR"}, {"currency": "GBP"}]) is None
    assert from_events([{"$value": 3}, "not a dict", {"currency": "euro"}]) is None
    monkeypatch.setenv(ENV, "gbp")
    found = currency(pd.DataFrame({"properties": [{"currency": "EUR"}, {"currency": "GBP"}]}))
    assert (found.code, found.source) == ("GBP", f"the account currency ({ENV})")


def test_without_data_or_setting_dollars_are_assumed_and_the_header_says_so():
    found = currency(pd.DataFrame({"other": [1]}))
    assert found.code == "USD" and found.assumed
    assert found.text.startswith("USD ($), assumed: Klaviyo's data does not name its currency")
    assert ENV in found.text


def test_amounts_carry_the_symbol_separators_and_a_real_minus():
    usd, chf = currency(), currency([{"currency": "CHF"}])
    assert usd.format(1234.5) == "$1,234.50" and usd.format(-12, 0) == "−$12"
    assert chf.format(99.999) == "CHF 100.00"
    assert usd.format(float("nan")) == "–"
