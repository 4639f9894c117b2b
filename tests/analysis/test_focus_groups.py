"""Likert means, NPS and verdicts on hand-built focus-group answers with known results."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis.focus_groups import (
    choice_shares,
    likert_mean,
    nps,
    nps_by,
    scores_by,
    tag_questions,
    verdict_lines,
    verdict_table,
)


def test_nps_counts_promoters_minus_detractors():
    # 3 promoters (9, 10, 9), 2 passives (7, 8), 5 detractors (0..6) of 10 → 30 % − 50 % = −20.
    assert nps([9, 10, 9, 7, 8, 0, 3, 5, 6, 6]) == pytest.approx(-20.0)
    assert nps([10, 10]) == 100.0 and nps([0]) == -100.0 and nps([7, 8]) == 0.0
    assert nps(["9", "n/a", 10]) == 100.0
    assert math.isnan(nps([]))
    with pytest.raises(ValueError, match="0–10"):
        nps([11])


def test_likert_mean_ignores_non_numeric():
    assert likert_mean([1, 2, "3", None, "x"]) == pytest.approx(2.0)
    assert math.isnan(likert_mean([]))


def _answers():
    rows = []
    # persona p1 loves bundle X; p2 dislikes it; both lukewarm on Y.
    for persona, intent_x, nps_x, intent_y, nps_y, pick in [
        ("p1", [5, 4], [10, 9], [3, 3], [7, 8], ["Email", "Email"]),
        ("p2", [2, 1], [3, 5], [3, 2], [6, 8], ["SMS", "Email"]),
    ]:
        for r in (0, 1):
            rows += [
                (persona, f"Persona {persona}", r, "q1", "Buy X?", "likert", intent_x[r]),
                (persona, f"Persona {persona}", r, "q2", "Recommend X?", "nps", nps_x[r]),
                (persona, f"Persona {persona}", r, "q3", "Buy Y?", "likert", intent_y[r]),
                (persona, f"Persona {persona}", r, "q4", "Recommend Y?", "nps", nps_y[r]),
                (persona, f"Persona {persona}", r, "q5", "Which channel?", "multiple_choice", pick[r]),
                (persona, f"Persona {persona}", r, "q6", "Why?", "open_ended", "because"),
            ]
    return pd.DataFrame(
        rows,
        columns=["persona_id", "persona_name", "respondent", "question_id", "question", "type", "answer"],
    )


PLAN = pd.DataFrame(
    {
        "question_id": ["q1", "q2", "q3", "q4", "q5"],
        "question": ["Buy X?", "Recommend X?", "Buy Y?", "Recommend Y?", "Which channel?"],
        "subject": ["X", "X", "Y", "Y", "all"],
        "measure": ["intent", "nps", "intent", "nps", "channel"],
    }
)


def test_scores_by_persona_and_subject():
    tagged = tag_questions(_answers(), PLAN)
    assert "Why?" not in set(tagged["question"])
    scores = scores_by(tagged).set_index(["persona_id", "subject"])
    assert scores.loc[("p1", "X"), "intent"] == 4.5
    assert scores.loc[("p1", "X"), "nps"] == 100.0
    assert scores.loc[("p2", "X"), "intent"] == 1.5
    assert scores.loc[("p2", "X"), "nps"] == -100.0
    assert scores.loc[("p2", "Y"), "nps"] == -50.0  # one detractor (6), one passive (8)
    assert scores.loc[("p1", "Y"), "n"] == 2
    assert list(scores.columns) == ["intent", "nps", "n"]


def test_nps_by_persona_over_all_nps_questions():
    # p1: 10, 9, 7, 8 → 2 promoters of 4 = 50; p2: 3, 5, 6, 8 → 3 detractors of 4 = −75.
    assert nps_by(_answers()) == {"p1": 50.0, "p2": -75.0}


def test_choice_shares():
    shares = choice_shares(_answers())
    assert shares.loc["p1", "Email"] == 1.0
    assert shares.loc["p2", "SMS"] == 0.5


def test_tag_questions_requires_plan_columns():
    with pytest.raises(ValueError, match="measure"):
        tag_questions(_answers(), PLAN.drop(columns="measure"))
    with pytest.raises(ValueError, match="question_id"):
        tag_questions(_answers(), PLAN.drop(columns="question_id"))


def test_tag_questions_match_on_id_when_mavera_echoes_changed_text():
    echoed = _answers()
    echoed["question"] = echoed["question"].str.replace("?", " ?", regex=False).str.upper()
    tagged = tag_questions(echoed, PLAN)
    assert len(tagged) == len(tag_questions(_answers(), PLAN)) == 2 * 2 * 5
    assert scores_by(tagged).set_index(["persona_id", "subject"]).loc[("p1", "X"), "intent"] == 4.5


def test_verdict_table_marks_agreement_and_disagreement():
    scores = scores_by(tag_questions(_answers(), PLAN))
    data = pd.Series({"X": True, "Y": True, "Z": False})
    table = verdict_table(data, scores, min_n=2).set_index("subject")
    # X: p1 supports (4.5, 100), p2 does not → 1 of 2 is not a majority → "data only".
    assert table.loc["X", "personas_supporting"] == 1 and table.loc["X", "verdict"] == "data only"
    assert not table.loc["X", "agree"]
    # Y: intents 3.0 / 2.5 below 3.5 → "data only"; Z: no answers, no data support → "neither".
    assert table.loc["Y", "verdict"] == "data only"
    assert table.loc["Z", "verdict"] == "neither" and table.loc["Z", "agree"]
    lenient = verdict_table(data, scores, likert_threshold=1.0, nps_threshold=-100, min_n=2).set_index("subject")
    assert lenient.loc["X", "verdict"] == "both support" and lenient.loc["X", "agree"]
    assert lenient.loc["X", "min_answers"] == 2


def test_verdict_table_needs_min_answers_before_a_persona_backs_anything():
    scores = scores_by(tag_questions(_answers(), PLAN))
    data = pd.Series({"X": True})
    # Both personas would back X on these thresholds, but 2 answers each are fewer than the default 5.
    table = verdict_table(data, scores, likert_threshold=1.0, nps_threshold=-100).set_index("subject")
    with pytest.raises(TypeError):  # a misspelt rule keyword is refused, never silently ignored
        verdict_table(data, scores, min_answers=2)
    assert table.loc["X", "personas_supporting"] == 0 and table.loc["X", "verdict"] == "data only"
    assert table.loc["X", "min_answers"] == 2


def test_resolve_personas_order_of_sources():
    from helpers.analysis.focus_groups import resolve_personas

    listed = [
        {"id": "b", "name": "CLV tier: VIP"},
        {"id": "a", "name": "CLV tier: Occasional"},
        {"id": "x", "name": "Other"},
    ]
    assert resolve_personas(["p1", " p2 ", "p1", ""], {"VIP": "s"}, listed) == ["p1", "p2"]
    assert resolve_personas([], {"Occasional": "s1", "VIP": "s2"}, listed) == ["s1", "s2"]
    assert resolve_personas([], None, listed) == ["a", "b"]
    with pytest.raises(ValueError, match="run job 01 first .* or pass persona_ids"):
        resolve_personas([], {}, [{"id": "x", "name": "Other"}])


def test_question_plan_crosses_subjects_and_templates():
    from helpers.analysis.focus_groups import question_plan

    plan = question_plan(
        {"A|B": {"label": "Bundle 1"}, "C|D": {"label": "Bundle 2"}},
        [("intent", "likert", "Would you buy {label}?"), ("nps", "nps", "Recommend {label}?")],
    )
    assert len(plan) == 4
    assert list(plan["question_id"]) == ["q1", "q2", "q3", "q4"]
    assert plan.iloc[1].to_dict() == {
        "question_id": "q2",
        "subject": "A|B",
        "measure": "nps",
        "type": "nps",
        "question": "Recommend Bundle 1?",
    }
    with pytest.raises(ValueError, match="same text"):
        question_plan({"x": {"label": "B"}, "y": {"label": "B"}}, [("intent", "likert", "Buy {label}?")])


VERDICTS = pd.DataFrame(
    {
        "subject": ["A + B", "C + D", "E + F"],
        "bundle": ["Bundle 1 (Apron + Bowl (large))", "Bundle 2 (Cup + Dish)", "Bundle 3 (Egg + Fork)"],
        "verdict": ["both support", "data only", "neither"],
        "agree": [True, False, True],
    }
)


def test_verdict_lines_count_agreement_and_name_disagreements():
    lines = verdict_lines(VERDICTS, {"p1": 25.0, "p2": -40.0}, {"p1": "VIP"})
    assert lines == [
        "- Personas and data both back 1 of 3 tested bundles (Bundle 1).",
        "- They disagree on Bundle 2 (data only).",
        "- NPS by persona: VIP +25, p2 -40.",
    ]
    counted = verdict_lines(VERDICTS.assign(min_answers=[5, 6, 5]), {"p1": 25.0}, {"p1": "VIP"})
    assert counted[-1] == "- NPS by persona (at least 5 answers per persona and bundle; directional): VIP +25."
    agreeing = VERDICTS.assign(verdict="neither", agree=True)
    assert verdict_lines(agreeing, {}, {})[0] == "- Personas and data both back 0 of 3 tested bundles."
    assert not any(line.startswith("- They disagree") for line in verdict_lines(agreeing, {}, {}))


def test_verdict_lines_without_verdicts_repeat_the_mavera_note():
    note = "Dry run: the focus group was not created (see the request printed above)."
    assert verdict_lines(pd.DataFrame(), {}, {}, note) == ["- " + note]
    assert verdict_lines(pd.DataFrame(), {}, {}, "**Failed:** 402.") == ["- Failed: 402."]
    assert verdict_lines(pd.DataFrame(), {}, {}) == []


def test_choose_personas_names_its_source_and_lists_only_when_needed():
    from helpers.analysis.focus_groups import choose_personas

    def must_not_list():
        raise AssertionError("GET /personas should not be needed")

    assert choose_personas(["p1"], {"VIP": "s"}, must_not_list) == (["p1"], "the `persona_ids` parameter")
    assert choose_personas([], {"VIP": "s"}, must_not_list) == (["s"], "job 01's personas.json")
    listed = [{"id": "b", "name": "CLV tier: VIP"}, {"id": "x", "name": "Other"}]
    assert choose_personas([], None, lambda: listed) == (["b"], "found by the 'CLV tier:' name")
    with pytest.raises(ValueError, match="run job 01 first"):
        choose_personas([], {}, lambda: [])


# ---------------------------------------------------------------------------------------------- evidence (#21)


def _open(rows):
    """Tagged open answers: (persona, respondent, subject, question, answer)."""
    return pd.DataFrame([{"persona_id": p, "persona_name": p, "respondent": r, "question_id": f"q{k}",
                          "question": q, "type": "open_ended", "answer": a, "subject": s, "measure": "why"}
                         for k, (p, r, s, q, a) in enumerate(rows)])


def test_answers_that_repeat_the_prompt_or_every_subject_alike_are_counted_and_flagged():
    from helpers.analysis.focus_groups import answer_quality, quality_line

    echo = "Maybe: Bundle 1: Mug + Coaster. As a CLV tier: VIP shopper, it's interesting. Reach me by email."
    answers = _open([
        ("vip", "r1", "b1", "Why would or wouldn't you buy Bundle 1?", echo),
        ("vip", "r1", "b2", "Why would or wouldn't you buy Bundle 2?", echo),
        ("reg", "r2", "b1", "Why would or wouldn't you buy Bundle 1?", "The mug is too small for my tea."),
        ("reg", "r2", "b2", "Why would or wouldn't you buy Bundle 2?", "Pots like this crack in my oven."),
        ("reg", "r3", "b1", "Why would or wouldn't you buy Bundle 1?",
         "Why would or wouldn't you buy Bundle 1? I would."),
    ])
    flagged, counts = answer_quality(answers, context="Bundle 1: Mug + Coaster, $18\nBundle 2: Pot + Lid, $30",
                                     personas={"vip": "CLV tier: VIP", "reg": "CLV tier: Regular"})
    assert counts == {"open_answers": 5, "distinct": 4, "repeat_prompt": 3, "same_across_subjects": 2}
    assert flagged["repeats_prompt"].tolist() == [True, True, False, False, True]
    assert flagged["same_across_subjects"].tolist() == [True, True, False, False, False]
    line = quality_line(counts, "bundles")
    assert line.startswith("- Open answers: 5, 4 distinct; **flagged:** 3 repeat their prompt, 2 are the same "
                           "sentence for every one of the bundles.")
    assert quality_line({"open_answers": 0}) is None
    assert answer_quality(answers.iloc[:0])[1]["open_answers"] == 0


def test_directional_says_n_per_cell():
    from helpers.analysis.focus_groups import directional

    assert directional(5) == "directional: synthetic respondents, n = 5 per persona"
    assert directional(None) == "directional: synthetic respondents"
