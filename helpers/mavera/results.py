"""A completed focus group as data: its result object and its answers as one long frame."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

ANSWER_COLUMNS = ["persona_id", "persona_name", "respondent", "question_id", "question", "type", "answer"]


@dataclass
class FocusGroupResult:
    id: str | None
    name: str
    status: str
    answers: pd.DataFrame
    raw: dict = field(repr=False)
    credits_used: int = 0
    from_cache: bool = False


def answers_frame(group: Mapping) -> pd.DataFrame:
    """Tidy answers (one row per respondent per question) from a completed focus-group body.

    [I] Shape: ``results.responses[] = {respondent_id, persona{id,name}, answers[{question_id, value}]}``;
    flat rows (``persona_id``, ``question_id``, ``answer``/``score``) are read too.
    """
    questions = {q.get("id"): q for q in group.get("questions") or []}
    results = group.get("results") or {}
    rows = []
    for resp in results.get("responses") or []:
        persona = resp.get("persona") or {}
        pid = persona.get("id") or resp.get("persona_id")
        pname = persona.get("name") or resp.get("persona_name")
        respondent = resp.get("respondent_id") or resp.get("respondent")
        answers = resp.get("answers")
        if answers is None:  # flat row
            answers = [resp]
        for ans in answers:
            qid = ans.get("question_id")
            q = questions.get(qid, {})
            value = next((ans[k] for k in ("value", "answer", "score", "response") if k in ans), None)
            rows.append({"persona_id": pid, "persona_name": pname, "respondent": respondent, "question_id": qid,
                         "question": q.get("text") or ans.get("question"),
                         "type": str(q.get("type") or ans.get("type") or "").lower(), "answer": value})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS).astype({"answer": object})


