"""Records in, conversations out: the one pass over a period's records that every figure
starts from. What each conversation did is gathered here; what it means is counted elsewhere
(:mod:`botkit.metrics.ends`, :mod:`botkit.metrics.compute`, :mod:`botkit.metrics.money`).

A conversation's ``last_at`` is its last *activity*: the time of its last record, except the
records that say nothing happened in it then. A ``conversation_end`` is written when botkit
learns the conversation ended: an ``abandoned`` one kept before issue 18 carries the time the
user came back (days later, maybe), and an operator's ``reset`` the time of the reset, whatever
the user last did; an end in a turn has the time of that turn's other records. So no end moves
``last_at``.
A ``link_clicked`` is a look at a web page, and an ``agent_note`` is never seen by the user:
neither keeps a conversation alive (the engine's inactivity timeout does not restart on them).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botkit.records import Record, RecordKind, ReportRow

__all__ = [
    "Conversation",
    "Key",
    "PromotionTrace",
    "by_conversation",
    "conversations_of",
    "fold_groups",
]

# The kinds `_fold` tells apart, bound once as plain strings: `_fold` runs once per record, a
# million times for a month's report. On Python 3.11 a chain of `kind == RecordKind.X` tests is
# ~8 times slower than one of literals (each read is an enum class lookup), and comparing with a
# bound member still ~1.6 times (a str subclass misses the interpreter's str == str fast path);
# a module-level plain str costs about what a literal does.
_CONVERSATION_START = RecordKind.CONVERSATION_START.value
_MESSAGE_IN = RecordKind.MESSAGE_IN.value
_TRANSITION = RecordKind.TRANSITION.value
_PROMOTION = RecordKind.PROMOTION.value
_FALLBACK = RecordKind.FALLBACK.value
_HANDOFF_REQUESTED = RecordKind.HANDOFF_REQUESTED.value
_HANDOFF_QUEUED = RecordKind.HANDOFF_QUEUED.value
_GOAL = RecordKind.GOAL.value
_EXPERIMENT = RecordKind.EXPERIMENT.value
_SLOT_FILLED = RecordKind.SLOT_FILLED.value
_SLOT_REJECTED = RecordKind.SLOT_REJECTED.value
_CONVERSATION_END = RecordKind.CONVERSATION_END.value
_MESSAGE_OUT = RecordKind.MESSAGE_OUT.value
_LOCALE_CHANGED = RecordKind.LOCALE_CHANGED.value
_HANDOFF_CLAIMED = RecordKind.HANDOFF_CLAIMED.value
_HANDOFF_RELEASED = RecordKind.HANDOFF_RELEASED.value
_HANDOFF_CLOSED = RecordKind.HANDOFF_CLOSED.value
_HANDOFF_TIMEOUT = RecordKind.HANDOFF_TIMEOUT.value
_HANDOFF_LEFT = RecordKind.HANDOFF_LEFT.value
_NOT_ACTIVITY = frozenset(
    {RecordKind.LINK_CLICKED.value, RecordKind.AGENT_NOTE.value, _CONVERSATION_END}
)


@dataclass(slots=True)
class Conversation:
    """What one conversation did, gathered from its records."""

    session: str
    number: int
    channel: str
    user: str
    started_at: float
    last_at: float
    start_flow: str = ""
    outcome: str | None = None  # of its conversation_end, if it ended
    messages: int = 0  # message_in
    fallbacks: int = 0
    handoff_reasons: list[str] = field(default_factory=list)
    queued: bool = False  # a person was asked to take it (handoff_queued)
    goals: set[str] = field(default_factory=set)
    states: list[str] = field(default_factory=list)  # "flow.state" entered, in order
    variants: dict[str, str] = field(default_factory=dict)  # experiment → variant
    # slot → answers: plain dicts, as a Counter costs ~7 µs to make, twice per conversation
    slots_filled: dict[str, int] = field(default_factory=dict)
    slots_rejected: dict[str, int] = field(default_factory=dict)
    promotions: dict[str, PromotionTrace] = field(default_factory=dict)
    segment: dict[str, Any] = field(default_factory=dict)  # the profile when it began
    # the bot's named segments the user was in when it began (None: not looked up then)
    segments: tuple[str, ...] | None = None
    locale: str = ""  # the language it was last in ("" when recorded before botkit kept it)
    version: str = ""  # the bot version it started on ("" when recorded before versions)
    has_start: bool = False  # its conversation_start is among the records read
    # Each request for a person: (cause, trigger), as handoff_requested records them; "" for
    # what records kept before issue 18 do not say.
    handoff_causes: list[tuple[str, str]] = field(default_factory=list)
    after_hours: bool = False  # a person was asked for when nobody was there (open: false)
    claimed: bool = False  # an agent took it (handoff_claimed)
    with_agent: bool = False  # an agent holds it now (claimed, not released or closed since)
    agent_closed: bool = False  # an agent closed it (handoff_closed)
    timed_out: bool = False  # nobody took a handoff in time (handoff_timeout)
    left_queue: bool = False  # the user left the queue before an agent came (handoff_left)
    exposed_at: dict[str, float] = field(default_factory=dict)  # experiment → first record
    goal_at: dict[str, float] = field(default_factory=dict)  # goal → when first reached
    entered_at: float = 0.0  # when it entered its last state (its last transition)
    filled_at: dict[str, float] = field(default_factory=dict)  # slot → when last filled


@dataclass(slots=True)
class PromotionTrace:
    """One conversation's dealings with one promotion (see definitions: promotion funnel)."""

    state: str | None  # the state that showed it
    at: float = 0.0  # when it was first shown in the conversation
    engaged: bool = False  # the user wrote after seeing it
    # What the user pressed on the state that showed it, each as the payload ("get_coupon") or
    # the state a choice leads to ("promotion.book_visit"): money.py counts a click only when
    # one of them is the promotion's declared offer.
    presses: list[str] = field(default_factory=list)


