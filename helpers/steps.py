"""Notebook steps, each one call: the Mavera cost line and refusals that every job shares, job 01's persona per
tier, and for jobs 04 and 05 the persona choice and the focus-group run.

Every step shows in the notebook what it did (Markdown outputs, so the code-free HTML report says it
too). A Mavera refusal — budget, spent credits, an outage — never fails a job: the step says why it
stopped, the Klaviyo analysis above it is already saved, and the notebook goes on to its summary.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers import jobs, mavera, params, report
from helpers.analysis import focus_groups
from helpers.analysis.customers import persona_fields, persona_name, persona_prefix
from helpers.mavera import BudgetExceeded, MaveraClient, MaveraError


def _show(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


# ---------------------------------------------------------------------------------------------- any job


def cost_line(mc: MaveraClient, text: str) -> str:
    """``text`` (what a step will send and its estimate) followed by the run's budget and, in a dry run,
    that nothing is sent: ``"3 rewrites: estimated **at most 90 credits** (budget 600)."``"""
    budget = "no budget" if mc.max_credits is None else f"budget {mc.max_credits:,}"
    return f"{text} ({budget})" + (" — dry run, nothing is sent." if mc.dry_run else ".")


def show_cost(mc: MaveraClient, text: str) -> None:
    """Show :func:`cost_line` in the notebook: the estimate always comes before the first charging call."""
    _show(cost_line(mc, text))


@contextlib.contextmanager
def mavera_step(saved: str | Callable[[], str], label: str = "Mavera step") -> Iterator[None]:
    """Run a Mavera step; when Mavera refuses it (``MaveraError``: budget, credits, outage), show
    ``**<label> stopped:** <why> <saved>`` and carry on. ``saved`` says what is kept (a callable is asked
    only then, so it can count what the step finished before it stopped)."""
    try:
        yield
    except MaveraError as exc:
        _show(f"**{label} stopped:** {exc} {saved() if callable(saved) else saved}")


# ---------------------------------------------------------------------------------------------- 01


def tier_personas(mc: MaveraClient, summary: pd.DataFrame, field: str = "predicted_clv",
                  currency: str = "$") -> dict[str, str]:
    """Create or update one custom persona per non-empty tier of ``summary`` (``tier_actions.tier_statistics``);
    ``{tier: persona id}`` of those Mavera confirmed.

    The estimate comes first and counts only personas that do not exist yet (looking them up is free; a dry
    run looks nothing up and counts them all); a budget too small for all of them refuses the whole step
    before the first one is created. A Mavera refusal ends the step with a sentence (``mavera_step``): the
    personas made before it are kept in the returned dict.
    """
    personas: dict[str, str] = {}
    wanted = [str(tier) for tier, row in summary.iterrows() if row["size"] > 0]
    with mavera_step("The tier analysis above is saved; rerun to finish."):
        new = wanted if mc.dry_run else [t for t in wanted if mc.find_persona(persona_name(t)) is None]
        estimate = len(new) * mc.estimate_persona()
        show_cost(mc, f"{len(new)} new of {len(wanted)} personas (updates of existing ones are free): "
                      f"estimated **at most {estimate:,} credits**")
        mc.check_budget(estimate, f"Creating {len(new)} new personas")  # the whole step, before the first POST
        for tier, row in summary.iterrows():
            if row["size"] == 0:
                continue
            persona = mc.upsert_persona(persona_name(tier), **persona_fields(tier, row, field=field, currency=currency))
            if persona.get("id"):
                personas[str(tier)] = persona["id"]
    return personas


# ---------------------------------------------------------------------------------------------- 04 and 05


def saved_personas() -> dict | None:
    """Job 01's ``{tier: persona id}`` from this run folder (``helpers.jobs.ARTIFACTS``), or None."""
    path = jobs.artifact_path(report.run_dir(), "personas")
    return json.loads(path.read_text()) if path.is_file() else None


def saved_tier_sizes() -> dict[str, int] | None:
    """Job 01's tier sizes ``{tier: customers}`` from this run folder's tiers.csv (``helpers.jobs.ARTIFACTS``),
    or None when job 01 has not run for this folder (or its table has no ``size``)."""
    path = jobs.artifact_path(report.run_dir(), "tiers")
    if not path.is_file():
        return None
    table = pd.read_csv(path, index_col=0)
    if "size" not in table:
        return None
    return {str(tier): int(size) for tier, size in table["size"].items() if pd.notna(size)}


def persona_tiers(personas: Sequence[str], names: Mapping[str, str]) -> dict[str, str]:
    """``{tier: persona id}`` for the asked ``personas`` that stand for a CLV tier: job 01's personas.json of this
    run folder first, else a persona named ``CLV tier: <tier>`` (``names``: id → name, e.g. ``fg.names``)."""
    asked, prefix = set(personas), persona_prefix()  # an account's own prefix in a run with --account
    tiers = {tier: pid for tier, pid in (saved_personas() or {}).items() if pid in asked}
    for pid, name in names.items():
        if pid in asked and pid not in tiers.values() and str(name).startswith(prefix):
            tiers.setdefault(str(name)[len(prefix):], pid)
    return tiers


