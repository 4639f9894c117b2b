"""What each notebook's parameters may be: ranges and choices, declared once per notebook.

The ``parameters`` cell of a notebook stays the source of truth for names, types and defaults (papermill
reads it, and the runner converts ``-p`` values to the declared types). This module adds only what a type
cannot say — ``significance`` lies in (0, 0.5], ``timeframe`` is one of Klaviyo's names — as data
(:data:`SPECS`), so that the notebook's one-line check cell::

    params.check("02_flow_content_refresh", globals())

and the runner, before any kernel starts (``params.problems(stem, overrides)``), refuse the same values
with the same sentence, e.g. ``parameter significance=0.9 must be at most 0.5; pass e.g. -p significance
0.05`` (the example is the notebook's default, read from its parameters cell).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import numbers
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import config
from helpers.analysis import customers

__all__ = ["SPECS", "TIMEFRAMES", "Choice", "Items", "ParameterError", "Range", "Rule", "Text", "check",
           "coerce", "coerce_declared", "defaults", "describe", "problems", "secret_like", "validate"]

# The report timeframes the notebooks offer (Klaviyo's reporting API accepts these keys).
TIMEFRAMES = ("last_30_days", "last_90_days", "last_3_months", "last_365_days", "last_12_months",
              "this_month", "last_month", "this_year", "last_year")


# ---------------------------------------------------------------------------------------------- checks
# Each check's ``problem(value)`` returns what is wrong as the end of a sentence ("must be at most 0.5"),
# or None; :func:`problems` puts "parameter NAME=VALUE" in front and the example behind.


@dataclass(frozen=True)
class Range:
    """A number (not a bool) within ``low``..``high`` (None: unbounded on that side).

    ``open`` excludes bounds: True for both, ``"low"`` or ``"high"`` for one.
    """

    low: float | None = None
    high: float | None = None
    open: bool | str = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return "should be a number"
        low_open = self.open is True or self.open == "low"
        high_open = self.open is True or self.open == "high"
        if self.low is not None and (value <= self.low if low_open else value < self.low):
            return f"must be {'above' if low_open else 'at least'} {self.low:g}"
        if self.high is not None and (value >= self.high if high_open else value > self.high):
            return f"must be {'below' if high_open else 'at most'} {self.high:g}"
        return None


@dataclass(frozen=True)
class Choice:
    """One of ``options``."""

    options: tuple[Any, ...]

    def __init__(self, *options: Any):
        object.__setattr__(self, "options", tuple(options))

    def problem(self, value: Any) -> str | None:
        if value in self.options:
            return None
        return "is not one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class Text:
    """A string with something in it besides white space."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "should be text"
        return None if value.strip() else "is empty"


@dataclass(frozen=True)
class Items:
    """A list whose every item passes ``each`` (if given), with at most ``at_most`` items.

    ``example`` is shown in the message when the notebook's default (often ``[]``) would not help.
    """

    each: Range | Choice | Text | None = None
    at_most: int | None = None
    example: list | None = None

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, list):
            return "should be a list"
        if self.at_most is not None and len(value) > self.at_most:
            return f"has {len(value)} items; give at most {self.at_most}"
        for position, item in enumerate(value, start=1):
            wrong = self.each.problem(item) if self.each is not None else None
            if wrong:
                return f"has {item!r} at position {position}, which {wrong}"
        return None


@dataclass(frozen=True)
class Rule:
    """A check across parameters: ``check(*values of names)`` returns a whole sentence, or None.

    It runs only once every one of ``names`` passed its own check, so it may assume their types.
    """

    names: tuple[str, ...]
    check: Callable[..., str | None]


Check = Range | Choice | Text | Items


@dataclass(frozen=True)
class Spec:
    """One notebook's checks: one per parameter that needs more than its type, plus cross-parameter rules."""

    fields: Mapping[str, Check]
    rules: tuple[Rule, ...] = ()

    @property
    def names(self) -> set[str]:
        return set(self.fields) | {name for rule in self.rules for name in rule.names}


# ---------------------------------------------------------------------------------------------- specs


def _tiering(tier_cuts: list, tier_names: list) -> str | None:
    try:
        customers.validate_tiering(tier_cuts, tier_names)
    except ValueError as exc:
        return str(exc)
    return None


def _churn_bounds(bounds: list) -> str | None:
    if len(bounds) == 2 and 0 < bounds[0] < bounds[1] < 1:
        return None
    return f"churn_bounds must be two increasing probabilities between 0 and 1, e.g. [0.3, 0.6]; got {bounds}."


