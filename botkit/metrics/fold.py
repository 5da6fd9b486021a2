"""Records in, conversations out: the one pass over a period's records that every figure
starts from. What each conversation did is gathered here; what it means is counted elsewhere
(:mod:`botkit.metrics.compute`, :mod:`botkit.metrics.money`)."""

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


@dataclass(slots=True)
class PromotionTrace:
    """One conversation's dealings with one promotion (see definitions: promotion funnel)."""

    state: str | None  # the state that showed it
    engaged: bool = False  # the user wrote after seeing it
    clicked: bool = False  # the user pressed one of its choices or buttons


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
            if r.at > c.last_at:
                c.last_at = r.at
            _fold(c, r)
        out.append(c)
    return out


def _fold(c: Conversation, r: Record | ReportRow) -> None:
    data: dict[str, Any] = r.data or {}
    kind = r.kind
    if kind == _CONVERSATION_START:
        c.start_flow = str(data.get("flow", r.flow))
        c.started_at = r.at
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
        for trace in c.promotions.values():
            if data.get("from") == trace.state and trigger.startswith(("choice:", "payload:")):
                trace.clicked = True
        c.states.append(str(data.get("to")))
    elif kind == _PROMOTION:
        name = str(data.get("promotion"))
        c.promotions.setdefault(name, PromotionTrace(c.states[-1] if c.states else None))
    elif kind == _FALLBACK:
        c.fallbacks += 1
    elif kind == _HANDOFF_REQUESTED:
        c.handoff_reasons.append(str(data.get("reason", "")))
    elif kind == _HANDOFF_QUEUED:
        c.queued = True
    elif kind == _GOAL:
        c.goals.add(str(data.get("goal")))
    elif kind == _EXPERIMENT:
        c.variants[str(data.get("experiment"))] = str(data.get("variant"))
    elif kind == _SLOT_FILLED:
        c.slots_filled[str(data.get("slot"))] += 1
    elif kind == _SLOT_REJECTED:
        c.slots_rejected[str(data.get("slot"))] += 1
    elif kind == _CONVERSATION_END:
        c.outcome = str(data.get("outcome"))
    elif kind == _LOCALE_CHANGED:
        c.locale = str(data.get("locale") or c.locale)
