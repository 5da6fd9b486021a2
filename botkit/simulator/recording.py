"""Recording a shell session as a conversation test, and reading ``--fixtures`` files.

What ``botkit shell --record`` writes replays green with ``botkit test``: each step with the
bot's answer as its expectations, on the same clock and action fixtures the shell ran with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from botkit.app import BotApp
from botkit.effects import Say, as_text, offered_choices
from botkit.errors import ConfigurationError
from botkit.flow.source import Reporter, read_text
from botkit.problems import render_problems
from botkit.runtime import Reply
from botkit.simulator.testfile import Fixtures, dump_conversation, load_test_text

__all__ = ["FixtureFile", "FixtureFileError", "Recorder", "read_fixtures"]


class FixtureFileError(ConfigurationError):
    """The --fixtures file cannot be used; ``str()`` says why (problems rendered)."""


# --- fixtures -------------------------------------------------------------------------------

# A file given to --fixtures may hold only ``fixtures:``; a conversation test file needs at
# least one conversation, so a placeholder is appended (after the file's own lines, so that the
# positions of any problem stay those of the file).
_PLACEHOLDER = "\nconversations: [{name: shell, steps: [{user: ''}]}]\n"


@dataclass(frozen=True, slots=True)
class FixtureFile:
    fixtures: Fixtures  # the top-level fixtures, read and checked
    raw: Mapping[str, Any]  # the same as written, copied into a recording


def read_fixtures(path: Path, app: BotApp) -> FixtureFile:
    """The top-level ``fixtures:`` of a conversation test file, checked against the bot."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureFileError(f"{path}: cannot be read: {exc}") from exc
    if re.search(r"^conversations\s*:", text, re.MULTILINE) is None:
        text += _PLACEHOLDER
    checked = load_test_text(text, str(path), app.bot)
    if checked.problems:
        raise FixtureFileError(render_problems(checked.problems))
    # Read with botkit's YAML rules (`yes` stays text), as the test runner reads the file.
    raw = dict(read_text(text, str(path), Reporter()).data.get("fixtures") or {})
    # Read again without the file's conversations: their own fixtures must not apply here.
    alone = load_test_text(dump_conversation("shell", [{"user": ""}], raw), str(path), app.bot)
    return FixtureFile(alone.conversations[0].fixtures, raw)


# --- recording --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Recorded:
    """One conversation of the recording; ``/reset`` starts the next."""

    fixtures: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    changed: bool = False  # a fixture changed after steps were recorded


class Recorder:
    """The session as a conversation test: each step with what the bot answered.

    A test file can set the profile and variant only when a conversation starts, so ``/profile``
    and ``/variant`` become fixtures of the conversation being recorded, and ``/reset`` starts
    a new conversation in the file (each runs on a fresh store when replayed). A conversation
    that got no further than its greeting before such a change is left out: the greeting was
    said with the old value, and the next conversation has the new one from its start.
    """

    def __init__(self, path: Path, shared: Mapping[str, Any], first: Mapping[str, Any]) -> None:
        self.path = path
        self.shared = dict(shared)
        self.conversations = [_Recorded(dict(first))]

    @property
    def current(self) -> _Recorded:
        return self.conversations[-1]

    def add(self, step: Mapping[str, Any], reply: Reply) -> None:
        self.current.steps.append({**step, **_expectations(reply)})

    def set_fixture(self, name: str, value: Any) -> bool:
        """Set a fixture of the current conversation; True if steps were already recorded
        (which the replay will run with the new value)."""
        self.current.fixtures[name] = value
        self.current.changed = bool(self.current.steps)
        return self.current.changed

    def restart(self, fixtures: Mapping[str, Any]) -> None:
        if len(self.current.steps) <= (1 if self.current.changed else 0):
            self.conversations.pop()
        self.conversations.append(_Recorded(dict(fixtures)))

    def text(self) -> str:
        kept = [c for c in self.conversations if c.steps]
        if not kept:
            return ""
        first, *rest = kept
        text = dump_conversation(_name(1), first.steps, {**self.shared, **first.fixtures})
        if rest:
            # dump_conversation writes one conversation, and `conversations:` is its last key,
            # written as a block sequence at column 0: more items appended continue that list.
            more = [
                {"name": _name(i), "fixtures": c.fixtures, "steps": c.steps}
                for i, c in enumerate(rest, 2)
            ]
            text += yaml.safe_dump(
                more, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
            )
        return text

    def save(self) -> int:
        """Write the file; the number of steps recorded."""
        text = self.text()
        if text:
            self.path.write_text(text, "utf-8")
        return sum(len(c.steps) for c in self.conversations)


def _name(number: int) -> str:
    return "recorded conversation" if number == 1 else f"recorded conversation {number}"


def _expectations(reply: Reply) -> dict[str, Any]:
    """What ``botkit test`` checks after the step: each bubble's text, the state, the choices."""
    texts = [as_text(e) for e in reply.effects if isinstance(e, Say)]
    out: dict[str, Any] = {"bot": texts[0] if len(texts) == 1 else texts}
    if reply.state:
        out["state"] = reply.state
    choices = offered_choices(reply.effects)
    if choices:
        out["choices"] = [c.label for c in choices]
    return out
