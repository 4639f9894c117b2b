"""Notebook steps, each one call: the Mavera cost line and refusals that every job shares, job 01's persona per
tier, and for jobs 04 and 05 the persona choice and the focus-group run.

Every step shows in the notebook what it did (Markdown outputs, so the code-free HTML report says it
too). A Mavera refusal — budget, spent credits, an outage through every retry, no personas — never fails a
job: the step says why it stopped, the Klaviyo analysis above it is already saved, and the notebook goes on to
its summary. It also says so with ``report.not_done`` (one sentence: what is missing and why), which opens the
report and makes the runner publish the job as ``partial``: never "succeeded" with less in it. A dry run is
not partial: nothing was asked for. Two failures stop the job instead (:data:`STOPS_THE_JOB`): a rejected key
and a TLS setting (permanent, exit 2: no rerun helps until they are fixed).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from helpers import jobs, mavera, report
from helpers.analysis import flows, focus_groups, rewrite_checks
from helpers.analysis.customers import persona_fields, persona_name, persona_prefix
from helpers.mavera import BudgetExceeded, MaveraAuthError, MaveraClient, MaveraError, MaveraSettingsError
from helpers.report import stimulus

# Mavera failures a step does not swallow: the job stops on them, a permanent failure (exit 2).
STOPS_THE_JOB = (MaveraAuthError, MaveraSettingsError)


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
    ``**<label> stopped:** <why> <saved>``, say it with ``report.not_done`` (the job is then partial) and
    carry on; :data:`STOPS_THE_JOB` errors propagate. ``saved`` says what is kept (a callable is asked only
    then, so it can count what the step finished before it stopped)."""
    try:
        yield
    except STOPS_THE_JOB:
        raise
    except MaveraError as exc:
        _show(f"**{label} stopped:** {exc} {saved() if callable(saved) else saved}")
        report.not_done(f"The {label[:1].lower() + label[1:]} did not finish: {exc}")


# ---------------------------------------------------------------------------------------------- 02

REWRITE_COLUMNS = ["message_id", "channel", "part", "variant", "subject", "preview_text", "body", "checks",
                   "attempts"]


def rewrites(mc: MaveraClient, planned: Sequence[dict]) -> pd.DataFrame:
    """Generate every planned rewrite (``rewrite_checks.requests``), each checked before it is called ready.

    Shows the estimate and refuses the whole step up front when the budget cannot pay for every planned
    rewrite. A rewrite that fails a check (``rewrite_checks.problems``: limits, the same as another variant,
    the brief in the copy, a dropped tag or link) is asked for once more with the reason; if the second one
    fails too, it is kept with ``checks`` giving the reason ("needs editing"), else ``checks`` is "ok". A Mavera
    refusal ends the step as ``mavera_step`` does (the job is then partial); the rewrites made are kept.
    """
    estimate = len(planned) * mc.estimate_generation()
    show_cost(mc, f"{len(planned)} generations planned (a rewrite that fails its checks is asked for once more): "
                  f"estimated **at most {estimate:,} credits**")
    rows: list[dict] = []
    with mavera_step(lambda: f"The analysis above is saved; {len(rows)} rewrites were made.", "Rewrite step"):
        mc.check_budget(estimate, f"{len(planned)} rewrites")  # the whole step, before the first generation
        for req in planned:
            others = {r["variant"]: rewrite_checks.copy_of(r, r["part"]) for r in rows
                      if r["message_id"] == req["message_id"]}
            row = _rewrite(mc, req, others)
            if row is not None:
                rows.append(row)
    return pd.DataFrame(rows, columns=REWRITE_COLUMNS)


def _rewrite(mc: MaveraClient, req: dict, others: Mapping[int, str]) -> dict | None:
    """One checked rewrite (regenerated once when a check fails), or None in a dry run."""
    data, found, fields = dict(req["input_data"]), [], {}
    brief = [str(data.get(k) or "") for k in ("context", "goal")]
    for attempt in (1, 2):
        if attempt == 2:
            data["context"] = f"{data['context']} Second attempt: the first draft failed because {'; '.join(found)}."
            try:
                mc.check_budget(mc.estimate_generation(), "A second attempt at a rewrite")
            except BudgetExceeded:
                found.append("not asked again: the budget is spent")
                break
        result = mc.generate(req["app_id"], data)
        if result.get("dry_run"):
            return None
        fields = flows.parse_rewrite(req["channel"], req["part"], result.get("output", ""))
        found = rewrite_checks.problems(req["channel"], req["part"], fields, req.get("original", ""), brief, others)
        if not found:
            break
    return {"message_id": req["message_id"], "channel": req["channel"], "part": req["part"],
            "variant": req["variant"], **fields, "checks": "; ".join(found) or "ok", "attempts": attempt}


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
    with mavera_step("The tier analysis above is saved; rerun to finish.", "Persona step"):
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


class Personas(list):
    """The persona ids a focus group asks (a list); empty with ``why`` when there are none to ask."""

    why: str | None = None


