"""Where Mave's segmentation advice disagrees with the deterministic plan (notebook 03).

Mave answers in free text, so its advice is read back the way an analyst would read it: each statement
(a line, a sentence, a clause after ";") that holds an action word (merge, fold, retire, keep and their
synonyms) is an instruction; the segments it names — by name or id, case, quotes and punctuation ignored,
longest names first so "VIP" never matches inside "VIP lapsed" — are what it acts on; a segment named
after "into"/"under"/"inside" is the target ("merge A with B", like "merge A and B", names no direction). A segment named before any action word takes the next one
("“Beta testers” should be retired"). Statements without an action word (echoed numbers, context) are
ignored. The limits are those of any keyword reading: a paraphrased name ("the beta group") is not
recognised, and a sentence mixing two instructions may attach a segment to the wrong one; the report shows
Mave's answer in full beside the list, so a reader can check each line.

Mave's advice can also be given structured (a frame or dicts with `action`, `segment` id or name and
optional `into`), e.g. when a later version of the client asks Mave for JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from helpers.analysis.markdown import escape

__all__ = ["ACTION_WORDS", "mave_actions", "mave_disagreements", "disagreement_lines"]

ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "merge": ("merge", "merged", "merging", "combine", "combined", "combining", "consolidate", "consolidated",
              "consolidating", "deduplicate", "dedupe", "unify"),
    "fold": ("fold", "folded", "folding", "nest", "subsume", "subsumed", "as a filter", "use a filter"),
    "retire": ("retire", "retired", "retiring", "delete", "deleted", "deleting", "archive", "archived",
               "archiving", "remove", "removed", "removing", "drop", "dropped", "dropping", "sunset",
               "deprecate", "deprecated", "discontinue", "eliminate", "get rid of"),
    "keep": ("keep", "kept", "keeping", "retain", "retained", "preserve", "leave as is", "leave unchanged"),
}
_COMBINE = frozenset({"merge", "fold"})
_TARGET_WORDS = ("into", "with", "under", "inside", "within")
_KEYWORD_RE = re.compile(
    r"(?<![a-z0-9])(" + "|".join(sorted((re.escape(w) for ws in ACTION_WORDS.values() for w in ws), key=len,
                                        reverse=True)) + r")(?![a-z0-9])"
)
_WORD_ACTION = {w: a for a, ws in ACTION_WORDS.items() for w in ws}
_TARGET_RE = re.compile(r"(?<![a-z0-9])(" + "|".join(_TARGET_WORDS) + r")(?![a-z0-9])")
_STATEMENT_SPLIT = re.compile(r"\n+|(?<=[.!?;])\s+")
COLUMNS = ["segment_id", "name", "kind", "plan", "mave", "detail"]


def _norm(text: str) -> str:
    """Lower case, markdown and quotes gone, every non-alphanumeric run a single space."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(text).lower()).split())


def _mentions(statement: str, patterns: list[tuple[re.Pattern, str]]) -> tuple[list[tuple[int, str]], str]:
    """(position, segment id) of each segment named in the normalised statement, longest names first,
    and the statement with those names masked (so "Drop-off browsers" is a name, not an instruction)."""
    found, masked = [], statement
    for pattern, segment_id in patterns:
        for match in pattern.finditer(masked):
            found.append((match.start(), segment_id))
        masked = pattern.sub(lambda m: "#" * len(m.group(0)), masked)
    return sorted(found), masked


def _patterns(names: Mapping[str, str]) -> list[tuple[re.Pattern, str]]:
    keys = [(_norm(name), sid) for sid, name in names.items() if _norm(name)]
    keys += [(_norm(sid), sid) for sid in names if _norm(sid)]
    keys = sorted(set(keys), key=lambda k: (-len(k[0]), k[0]))
    return [(re.compile(rf"(?<![a-z0-9]){re.escape(key)}(?![a-z0-9])"), sid) for key, sid in keys]


