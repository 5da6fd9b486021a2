"""The port the campaign sender hands messages to a provider through, and what it hears back.

A provider takes a batch of :class:`Outgoing` messages (up to its ``max_batch``) and answers one
:class:`Outcome` for each, in the same order, without raising: whatever goes wrong on the way
(a refused connection, a timeout, a 5xx, an answer it cannot read) is an outcome too, so that
the sender loop has one decision to make per message:

* ``sent``: the provider took it (Kakao: the task was accepted, which is not yet delivery);
* ``failed``: try again later (connection refused, timeout, 408, 429, 5xx), after
  ``retry_after`` seconds when the provider said so;
* ``parked``: never try again (a 4xx that is not 408 or 429, a user the provider cannot
  address), with a short ``reason`` that names no person.

Every message carries its send's idempotency key. A provider passes it on so that the far end
can drop a message it was given before (the sender may resend after a crash, or after a timeout
whose request had in fact arrived): the webhook as its ``Idempotency-Key`` header, Kakao (which
has no such header) inside the event's data, where botkit's skill endpoint drops a second copy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "FAILED",
    "PARKED",
    "SENT",
    "Outcome",
    "OutcomeStatus",
    "Outgoing",
    "Provider",
    "retry_after_s",
    "status_outcome",
]

OutcomeStatus = Literal["sent", "failed", "parked"]
SENT: OutcomeStatus = "sent"
FAILED: OutcomeStatus = "failed"
PARKED: OutcomeStatus = "parked"
# The longest wait a Retry-After may ask for; a larger one (or a broken one) is capped, so a
# provider that answers "come back next year" cannot hold a send past its expiry unnoticed.
MAX_RETRY_AFTER_S = 3600.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for one user, as the sender hands it over."""

    key: str  # the send's idempotency key (botkit.campaigns.port.Send.key)
    campaign: str
    variant: str
    user: str  # the channel user as botkit names it: Kakao "<botId>:<botUserKey>", a web
    # visitor id, for the webhook the customer id or member
    says: tuple[dict[str, Any], ...] = ()  # rendered bubbles (botkit.effects.say_to_data)
    advertising: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one :class:`Outgoing`."""

    key: str
    status: OutcomeStatus
    provider_id: str | None = None  # the Kakao task (see kakao_event.task_of), a dealer's id
    reason: str | None = None  # short, no personal data
    cost: float = 0.0  # what the message costs (Kakao: per message accepted)
    retry_after: float | None = None  # seconds, from Retry-After on a 429 or 503


@runtime_checkable
class Provider(Protocol):
    """Where the sender hands messages: the Kakao Event API, a dealer's webhook."""

    name: str  # "kakao" | "webhook"
    max_batch: int  # the most messages one send() call takes (Kakao 100, webhook 1 or more)

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """One :class:`Outcome` per message of ``batch``, in the same order; never raises."""
        ...

    async def results(self, provider_ids: Collection[str]) -> dict[str, str]:
        """What became of messages sent earlier, by the ``provider_id`` of their outcomes:
        send key → ``delivered`` or ``failed``, for those whose fate is known now (a message
        still on its way, or whose task cannot be read right now, is left out: ask again
        later). A provider that reports no delivery (the webhook) answers ``{}``."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client the provider opened itself (not one it was given)."""
        ...


def retry_after_s(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header, None when absent or not a number of seconds.

    The HTTP-date form is not read: it needs the wall clock, and the sender's own backoff is a
    fine answer to a provider that uses it."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def status_outcome(key: str, status: int, retry_after: str | None, reason: str) -> Outcome:
    """The outcome of an HTTP answer that is not a success: 408, 429 and 5xx are worth another
    try (the server was busy, or slow, or broken for now), anything else will be refused again
    (a bad key, a bad request, a user the provider does not know)."""
    if status in (408, 429) or status >= 500:
        return Outcome(key, FAILED, reason=reason, retry_after=retry_after_s(retry_after))
    return Outcome(key, PARKED, reason=reason)
