"""Replaying conversation tests against a bot, through the real runtime.

Each conversation runs on a fresh in-memory store with its own clock (it stands still and moves
``fixtures.step`` before every message, so texts that depend on the time replay the same) and
with its action fixtures as stubs. Steps run in order; the first expectation that does not hold
ends the conversation with a failure that says what was expected, what came instead and where
the expectation is in its file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botkit.app import BotApp
from botkit.effects import Choice, End, Say, as_text, offered_choices
from botkit.errors import StepRefused
from botkit.flow.source import Where
from botkit.records import Record
from botkit.runtime import Reply, Runtime
from botkit.runtime.conversations import HANDED_OFF
from botkit.simulator.fixtures import SteppedClock, stubs_for
from botkit.simulator.testfile import Conversation, Expect, Step, TestFile
from botkit.storage import MemoryStore

__all__ = [
    "ConversationResult",
    "Failure",
    "bot_folder_for",
    "format_failure",
    "run_conversation",
    "run_file",
]

USER, BOT, AGENT = "사용자", "봇", "상담원"


@dataclass(frozen=True, slots=True)
class Failure:
    step: int  # 1-based
    described: str  # the step as written: "user: 12-34"
    what: str  # "bot text differs"
    expected: str
    actual: str
    where: Where | None = None
    why: str | None = None  # what explains the actual, when the report can tell


@dataclass(slots=True)
class ConversationResult:
    conversation: Conversation
    failure: Failure | None = None
    transcript: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass(slots=True)
class _Seen:
    """What one step produced, in the terms expectations speak."""

    texts: list[str]
    choices: list[str]
    state: str
    slots: Mapping[str, Any]
    status: str
    ended: str | None
    records: list[Record]
    offered: list[Choice] = field(default_factory=list)  # the choices on screen after it


def bot_folder_for(path: Path) -> Path | None:
    """The bot a test file belongs to: the nearest folder (from the file's own) with a bot.yaml."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if (folder / "bot.yaml").is_file():
            return folder
    return None


async def run_file(app: BotApp, test: TestFile) -> list[ConversationResult]:
    return [await run_conversation(app, c) for c in test.conversations]


async def run_conversation(app: BotApp, conversation: Conversation) -> ConversationResult:
    fixtures = conversation.fixtures
    result = ConversationResult(conversation)
    clock = SteppedClock(fixtures.start_time(app.bot.timezone))
    store = MemoryStore()
    await store.open()
    runtime = app.runtime(store, clock=clock, stubs=stubs_for(fixtures.actions))
    try:
        if fixtures.profile or fixtures.variant:
            await runtime.update(
                fixtures.channel, fixtures.user, profile=fixtures.profile, variant=fixtures.variant
            )
        choices: list[Choice] = []
        for number, step in enumerate(conversation.steps, 1):
            seen, failure = await _perform(runtime, step, number, choices, clock, result)
            if failure is None and seen is not None:
                result.records.extend(seen.records)
                failure = _check(step, number, seen)
                if seen.texts:  # what is on screen now: the choices of the last bot turn
                    choices = seen.offered
            if failure is not None:
                result.failure = failure
                break
    finally:
        await runtime.aclose()
        await store.close()
    return result


async def _perform(
    runtime: Runtime,
    step: Step,
    number: int,
    choices: list[Choice],
    clock: SteppedClock,
    result: ConversationResult,
) -> tuple[_Seen | None, Failure | None]:
    fixtures = result.conversation.fixtures
    channel, user = fixtures.channel, fixtures.user
    say = result.transcript.append
    try:
        if step.kind == "wait":
            clock.advance(step.value)
            say(f"({step.value:g}초 후)")
            return await _quiet(runtime, channel, user), None
        if step.kind == "user":
            clock.advance(fixtures.step)
            say(f"{USER}: {step.value}")
            reply = await runtime.handle(
                channel, user, step.value, payload=step.payload, locale=fixtures.locale
            )
        elif step.kind == "choose":
            choice = _find_choice(step.value, choices)
            if choice is None:
                offered = ", ".join(f"{i}. {c.label}" for i, c in enumerate(choices, 1))
                return None, Failure(
                    number,
                    step.describe(),
                    "there is no such choice on screen",
                    expected=str(step.value),
                    actual=offered or "(no choices were offered)",
                    where=step.spots.get("choose"),
                )
            clock.advance(fixtures.step)
            say(f"{USER}: [{choice.label}]")
            reply = await runtime.handle(
                channel, user, choice.label, payload=choice.payload, locale=fixtures.locale
            )
        elif step.kind == "goto":
            say(f"(이동: {step.value})")
            reply = await runtime.goto(channel, user, step.value)
        else:
            reply = await _agent(runtime, channel, user, step.value, say)
    except StepRefused as refused:
        return None, Failure(
            number, step.describe(), "the step was refused", "", str(refused), step.where
        )
    seen = _seen(reply)
    for text in seen.texts:
        say(f"{BOT}: {text}")
    return seen, None


async def _agent(
    runtime: Runtime, channel: str, user: str, value: Mapping[str, Any], say: Any
) -> Reply:
    if "say" in value:
        say(f"{AGENT}: {value['say']}")
        return await runtime.agent_message(channel, user, value["say"])
    if "release" in value:
        say(f"({AGENT}이 봇에게 넘김: {value['release']})")
        return await runtime.release(channel, user, target=value["release"])
    say(f"({AGENT}이 대화를 종료)")
    return await runtime.release(channel, user, close=True)


async def _quiet(runtime: Runtime, channel: str, user: str) -> _Seen:
    session = await runtime.session(channel, user)
    if session is None:
        return _Seen([], [], "", {}, "", None, [])
    return _Seen([], [], session.state, session.slots, str(session.status), None, [])


def _seen(reply: Reply) -> _Seen:
    says = [e for e in reply.effects if isinstance(e, Say)]
    ended = next((e.outcome for e in reply.effects if isinstance(e, End)), None)
    shown = offered_choices(reply.effects)
    return _Seen(
        texts=[as_text(s) for s in says],
        choices=[c.label for c in shown],
        state=reply.state,
        slots=reply.slots,
        status=reply.status,
        ended=ended,
        records=list(reply.records),
        offered=shown,
    )


def _find_choice(wanted: str | int, choices: Sequence[Choice]) -> Choice | None:
    if isinstance(wanted, int):
        return choices[wanted - 1] if 0 < wanted <= len(choices) else None
    return next((c for c in choices if c.label == wanted), None)


# --- expectations -----------------------------------------------------------------------------


def _check(step: Step, number: int, seen: _Seen) -> Failure | None:
    expect = step.expect
    for name, check in _CHECKS:
        if getattr(expect, name) is None:
            continue
        found = check(expect, seen)
        if found is not None:
            what, expected, actual = found
            return Failure(
                number,
                step.describe(),
                what,
                expected,
                actual,
                step.spots.get(name),
                why=_why(seen) if name in ("bot", "choices") else None,
            )
    return None


def _why(seen: _Seen) -> str | None:
    """Why the bot said what it said, when the conversation's state explains it."""
    if seen.status not in HANDED_OFF:
        return None
    return (
        f"the conversation is waiting for an agent (status: {seen.status}), so the bot does not "
        "answer; an 'agent:' step (say:, release: or close:) goes on from here"
    )


Mismatch = tuple[str, str, str] | None  # (what, expected, actual)


def _check_bot(expect: Expect, seen: _Seen) -> Mismatch:
    wanted = expect.bot
    whole = "\n".join(seen.texts)
    if isinstance(wanted, list):
        if len(wanted) != len(seen.texts):
            return (
                f"the bot said {len(seen.texts)} message(s), not {len(wanted)}",
                _show_list([_show_text(w) for w in wanted]),
                _show_list(seen.texts),
            )
        for index, (one, text) in enumerate(zip(wanted, seen.texts, strict=True), 1):
            if not _text_matches(one, text):
                return (f"message {index} differs", _show_text(one), text)
        return None
    if not _text_matches(wanted, whole):
        return ("the bot's text differs", _show_text(wanted), whole or "(nothing)")
    return None


def _text_matches(wanted: Any, text: str) -> bool:
    if isinstance(wanted, str):
        return wanted == text
    if "contains" in wanted:
        return str(wanted["contains"]) in text
    return re.search(str(wanted["regex"]), text) is not None


def _show_text(wanted: Any) -> str:
    if isinstance(wanted, str):
        return wanted
    ((how, value),) = wanted.items()
    return f"({how}) {value}"


def _show_list(items: Sequence[str]) -> str:
    return "\n".join(f"[{i}] {item}" for i, item in enumerate(items, 1)) or "(nothing)"


def _check_choices(expect: Expect, seen: _Seen) -> Mismatch:
    wanted = list(expect.choices or ())
    if wanted != seen.choices:
        return (
            "the choices differ",
            ", ".join(wanted) or "(none)",
            ", ".join(seen.choices) or "(none)",
        )
    return None


def _check_state(expect: Expect, seen: _Seen) -> Mismatch:
    if expect.state != seen.state:
        return ("the state differs", str(expect.state), seen.state or "(none)")
    return None


def _check_slots(expect: Expect, seen: _Seen) -> Mismatch:
    for name, value in (expect.slots or {}).items():
        if name not in seen.slots:
            return (f"slot '{name}' is not filled", repr(value), "(not filled)")
        if seen.slots[name] != value:
            return (f"slot '{name}' differs", repr(value), repr(seen.slots[name]))
    return None


def _check_status(expect: Expect, seen: _Seen) -> Mismatch:
    if expect.status != seen.status:
        return ("the conversation's status differs", str(expect.status), seen.status)
    return None


def _check_end(expect: Expect, seen: _Seen) -> Mismatch:
    if expect.end != seen.ended:
        return (
            "the conversation did not end as expected",
            f"end: {expect.end}",
            f"end: {seen.ended}" if seen.ended else "(it did not end in this step)",
        )
    return None


def _check_records(expect: Expect, seen: _Seen) -> Mismatch:
    remaining = iter(seen.records)
    for wanted in expect.records or ():
        kind = wanted if isinstance(wanted, str) else wanted["kind"]
        data = {} if isinstance(wanted, str) else (wanted.get("data") or {})
        if not any(_record_matches(r, kind, data) for r in remaining):
            return (
                f"no '{kind}' record (in this order)",
                _show_list([_show_record(w) for w in expect.records or ()]),
                _show_list([f"{r.kind} {r.data or ''}".strip() for r in seen.records]),
            )
    return None


def _record_matches(record: Record, kind: str, data: Mapping[str, Any]) -> bool:
    if record.kind != kind:
        return False
    got = record.data or {}
    return all(got.get(k) == v for k, v in data.items())


def _show_record(wanted: Any) -> str:
    if isinstance(wanted, str):
        return wanted
    return f"{wanted['kind']} {wanted.get('data') or ''}".strip()


_CHECKS = (
    ("bot", _check_bot),
    ("choices", _check_choices),
    ("state", _check_state),
    ("slots", _check_slots),
    ("status", _check_status),
    ("end", _check_end),
    ("records", _check_records),
)


# --- reports ----------------------------------------------------------------------------------


def format_failure(result: ConversationResult) -> str:
    """What failed, where, what was expected and what came instead, and the transcript."""
    failure = result.failure
    assert failure is not None
    where = failure.where or result.conversation.where
    head = f"{where.source.path}:{where.line}:{where.column}: " if where else ""
    lines = [f"{head}step {failure.step} ({failure.described}): {failure.what}"]
    if "\n" in failure.expected or "\n" in failure.actual:
        lines.append("  diff (- expected, + actual):")
        diff = difflib.ndiff(failure.expected.splitlines(), failure.actual.splitlines())
        lines.extend(f"    {line}" for line in diff if not line.startswith("?"))
    else:
        if failure.expected:
            lines.append(f"  expected: {failure.expected}")
        lines.append(f"  actual:   {failure.actual}")
    if failure.why:
        lines.append(f"  why:      {failure.why}")
    lines.append("  transcript:")
    lines.extend(f"    {line}" for line in "\n".join(result.transcript).splitlines())
    return "\n".join(lines)
