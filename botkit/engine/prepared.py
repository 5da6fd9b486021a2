"""What the engine works out once per bot, so that a turn only looks things up.

:func:`prepare` reads a compiled :class:`~botkit.flow.model.Bot` into a :class:`Prepared`: the
states by ``flow.state`` name, the labels a user may type instead of pressing a choice, what
to try in which order in each state (and each variant of it), the designed global entries, the
sensitive slots, the one ``transitions`` machine, the :class:`Awaiting` values sessions
point at, and when each promotion runs (its dates as timestamps in the bot's time zone, so that
entering a state compares two numbers). Every attribute is public and none is rebound after
:func:`prepare`; the rule modules of the engine read them directly.

Four tables are memos, not plans, and fill in as a bot talks: ``static`` (renders of messages in
which no template names a value), ``dynamic`` (messages known not to be static), ``parts``
(fixed choices and buttons, rendered) and ``facts`` (what a message draws, and whether it shows
a secret). Messages live as long as the bot, so ``id(message)`` is a stable key; a bot version is
prepared once and then shared by every session, which is what makes them pay off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botkit.effects import Say, pressable
from botkit.engine._machine import FlowMachine, name_of
from botkit.engine.matching import Classifier, ExactPool
from botkit.engine.render import render
from botkit.engine.session import Awaiting, Session
from botkit.errors import ConfigurationError
from botkit.flow.defaults import WORDINGS, Wording
from botkit.flow.model import Bot, Message, State, Target, Text, Transition
from botkit.records import MASK
from botkit.text import squash

__all__ = [
    "MAX_OFFERED",
    "Pools",
    "Prepared",
    "Validator",
    "distinct",
    "is_static",
    "prepare",
]

MAX_OFFERED = 64  # payloads kept on a screen (Kakao draws at most 10 cards of 3 buttons, ...)

Validator = Callable[[Any, Mapping[str, Any]], bool]
"""A custom slot validator: (value, slots so far) → valid or not. Pure and synchronous."""

_FUZZY = ("examples", "intent")


@dataclass(frozen=True, slots=True)
class Pools:
    """What to try in one state (and variant): exact triggers (the state's, then the globals),
    then example phrases of the state, then those of the globals."""

    exact: ExactPool
    own_examples: tuple[Transition, ...]
    global_examples: tuple[Transition, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """The per-bot tables of one :class:`~botkit.engine.Engine` (see the module docstring)."""

    bot: Bot
    machine: FlowMachine
    validators: dict[str, Validator]
    classifier: Classifier | None
    wording: Wording  # the words botkit supplies itself (bot.wording)
    wordings: dict[str, Wording]  # locale → its wording (the default locale's yes/no too)
    states: dict[str, State]  # "flow.state" → state
    labels: dict[str, dict[str, str]]  # state → squashed label of a choice → its payload
    slot_labels: dict[str, dict[str, str]]  # the same for the choices of a slot's prompts
    flow_of: dict[str, tuple[str, str]]  # state ("" before any) → (flow, flow version)
    entries: dict[str, frozenset[str]]  # flow → payloads accepted on any of its screens
    sensitive: frozenset[str]  # slots whose values records never hold
    enum_labels: dict[str, dict[str, str]]  # enum slot → value → the label users read
    pools: dict[tuple[str, str, str], Pools]  # (flow, state, variant) → what to try
    # handoff state → what takes a waiting user out of the queue: its ``leave:``, then the
    # global transitions that lead elsewhere (exact triggers only; see hearing)
    waiting: dict[str, ExactPool]
    leaving: dict[str, frozenset[str]]  # handoff state → the payloads of its ``leave:``
    # slot → its reprompts, each carrying the prompt's quick replies when it has none of its
    # own (the 취소 button stays): derived once here, so a reprompt renders from the cache
    reprompts: dict[str, tuple[Message, ...]]
    asking: dict[str, Awaiting]  # slot → what a session asking for it awaits
    confirming: dict[str, Awaiting]  # slot → awaiting the yes/no to its value
    calling: dict[str, Awaiting]  # action → awaiting its result
    # (message, locale, slot) → the bubble, and its recorded text, payloads and data (or None)
    static: dict[
        tuple[int, str, str | None], tuple[Say, str, tuple[str, ...], dict[str, Any] | None]
    ]
    dynamic: set[int]
    parts: dict[tuple[int, str], Any]
    facts: dict[int, tuple[tuple[str, ...], bool]]
    legacy: dict[tuple[str, Awaiting | None], frozenset[str]]  # see legacy_screen
    # promotion → [first instant, end) it runs, as timestamps (Promotion.window); dated only
    promotion_windows: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    # profile attributes bot.yaml's ``profile:`` marks sensitive: records never hold their values
    sensitive_profile: frozenset[str] = frozenset()

    def state_of(self, session: Session) -> State:
        return self.states[session.state]

    def target_named(self, name: str) -> Target | None:
        """``flow.state`` (a pressed ``@flow.state``, an agent's release) as a target, or None
        when the bot has no such state."""
        flow, _, state = name.partition(".")
        flows = self.bot.flows
        return (flow, state) if flow in flows and state in flows[flow].states else None

    def shown(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as users read them: an enum's label ("상품 불량"), not its key."""
        labels = self.enum_labels
        if not labels or not any(name in slots for name in labels):
            return slots
        return {
            name: labels[name].get(value, value) if name in labels else value
            for name, value in slots.items()
        }

    def masked(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as they may be shown outside the conversation (records, the agent
        console): the value of a ``sensitive`` slot is replaced by the mask."""
        if not self.sensitive or not any(name in slots for name in self.sensitive):
            return slots
        return {name: MASK if name in self.sensitive else v for name, v in slots.items()}

    def masked_profile(self, profile: Mapping[str, Any]) -> Mapping[str, Any]:
        """The profile as it may be shown outside the conversation: the value of a
        ``sensitive`` attribute (bot.yaml ``profile:``) replaced by the mask."""
        hidden = self.sensitive_profile
        if not hidden or not any(name in profile for name in hidden):
            return profile
        return {name: MASK if name in hidden else v for name, v in profile.items()}

    def shows_secret(self, message: Message) -> bool:
        """Whether a template of ``message`` names a sensitive slot or profile attribute."""
        if not self.sensitive and not self.sensitive_profile:
            return False
        return any(
            ref.name in (self.sensitive if ref.scope == "slot" else self.sensitive_profile)
            for text in _texts(message)
            if text is not None
            for template in text.by_locale.values()
            for ref in template.refs
            if ref.scope in ("slot", "profile")
        )

    def facts_of(self, message: Message, rendered: Say) -> tuple[tuple[str, ...], bool]:
        """What a message draws and whether it shows a secret, worked out on its first render
        and kept in ``facts``."""
        found = (distinct(pressable(rendered)), self.shows_secret(message))
        self.facts[id(message)] = found
        return found

    def legacy_screen(self, state: str, awaiting: Awaiting | None) -> frozenset[str]:
        """The payloads a state and the question it is asking can draw: the screen of a
        session stored before botkit kept screens in the session (read from the flow, not
        from what was rendered, so it is the widest that place could have shown)."""
        key = (state, awaiting)
        screen = self.legacy.get(key)
        if screen is None:
            messages = messages_of(self.states[state])
            how, name = (awaiting.kind, awaiting.name) if awaiting is not None else ("", "")
            if how in ("slot", "confirm") and name in self.bot.slots:
                slot = self.bot.slots[name]
                messages += slot.prompt + slot.reprompts
            screen = frozenset(p for m in messages for p in _payloads_of(m))
            if how == "confirm":
                screen |= {"yes", "no"}
            self.legacy[key] = screen
        return screen

    def runs(self, promotion: str, at: float) -> bool:
        """Whether ``promotion`` runs at ``at`` (between its ``starts`` and ``ends``)."""
        window = self.promotion_windows.get(promotion)
        return window is None or window[0] <= at < window[1]

    def wording_of(self, locale: str) -> Wording:
        return self.wordings.get(locale, self.wording)

    def error_effects(self, locale: str) -> list[Say]:
        """The bot's error message (``messages.error``, or the wording of ``locale``), for a
        failed turn."""
        messages = self.bot.messages.get("error")
        if not messages:
            return [Say(text=self.wording_of(locale).error)]
        return [render(m, locale, {}, {}) for m in messages]


def prepare(
    bot: Bot,
    validators: Mapping[str, Validator] | None = None,
    classifier: Classifier | None = None,
) -> Prepared:
    """Read ``bot`` into the tables a turn looks things up in (raises ConfigurationError when
    the flows name a validator that is not registered)."""
    registered = dict(validators or {})
    missing = sorted({s.validator for s in bot.slots.values() if s.validator} - set(registered))
    if missing:
        raise ConfigurationError(
            "error[BK501]: the flows use slot validators that are not registered: "
            + ", ".join(f"'{m}'" for m in missing)
            + " (register them with bot.validator(name))"
        )
    states = {name_of(s.target): s for f in bot.flows.values() for s in f.states.values()}
    flow_of = {name: (s.flow, bot.flows[s.flow].version) for name, s in states.items()}
    flow_of[""] = (bot.start, bot.flows[bot.start].version)
    global_on = {f.id: (*f.global_on, *bot.global_on) for f in bot.flows.values()}
    sensitive = frozenset(name for name, slot in bot.slots.items() if slot.sensitive)
    calls = sorted({s.call for s in states.values() if s.call})
    return Prepared(
        bot=bot,
        machine=FlowMachine(bot),
        validators=registered,
        classifier=classifier,
        wording=bot.wording,
        wordings={loc: _wording(loc, bot) for loc in bot.locales},
        states=states,
        labels={name: _labels(messages_of(state)) for name, state in states.items()},
        slot_labels={name: _labels(s.prompt + s.reprompts) for name, s in bot.slots.items()},
        flow_of=flow_of,
        entries={
            flow: frozenset(t.payload for t in on if t.trigger == "payload" and t.payload)
            for flow, on in global_on.items()
        },
        sensitive=sensitive,
        enum_labels=_enum_labels(bot),
        pools=_pools(bot, states.values(), global_on),
        waiting={
            name: _waiting(bot, state, global_on[state.flow])
            for name, state in states.items()
            if state.handoff is not None
        },
        leaving={
            name: frozenset(t.payload for t in state.handoff.leave if t.payload)
            for name, state in states.items()
            if state.handoff is not None
        },
        reprompts={name: _reprompts(s.prompt, s.reprompts) for name, s in bot.slots.items()},
        asking={name: Awaiting("slot", name) for name in bot.slots},
        confirming={name: Awaiting("confirm", name) for name in bot.slots},
        calling={action: Awaiting("result", action) for action in calls},
        static={},
        dynamic=set(),
        parts={},
        facts={},
        legacy={},
        promotion_windows={
            name: p.window(bot.timezone)
            for name, p in bot.promotions.items()
            if p.starts or p.ends  # one without dates always runs: nothing to look up
        },
        sensitive_profile=frozenset(n for n, a in bot.profile.items() if a.sensitive),
    )


def _wording(locale: str, bot: Bot) -> Wording:
    """The wording of ``locale``: botkit's for its language, understanding the default
    locale's yes and no as well; the bot's own when botkit has none for it."""
    own = WORDINGS.get(locale.split("-")[0].lower())
    if own is None or locale == bot.default_locale:
        return own or bot.wording
    base = _wording(bot.default_locale, bot)
    return dataclasses.replace(own, yes=own.yes | base.yes, no=own.no | base.no)


def _reprompts(prompt: tuple[Message, ...], reprompts: tuple[Message, ...]) -> tuple[Message, ...]:
    choices = next((m.quick_replies for m in reversed(prompt) if m.quick_replies), ())
    return tuple(
        m if m.quick_replies or not choices else dataclasses.replace(m, quick_replies=choices)
        for m in reprompts
    )


def _pools(
    bot: Bot, states: Iterable[State], global_on: Mapping[str, tuple[Transition, ...]]
) -> dict[tuple[str, str, str], Pools]:
    """What to try, per state and variant. Built once here so that a turn only walks a ready
    list."""
    pools: dict[tuple[str, str, str], Pools] = {}
    for state in states:
        globals_ = global_on[state.flow]
        own_by_variant = {"": state.on}
        for name, variant in (state.variants or {}).items():
            if variant.on is not None:
                own_by_variant[name] = variant.on
        for name, own in own_by_variant.items():
            exact = tuple(t for t in (*own, *globals_) if t.trigger not in ("examples", "result"))
            pools[(state.flow, state.id, name)] = Pools(
                exact=ExactPool(exact, bot.intents),
                own_examples=tuple(t for t in own if t.trigger in _FUZZY),
                global_examples=tuple(t for t in globals_ if t.trigger in _FUZZY),
            )
    return pools


def _waiting(bot: Bot, state: State, globals_: tuple[Transition, ...]) -> ExactPool:
    """What takes a user waiting in this handoff state out of the queue: its ``leave:``, then
    the global transitions that lead somewhere else ("상담원" while queued for one is not a way
    out). Only exact triggers: an example phrase or 'any' would take words meant for the agent."""
    assert state.handoff is not None
    away = tuple(
        t
        for t in globals_
        if t.target != state.target and t.trigger in ("payload", "keywords", "regex", "intent")
    )
    return ExactPool((*state.handoff.leave, *away), bot.intents)


def messages_of(state: State) -> tuple[Message, ...]:
    """Every message a state may say, in any variant (and, waiting for an agent, its
    handoff's)."""
    out = state.say
    for v in (state.variants or {}).values():
        out += v.say or ()
    if state.handoff is not None:
        out += state.handoff.message + state.handoff.while_waiting
    return out


def distinct(payloads: Iterable[str]) -> tuple[str, ...]:
    """Each payload once, at most MAX_OFFERED of them (the first drawn first)."""
    return tuple(dict.fromkeys(payloads))[:MAX_OFFERED]


def is_static(message: Message) -> bool:
    """Whether no template of ``message`` names a value (so one render serves every session)."""
    return all(
        t is None or all(tpl.is_plain for tpl in t.by_locale.values()) for t in _texts(message)
    )


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
