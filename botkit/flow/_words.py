"""How problems name things: in the designer's vocabulary, never Python's."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from botkit.flow._yaml import JSONPath

__all__ = [
    "NAMED",
    "all_of",
    "did_you_mean",
    "one_of",
    "owner_of",
    "show_value",
    "subject_of",
    "type_name",
]

# Collections whose keys are ids, and what one member is called.
NAMED = {
    "states": "state",
    "slots": "slot",
    "intents": "intent",
    "actions": "action",
    "experiments": "experiment",
    "goals": "goal",
    "promotions": "promotion",
    "business_hours": "business hours",
    "variants": "variant",
    "campaigns": "campaign",
    "exclude": "exclusion rule",
}
# Lists, and what one element is called (counted from 1, as people count).
_LISTED = {
    "on": "transition",
    "global": "global transition",
    "quick_replies": "quick reply",
    "buttons": "button",
    "cards": "card",
    "items": "list item",
    "next": "next step",
    "say": "message",
    "messages": "message",
    "message": "message",  # a handoff's or a campaign's, when it is a list of bubbles
    "reprompt": "re-prompt",
    "examples": "example",
    "keywords": "keyword",
    "channels": "channel",
}
_OBJECTS = {
    "handoff": "the handoff",
    "fallback": "the fallback",
    "http": "the HTTP call",
    "card": "the card",
    "list": "the list",
    "image": "the image",
    "messages": "the system messages",
    "days": "the days",
    "save": "the saved fields",
    "on_status": "the status routes",
    "caps": "the caps",
}


def owner_of(path: JSONPath) -> str:
    """Name the object that the last element of ``path`` belongs to, e.g.
    ``transition 2 of state 'menu'``."""
    parts: list[str] = []
    i = 0
    while i < len(path) - 1:
        step = path[i]
        nxt = path[i + 1]
        if isinstance(step, str) and step in NAMED and isinstance(nxt, str):
            if step == "variants" and i >= 2 and path[i - 2] == "experiments":
                pass  # variants of an experiment are weights, not objects
            else:
                parts.append(f"{NAMED[step]} '{nxt}'")
            i += 2
            continue
        if isinstance(step, str) and step in _LISTED and isinstance(nxt, int):
            parts.append(f"{_LISTED[step]} {nxt + 1}")
            i += 2
            continue
        if isinstance(step, str) and step in _OBJECTS and i + 1 < len(path):
            parts.append(_OBJECTS[step])
        i += 1
    if not parts:
        return "the file"
    return " of ".join(reversed(parts))


def subject_of(path: JSONPath) -> str:
    """Name the thing at ``path`` itself: ``state 'menu'``, ``message 2 of state 'menu'``,
    or ``'to' of transition 1 of state 'menu'``."""
    if not path:
        return "the file"
    itself = owner_of((*path, ""))
    if len(path) >= 2 and itself != owner_of(path):
        return itself  # the path ends at a named member or a list element
    if len(path) >= 2 and isinstance(path[-1], int) and path[-2] in _LISTED:
        return itself  # an element of a list named for its elements: "channel 2 of ..."
    key = path[-1]
    name = f"'{key}'" if isinstance(key, str) else f"item {key + 1}"
    owner = owner_of(path)
    return name if owner == "the file" else f"{name} of {owner}"


def all_of(items: Iterable[str]) -> str:
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def type_name(schema_type: str | list[str]) -> str:
    names = {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "a mapping (key: value lines)",
        "null": "nothing",
    }
    if isinstance(schema_type, list):
        return one_of([names.get(t, t) for t in schema_type])
    return names.get(schema_type, schema_type)


def show_value(value: Any) -> str:
    """Describe a value as the designer wrote it."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover - the YAML reader makes no other kinds


def one_of(items: Iterable[str]) -> str:
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " or " + listed[-1]


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + one_of(f"'{c}'" for c in close) + "?"
