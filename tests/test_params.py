"""Parameter specs: declared once per notebook, consistent with its parameters cell, one sentence per bad value."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from helpers import params
from helpers.jobs import JOBS
from helpers.params import Choice, Items, Range, Rule, Spec, Text
from helpers.run import declared_parameters

ROOT = Path(__file__).resolve().parents[1]
STEMS = [j.stem for j in JOBS]


def declared(stem):
    """papermill's reading of the notebook's parameters cell (what the runner uses)."""
    return declared_parameters(ROOT / "notebooks" / f"{stem}.ipynb")


def test_every_notebook_has_a_spec():
    assert sorted(params.SPECS) == STEMS


@pytest.mark.parametrize("stem", STEMS)
def test_spec_names_only_parameters_the_notebook_declares(stem):
    assert params.SPECS[stem].names <= set(declared(stem)), params.SPECS[stem].names - set(declared(stem))


@pytest.mark.parametrize("stem", STEMS)
def test_every_parameter_but_a_switch_has_a_check(stem):
    unchecked = {name for name, spec in declared(stem).items() if spec["inferred_type_name"] != "bool"}
    assert unchecked - params.SPECS[stem].names == set()


@pytest.mark.parametrize("stem", STEMS)
def test_defaults_are_read_as_papermill_reads_them_and_pass_the_spec(stem):
    defaults = params.defaults(stem)
    assert defaults == {name: ast.literal_eval(spec["default"]) for name, spec in declared(stem).items()}
    assert params.problems(stem, defaults) == []
    params.check(stem, defaults)


@pytest.mark.parametrize(("stem", "values", "sentence"), [
    ("02_flow_content_refresh", {"significance": 0.9},
     "parameter significance=0.9 must be at most 0.5; pass e.g. -p significance 0.05."),
    ("02_flow_content_refresh", {"significance": 0},
     "parameter significance=0 must be above 0; pass e.g. -p significance 0.05."),
    ("02_flow_content_refresh", {"significance": "0.05"},
     "parameter significance='0.05' should be a number; pass e.g. -p significance 0.05."),
    ("02_flow_content_refresh", {"variants": True},
     "parameter variants=True should be a number; pass e.g. -p variants 2."),
    ("02_flow_content_refresh", {"min_recipients": float("nan")},
     "parameter min_recipients=nan should be a number; pass e.g. -p min_recipients 500."),
    ("04_product_affinity_focus_group", {"min_co_orders": 0},
     "parameter min_co_orders=0 must be at least 1; pass e.g. -p min_co_orders 20."),
    ("05_sms_vs_email_testing", {"timeframe": "last_2_days"},
     "parameter timeframe='last_2_days' is not one of 'last_30_days', 'last_90_days', 'last_3_months', "
     "'last_365_days', 'last_12_months', 'this_month', 'last_month', 'this_year', 'last_year'; "
     "pass e.g. -p timeframe last_365_days."),
    ("05_sms_vs_email_testing", {"conversion_metric": "  "},
     "parameter conversion_metric='  ' is empty; pass e.g. -p conversion_metric 'Placed Order'."),
    ("05_sms_vs_email_testing", {"pair_window_days": -1},
     "parameter pair_window_days=-1 must be at least 0; pass e.g. -p pair_window_days 7."),
    ("01_persona_enrichment", {"clv_field": "clv"},
     "parameter clv_field='clv' is not one of 'predicted_clv', 'total_clv', 'historic_clv'; "
     "pass e.g. -p clv_field predicted_clv."),
    ("01_persona_enrichment", {"churn_bounds": [0.3, "high"]},
     "parameter churn_bounds=[0.3, 'high'] has 'high' at position 2, which should be a number; "
     "pass e.g. -p churn_bounds '[0.3, 0.6]'."),
    ("01_persona_enrichment", {"predictions": "maybe"},
     "parameter predictions='maybe' is not one of 'auto', 'klaviyo', 'model'; pass e.g. -p predictions auto."),
    ("01_persona_enrichment", {"order_lookback_days": 4000},
     "parameter order_lookback_days=4000 must be at most 3650; pass e.g. -p order_lookback_days 365."),
    ("04_product_affinity_focus_group", {"persona_ids": "clx1"},
     "parameter persona_ids='clx1' should be a list; pass e.g. -p persona_ids '[\"clx...\"]'."),
    ("04_product_affinity_focus_group", {"persona_ids": [f"p{k}" for k in range(11)]},
     f"parameter persona_ids={[f'p{k}' for k in range(11)]!r} has 11 items; give at most 10; "
     "pass e.g. -p persona_ids '[\"clx...\"]'."),
    ("03_segment_overlap", {"segment_ids": ["S1", 7]},
     "parameter segment_ids=['S1', 7] has 7 at position 2, which should be text; "
     "pass e.g. -p segment_ids '[\"SEGMENT_ID_1\", \"SEGMENT_ID_2\"]'."),
])
def test_a_bad_value_is_one_sentence_saying_what_to_pass(stem, values, sentence):
    assert params.problems(stem, values) == [sentence]
    with pytest.raises(params.ParameterError) as caught:
        params.check(stem, values)
    assert str(caught.value) == sentence


@pytest.mark.parametrize(("stem", "values", "sentence"), [
    ("01_persona_enrichment", {"tier_cuts": [0.9, 0.6]},
     "tier_cuts must be increasing quantiles strictly between 0 and 1, e.g. [0.6, 0.9]; got [0.9, 0.6]."),
    ("01_persona_enrichment", {"tier_cuts": [0.5, 0.75, 0.9]},  # four tiers, three default names
     "tier_names needs one name per tier (4 for 3 cut points); got 3."),
    ("01_persona_enrichment", {"churn_bounds": [0.6, 0.3]},
     "churn_bounds must be two increasing probabilities between 0 and 1, e.g. [0.3, 0.6]; got [0.6, 0.3]."),
    ("03_segment_overlap", {"segment_ids": ["only-one"]},
     "segment_ids needs at least two segments to compare (or [] for all active ones)."),
    ("04_product_affinity_focus_group", {"min_answers": 8},
     "responses_per_persona=5 is below min_answers=8, so no persona could back a bundle; raise "
     "responses_per_persona or lower min_answers."),
    ("05_sms_vs_email_testing", {"responses_per_persona": 2, "min_answers": 3},
     "responses_per_persona=2 is below min_answers=3, so no persona's preference could count; raise "
     "responses_per_persona or lower min_answers."),
])
def test_rules_across_parameters_fill_in_the_notebook_defaults(stem, values, sentence):
    assert params.problems(stem, values) == [sentence]


def test_every_problem_is_listed_and_check_raises_the_first():
    values = {**params.defaults("04_product_affinity_focus_group"), "top_n": 0, "bundle_discount": 1.5,
              "responses_per_persona": 2}
    found = params.problems("04_product_affinity_focus_group", values)
    assert [s.split("=")[0] for s in found] == ["parameter top_n", "parameter bundle_discount", "responses_per_persona"]
    with pytest.raises(params.ParameterError, match=r"^parameter top_n=0 must be at least 1;"):
        params.check("04_product_affinity_focus_group", values)


def test_a_rule_waits_for_its_parameters_to_pass_their_own_checks():
    # min_answers is not a number: its own sentence, and no rule comparing it with a number
    assert params.problems("04_product_affinity_focus_group", {"min_answers": "five"}) == [
        "parameter min_answers='five' should be a number; pass e.g. -p min_answers 5."]


def test_only_given_names_are_checked_and_unknown_notebooks_have_nothing_to_check():
    assert params.problems("02_flow_content_refresh", {"unrelated": -1, "__name__": "__main__"}) == []
    assert params.problems("01_succeeds", {"anything": object()}) == []
    params.check("01_succeeds", {"x": -1})


def test_notebook_globals_work_as_values():
    namespace = {"__builtins__": {}, "json": json, **params.defaults("03_segment_overlap"), "tiny_share": 0.6}
    with pytest.raises(params.ParameterError, match=r"^parameter tiny_share=0.6 must be at most 0.5; "):
        params.check("03_segment_overlap", namespace)


def test_open_bounds_on_either_side():
    assert Range(0, 1, open=True).problem(0) == "must be above 0"
    assert Range(0, 1, open=True).problem(1) == "must be below 1"
    assert Range(0, 1, open="high").problem(0) is None and Range(0, 1, open="high").problem(1) == "must be below 1"
    assert Range(0, 1, open="low").problem(1) is None and Range(0, 1, open="low").problem(0) == "must be above 0"
    assert Range(0.01, 1).problem(0.001) == "must be at least 0.01"
    assert Range().problem(-1e300) is None


def test_checks_of_other_kinds():
    assert Choice("a", "b").problem("a") is None and Choice(1, 2).problem(3) == "is not one of 1, 2"
    assert Text().problem(3) == "should be text" and Text().problem(" x ") is None
    assert Items().problem([1, "a", None]) is None and Items(at_most=1).problem([1, 2]) == "has 2 items; give at most 1"


def test_without_the_notebook_file_there_is_no_example_and_rules_use_what_is_given(tmp_path, monkeypatch):
    monkeypatch.setitem(params.SPECS, "09_elsewhere", Spec(
        {"n": Range(1)}, rules=(Rule(("n", "m"), lambda n, m: "n must exceed m." if n <= m else None),)))
    assert params.problems("09_elsewhere", {"n": 0}) == ["parameter n=0 must be at least 1."]
    assert params.problems("09_elsewhere", {"n": 2}) == []  # m unknown: the rule cannot run
    assert params.problems("09_elsewhere", {"n": 2, "m": 3}) == ["n must exceed m."]


def test_defaults_read_literals_from_another_folder(tmp_path):
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None,
            "source": ["a: int = 3  # a\n", "b = [1, 'x']\n", "c: float = -0.5\n"]}
    (tmp_path / "09_x.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                                     "nbformat_minor": 5}))
    assert params.defaults("09_x", tmp_path) == {"a": 3, "b": [1, "x"], "c": -0.5}
    (tmp_path / "09_y.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(LookupError, match="09_y.ipynb has no cell tagged 'parameters'"):
        params.defaults("09_y", tmp_path)


# ---- coercion and validation of one value (what the runner applies to each -p)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("n", "5", int), {}, 5),
        (("r", 1, float), {}, 1.0),
        (("on", "yes", bool), {}, True),
        (("d", "2026-07-15", dt.date), {}, dt.date(2026, 7, 15)),
        (("ids", '["a"]', list), {"minimum": 1}, ["a"]),
        (("tf", "last_90_days", str), {"choices": ["last_30_days", "last_90_days"]}, "last_90_days"),
        (("cap", None, int), {"optional": True}, None),
    ],
)
def test_validate_accepts_and_coerces(args, kwargs, expected):
    assert params.validate(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("n", "five", int), {}, "parameter n='five' should be a whole number"),
        (("n", True, int), {}, "parameter n=True should be a whole number"),
        (("n", 0, int), {"minimum": 1}, "parameter n=0 must be at least 1"),
        (("share", 1.5, float), {"maximum": 1}, "parameter share=1.5 must be at most 1"),
        (("tf", "yesterday", str), {"choices": ["last_30_days"]}, "parameter tf='yesterday' is not one of"),
        (("d", "15/07/2026", dt.date), {}, "parameter d='15/07/2026' should be a date like 2026-07-15"),
        (("ids", [], list), {"minimum": 1}, "parameter ids=[] must be at least 1"),
        (("ratio", "inf", float), {}, "parameter ratio='inf' should be a finite number"),
        (("ratio", float("-inf"), float), {}, "parameter ratio=-inf should be a finite number"),
        (("ratio", "nan", float), {}, "parameter ratio='nan' should be a finite number"),
        (("cap", None, int), {}, "parameter cap is required"),
    ],
)
def test_validate_rejects_with_one_sentence(args, kwargs, message):
    with pytest.raises(params.ParameterError) as info:
        params.validate(*args, **kwargs)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