def _keywords(statement: str) -> list[tuple[int, frozenset]]:
    """Action words in order; "retire or fold" is one instruction allowing either."""
    found = [(m.start(), m.end(), _WORD_ACTION[m.group(1)]) for m in _KEYWORD_RE.finditer(statement)]
    merged: list[list] = []
    for start, end, action in found:
        if merged and statement[merged[-1][1]:start].strip() in {"or", "and or", ""}:
            merged[-1][1], merged[-1][2] = end, merged[-1][2] | {action}
        else:
            merged.append([start, end, {action}])
    return [(start, frozenset(actions)) for start, _, actions in merged]


def mave_actions(mave: str | pd.DataFrame | Iterable[Mapping], names: Mapping[str, str]) -> pd.DataFrame:
    """Mave's advice as one row per (statement, segment): `segment_id, actions, targets, group, statement`.

    Why: the comparison needs Mave's instructions per segment, whatever form the answer took. `names` maps
    every segment id to its name (the segments Mave could name). `actions` is a frozenset (usually one
    action; "retire or fold" gives two), `targets` the segment ids it goes into (empty for retire/keep),
    `group` True for "merge A and B" without a stated direction (each one's targets are the others).
    """
    columns = ["segment_id", "actions", "targets", "group", "statement"]
    if not isinstance(mave, str):
        return _structured(mave, names, columns)
    patterns = _patterns(names)
    rows = []
    for raw in _STATEMENT_SPLIT.split(mave):
        mentions_found, statement = _mentions(_norm(raw), patterns)
        keywords = _keywords(statement)
        if not statement or not keywords:
            continue
        per_action: dict[int, list[tuple[int, str]]] = {}
        for pos, segment_id in mentions_found:
            before = [k for k, (start, _) in enumerate(keywords) if start < pos]
            per_action.setdefault(before[-1] if before else 0, []).append((pos, segment_id))
        for k, mentions in per_action.items():
            start, actions = keywords[k]
            end = keywords[k + 1][0] if k + 1 < len(keywords) else len(statement)
            split = _TARGET_RE.search(statement, start, end) if actions & _COMBINE else None
            if split is not None and split.group(1) == "with" and "merge" in actions:
                split = None  # "merge A with B" names no direction, like "merge A and B"
            subjects = [s for p, s in mentions if split is None or p < split.start()]
            targets = [s for p, s in mentions if split is not None and p > split.start()]
            group = bool(actions & {"merge"}) and not targets and len(set(subjects)) > 1
            for s in dict.fromkeys(subjects):
                others = [t for t in dict.fromkeys(subjects) if t != s] if group else targets
                rows.append((s, actions, frozenset(t for t in others if t != s), group, raw.strip()))
    return pd.DataFrame(rows, columns=columns)


def _structured(items, names: Mapping[str, str], columns: list[str]) -> pd.DataFrame:
    by_name = {_norm(n): sid for sid, n in names.items()}

    def resolve(value) -> str | None:
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) or str(value) == "":
            return None
        return str(value) if str(value) in names else by_name.get(_norm(value), str(value))

    records = items.to_dict("records") if isinstance(items, pd.DataFrame) else list(items)
    rows = []
    for item in records:
        action = str(item.get("action", "")).lower()
        action = _WORD_ACTION.get(action, action)
        segment = next((r for r in map(resolve, (item.get(k) for k in ("segment_id", "segment", "name"))) if r), None)
        if segment is None or action not in ACTION_WORDS:
            continue
        into = resolve(item.get("into"))
        rows.append((segment, frozenset({action}), frozenset({into} - {None}), False, str(item)))
    return pd.DataFrame(rows, columns=columns)


def _plan_text(action: str, into_name: str) -> str:
    return f"{action} it into “{into_name}”" if action in _COMBINE else f"{action} it"


def _mave_text(
    actions: frozenset, targets: set, names: Mapping[str, str], subject: str = "it", directed: bool = True
) -> str:
    verbs = " or ".join(sorted(actions))
    if targets:
        joint = "into" if directed else "with"
        return f"{verbs} {subject} {joint} " + ", ".join(f"“{names.get(t, t)}”" for t in sorted(targets))
    return f"{verbs} {subject}"


