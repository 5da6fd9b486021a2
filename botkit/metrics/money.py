"""Money: business events (purchases, refunds, sign-ups) attributed to conversations, counted
by what each kind means (bot.yaml ``business_events:``), in a report and in each of its groups.

Revenue is net: a refund subtracts what a purchase added (definitions: revenue). A purchase
belongs to the period it happened in; in a group of conversations (a variant, a channel, a
segment) it belongs to the group of the conversation it is attributed to, and in a day to the
day it happened.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botkit.flow.model import Bot
from botkit.metrics.attribution import (
    DEFAULT_WINDOW_S,
    Attribution,
    attribute,
    converts,
    net_amount,
)
from botkit.metrics.calendar import ALL_TIME, Period, day_of, day_period
from botkit.metrics.conversion import ConversationKey, conversion_rates, converted
from botkit.metrics.fold import Conversation
from botkit.metrics.promotions import PromotionResult, promotion_results

if TYPE_CHECKING:
    from botkit.metrics.compute import Metrics

__all__ = [
    "DEFAULT_WINDOW_S",
    "Attribution",
    "Money",
    "PromotionResult",
    "attribute",
    "business",
    "business_by_group",
]


@dataclass(slots=True)
class Money:
    """The net revenue and conversions of a report or of one group (definitions: revenue)."""

    revenue: float = 0.0  # amounts of kinds that add revenue − those of kinds that subtract
    conversions: int = 0  # events of kinds that count as a conversion
    attributed_revenue: float = 0.0  # the same, of the events attributed to a conversation
    attributed_conversions: int = 0


def business(
    bot: Bot,
    metrics: Metrics,
    attributed: Sequence[Attribution],
    conversations: Sequence[Conversation],
    period: Period = ALL_TIME,
    *,
    bought: Collection[ConversationKey] | None = None,
    charge_cost: bool = True,
) -> None:
    """Fill ``metrics``' money from ``attributed`` (the events of this report or group; those
    outside ``period`` are left out) and ``conversations`` (its conversations): per kind, net
    revenue and conversions, revenue per variant, promotions, conversion rates.

    ``bought``: the conversations that converted, for the conversion rates (default: those
    ``attributed`` converts): a day's conversation converts with the next day's purchase,
    which is not that day's money. ``charge_cost`` False: no promotion cost or ROI (a group
    that is not a period)."""
    inside = [a for a in attributed if period.holds(a.event.at)]
    money = Money()
    orders: list[float] = []
    for a in inside:
        event = a.event
        figures = metrics.business.setdefault(
            event.kind, {"events": 0, "attributed": 0, "amount": 0.0, "attributed_amount": 0.0}
        )
        amount, net, conversion = event.amount or 0.0, net_amount(bot, event), converts(bot, event)
        figures["events"] += 1
        figures["amount"] += amount
        money.revenue += net
        money.conversions += conversion
        if a.conversation is None:
            continue
        figures["attributed"] += 1
        figures["attributed_amount"] += amount
        money.attributed_revenue += net
        money.attributed_conversions += conversion
        if conversion:
            orders.append(amount)
        for experiment, variant in a.conversation.variants.items():
            key = f"{experiment}:{variant}"
            metrics.revenue_by_variant[key] = metrics.revenue_by_variant.get(key, 0.0) + net
    metrics.money = money
    metrics.promotions = promotion_results(
        bot, inside, conversations, period, charge_cost=charge_cost
    )
    metrics.conversion = conversion_rates(
        conversations,
        converted(bot, inside) if bought is None else bought,
        orders=orders,
        attributed_revenue=money.attributed_revenue,
    )


def business_by_group(
    bot: Bot,
    metrics: Metrics,
    attributed: Sequence[Attribution],
    grouped: Mapping[str, Sequence[Conversation]],
    *,
    by: str,
    zone: str,
    period: Period = ALL_TIME,
    names: Callable[[Conversation], list[str]],
    blank: Callable[[], Metrics],
) -> None:
    """The money of every ``--by`` group in ``metrics.groups`` (``grouped``: each group's
    conversations; ``names``: the groups of a conversation).

    An event belongs to the groups of the conversation it is attributed to (none when it is
    attributed to none), except by ``day``: to the day it happened, in ``zone``. A group that
    has money but no conversation of its own (a variant whose conversation began before the
    period, a day with purchases and no conversation) is added, made by ``blank``. A day is
    charged its share of each promotion's cost; other groups get no cost (see
    :func:`~botkit.metrics.promotions.promotion_results`)."""
    inside = [a for a in attributed if period.holds(a.event.at)]
    bought = converted(bot, inside)
    events_of: dict[str, list[Attribution]] = {}
    for a in inside:
        if by == "day":
            groups = [day_of(a.event.at, zone).isoformat()]
        elif a.conversation is not None:
            groups = names(a.conversation)
        else:
            continue
        for name in groups:
            events_of.setdefault(name, []).append(a)
    for name in events_of.keys() - metrics.groups.keys():
        metrics.groups[name] = blank()
    metrics.groups = dict(sorted(metrics.groups.items()))
    for name, group in metrics.groups.items():
        business(
            bot,
            group,
            events_of.get(name, []),
            grouped.get(name, []),
            day_period(name, zone).within(period) if by == "day" else period,
            bought=bought,
            charge_cost=by == "day",
        )
