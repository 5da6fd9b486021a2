"""Money: business events (purchases, refunds, sign-ups) attributed to conversations, what
each kind means (bot.yaml ``business_events:``), and what promotions earned."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botkit.flow.model import Bot
from botkit.metrics.fold import Conversation
from botkit.records import BusinessEvent

if TYPE_CHECKING:
    from botkit.metrics.compute import Metrics

__all__ = ["DEFAULT_WINDOW_S", "Attribution", "PromotionResult", "attribute", "business"]

DEFAULT_WINDOW_S = 7 * 86_400  # a purchase counts for a conversation up to a week later


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


def business(
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