def _two_or_all(segment_ids: list) -> str | None:
    if len(segment_ids) == 1:
        return "segment_ids needs at least two segments to compare (or [] for all active ones)."
    return None


def _enough_answers(what: str) -> Callable[[int, int], str | None]:
    def rule(responses_per_persona: int, min_answers: int) -> str | None:
        if responses_per_persona >= min_answers:
            return None
        return (f"responses_per_persona={responses_per_persona} is below min_answers={min_answers}, so no "
                f"{what}; raise responses_per_persona or lower min_answers.")

    return rule


MAVERA = {"max_credits": Range(0)}  # every notebook: the Mavera budget (dry_run needs only its bool type)
REPORT = {"timeframe": Choice(*TIMEFRAMES), "conversion_metric": Text()}
SIGNIFICANCE = Range(0, 0.5, open="low")
FOCUS_GROUP = {  # 04 and 05
    "persona_ids": Items(Text(), at_most=10, example=["clx..."]),
    "responses_per_persona": Range(1, 20),
    "min_answers": Range(1, 20),
}

SPECS: dict[str, Spec] = {
    "01_persona_enrichment": Spec(
        {
            "clv_field": Choice("predicted_clv", "total_clv", "historic_clv"),
            "tier_cuts": Items(Range()),
            "tier_names": Items(),
            "churn_bounds": Items(Range()),
            "order_lookback_days": Range(30, 3650),
            "predictions": Choice("auto", "klaviyo", "model"),
            **MAVERA,
        },
        rules=(Rule(("tier_cuts", "tier_names"), _tiering), Rule(("churn_bounds",), _churn_bounds)),
    ),
    "02_flow_content_refresh": Spec(
        {
            **REPORT,
            "min_recipients": Range(1),
            "significance": SIGNIFICANCE,
            "min_relative_gap": Range(0, 0.99),
            "order_value_cv": Range(0, 10),
            "variants": Range(0, 5),
            **MAVERA,
        }
    ),
    "03_segment_overlap": Spec(
        {
            "segment_ids": Items(Text(), example=["SEGMENT_ID_1", "SEGMENT_ID_2"]),
            "jaccard_min": Range(0.01, 1),
            "containment_min": Range(0.01, 1),
            "tiny_share": Range(0, 0.5),
            "many_min": Range(2),
            **MAVERA,
        },
        rules=(Rule(("segment_ids",), _two_or_all),),
    ),
    "04_product_affinity_focus_group": Spec(
        {
            "lookback_days": Range(1, 730),
            "min_co_orders": Range(1),
            "min_support": Range(0, 1),
            "top_n": Range(1, 100),
            "focus_pairs": Range(1, 4),
            "bundle_discount": Range(0, 0.9),
            "min_lift": Range(0),
            "significance": SIGNIFICANCE,
            **FOCUS_GROUP,
            **MAVERA,
        },
        rules=(Rule(("responses_per_persona", "min_answers"), _enough_answers("persona could back a bundle")),),
    ),
    "05_sms_vs_email_testing": Spec(
        {
            **REPORT,
            "significance": SIGNIFICANCE,
            "min_delivered": Range(1),
            "pair_window_days": Range(0, 365),
            **FOCUS_GROUP,
            **MAVERA,
        },
        rules=(Rule(("responses_per_persona", "min_answers"), _enough_answers("persona's preference could count")),),
    ),
}


# ---------------------------------------------------------------------------------------------- checking


def problems(stem: str, values: Mapping[str, Any]) -> list[str]:
    """One sentence per bad value in ``values`` (a notebook's ``globals()``, or the runner's overrides).

    Only names in ``values`` are checked; a rule across parameters takes the ones missing from ``values``
    from the notebook's defaults. A notebook without a spec has nothing to check.
    """
    spec = SPECS.get(stem)
    if spec is None:
        return []
    found, failed = [], set()
    for name, rule in spec.fields.items():
        if name not in values:
            continue
        wrong = rule.problem(values[name])
        if wrong:
            failed.add(name)
            found.append(f"parameter {name}={values[name]!r} {wrong}{_example(stem, name, rule)}.")
    for rule in spec.rules:
        if failed & set(rule.names) or not set(rule.names) & set(values):
            continue
        known = dict(values) if set(rule.names) <= set(values) else {**_readable_defaults(stem), **values}
        if set(rule.names) <= set(known):
            sentence = rule.check(*(known[name] for name in rule.names))
            if sentence:
                found.append(sentence)
    return found


