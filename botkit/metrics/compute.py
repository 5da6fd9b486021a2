"""Records in, metrics out: one pass that folds records into conversations, then counts.

The formulas are in :mod:`botkit.metrics.definitions`; this module only applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from botkit.flow.model import Bot
from botkit.metrics.ab import ExperimentResult
from botkit.metrics.definitions import percentile, rate
from botkit.metrics.experiments import experiment_json, experiments as run_experiments, unmeasured
from botkit.metrics.feedback import Feedback
from botkit.metrics.fold import Conversation, PromotionTrace, conversations_of
from botkit.metrics.money import (
    DEFAULT_WINDOW_S,
    Attribution,
    PromotionResult,
    attribute,
    business,
)
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
                name: experiment_json(result) for name, result in self.experiments.items()
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
    business(bot, metrics, attribute(conversations, events, window_s), conversations)
    if by is not None:
        grouped: dict[str, list[Conversation]] = {}
        for c in conversations:
            for name in _group_names(c, by, zone):
                grouped.setdefault(name, []).append(c)
        metrics.groups = {
            name: _measure(bot, members, flow) for name, members in sorted(grouped.items())
        }
    return metrics


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
    experiments = run_experiments(bot, conversations)
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
        unmeasured=unmeasured(bot, experiments),
    )


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
