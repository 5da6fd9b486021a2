"""A session: the small, plain snapshot of one user's conversation with the bot.

It is what the store keeps between turns. The compiled bot (shared by every session) holds
everything else, so a session is a few hundred bytes: its place in the flow, slot values, a
handful of counters and the payloads of the choices on the user's screen. ``version`` is the
store's compare-and-set counter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Session", "Status"]


class Status(enum.StrEnum):
    BOT = "bot"  # the bot is talking
    HANDOFF_REQUESTED = "handoff_requested"  # waiting for a person
    WITH_AGENT = "with_agent"  # a person holds the conversation; the bot stays silent
    CLOSED = "closed"  # the conversation ended; the next message starts a new one


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
    last_at: float = 0.0
    locale: str = ""
    slots: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None
    variants: dict[str, str] | None = None  # experiment → variant, sticky
    variant: str = ""  # the same as "experiment:variant,..." — what every record carries
    awaiting: str = ""  # "", "input", "slot:<name>", "confirm:<name>", "result:<action>"
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
        return cls(**known)