def choose_personas(mc: MaveraClient, persona_ids: Sequence[str]) -> Personas:
    """The personas a focus group asks: ``persona_ids``, else job 01's personas of this run folder, else
    the custom personas named ``CLV tier: ...`` (``customers.persona_prefix()``: one free GET). Shows which.

    None found (or Mavera could not list them) is no error: the Klaviyo analysis comes first, so the list is
    empty and its ``why`` says how to get personas; :func:`focus_group` then says the group did not run. A
    rejected key (``MaveraAuthError``) still stops the job: no rerun helps before it is fixed."""
    try:
        personas, source = focus_groups.choose_personas(
            persona_ids, saved_personas(),
            lambda: mc.list_personas(search=persona_prefix().strip(), custom_only=True))
    except STOPS_THE_JOB:
        raise
    except (ValueError, MaveraError) as exc:
        chosen = Personas()
        chosen.why = str(exc) if isinstance(exc, ValueError) else f"Mavera could not list the personas ({exc})"
        _show(f"**No focus-group personas:** {chosen.why} The Klaviyo analysis runs all the same.")
        return chosen
    _show(f"Focus-group personas: {len(personas)} ({source}).")
    return Personas(personas)


def known_personas(mc: MaveraClient, personas: Sequence[str]) -> Personas:
    """``personas`` without the ids Mavera no longer knows (one free GET each, none in a dry run), so a focus
    group never learns it from a 400 after its creation; each one left out is shown, and with none left its
    ``why`` says how to get personas again."""
    unknown = mc.unknown_personas(personas)
    known = Personas(p for p in personas if p not in unknown)
    if unknown:
        ids = ", ".join(f"`{p}`" for p in unknown)
        _show(f"Mavera does not know {len(unknown)} of the {len(personas)} personas ({ids}): "
              + ("they are left out." if known else "none is left to ask."))
    if not known:
        known.why = (f"Mavera does not know the personas {', '.join(unknown)}: run job 01 again to create them "
                     "(python -m helpers.run --jobs 1), or pass persona_ids of personas that exist.")
    return known


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
    shown: str | None = None,
) -> FocusGroup:
    """Ask ``personas`` the plan's questions about ``context`` in one Mavera focus group.

    Shows the estimate first (``intro`` + questions, personas × responses, credits, budget) and the
    stimulus, then exactly one of: the group's size; that it did not run (no personas, or none Mavera
    still knows: looked up for free before the group is created); that it was skipped before spending
    anything (the estimate exceeds what is left of ``max_credits``: nothing is sent); that a dry run sent
    nothing; that the group did not complete (any ``MaveraError``; a rerun resumes it without creating it
    again). ``saved`` ends the notes of a group that did not run (e.g. "The product analysis above is
    saved."). ``shown``: the stimulus as the channel shows it (``helpers.report.stimulus``, e.g. an email and an
    SMS); by default ``context`` as wrapped text. Every outcome but an answer and a dry run is a ``report.not_done``: the job is partial.
    """
    asked = questions(plan, options)
    result = FocusGroup(None, pd.DataFrame(columns=mavera.ANSWER_COLUMNS), plan, None)
    missing = None
    if personas:
        estimate = mc.estimate_focus_group(len(personas), len(asked), responses_per_persona)
        show_cost(mc, f"{intro}{len(asked)} questions, {len(personas)} personas × {responses_per_persona} responses: "
                      f"estimated **{estimate} credits**")
        stimulus.show(shown or stimulus.text_html(context), context)
        missing = _ask(mc, result, name, personas, asked, context, responses_per_persona, estimate)
    else:
        missing = f"The focus group did not run: {getattr(personas, 'why', None) or 'no personas were given.'}"
    if missing:
        what, why = missing.split(": ", 1)
        result.note = f"**{what}:** {why} {saved}"
        report.not_done(missing)
    if result.note:
        _show(result.note)
    else:
        # Its id is in answers.csv and run.json; the reader needs how many answered.
        _show(f"The focus group answered: {result.answers['respondent'].nunique()} respondents, "
              f"{len(result.answers)} answers.")
    return result


def _ask(mc: MaveraClient, result: FocusGroup, name: str, personas: Sequence[str], asked: list[dict],
         context: str, responses_per_persona: int, estimate: int) -> str | None:
    """Run the group into ``result``; what did not happen (for ``report.not_done``), or None."""
    try:
        # The whole step is refused up front when it cannot fit the budget: nothing is sent.
        mc.check_budget(estimate, "The focus group")
    except BudgetExceeded as exc:
        return f"The focus group was skipped before spending anything: {exc}"
    try:
        known = known_personas(mc, personas)
        if not known:
            return f"The focus group did not run: {known.why}"
        run = mc.run_focus_group(name, known, asked, context, responses_per_persona)
        result.id, result.answers = run.id, run.answers
        if run.status == "dry_run":
            result.note = "Dry run: the focus group was not created (see the request printed above)."
    except STOPS_THE_JOB:
        raise
    except MaveraError as exc:
        return f"The Mavera focus group did not complete: {exc}"
    return None

