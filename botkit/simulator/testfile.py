"""Conversation test files (``*.test.yaml``): reading them with positions, and writing them.

A test file holds conversations to replay against a bot, each a list of steps (what the user
does) with expectations (what the bot must say and do). The format is described for QA in
``botkit/simulator/README.md`` and by the JSON Schema
``botkit/simulator/schema/conversation-test.schema.json``.

Problems in a test file are reported like flow problems, as ``file:line:col`` with what was
expected: BK6xx codes (BK601 the file does not have the format's shape, BK602 it names a state,
action or variant the bot does not have).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from botkit.flow.durations import seconds
from botkit.flow.model import DEFAULT_TIMEZONE, Bot
from botkit.flow.source import Document, JSONPath, Reporter, Where, read_file, read_text
from botkit.problems import Problem, Severity

__all__ = [
    "SUFFIX",
    "ActionFixture",
    "Conversation",
    "Expect",
    "Fixtures",
    "Step",
    "TestFile",
    "dump_conversation",
    "find_test_files",
    "load_test_file",
    "load_test_text",
]

SUFFIX = ".test.yaml"
DEFAULT_CLOCK = "2026-11-25 10:00"  # a Wednesday morning: inside most business hours
STEP_KINDS = ("user", "choose", "wait", "goto", "agent")
EXPECTATIONS = ("bot", "choices", "state", "slots", "status", "end", "records")


@dataclass(frozen=True, slots=True)
class ActionFixture:
    """A fixed outcome for an action (declared HTTP calls included)."""

    result: str = "ok"
    data: Mapping[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Fixtures:
    user: str = "tester"
    channel: str = "test"
    locale: str | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)
    variant: str | None = None
    clock: str = DEFAULT_CLOCK
    step: float = 5.0
    actions: Mapping[str, ActionFixture] = field(default_factory=dict)

    def start_time(self, zone: str = DEFAULT_TIMEZONE) -> float:
        """The clock fixture as a timestamp (naive times are in ``zone``)."""
        moment = dt.datetime.fromisoformat(self.clock)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Expect:
    """What must hold after a step; ``None`` means "not checked"."""

    bot: Any = None  # str | {"contains"|"regex": str} | list of those (one per bubble)
    choices: tuple[str, ...] | None = None
    state: str | None = None
    slots: Mapping[str, Any] | None = None
    status: str | None = None
    end: str | None = None
    records: tuple[Any, ...] | None = None  # kind, or {"kind": ..., "data": {...}}

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in EXPECTATIONS)


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # user | choose | wait | goto | agent
    value: Any  # the text, the label or number, the duration in seconds, the state, {say: ...}
    payload: str | None = None
    expect: Expect = field(default_factory=Expect)
    where: Where | None = None  # the step in its file
    spots: Mapping[str, Where] = field(default_factory=dict)  # each expectation in its file

    def describe(self) -> str:
        """The step as the test file says it, for reports: ``user: 12-34``."""
        if self.kind == "agent":
            ((verb, argument),) = dict(self.value).items()
            return f"agent {verb}: {argument}"
        if self.kind == "wait":
            return f"wait: {self.value:g}s"
        return f"{self.kind}: {self.value}"


@dataclass(frozen=True, slots=True)
class Conversation:
    name: str
    fixtures: Fixtures
    steps: tuple[Step, ...]
    path: str  # the file, as shown in reports
    where: Where | None = None

    @property
    def id(self) -> str:
        return f"{self.path}::{self.name}"


@dataclass(slots=True)
class TestFile:
    path: str
    conversations: list[Conversation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


# --- finding and reading ----------------------------------------------------------------------


def find_test_files(path: Path) -> list[Path]:
    """``path`` itself if it is a test file, else every ``*.test.yaml`` below it, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())


def load_test_file(path: Path, bot: Bot | None = None, *, display: str | None = None) -> TestFile:
    reporter = Reporter()
    doc = read_file(path, reporter, display=display)
    return _load(doc, reporter, bot)


def load_test_text(text: str, name: str, bot: Bot | None = None) -> TestFile:
    reporter = Reporter()
    return _load(read_text(text, name, reporter), reporter, bot)


