"""Which of the bot's segments a user is in, looked up when their conversation starts: what a
flow reads as ``segment.<name>`` and what ``conversation_start`` records for the reports.

The engine is sans-IO, so the runtime reads the member's own data from the store first (their
links, profile and consent, their business events and their conversations' records on every
channel, back as far as the longest window asks) and the segment evaluator answers from it
(:func:`botkit.segments.evaluate.is_member`), the same meaning as ``botkit segments``. Only a
message that starts a conversation pays for it, and only on a bot that declares segments.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botkit.audience import Audience, Consent, member_of
from botkit.engine.session import Session, will_start
from botkit.errors import StorageError
from botkit.flow import Bot
from botkit.records import BusinessEvent, Record
from botkit.segments.evaluate import is_member
from botkit.segments.model import (
    Behaviour,
    ConsentIs,
    GoalReached,
    Segment,
    VariantOf,
    Window,
)
from botkit.storage import Store

__all__ = ["CHANNELS", "look_up", "memberships"]

log = logging.getLogger("botkit.runtime")

# The channels whose sessions a linked customer's records may sit in (a session is keyed
# "<channel>:<user>"); the records of every one of them count, so that a goal reached on the
# widget counts when the customer next writes on KakaoTalk. The runtime adds every channel it
# has had a message on; records are read by session, which the store indexes (by user it does
# not: an index written on every turn for a lookup made once a conversation).
CHANNELS = ("kakao", "web", "console")


@dataclass(frozen=True, slots=True)
class _Member:
    """One member's data, in the shape the evaluator reads (``AudienceData``)."""

    customers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)
    consents: Mapping[str, Consent] = field(default_factory=dict)
    events: Sequence[BusinessEvent] = ()
    records: Sequence[Record] = ()


async def look_up(
    store: Store, bot: Bot, session: Session, at: float, channels: Iterable[str] = CHANNELS
) -> None:
    """Before a user's message at ``at``: when it starts a conversation, set the segments the
    user is in (``Session.segments``), once for the whole conversation."""
    if bot.segments and will_start(session, at, bot.inactivity_timeout):
        # a user no customer is linked to has records only in this session (a user id is one
        # channel's: a Kakao botUserKey, a widget's visitor), and none before its first talk
        own = (session.key,) if session.conversation > 0 else ()
        session.segments = await memberships(store, bot, session.user, at, channels, own=own)


async def memberships(
    store: Store,
    bot: Bot,
    user: str,
    at: float,
    channels: Iterable[str] = CHANNELS,
    *,
    own: Sequence[str] | None = None,
) -> list[str] | None:
    """The names of ``bot``'s segments ``user`` is in at ``at``, sorted; None when the bot
    declares none or the store keeps no audience. A store that fails here leaves the
    conversation without segments (logged), rather than failing the user's message.
    ``own``: the sessions that hold the records of ``user`` when no customer is linked to
    them (default: theirs on every channel of ``channels``)."""
    if not bot.segments or not _keeps_audience(type(store)):
        return None
    try:
        member, data = await _data_of(store, bot.segments.values(), user, at, channels, own)
    except StorageError:
        log.exception("looking up the segments of a user failed")
        return None
    return sorted(
        name
        for name, segment in bot.segments.items()
        if is_member(segment, member, at, audience=data)
    )


@dataclass(frozen=True, slots=True)
class _Needs:
    """What the segments read, so that a lookup asks the store for nothing else."""

    since: float | None  # how far back (seconds before the instant); None: all history
    events: bool  # a business event condition
    records: bool  # a goal or a variant condition
    consent: bool


@functools.lru_cache(maxsize=64)
def _keeps_audience(kind: type) -> bool:
    """Whether stores of this class keep the audience (a protocol check is slow: once each)."""
    return issubclass(kind, Audience)


@functools.lru_cache(maxsize=16)  # a bot's segments, worked out once (not on every lookup)
def _needs(segments: tuple[Segment, ...]) -> _Needs:
    nodes = _nodes(s.expr for s in segments)
    kinds = {type(n) for n in nodes}
    back = 0.0
    ever = VariantOf in kinds  # any record of the user in the variant, however old
    for n in nodes:
        if isinstance(n, Window):
            if n.start is None:
                ever = True
            else:
                back = max(back, n.start)
    return _Needs(
        since=None if ever else back + 1.0,
        events=Behaviour in kinds,
        records=bool(kinds & {GoalReached, VariantOf}),
        consent=ConsentIs in kinds,
    )


async def _data_of(
    store: Store,
    segments: Iterable[Segment],
    user: str,
    at: float,
    channels: Iterable[str],
    own: Sequence[str] | None,
) -> tuple[str, _Member]:
    assert isinstance(store, Audience)
    needs = _needs(tuple(segments))
    since = None if needs.since is None else at - needs.since
    customer_id = await store.customer_of(user)
    member = member_of(user, customer_id)
    users: Sequence[str] = (user,)
    customers: dict[str, Mapping[str, Any]] = {}
    if customer_id is not None:
        customer = await store.customer(customer_id)
        if customer is not None:
            users = customer.users or (user,)
            customers[customer_id] = customer.profile
    events: dict[str, BusinessEvent] = {}
    records: list[Record] = []
    for linked in users:
        if needs.events:
            for e in await store.events(user=linked, since=since, until=at + 1):
                events[e.id] = e
        if needs.records:
            sessions = [f"{channel}:{linked}" for channel in channels]
            if customer_id is None and own is not None:
                sessions = list(own)
            for key in sessions:
                records += await store.records(session=key, since=since)
    if needs.events and customer_id is not None:
        for e in await store.events(customer=customer_id, since=since, until=at + 1):
            events[e.id] = e
    consents = {member: Consent(**(await store.consent(member)))} if needs.consent else {}
    identities = dict.fromkeys(users, customer_id) if customer_id is not None else {}
    return member, _Member(
        customers=customers,
        identities=identities,
        consents=consents,
        events=list(events.values()),
        records=records,
    )


def _nodes(trees: Iterable[object]) -> list[object]:
    """Every node of the trees (windows included)."""
    out: list[object] = []
    stack = list(trees)
    while stack:
        node = stack.pop()
        out.append(node)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
        elif isinstance(node, tuple | list):
            stack.extend(node)
    return out
