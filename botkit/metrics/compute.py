"""Records in, metrics out: one pass that folds records into conversations, then counts.

The formulas are in :mod:`botkit.metrics.definitions`; this module only applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from botkit.flow.model import Bot
from botkit.metrics.ab import ExperimentResult, compare
from botkit.metrics.definitions import percentile, rate
from botkit.metrics.feedback import Feedback
from botkit.records import BusinessEvent, Record, RecordKind, ReportRow

__all__ = [
    "Attribution",
    "Conversation",
    "Funnel",
    "Metrics",
    "attribute",
    "conversations_of",
    "measure",
]

DEFAULT_WINDOW_S = 7 * 86_400  # a purchase counts for a conversation up to a week later

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


@dataclass(frozen=True, slots=True)
class Attribution:
    event: BusinessEvent
    conversation: Conversation | None  # None: no conversation of the user within the window


def attribute(
    conversations: Iterable[Conversation],
    events: Iterable[BusinessEvent],
    window_s: float = DEFAULT_WINDOW_S,
) -> list[Attribution]:
    """Last touch: each event goes to the user's latest conversation that started at or before
    it and whose last activity is at most ``window_s`` before it; else to none."""
    by_user: dict[str, list[Conversation]] = {}
    for c in conversations:
        by_user.setdefault(c.user, []).append(c)
    out = []
    for event in events:
        candidates = [
            c
            for c in by_user.get(event.user, ())
            if c.started_at <= event.at and event.at - c.last_at <= window_s
        ]
        latest = max(candidates, key=lambda c: c.started_at, default=None)
        out.append(Attribution(event, latest))
    return out


@dataclass(slots=True)
class PromotionResult:
    """exposed → engaged → clicked → converted, with money (definitions: promotion funnel)."""

    exposed: int
    engaged: int
    clicked: int
    converted: int  # attributed purchases
    revenue: float
    cost: float | None
    roi: float | None  # (revenue − cost) ÷ cost


@dataclass(slots=True)
class Funnel:
    flow: str
    states: list[str]  # "flow.state" in file order
    reached: dict[str, int]
    dropped: dict[str, int]

    def ranking(self) -> list[tuple[str, int]]:
        """States by how many conversations were lost there, most first."""
        return sorted(
            ((s, n) for s, n in self.dropped.items() if n), key=lambda item: (-item[1], item[0])
        )


@dataclass(slots=True)
class Metrics:
    conversations: int
    completion_rate: float | None
    containment_rate: float | None
    handoff_rate: float | None
    handoff_by_reason: dict[str, float]
    fallback_rate: float | None
    turns_median: float | None
    turns_p90: float | None
    duration_median_s: float | None
    duration_p90_s: float | None
    slot_failure_rate: dict[str, float]
    goal_conversion: dict[str, float]
    funnels: list[Funnel]
    experiments: dict[str, ExperimentResult] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)  # experiment → why it has no result
    business: dict[str, dict[str, float]] = field(default_factory=dict)  # per event kind
    revenue_by_variant: dict[str, float] = field(default_factory=dict)  # "experiment:variant"
    promotions: dict[str, PromotionResult] = field(default_factory=dict)
    feedback: Feedback | None = None  # with --csat / --comments
    groups: dict[str, Metrics] = field(default_factory=dict)  # --by: one per group

    def summary(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "completion_rate": self.completion_rate,
            "containment_rate": self.containment_rate,
            "handoff_rate": self.handoff_rate,
            "fallback_rate": self.fallback_rate,
            "turns_median": self.turns_median,
            "turns_p90": self.turns_p90,
            "duration_median_s": self.duration_median_s,
            "duration_p90_s": self.duration_p90_s,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "handoff_by_reason": self.handoff_by_reason,
            "slot_failure_rate": self.slot_failure_rate,
            "goal_conversion": self.goal_conversion,
            "funnels": [
                {
                    "flow": f.flow,
                    "states": [
                        {"state": s, "reached": f.reached[s], "dropped": f.dropped[s]}
                        for s in f.states
                    ],
                    "drop_off_ranking": [{"state": s, "dropped": n} for s, n in f.ranking()],
                }
                for f in self.funnels
            ],
            "experiments": {
                name: _experiment_json(result) for name, result in self.experiments.items()
            },
            "business": self.business,
            "revenue_by_variant": self.revenue_by_variant,
            "promotions": {
                name: {
                    "exposed": p.exposed,
                    "engaged": p.engaged,
                    "clicked": p.clicked,
                    "converted": p.converted,
                    "revenue": p.revenue,
                    "cost": p.cost,
                    "roi": p.roi,
                }
                for name, p in self.promotions.items()
            },
            "feedback": None if self.feedback is None else dataclasses.asdict(self.feedback),
            "groups": {name: m.to_json() for name, m in self.groups.items()},
        }


def measure(
    bot: Bot,
    conversations: list[Conversation],
    *,
    flow: str | None = None,
    by: str | None = None,
    zone: str | None = None,
    events: Iterable[BusinessEvent] = (),
    window_s: float = DEFAULT_WINDOW_S,
) -> Metrics:
    """The metrics of ``conversations``; with ``by`` (one of :data:`GROUPINGS`, or
    ``segment:<profile key>``) also per group.
    ``events`` (purchases, sign-ups) are attributed to conversations (see :func:`attribute`)."""
    zone = zone or bot.timezone  # days are the bot's days
    metrics = _measure(bot, conversations, flow)
    _business(bot, metrics, attribute(conversations, events, window_s), conversations)
    if by is not None:
        grouped: dict[str, list[Conversation]] = {}
        for c in conversations:
            for name in _group_names(c, by, zone):
                grouped.setdefault(name, []).append(c)
        metrics.groups = {
            name: _measure(bot, members, flow) for name, members in sorted(grouped.items())
        }
    return metrics


def _business(
    bot: Bot, metrics: Metrics, attributed: list[Attribution], conversations: list[Conversation]
) -> None:
    for a in attributed:
        figures = metrics.business.setdefault(
            a.event.kind, {"events": 0, "attributed": 0, "amount": 0.0, "attributed_amount": 0.0}
        )
        amount = a.event.amount or 0.0
        figures["events"] += 1
        figures["amount"] += amount
        if a.conversation is not None:
            figures["attributed"] += 1
            figures["attributed_amount"] += amount
            for experiment, variant in a.conversation.variants.items():
                key = f"{experiment}:{variant}"
                metrics.revenue_by_variant[key] = metrics.revenue_by_variant.get(key, 0.0) + amount
    for name, promotion in bot.promotions.items():
        seen = [c for c in conversations if name in c.promotions]
        bought = [
            a
            for a in attributed
            if a.event.kind == "purchase"
            and a.conversation is not None
            and name in a.conversation.promotions
        ]
        revenue = sum(a.event.amount or 0.0 for a in bought)
        cost = promotion.cost
        metrics.promotions[name] = PromotionResult(
            exposed=len(seen),
            engaged=sum(1 for c in seen if c.promotions[name].engaged),
            clicked=sum(1 for c in seen if c.promotions[name].clicked),
            converted=len(bought),
            revenue=revenue,
            cost=cost,
            roi=(revenue - cost) / cost if cost else None,
        )


def _group_names(c: Conversation, by: str, zone: str) -> list[str]:
    if by == "channel":
        return [c.channel]
    if by == "day":
        day = dt.datetime.fromtimestamp(c.started_at, ZoneInfo(zone)).date()
        return [day.isoformat()]
    if by == "variant":
        return [f"{e}:{v}" for e, v in sorted(c.variants.items())] or ["(no experiment)"]
    if by == "locale":
        return [c.locale or "(unknown)"]
    if by == "version":
        return [c.version or "(unknown)"]
    if by.startswith("segment:"):
        key = by[len("segment:") :]
        value = c.segment.get(key)
        return [f"{key}={value}" if value is not None else f"{key}=(none)"]
    raise ValueError(f"cannot group by {by!r}: {GROUPING_NAMES}")


GROUPINGS = ("variant", "channel", "day", "locale", "version")
"""What a report can be cut by, besides ``segment:<profile key>``."""
GROUPING_NAMES = ", ".join(GROUPINGS) + " or segment:<profile key>"


def _share(
    conversations: list[Conversation], test: Callable[[Conversation], bool]
) -> float | None:
    return rate(sum(1 for c in conversations if test(c)), len(conversations))


def _measure(bot: Bot, conversations: list[Conversation], flow: str | None) -> Metrics:
    n = len(conversations)
    reasons: Counter[str] = Counter()
    for c in conversations:
        reasons.update(set(c.handoff_reasons))
    filled: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for c in conversations:
        filled.update(c.slots_filled)
        rejected.update(c.slots_rejected)
    messages = sum(c.messages for c in conversations)
    turns = [float(c.messages) for c in conversations]
    durations = [c.last_at - c.started_at for c in conversations]
    experiments = _experiments(bot, conversations)
    return Metrics(
        conversations=n,
        completion_rate=_share(conversations, lambda c: c.outcome == "resolved"),
        containment_rate=_share(conversations, lambda c: not c.queued),
        handoff_rate=_share(conversations, lambda c: bool(c.handoff_reasons)),
        handoff_by_reason={r: k / n for r, k in sorted(reasons.items())} if n else {},
        fallback_rate=rate(sum(c.fallbacks for c in conversations), messages),
        turns_median=percentile(turns, 50),
        turns_p90=percentile(turns, 90),
        duration_median_s=percentile(durations, 50),
        duration_p90_s=percentile(durations, 90),
        slot_failure_rate={
            s: rejected[s] / (filled[s] + rejected[s]) for s in sorted(filled | rejected)
        },
        goal_conversion={
            g: k / n for g, k in sorted(Counter(g for c in conversations for g in c.goals).items())
        }
        if n
        else {},
        funnels=[_funnel(bot, f, conversations) for f in bot.flows if flow is None or f == flow],
        experiments=experiments,
        unmeasured=_unmeasured(bot, experiments),
    )


def _experiments(bot: Bot, conversations: list[Conversation]) -> dict[str, ExperimentResult]:
    """Per experiment and variant: the conversations exposed to it, and of those the ones that
    reached the experiment's goal (its conversions), compared with the first variant."""
    out: dict[str, ExperimentResult] = {}
    for name, experiment in bot.experiments.items():
        if experiment.goal is None:
            continue
        users: Counter[str] = Counter()
        converted: Counter[str] = Counter()
        for c in conversations:
            variant = c.variants.get(name)
            if variant is not None:
                users[variant] += 1
                converted[variant] += experiment.goal in c.goals
        if users:
            counts = {v: (converted[v], users[v]) for v, _ in experiment.variants}
            out[name] = compare(counts, min_effect=experiment.min_effect)
    return out