def check(stem: str, values: Mapping[str, Any]) -> None:
    """Raise :class:`ParameterError` with the first problem's sentence, before anything is fetched or spent."""
    found = problems(stem, values)
    if found:
        raise ParameterError(found[0])


def _readable_defaults(stem: str) -> dict[str, Any]:
    try:
        return defaults(stem)
    except (OSError, LookupError, ValueError, SyntaxError):  # a notebook moved or edited oddly
        return {}


def _example(stem: str, name: str, rule: Check) -> str:
    example = getattr(rule, "example", None) or _readable_defaults(stem).get(name)
    if example is None or example in ([], {}, ""):
        return ""
    return f"; pass e.g. -p {name} {_cli(example)}"


def _cli(value: Any) -> str:
    """``value`` as it is typed after ``-p NAME`` in a shell (lists as JSON, text quoted when needed)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return shlex.quote(text)


def defaults(stem: str, notebooks_dir: Path | None = None) -> dict[str, Any]:
    """Name → default value from the ``parameters`` cell of ``notebooks/<stem>.ipynb`` (literals only).

    Read afresh each time (a small JSON file): in JupyterLab the analyst may just have saved new defaults.
    """
    path = (notebooks_dir or config.project_root() / "notebooks") / f"{stem}.ipynb"
    cells = json.loads(path.read_text())["cells"]
    source = next((c["source"] for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if source is None:
        raise LookupError(f"{path.name} has no cell tagged 'parameters'")
    found = {}
    for node in ast.parse(source if isinstance(source, str) else "".join(source)).body:
        target = node.target if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [None])[0]
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            found[target.id] = ast.literal_eval(node.value)
    return found


# ---------------------------------------------------------------------------------------------- coercion
# The runner converts each ``-p`` value to the type its notebook's parameters cell declares, with these.

_SECRET_WORDS = {"key", "keys", "apikey", "token", "secret", "password", "passwd", "pwd", "credential",
                 "credentials", "auth", "bearer"}
_KINDS = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}


class ParameterError(ValueError):
    """A notebook parameter is out of range or of the wrong type; the message says which and what to pass."""


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def validate(
    name: str,
    value: Any,
    kind: type | None = None,
    *,
    choices: Sequence | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    optional: bool = False,
) -> Any:
    """Check and coerce one parameter; raises :class:`ParameterError` with one sentence on failure.

    ``kind`` is ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict`` or ``datetime.date``
    (ISO strings are parsed). ``minimum``/``maximum`` bound numbers, or the length of lists.
    """
    if value is None:
        if optional:
            return None
        raise ParameterError(f"parameter {name} is required; set it with -p {name} VALUE")
    value = coerce(name, value, kind) if kind is not None else value
    if choices is not None and value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(f"parameter {name}={value!r} is not one of {allowed}")
    measured = len(value) if isinstance(value, list | dict | str) and kind is not str else value
    if minimum is not None and measured < minimum:
        raise ParameterError(f"parameter {name}={value!r} must be at least {minimum}")
    if maximum is not None and measured > maximum:
        raise ParameterError(f"parameter {name}={value!r} must be at most {maximum}")
    return value


class _Wrong(Exception):
    """Raised by a coercer when the value is not of its kind; :func:`coerce` turns it into the sentence."""


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Wrong


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Wrong
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _Wrong from None
    raise _Wrong


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Wrong
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Wrong from None


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())  # ValueError: the caller names the format


def _to_container(value: Any, kind: type) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Wrong from None
    if isinstance(value, tuple) and kind is list:
        value = list(value)
    if isinstance(value, kind):
        return value
    raise _Wrong


def _to_instance(value: Any, kind: type) -> Any:
    if isinstance(value, kind):
        return value
    raise _Wrong


_COERCERS: dict[type, Callable[[Any], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    list: lambda value: _to_container(value, list),
    dict: lambda value: _to_container(value, dict),
}


def coerce(name: str, value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (a ``-p`` string parsed as the parameters cell declares), or ParameterError."""
    if kind is dt.date:
        try:
            return _to_date(value)
        except ValueError:
            raise ParameterError(f"parameter {name}={value!r} should be a date like 2026-07-15") from None
    try:
        result = _COERCERS.get(kind, lambda v: _to_instance(v, kind))(value)
    except _Wrong:
        raise ParameterError(f"parameter {name}={value!r} should be {_kind_name(kind)}") from None
    if kind is float and not math.isfinite(result):  # nan/inf would reach the kernel as bare names
        raise ParameterError(f"parameter {name}={value!r} should be a finite number")
    return result


