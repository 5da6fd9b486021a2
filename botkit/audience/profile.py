"""Checking a customer profile the shop sends against the bot's profile schema.

bot.yaml's ``profile:`` types the attributes of the shop's CRM (:class:`~botkit.flow.model.
ProfileAttribute`): ``PUT``/``PATCH /customers/{id}`` and ``botkit customers import`` check what
they are given here, keep what is right and refuse the rest, each refusal naming the attribute
and what it expects. A profile is personal data, so no message here ever holds a value: it says
what kind of value was found ("text", "a number"), never which. Without a schema, any JSON
value that is text, a number, true/false or a list of those is kept.

No I/O: the callers store what comes out.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.flow.model import ProfileAttribute

__all__ = ["MAX_ATTRIBUTES", "MAX_ITEMS", "MAX_TEXT", "ProfileError", "check_profile"]

# Bounds on what one customer's profile may hold: it is stored with the customer and read by
# segments and flows; a CRM's attribute is a grade or a region, not a document.
MAX_ATTRIBUTES = 200
MAX_TEXT = 1000  # characters of one text (or one item of a list)
MAX_ITEMS = 100  # items of one list
MAX_NAME = 64  # characters of an attribute's name

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ProfileError:
    """Why one attribute was refused. ``message`` never holds the value that was sent."""

    attribute: str
    message: str

    def __str__(self) -> str:
        return f"{self.attribute}: {self.message}"


def check_profile(
    schema: Mapping[str, ProfileAttribute] | None,
    values: Mapping[str, Any],
    *,
    partial: bool,
) -> tuple[dict[str, Any], list[ProfileError]]:
    """The attributes of ``values`` that are right for ``schema`` (empty or None: no schema
    declared), and an error for each that is not.

    ``partial`` is a PATCH: a ``None`` value is kept, and means "remove this attribute". In a
    whole profile (PUT, an import) a ``None`` value is no value, and is left out. A date stays
    the text it was sent as (``"2026-11-03"``), so that it reads the same everywhere.
    """
    kept: dict[str, Any] = {}
    errors: list[ProfileError] = []
    if len(values) > MAX_ATTRIBUTES:
        errors.append(
            ProfileError("(profile)", f"a profile holds at most {MAX_ATTRIBUTES} attributes")
        )
        return kept, errors
    for name, value in values.items():
        attribute = schema.get(name) if schema else None
        if schema and attribute is None:
            errors.append(_unknown(str(name), schema))
            continue
        if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME:
            errors.append(
                ProfileError(
                    _shown_name(name),
                    "is not a name an attribute can have: a letter, then letters, digits or _ "
                    f"(at most {MAX_NAME} characters)",
                )
            )
            continue
        if value is None:
            if partial:
                kept[name] = None
            continue
        problem = _check(attribute, value) if attribute else _check_untyped(value)
        if problem is None:
            kept[name] = value
        else:
            errors.append(ProfileError(name, problem))
    return kept, errors


def _unknown(name: str, schema: Mapping[str, ProfileAttribute]) -> ProfileError:
    known = sorted(schema)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ProfileError(
        _shown_name(name),
        f"is not an attribute of the profile bot.yaml declares; {hint}declared: {listed}",
    )


def _shown_name(name: object) -> str:
    text = str(name)
    return text if len(text) <= MAX_NAME else text[:MAX_NAME] + "…"


def _check(attribute: ProfileAttribute, value: Any) -> str | None:
    """What is wrong with ``value`` for ``attribute`` (None: nothing), in words that hold no
    part of the value."""
    kind = attribute.type
    if kind == "text":
        return _text(value)
    if kind == "number":
        return None if _is_number(value) else f"expected a number, found {_kind_of(value)}"
    if kind == "boolean":
        return (
            None if isinstance(value, bool) else f"expected true or false, found {_kind_of(value)}"
        )
    if kind == "date":
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            return f"expected a date as YYYY-MM-DD, found {_kind_of(value)}"
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "expected a date as YYYY-MM-DD, found a day that is not in the calendar"
        return None
    if kind == "enum":
        choices = ", ".join(f"'{v}'" for v in attribute.values)
        if isinstance(value, str) and value in attribute.values:
            return None
        if not isinstance(value, str):
            return f"expected one of {choices}, found {_kind_of(value)}"
        close = difflib.get_close_matches(value, attribute.values, n=1, cutoff=0.6)
        if close and not attribute.sensitive:
            return f"expected one of {choices}, found another text (did you mean '{close[0]}'?)"
        return f"expected one of {choices}, found another text"
    if kind == "list":
        return _list(value)
    return f"has type '{kind}', which botkit does not know"  # pragma: no cover - schema-checked


def _check_untyped(value: Any) -> str | None:
    """No schema: text, a number, true/false, or a list of those."""
    if isinstance(value, list):
        return _list(value, allow_bool=True)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or _is_number(value):
        return None
    return f"expected text, a number, true/false or a list of those, found {_kind_of(value)}"


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected text, found {_kind_of(value)}"
    if len(value) > MAX_TEXT:
        return f"expected text of at most {MAX_TEXT} characters, found a longer one"
    return None


def _list(value: Any, *, allow_bool: bool = False) -> str | None:
    if not isinstance(value, list):
        return f"expected a list of texts or numbers, found {_kind_of(value)}"
    if len(value) > MAX_ITEMS:
        return f"expected a list of at most {MAX_ITEMS} items, found a longer one"
    for i, item in enumerate(value, start=1):
        if isinstance(item, str):
            if len(item) > MAX_TEXT:
                return f"item {i} is longer than {MAX_TEXT} characters"
        elif not (_is_number(item) or (allow_bool and isinstance(item, bool))):
            return f"expected a list of texts or numbers, but item {i} is {_kind_of(item)}"
    return None


def _is_number(value: Any) -> bool:
    """A finite number the stores can keep: a whole number within 64 bits (PostgreSQL's and
    SQLite's JSON both refuse larger ones), or a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return math.isfinite(value)


def _kind_of(value: Any) -> str:
    """What kind of value was sent, as people say it (never the value itself)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number" if _is_number(value) else "a number that is not finite"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a value of another kind"