def choose_personas(mc: MaveraClient, persona_ids: Sequence[str]) -> list[str]:
    """The personas a focus group asks: ``persona_ids``, else job 01's personas of this run folder, else
    the custom personas named ``CLV tier: ...`` (``customers.persona_prefix()``: one free GET). Shows which;
    none is a ParameterError."""
    try:
        personas, source = focus_groups.choose_personas(
            persona_ids, saved_personas(),
            lambda: mc.list_personas(search=persona_prefix().strip(), custom_only=True))
    except ValueError as exc:
        raise params.ParameterError(str(exc)) from None
    _show(f"Focus-group personas: {len(personas)} ({source}).")
    return personas


_BUILDERS: dict[str, Callable[..., dict]] = {"likert": mavera.likert, "nps": mavera.nps,
                                              "open_ended": mavera.open_ended}


def questions(plan: pd.DataFrame, options: Sequence[str] = ()) -> list[dict]:
    """The Mavera questions of a plan (``focus_groups.question_plan``), each sent with its plan id, so
    answers are matched back on the id, never on the (echoed) text. ``options`` are the choices of
    every ``multiple_choice`` question."""
    builders = {**_BUILDERS, "multiple_choice": lambda text, id: mavera.multiple_choice(text, options, id=id)}
    unknown = sorted(set(plan["type"]) - set(builders))
    if unknown:
        raise ValueError(f"question type {unknown[0]!r} cannot be asked; use one of {', '.join(builders)}.")
    return [builders[kind](text, id=qid)
            for qid, kind, text in zip(plan["question_id"], plan["type"], plan["question"], strict=True)]


@dataclass
class FocusGroup:
    """What a focus-group step leaves for the scoring below it."""

    id: str | None  # None: not created (skipped, dry run) or not finished
    answers: pd.DataFrame  # mavera.ANSWER_COLUMNS; empty without answers
    plan: pd.DataFrame
    note: str | None  # Markdown: why there are no answers; None when the group answered

    @property
    def tagged(self) -> pd.DataFrame:
        """The answers with the plan's ``subject`` and ``measure`` of each question."""
        return focus_groups.tag_questions(self.answers, self.plan)

    @property
    def names(self) -> dict[str, str]:
        """Persona id → name, for tables and charts."""
        return self.answers.drop_duplicates("persona_id").set_index("persona_id")["persona_name"].to_dict()


def focus_group(
    mc: MaveraClient,
    name: str,
    personas: Sequence[str],
    plan: pd.DataFrame,
    context: str,
    responses_per_persona: int,
    *,
    intro: str = "",
    saved: str = "The analysis above is saved.",
    options: Sequence[str] = (),
) -> FocusGroup:
    """Ask ``personas`` the plan's questions about ``context`` in one Mavera focus group.

    Shows the estimate first (``intro`` + questions, personas × responses, credits, budget) and the
    stimulus, then exactly one of: the group's size; that it was skipped before spending anything (the
    estimate exceeds what is left of ``max_credits``: nothing is sent); that a dry run sent nothing; that
    the group did not complete (any ``MaveraError``; a rerun resumes it without creating it again).
    ``saved`` ends the last two (e.g. "The product analysis above is saved.").
    """
    asked = questions(plan, options)
    estimate = mc.estimate_focus_group(len(personas), len(asked), responses_per_persona)
    show_cost(mc, f"{intro}{len(asked)} questions, {len(personas)} personas × {responses_per_persona} responses: "
                  f"estimated **{estimate} credits**")
    print(context)
    result = FocusGroup(None, pd.DataFrame(columns=mavera.ANSWER_COLUMNS), plan, None)
    try:
        # The whole step is refused up front when it cannot fit the budget: nothing is sent.
        mc.check_budget(estimate, "The focus group")
    except BudgetExceeded as exc:
        result.note = f"**The focus group was skipped before spending anything:** {exc} {saved}"
    else:
        try:
            run = mc.run_focus_group(name, personas, asked, context, responses_per_persona)
            result.id, result.answers = run.id, run.answers
            if run.status == "dry_run":
                result.note = "Dry run: the focus group was not created (see the request printed above)."
        except MaveraError as exc:
            result.note = f"**The Mavera focus group did not complete:** {exc} {saved}"
    if result.note:
        _show(result.note)
    else:
        # Its id is in answers.csv and run.json; the reader needs how many answered.
        _show(f"The focus group answered: {result.answers['respondent'].nunique()} respondents, "
              f"{len(result.answers)} answers.")
    return result