def _kind_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false",
            list: "a list", dict: "a mapping"}.get(kind, f"a {kind.__name__}")


# ---------------------------------------------------------------------------------------------- declared types


def secret_like(name: str) -> bool:
    """True for names such as ``api_key``, ``mavera_token`` or ``apiKey``: such values belong in the environment."""
    words = re.split(r"[_\W]+|(?<=[a-z0-9])(?=[A-Z])", name)
    return any(word.lower() in _SECRET_WORDS for word in words if word)


def _declared_type(spec: dict[str, Any]) -> tuple[type | None, bool]:
    """(base type, optional) from an annotation such as ``int``, ``list[str]``, ``float | None``."""
    name = (spec.get("inferred_type_name") or "None").replace(" ", "")
    optional = False
    if name.startswith("Optional[") and name.endswith("]"):
        name, optional = name[len("Optional[") : -1], True
    parts = [p for p in name.split("|") if p]
    if "None" in parts and len(parts) > 1:
        optional = True
        parts = [p for p in parts if p != "None"]
    base = parts[0].split("[", 1)[0].lower() if parts else "none"
    if base in _KINDS:
        return _KINDS[base], optional
    kind, untyped_optional = _type_of_default(spec)
    return kind, optional or untyped_optional


def _type_of_default(spec: dict[str, Any]) -> tuple[type | None, bool]:
    """No annotation: (the type of the literal default, whether the default is None)."""
    try:
        default = ast.literal_eval(spec.get("default") or "None")
    except (ValueError, SyntaxError):
        return None, False
    if default is None:
        return None, True
    return (type(default) if type(default) in _KINDS.values() else None), False


def coerce_declared(name: str, value: Any, spec: dict[str, Any]) -> Any:
    """One ``-p`` value as the type its notebook's parameters cell declares (``spec``: papermill's
    inspection of that cell); papermill itself would guess the type from the text."""
    kind, optional = _declared_type(spec)
    if optional and isinstance(value, str) and value.strip().lower() in {"none", "null"}:
        return None
    if kind is None:
        return value
    if kind in (list, dict) and isinstance(value, str):
        value = _parse_container(name, value, kind)
    return validate(name, value, kind, optional=optional)


def _parse_container(name: str, value: str, kind: type) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ParameterError(f"{value!r} is not a valid {kind.__name__} (use JSON)") from None


# ---------------------------------------------------------------------------------------------- in a reader's words


def _share(value: Any) -> str:
    return f"{float(value) * 100:g}%"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{float(value):g}"


def _days(value: Any) -> str:
    return f"{_count(value)} days"


# What each parameter means, phrased to stand where the Markdown of a notebook names it ("messages with at
# least `min_recipients`" reads "messages with at least 500 recipients"): the report says the value the run
# used, so a -p override is never contradicted by the text.
PHRASES: dict[str, Callable[[Any], str]] = {
    "timeframe": lambda v: _wording().timeframe_text(v),
    "min_recipients": lambda v: f"{_count(v)} recipients",
    "min_relative_gap": _share,
    "significance": lambda v: f"{float(v):g}",
    "variants": _count,
    "jaccard_min": lambda v: f"{float(v):g}",
    "containment_min": _share,
    "tiny_share": _share,
    "persona_ids": lambda v: "the personas chosen for this run" if v else "the personas chosen in the parameters",
    "max_credits": lambda v: f"the budget of {_count(v)} credits",
    "focus_pairs": _count,
    "bundle_discount": _share,
    "pair_window_days": _days,
    "min_delivered": _count,
    "min_answers": _count,
    "min_co_orders": _count,
    "min_support": _share,
    "min_lift": lambda v: f"{float(v):g}",
    "top_n": _count,
    "lookback_days": lambda v: f"the last {_days(v)}",
    "order_lookback_days": lambda v: f"the last {_days(v)}",
    "responses_per_persona": _count,
    "many_min": _count,
}


def _wording():
    from helpers.analysis import wording

    return wording


def describe(name: str, value: Any) -> str | None:
    """The parameter ``name`` at ``value`` in a reader's words (see :data:`PHRASES`); None when it has none."""
    phrase = PHRASES.get(name)
    if phrase is None:
        return None
    try:
        return phrase(value)
    except (TypeError, ValueError):
        return None
