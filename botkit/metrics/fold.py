"""Records in, conversations out: the one pass over a period's records that every figure
starts from. What each conversation did is gathered here; what it means is counted elsewhere
(:mod:`botkit.metrics.ends`, :mod:`botkit.metrics.compute`, :mod:`botkit.metrics.money`).

A conversation's ``last_at`` is its last *activity*: the time of its last record, except the
records that say nothing happened in it then. An ``abandoned`` end is written when botkit
learns the conversation ended; records kept before issue 18 carry the time the user came back
(days later, maybe), newer ones the last activity, so it never moves ``last_at`` either way.
A ``link_clicked`` is a look at a web page, and an ``agent_note`` is never seen by the user:
neither keeps a conversation alive (the engine's inactivity timeout does not restart on them).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botkit.records import Record, RecordKind, ReportRow

__all__ = ["Conversation", "PromotionTrace", "conversations_of"]

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
_LOCALE_CHANGED = RecordKind.LOCALE_CHANGED.value
_HANDOFF_CLAIMED = RecordKind.HANDOFF_CLAIMED.value
_HANDOFF_RELEASED = RecordKind.HANDOFF_RELEASED.value
_HANDOFF_CLOSED = RecordKind.HANDOFF_CLOSED.value
_HANDOFF_TIMEOUT = RecordKind.HANDOFF_TIMEOUT.value
_HANDOFF_LEFT = RecordKind.HANDOFF_LEFT.value
_NOT_ACTIVITY = frozenset({RecordKind.LINK_CLICKED.value, RecordKind.AGENT_NOTE.value})


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
    slots_filled: Counter[str] = field(default_factory=Counter)
    slots_rejected: Counter[str] = field(default_factory=Counter)
    promotions: dict[str, PromotionTrace] = field(default_factory=dict)
    segment: dict[str, Any] = field(default_factory=dict)  # the profile when it began
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


def conversations_of(records: Iterable[Record | ReportRow]) -> list[Conversation]:
    """Fold records (any order) into conversations, each in the order its records happened."""
    grouped: dict[tuple[str, int], list[Record | ReportRow]] = {}
    for r in records:
        if r.conversation:  # 0: records of no conversation (nothing the metrics count)
            grouped.setdefault((r.session, r.conversation), []).append(r)
    out = []
    by_seq = operator.itemgetter(3)  # seq, in Record and ReportRow: a C-level sort key
    for (session, number), own in grouped.items():
        own.sort(key=by_seq)
        first = own[0]
        c = Conversation(session, number, first.channel, first.user, first.at, first.at)
        for r in own:
            if r.at > c.last_at and _is_activity(r):
                c.last_at = r.at
            _fold(c, r)
        out.append(c)
    return out


def _is_activity(r: Record | ReportRow) -> bool:
    """Whether ``r`` says something happened in the conversation at its time (the module's
    docstring says which records do not)."""
    if r.kind in _NOT_ACTIVITY:
        return False
    return not (r.kind == _CONVERSATION_END and (r.data or {}).get("outcome") == "abandoned")


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
        c.locale = str(data.get("locale") or c.locale)
        c.version = str(data.get("version") or "")
    elif kind == _MESSAGE_IN:
        c.messages += 1
        for trace in c.promotions.values():
            trace.engaged = True
    elif kind == _TRANSITION:
        trigger = str(data.get("trigger", ""))
        if c.promotions and trigger.startswith(("choice: ", "payload: ")):
            pressed = trigger.partition(": ")[2]
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
        c.slots_filled[slot] += 1
        c.filled_at[slot] = r.at
    elif kind == _SLOT_REJECTED:
        c.slots_rejected[str(data.get("slot"))] += 1
    elif kind == _CONVERSATION_END:
        c.outcome = str(data.get("outcome"))
    elif kind == _LOCALE_CHANGED:
        c.locale = str(data.get("locale") or c.locale)
