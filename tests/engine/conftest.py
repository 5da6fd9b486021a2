"""A conversation driver for engine tests: synchronous, in memory, with a clock you move."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from botkit.effects import Call, Effect, HandOff, Say
from botkit.engine import Engine, Session
from botkit.events import ActionResult, AgentRelease, UserMessage
from botkit.flow import Bot, compile_bot, compile_texts, flow_files
from botkit.records import Record

REPO = Path(__file__).resolve().parents[2]
WEDNESDAY_10AM = 1_795_568_400.0  # 2026-11-25 10:00 KST, inside the reference bot's hours
LOOKUP = {"status": "배송중", "delivery": {"eta": "11월 25일", "courier": "CJ대한통운"}}


class Conversation:
    """Talk to an engine as one user; ``answer`` resolves the actions the engine calls."""

    def __init__(
        self,
        engine: Engine,
        user: str = "민지",
        channel: str = "test",
        actions: dict[str, Any] | None = None,
        at: float = WEDNESDAY_10AM,
    ) -> None:
        self.engine = engine
        self.session: Session = engine.new_session(f"{channel}:{user}", user, channel)
        self.at = at
        self.actions = actions if actions is not None else {"lookup_order": ("ok", LOOKUP)}
        self.effects: list[Effect] = []
        self.records: list[Record] = []
        self.all_records: list[Record] = []

    def _run(self, turn_effects: list[Effect], turn_records: list[Record]) -> None:
        self.effects = []
        self.records = list(turn_records)
        pending = list(turn_effects)
        while pending:
            effect = pending.pop(0)
            if isinstance(effect, Call):
                result, data = self.actions.get(effect.action, ("error", {}))
                more = self.engine.handle(
                    self.session, ActionResult(effect.action, result, self.at, data)
                )
                self.records.extend(more.records)
                pending = list(more.effects) + pending
            else:
                self.effects.append(effect)
        self.all_records.extend(self.records)

    def say(self, text: str, payload: str | None = None) -> Conversation:
        self.at += 5
        turn = self.engine.handle(self.session, UserMessage(text, self.at, payload))
        self._run(turn.effects, turn.records)
        return self

    def press(self, label: str) -> Conversation:
        """Press the quick reply with this label (as a channel would: its payload)."""
        for choice in self.choices_full:
            if choice.label == label:
                return self.say(label, choice.payload)
        raise AssertionError(f"no choice {label!r} in {self.choices}")

    def release(self, target: str | None = None, close: bool = False) -> Conversation:
        self.at += 5
        turn = self.engine.handle(self.session, AgentRelease(self.at, target, close))
        self._run(turn.effects, turn.records)
        return self

    @property
    def texts(self) -> list[str]:
        return [e.text or "" for e in self.effects if isinstance(e, Say)]

    @property
    def choices_full(self) -> list[Any]:
        return [c for e in self.effects if isinstance(e, Say) for c in e.choices]

    @property
    def choices(self) -> list[str]:
        return [c.label for c in self.choices_full]

    @property
    def state(self) -> str:
        return self.session.state

    @property
    def slots(self) -> dict[str, Any]:
        return self.session.slots

    @property
    def handed_off(self) -> bool:
        return any(isinstance(e, HandOff) for e in self.effects)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.records]


@pytest.fixture(scope="session")
def reference_bot() -> Bot:
    bot = compile_bot(flow_files(REPO / "flows")).bot
    assert bot is not None
    return bot


@pytest.fixture
def talk(reference_bot: Bot) -> Callable[..., Conversation]:
    engine = Engine(reference_bot, validators={"known_order_prefix": lambda v, s: v[0] != "9"})

    def start(user: str = "민지", **kw: Any) -> Conversation:
        return Conversation(engine, user, **kw)

    return start


@pytest.fixture
def inline() -> Callable[..., Engine]:
    def build(*texts: str, **kw: Any) -> Engine:
        import textwrap

        result = compile_texts(
            [(f"f{i}.yaml", textwrap.dedent(t).lstrip("\n")) for i, t in enumerate(texts)]
        )
        assert result.bot is not None, [p.message for p in result.problems]
        return Engine(result.bot, **kw)

    return build
