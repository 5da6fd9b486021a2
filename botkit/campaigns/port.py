"""The port a store keeps campaign sends behind: the durable scheduler's table.

Every candidate a plan decides about becomes one :class:`Send`, keyed by its idempotency key
(campaign, run, member): inserted once, whatever crashes or how many workers plan at once, so a
member is decided about, and sent, at most once per campaign run. A send then moves on as the
sender works:

    planned → claimed → sent → delivered          (the provider said it reached the user)
                      ↘ failed (retried at next_try) → … → parked (kept failing: reason)
    planned → expired      (not sent before ``expires``)
    planned → withdrawn    (advertising whose consent was withdrawn before it left)

and the decisions that send nothing are kept as final rows too, so reports count them:
``held_out`` (the control group), ``excluded`` (``reason``: the rule), ``no_consent``,
``capped``, ``unreachable`` (no channel the campaign uses).

A claim is a lease: a sender killed while holding one loses it at ``lease_until``, and the
next claim takes the send again (with the same key, which the providers deduplicate on).
Every method raises only :class:`~botkit.errors.StorageError`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = ["ACTIVE", "DECIDED_NOT_TO_SEND", "Send", "SendStatus", "Sends"]


class SendStatus(StrEnum):
    PLANNED = "planned"
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    PARKED = "parked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    HELD_OUT = "held_out"
    EXCLUDED = "excluded"
    NO_CONSENT = "no_consent"
    CAPPED = "capped"
    UNREACHABLE = "unreachable"


# Sends that count toward caps: on their way or gone.
ACTIVE = frozenset(
    {
        SendStatus.PLANNED,
        SendStatus.CLAIMED,
        SendStatus.SENT,
        SendStatus.DELIVERED,
        SendStatus.FAILED,
    }
)
DECIDED_NOT_TO_SEND = frozenset(
    {
        SendStatus.HELD_OUT,
        SendStatus.EXCLUDED,
        SendStatus.NO_CONSENT,
        SendStatus.CAPPED,
        SendStatus.UNREACHABLE,
    }
)


@dataclass(frozen=True, slots=True)
class Send:
    key: str  # idempotency key: sha256 of campaign, run and member (hex, 32 chars)
    campaign: str
    run: str  # "" for event and segment triggers (once per member); the run's date for schedules
    member: str  # a customer id or "user:<user>"
    status: str  # a SendStatus value
    planned_at: float  # when the plan decided
    due: float  # not sent before (later than planned_at when the quiet window deferred it)
    expires: float  # not sent after: then it is expired
    variant: str | None = None  # None for the held out and the decisions not to send
    channel: str | None = None  # kakao | web | webhook
    user: str | None = None  # the channel user it goes to
    reason: str | None = None  # the exclusion rule; why it failed or was parked
    attempts: int = 0
    next_try: float | None = None  # a failed send is claimed again from then
    claimed_by: str | None = None
    lease_until: float | None = None
    sent_at: float | None = None  # handed to the provider
    delivered_at: float | None = None  # the provider (or the channel) said it arrived
    provider_id: str | None = None  # Kakao's task id, the dealer's message id
    cost: float = 0.0


@runtime_checkable
class Sends(Protocol):
    async def plan_sends(self, sends: Sequence[Send]) -> int:
        """Insert each send whose key is new; a key already kept is left as it is (another
        planner, or this one before a crash, decided first). Returns how many were new."""

    async def decided(self, campaign: str, run: str, members: Collection[str]) -> set[str]:
        """Which of ``members`` already have a send of ``campaign``'s ``run``."""

    async def claim_sends(self, worker: str, at: float, *, lease: float, limit: int) -> list[Send]:
        """Take up to ``limit`` sends that may go at ``at`` for ``worker`` until ``at + lease``:
        planned with ``due <= at``, failed with ``next_try <= at``, or claimed with a lease
        that ran out; by due time, then key. Two workers never hold the same send (PostgreSQL:
        ``FOR UPDATE SKIP LOCKED``; SQLite: one writer). Expiry is the sender's to judge."""

    async def finish_send(
        self,
        key: str,
        status: str,
        at: float,
        *,
        worker: str | None = None,
        reason: str | None = None,
        provider_id: str | None = None,
        cost: float = 0.0,
        next_try: float | None = None,
    ) -> bool:
        """Move a send on: ``sent`` (``sent_at = at``, provider_id, cost), ``failed``
        (attempts + 1, ``next_try``, reason), ``parked``, ``expired``, ``withdrawn`` (reason)
        from ``claimed`` held by ``worker``; ``delivered`` (``delivered_at = at``) from
        ``sent``. False, changing nothing, when the send is not in a state it can leave that
        way (another worker's lease, delivered twice): the caller lost a race and stops."""

    async def sends(
        self,
        *,
        campaign: str | None = None,
        member: str | None = None,
        statuses: Collection[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Send]:
        """Sends matching every filter given, ``since <= planned_at < until``, by planned_at
        then key."""

    async def send_by_key(self, key: str) -> Send | None: ...

    async def known_sessions(self, keys: Collection[str]) -> set[str]:
        """Which of the session keys (``"<channel>:<user>"``) the store has a session for:
        whom the bot has talked with on that channel, and so may write to first."""

    async def cursor(self, name: str) -> float | None:
        """A planner's bookmark (the instant it last planned ``name`` up to), None if new."""

    async def set_cursor(self, name: str, at: float) -> None: ...

    async def take_turn(self, name: str, at: float, until: float) -> bool:
        """Take the turn named ``name`` until ``until``, if nobody holds it at ``at`` (its
        cursor is unset or not after ``at``): atomic, so of workers asking at once one gets
        it. What lets one planner at a time read the caps' history and write its decisions.
        ``set_cursor(name, at)`` gives it back early."""