def _load(doc: Document, reporter: Reporter, bot: Bot | None) -> TestFile:
    out = TestFile(doc.source.path)
    problems = list(reporter.problems)
    if doc.usable:
        problems += _schema_problems(doc)
    if problems:
        out.problems = problems
        return out
    data: dict[str, Any] = doc.data
    base = _fixtures(data.get("fixtures") or {}, Fixtures())
    for index, raw in enumerate(data["conversations"]):
        where = doc.where(("conversations", index))
        fixtures = _fixtures(raw.get("fixtures") or {}, base)
        steps = tuple(
            _step(raw_step, doc, ("conversations", index, "steps", number))
            for number, raw_step in enumerate(raw["steps"])
        )
        out.conversations.append(Conversation(raw["name"], fixtures, steps, out.path, where))
    if bot is not None:
        out.problems = list(_against_bot(out, doc, bot))
    return out


def _fixtures(raw: Mapping[str, Any], base: Fixtures) -> Fixtures:
    changes: dict[str, Any] = {k: v for k, v in raw.items() if k not in ("actions", "step")}
    if "step" in raw:
        changes["step"] = seconds(raw["step"])
    if "clock" in raw:
        changes["clock"] = str(raw["clock"])
    if "actions" in raw:
        actions = dict(base.actions)
        for name, fixture in raw["actions"].items():
            actions[name] = ActionFixture(
                result=fixture.get("result", "error" if "error" in fixture else "ok"),
                data=fixture.get("data") or {},
                delay=seconds(fixture["delay"]) if "delay" in fixture else 0.0,
                error=fixture.get("error"),
            )
        changes["actions"] = actions
    return replace(base, **changes)


def _step(raw: Mapping[str, Any], doc: Document, path: JSONPath) -> Step:
    kind = next(k for k in STEP_KINDS if k in raw)
    value: Any = raw[kind]
    if kind == "wait":
        value = seconds(value)
    expect = Expect(
        bot=raw.get("bot"),
        choices=tuple(raw["choices"]) if "choices" in raw else None,
        state=raw.get("state"),
        slots=raw.get("slots"),
        status=raw.get("status"),
        end=raw.get("end"),
        records=tuple(raw["records"]) if "records" in raw else None,
    )
    spots = {name: doc.where((*path, name)) for name in EXPECTATIONS if name in raw}
    spots[kind] = doc.where((*path, kind))
    return Step(kind, value, raw.get("payload"), expect, doc.where(path, key=False), spots)


# --- problems ---------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("botkit.simulator") / "schema" / "conversation-test.schema.json"
    loaded: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return loaded


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def _problem(code: str, where: Where, message: str, **extra: str | None) -> Problem:
    excerpt = where.source.line(where.line)
    return Problem(
        code=code,
        severity=Severity.ERROR,
        message=message,
        path=where.source.path,
        line=where.line,
        column=where.column,
        width=max(1, min(where.width, len(excerpt) - where.column + 1)),
        excerpt=excerpt,
        expected=extra.get("expected"),
        found=extra.get("found"),
        hint=extra.get("hint"),
    )


def _schema_problems(doc: Document) -> list[Problem]:
    if not isinstance(doc.data, dict):
        return [
            _problem(
                "BK601",
                doc.where(()),
                "a conversation test file must be a mapping",
                expected="'conversations:' with a list of conversations",
            )
        ]
    seen: set[JSONPath] = set()
    out: list[Problem] = []
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: list(e.absolute_path))
    for error in errors:
        path: JSONPath = tuple(error.absolute_path)
        if path in seen:  # one problem per spot: the first reason is enough to fix it
            continue
        seen.add(path)
        out.append(_schema_problem(error, doc, path))
    return out