def _judge(
    sid: str, said: frozenset, targets: set, directed: set, action: str, into: str | None, plan_text: str,
    names: Mapping[str, str], in_use: list[str] | None, sources: set[str], changed: set[str],
) -> tuple[str, str] | None:
    """(kind, detail) of the disagreement on one segment, or None when Mave agrees with the plan.

    `targets` are all segments Mave sends this one into, `directed` those named after "into" (not from an
    undirected "merge A and B"), `sources` the segments the plan sends into this one, `changed` every
    segment the plan retires, merges or folds.
    """
    name = names.get(sid, sid)
    named = _mave_text(said, targets, names, f"“{name}”", directed=bool(directed))
    if len(targets) >= 2:
        listed = ", ".join(f"“{names.get(t, t)}”" for t in sorted(targets))
        return "several targets", (f"Mave sends “{name}” into {len(targets)} different segments ({listed}); "
                                   f"the plan would {plan_text}.")
    if action == "keep":
        return _judge_kept(sid, said, targets, bool(directed), named, name, in_use, sources, changed)
    return _judge_changed(said, targets, action, into, plan_text, names, named, name)


def _judge_kept(
    sid: str, said: frozenset, targets: set, directed: bool, named: str, name: str,
    in_use: list[str] | None, sources: set[str], changed: set[str],
) -> tuple[str, str] | None:
    """The disagreement on a segment the plan keeps, or None."""
    if said & {"keep"}:
        return None
    if "retire" in said:
        if in_use:
            return "retires a segment in use", (f"Mave would retire “{name}”, which is in use by "
                                                f"{', '.join(in_use)}; the plan keeps it.")
        return "retires a kept segment", f"Mave would retire “{name}”; the plan keeps it."
    if said & _COMBINE and directed:
        return "changes a kept segment", f"Mave would {named}; the plan keeps it."
    # An undirected "merge A and B": agreement when the plan merges B into A; when the plan changes B
    # otherwise, B's own row reports it; two kept segments are reported once, on the smaller id.
    rest = targets - sources
    if said & _COMBINE and rest and not rest & changed and sid < min(rest):
        return "changes a kept segment", f"Mave would {named}; the plan keeps both."
    return None


def _judge_changed(
    said: frozenset, targets: set, action: str, into: str | None, plan_text: str,
    names: Mapping[str, str], named: str, name: str,
) -> tuple[str, str] | None:
    """The disagreement on a segment the plan retires, merges or folds, or None."""
    if said <= {"keep"}:
        return "keeps a segment the plan changes", f"Mave keeps “{name}”; the plan would {plan_text}."
    if action == "retire" and "retire" not in said:
        return "different action", f"Mave would {named}; the plan would retire it."
    if action in _COMBINE and not (said & _COMBINE):
        return "different action", f"Mave would {named}; the plan would {plan_text}."
    if action in _COMBINE and targets and into not in targets:
        target = names.get(next(iter(targets)), next(iter(targets)))
        return "different target", f"Mave sends “{name}” into “{target}”; the plan would {plan_text}."
    return None


