"""A session: the small, plain snapshot of one user's conversation with the bot.

It is what the store keeps between turns. The compiled bot (shared by every session) holds
everything else, so a session is a few hundred bytes: its place in the flow, slot values, a
handful of counters and the payloads of the choices on the user's screen. ``version`` is the
store's compare-and-set counter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

__all__ = [
    "ARRIVE",
    "INPUT",
    "Awaiting",
    "AwaitingKind",
    "Session",
    "Status",
    "ended_by_silence",
    "will_start",
]


class Status(enum.StrEnum):
    BOT = "bot"  # the bot is talking
    HANDOFF_REQUESTED = "handoff_requested"  # waiting for a person
    WITH_AGENT = "with_agent"  # a person holds the conversation; the bot stays silent
    CLOSED = "closed"  # the conversation ended; the next message starts a new one


AwaitingKind = Literal["input", "slot", "confirm", "result", "arrive"]
"""What the bot is waiting for: ``input`` (anything: a message state with no ``next``), the
answer to a ``slot``, a yes/no to ``confirm`` a slot's value, the ``result`` of an action, or
the user's arrival at a state botkit put them in while they were away (``arrive``: nobody came
for their handoff in time; the state is entered, and said, when they next write).
A Literal, not an enum: the engine compares kinds on every message, and a plain string compare
is the cheapest there is."""

_KINDS: frozenset[str] = frozenset(get_args(AwaitingKind))


@dataclass(frozen=True, slots=True)
class Awaiting:
    """What the session's next event is read as: a kind and what it names (a slot, an action;
    ``""`` for ``input``). The engine keeps one instance per slot and action of a bot, so
    sessions waiting on the same question share it."""

    kind: AwaitingKind
    name: str = ""

    def __str__(self) -> str:
        """The text botkit stored before this was a pair (``slot:order_no``, ``input``): how
        the shell shows it, and what :meth:`parse` reads."""
        return f"{self.kind}:{self.name}" if self.name else self.kind

    def __rich__(self) -> str:
        # The shell draws ``session.awaiting`` in a rich table; rich asks for this.
        return str(self)

    @classmethod
    def parse(cls, value: object) -> Awaiting | None:
        """A stored value as a pair: the JSON object this is stored as, or the string a
        session stored by an earlier botkit holds (``""``, ``"input"``, ``"slot:<name>"``,
        ``"confirm:<name>"``, ``"result:<action>"``), read once and never written again."""
        if value is None or isinstance(value, Awaiting):
            return value
        if isinstance(value, dict):
            kind, name = value.get("kind"), value.get("name", "")
        elif isinstance(value, str):
            if not value:
                return None
            kind, _, name = value.partition(":")
        else:
            raise ValueError(f"cannot read what a session awaits from {value!r}")
        if kind not in _KINDS or not isinstance(name, str):
            raise ValueError(f"cannot read what a session awaits from {value!r}")
        if kind == "input" and not name:
            return INPUT
        if kind == "arrive" and not name:
            return ARRIVE
        return cls(cast(AwaitingKind, kind), name)


INPUT = Awaiting("input")  # a message state waits for whatever the user says next
ARRIVE = Awaiting("arrive")  # placed at a state the user has not seen yet: entered on arrival


@dataclass(slots=True)
class Session:
    key: str  # "<channel>:<user>"; one conversation at a time per key
    user: str
    channel: str
    bot_version: str = ""
    state: str = ""  # "flow.state"
    status: str = Status.BOT
    conversation: int = 0  # counts conversations of this key; 0 = none started yet
    turn: int = 0
    seq: int = 0  # last record sequence number used
    version: int = 0  # store compare-and-set counter
    started_at: float = 0.0
    # The conversation's last activity: the user's message, the bot's answer to it (an
    # action's result), an agent's claim or message, the bot moving on by itself. The
    # inactivity timeout runs from here, and a conversation it ends ends here.
    last_at: float = 0.0
    locale: str = ""
    locale_source: str = ""  # who chose ``locale``: channel, profile or user (engine.locales)
    slots: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None
    variants: dict[str, str] | None = None  # experiment → variant, sticky
    variant: str = ""  # the same as "experiment:variant,..." — what every record carries
    awaiting: Awaiting | None = None  # None: nothing (a conversation not started, a move)
    attempts: int = 0  # invalid answers to the slot being asked
    misses: int = 0  # fallbacks in a row
    pending: Any = None  # a value waiting for confirmation
    held: list[str] | None = None  # user messages kept for the agent during a handoff
    since: float = 0.0  # when the current handoff status began
    agent: str | None = None  # who holds the conversation while it is with an agent
    # Bubbles waiting for the user's next message, on channels that can only answer (Kakao):
    # an agent's words, a reply that missed its deadline. Kept here, not in one worker's
    # memory, so whichever worker gets the next message says them (effects.say_to_data).
    outbox: list[dict[str, Any]] | None = None
    # The payloads the bot drew on the user's current screen (quick replies, buttons, cards,
    # list items): the only presses it accepts next, besides the designed global entries. A
    # payload is a contract between what botkit drew and what comes back, so a client cannot
    # jump to a state by naming it. The strings are the compiled bot's own, shared in memory.
    # None: a session stored before botkit kept screens; the engine then accepts what the
    # current state and its question draw, until the bot draws a screen of its own.
    offered: tuple[str, ...] | None = ()
    # The bot's segments the user was in when this conversation started, as the runtime found
    # them (flows read them as ``segment.<name>``; conversation_start records them for the
    # reports). None: the bot declares none, or they were not looked up.
    segments: list[str] | None = None
    # The keys of the last campaign sends said to the user (Engine.open_campaign): a send
    # taken again after a crash, or a second callback of Kakao's for it, says nothing twice.
    # Checked inside the turn, under the session's lock, so two at once cannot both say it.
    campaigns: list[str] | None = None

    def __post_init__(self) -> None:
        # A session built from what an earlier botkit stored (or by code written for it) may
        # name what it awaits as a string: it is read here, once, into the pair.
        if self.awaiting is not None and type(self.awaiting) is not Awaiting:
            self.awaiting = Awaiting.parse(self.awaiting)

    def copy(self) -> Session:
        """An independent working copy (the engine changes the session it is given)."""
        twin = Session.__new__(Session)
        for name in self.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.slots = dict(self.slots)
        if self.profile is not None:
            twin.profile = dict(self.profile)
        if self.variants is not None:
            twin.variants = dict(self.variants)
        if self.held is not None:
            twin.held = list(self.held)
        if self.outbox is not None:
            twin.outbox = list(self.outbox)
        return twin

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        known = {k: v for k, v in data.items() if k in cls.__slots__}
        if "offered" in known:  # stored as a JSON list
            known["offered"] = tuple(known["offered"] or ())
        elif known.get("state"):  # kept by a botkit that did not record the screen
            known["offered"] = None
        return cls(**known)  # __post_init__ reads ``awaiting`` (stored as an object or a string)


def will_start(session: Session, now: float, timeout: float) -> bool:
    """Whether a user message at ``now`` starts a new conversation: the first, one after a
    closed conversation, or one after the silence ended the last (what the engine does)."""
    return (
        session.conversation == 0
        or session.status == Status.CLOSED
        or ended_by_silence(session, now, timeout)
    )


def ended_by_silence(session: Session, now: float, timeout: float) -> bool:
    """Whether the session's conversation ended in the silence before ``now``: nothing
    happened in it for longer than ``timeout`` (the bot's ``inactivity_timeout``). A
    conversation an agent holds never does: the agent ends it (a release or a close), and
    the user may take their time to answer them."""
    return (
        session.conversation > 0
        and session.status != Status.WITH_AGENT
        and now - session.last_at > timeout
    )
