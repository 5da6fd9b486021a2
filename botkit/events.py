"""What comes into the engine: frozen, slotted values. Time comes in with every event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ActionResult", "AgentRelease", "Event", "UserMessage"]


@dataclass(frozen=True, slots=True)
class UserMessage:
    """The user said something (``text``) or pressed a choice (``payload``)."""

    text: str
    at: float
    payload: str | None = None


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