def mave_disagreements(
    plan: pd.DataFrame,
    mave: str | pd.DataFrame | Iterable[Mapping],
    names: Mapping[str, str] | None = None,
    usage: Mapping[str, list[str]] | None = None,
    include_omitted: bool = False,
) -> pd.DataFrame:
    """Every point where Mave's advice contradicts the deterministic plan, one row each.

    Why: Mave's answer sat under the plan unchallenged even when it folded one segment into three
    different ones. `plan` is `segments.suggest_simplification` (optionally through
    `segment_usage.protect_in_use`, whose "keep" rows count as kept); a segment without a plan row is kept.
    `mave` is Mave's answer text or structured advice (see `mave_actions`); `names` maps every analysed
    segment id to its name (default: the names in `plan`), `usage` is `segment_usage(...)`.

    Kinds (column `kind`): "several targets" (Mave sends one segment into two or more different ones),
    "retires a segment in use", "retires a kept segment", "changes a kept segment" (merge/fold of one the
    plan keeps), "keeps a segment the plan changes", "different action" (e.g. retire vs fold),
    "different target" (same kind of change, another segment). Merge and fold count as the same kind of
    change (both send the segment's people into another), so "fold A into B" agrees with "merge A into B";
    "retire or fold" agrees with either. With `include_omitted`, plan changes Mave never mentions are
    listed too ("omitted"). Columns `segment_id, name, kind, plan, mave, detail` (one sentence).
    """
    names = _names_of(plan, names)
    usage = _usage_of(plan, usage)
    actions = mave_actions(mave, names)
    planned = {row.segment_id: (row.action, row.into if isinstance(row.into, str) else None)
               for row in plan.itertuples(index=False)}
    sources: dict[str, set[str]] = {}
    for sid, (action, into) in planned.items():
        if action in _COMBINE and into:
            sources.setdefault(into, set()).add(sid)
    changed = {sid for sid, (action, _) in planned.items() if action != "keep"}
    rows = []
    mentioned = list(dict.fromkeys(actions["segment_id"]))
    for sid in mentioned:
        mine = actions[actions["segment_id"] == sid]
        said = frozenset().union(*mine["actions"])
        combining = mine[[bool(a & _COMBINE) for a in mine["actions"]]]
        targets = set().union(*(set(t) for t in combining["targets"]))
        directed = set().union(*(set(t) for t, g in zip(combining["targets"], combining["group"], strict=True) if not g))
        action, into = planned.get(sid, ("keep", None))
        plan_text = _plan_text(action, names.get(into, into or ""))
        verdict = _judge(sid, said, targets, directed, action, into, plan_text, names, usage.get(sid),
                         sources.get(sid, set()), changed)
        if verdict:
            rows.append((sid, names.get(sid, sid), verdict[0], plan_text,
                         _mave_text(said, targets, names, directed=bool(directed)), verdict[1]))
    if include_omitted:
        rows += _omitted(planned, mentioned, names)
    return pd.DataFrame(rows, columns=COLUMNS)


def _names_of(plan: pd.DataFrame, names: Mapping[str, str] | None) -> dict[str, str]:
    """Every segment's display name: ``names`` first, then the plan's own names and targets."""
    out = dict(names) if names is not None else {}
    for sid, name, into, into_name in plan[["segment_id", "name", "into", "into_name"]].itertuples(index=False):
        out.setdefault(sid, name if isinstance(name, str) else sid)
        if isinstance(into, str) and into:
            out.setdefault(into, into_name or into)
    return out


def _usage_of(plan: pd.DataFrame, usage: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """Which campaigns or flows use each segment: ``usage``, plus what plan rows from
    ``segment_usage.protect_in_use`` carry."""
    out = dict(usage or {})
    if "in_use_by" in plan:
        for sid, users in zip(plan["segment_id"], plan["in_use_by"], strict=True):
            if isinstance(users, list | tuple) and users:
                out.setdefault(sid, list(users))
    return out


def _omitted(planned: Mapping[str, tuple[str, str | None]], mentioned: list[str],
             names: Mapping[str, str]) -> list[tuple]:
    """Rows for the plan's changes that Mave never mentions."""
    rows = []
    for sid, (action, into) in planned.items():
        if action != "keep" and sid not in mentioned:
            plan_text = _plan_text(action, names.get(into, into or ""))
            rows.append((sid, names.get(sid, sid), "omitted", plan_text, "",
                         f"Mave does not mention “{names.get(sid, sid)}”; the plan would {plan_text}."))
    return rows


def disagreement_lines(disagreements: pd.DataFrame) -> list[str]:
    """Markdown bullets for the report: a count, then one bullet per disagreement (its `detail`)."""
    if disagreements.empty:
        return ["- Mave's answer agrees with the deterministic plan on every segment it names."]
    n = len(disagreements)
    lines = [f"- Mave's answer disagrees with the deterministic plan in {n} place{'s' if n > 1 else ''}:"]
    return lines + [f"  - {escape(d)}" for d in disagreements["detail"]]
