"""Shared notebook steps against the sandbox over real HTTP, their outputs captured as a notebook shows them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from helpers import jobs, mavera, report, steps
from helpers.analysis import customers, focus_groups
from helpers.mavera import (
    BudgetExceeded,
    MaveraAuthError,
    MaveraClient,
    MaveraSettingsError,
    MaveraUnavailable,
)
from helpers.report import job as report_job
from sandbox import Sandbox
from tests.runner.support import clean_env

TEMPLATES = [("intent", "likert", "Would you buy {label}? (1-5)"), ("nps", "nps", "Recommend {label}? (0-10)"),
             ("why", "open_ended", "Why or why not, for {label}?")]


@pytest.fixture
def shell():
    """An IPython shell, so display() outputs can be captured as a kernel would send them."""
    report_job._not_done.clear()  # one kernel runs one notebook; here one process runs many steps
    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()  # report.record behaves differently with a shell: leave none behind
    report_job._not_done.clear()


def markdown(cap) -> list[str]:
    """The step's own Markdown outputs (the partial-report block of ``report.not_done`` is in ``missing``)."""
    return [o.data["text/markdown"] for o in cap.outputs if "text/markdown" in o.data
            and not o.data["text/markdown"].startswith("**Partial report:**")]


def missing(cap) -> str | None:
    """What the captured outputs recorded as missing (``report.not_done``: the job is then partial)."""
    found = [o.data[report.RECORD_MIME]["value"] for o in cap.outputs
             if report.RECORD_MIME in o.data and o.data[report.RECORD_MIME]["name"] == report.MISSING_RECORD]
    return found[-1] if found else None


def mavera_stats(sb) -> dict:
    return sb.stats()["mavera"]


def plan_for(*labels: str, choice: bool = False) -> pd.DataFrame:
    """Three questions per label, and with ``choice`` one multiple-choice question at the end."""
    plan = focus_groups.question_plan({f"s{k}": {"label": label} for k, label in enumerate(labels)}, TEMPLATES)
    pick = pd.DataFrame([{"subject": "all", "measure": "pick", "type": "multiple_choice", "question": "Which one?"}])
    return focus_groups.number_questions(pd.concat([plan, pick]) if choice else plan)


def make_personas(names: list[str]) -> list[str]:
    mc = MaveraClient.from_env()
    return [mc.upsert_persona(name, f"{name}: loyal email buyers, churn risk low.")["id"] for name in names]


# ---------------------------------------------------------------------------------------------- cost, refusals


@pytest.mark.parametrize(("max_credits", "dry_run", "line"), [
    (600, False, "2 rewrites: estimated **at most 60 credits** (budget 600)."),
    (1200, True, "2 rewrites: estimated **at most 60 credits** (budget 1,200) — dry run, nothing is sent."),
    (None, False, "2 rewrites: estimated **at most 60 credits** (no budget)."),
])
def test_cost_line_names_the_budget_and_a_dry_run(sandbox_env, max_credits, dry_run, line):
    mc = MaveraClient.from_env(max_credits=max_credits, dry_run=dry_run)
    assert steps.cost_line(mc, "2 rewrites: estimated **at most 60 credits**") == line


def test_show_cost_is_one_markdown_output(sandbox_env, shell):
    with capture_output() as cap:
        steps.show_cost(MaveraClient.from_env(max_credits=5), "A brief")
    assert markdown(cap) == ["A brief (budget 5)."]


def test_mavera_step_says_why_it_stopped_and_the_notebook_goes_on(sandbox_env, shell):
    """The budget refuses the second persona's creation: the step stops, says so, keeps what it made."""
    mc = MaveraClient.from_env(max_credits=300)
    made = []
    with capture_output() as cap, steps.mavera_step(lambda: f"The analysis above is saved; {len(made)} made."):
        for name in ("steps-test: first", "steps-test: second"):
            made.append(mc.upsert_persona(name, "A persona for the steps tests.")["id"])
    assert len(made) == 1 and mc.credits_spent == 300
    [shown] = markdown(cap)
    assert shown.startswith("**Mavera step stopped:** ") and shown.endswith(" The analysis above is saved; 1 made.")
    assert "max_credits=300" in shown
    # The job is partial, with what is missing in one sentence, shown at the top of the report too.
    assert missing(cap).startswith("The mavera step did not finish: ") and "max_credits=300" in missing(cap)
    [block] = [o for o in cap.outputs if o.metadata.get("workbooks", {}).get("place") == "missing"]
    assert "Partial report" in block.data["text/html"]


