"""The storage contract every backend implements, and the JSON codec they share.

A store keeps two things: the latest snapshot of each session (compare-and-set on ``version``)
and the append-only log of records. A turn writes both in one transaction (``commit``), so a
report never sees a state change without its records or records without their state.

Backends raise only :class:`~botkit.errors.StorageError` (and its subclass
:class:`~botkit.errors.ConflictError`); no exception type of a driver ever reaches the runtime.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from botkit.engine.session import Session, Status
from botkit.errors import StorageError
from botkit.records import BusinessEvent, Record, ReportRow

__all__ = [
    "HANDED_OFF",
    "BotVersion",
    "Broadcast",
    "HandedOff",
    "LiveState",
    "SharedStore",
    "Store",
]

HANDED_OFF = (Status.HANDOFF_REQUESTED, Status.WITH_AGENT)  # waiting for a person, or with one


@dataclass(frozen=True, slots=True)
class HandedOff:
    """A conversation in the handoff queue: its session as it is now, and the ``reason`` of
    its latest ``handoff_requested`` record (None when that record names none)."""

    session: Session
    reason: str | None


@dataclass(frozen=True, slots=True)
class BotVersion:
    """A version of the bot as the store keeps it: its content hash (``Bot.version``), the
    flow files it was compiled from (name → YAML text, what ``compile_texts`` reads), when it
    last went live, and when another version replaced it (None: it is the live one)."""

    version: str
    sources: Mapping[str, str]
    live_at: float
    replaced_at: float | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    """How many sessions in a conversation (status not closed) stand at ``state`` of bot
    ``version``: what a deploy that removes the state would strand."""

    version: str
    state: str
    sessions: int


@runtime_checkable
class Store(Protocol):
    """Where sessions and records live. All methods are coroutines; one store per process.

    ``open`` must be awaited before use and ``close`` at shutdown. Every method other than
    ``ping`` raises :class:`StorageError` on any backend failure (including use before
    ``open`` or after ``close``).
    """

    async def open(self) -> None:
        """Connect and create or migrate the schema. Calling it again is a no-op."""

    async def close(self) -> None:
        """Finish commits already submitted, then release every connection. Idempotent."""

    async def load(self, key: str) -> Session | None:
        """The stored session (``version`` = stored version), a fresh copy on each call."""

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        """In one transaction: store ``session`` as version ``expected_version + 1`` if the
        stored version is ``expected_version`` (0: must not exist yet), and append ``records``.

        Returns the new version; ``session`` itself is not modified. Raises
        :class:`ConflictError` on a version mismatch and :class:`StorageError` on any other
        failure (a duplicate ``(session, seq)`` among them); either way nothing is written.
        """

    async def records(
        self,
        *,
        session: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Records matching every given filter, ``since <= at < until``.

        Ordered by ``(session, seq)`` when ``session`` is given, else by ``(at, session, seq)``.
        """

    async def ping(self) -> bool:
        """Whether the store answers right now (readiness). Never raises."""

    async def count_records(self) -> int:
        """How many records are stored."""

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        """The records with ``since <= at < until`` as reports read them, in no set order:
        without ``message_out`` records and without the data of ``message_in`` records (what
        was said is not counted)."""

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        """Keep business events; one already kept (same ``id``) is skipped. Returns how many
        were new. All or nothing: an event that cannot be stored fails the whole call."""

    async def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        user: str | None = None,
        customer: str | None = None,
    ) -> list[BusinessEvent]:
        """Business events with ``since <= at < until`` (of ``user``; naming ``customer``), by
        time then id."""

    async def handoffs(self, *, since: float) -> list[HandedOff]:
        """The handoff queue, in ONE query: every session whose status is in
        :data:`HANDED_OFF` and that has a ``handoff_requested`` record with ``at >= since``,
        with the reason of the latest such record (by ``(at, seq)``). Ordered by each
        session's first such record: by its ``at``, then by session key."""

    async def add_version(self, version: str, sources: Mapping[str, str], at: float) -> None:
        """Make ``version`` the live one from ``at``, in one transaction: kept with its
        ``sources`` when new (a version already kept keeps the sources it has), its
        ``live_at`` set to ``at`` and its ``replaced_at`` cleared (a rollback makes an old
        version live again); every other version without a ``replaced_at`` gets ``at``."""

    async def versions(self) -> list[BotVersion]:
        """Every kept version, the live one first, then by ``live_at``, newest first."""

    async def live_states(self, *, since: float) -> list[LiveState]:
        """Sessions in a conversation (``conversation > 0``, status not ``closed``) whose
        ``last_at >= since``, counted per ``(bot_version, state)``, ordered by both."""


@runtime_checkable
class SharedStore(Store, Protocol):
    """A store that several processes (workers) use at once, so turns of one user must take
    turns across processes too, not only inside one: ``lock`` serializes them."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key``'s lock in every process for the ``async with`` block, first come first
        served. Raises StorageError when the lock cannot be had; leaving the block never
        raises (a committed turn stands: a lock the store cannot release, it must lose)."""


