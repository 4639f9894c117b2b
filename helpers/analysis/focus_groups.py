"""Scoring Mavera focus-group answers (notebooks 04 and 05): Likert means, NPS, choice shares, verdicts.

Input is the Mavera client's tidy answers frame (`persona_id, persona_name, respondent, question_id,
question, type, answer`), one row per respondent per question. Notebooks tag each question with the
`subject` it is about (a product pair, a channel) and the `measure` it scores (intent, relevance, nps...)
through `tag_questions`, so every summary here is a plain group-by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.analysis.customers import persona_prefix  # job 01 names its personas; 04/05 find them by it

NPS_TYPES = frozenset({"nps"})
LIKERT_TYPES = frozenset({"likert", "rating"})
CHOICE_TYPES = frozenset({"multiple_choice", "single_choice", "choice"})
# Respondents a persona needs on a subject before its answers count as backing anything. Synthetic
# respondents of one persona still vary; below this an NPS or a choice share is a coin toss.
MIN_ANSWERS = 5


def nps(scores: Iterable) -> float:
    """Net Promoter Score on the −100…100 scale: % promoters (9–10) minus % detractors (0–6).

    Non-numeric answers are ignored; NaN when no numeric score is left. A score outside 0–10 is a
    ValueError, because it means the question was not asked on the NPS scale.
    """
    values = pd.to_numeric(pd.Series(list(scores), dtype=object), errors="coerce").dropna().to_numpy(float)
    if values.size == 0:
        return float("nan")
    if ((values < 0) | (values > 10)).any():
        raise ValueError("NPS answers must be on the 0–10 scale; check the question type sent to Mavera.")
    promoters = np.count_nonzero(values >= 9)
    detractors = np.count_nonzero(values <= 6)
    return 100.0 * (promoters - detractors) / values.size


def likert_mean(scores: Iterable) -> float:
    """Mean of the numeric answers (non-numeric ones ignored); NaN when there are none."""
    values = pd.to_numeric(pd.Series(list(scores), dtype=object), errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


def tag_questions(answers: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """Join the plan (`question_id, subject, measure`) onto the answers by question id.

    The notebook sends each question with the id the plan gives it (`number_questions`), so matching on
    the id survives Mavera echoing a question's text slightly changed (whitespace, quotes, a trimmed
    sentence), which would silently drop answers if we matched on text. Answers to questions not in the
    plan are dropped; a plan question with no answers simply yields no rows.
    """
    missing = {"question_id", "subject", "measure"} - set(plan.columns)
    if missing:
        raise ValueError(f"The question plan needs columns {sorted(missing)}; build it with question_plan().")
    keyed = plan[["question_id", "subject", "measure"]].astype({"question_id": str})
    return answers.astype({"question_id": str}).merge(keyed, on="question_id", how="inner")


def scores_by(answers: pd.DataFrame, by: Sequence[str] = ("persona_id", "subject")) -> pd.DataFrame:
    """One row per group, one column per measure: Likert means for Likert questions, NPS for NPS ones.

    `answers` must be tagged (see `tag_questions`). Choice and open questions are left out (see
    `choice_shares`). Columns are the measures in first-seen order; an `n` column counts respondents.
    """
    by = list(by)
    scored = answers[answers["type"].str.lower().isin(NPS_TYPES | LIKERT_TYPES)]
    if scored.empty:
        return pd.DataFrame(columns=[*by, "n"])
    rows = []
    for keys, group in scored.groupby([*by, "measure"], sort=False):
        *group_keys, measure = keys
        kind = group["type"].iloc[0].lower()
        value = nps(group["answer"]) if kind in NPS_TYPES else likert_mean(group["answer"])
        rows.append({**dict(zip(by, group_keys, strict=True)), "measure": measure, "value": value})
    long = pd.DataFrame(rows)
    wide = long.pivot_table(index=by, columns="measure", values="value", aggfunc="first", sort=False)
    wide = wide[list(dict.fromkeys(long["measure"]))]
    wide.columns.name = None
    counts = scored.groupby(by, sort=False)["respondent"].nunique().rename("n")
    return wide.join(counts).reset_index()


def nps_by(answers: pd.DataFrame, by: str = "persona_id") -> dict:
    """NPS per group over every NPS-type answer of that group: `{group: score}`."""
    rows = answers[answers["type"].str.lower().isin(NPS_TYPES)]
    return {key: round(nps(group["answer"]), 2) for key, group in rows.groupby(by, sort=True)}


def choice_shares(answers: pd.DataFrame, by: Sequence[str] = ("persona_id",)) -> pd.DataFrame:
    """Share of each option among choice answers per group: rows = groups, columns = options (0–1)."""
    by = list(by)
    rows = answers[answers["type"].str.lower().isin(CHOICE_TYPES)].copy()
    if rows.empty:
        return pd.DataFrame()
    rows["answer"] = rows["answer"].astype(str).str.strip()
    return pd.crosstab([rows[c] for c in by], rows["answer"], normalize="index")


@dataclass(frozen=True)
class SupportRule:
    """When a persona backs a subject: at least `min_n` respondents (`n`), mean `intent` ≥ `likert_threshold`
    and NPS (`nps_measure`) ≥ `nps_threshold`.

    One rule in one place, so the per-persona count (`verdict_table`) and the customer-weighted share
    (`bundle_support.weighted_support`) never disagree; both take its fields as keyword arguments.
    """

    intent: str = "intent"
    nps_measure: str = "nps"
    likert_threshold: float = 3.5
    nps_threshold: float = 0.0
    min_n: int = MIN_ANSWERS

    def supports(self, persona_scores: pd.DataFrame) -> pd.Series:
        """Per row of `scores_by(...)`: does this persona back this subject?"""
        counts = persona_scores["n"] if "n" in persona_scores else pd.Series(0, index=persona_scores.index)
        return (
            (counts.fillna(0).astype(int) >= self.min_n)
            & (persona_scores[self.intent] >= self.likert_threshold)
            & (persona_scores[self.nps_measure] >= self.nps_threshold)
        )


# A verdict by (does the data back it, do the personas back it): the same words for the persona majority and
# for the customer-weighted side (bundle_support).
VERDICT_LABELS = {(True, True): "both support", (True, False): "data only", (False, True): "personas only",
                  (False, False): "neither"}


def verdict_labels(data: Iterable, personas: Iterable) -> list[str]:
    """`VERDICT_LABELS` for each pair of (data backs it, personas back it)."""
    return [VERDICT_LABELS[(bool(d), bool(p))] for d, p in zip(data, personas, strict=True)]


def persona_supports(persona_scores: pd.DataFrame, **rule: Any) -> pd.Series:
    """Per row of `scores_by(...)`: does this persona back this subject? (`SupportRule`, its fields as keywords)"""
    return SupportRule(**rule).supports(persona_scores)


def verdict_table(data_support: pd.Series, persona_scores: pd.DataFrame, **rule: Any) -> pd.DataFrame:
    """Where the numbers and the personas agree, per subject.

    `data_support` maps subject → bool (does the data back it, e.g. lift > 1 on enough orders).
    `persona_scores` is `scores_by(..., by=["persona_id", "subject"])` (with its `n` column). A persona
    supports a subject by `SupportRule` (keywords `intent`, `nps_measure`, `likert_threshold`,
    `nps_threshold`, `min_n`): at least `min_n` of its respondents answered (fewer is too noisy to count: an
    NPS from 2 answers can only be −100, 0, 50 or 100), its mean `intent` is ≥ `likert_threshold` and its
    NPS is ≥ `nps_threshold`; the personas support it when a strict majority of all personas do.
    `min_answers` is the smallest n of any persona on that subject. Verdict: "both support", "data only",
    "personas only", "neither"; `agree` is True for the first and last.
    """
    rule = SupportRule(**rule)
    scores = persona_scores.copy()
    counts = scores["n"] if "n" in scores else pd.Series(0, index=scores.index)
    scores["_n"] = counts.fillna(0).astype(int)
    scores["supports"] = rule.supports(scores)
    per_subject = scores.groupby("subject", sort=False).agg(
        personas_supporting=("supports", "sum"),
        personas=("supports", "size"),
        min_answers=("_n", "min"),
        mean_intent=(rule.intent, "mean"),
        mean_nps=(rule.nps_measure, "mean"),
    )
    table = pd.DataFrame({"data_support": data_support.astype(bool)}).join(per_subject, how="left")
    table.index.name = "subject"
    table["personas_supporting"] = table["personas_supporting"].fillna(0).astype(int)
    table["personas"] = table["personas"].fillna(0).astype(int)
    table["min_answers"] = table["min_answers"].fillna(0).astype(int)
    table["persona_support"] = table["personas_supporting"] * 2 > table["personas"]
    table["verdict"] = verdict_labels(table["data_support"], table["persona_support"])
    table["agree"] = table["data_support"] == table["persona_support"]
    return table.reset_index()


NO_PERSONAS = (
    "No Mavera personas to ask: run job 01 first (it saves personas.json in this run folder) or pass "
    "persona_ids: python -m helpers.run -p persona_ids '[\"clx...\"]' (or set it in the parameters cell)."
)


def resolve_personas(
    persona_ids: Sequence[str], saved: dict | None, listed: Iterable[dict] = ()
) -> list[str]:
    """The persona ids a focus group asks, in a stable order.

    First the `persona_ids` parameter as given; else the ids in notebook 01's personas.json (`saved`,
    {tier: id}, in file order); else custom personas from `listed` (GET /personas) whose name starts with
    "CLV tier: " (`customers.persona_prefix()`: the account's own prefix in a run with --account), sorted by
    name. None of these → ValueError with one sentence saying what to do.
    """
    chosen = [str(p).strip() for p in persona_ids if str(p).strip()]
    if not chosen and saved:
        chosen = [str(v) for v in saved.values() if v]
    if not chosen:
        prefix = persona_prefix()
        tiers = sorted((p for p in listed if str(p.get("name", "")).startswith(prefix)), key=lambda p: p["name"])
        chosen = [str(p["id"]) for p in tiers if p.get("id")]
    if not chosen:
        raise ValueError(NO_PERSONAS)
    return list(dict.fromkeys(chosen))


def choose_personas(
    persona_ids: Sequence[str], saved: dict | None, list_personas: Callable[[], Iterable[dict]]
) -> tuple[list[str], str]:
    """:func:`resolve_personas`, plus where the ids came from, for the report.

    ``list_personas`` (GET /personas: free, but a request) is called only when neither the parameter nor
    job 01's personas.json names any persona.
    """
    if any(str(p).strip() for p in persona_ids):
        return resolve_personas(persona_ids, saved), "the `persona_ids` parameter"
    if saved and any(saved.values()):
        return resolve_personas([], saved), "job 01's personas.json"
    return resolve_personas([], None, list_personas()), f"found by the '{persona_prefix().strip()}' name"


def question_plan(
    subjects: Mapping[str, Mapping[str, object]], templates: Sequence[tuple[str, str, str]]
) -> pd.DataFrame:
    """Every template asked about every subject: one row per question (`question_id, subject, measure, type,
    question`), numbered q1…qN in row order (see `number_questions`).

    `subjects` maps a subject key to the fields its templates use (e.g. {"SKU-1|SKU-2": {"label": "Bundle 1",
    "price": "$42.00"}}); `templates` are `(measure, question type, text with {fields})`. Texts must come
    out unique, so no respondent sees the same question twice.
    """
    rows = [
        {"subject": key, "measure": measure, "type": qtype, "question": text.format(**fields)}
        for key, fields in subjects.items()
        for measure, qtype, text in templates
    ]
    plan = pd.DataFrame(rows, columns=["subject", "measure", "type", "question"])
    if plan["question"].duplicated().any():
        raise ValueError("Two focus-group questions have the same text; give each subject a distinct label.")
    return number_questions(plan)


def number_questions(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan with a first column `question_id` = q1…qN in row order (after concatenating plans, renumber).

    Send each question with its id (`mavera.likert(text, id=question_id)`, ...): `tag_questions` matches
    the answers back on it.
    """
    plan = plan.drop(columns="question_id", errors="ignore").reset_index(drop=True)
    plan.insert(0, "question_id", [f"q{k + 1}" for k in range(len(plan))])
    return plan


def note_line(mavera_note: str) -> str:
    """A notebook's Mavera note (why the focus group has no answers) as a plain summary bullet."""
    return "- " + mavera_note.replace("**", "")


def verdict_lines(
    verdicts: pd.DataFrame,
    nps_by_persona: Mapping[str, float],
    names: Mapping[str, str],
    mavera_note: str | None = None,
) -> list[str]:
    """Markdown bullets on the bundle verdicts: how many both sides back, where they disagree, NPS per persona.

    `verdicts` is `verdict_table(...)` with a `bundle` label column ("Bundle 1 (A + B)": the bullets name
    the part before the parenthesis); `names` maps persona id → name. Without verdicts the bullet is
    `mavera_note` (why there are none), or nothing.
    """
    if not len(verdicts):
        return [note_line(mavera_note)] if mavera_note else []
    short = verdicts["bundle"].str.split(" (", regex=False).str[0]
    both = short[verdicts["verdict"] == "both support"]
    disagree = verdicts[~verdicts["agree"].astype(bool)]
    lines = [
        f"- Personas and data both back {len(both)} of {len(verdicts)} tested bundles"
        + (f" ({', '.join(both)})" if len(both) else "")
        + "."
    ]
    if len(disagree):
        lines.append(
            "- They disagree on "
            + "; ".join(
                f"{bundle} ({verdict})"
                for bundle, verdict in zip(short[disagree.index], disagree["verdict"], strict=True)
            )
            + "."
        )
    n = int(verdicts["min_answers"].min()) if "min_answers" in verdicts else None
    lines.append(
        "- NPS by persona"
        + (f" (at least {n} answers per persona and bundle; directional)" if n is not None else "")
        + ": "
        + ", ".join(f"{names.get(p, p)} {v:+.0f}" for p, v in nps_by_persona.items())
        + "."
    )
    return lines


OPEN_TYPES = frozenset({"open_ended", "open", "text"})
QUOTE_COLUMNS = ["respondent", "score", "group_median", "quote"]


def representative_quotes(
    answers: pd.DataFrame,
    per_group: int = 2,
    by: Sequence[str] = ("persona_id", "subject"),
    score: str | None = "intent",
) -> pd.DataFrame:
    """A few open-ended answers per group (persona × bundle by default), the ones that speak for the group.

    Why: the "why" answers explain the scores but were saved and never shown; printing all of them buries
    the report, and cherry-picking the most quotable would misrepresent the group. So each group's quotes
    are the answers of the respondents whose `score` (their answer to the group's `score` measure, e.g.
    intent) is closest to the group's median score — typical, not extreme — ties broken by respondent id,
    then text, so the choice is deterministic. Texts are distinct (case and spacing ignored) and empty
    answers skipped. Without a `score` (None, or no numeric answer in the group) the order is by respondent.

    `answers` is tagged (`tag_questions`); open answers are rows of an open type. Returns `[*by,
    respondent, score, group_median, quote]`, groups in first-seen order, at most `per_group` rows each,
    quotes in full.
    """
    if per_group < 1:
        raise ValueError(f"per_group must be ≥ 1, got {per_group}.")
    by = list(by)
    columns = [*by, *QUOTE_COLUMNS]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    kind = answers["type"].astype(str).str.lower()
    texts = answers[kind.isin(OPEN_TYPES)].copy()
    texts["quote"] = texts["answer"].map(lambda a: "" if a is None or (isinstance(a, float) and np.isnan(a)) else str(a).strip())
    texts = texts[texts["quote"] != ""]
    if texts.empty:
        return pd.DataFrame(columns=columns)
    if score is not None and "measure" in answers:
        scored = answers[(answers["measure"] == score) & ~kind.isin(OPEN_TYPES)].copy()
        scored["score"] = pd.to_numeric(scored["answer"], errors="coerce")
        scored = scored.dropna(subset=["score"]).drop_duplicates([*by, "respondent"])
        texts = texts.merge(scored[[*by, "respondent", "score"]], on=[*by, "respondent"], how="left")
        medians = scored.groupby(by, sort=False)["score"].median().rename("group_median").reset_index()
        texts = texts.merge(medians, on=by, how="left")
    else:
        texts["score"], texts["group_median"] = np.nan, np.nan
    texts["_distance"] = (texts["score"] - texts["group_median"]).abs()
    texts["_unscored"] = texts["_distance"].isna()
    texts["_key"] = texts["quote"].str.casefold().str.split().str.join(" ")
    texts["_respondent"] = texts["respondent"].astype(str)
    rows = []
    for _, group in texts.groupby(by, sort=False):
        ranked = group.sort_values(["_unscored", "_distance", "_respondent", "quote"], kind="stable")
        rows.append(ranked.drop_duplicates("_key").head(per_group))
    return pd.concat(rows, ignore_index=True)[columns]


def quote_lines(
    quotes: pd.DataFrame,
    names: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    score_label: str = "intent",
) -> list[str]:
    """Markdown bullets, one per quote of `representative_quotes`: persona, subject, the quote in full.

    `names` maps persona id → name, `labels` subject → label (e.g. "Bundle 1 (A + B)"). The respondent's
    score and the group median are shown when known, so a reader sees the quote is typical. Quote text is
    escaped (`markdown.escape`), so "$" or "*" in an answer shows as typed.
    """
    from helpers.analysis.markdown import escape

    lines = []
    for row in quotes.itertuples(index=False):
        persona = (names or {}).get(row.persona_id, row.persona_id) if hasattr(row, "persona_id") else ""
        subject = (labels or {}).get(row.subject, row.subject) if hasattr(row, "subject") else ""
        where = " on ".join(escape(str(x)) for x in (persona, subject) if str(x))
        known = pd.notna(row.score) and pd.notna(row.group_median)
        note = f" ({score_label} {row.score:g}; group median {row.group_median:g})" if known else ""
        lines.append(f"- **{where}**{note}: “{escape(row.quote).replace(chr(10), ' ')}”")
    return lines


# ---------------------------------------------------------------------------------------------- evidence


def directional(n: int | None, cell: str = "persona") -> str:
    """The caveat every persona-based finding carries, with its ``n`` per cell: "directional: synthetic
    respondents, n = 5 per persona" (``n`` None or 0: without the count)."""
    count = f", n = {int(n)} per {cell}" if n else ""
    return f"directional: synthetic respondents{count}"


QUALITY_COLUMNS = ["open_answers", "distinct", "repeat_prompt", "same_across_subjects"]
_WORD = r"[\w']+"


def _words(text: object) -> list[str]:
    import re

    return re.findall(_WORD, str(text).casefold())


def _shingles(words: Sequence[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def repeats_prompt(answer: object, prompts: Iterable[object], min_words: int = 5) -> bool:
    """Does the answer repeat a run of at least ``min_words`` words of one of ``prompts`` (the question, the
    stimulus, the persona's own name or description)? Case and punctuation are ignored. A prompt shorter
    than ``min_words`` words (a persona name like "CLV tier: VIP") counts when the answer holds it whole."""
    words = _words(answer)
    said = _shingles(words, min_words)
    for prompt in prompts:
        asked = _words(prompt)
        if not asked:
            continue
        if len(asked) < min_words:
            if len(asked) >= 2 and tuple(asked) in _shingles(words, len(asked)):
                return True
        elif said & _shingles(asked, min_words):
            return True
    return False


def answer_quality(
    answers: pd.DataFrame, context: str = "", personas: Mapping[str, str] | None = None, min_words: int = 5
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The open answers, each flagged, and their counts: whether the synthetic respondents said anything.

    Why: an open answer that repeats its prompt (the question, the stimulus ``context``, the persona's own
    name from ``personas`` {id: name or description}) or that one respondent gives word for word about
    every subject is not a reason: it is the generator's template. Such answers are counted and flagged,
    never quoted as insight. ``answers`` is tagged (``tag_questions``: with ``subject``); returns the open
    answers with ``repeats_prompt`` and ``same_across_subjects`` columns, and ``{open_answers, distinct,
    repeat_prompt, same_across_subjects}``. "Same across subjects": the respondent answered at least two
    subjects and gave the same text (case and spacing ignored) for all of them.
    """
    empty = {key: 0 for key in QUALITY_COLUMNS}
    if answers.empty:
        return answers.assign(repeats_prompt=pd.Series(dtype=bool), same_across_subjects=pd.Series(dtype=bool)), empty
    kind = answers["type"].astype(str).str.lower()
    texts = answers[kind.isin(OPEN_TYPES)].copy()
    texts["answer"] = texts["answer"].map(lambda a: "" if a is None or (isinstance(a, float) and np.isnan(a)) else str(a))
    texts = texts[texts["answer"].str.strip() != ""]
    if texts.empty:
        return texts.assign(repeats_prompt=pd.Series(dtype=bool), same_across_subjects=pd.Series(dtype=bool)), empty
    names = personas or {}
    texts["repeats_prompt"] = [
        repeats_prompt(a, [q, context, names.get(p, "")], min_words)
        for a, q, p in zip(texts["answer"], texts["question"], texts["persona_id"], strict=True)
    ]
    key = texts["answer"].str.casefold().str.split().str.join(" ")
    texts["same_across_subjects"] = False
    if "subject" in texts:
        per = texts.assign(_key=key).groupby(["persona_id", "respondent"], sort=False)
        for _, group in per:
            if group["subject"].nunique() >= 2 and group["_key"].nunique() == 1:
                texts.loc[group.index, "same_across_subjects"] = True
    counts = {"open_answers": len(texts), "distinct": int(key.nunique()),
              "repeat_prompt": int(texts["repeats_prompt"].sum()),
              "same_across_subjects": int(texts["same_across_subjects"].sum())}
    return texts, counts


def quality_line(counts: Mapping[str, int], subjects: str = "subjects") -> str | None:
    """One Markdown bullet on the open answers' quality (``answer_quality``'s counts), or None without any.

    Flags, in plain words, answers that repeat their prompt and answers that are the same for every one of
    the ``subjects`` ("bundles", "messages"): the open answers then explain nothing, and the scores are read
    with that in mind."""
    total = int(counts.get("open_answers") or 0)
    if not total:
        return None
    line = f"- Open answers: {total}, {int(counts.get('distinct') or 0)} distinct"
    problems = []
    if counts.get("repeat_prompt"):
        problems.append(f"{counts['repeat_prompt']} repeat their prompt")
    if counts.get("same_across_subjects"):
        problems.append(f"{counts['same_across_subjects']} are the same sentence for every one of the {subjects}")
    if not problems:
        return line + "; none repeats its prompt or is the same for every one of the " + subjects + "."
    return (line + "; **flagged:** " + ", ".join(problems) + ". Such answers are the generator's template, not "
            "reasons: read the scores as directional and the quotes with care.")