def test_mavera_step_shows_nothing_when_all_went_well_and_lets_other_errors_through(shell):
    with capture_output() as cap, steps.mavera_step("never shown", label="Mave step"):
        pass
    assert cap.outputs == [] and report.missing() == []
    with pytest.raises(KeyError), steps.mavera_step("never shown"):
        raise KeyError("a bug, not a refusal")
    with capture_output() as cap, steps.mavera_step("Plan saved.", label="Mave step"):
        raise BudgetExceeded("Mave chat would cost up to 75 credits but only 10 remain.")
    assert markdown(cap) == ["**Mave step stopped:** Mave chat would cost up to 75 credits but only 10 remain. Plan saved."]
    assert missing(cap) == "The mave step did not finish: Mave chat would cost up to 75 credits but only 10 remain."


@pytest.mark.parametrize("error", [
    MaveraAuthError("Mavera rejected MAVERA_API_KEY (401 on GET /usage: Invalid API key provided): set it.", 401),
    MaveraSettingsError("could not open a secure connection to Mavera for GET /usage: check MAVERA_BASE_URL."),
])
def test_a_rejected_key_or_a_tls_setting_stops_the_job_not_only_the_step(shell, error):
    """No rerun helps before they are fixed: the runner sees the job stop (a permanent failure, exit 2)."""
    with capture_output() as cap, pytest.raises(type(error)), steps.mavera_step("Plan saved.", label="Mave step"):
        raise error
    assert cap.outputs == []


def test_an_outage_through_every_retry_leaves_the_job_partial_never_succeeded(shell):
    with capture_output() as cap, steps.mavera_step("Plan saved.", label="Mave step"):
        raise MaveraUnavailable("Mave chat: Mavera did not answer POST /mave/chat in 12 attempts.", 503)
    assert missing(cap) == "The mave step did not finish: Mave chat: Mavera did not answer POST /mave/chat in 12 attempts."


# ---------------------------------------------------------------------------------------------- personas


def test_personas_from_the_parameter_need_no_request(sandbox_env, shell):
    before = mavera_stats(sandbox_env)["requests"]
    with capture_output() as cap:
        chosen = steps.choose_personas(MaveraClient.from_env(), [" p1 ", "p2", "p1"])
    assert chosen == ["p1", "p2"]
    assert markdown(cap) == ["Focus-group personas: 2 (the `persona_ids` parameter)."]
    assert mavera_stats(sandbox_env)["requests"] == before