@runtime_checkable
class Broadcast(Protocol):
    """A store that passes small messages to every process using it: how one worker reaches a
    user whose socket another worker holds."""

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` (JSON, a few KB at most) to every subscriber of ``topic``, this
        process's included. Raises StorageError when it cannot be sent."""

    async def subscribe(
        self, topic: str, receive: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        """Call ``receive`` with every message published on ``topic`` from now until
        ``close``. Returns once listening; keeps listening across reconnections. Messages
        published while disconnected are not received: after a reconnection ``receive`` is
        called with ``{}``, so that a subscriber that keeps state can catch up from the store."""


# --- the JSON codec every backend uses, so all of them round-trip exactly the same values ---
#
# NaN and infinities are refused (``allow_nan=False``): JSON has no such numbers, and a
# snapshot that one backend accepts and another rejects would make backends disagree.


def dump_json(value: Any) -> str:
    """Compact JSON, Hangul kept as is; a value JSON cannot hold raises StorageError."""
    try:
        # orjson: a turn writes a snapshot and several records, and stdlib json was a fifth of
        # the whole turn's time; orjson is UTF-8 native (Hangul kept) and ~5x faster.
        out = orjson.dumps(value)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"value cannot be stored as JSON: {exc}") from exc
    # orjson writes NaN and infinity as null, which would silently change a value; refuse them
    # as stdlib json does (only output that has a null needs the look).
    if b"null" in out and _has_non_finite(value):
        raise StorageError("value cannot be stored as JSON: NaN or infinity")
    return out.decode("utf-8")


def _has_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity hides in ``value``, however deeply nested (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if item - item != 0:  # nan - nan and inf - inf are nan; finite - itself is 0
                return True
        elif kind is dict:
            stack.extend(v for v in item.values() if type(v) is not str)
        elif kind is list or kind is tuple:
            stack.extend(item)
    return False


# The only fields of a Session that hold values from outside (users, actions, profiles); the
# others are botkit's own strings, counters and clock readings.
_FREE_FORM = ("slots", "profile", "pending")


def encode_session(session: Session, version: int) -> str:
    """The stored text of ``session`` at ``version`` (the caller's object is left as it was)."""
    for name in _FREE_FORM:
        if _has_non_finite(getattr(session, name)):
            raise StorageError("value cannot be stored as JSON: NaN or infinity")
    was = session.version
    session.version = version
    try:
        # orjson writes a slotted dataclass natively, without an intermediate dict.
        out = orjson.dumps(session)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"value cannot be stored as JSON: {exc}") from exc
    finally:
        session.version = was
    return out.decode("utf-8")


def decode_session(data: str, version: int) -> Session:
    """A new Session from stored text; ``version`` (the stored column) wins over the text."""
    fields = json.loads(data)
    fields["version"] = version
    return Session.from_dict(fields)


def check_records(records: Sequence[Record]) -> None:
    """Reject a commit whose own records repeat a ``(session, seq)``, before anything runs."""
    seen: set[tuple[str, int]] = set()
    for record in records:
        pair = (record.session, record.seq)
        if pair in seen:
            raise StorageError(
                f"duplicate record (session {record.session!r}, seq {record.seq}) in one commit"
            )
        seen.add(pair)


def check_events(events: Sequence[BusinessEvent]) -> list[BusinessEvent]:
    """Events as they will be stored; the first problem found raises StorageError."""
    out = []
    for event in events:
        if not event.id or not event.kind or not (event.user or event.customer):
            raise StorageError("a business event needs an id, a kind and a user or a customer")
        if not isinstance(event.user, str) or not isinstance(event.customer, str | None):
            raise StorageError(f"event {event.id!r}: user and customer must be text")
        if not math.isfinite(event.at) or (
            event.amount is not None and not math.isfinite(event.amount)
        ):
            raise StorageError(f"event {event.id!r}: time and amount must be finite numbers")
        if event.data is not None:
            dump_json(event.data)  # raises StorageError for what JSON cannot hold
        out.append(event)
    return out


REPORT_BLANKS = frozenset({"message_in"})  # records counted, whose data no metric reads
# What the bot said is read only for the web links it showed (link click-through); its words
# are not. A store keeps a ``message_out``'s data in a report row when its JSON (as dump_json
# writes it) holds a link button or a list (whose items may link), and blanks it otherwise (SQL:
# ``data LIKE '%<mark>%'``), so a month's report does not decode every bubble the bot said.
# Images carry a "url" too, hence marks more precise than that key.
REPORT_SAID = "message_out"
LINK_MARKS = ('"kind":"url"', '"items":')


def report_row(record: Record) -> ReportRow:
    data = record.data
    if record.kind in REPORT_BLANKS or (
        record.kind == REPORT_SAID and not (data and shows_link(dump_json(data)))
    ):
        data = None
    return ReportRow(
        record.kind, record.session, record.conversation, record.seq, record.at, record.user,
        record.channel, record.flow, data,
    )  # fmt: skip


def handoff_reason(data: dict[str, Any] | None) -> str | None:
    """The reason a ``handoff_requested`` record's data gives (None when it gives none)."""
    reason: str | None = (data or {}).get("reason")
    return reason


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")


def shows_link(data_json: str) -> bool:
    """Whether a ``message_out``'s data, as stored, may show a web link (see LINK_MARKS)."""
    return any(mark in data_json for mark in LINK_MARKS)
