"""Records in, metrics out: one pass that folds records into conversations, then counts.

The formulas are in :mod:`botkit.metrics.definitions`; this module only applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from botkit.flow.model import Bot
from botkit.metrics.ab import ExperimentResult
from botkit.metrics.calendar import Period
from botkit.metrics.campaigns import CampaignResult
from botkit.metrics.conversion import Conversion
from botkit.metrics.definitions import percentile, rate
from botkit.metrics.ends import completed, place, place_name, status, unserved_why
from botkit.metrics.engagement import Engagement
from botkit.metrics.experiments import (
    DEFAULT_WINDOW_S as EXPERIMENT_WINDOW_S,
    experiment_json,
    experiments as run_experiments,
    unmeasured,
)
from botkit.metrics.feedback import Feedback
from botkit.metrics.fold import Conversation, PromotionTrace, conversations_of
from botkit.metrics.money import (
    DEFAULT_WINDOW_S,
    Attribution,
    Money,
    PromotionResult,
    attribute,
    business,
    business_by_group,
)
from botkit.metrics.retention import DEFAULT_RETENTION_DAYS, Retention, retention
from botkit.records import BusinessEvent

__all__ = [
    "Attribution",
    "Conversation",
    "Funnel",
    "Metrics",
    "PromotionResult",
    "PromotionTrace",
    "attribute",
    "conversations_of",
    "measure",
]


@dataclass(slots=True)
class Funnel:
    flow: str
    states: list[str]  # "flow.state" in file order
    reached: dict[str, int]
    dropped: dict[str, int]  # per state: conversations that dropped off there
    # Per place: the state, or for a state that collects slots the prompt it was asking
    # ("order_status.ask_order · order_no"); adds up to ``dropped`` state by state.
    places: dict[str, int] = field(default_factory=dict)

    def ranking(self) -> list[tuple[str, int]]:
        """Places (states, and prompts of states that ask for slots) by how many conversations
        were lost there, most first."""
        counts = self.places or self.dropped
        return sorted(
            ((s, n) for s, n in counts.items() if n), key=lambda item: (-item[1], item[0])
        )


@dataclass(slots=True)
class Metrics:
    conversations: int
    completion_rate: float | None
    containment_rate: float | None
    handoff_rate: float | None
    handoff_by_reason: dict[str, float]  # as records kept before issue 18 say it
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
    served_rate: float | None = None  # an agent took it (handoff_claimed) ÷ conversations
    unserved_rate: float | None = None  # asked for a person, never taken ÷ conversations
    unserved_by_why: dict[str, float] = field(default_factory=dict)  # ends.unserved_why
    handoff_by_cause: dict[str, float] = field(default_factory=dict)  # share per cause
    handoff_by_trigger: dict[str, float] = field(default_factory=dict)  # "cause · trigger"
    drop_off_rate: float | None = None  # over without completing ÷ conversations
    drop_off: dict[str, int] = field(default_factory=dict)  # per place, most first
    open_conversations: int = 0  # still going at the report's now
    abandoned_conversations: int = 0  # silent past the inactivity timeout, or ended so
    money: Money = field(default_factory=Money)  # net revenue and conversions (money.py)
    conversion: Conversion | None = None  # conversion rates (conversion.py)
    retention: Retention | None = None  # repurchase by cohort, the whole report's (retention.py)
    # link click-through, response rate, conversations per day: read from the records a store
    # gives (periods.load_metrics), not from conversations (engagement.py)
    engagement: Engagement | None = None
    # per campaign, what its sends did (campaigns.py); None: the bot has no campaigns, and the
    # report no "campaigns" section (a --by group has none: sends are no conversations)
    campaigns: dict[str, CampaignResult] | None = None

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
            "served_rate": self.served_rate,
            "unserved_rate": self.unserved_rate,
            "drop_off_rate": self.drop_off_rate,
            "open_conversations": self.open_conversations,
            "abandoned_conversations": self.abandoned_conversations,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "handoff_by_reason": self.handoff_by_reason,
            "handoff_by_cause": self.handoff_by_cause,
            "handoff_by_trigger": self.handoff_by_trigger,
            "unserved_by_why": self.unserved_by_why,
            "drop_off": self.drop_off,
            "slot_failure_rate": self.slot_failure_rate,
            "goal_conversion": self.goal_conversion,
            "funnels": [
                {
                    "flow": f.flow,
                    "states": [
                        {"state": s, "reached": f.reached[s], "dropped": f.dropped[s]}
                        for s in f.states
                    ],
                    "drop_off_ranking": [{"place": s, "dropped": n} for s, n in f.ranking()],
                }
                for f in self.funnels
            ],
            "experiments": {
                name: experiment_json(result) for name, result in self.experiments.items()
            },
            "business": self.business,
            "revenue_by_variant": self.revenue_by_variant,
            "promotions": {name: dataclasses.asdict(p) for name, p in self.promotions.items()},
            **(
                {}
                if self.campaigns is None
                else {"campaigns": {name: c.to_json() for name, c in self.campaigns.items()}}
            ),
            "money": dataclasses.asdict(self.money),
            "conversion": None if self.conversion is None else dataclasses.asdict(self.conversion),
            "retention": None if self.retention is None else dataclasses.asdict(self.retention),
            "engagement": None if self.engagement is None else self.engagement.to_json(),
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
    now: float | None = None,
    earlier: Iterable[Conversation] = (),
    experiment_window_s: float = EXPERIMENT_WINDOW_S,
    since: float | None = None,
    until: float | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    links: Mapping[str, str] | None = None,
) -> Metrics:
    """The metrics of ``conversations``; with ``by`` (one of :data:`GROUPINGS`, or
    ``segment:<profile key>``) also per group.

    ``events`` (purchases, sign-ups) are attributed to conversations (see :func:`attribute`):
    to these, or to ``earlier`` ones of the same users (a purchase of the period made after a
    conversation of the one before). ``now`` is when the report is read (see
    :mod:`botkit.metrics.ends`: what is still open); ``experiment_window_s`` how long after
    their first exposure a user's conversion counts for an experiment. ``since`` and ``until``
    are the period, ``[since, until)`` (None: open): its business events are its money, and
    each promotion is charged its days in it; ``retention_days`` is the N of repurchase.
    ``links`` (channel user → the shop's customer id) lets a customer's purchase count for
    their conversations on any linked channel."""
    zone = zone or bot.timezone  # days are the bot's days
    metrics = _measure(bot, conversations, flow, now, experiment_window_s)
    touched = [*conversations, *earlier]
    events = list(events)
    period = Period(since, until)  # money: a purchase belongs to the period it happened in
    # only the period's own events are its money (retention reads them all, below)
    attributed = attribute(touched, [e for e in events if period.holds(e.at)], window_s, links)
    business(bot, metrics, attributed, conversations, period)
    metrics.retention = retention(
        bot, touched, events, days=retention_days, period=period, zone=zone, links=links
    )
    if by is not None:
        grouped: dict[str, list[Conversation]] = {}
        for c in conversations:
            for name in _group_names(c, by, zone, bot):
                grouped.setdefault(name, []).append(c)
        metrics.groups = {
            name: _measure(bot, members, flow, now, experiment_window_s)
            for name, members in sorted(grouped.items())
        }
        business_by_group(
            bot,
            metrics,
            attributed,
            grouped,
            by=by,
            zone=zone,
            period=period,
            names=lambda c: _group_names(c, by, zone, bot),
            blank=lambda: _measure(bot, [], flow, now, experiment_window_s),
        )
    return metrics


def _group_names(c: Conversation, by: str, zone: str, bot: Bot) -> list[str]:
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
        if key in bot.segments:  # a named segment: was the user in it as the talk began?
            if c.segments is None:
                return [f"{key}=(unknown)"]  # started before the bot declared segments
            return [f"{key}=yes" if key in c.segments else f"{key}=no"]
        value = c.segment.get(key)
        return [f"{key}={value}" if value is not None else f"{key}=(none)"]
    raise ValueError(f"cannot group by {by!r}: {GROUPING_NAMES}")


GROUPINGS = ("variant", "channel", "day", "locale", "version")
"""What a report can be cut by, besides ``segment:<name>``: a segment bot.yaml names
(membership when the conversation started), else a profile key (its value then)."""
GROUPING_NAMES = ", ".join(GROUPINGS) + " or segment:<segment name or profile key>"


def _share(
    conversations: list[Conversation], test: Callable[[Conversation], bool]
) -> float | None:
    return rate(sum(1 for c in conversations if test(c)), len(conversations))


def _measure(
    bot: Bot,
    conversations: list[Conversation],
    flow: str | None,
    now: float | None,
    experiment_window_s: float,
) -> Metrics:
    n = len(conversations)
    timeout = bot.inactivity_timeout
    reasons: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    triggers: Counter[str] = Counter()
    unserved: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    filled: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    entered: Counter[str] = Counter()
    lost: list[Conversation] = []
    # One pass; a Counter is updated only when there is something to add (its update checks
    # for a Mapping through the ABC machinery: ~1 µs a call, 47,000 conversations a month).
    for c in conversations:
        if c.handoff_reasons:
            reasons.update(set(c.handoff_reasons))
            causes.update({cause or "unrecorded" for cause, _ in c.handoff_causes})
            triggers.update({_cause_trigger(cause, why) for cause, why in c.handoff_causes})
        outcome = status(c, now, timeout)
        why = unserved_why(c, still_open=outcome == "open")
        if why is not None:
            unserved[why] += 1
        statuses[outcome] += 1
        if outcome != "open" and not completed(c):  # ends.dropped, with the status at hand
            lost.append(c)
        if c.slots_filled:
            filled.update(c.slots_filled)
        if c.slots_rejected:
            rejected.update(c.slots_rejected)
        entered.update(set(c.states))
    messages = sum(c.messages for c in conversations)
    turns = [float(c.messages) for c in conversations]
    durations = [c.last_at - c.started_at for c in conversations]
    lost_at = [where for c in lost if (where := place(bot, c)) is not None]
    experiments = run_experiments(bot, conversations, window_s=experiment_window_s)
    return Metrics(
        conversations=n,
        completion_rate=_share(conversations, completed),
        containment_rate=_share(conversations, lambda c: not c.handoff_reasons),
        handoff_rate=_share(conversations, lambda c: bool(c.handoff_reasons)),
        handoff_by_reason=_shares(reasons, n),
        fallback_rate=rate(sum(c.fallbacks for c in conversations), messages),
        turns_median=percentile(turns, 50),
        turns_p90=percentile(turns, 90),
        duration_median_s=percentile(durations, 50),
        duration_p90_s=percentile(durations, 90),
        slot_failure_rate={
            s: rejected[s] / (filled[s] + rejected[s]) for s in sorted(filled | rejected)
        },
        goal_conversion=_shares(Counter(g for c in conversations for g in c.goals), n),
        funnels=[
            _funnel(bot, f, entered, lost_at) for f in bot.flows if flow is None or f == flow
        ],
        experiments=experiments,
        unmeasured=unmeasured(bot, experiments),
        served_rate=_share(conversations, lambda c: c.claimed),
        unserved_rate=rate(sum(unserved.values()), n),
        unserved_by_why=_shares(unserved, n),
        handoff_by_cause=_shares(causes, n),
        handoff_by_trigger=_shares(triggers, n),
        drop_off_rate=rate(len(lost), n),
        drop_off=_places(lost_at),
        open_conversations=statuses["open"],
        abandoned_conversations=statuses["abandoned"],
    )


def _shares(counts: Counter[str], n: int) -> dict[str, float]:
    """Each count ÷ ``n`` conversations, by name; nothing when there are no conversations."""
    return {name: k / n for name, k in sorted(counts.items())} if n else {}


def _cause_trigger(cause: str, trigger: str) -> str:
    """``action_result · lookup_order: error``; the cause alone when nothing set it off by
    name (the flow went on by itself), ``unrecorded`` for records kept before causes."""
    cause = cause or "unrecorded"
    return f"{cause} · {trigger}" if trigger else cause


Place = tuple[str, str | None]  # (state, the slot being asked there), ends.place


def _places(lost_at: list[Place]) -> dict[str, int]:
    """Drop-off per place, most first (then by name)."""
    counts = Counter(place_name(*where) for where in lost_at)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _funnel(bot: Bot, flow: str, entered: Counter[str], lost_at: list[Place]) -> Funnel:
    """One flow's funnel from the conversations per state entered and the places lost, each
    worked out once for all flows (ends.place reads the bot per conversation)."""
    states = [f"{flow}.{s}" for s in bot.flows[flow].states]
    reached = {state: entered[state] for state in states}
    dropped_at = dict.fromkeys(states, 0)
    places: dict[str, int] = {}
    for where in lost_at:
        if where[0] in dropped_at:
            dropped_at[where[0]] += 1
            name = place_name(*where)
            places[name] = places.get(name, 0) + 1
    return Funnel(flow, states, reached, dropped_at, places)