def _unmeasured(bot: Bot, measured: dict[str, ExperimentResult]) -> dict[str, str]:
    """The experiments :func:`_experiments` has no result for, and why: no goal to convert to,
    or nobody in them."""
    return {
        name: "it has no goal (add 'goal:' to the experiment)"
        if experiment.goal is None
        else "no conversation was in it yet"
        for name, experiment in bot.experiments.items()
        if name not in measured
    }


def _experiment_json(result: ExperimentResult) -> dict[str, Any]:
    return {
        "variants": [
            {
                "variant": v.name,
                "users": v.users,
                "conversions": v.conversions,
                "rate": v.rate,
                "interval": v.interval,
            }
            for v in result.variants
        ],
        "control": result.control,
        "comparisons": [
            {
                "variant": c.variant,
                "difference": c.difference,
                "interval": c.interval,
                "p_value": c.p_value,
                "significant": c.significant,
                "warning": c.warning,
            }
            for c in result.comparisons
        ],
        "warnings": list(result.warnings),
    }


def _funnel(bot: Bot, flow: str, conversations: list[Conversation]) -> Funnel:
    states = [f"{flow}.{s}" for s in bot.flows[flow].states]
    reached = dict.fromkeys(states, 0)
    dropped = dict.fromkeys(states, 0)
    for c in conversations:
        for state in set(c.states):
            if state in reached:
                reached[state] += 1
        last = c.states[-1] if c.states else None
        if last in dropped and c.outcome != "resolved":
            dropped[last] += 1
    return Funnel(flow, states, reached, dropped)
