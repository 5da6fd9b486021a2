"""JSON Schema validation of flow files, with errors re-pointed at what the designer must change.

jsonschema reports *where in the data* a rule failed, which is not always where the mistake is
in the text: an unknown key is reported at its parent mapping, a bad key name at the mapping it
belongs to, and an ``anyOf`` failure at the value with a bundle of reasons from every branch.
This module turns each error into one problem at the exact key or value, in the designer's words.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from botkit.flow._report import Reporter
from botkit.flow._words import (
    NAMED,
    did_you_mean,
    one_of,
    owner_of,
    show_value,
    subject_of,
    type_name,
)
from botkit.flow._yaml import Document, JSONPath

__all__ = ["schema", "schema_text", "validate"]

# Required keys whose absence the compiler reports itself, in more words than "missing": a
# handoff without 'resume' is BK403, naming the state that never gives the user back.
_WORDED_BY_THE_COMPILER = frozenset({"resume"})
_YES_NO = {"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"}
# Keys a designer may reach for that the format leaves out on purpose: (the object's schema
# title, the key) → why, instead of a did-you-mean to a look-alike key.
_LEFT_OUT = {
    ("campaign", "consent"): "consent is not a setting: an advertising campaign goes only to "
    "customers who agreed to marketing (and at night only to those who agreed to that too); "
    "an informational one is for updates and answers they expect",
}


@functools.cache
def schema_text() -> str:
    return (resources.files("botkit.flow") / "schema" / "flow.schema.json").read_text("utf-8")


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


@functools.cache
def _fast() -> Any:
    return jsonschema_rs.validator_for(schema())


def validate(doc: Document, reporter: Reporter) -> None:
    """Report every schema problem of ``doc``."""
    if not isinstance(doc.data, dict):
        reporter.add(
            "BK202",
            doc.where(()),
            "a flow file must be a mapping of keys to values",
            expected="'flow: <id>' or 'bot: <id>' on the first line",
            found=show_value(doc.data),
        )
        return
    # Fast path: most files are valid, and jsonschema-rs says so ~200x faster (a 1,000-state
    # flow: 4 ms instead of 800 ms). Only an invalid file goes through the reference
    # implementation, whose errors carry what the messages need (schemas, values, branches).
    if _fast().is_valid(doc.data):
        return
    for error in _validator().iter_errors(doc.data):
        _report(error, doc, reporter)


def _report(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    """Report one schema error as one problem, worded for the rule that failed."""
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key name at the mapping that holds it; point at the key.
        _report_key_name(error, doc, reporter)
        return
    kind = error.validator
    if kind == "const" and isinstance(error.validator_value, bool) and error.instance in _YES_NO:
        return  # the type error beside it already says "write true, not yes" (BK206)
    _REPORTERS.get(str(kind), _report_other)(error, doc, reporter)


def _report_unknown_keys(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    sub = _schema_of(error)
    allowed = sorted(sub.get("properties", {}))
    patterns = [re.compile(p) for p in sub.get("patternProperties", {})]
    extras: Any = error.instance
    for extra in extras:
        if extra in sub.get("properties", {}) or any(p.search(extra) for p in patterns):
            continue
        where = doc.where((*path, extra), key=True)
        inner = owner_of((*path, extra))
        hint = _LEFT_OUT.get((str(sub.get("title")), extra)) or did_you_mean(extra, allowed)
        if "text" in allowed and re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", extra):
            hint = f"texts per language go under 'text:', e.g. text: {{{extra}: ...}}"
        reporter.add(
            "BK201",
            where,
            f"unknown key '{extra}' in {inner}",
            expected=one_of(f"'{a}'" for a in allowed) if len(allowed) <= 12 else None,
            found=f"'{extra}'",
            hint=hint,
        )


def _report_key_name(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    bad: Any = error.instance
    _report_id((*path, bad), doc, reporter, bad, _schema_of(error), key_position=True)


def _report_type(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    subject = subject_of(path)
    rule: Any = error.validator_value
    expected = type_name(rule)
    value = error.instance
    if rule == "boolean" and isinstance(value, str) and value in _YES_NO:
        truth = "true" if value.lower() in {"yes", "on", "y"} else "false"
        reporter.add(
            "BK206",
            doc.where(path),
            f"{subject} must be true or false",
            expected="true or false",
            found=f"'{value}' (text)",
            hint=f"write {truth}, not {value}; in botkit files only true and false are "
            "yes/no values",
        )
        return
    reporter.add(
        "BK202",
        doc.where(path),
        f"{subject} must be {expected}",
        expected=expected,
        found=show_value(value),
        hint=_type_hint(rule, value),
    )


def _report_required(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    present = error.instance if isinstance(error.instance, dict) else {}
    rule: Any = error.validator_value
    for missing in rule:
        if missing in present or missing in _WORDED_BY_THE_COMPILER:
            continue
        where_it_is = owner_of((*path, missing))
        reporter.add(
            "BK203",
            doc.where(path, key=True),
            f"{where_it_is} is missing '{missing}'",
            expected=f"a '{missing}:' key",
            hint=_missing_hint(missing),
        )


def _report_pattern(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    _report_id(path, doc, reporter, error.instance, _schema_of(error), key_position=False)


def _report_choice(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    """``enum`` and ``const``: the value is not one of those allowed."""
    path: JSONPath = tuple(error.absolute_path)
    kind = error.validator
    rule: Any = error.validator_value
    allowed = rule if kind == "enum" else [rule]
    shown = [str(a).lower() if isinstance(a, bool) else str(a) for a in allowed]
    found = error.instance
    hint = did_you_mean(str(found), shown) if isinstance(found, str) else None
    if hint is None and isinstance(found, str) and kind == "const" and found in _YES_NO:
        hint = f"write {shown[0]}, not {found}"
    reporter.add(
        "BK205",
        doc.where(path),
        f"{subject_of(path)} cannot be {show_value(found)}",
        expected=one_of(f"'{a}'" for a in shown),
        found=show_value(found),
        hint=hint,
    )


def _report_range(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    path: JSONPath = tuple(error.absolute_path)
    reporter.add(
        "BK207",
        doc.where(path),
        f"{subject_of(path)} is out of range",
        expected=_range_text(str(error.validator), error.validator_value),
        found=show_value(error.instance),
    )


def _report_other(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    """A rule with no tailored message yet: still a located, readable problem."""
    path: JSONPath = tuple(error.absolute_path)
    reporter.add("BK209", doc.where(path), f"{subject_of(path)} is not valid: {error.message}")


def _report_union(error: ValidationError, doc: Document, reporter: Reporter) -> None:
    """Pick the branch of an anyOf that matches the kind of value written, and report its
    errors; if no branch even has the right kind, say which kinds are allowed."""
    branches: dict[int, list[ValidationError]] = {}
    for sub_error in error.context or ():
        branch = sub_error.relative_schema_path[0]
        assert isinstance(branch, int)
        branches.setdefault(branch, []).append(sub_error)
    here = tuple(error.absolute_path)

    def wrong_kind(errors: list[ValidationError]) -> bool:
        return any(e.validator == "type" and tuple(e.absolute_path) == here for e in errors)

    fitting = [errs for _, errs in sorted(branches.items()) if not wrong_kind(errs)]
    if len(fitting) == 1:
        for sub_error in fitting[0]:
            _report(sub_error, doc, reporter)
        return
    rule: Any = error.validator_value
    options = rule if isinstance(rule, list) else []
    expected = one_of(_branch_name(o) for o in options)
    lists = any(_branch_name(o) == "a list" for o in options)  # words, or words per language
    reporter.add(
        "BK202",
        doc.where(here),
        f"{subject_of(here)} must be {expected}",
        expected=expected,
        found=show_value(error.instance),
        hint=_type_hint("array", error.instance) if lists else None,
    )


_Reporting = Callable[[ValidationError, Document, Reporter], None]
_RANGES = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
)
# Who words the error of each rule (by jsonschema's name for it); any other rule: _report_other.
_REPORTERS: dict[str, _Reporting] = {
    "additionalProperties": _report_unknown_keys,
    "propertyNames": _report_key_name,
    "type": _report_type,
    "required": _report_required,
    "pattern": _report_pattern,
    "enum": _report_choice,
    "const": _report_choice,
    **dict.fromkeys(_RANGES, _report_range),
    "anyOf": _report_union,
    "oneOf": _report_union,
}


def _schema_of(error: ValidationError) -> dict[str, Any]:
    """The part of the schema whose rule failed (as a mapping; ``{}`` for a bare true/false)."""
    return error.schema if isinstance(error.schema, dict) else {}


def _branch_name(branch: dict[str, Any]) -> str:
    ref = branch.get("$ref")
    if isinstance(ref, str):
        target = schema()["$defs"][ref.rsplit("/", 1)[-1]]
        title = target.get("title")
        if isinstance(title, str):
            return "a " + title if not title.startswith(("a ", "an ")) else title
        if "type" in target:
            return type_name(target["type"])
    if branch.get("type") == "array":
        return "a list"
    if "type" in branch:
        return type_name(branch["type"])
    return "a value"  # pragma: no cover - every branch in the schema has a type or a $ref


def _report_id(
    path: JSONPath,
    doc: Document,
    reporter: Reporter,
    value: Any,
    sub: dict[str, Any],
    *,
    key_position: bool,
) -> None:
    title = sub.get("title") or ""
    description = sub.get("description")
    if "pattern" not in sub and "$ref" in sub:
        ref = schema()["$defs"][str(sub["$ref"]).rsplit("/", 1)[-1]]
        title = ref.get("title", "")
        description = ref.get("description")
    where = doc.where(path, key=key_position)
    owner = owner_of(path)
    if title in ("id", "state", "variant name") or key_position:
        suggestion = _as_id(str(value))
        parent = path[-2] if len(path) >= 2 else None
        if key_position and isinstance(parent, str) and parent in NAMED:
            outer = owner_of(path[:-1])
            message = f"'{value}' is not a valid {NAMED[parent]} name" + (
                f" in {outer}" if outer != "the file" else ""
            )
        else:
            noun = f"{title} name" if title == "state" else (title or "name")
            message = f"'{value}' is not a valid {noun}" + (
                f" in {owner}" if owner != "the file" else ""
            )
        reporter.add(
            "BK204",
            where,
            message,
            expected=description or "lowercase letters, digits and '_', starting with a letter",
            found=show_value(value),
            hint=f"write '{suggestion}'" if suggestion and suggestion != value else None,
        )
        return
    key = path[-1] if path else "value"
    reporter.add(
        "BK209",
        where,
        f"'{key}' of {owner} does not have the form of {title or 'this value'}",
        expected=description or title,
        found=show_value(value),
    )


def _as_id(text: str) -> str:
    """A snake_case id close to what was written, when there is one."""
    candidate = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    candidate = candidate if candidate[:1].isalpha() else ""
    if "." in text:  # flow.state targets keep their dot
        parts = [_as_id(p) for p in text.split(".", 1)]
        return ".".join(parts) if all(parts) else ""
    return candidate


def _type_hint(expected: Any, value: Any) -> str | None:
    if expected == "string" and isinstance(value, int | float | bool):
        return "put the value in quotes to keep it as text"
    if expected in ("array",) and not isinstance(value, list):
        return "write the items as a list: one '- item' per line, or [a, b]"
    if expected == "object" and isinstance(value, str):
        return "write the settings indented on the lines below the key"
    return None


def _missing_hint(missing: str) -> str | None:
    return {
        "to": "add 'to: <state>' with the state this transition goes to",
        "flow": "start the file with 'flow: <id>'",
        "start": "add 'start: <state>' naming the first state",
        "states": "add 'states:' with at least one state",
        "label": "every quick reply and button needs a label the user sees",
        "resume": "add 'resume: <state>' for when the agent gives the user back to the bot",
        "kind": "add 'kind: advertising' (consent, quiet hours, the (광고) label and opt-out "
        "words apply) or 'kind: informational' (an update or an answer the customer expects)",
        "trigger": "add 'trigger:' with when someone becomes a candidate, e.g. 1 hour after "
        "cart_added, entering segment vip_dormant or every day at 10:00",
        "message": "add 'message:' with what the variant sends, as a state's say:",
        "type": "give the slot a type: text, number, enum, date, phone, email, regex or "
        "order_number",
    }.get(missing)


def _range_text(kind: str, limit: Any) -> str:
    return {
        "minimum": f"at least {limit}",
        "maximum": f"at most {limit}",
        "exclusiveMinimum": f"more than {limit}",
        "exclusiveMaximum": f"less than {limit}",
        "minItems": f"at least {limit} item{'s' if limit != 1 else ''}",
        "maxItems": f"at most {limit} items",
        "minLength": "some text (it is empty)" if limit == 1 else f"at least {limit} characters",
        "maxLength": f"at most {limit} characters",
        "minProperties": f"at least {limit} entr{'ies' if limit != 1 else 'y'}",
    }[kind]