def test_personas_from_job_01_are_read_where_the_registry_says(sandbox_env, shell, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", str(tmp_path))
    assert steps.saved_personas() is None
    path = jobs.artifact_path(tmp_path, "personas")
    path.parent.mkdir()
    path.write_text(json.dumps({"Occasional": "pa", "VIP": "pv"}))
    before = mavera_stats(sandbox_env)["requests"]
    with capture_output() as cap:
        chosen = steps.choose_personas(MaveraClient.from_env(), [])
    assert chosen == ["pa", "pv"] and steps.saved_personas() == {"Occasional": "pa", "VIP": "pv"}
    assert markdown(cap) == ["Focus-group personas: 2 (job 01's personas.json)."]
    assert mavera_stats(sandbox_env)["requests"] == before


def test_tier_sizes_and_persona_tiers_come_from_job_01(tmp_path, monkeypatch):
    """04 weighs each tier persona by its tier's share of customers: sizes from 01's tiers.csv, the persona's
    tier from 01's personas.json or else its "CLV tier: <tier>" name."""
    monkeypatch.setenv("WORKBOOKS_RUN_DIR", str(tmp_path))
    assert steps.saved_tier_sizes() is None
    tiers = jobs.artifact_path(tmp_path, "tiers")
    tiers.parent.mkdir()
    tiers.write_text("tier,size,share_customers\nOccasional,600,0.6\nRegular,300,0.3\nVIP,100,0.1\n")
    assert steps.saved_tier_sizes() == {"Occasional": 600, "Regular": 300, "VIP": 100}
    names = {"pa": "CLV tier: Occasional", "pv": "CLV tier: VIP", "px": "Shopper X"}
    assert steps.persona_tiers(["pa", "pv", "px"], names) == {"Occasional": "pa", "VIP": "pv"}
    jobs.artifact_path(tmp_path, "personas").write_text(json.dumps({"Regular": "pa", "VIP": "pv", "Other": "pz"}))
    assert steps.persona_tiers(["pa", "pv"], names) == {"Regular": "pa", "VIP": "pv"}  # the saved file wins
    tiers.write_text("tier,customers\nVIP,1\n")
    assert steps.saved_tier_sizes() is None


@pytest.fixture
def empty_sandbox(tmp_path_factory):
    """A sandbox of its own: no test before this one has created personas in it."""
    with clean_env(tmp_path_factory.mktemp("cache")) as mp, Sandbox(seed=3, profiles=200, rate_scale=0) as sb:
        for name, value in sb.env().items():
            mp.setenv(name, value)
        mp.setenv("WORKBOOKS_RUN_DIR", str(tmp_path_factory.mktemp("run")))
        yield sb


def test_without_ids_or_a_saved_file_the_tier_personas_are_found_by_name(empty_sandbox, shell):
    with capture_output() as cap:
        none = steps.choose_personas(MaveraClient.from_env(), [])
    # No personas is no error: the Klaviyo analysis comes first; the list says how to get them.
    assert none == [] and "run job 01 first" in none.why and "or pass persona_ids" in none.why
    assert markdown(cap)[0].startswith("**No focus-group personas:** No Mavera personas to ask: run job 01 first")
    ids = make_personas([customers.persona_name("VIP"), customers.persona_name("Occasional"), "Someone else"])
    with capture_output() as cap:
        chosen = steps.choose_personas(MaveraClient.from_env(), [])
    assert chosen == [ids[1], ids[0]]  # sorted by name: "CLV tier: Occasional" < "CLV tier: VIP"
    assert markdown(cap) == ["Focus-group personas: 2 (found by the 'CLV tier:' name)."]


# ---------------------------------------------------------------------------------------------- 01's personas


def _tiers(*sizes: int) -> pd.DataFrame:
    names = ["Occasional", "Regular", "VIP", "Top"][: len(sizes)]
    return pd.DataFrame({"size": list(sizes), "share_customers": 0.3, "share_clv": 0.3, "orders": 2.0,
                         "days_between_orders": 40.0}, index=pd.Index(names, name="tier"))


def test_tier_personas_estimate_new_ones_then_create_or_update(empty_sandbox, shell):
    mc = MaveraClient.from_env(max_credits=1000)
    with capture_output() as cap:
        first = steps.tier_personas(mc, _tiers(5, 0, 2))  # an empty tier gets no persona
    assert list(first) == ["Occasional", "VIP"]
    assert markdown(cap) == ["2 new of 2 personas (updates of existing ones are free): estimated **at most 600 "
                             "credits** (budget 1,000)."]
    before = mavera_stats(empty_sandbox)
    with capture_output() as cap:
        again = steps.tier_personas(MaveraClient.from_env(max_credits=1000), _tiers(5, 3, 2))
    assert again["Occasional"] == first["Occasional"] and again["VIP"] == first["VIP"]  # updated in place
    assert markdown(cap)[0].startswith("1 new of 3 personas") and "at most 300 credits" in markdown(cap)[0]
    assert mavera_stats(empty_sandbox)["personas_created"] == before["personas_created"] + 1


def test_tier_personas_over_budget_create_none_and_say_why(empty_sandbox, shell):
    before = mavera_stats(empty_sandbox)
    with capture_output() as cap:
        made = steps.tier_personas(MaveraClient.from_env(max_credits=1000), _tiers(4, 3, 2, 1))
    assert made == {}
    assert mavera_stats(empty_sandbox)["personas_created"] == before["personas_created"]
    assert "Creating 4 new personas would cost up to 1,200 credits but only 1,000" in markdown(cap)[-1]
    assert markdown(cap)[-1].endswith("The tier analysis above is saved; rerun to finish.")


def test_tier_personas_dry_run_sends_nothing(empty_sandbox, shell):
    before = mavera_stats(empty_sandbox)
    with capture_output() as cap:
        made = steps.tier_personas(MaveraClient.from_env(max_credits=1000, dry_run=True), _tiers(4, 3))
    assert mavera_stats(empty_sandbox)["requests"] == before["requests"]
    assert "— dry run, nothing is sent." in markdown(cap)[0] and all(not v for v in made.values())


# ---------------------------------------------------------------------------------------------- focus group


def test_questions_carry_their_plan_ids_and_the_choice_options():
    plan = plan_for("Bundle 1", choice=True)
    asked = steps.questions(plan, ["A", "B"])
    assert [q["id"] for q in asked] == list(plan["question_id"]) == ["q1", "q2", "q3", "q4"]
    assert [q["type"] for q in asked] == ["likert", "nps", "open_ended", "multiple_choice"]
    assert asked[3]["options"] == ["A", "B"] and asked[0]["text"] == "Would you buy Bundle 1? (1-5)"
    with pytest.raises(ValueError, match="question type 'ranking' .* likert, nps, open_ended, multiple_choice"):
        steps.questions(plan.assign(type="ranking"))


def test_focus_group_answers_and_reports_its_size(sandbox_env, shell):
    personas = make_personas(["steps-test: loyal", "steps-test: lapsing"])
    mc = MaveraClient.from_env(max_credits=300)
    plan = plan_for("Bundle 1", "Bundle 2", choice=True)
    estimate = mc.estimate_focus_group(2, 7, 3)
    before = mavera_stats(sandbox_env)
    with capture_output() as cap:
        fg = steps.focus_group(mc, "steps-test: answers", personas, plan, "Bundle 1: Mug + Coaster, $18", 3,
                               intro="2 bundles and a choice = ", options=["Bundle 1", "Bundle 2"])
    assert fg.id and fg.note is None
    assert len(fg.answers) == 2 * 3 * 7 and set(fg.answers["persona_id"]) == set(personas)
    assert list(fg.answers.columns) == mavera.ANSWER_COLUMNS
    assert set(fg.tagged["measure"]) == {"intent", "nps", "why", "pick"}
    assert fg.names == {personas[0]: "steps-test: loyal", personas[1]: "steps-test: lapsing"}
    assert markdown(cap) == [
        f"2 bundles and a choice = 7 questions, 2 personas × 3 responses: estimated **{estimate} credits** (budget 300).",
        "The focus group answered: 6 respondents, 42 answers.",  # its id is in answers.csv, not on the page
    ]
    # The stimulus, shown as wrapped text (HTML, never a monospace block), with what was sent as its plain text.
    (shown,) = [o.data for o in cap.outputs if "workbooks-stimulus" in o.data.get("text/html", "")]
    assert shown["text/plain"] == "Bundle 1: Mug + Coaster, $18" and "<p>Bundle 1: Mug + Coaster, $18</p>" in shown["text/html"]
    assert cap.stdout == ""
    after = mavera_stats(sandbox_env)
    assert after["focus_groups_created"] == before["focus_groups_created"] + 1
    assert mc.credits_spent == estimate == after["credits_used"] - before["credits_used"]


def test_focus_group_over_budget_is_skipped_before_anything_is_sent(sandbox_env, shell):
    personas = make_personas(["steps-test: loyal"])
    plan = plan_for("Bundle 1")
    estimate = MaveraClient.estimate_focus_group(1, 3, 5)
    mc = MaveraClient.from_env(max_credits=estimate - 1)
    before = mavera_stats(sandbox_env)
    with capture_output() as cap:
        fg = steps.focus_group(mc, "steps-test: over budget", personas, plan, "Bundle 1", 5,
                               saved="The product analysis above is saved.")
    assert fg.id is None and fg.answers.empty and list(fg.answers.columns) == mavera.ANSWER_COLUMNS
    assert fg.tagged.empty and fg.names == {}
    assert fg.note == (f"**The focus group was skipped before spending anything:** The focus group would cost up to "
                       f"{estimate} credits but only {estimate - 1} of max_credits={estimate - 1} remain; raise "
                       "max_credits or make the job smaller. The product analysis above is saved.")
    assert markdown(cap)[-1] == fg.note
    assert mavera_stats(sandbox_env)["requests"] == before["requests"] and mc.credits_spent == 0


def test_focus_group_dry_run_prints_the_request_and_creates_nothing(sandbox_env, shell):
    mc = MaveraClient.from_env(max_credits=0, dry_run=True)  # a dry run is never refused by the budget
    before = mavera_stats(sandbox_env)
    with capture_output() as cap:
        fg = steps.focus_group(mc, "steps-test: dry", ["p1"], plan_for("Bundle 1"), "Bundle 1", 2)
    assert fg.id is None and fg.answers.empty
    assert fg.note == "Dry run: the focus group was not created (see the request printed above)."
    assert markdown(cap)[0].endswith("(budget 0) — dry run, nothing is sent.") and markdown(cap)[-1] == fg.note
    assert '"persona_ids"' in cap.stdout and "steps-test: dry [" in cap.stdout
    assert mavera_stats(sandbox_env)["requests"] == before["requests"]


def test_focus_group_that_does_not_complete_is_reported_and_resumed_by_a_rerun(sandbox_env, shell, monkeypatch):
    personas = make_personas(["steps-test: resumed"])
    monkeypatch.setattr(mavera.transport, "ATTEMPTS", 2)  # two attempts per GET: the outage is quick to make
    plan = plan_for("Bundle 1")
    before = mavera_stats(sandbox_env)["focus_groups_created"]
    # Every attempt of one poll fails (2 attempts, set above): the step gives up, the job is partial (never
    # "succeeded" without its focus group), and the note says a rerun resumes the group.
    requests.post(f"{sandbox_env.klaviyo_base_url}/sandbox/faults", timeout=10, json={
        "method": "GET", "path_prefix": "/mavera/api/v1/focus-groups/", "status": 503, "count": 2,
    }).raise_for_status()
    with capture_output() as cap:
        first = steps.focus_group(MaveraClient.from_env(), "steps-test: resume", personas, plan, "Bundle 1", 2,
                                  saved="The channel analysis above is saved.")
    assert first.id is None and first.answers.empty
    assert first.note.startswith("**The Mavera focus group did not complete:** Polling focus group ")
    assert first.note.endswith("rerun to resume it (it will not be created again). The channel analysis above is saved.")
    assert markdown(cap)[-1] == first.note
    assert missing(cap).startswith("The Mavera focus group did not complete: Polling focus group ")
    rerun = MaveraClient.from_env()
    second = steps.focus_group(rerun, "steps-test: resume", personas, plan, "Bundle 1", 2)
    assert second.id and second.note is None and len(second.answers) == 1 * 2 * 3
    assert mavera_stats(sandbox_env)["focus_groups_created"] == before + 1 and rerun.credits_spent == 0


def test_other_mavera_errors_end_the_step_the_same_way(sandbox_env, shell, monkeypatch):
    personas = make_personas(["steps-test: no workspace"])
    monkeypatch.delenv("MAVERA_WORKSPACE_ID")  # focus groups need a workspace: the client refuses with a sentence
    with capture_output() as cap:
        fg = steps.focus_group(MaveraClient.from_env(), "steps-test: no workspace", personas, plan_for("B"), "B", 1)
    assert fg.note.startswith("**The Mavera focus group did not complete:** MAVERA_WORKSPACE_ID is not set")
    assert missing(cap).startswith("The Mavera focus group did not complete: MAVERA_WORKSPACE_ID is not set")


# ---------------------------------------------------------------------------------------------- partial


def test_focus_group_without_personas_says_how_to_get_them_and_sends_nothing(sandbox_env, shell):
    """Analysis first: no personas is not a failed job but a focus group that did not run, and a partial job."""
    before = mavera_stats(sandbox_env)["requests"]
    chosen = steps.Personas()
    chosen.why = focus_groups.NO_PERSONAS
    with capture_output() as cap:
        fg = steps.focus_group(MaveraClient.from_env(), "steps-test: nobody", chosen, plan_for("B"), "B", 5,
                               saved="The channel analysis above is saved.")
    assert fg.id is None and fg.answers.empty and fg.tagged.empty
    assert fg.note == (f"**The focus group did not run:** {focus_groups.NO_PERSONAS} The channel analysis above is "
                       "saved.")
    assert missing(cap) == f"The focus group did not run: {focus_groups.NO_PERSONAS}"
    assert "run job 01 first" in missing(cap) and "persona_ids" in missing(cap)
    assert mavera_stats(sandbox_env)["requests"] == before


def test_an_unknown_persona_is_found_by_a_free_lookup_before_the_group_is_created(sandbox_env, shell):
    """A persona id Mavera no longer knows (a fresh Mavera, a deleted persona) is left out before the group is
    created: no 400 after it, no credits; with none left the group does not run and the job is partial."""
    [known] = make_personas(["steps-test: still here"])
    mc = MaveraClient.from_env()
    before = mavera_stats(sandbox_env)
    with capture_output() as cap:
        fg = steps.focus_group(mc, "steps-test: gone", ["cl_gone_since_yesterday"], plan_for("B"), "B", 2)
    assert fg.id is None and "Mavera does not know the personas cl_gone_since_yesterday" in fg.note
    assert "run job 01 again" in missing(cap)
    after = mavera_stats(sandbox_env)
    assert after["focus_groups_created"] == before["focus_groups_created"] and mc.credits_spent == 0
    with capture_output() as cap:
        fg = steps.focus_group(mc, "steps-test: one gone", ["cl_gone_since_yesterday", known], plan_for("B"), "B", 2)
    assert fg.id and set(fg.answers["persona_id"]) == {known} and fg.note is None
    assert "Mavera does not know 1 of the 2 personas (`cl_gone_since_yesterday`): they are left out." in markdown(cap)