def _schema_problem(error: ValidationError, doc: Document, path: JSONPath) -> Problem:
    validator = error.validator
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if validator == "additionalProperties":
        known = sorted(rule.get("properties", {}))
        extra = sorted(set(cast(dict[str, Any], error.instance)) - set(known))
        return _problem(
            "BK601",
            doc.where((*path, extra[0]), key=True),
            f"unknown key '{extra[0]}'",
            expected="one of " + ", ".join(known),
        )
    if validator == "required":
        missing = str(error.message).split("'")[1]
        return _problem("BK601", doc.where(path), f"'{missing}' is missing here")
    if validator == "oneOf" and len(path) >= 2 and path[-2] == "steps":
        return _problem(
            "BK601",
            doc.where(path),
            "a step must do exactly one thing",
            expected="one of user:, choose:, wait:, goto:, agent:",
        )
    if validator == "pattern" and "ms|s|m|h|d" in str(error.validator_value):
        return _problem(
            "BK601",
            doc.where(path),
            f"'{error.instance}' is not a duration",
            expected="a number and a unit: 500ms, 5s, 31m, 2h, 1d",
        )
    if validator == "minItems" and path == ("conversations",):
        return _problem(
            "BK601",
            doc.where(path),
            "there are no conversations here",
            expected="at least one conversation",
        )
    found = json.dumps(error.instance, ensure_ascii=False)
    return _problem(
        "BK601",
        doc.where(path),
        "this value does not fit here",
        expected=_expected(error),
        found=found if len(found) <= 60 else found[:57] + "…",
    )


def _expected(error: ValidationError) -> str:
    schema_: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if "description" in schema_:
        return str(schema_["description"])
    if "enum" in schema_:
        return "one of " + ", ".join(str(v) for v in schema_["enum"])
    if error.validator == "minItems":
        limit = int(cast(int, error.validator_value))
        return f"at least {limit} item{'s' if limit != 1 else ''}"
    if "type" in schema_:
        kind = str(schema_["type"])
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    return error.message


def _against_bot(test: TestFile, doc: Document, bot: Bot) -> Iterator[Problem]:
    states = {f"{f}.{s}" for f, flow in bot.flows.items() for s in flow.states}
    variants = {v for e in bot.experiments.values() for v, _ in e.variants}
    fixtures_paths: list[tuple[JSONPath, Mapping[str, Any]]] = []
    data: dict[str, Any] = doc.data
    if data.get("fixtures"):
        fixtures_paths.append((("fixtures",), data["fixtures"]))
    for i, raw in enumerate(data["conversations"]):
        if raw.get("fixtures"):
            fixtures_paths.append((("conversations", i, "fixtures"), raw["fixtures"]))
    for path, fixtures in fixtures_paths:
        for name in fixtures.get("actions") or {}:
            if name not in bot.actions:
                yield _problem(
                    "BK602",
                    doc.where((*path, "actions", name), key=True),
                    f"the bot declares no action '{name}'",
                    expected="one of " + ", ".join(sorted(bot.actions)),
                )
        variant = fixtures.get("variant")
        if variant is not None and variant not in variants:
            yield _problem(
                "BK602",
                doc.where((*path, "variant")),
                f"no experiment has a variant '{variant}'",
                expected="one of " + ", ".join(sorted(variants)) if variants else None,
            )
    for conversation in test.conversations:
        for step in conversation.steps:
            named = [("state", step.expect.state), ("goto", step.value)]
            if step.kind == "agent" and "release" in step.value:
                named.append(("agent", step.value["release"]))
            for spot, state in named:
                if spot == "goto" and step.kind != "goto":
                    continue
                if state is not None and state not in states:
                    yield _problem(
                        "BK602",
                        step.spots[spot],
                        f"the bot has no state '{state}'",
                        expected="flow.state, e.g. " + next(iter(sorted(states))),
                    )


# --- writing (botkit shell --record) ----------------------------------------------------------


def dump_conversation(
    name: str, steps: list[dict[str, Any]], fixtures: Mapping[str, Any] | None = None
) -> str:
    """A test file with one conversation, in the format this module reads.

    ``steps`` are plain mappings as they appear in a file (``{"user": ..., "bot": ...}``).
    """
    data: dict[str, Any] = {}
    if fixtures:
        data["fixtures"] = dict(fixtures)
    data["conversations"] = [{"name": name, "steps": steps}]
    header = "# Recorded with `botkit shell --record`; replay with `botkit test`.\n"
    return header + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )
