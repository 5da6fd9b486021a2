"""The primitives of a turn: what one call of the engine changes and produces.

A :class:`Run` is one ``Engine.handle`` (or one operator step): the session it changes, the
:class:`Turn` it returns, and the few things only a turn knows (what the bot said and drew so
far, the slots filled in it, the ``next`` steps followed). Its methods are the verbs every rule
uses: write a record, say messages, draw a bubble, close the turn. The rules themselves
(``asking``, ``moving``, ``handoff``, ``experiments``, ``hearing``) are functions over a Run in
modules of their own, and import this one; this one imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from botkit import effects
from botkit.effects import Effect, Say, as_text, is_plain, pressable, say_to_data
from botkit.engine.prepared import Prepared, distinct, is_static
from botkit.engine.render import render
from botkit.engine.session import Session
from botkit.flow.conditions import evaluate
from botkit.flow.model import Branch, Message, Transition
from botkit.records import MASK, Record, RecordKind

__all__ = ["MAX_HOPS", "MAX_PAYLOAD", "MAX_TEXT", "Run", "Turn"]

# The record kinds a turn writes on its common path are bound to module globals once: on
# Python 3.11 reading a member of RecordKind goes through the enum's metaclass (~100 ns, several
# times a turn: ~3% of the engine bench), a module global is one dict lookup.
_MESSAGE_OUT = RecordKind.MESSAGE_OUT

MAX_HOPS = 64
MAX_TEXT = 2000  # characters of a message that are matched; the rest is kept but not read
MAX_PAYLOAD = 100  # characters of a payload kept in records (a designed one is much shorter)

_new_record = tuple.__new__


@dataclass(slots=True)
class Turn:
    """What one call of the engine returns: effects to carry out, records to commit."""

    effects: list[Effect] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [as_text(e) for e in self.effects if isinstance(e, Say)]


class Run:
    """One call of the engine: the session being changed and what the turn produced."""

    __slots__ = (
        "at",
        "bot",
        "bot_id",
        "chosen",
        "drawn",
        "first",
        "flow_of",
        "fresh",
        "hops",
        "inbound",
        "new_screen",
        "prepared",
        "reason",
        "records",
        "said",
        "says",
        "session",
        "turn",
    )

    def __init__(self, prepared: Prepared, session: Session, at: float) -> None:
        self.prepared = prepared
        self.bot = prepared.bot
        self.session = session
        self.at = at
        self.turn = Turn()
        self.records = self.turn.records
        self.flow_of = prepared.flow_of
        self.bot_id = prepared.bot.id
        self.fresh: set[str] = set()  # slots filled during this turn
        self.said: list[str] = []  # what the bot said this turn: one message_out record
        # Beside each of `said`, the bubble as data (masked as the texts are) where it is more
        # than text (cards, lists, quick replies), None where it is plain text.
        self.says: list[dict[str, Any] | None] = []
        self.hops = 0  # next steps followed this turn (a loop in a flow stops at MAX_HOPS)
        self.reason: str | None = None  # why botkit moved the user on its own, if it did
        # The first move of the turn, (cause, trigger, from): what set off the chain of moves
        # the turn took, which a handoff at its end records as its cause (moving.go).
        self.first: tuple[str, str | None, str | None] | None = None
        # Payloads of what the bot drew this turn, each once. A turn that draws one bubble with
        # choices (most do) keeps the tuple cached for that message: sessions on the same
        # screen share one tuple, and a turn allocates nothing for it.
        self.drawn: tuple[str, ...] = ()
        self.new_screen = False  # a state was entered or a new question asked
        # Where this screen's bubbles with choices are: in effects, and in `said`.
        self.chosen: list[tuple[int, int]] = []
        self.inbound = -1  # index of this turn's message_in record, if any

    def finish(self) -> Turn:
        """Close the turn: everything the bot said goes into one message_out record, and what
        it drew becomes the screen whose presses the next message may carry."""
        if self.said:
            if any(self.says):
                self.record(_MESSAGE_OUT, {"texts": self.said, "says": self.says})
            else:
                self.record(_MESSAGE_OUT, {"texts": self.said})
        if self.new_screen:
            self.session.offered = self.drawn
        elif self.drawn:  # the same question again (a fallback, a reprompt): still on screen
            self.session.offered = distinct((*self.drawn, *(self.session.offered or ())))
        return self.turn

    def begin_screen(self) -> None:
        """A state is entered: the screen the user is left on starts here. Quick replies said
        before it in this turn belong to a screen already left (the greeting's menu before the
        question a first message asked for): they are taken off their bubbles, so no channel
        shows them, and out of what may be pressed. Buttons, cards and lists stay: their
        bubbles are still in the chat."""
        self.new_screen = True
        if not self.chosen:
            return
        effects_ = self.turn.effects
        says = self.says
        for i, j in self.chosen:
            said = effects_[i]
            if isinstance(said, Say):
                effects_[i] = replace(said, choices=())
            form = says[j]
            if form is not None:  # the record of the bubble loses them too
                rest = {k: v for k, v in form.items() if k != "choices"}
                # plain text now: its text says it all
                says[j] = None if rest.keys() <= {"text", "slot"} else rest
        self.chosen = []
        self.drawn = distinct(p for e in effects_ if isinstance(e, Say) for p in pressable(e))

    # -- records ------------------------------------------------------------------------

    def record(self, kind: RecordKind, data: dict[str, Any] | None = None) -> None:
        """Write a record of this turn, at the turn's time."""
        s = self.session
        s.seq += 1
        flow, version = self.flow_of[s.state]
        # tuple.__new__ directly: a turn writes several records, and the generated
        # Record.__new__ is a Python-level call that would add a third to their cost.
        self.records.append(
            _new_record(
                Record,
                (
                    kind,
                    s.key,
                    s.conversation,
                    s.seq,
                    s.turn,
                    self.at,
                    self.bot_id,
                    flow,
                    version,
                    s.variant,
                    s.user,
                    s.channel,
                    data,
                ),
            )
        )

    # -- saying and drawing -------------------------------------------------------------

    def say(
        self,
        messages: tuple[Message, ...],
        *,
        slot: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        s = self.session
        prepared = self.prepared
        static = prepared.static
        for message in messages:
            key = (id(message), s.locale, slot)  # messages live as long as the bot
            cached = static.get(key)
            if cached is None:
                values = prepared.shown(s.slots if extra is None else {**s.slots, **extra})
                rendered = render(
                    message, s.locale, values, s.profile or {}, slot=slot, parts=prepared.parts
                )
                # What a press sends back is never a template: the payloads of a message are
                # the same in every render, and worked out once.
                facts = prepared.facts.get(id(message))
                if facts is None:
                    facts = prepared.facts_of(message, rendered)
                # What the records keep: the text, and the bubble as data unless it is plain
                # text; where a template names a sensitive slot, with the mask in its place.
                recorded = self.masked_say(message, values) if facts[1] else rendered
                form = None if is_plain(rendered) else say_to_data(recorded)
                cached = (rendered, as_text(recorded), facts[0], form)
                if id(message) not in prepared.dynamic:
                    if is_static(message):  # no template names a value: render it once
                        static[key] = cached
                    else:
                        prepared.dynamic.add(id(message))
            if cached[0].choices:
                self.chosen.append((len(self.turn.effects), len(self.said)))
            self.turn.effects.append(cached[0])
            self.said.append(cached[1])
            self.says.append(cached[3])
            if cached[2]:
                self.add_drawn(cached[2])

    def recorded_text(self, message: Message, rendered: Say, values: Mapping[str, Any]) -> str:
        """What the records keep of a rendered message: its text, with the value of a
        sensitive slot masked (the user still reads it; the records never hold it)."""
        prepared = self.prepared
        facts = prepared.facts.get(id(message)) or prepared.facts_of(message, rendered)
        if facts[1]:
            return as_text(self.masked_say(message, values))
        return as_text(rendered)

    def masked_say(self, message: Message, values: Mapping[str, Any]) -> Say:
        """``message`` rendered as records keep it: the values of sensitive slots and profile
        attributes masked."""
        s = self.session
        prepared = self.prepared
        profile = prepared.masked_profile(s.profile or {})
        return render(message, s.locale, prepared.masked(values), profile)

    def draw(self, rendered: Say, text: str, recorded: Say | None = None) -> None:
        """Show a bubble made here (not from a cached message); ``text`` is what is recorded,
        and ``recorded`` the bubble the records keep when it is not ``rendered`` (masked)."""
        if rendered.choices:
            self.chosen.append((len(self.turn.effects), len(self.said)))
        form = None
        if not is_plain(rendered):
            form = say_to_data(rendered if recorded is None else recorded)
            if self.prepared.sensitive:
                form = _scrubbed(form, self.secrets())
        self.turn.effects.append(rendered)
        self.said.append(text)
        self.says.append(form)
        self.add_drawn(distinct(pressable(rendered)))

    def add_drawn(self, payloads: tuple[str, ...]) -> None:
        self.drawn = distinct((*self.drawn, *payloads)) if self.drawn else payloads

    def say_text(
        self,
        text: str,
        *,
        choices: tuple[effects.Choice, ...] = (),
        slot: str | None = None,
        recorded: str | None = None,
    ) -> None:
        said = Say(text=text, choices=choices, slot=slot)
        if recorded is None:
            self.draw(said, text)
        else:
            self.draw(said, recorded, Say(text=recorded, choices=choices, slot=slot))

    def say_system(self, key: Literal["migrated", "no_agent", "opt_out"]) -> None:
        """Say one of the bot's system messages (bot.yaml ``messages.<key>``), or botkit's own
        words for it when the bot has none: ``migrated``, the user's place is gone in the new
        version; ``no_agent``, nobody took their handoff in time; ``opt_out``, their opt-out
        words withdrew their consent to advertising."""
        designed = self.bot.messages.get(key)
        if designed:
            self.say(designed)
        else:
            self.say_text(getattr(self.prepared.wording_of(self.session.locale), key))

    def say_error(self) -> None:
        for say in self.prepared.error_effects(self.session.locale):
            self.draw(say, as_text(say))

    def secrets(self) -> list[str]:
        """The values of sensitive slots this session holds (and one awaiting a yes), as a
        bubble would show them, longest first."""
        s = self.session
        sensitive = self.prepared.sensitive
        held = [{name: v for name, v in s.slots.items() if name in sensitive}]
        awaiting = s.awaiting
        if s.pending is not None and awaiting is not None and awaiting.name in sensitive:
            held.append({awaiting.name: s.pending})
        found = {
            str(v)
            for values in held
            for shown in (values, self.prepared.shown(values))
            for v in shown.values()
            if v is not None
        } - {""}
        return sorted(found, key=len, reverse=True)

    # -- conditions ---------------------------------------------------------------------

    def env(self) -> dict[str, Any]:
        s = self.session
        return {
            "profile": s.profile or {},
            "channel": s.channel,
            "locale": s.locale,
            "promotion": self.runs,  # asked only by a condition that names a promotion
            "segments": s.segments,  # as the runtime found them when the conversation started
        }

    def runs(self, promotion: str) -> bool:
        """Whether ``promotion`` runs at this turn's time (``promotion.<name>`` in a condition)."""
        return self.prepared.runs(promotion, self.at)

    def holds(self, t: Transition | Branch) -> bool:
        return t.condition is None or evaluate(t.condition, self.session.slots, self.env())


def _scrubbed(data: Any, secrets: list[str]) -> Any:
    """``data`` with every secret in its strings replaced by the mask: what a bubble drawn
    here (a fallback that repeats the screen's choices) records, whatever rendered it."""
    if not secrets:
        return data
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, MASK)
        return data
    if isinstance(data, dict):
        return {k: _scrubbed(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_scrubbed(v, secrets) for v in data]
    return data
