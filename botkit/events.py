"""What comes in: frozen, slotted values.

Two families, one per floor:

* :data:`Event` is what the engine handles (``Engine.handle``): a user's message, an action's
  result, an agent handing the user back. Time comes in with every event: the engine has no
  clock.
* :data:`Inbound` is what comes through the runtime's one door (``Runtime.apply(key, event)``):
  a user's message as a channel delivers it, a link they opened, and every step an operator
  (an agent, a helpdesk, the sweeper, QA in the shell) takes on a conversation. These carry no
  time: the runtime reads its clock when the turn runs, under the session's lock, so a step
  that waited for another turn of the same user is never dated before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botkit.effects import Effect

__all__ = [
    "ActionResult",
    "AgentMessage",
    "AgentRelease",
    "ChannelMessage",
    "Claim",
    "Event",
    "Expire",
    "Goto",
    "Inbound",
    "Keep",
    "LinkClick",
    "Note",
    "OpenCampaign",
    "OperatorStep",
    "Release",
    "Reset",
    "Update",
    "UserMessage",
]

# --- what the engine handles ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserMessage:
    """The user said something (``text``) or pressed a choice (``payload``)."""

    text: str
    at: float
    payload: str | None = None
    locale: str | None = None  # the channel's hint of the user's language (e.g. Kakao's lang)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """An action the engine asked for (a ``Call`` effect) has finished."""

    action: str
    result: str  # ok, error, timeout or a declared result name
    at: float
    data: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AgentRelease:
    """The agent hands the conversation back to the bot (at ``target``) or closes it."""

    at: float
    target: str | None = None  # "flow.state"; None = the handoff state's resume target
    close: bool = False


Event = UserMessage | ActionResult | AgentRelease

# --- what comes through the runtime's door -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """The user wrote (``text``) or pressed a choice (``payload``), as a channel delivers it:
    with the profile fields the channel sends along (Kakao's user properties; merged into the
    session's profile) and the user's locale (taken when the bot has it). ``with_kept``: the
    bubbles kept for this user (:class:`Keep`) are said first, and leave the session in the
    same commit, so they are said once."""

    text: str
    payload: str | None = None
    profile: Mapping[str, Any] | None = None
    locale: str | None = None
    with_kept: bool = False


@dataclass(frozen=True, slots=True)
class LinkClick:
    """The user opened a link the bot showed them in ``conversation``, through botkit's
    redirect (``botkit.server.links``), which knows it as ``url``: recorded in that
    conversation, nothing said, nobody moved."""

    url: str
    conversation: int


@dataclass(frozen=True, slots=True)
class Keep:
    """Words for the user's next message (on channels that can only answer: an agent's words,
    a reply that came too late), kept in their session. Only what ``effects`` say is kept."""

    effects: tuple[Effect, ...]


@dataclass(frozen=True, slots=True)
class Claim:
    """An agent takes the handed-off conversation; of agents claiming at once exactly one wins."""

    agent: str


@dataclass(frozen=True, slots=True)
class AgentMessage:
    """A person writes to the user during a handoff (the first message claims it)."""

    text: str
    agent: str = "agent"


@dataclass(frozen=True, slots=True)
class Note:
    """An agent's note on the conversation: recorded, never shown to the user."""

    text: str
    agent: str


@dataclass(frozen=True, slots=True)
class Release:
    """An agent hands the user back to the bot (at ``target``) or closes the conversation; the
    runtime gives the engine an :class:`AgentRelease` dated when it runs."""

    target: str | None = None  # "flow.state"; None = the handoff state's resume target
    close: bool = False


@dataclass(frozen=True, slots=True)
class Expire:
    """Move on a handoff that no agent took within its wait timeout (the sweeper's step).
    ``keep``: the channel can only answer (Kakao), so what the bot says about it is kept in
    the session for the user's next message, in the same turn: never a second turn that a
    message could come between, or that could fail after the first was committed."""

    keep: bool = False


@dataclass(frozen=True, slots=True)
class Reset:
    """End the user's conversation; their next message starts a new one."""


@dataclass(frozen=True, slots=True)
class Goto:
    """Put the user at ``state`` ("flow.state") and run it, as if a transition led there."""

    state: str


@dataclass(frozen=True, slots=True)
class Update:
    """Change the user's profile (fields merged) or put them in ``variant`` of every experiment
    that has it."""

    profile: Mapping[str, Any] | None = None
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class OpenCampaign:
    """A campaign's message to the user (its ``variant``), for the send keyed ``send``: said,
    and the user put at the state the campaign opens, which reads their reply (the sender's
    step on the widget; on KakaoTalk, the answer to the Event API's callback)."""

    campaign: str
    variant: str
    send: str


OperatorStep = Claim | AgentMessage | Note | Release | Expire | Reset | Goto | Update
Inbound = ChannelMessage | LinkClick | Keep | OpenCampaign | OperatorStep
