"""Filtering and sorting lists of store objects by an operation's ``filter`` and ``sort`` parameters."""

from __future__ import annotations

import numpy as np

from .call import Call, bad_param
from .filters import Condition

CMP = {"greater-than": np.greater, "greater-or-equal": np.greater_equal, "less-than": np.less,
       "less-or-equal": np.less_equal, "equals": np.equal}
TIME_FIELDS = ("created", "updated", "created_at", "updated_at", "scheduled_at")


def time_value(c: Condition) -> float:
    if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
        raise bad_param("filter", f"Invalid filter provided: '{c.field}' needs an unquoted ISO-8601 datetime.")
    return float(c.value)


def match_objects(objs: list, call: Call, getters: dict) -> list:
    """The objects every filter condition holds for; ``getters`` maps a filter field to obj -> value."""
    for c in call.filters:
        if c.field not in getters:
            raise bad_param("filter", f"Filtering on '{c.field}' is not emulated on {call.op.split(' ', 1)[1]}.")
    return [o for o in objs if all(_holds(c, getters[c.field](o)) for c in call.filters)]


def _holds(c: Condition, value) -> bool:
    """Whether condition ``c`` holds for an object whose filtered field is ``value``."""
    if c.op in ("greater-than", "greater-or-equal", "less-than", "less-or-equal") or (
            c.op == "equals" and isinstance(c.value, float) and c.field in TIME_FIELDS):
        return bool(CMP[c.op](value, time_value(c)))
    if c.op == "equals":
        return value == c.value
    if c.op == "any":
        return value in c.value
    if c.op == "contains":
        return str(c.value).lower() in str(value).lower()
    if c.op == "starts-with":
        return str(value).startswith(str(c.value))
    if c.op == "ends-with":
        return str(value).endswith(str(c.value))
    return True


def sort_objects(objs: list, call: Call, getters: dict) -> list:
    sort = call.query.get("sort")
    if not sort:
        return objs
    if sort.lstrip("-") not in getters:
        raise bad_param("sort", f"Sorting by '{sort}' is not emulated on {call.op.split(' ', 1)[1]}.")
    return sorted(objs, key=lambda o: getters[sort.lstrip("-")](o), reverse=sort.startswith("-"))
