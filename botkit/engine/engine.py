"""The engine: a session and an event in, effects and records out. No I/O, no clock.

Theory of operation
-------------------
A :class:`Session` is a small snapshot; the compiled :class:`~botkit.flow.model.Bot` and its one
``transitions`` machine are shared by every session. ``Engine.handle(session, event)`` updates
the session it is given (the caller's working copy; the runtime commits it, or throws it away)
and returns a :class:`Turn`: what to say and do, and the records of what happened.

A user message is matched in this order, first match wins:

1. a pressed choice (payload), or text equal to the label of a choice on screen;
2. the slot being asked for (its answer, or a yes/no to its confirmation);
3. the state's own transitions (payload, keywords, regex, intent keywords, any);
4. global transitions (the flow's, then the bot's);
5. example phrases (``examples`` and intents) in the state, then globally, by similarity;
6. the fallback, which escalates after ``max_misses`` misses in a row.

A slot answer that is not valid falls through 3–5 (so "처음으로" still works while a number is
being asked for); only if nothing else matches does it count as an invalid attempt.

A payload is a contract between what botkit drew and what comes back: the session keeps the
payloads of the choices, buttons, cards and list items on the user's current screen, and a press
is accepted only if it is one of them or a designed global entry (a global ``payload:``
transition). Anything else (a forged ``@flow.state``, a press replayed from another session or
from an earlier screen) is recorded as ``payload_rejected`` and the message is read as text.

The answer to a ``sensitive`` slot (a phone number, an e-mail) stays in the session, where the
bot needs it; records (``message_in``, and ``message_out`` where a message shows the value) and
everything read from them carry :data:`~botkit.records.MASK` instead.

Entering a state says its messages and then, by kind: waits (message), asks for the first
missing slot (collect), emits a ``Call`` and waits for its ``ActionResult`` (call), hands over
(handoff) or ends the conversation (end). ``next`` steps are followed at once, up to
``MAX_HOPS`` per turn, so a loop in a flow cannot hang the process.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botkit import effects
from botkit.effects import Effect, Say, as_text, pressable
from botkit.engine import hours as business
from botkit.engine._machine import FlowMachine, MachineError, name_of
from botkit.engine.matching import THRESHOLD, Classifier, ExactPool, fuzzy
from botkit.engine.render import render
from botkit.engine.session import Session, Status
from botkit.engine.slots import extract
from botkit.errors import ConfigurationError, NotWithAgent, StepRefused
from botkit.events import ActionResult, AgentRelease, Event, UserMessage
from botkit.flow.conditions import evaluate
from botkit.flow.model import (
    Bot,
    Branch,
    Fallback,
    Message,
    Slot,
    State,
    StateKind,
    Target,
    Text,
    Transition,
)
from botkit.records import MASK, Record
from botkit.text import normalize, squash

__all__ = [
    "ConfigurationError",
    "Engine",
    "NotWithAgent",
    "StepRefused",
    "Turn",
    "Validator",
]

_new_record = tuple.__new__
MAX_HOPS = 64
MAX_TEXT = 2000  # characters of a message that are matched; the rest is kept but not read
MAX_PAYLOAD = 100  # characters of a payload kept in records (a designed one is much shorter)
MAX_OFFERED = 64  # payloads kept on a screen (Kakao draws at most 10 cards of 3 buttons, ...)
YES = frozenset(
    {"예", "네", "응", "yes", "y", "맞아요", "맞아", "네맞아요", "ㅇㅇ", "좋아요", "확인"}
)
NO = frozenset({"아니요", "아니오", "아니", "no", "n", "ㄴㄴ", "틀려요", "아니에요"})
DEFAULT_FALLBACK = "죄송해요, 잘 이해하지 못했어요. 다시 말씀해 주시겠어요?"
DEFAULT_ERROR = "일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요."

Validator = Callable[[Any, Mapping[str, Any]], bool]
"""A custom slot validator: (value, slots so far) → valid or not. Pure and synchronous."""


@dataclass(slots=True)
class Turn:
    effects: list[Effect] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [as_text(e) for e in self.effects if isinstance(e, Say)]


def variant_for(user: str, experiment: str, weights: tuple[tuple[str, float], ...]) -> str:
    """Deterministic, sticky assignment: the same user always gets the same variant."""
    digest = hashlib.sha256(f"{experiment}\x00{user}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    total = 0.0
    for name, weight in weights:
        total += weight
        if point < total:
            return name
    return weights[-1][0]


class Engine:
    """Runs conversations of one compiled bot. Create once; share across sessions."""

    def __init__(
        self,
        bot: Bot,
        *,
        validators: Mapping[str, Validator] | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.bot = bot
        self.machine = FlowMachine(bot)
        self.validators = dict(validators or {})
        self.classifier = classifier
        missing = sorted(
            {s.validator for s in bot.slots.values() if s.validator} - set(self.validators)
        )
        if missing:
            raise ConfigurationError(
                "error[BK501]: the flows use slot validators that are not registered: "
                + ", ".join(f"'{m}'" for m in missing)
                + " (register them with bot.validator(name))"
            )
        self._states: dict[str, State] = {
            name_of(s.target): s for f in bot.flows.values() for s in f.states.values()
        }
        self._labels: dict[str, dict[str, str]] = {
            name: _labels(self._messages_of(state)) for name, state in self._states.items()
        }
        self._slot_labels = {
            name: _labels(slot.prompt + slot.reprompts) for name, slot in bot.slots.items()
        }
        self._flow_of: dict[str, tuple[str, str]] = {
            name: (s.flow, bot.flows[s.flow].version) for name, s in self._states.items()
        }
        self._flow_of[""] = (bot.start, bot.flows[bot.start].version)
        # renders (and their text) of messages in which no template names a value
        # (and the payloads they draw)
        self._static: dict[tuple[int, str, str | None], tuple[Say, str, tuple[str, ...]]] = {}
        self._dynamic: set[int] = set()
        self._parts: dict[tuple[int, str], Any] = {}  # fixed choices and buttons, rendered
        self._enum_labels = _enum_labels(bot)
        self._globals: dict[str, tuple[Transition, ...]] = {
            f.id: (*f.global_on, *bot.global_on) for f in bot.flows.values()
        }
        # Payloads accepted on any screen of a flow: its designed global entries.
        self._entries: dict[str, frozenset[str]] = {
            flow: frozenset(t.payload for t in globals_ if t.trigger == "payload" and t.payload)
            for flow, globals_ in self._globals.items()
        }
        self._sensitive = frozenset(name for name, slot in bot.slots.items() if slot.sensitive)
        # awaiting → the sensitive slot whose answer (or confirmation) is being asked for
        self._secret_questions = {
            f"{how}:{name}": name for name in self._sensitive for how in ("slot", "confirm")
        }
        self._legacy: dict[str, frozenset[str]] = {}  # see legacy_screen
        # message id → (the payloads it draws, whether a template names a sensitive slot)
        self._facts: dict[int, tuple[tuple[str, ...], bool]] = {}
        # What to try, per state and variant: exact triggers (the state's, then the globals),
        # then example phrases of the state, then those of the globals. Built once here so
        # that a turn only walks a ready list.
        self._pools: dict[tuple[str, str, str], _Pools] = {}
        for state in self._states.values():
            globals_ = self._globals[state.flow]
            own_by_variant = {"": state.on}
            for name, variant in (state.variants or {}).items():
                if variant.on is not None:
                    own_by_variant[name] = variant.on
            for name, own in own_by_variant.items():
                self._pools[(state.flow, state.id, name)] = _Pools(
                    exact=ExactPool(
                        tuple(
                            t for t in (*own, *globals_) if t.trigger not in ("examples", "result")
                        ),
                        bot.intents,
                    ),
                    own_examples=tuple(t for t in own if t.trigger in _FUZZY),
                    global_examples=tuple(t for t in globals_ if t.trigger in _FUZZY),
                )

    # -- sessions ------------------------------------------------------------------------

    def new_session(self, key: str, user: str, channel: str, *, locale: str = "") -> Session:
        return Session(
            key=key, user=user, channel=channel, locale=locale or self.bot.default_locale
        )

    def handle(self, session: Session, event: Event) -> Turn:
        run = _Run(self, session, event.at)
        if isinstance(event, UserMessage):
            run.user_message(event)
        elif isinstance(event, ActionResult):
            run.action_result(event)
        else:
            run.agent_release(event)
        return run.finish()

    def target(self, name: str) -> Target:
        """``flow.state`` (or a state of the start flow by its bare name) as a target."""
        flow, dot, state = name.partition(".")
        if not dot:
            flow, state = self.bot.start, name
        if flow in self.bot.flows and state in self.bot.flows[flow].states:
            return (flow, state)
        raise StepRefused(f"there is no state '{name}' (write it as flow.state)")

    def goto(self, session: Session, target: Target, at: float) -> Turn:
        """Put the session at ``target`` (the simulator's /goto, an operator's decision)."""
        run = _Run(self, session, at)
        if session.conversation == 0 or session.status == Status.CLOSED:
            run.start_conversation()
        elif session.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            session.status = Status.BOT
            session.held = None
            session.agent = None
        session.last_at = at  # a jump is activity: the next message is not after a silence
        run.jump(target, "goto")
        return run.finish()

    def reset(self, session: Session, at: float) -> Turn:
        """End the conversation (outcome ``reset``); the next message starts a new one."""
        run = _Run(self, session, at)
        if session.conversation and session.status != Status.CLOSED:
            run.record("conversation_end", {"outcome": "reset"})
            session.status = Status.CLOSED
        return run.finish()

    def expire(self, session: Session, at: float) -> Turn:
        """Move on a handoff that no agent took within its wait_timeout (a sweeper calls this;
        a user's message checks it too). Nothing happens to any other session."""
        run = _Run(self, session, at)
        if session.status == Status.HANDOFF_REQUESTED and run.waited_too_long():
            run.give_up_waiting()
        return run.finish()

    def claim(self, session: Session, agent: str, at: float) -> Turn:
        """An agent takes a handed-off conversation. Only one can: a conversation already held
        by another agent is refused (StepRefused); claiming one's own again changes nothing."""
        if session.status == Status.WITH_AGENT:
            holder = session.agent or "another agent"
            if holder == agent:
                return Turn()
            raise StepRefused(f"the conversation is already with {holder}")
        if session.status != Status.HANDOFF_REQUESTED:
            raise NotWithAgent("the conversation is not handed off to an agent")
        run = _Run(self, session, at)
        run.record("handoff_claimed", {"agent": agent, "waited_s": round(at - session.since)})
        session.status = Status.WITH_AGENT
        session.agent = agent
        session.since = at
        return run.finish()

    def agent_message(self, session: Session, text: str, agent: str, at: float) -> Turn:
        """A person writes to the user during a handoff; the first message claims it."""
        if session.status not in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            raise NotWithAgent("the conversation is not handed off to an agent")
        if session.status == Status.WITH_AGENT and session.agent not in (None, agent):
            raise StepRefused(f"the conversation is with {session.agent}")
        run = _Run(self, session, at)
        if session.status == Status.HANDOFF_REQUESTED:
            session.status = Status.WITH_AGENT
            session.agent = agent
            run.record("handoff_claimed", {"agent": agent, "waited_s": round(at - session.since)})
            session.since = at
        run.record("agent_message", {"agent": agent, "text": text})
        run.turn.effects.append(Say(text=text, agent=agent))
        return run.finish()

    def note(self, session: Session, text: str, agent: str, at: float) -> Turn:
        """An agent's note on the conversation: recorded, never shown to the user."""
        run = _Run(self, session, at)
        run.record("agent_note", {"agent": agent, "text": text})
        return run.finish()

    def force_variant(self, session: Session, variant: str) -> list[str]:
        """Put the session in ``variant`` of every experiment that has it (the simulator's
        /variant, a QA fixture); returns those experiments. Sticky like a drawn variant."""
        chosen = sorted(
            name
            for name, experiment in self.bot.experiments.items()
            if variant in dict(experiment.variants)
        )
        if not chosen:
            known = sorted({v for e in self.bot.experiments.values() for v, _ in e.variants})
            raise StepRefused(
                f"no experiment has a variant '{variant}'"
                + (f" (variants: {', '.join(known)})" if known else " (the bot has none)")
            )
        variants = dict(session.variants or {})
        variants.update((name, variant) for name in chosen)
        session.variants = variants
        session.variant = _variant_text(variants)
        return chosen

    def error_effects(self) -> list[Say]:
        """The bot's error message (``messages.error``, or botkit's own), for a failed turn."""
        messages = self.bot.messages.get("error")
        if not messages:
            return [Say(text=DEFAULT_ERROR)]
        return [render(m, self.bot.default_locale, {}, {}) for m in messages]

    # -- helpers used by _Run --------------------------------------------------------------

    def shown(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as users read them: an enum's label ("상품 불량"), not its key."""
        labels = self._enum_labels
        if not labels or not any(name in slots for name in labels):
            return slots
        return {
            name: labels[name].get(value, value) if name in labels else value
            for name, value in slots.items()
        }

    def masked(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as they may be shown outside the conversation (records, the agent
        console): the value of a ``sensitive`` slot is replaced by the mask."""
        if not self._sensitive or not any(name in slots for name in self._sensitive):
            return slots
        return {name: MASK if name in self._sensitive else v for name, v in slots.items()}

    def shows_secret(self, message: Message) -> bool:
        """Whether a template of ``message`` names a sensitive slot."""
        return bool(self._sensitive) and any(
            ref.scope == "slot" and ref.name in self._sensitive
            for text in _texts(message)
            if text is not None
            for template in text.by_locale.values()
            for ref in template.refs
        )

    def facts(self, message: Message, rendered: Say) -> tuple[tuple[str, ...], bool]:
        """What a message draws and whether it shows a secret, worked out on its first render
        (messages live as long as the bot, so their ids are stable keys)."""
        facts = (_distinct(pressable(rendered)), self.shows_secret(message))
        self._facts[id(message)] = facts
        return facts

    def legacy_screen(self, state: str, awaiting: str) -> frozenset[str]:
        """The payloads a state and the question it is asking can draw: the screen of a
        session stored before botkit kept screens in the session (read from the flow, not
        from what was rendered, so it is the widest that place could have shown)."""
        key = f"{state}\0{awaiting}"
        screen = self._legacy.get(key)
        if screen is None:
            messages = self._messages_of(self._states[state])
            how, _, slot = awaiting.partition(":")
            if how in ("slot", "confirm") and slot in self.bot.slots:
                messages += self.bot.slots[slot].prompt + self.bot.slots[slot].reprompts
            screen = frozenset(p for m in messages for p in _payloads_of(m))
            if how == "confirm":
                screen |= {"yes", "no"}
            self._legacy[key] = screen
        return screen

    def state_of(self, session: Session) -> State:
        return self._states[session.state]

    def _messages_of(self, state: State) -> tuple[Message, ...]:
        out = state.say
        for v in (state.variants or {}).values():
            out += v.say or ()
        return out


_FUZZY = ("examples", "intent")


@dataclass(frozen=True, slots=True)
class _Pools:
    exact: ExactPool
    own_examples: tuple[Transition, ...]
    global_examples: tuple[Transition, ...]


def _texts(message: Message) -> list[Text | None]:
    """Every text of a message that a template may fill."""
    texts = [message.text]
    cards = ([message.card] if message.card else []) + list(message.cards)
    for card in cards:
        texts += [card.title, card.description, *(b.label for b in card.buttons)]
    texts += [q.label for q in message.quick_replies] + [b.label for b in message.buttons]
    if message.image:
        texts.append(message.image.alt)
    if message.list:
        texts.append(message.list.header)
        texts += [i.title for i in message.list.items]
        texts += [i.description for i in message.list.items]
        texts += [b.label for b in message.list.buttons]
    return texts


def _is_static(message: Message) -> bool:
    return all(
        t is None or all(tpl.is_plain for tpl in t.by_locale.values()) for t in _texts(message)
    )


def _payloads_of(message: Message) -> list[str]:
    """What pressing something in ``message`` can send back, read from the flow."""
    out = [q.payload for q in message.quick_replies]
    cards = ([message.card] if message.card else []) + list(message.cards)
    buttons = [*message.buttons, *(b for c in cards for b in c.buttons)]
    if message.list:
        buttons += message.list.buttons
        out += [i.payload for i in message.list.items if i.payload]
        out += [f"@{i.target[0]}.{i.target[1]}" for i in message.list.items if i.target]
    for b in buttons:
        if b.target is not None:
            out.append(f"@{b.target[0]}.{b.target[1]}")
        elif b.kind in ("payload", "to", "agent"):
            out.append(b.value)
    return out


def _distinct(payloads: Iterable[str]) -> tuple[str, ...]:
    """Each payload once, at most MAX_OFFERED of them (the first drawn first)."""
    return tuple(dict.fromkeys(payloads))[:MAX_OFFERED]


def _variant_text(variants: dict[str, str] | None) -> str:
    if not variants:
        return ""
    return ",".join(f"{k}:{v}" for k, v in sorted(variants.items()))


def _segment(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Profile values a report can group by: text (cut to 100 characters), numbers, yes/no."""
    out: dict[str, Any] = {}
    for key, value in list(profile.items())[:20]:
        if isinstance(value, str):
            out[key] = value[:100]
        elif isinstance(value, bool | int | float):
            out[key] = value
    return out


def _enum_labels(bot: Bot) -> dict[str, dict[str, str]]:
    """Per enum slot: value → the label of the choice that gives it (in the default locale)."""
    out: dict[str, dict[str, str]] = {}
    for slot in bot.slots.values():
        if slot.type != "enum":
            continue
        labels: dict[str, str] = {}
        for message in slot.prompt + slot.reprompts:
            for q in message.quick_replies:
                if q.payload in slot.values:
                    labels.setdefault(q.payload, q.label.template(bot.default_locale).source)
        if labels:
            out[slot.name] = labels
    return out


def _labels(messages: tuple[Message, ...]) -> dict[str, str]:
    """Typed text equal to a choice's label counts as pressing it: squashed label → payload."""
    out: dict[str, str] = {}
    for m in messages:
        for q in m.quick_replies:
            for template in q.label.by_locale.values():
                out.setdefault(squash(template.source), q.payload)
    return out


class _Run:
    """One call of ``Engine.handle``: the session being changed and what the turn produced."""

    __slots__ = (
        "at",
        "bot",
        "bot_id",
        "drawn",
        "engine",
        "flow_of",
        "fresh",
        "hops",
        "inbound",
        "new_screen",
        "reason",
        "records",
        "said",
        "session",
        "turn",
    )

    def __init__(self, engine: Engine, session: Session, at: float) -> None:
        self.engine = engine
        self.bot = engine.bot
        self.session = session
        self.at = at
        self.turn = Turn()
        self.records = self.turn.records
        self.flow_of = engine._flow_of
        self.bot_id = engine.bot.id
        self.fresh: set[str] = set()  # slots filled during this turn
        self.said: list[str] = []  # what the bot said this turn: one message_out record
        self.hops = 0  # next steps followed this turn (a loop in a flow stops at MAX_HOPS)
        self.reason: str | None = None  # why botkit moved the user on its own, if it did
        # Payloads of what the bot drew this turn, each once. A turn that draws one bubble with
        # choices (most do) keeps the tuple cached for that message: sessions on the same
        # screen share one tuple, and a turn allocates nothing for it.
        self.drawn: tuple[str, ...] = ()
        self.new_screen = False  # a state was entered or a new question asked
        self.inbound = -1  # index of this turn's message_in record, if any

    def finish(self) -> Turn:
        """Close the turn: everything the bot said goes into one message_out record, and what
        it drew becomes the screen whose presses the next message may carry."""
        if self.said:
            self.record("message_out", {"texts": self.said})
        if self.new_screen:
            self.session.offered = self.drawn
        elif self.drawn:  # the same question again (a fallback, a reprompt): still on screen
            self.session.offered = _distinct((*self.drawn, *(self.session.offered or ())))
        return self.turn

    # -- records and effects ------------------------------------------------------------

    def record(self, kind: str, data: dict[str, Any] | None = None) -> None:
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

    def say(
        self,
        messages: tuple[Message, ...],
        *,
        slot: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        s = self.session
        static = self.engine._static
        for message in messages:
            key = (id(message), s.locale, slot)  # messages live as long as the bot
            cached = static.get(key)
            if cached is None:
                values = self.engine.shown(s.slots if extra is None else {**s.slots, **extra})
                rendered = render(
                    message, s.locale, values, s.profile or {}, slot=slot, parts=self.engine._parts
                )
                # What a press sends back is never a template: the payloads of a message are
                # the same in every render, and worked out once.
                facts = self.engine._facts.get(id(message))
                if facts is None:
                    facts = self.engine.facts(message, rendered)
                text = as_text(rendered)
                if facts[1]:  # a template names a sensitive slot: the records get the mask
                    text = self.masked_text(message, values)
                cached = (rendered, text, facts[0])
                if id(message) not in self.engine._dynamic:
                    if _is_static(message):  # no template names a value: render it once
                        static[key] = cached
                    else:
                        self.engine._dynamic.add(id(message))
            self.turn.effects.append(cached[0])
            self.said.append(cached[1])
            if cached[2]:
                self.add_drawn(cached[2])

    def recorded_text(self, message: Message, rendered: Say, values: Mapping[str, Any]) -> str:
        """What the records keep of a rendered message: its text, with the value of a
        sensitive slot masked (the user still reads it; the records never hold it)."""
        if self.engine.shows_secret(message):
            return self.masked_text(message, values)
        return as_text(rendered)

    def masked_text(self, message: Message, values: Mapping[str, Any]) -> str:
        s = self.session
        masked = self.engine.masked(values)
        return as_text(render(message, s.locale, masked, s.profile or {}))

    def draw(self, rendered: Say, text: str) -> None:
        """Show a bubble made here (not from a cached message); ``text`` is what is recorded."""
        self.turn.effects.append(rendered)
        self.said.append(text)
        self.add_drawn(_distinct(pressable(rendered)))

    def add_drawn(self, payloads: tuple[str, ...]) -> None:
        self.drawn = _distinct((*self.drawn, *payloads)) if self.drawn else payloads

    def say_text(
        self,
        text: str,
        *,
        choices: tuple[effects.Choice, ...] = (),
        slot: str | None = None,
        recorded: str | None = None,
    ) -> None:
        self.draw(
            Say(text=text, choices=choices, slot=slot), text if recorded is None else recorded
        )

    def say_error(self) -> None:
        for say in self.engine.error_effects():
            self.draw(say, as_text(say))

    def env(self) -> dict[str, Any]:
        s = self.session
        return {"profile": s.profile or {}, "channel": s.channel, "locale": s.locale}

    # -- inbound events -----------------------------------------------------------------

    def user_message(self, event: UserMessage) -> None:
        s = self.session
        # The answer to a sensitive question is masked, even one that comes after the silence
        # that ends the conversation: it is still the phone number the user was asked for.
        secret = self.engine._secret_questions.get(s.awaiting) if s.awaiting else None
        expired = s.conversation and self.at - s.last_at > self.bot.inactivity_timeout
        if expired and s.status != Status.CLOSED:
            self.record("conversation_end", {"outcome": "abandoned"})
            s.status = Status.CLOSED
        starting = s.conversation == 0 or s.status == Status.CLOSED
        if starting:
            self.start_conversation()
        s.turn += 1
        s.last_at = self.at
        payload = event.payload
        heard: dict[str, Any] = {
            "text": event.text,
            "payload": payload if payload is None else payload[:MAX_PAYLOAD],
        }
        if secret is not None and event.text:
            heard["text"] = MASK
            heard["masked"] = secret
        self.inbound = len(self.records)
        self.record("message_in", heard)
        if payload is not None and not self.offered(payload):
            # Not drawn on this user's screen: forged, or replayed from another session or an
            # earlier screen. It takes nothing; what the message says is read as text.
            self.record("payload_rejected", {"payload": payload[:MAX_PAYLOAD]})
            payload = None
        if s.status == Status.HANDOFF_REQUESTED and self.waited_too_long():
            self.give_up_waiting()
            return
        if s.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            s.held = [*(s.held or ()), heard["text"]]  # kept for the agent; the bot is silent
            return
        if starting:
            # The first message opens the conversation (the greeting is said); it is acted
            # on only if it clearly asks for something the start state offers.
            self.first_message(event.text, payload)
            return
        self.input(event.text, payload)

    def offered(self, payload: str) -> bool:
        """Whether a press of ``payload`` is one the bot drew on this session's screen, or a
        designed global entry of the flow the session is in."""
        s = self.session
        if payload in self.engine._entries[self.flow_of[s.state][0]]:
            return True
        if s.offered is None:  # stored before screens were kept: what this place draws
            return payload in self.engine.legacy_screen(s.state, s.awaiting)
        return payload in s.offered

    def mask_inbound(self, slot: str) -> None:
        """Mask this turn's message_in: it held the value of a sensitive slot after all."""
        if self.inbound < 0:
            return
        record = self.records[self.inbound]
        data = dict(record.data or {})
        if data.get("text"):
            data["text"] = MASK
            data["masked"] = slot
            self.records[self.inbound] = record._replace(data=data)

    def start_conversation(self) -> None:
        s = self.session
        s.conversation += 1
        s.turn = 0
        s.status = Status.BOT
        s.slots = {}
        s.awaiting = ""
        s.attempts = s.misses = 0
        s.pending = None
        s.held = None
        s.agent = None
        s.started_at = self.at
        s.bot_version = self.bot.version
        s.state = name_of(self.bot.start_target)
        data: dict[str, Any] = {"flow": self.bot.start}
        if s.profile:
            # The profile as it was when the conversation began (grade, acquisition source,
            # ...): reports break conversions down by it, whatever the profile becomes later.
            data["segment"] = _segment(s.profile)
        self.record("conversation_start", data)

    def first_message(self, raw: str, payload: str | None) -> None:
        target = self.bot.start_target
        state = self.bot.state(target)
        self.record("transition", {"from": None, "to": name_of(target), "trigger": "start"})
        text = normalize(raw[:MAX_TEXT])
        hit = self.exact_match(state, text.replace(" ", ""), text, payload)
        self.enter(target)
        if hit is not None and self.session.state == name_of(target):
            self.take(hit[0], hit[1])

    def action_result(self, event: ActionResult) -> None:
        s = self.session
        if s.awaiting != "result:" + event.action:
            self.record("error", {"reason": "unexpected action result", "action": event.action})
            return
        action = self.bot.actions.get(event.action)
        if action is not None and event.result == "ok":
            for slot, path in action.save.items():
                value: Any = event.data
                for step in path:
                    value = value.get(step) if isinstance(value, dict) else None
                if value is not None:
                    s.slots[slot] = value
        self.record(
            "action",
            {
                "action": event.action,
                "result": event.result,
                "latency_ms": round(event.latency_ms, 3),
                "detail": event.detail or None,
            },
        )
        state = self.engine.state_of(s)
        routes = self.transitions_of(state)
        for wanted in (event.result, "error" if event.result == "timeout" else None):
            if wanted is None:
                continue
            for t in routes:
                if t.result == wanted and self.holds(t):
                    self.take(t, {})
                    return
        self.record("error", {"reason": "no route for action result", "result": event.result})
        self.say_error()
        self.jump(self.bot.start_target, "error")

    def agent_release(self, event: AgentRelease) -> None:
        s = self.session
        if s.status not in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            # Refused, not recorded: a release that races another agent's close, or comes for
            # a conversation the bot holds, is the operator's mistake and changes nothing.
            raise NotWithAgent("the conversation is not handed off to an agent")
        state = self.engine.state_of(s)
        if event.close:
            self.record("handoff_closed")
            self.record("conversation_end", {"outcome": "handed_off"})
            s.status = Status.CLOSED
            s.agent = None
            self.turn.effects.append(effects.End("handed_off"))
            return
        s.status = Status.BOT
        s.held = None
        s.agent = None
        target: Target = state.handoff.resume if state.handoff else self.bot.start_target
        if event.target:
            flow, _, name = event.target.partition(".")
            if flow in self.bot.flows and name in self.bot.flows[flow].states:
                target = (flow, name)
        self.record("handoff_released", {"to": name_of(target)})
        self.jump(target, "agent released")

    def waited_too_long(self) -> bool:
        handoff = self.engine.state_of(self.session).handoff
        wait = handoff.wait_timeout if handoff else None
        return wait is not None and self.at - self.session.since >= wait

    def give_up_waiting(self) -> None:
        """No agent came within the handoff's wait_timeout: the flow's way on (on_timeout)."""
        s = self.session
        handoff = self.engine.state_of(s).handoff
        assert handoff is not None  # waited_too_long() said so
        assert handoff.on_timeout is not None  # the compiler requires it with wait_timeout
        self.record("handoff_timeout", {"waited_s": round(self.at - s.since)})
        s.status = Status.BOT
        s.held = None
        s.agent = None
        self.go(handoff.on_timeout, "no agent in time")

    # -- matching -----------------------------------------------------------------------

    def transitions_of(self, state: State) -> tuple[Transition, ...]:
        if state.variants and state.experiment:
            variant = (self.session.variants or {}).get(state.experiment)
            chosen = state.variants.get(variant or "")
            if chosen is not None and chosen.on is not None:
                return chosen.on
        return state.on

    def holds(self, t: Transition | Branch) -> bool:
        return t.condition is None or evaluate(t.condition, self.session.slots, self.env())

    def pools(self, state: State) -> _Pools:
        variant = ""
        if state.variants and state.experiment:
            variant = (self.session.variants or {}).get(state.experiment, "")
        pools = self.engine._pools
        return pools.get((state.flow, state.id, variant)) or pools[(state.flow, state.id, "")]

    def exact_match(
        self, state: State, said: str, text: str, payload: str | None
    ) -> tuple[Transition, dict[str, str]] | None:
        return self.pools(state).exact.first(said, text, payload, self.holds)

    def fuzzy_match(self, state: State, said: str, text: str) -> Transition | None:
        pools = self.pools(state)
        if not pools.own_examples and not pools.global_examples:
            return None
        scores = None
        if self.engine.classifier is not None:
            scores = dict(self.engine.classifier.classify(text))
        for pool in (pools.own_examples, pools.global_examples):
            best: tuple[float, Transition] | None = None
            for t in pool:
                score = fuzzy(t, said, self.bot.intents, scores)
                if score >= THRESHOLD and (best is None or score > best[0]) and self.holds(t):
                    best = (score, t)
            if best is not None:
                return best[1]
        return None

    def input(self, raw: str, payload: str | None) -> None:
        s = self.session
        text = normalize(raw[:MAX_TEXT])
        said = text.replace(" ", "")
        state = self.engine.state_of(s)
        awaiting = s.awaiting
        # 1. a choice: pressed (checked on arrival), or its label typed while it is on screen
        if payload is None and said:
            labels = (
                self.engine._slot_labels.get(awaiting[5:])
                if awaiting.startswith("slot:")
                else None
            )
            typed = (labels or {}).get(said) or self.engine._labels[s.state].get(said)
            if typed is not None and self.offered(typed):
                payload = typed
        if payload is not None and payload.startswith("@"):
            flow, _, name = payload[1:].partition(".")
            if flow in self.bot.flows and name in self.bot.flows[flow].states:
                self.go((flow, name), f"choice: {payload[1:]}")
                return
        # 2. the slot being asked for
        rejected: Slot | None = None
        if awaiting.startswith("confirm:"):
            if self.confirm(awaiting[8:], said, payload):
                return
        elif awaiting.startswith("slot:"):
            slot = self.bot.slots[awaiting[5:]]
            value = extract(slot, raw[:MAX_TEXT], payload, self.at)
            validator = self.engine.validators.get(slot.validator or "")
            if value is not None and validator is not None and not validator(value, s.slots):
                value = None
            if value is not None:
                self.accept(slot, value)
                return
            rejected = slot
        # 3–4. exact triggers, in the state and then globally
        hit = self.exact_match(state, said, text, payload)
        if hit is not None:
            self.take(*hit)
            return
        # 5. example phrases
        if said:
            similar = self.fuzzy_match(state, said, text)
            if similar is not None:
                self.take(similar, {})
                return
        # 6. an invalid answer, or nothing matched
        if rejected is not None:
            self.reject(rejected)
        else:
            self.fallback(state)

    def take(self, t: Transition, groups: dict[str, str]) -> None:
        for name, value in groups.items():
            if name in self.bot.slots:
                slot = self.bot.slots[name]
                extracted = extract(slot, value, None, self.at)
                if extracted is not None:
                    self.session.slots[name] = extracted
                    self.fresh.add(name)
                    if slot.sensitive:
                        self.mask_inbound(name)
        self.say(t.say)
        self.go(t.target, t.label)

    def fallback(self, state: State) -> None:
        s = self.session
        flow = self.bot.flows[state.flow]
        fb: Fallback = state.fallback or flow.fallback or self.bot.fallback
        s.misses += 1
        self.record("fallback", {"miss": s.misses})
        if fb.escalate_to is not None and s.misses >= fb.max_misses:
            self.go(fb.escalate_to, "fallback escalation", reason="repeated_fallback")
            return
        # The choices on screen are offered again with the fallback.
        profile = s.profile or {}
        on_screen = state.say
        if state.variants and state.experiment:
            chosen = state.variants.get((s.variants or {}).get(state.experiment, ""))
            if chosen is not None and chosen.say is not None:
                on_screen = chosen.say
        choices = next(
            (
                render(m, s.locale, s.slots, profile, parts=self.engine._parts).choices
                for m in reversed(on_screen)
                if m.quick_replies
            ),
            (),
        )
        if fb.messages:
            message = fb.messages[min(s.misses, len(fb.messages)) - 1]
            rendered = render(message, s.locale, s.slots, profile)
            recorded = self.recorded_text(message, rendered, s.slots)
            if choices and not rendered.choices:
                rendered = dataclasses.replace(rendered, choices=choices)
            self.draw(rendered, recorded)
        else:
            self.say_text(DEFAULT_FALLBACK, choices=choices)

    # -- slots ----------------------------------------------------------------------------

    def ask(self, slot: Slot) -> None:
        s = self.session
        self.new_screen = True
        s.attempts = 0
        s.awaiting = "slot:" + slot.name
        self.say(slot.prompt, slot=slot.name)

    def accept(self, slot: Slot, value: Any) -> None:
        s = self.session
        if slot.confirm is not None:
            s.pending = value
            s.awaiting = "confirm:" + slot.name
            self.new_screen = True
            template = slot.confirm.template(s.locale)
            values = self.engine.shown({**s.slots, slot.name: value})
            text = template.render(values, s.profile or {})
            self.say_text(
                text,
                choices=(effects.Choice("예", "yes"), effects.Choice("아니요", "no")),
                slot=slot.name,
                recorded=template.render(self.engine.masked(values), s.profile or {}),
            )
            return
        self.fill(slot, value)

    def fill(self, slot: Slot, value: Any) -> None:
        s = self.session
        s.slots[slot.name] = value
        s.pending = None
        self.fresh.add(slot.name)
        filled: dict[str, Any] = {"slot": slot.name, "attempt": s.attempts + 1}
        if not slot.sensitive and isinstance(value, str | int | float | bool):
            # answers to surveys and choices are what reports measure; a slot marked
            # sensitive (a phone number, an e-mail) keeps its value out of the records
            filled["value"] = value[:500] if isinstance(value, str) else value
        self.record("slot_filled", filled)
        s.awaiting = ""
        self.continue_collect(self.engine.state_of(s))

    def confirm(self, name: str, said: str, payload: str | None) -> bool:
        s = self.session
        slot = self.bot.slots[name]
        if payload == "yes" or said in YES:
            self.fill(slot, s.pending)
            return True
        if payload == "no" or said in NO:
            s.pending = None
            self.record(
                "slot_rejected",
                {"slot": name, "attempt": s.attempts + 1, "reason": "not confirmed"},
            )
            self.ask(slot)
            return True
        return False

    def reject(self, slot: Slot) -> None:
        s = self.session
        s.attempts += 1
        self.record("slot_rejected", {"slot": slot.name, "attempt": s.attempts})
        if s.attempts >= slot.max_attempts and slot.on_exhausted is not None:
            self.go(slot.on_exhausted, f"{slot.name} attempts exhausted", reason="slot_exhausted")
            return
        if s.attempts >= slot.max_attempts:
            s.attempts = 0
        messages = slot.reprompts or slot.prompt
        index = min(max(s.attempts, 1), len(messages)) - 1
        self.say(messages[index : index + 1] if slot.reprompts else messages, slot=slot.name)

    def continue_collect(self, state: State) -> None:
        s = self.session
        for name in state.collect:
            if name not in s.slots:
                self.ask(self.bot.slots[name])
                return
        self.follow_next(state)

    # -- moving ---------------------------------------------------------------------------

    def go(self, target: Target, trigger: str, *, reason: str | None = None) -> None:
        """Take a designed edge from the current state to ``target``, then enter it.

        ``reason`` says why, when botkit itself decided (too many misunderstandings, slot
        attempts used up): a handoff state entered this way records that reason instead of
        its own, so handoffs can be counted by what really caused them.
        """
        if reason is not None:
            self.reason = reason
        s = self.session
        source = s.state
        try:
            self.engine.machine.hop(s, target)
        except MachineError:  # not a designed edge (a compiler/engine disagreement): still go
            self.engine.machine.jump(s, target)
        self.record("transition", {"from": source, "to": s.state, "trigger": trigger})
        self.enter(target)

    def jump(self, target: Target, trigger: str) -> None:
        s = self.session
        source = s.state
        self.engine.machine.jump(s, target)
        self.record("transition", {"from": source or None, "to": s.state, "trigger": trigger})
        self.enter(target)

    def enter(self, target: Target) -> None:
        s = self.session
        state = self.bot.state(target)
        self.new_screen = True
        s.misses = 0
        s.awaiting = ""
        variant = None
        if state.experiment:
            variant = self.assign(state.experiment)
        for goal in state.goals:
            self.record("goal", {"goal": goal})
        if state.promotion:
            self.record("promotion", {"promotion": state.promotion})
        chosen = state.variants.get(variant or "") if state.variants else None
        say = chosen.say if chosen is not None and chosen.say is not None else state.say
        kind = state.kind
        if kind is StateKind.HANDOFF and state.handoff is not None:
            h = state.handoff
            if (
                h.hours
                and h.outside_hours
                and not business.is_open(self.bot.hours[h.hours], self.at)
            ):
                # Asked for, but nobody is there to queue it for: counted apart from handoffs
                # that reached the agents, so the handoff rate can be read both ways.
                reason = self.reason or h.reason
                self.record(
                    "handoff_requested", {"reason": reason, "queue": h.queue, "open": False}
                )
                self.say(say)
                self.go(h.outside_hours, "outside business hours")
                return
        self.say(say)
        if kind is StateKind.MESSAGE:
            self.follow_next(state, chosen.next if chosen is not None else None)
        elif kind is StateKind.COLLECT:
            for name in state.collect:
                if name not in self.fresh:
                    s.slots.pop(name, None)
            self.continue_collect(state)
        elif kind is StateKind.CALL:
            assert state.call is not None
            s.awaiting = "result:" + state.call
            self.turn.effects.append(effects.Call(state.call))
        elif kind is StateKind.HANDOFF and state.handoff is not None:
            h = state.handoff
            self.say(h.message)
            s.status = Status.HANDOFF_REQUESTED
            s.since = self.at
            reason = self.reason or h.reason
            self.record("handoff_requested", {"reason": reason, "queue": h.queue, "open": True})
            self.record("handoff_queued", {"queue": h.queue})
            self.turn.effects.append(effects.HandOff(reason, h.queue, name_of(target)))
        elif kind is StateKind.END:
            outcome = state.end or "resolved"
            self.record("conversation_end", {"outcome": outcome})
            s.status = Status.CLOSED
            self.turn.effects.append(effects.End(outcome))

    def follow_next(self, state: State, override: tuple[Branch, ...] | None = None) -> None:
        branches = override if override is not None else state.next
        if not branches:
            if state.kind is StateKind.MESSAGE:
                self.session.awaiting = "input"
            return
        self.hops += 1
        if self.hops > MAX_HOPS:
            self.record("error", {"reason": f"more than {MAX_HOPS} steps in one turn"})
            self.session.awaiting = "input"
            return
        for branch in branches:
            if self.holds(branch):
                self.say(branch.say)
                label = f"next if {branch.condition_source}" if branch.condition_source else "next"
                self.go(branch.target, label)
                return
        self.session.awaiting = "input"

    def assign(self, experiment: str) -> str:
        s = self.session
        variants = s.variants if s.variants is not None else {}
        variant = variants.get(experiment)
        if variant is None:
            exp = self.bot.experiments[experiment]
            variant = variant_for(s.user, experiment, exp.variants)
            variants[experiment] = variant
            s.variants = variants
            s.variant = _variant_text(variants)
        self.record("experiment", {"experiment": experiment, "variant": variant})
        return variant
