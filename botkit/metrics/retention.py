"""Repurchase: of the customers who bought, how many bought again within N days, by cohort
(definitions: retention).

A customer is a user with a conversion event (a purchase) in the report's data; their first
one is the first purchase. They count once the N days after it are over by the report's end:
a customer who bought yesterday has not yet had the chance to buy again, and counting them
would make every recent cohort look disloyal. Those still waiting are counted apart.

Cohorts, each a share with its Wilson 95% interval:

* **week**: the ISO week (Monday to Sunday, bot's time zone) of the user's first conversation;
* **source**: the acquisition source, a profile key (``source`` by default) as the
  ``conversation_start`` record of the user's first conversation carries it;
* **variant**: each experiment:variant the user was in (a user in two experiments is in two
  cohorts);
* **promotion**: each promotion whose offer the user pressed, within its dates, in a
  conversation that began no later than the first purchase ("none" when they pressed none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from botkit.audience.model import member_of
from botkit.flow.model import Bot
from botkit.metrics.attribution import converts
from botkit.metrics.calendar import ALL_TIME, Period, week_of
from botkit.metrics.conversion import Share, share
from botkit.metrics.fold import Conversation
from botkit.metrics.promotions import clicked, in_dates
from botkit.records import BusinessEvent

__all__ = ["DEFAULT_RETENTION_DAYS", "Retention", "retention"]

DEFAULT_RETENTION_DAYS = 30
DAY_S = 86_400.0
NO_CONVERSATION = "(no conversation)"
NO_EXPERIMENT = "(no experiment)"
NO_PROMOTION = "none"


@dataclass(slots=True)
class Retention:
    """Who bought again within ``days`` of their first purchase, overall and by cohort."""

    days: int
    source_key: str  # the profile key the source cohorts are read from
    waiting: int  # customers whose ``days`` are not over by the report's end: not counted
    repurchased: Share  # customers who bought again ÷ customers counted
    by_week: dict[str, Share] = field(default_factory=dict)
    by_source: dict[str, Share] = field(default_factory=dict)
    by_variant: dict[str, Share] = field(default_factory=dict)
    by_promotion: dict[str, Share] = field(default_factory=dict)


def retention(
    bot: Bot,
    conversations: Sequence[Conversation],
    events: Iterable[BusinessEvent],
    *,
    days: int = DEFAULT_RETENTION_DAYS,
    source_key: str = "source",
    period: Period = ALL_TIME,
    zone: str | None = None,
    links: Mapping[str, str] | None = None,
) -> Retention:
    """The repurchase share of the customers whose first purchase in ``events`` lies in
    ``period`` and at least ``days`` before its end (``period.until``; else the latest thing
    in the data). The first purchase is the user's first in all of ``events``, so a period
    that starts mid-way does not take a repeat purchase for a first one. Weeks are read in
    ``zone`` (default: the bot's time zone). A customer is a member of the audience
    (:func:`~botkit.audience.member_of`): the shop's customer a user is linked to (``links``:
    user → customer) or that an event names, so purchases on two channels are one customer's."""
    zone = zone or bot.timezone
    links = links or {}
    bought: dict[str, list[float]] = {}
    for event in events:
        if converts(bot, event):
            who = event.customer or links.get(event.user)
            bought.setdefault(member_of(event.user, who), []).append(event.at)
    end = period.until
    if end is None:
        latest = [at for times in bought.values() for at in times]
        latest += [c.last_at for c in conversations]
        end = max(latest, default=0.0)
    talks: dict[str, list[Conversation]] = {}
    for c in conversations:
        talks.setdefault(member_of(c.user, links.get(c.user)), []).append(c)
    span = days * DAY_S
    waiting = 0
    outcomes: list[tuple[bool, dict[str, list[str]]]] = []
    for user, times in bought.items():
        times.sort()
        first = times[0]
        if not period.holds(first):
            continue
        if first + span > end:
            waiting += 1
            continue
        again = len(times) > 1 and times[1] <= first + span  # sorted: the next purchase
        outcomes.append((again, _cohorts(bot, talks.get(user, []), first, source_key, zone)))
    cohorts: dict[str, dict[str, list[int]]] = {
        "week": {},
        "source": {},
        "variant": {},
        "promotion": {},
    }
    for again, named in outcomes:
        for kind, names in named.items():
            for name in names:
                tally = cohorts[kind].setdefault(name, [0, 0])
                tally[0] += again
                tally[1] += 1
    return Retention(
        days=days,
        source_key=source_key,
        waiting=waiting,
        repurchased=share(sum(again for again, _ in outcomes), len(outcomes)),
        by_week=_shares(cohorts["week"]),
        by_source=_shares(cohorts["source"]),
        by_variant=_shares(cohorts["variant"]),
        by_promotion=_shares(cohorts["promotion"]),
    )


def _cohorts(
    bot: Bot, talks: list[Conversation], first_purchase: float, source_key: str, zone: str
) -> dict[str, list[str]]:
    """The cohorts of one customer, from their conversations."""
    if not talks:
        return {
            "week": [NO_CONVERSATION],
            "source": [f"{source_key}=(none)"],
            "variant": [NO_EXPERIMENT],
            "promotion": [NO_PROMOTION],
        }
    talks = sorted(talks, key=lambda c: c.started_at)
    source = talks[0].segment.get(source_key)
    variants = sorted({f"{e}:{v}" for c in talks for e, v in c.variants.items()})
    pressed = sorted(
        {
            name
            for c in talks
            if c.started_at <= first_purchase
            for name, trace in c.promotions.items()
            if (promotion := bot.promotions.get(name)) is not None
            and in_dates(bot, promotion, trace.at)
            and clicked(promotion, trace)
        }
    )
    return {
        "week": [week_of(talks[0].started_at, zone)],
        "source": [f"{source_key}={source}" if source is not None else f"{source_key}=(none)"],
        "variant": variants or [NO_EXPERIMENT],
        "promotion": pressed or [NO_PROMOTION],
    }


def _shares(tallies: dict[str, list[int]]) -> dict[str, Share]:
    return {name: share(k, n) for name, (k, n) in sorted(tallies.items())}
