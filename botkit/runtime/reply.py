"""What a turn gives back: :class:`Reply`, a plain value, and :func:`kept`, the accessor for
callers that answer "try again" when the store did not answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botkit.effects import Effect, Say, as_text
from botkit.errors import StorageError
from botkit.records import Record

__all__ = ["Failure", "Reply", "kept"]


class Failure(StrEnum):
    """Why nothing of a turn was kept."""

    ERROR = "error"  # the turn failed; the flow's error message is all there is to say
    # The store did not answer: trying again later may work (channels answer 503 with
    # Retry-After, and the user's client may send the message again).
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back for one turn. Unless ``failure`` says otherwise, the turn is committed
    (the reply leaves only after the commit)."""

    effects: list[Effect] = field(default_factory=list)
    state: str = ""
    status: str = ""
    slots: dict[str, Any] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    seconds: float = 0.0  # how long the turn took, lock waits and actions included
    failure: Failure | None = None  # one field, so "ok" and "unavailable" cannot disagree

    @property
    def ok(self) -> bool:
        """Whether the turn was committed (else ``effects`` is the flow's error message)."""
        return self.failure is None

    @property
    def unavailable(self) -> bool:
        """Whether the store did not answer (nothing was kept; implies not ``ok``)."""
        return self.failure is Failure.UNAVAILABLE

    @property
    def texts(self) -> list[str]:
        return [as_text(e) for e in self.effects if isinstance(e, Say)]


def kept(reply: Reply) -> Reply:
    """``reply``, or :class:`~botkit.errors.StorageError` when the store did not answer and
    nothing of the turn was kept (for callers that answer "try again" on that: the agent API,
    the helpdesk). A turn that failed otherwise is returned: its error message is the answer."""
    if reply.unavailable:
        raise StorageError("the store did not answer; nothing of the turn was kept")
    return reply