Row = Record | ReportRow
Key = tuple[str, int]  # (session, conversation number): one conversation


def by_conversation(records: Iterable[Row]) -> dict[Key, list[Row]]:
    """Records (any order) by conversation, each conversation's in the order they happened.
    A report groups once and reads the groups twice: here, and for engagement."""
    grouped: dict[Key, list[Row]] = {}
    for r in records:
        if r.conversation:  # 0: records of no conversation (nothing the metrics count)
            grouped.setdefault((r.session, r.conversation), []).append(r)
    by_seq = operator.itemgetter(3)  # seq, in Record and ReportRow: a C-level sort key
    for own in grouped.values():
        own.sort(key=by_seq)
    return grouped


def conversations_of(records: Iterable[Row]) -> list[Conversation]:
    """Fold records (any order) into conversations, each in the order its records happened."""
    return fold_groups(by_conversation(records))


def fold_groups(grouped: dict[Key, list[Row]]) -> list[Conversation]:
    """The conversations of records grouped by :func:`by_conversation`."""
    out = []
    quiet = _NOT_ACTIVITY  # the module's docstring says which records are no activity
    said = _MESSAGE_OUT
    for (session, number), own in grouped.items():
        first = own[0]
        c = Conversation(session, number, first.channel, first.user, first.at, first.at)
        for r in own:
            kind = r.kind
            if r.at > c.last_at and kind not in quiet:
                c.last_at = r.at
            if kind != said:  # what the bot said only moves last_at (a fifth of all records)
                _fold(c, r)
        out.append(c)
    return out


def _pressed(trigger: str) -> str | None:
    """The payload or target a press set off, from a transition's trigger label: "choice:
    promotion.book_visit", "payload: get_coupon", and the same with "global " before it or
    " if <condition>" after it (flow/_states.py writes labels so). None: not a press."""
    trigger = trigger.removeprefix("global ")
    if not trigger.startswith(("choice: ", "payload: ")):
        return None
    return trigger.partition(": ")[2].partition(" if ")[0]


def _fold(c: Conversation, r: Record | ReportRow) -> None:
    data: dict[str, Any] = r.data or {}
    kind = r.kind
    if kind == _CONVERSATION_START:
        c.start_flow = str(data.get("flow", r.flow))
        c.started_at = r.at
        c.has_start = True
        segment = data.get("segment")
        if isinstance(segment, dict):
            c.segment = segment
        named = data.get("segments")
        if isinstance(named, list):
            c.segments = tuple(str(n) for n in named)
        c.locale = str(data.get("locale") or c.locale)
        c.version = str(data.get("version") or "")
    elif kind == _MESSAGE_IN:
        c.messages += 1  # a store's report row does not carry the words (REPORT_BLANKS)
        for trace in c.promotions.values():
            trace.engaged = True
    elif kind == _TRANSITION:
        trigger = str(data.get("trigger", ""))
        pressed = _pressed(trigger) if c.promotions else None
        if pressed is not None:
            for trace in c.promotions.values():
                if data.get("from") == trace.state:
                    trace.presses.append(pressed)
        c.states.append(str(data.get("to")))
        c.entered_at = r.at
    elif kind == _PROMOTION:
        name = str(data.get("promotion"))
        if name not in c.promotions:
            c.promotions[name] = PromotionTrace(c.states[-1] if c.states else None, r.at)
    elif kind == _FALLBACK:
        c.fallbacks += 1
    elif kind == _HANDOFF_REQUESTED:
        c.handoff_reasons.append(str(data.get("reason", "")))
        c.handoff_causes.append((str(data.get("cause") or ""), str(data.get("trigger") or "")))
        if data.get("open") is False:
            c.after_hours = True
    elif kind == _HANDOFF_QUEUED:
        c.queued = True
    elif kind == _HANDOFF_CLAIMED:
        c.claimed = c.with_agent = True
    elif kind == _HANDOFF_RELEASED:
        c.with_agent = False
    elif kind == _HANDOFF_CLOSED:
        c.agent_closed = True
        c.with_agent = False
    elif kind == _HANDOFF_TIMEOUT:
        c.timed_out = True
    elif kind == _HANDOFF_LEFT:
        c.left_queue = True
    elif kind == _GOAL:
        goal = str(data.get("goal"))
        c.goals.add(goal)
        c.goal_at.setdefault(goal, r.at)
    elif kind == _EXPERIMENT:
        experiment = str(data.get("experiment"))
        c.variants[experiment] = str(data.get("variant"))
        c.exposed_at.setdefault(experiment, r.at)
    elif kind == _SLOT_FILLED:
        slot = str(data.get("slot"))
        c.slots_filled[slot] = c.slots_filled.get(slot, 0) + 1
        c.filled_at[slot] = r.at
    elif kind == _SLOT_REJECTED:
        slot = str(data.get("slot"))
        c.slots_rejected[slot] = c.slots_rejected.get(slot, 0) + 1
    elif kind == _CONVERSATION_END:
        c.outcome = str(data.get("outcome"))
    elif kind == _LOCALE_CHANGED:
        c.locale = str(data.get("locale") or c.locale)
