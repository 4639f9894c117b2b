"""Mave's answers: markdown built from the brief, turning the segments it flags into merge, fold and retire
actions (the emulator's stand-in for Mavera's research agent)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .seeded import digest

_ACTIONS = (
    ("merge", ("redundant", "jaccard", "duplicate", "near-identical")),
    ("fold", ("nested", "inside", "contained", "subset", "containment")),
    ("retire", ("tiny", "too small", "fewer than")),
)
# A segment name in quotes; a figure (a percentage or a share such as 0.93) quoted as evidence.
_QUOTED = r"[\"'“‘`][^\"'”’`]{2,60}[\"'”’`]"
_FIGURE = r"\d+(?:\.\d+)?\s*%|\b0\.\d+\b"


def _kind(text: str) -> str | None:
    low = text.lower()
    return next((kind for kind, words in _ACTIONS if any(w in low for w in words)), None)


def _names(item: str) -> list[str]:
    quoted = re.findall(r"[\"'“‘`]([^\"'”’`]{2,60})[\"'”’`]", item)
    if quoted:
        return quoted[:2]
    head = item.rsplit(":", 1)[0] if re.search(r":\s*[\d.]+%?\s*$", item) else item
    parts = re.split(r"\s+(?:~|↔|<->|vs\.?|and|inside|within|in)\s+", head, maxsplit=1)
    return [re.sub(r"\s*\(\d[\d,]*\)$", "", p).strip(" -*") for p in parts if p.strip(" -*")][:2]


def planted_retirement(seed: int, names: Iterable[str]) -> str | None:
    """The segment this seed's Mave wrongly proposes to retire, among segments nothing flagged; None for one
    seed in four. A real agent contradicts a deterministic plan now and then; the notebook must say so, and
    ``/sandbox/truth`` names the segment (``mave_planted_retirement``) so a test can check it did."""
    if digest(seed, "mave-retire")[0] % 4 == 0:
        return None
    pool = sorted(set(names))
    return min(pool, key=lambda n: digest(seed, "mave-retire", n)) if pool else None


def mave_answer(message: str, turn: int, seed: int = 0) -> str:
    """Markdown built from the brief: echoes its segment lines and turns flagged ones into actions.

    Flags come from keywords on a line or from the heading above a bullet list ("Near-duplicate
    pairs (Jaccard):" then "- A ~ B: 0.93"). A nested segment listed inside several segments is folded
    into each of them, as an agent reading the list line by line would (the plan folds it into one), and
    for most seeds one segment nothing flagged is retired anyway (:func:`planted_retirement`): two ways
    Mave's answer can contradict the deterministic plan.
    """
    echoed, actions = _read_brief(message)
    return _markdown(message, turn, echoed, _recommendations(echoed, actions, seed))


def _read_brief(message: str) -> tuple[list[str], list[tuple[str, list[str], str | None]]]:
    """(items echoed back, [(action, segment names, figure)]) of the brief, line by line: a heading
    sets the action of the bullets under it, a bullet's own keywords override it."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    echoed, actions, section = [], [], None
    for line in lines:
        is_item = _is_item(line)
        if line.startswith("|"):
            line = _table_row(line)
            if line is None:
                continue
            is_item = True
        if not is_item:
            section = _kind(line)
            actions.extend(_heading_actions(line, section))
            continue
        item = re.sub(r"^(?:[-*]|\d+[.)])\s+", "", line)
        kind = _kind(item) or section
        if kind is None:
            echoed.append(item)
        else:
            actions.append((kind, _names(item), _last_figure(item)))
    return echoed, actions


def _is_item(line: str) -> bool:
    return line[:2] in {"- ", "* "} or bool(re.match(r"^\d+[.)] ", line))


def _table_row(line: str) -> str | None:
    """A markdown table row's cells joined as one item; None for the separator and header rows."""
    cells = [c.strip() for c in line.strip("|").split("|")]
    if set(line) <= set("|-: ") or cells[0].lower() in {"segment", "name", "id", "segment_id", "pair"}:
        return None
    return " · ".join(cells)


def _heading_actions(line: str, section: str | None) -> list[tuple[str, list[str], str | None]]:
    """The actions a heading states itself: "Tiny segments: A (31), B (12)" retires each, and a flagged
    sentence naming segments in quotes acts on them."""
    if section == "retire" and ":" in line:
        return [("retire", _names(item.strip()), None) for item in line.split(":", 1)[1].split(",") if item.strip()]
    if section and re.search(_QUOTED, line):
        return [(section, _names(line), _last_figure(line))]
    return []


def _last_figure(text: str) -> str | None:
    numbers = re.findall(_FIGURE, text)
    return numbers[-1].strip() if numbers else None


def _recommendation(kind: str, names: list[str], figure: str | None) -> str:
    label = " and ".join(f"“{n}”" for n in names) or "this segment"
    evidence = f" (overlap {figure})" if figure else ""
    if kind == "merge":
        return f"**Merge** {label}{evidence}: they reach essentially the same people; keep one definition."
    if kind == "fold" and len(names) == 2:
        return (f"**Fold** “{names[0]}” into “{names[1]}”{evidence}: it sits inside the larger segment; "
                "use a filter on the larger one instead.")
    if kind == "fold":
        return f"**Fold** {label}{evidence}: it sits inside a larger segment."
    return f"**Retire or fold** {label}: too small to move revenue on its own."


def _recommendations(echoed: list[str], actions: list, seed: int) -> list[str]:
    """One line per distinct action (at most 15), plus this seed's planted retirement of a listed segment
    nothing flagged."""
    text = [_recommendation(kind, names, figure) for kind, names, figure in actions]
    flagged = {n for _, names, _ in actions for n in names}
    listed = [m.group(1).strip() for item in echoed if (m := re.match(r"^(.+?):\s*\d[\d,]*,", item))]
    wrong = planted_retirement(seed, [n for n in listed if n not in flagged])
    if wrong:
        text.append(f"**Retire** “{wrong}”: its people are reached by broader segments anyway.")
    return list(dict.fromkeys(text))[:15]


def _markdown(message: str, turn: int, echoed: list[str], text: list[str]) -> str:
    numbers = re.findall(r"\b\d[\d,]*(?:\.\d+)?%?", message)
    out = []
    if turn > 1:
        out.append(f"Building on the earlier answers in this thread (message {turn}):\n")
    out.append("## Simplified segmentation plan\n")
    if echoed:
        out.append("**What you sent**\n")
        out.extend(f"- {r}" for r in echoed[:10])
        if len(echoed) > 10:
            out.append(f"- … and {len(echoed) - 10} more")
        out.append("")
    out.append("**Recommendations**\n")
    if text:
        out.extend(f"{i}. {a}" for i, a in enumerate(text, 1))
        out.append(f"{len(text) + 1}. Keep every other segment as it is; recheck overlaps after the next list clean-up.")
    else:
        out.append("1. No segment in your brief is flagged as redundant, nested or tiny; keep the current set and "
                   "review overlaps quarterly.")
    out.append("")
    if numbers:
        out.append(f"These recommendations rest on the {len(numbers)} figures in your brief (e.g. {', '.join(numbers[:4])}).")
    out.append("\n_Answer generated by the local Mavera sandbox from the numbers in your message._")
    return "\n".join(out)
