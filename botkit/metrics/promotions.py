"""What each promotion did: exposed → engaged → clicked → converted, its revenue, the part of
its cost that falls in the report's period, and its ROI (definitions: promotion funnel).

Three rules keep a promotion's figures honest when it shares a screen with other buttons:

* a *click* is a press on the promotion's own offer (``offer:`` in its definition: payloads
  such as ``get_coupon`` or states such as ``promotion.book_visit``); "다음에요" or a menu
  choice on the same state is not. A promotion that names no offer has no clicks and no
  conversions: they are not measured (None), and the report says why;
* a promotion counts only within its dates (``starts``/``ends``, days in the bot's time zone,
  ``ends`` inclusive): an exposure recorded outside them (records older than the engine's date
  check) is left out, and counted apart as ``outside_dates``;
* its cost is spread evenly over its days: a period is charged cost × (its days inside the
  period ÷ all its days). A promotion without both dates is charged in full to every period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from botkit.flow.model import Bot, Promotion
from botkit.metrics.attribution import Attribution, converts, net_amount
from botkit.metrics.calendar import Period, midnight
from botkit.metrics.fold import Conversation, PromotionTrace

__all__ = ["PromotionResult", "clicked", "in_dates", "promotion_results"]


@dataclass(slots=True)
class PromotionResult:
    """One promotion's funnel and money in a report or a group."""

    exposed: int  # conversations that showed it within its dates
    engaged: int  # of those, the ones where the user wrote after seeing it
    clicked: int | None  # of those, the ones that pressed its offer; None: it names no offer
    converted: int | None  # conversion events attributed to the conversations that clicked
    revenue: float | None  # the net revenue of the events attributed to those conversations
    cost: float | None  # the part of its cost charged to the period (None: no cost, or a group)
    roi: float | None  # (revenue − cost) ÷ cost
    outside_dates: int = 0  # exposures recorded outside its dates: not counted
    notes: list[str] = field(default_factory=list)  # why a figure is missing or how it is made


def in_dates(bot: Bot, promotion: Promotion, at: float) -> bool:
    """Whether ``at`` falls within the promotion's dates (open on a side without a date)."""
    return _dates(bot, promotion).holds(at)


def clicked(promotion: Promotion, trace: PromotionTrace) -> bool | None:
    """Whether the conversation pressed the promotion's offer; None when it names none."""
    if not promotion.offer:
        return None
    return any(pressed in promotion.offer for pressed in trace.presses)


def promotion_results(
    bot: Bot,
    attributed: Sequence[Attribution],
    conversations: Sequence[Conversation],
    period: Period,
    *,
    charge_cost: bool = True,
) -> dict[str, PromotionResult]:
    """Every promotion of ``bot`` in ``conversations``, with the money of ``attributed`` (the
    events already chosen for the report or group). ``charge_cost`` False (a group that is not
    a day): no cost and no ROI, since a promotion's cost is not divided between groups."""
    out = {}
    for name, promotion in bot.promotions.items():
        dates = _dates(bot, promotion)
        shown: list[PromotionTrace] = []
        outside = 0
        for c in conversations:
            trace = c.promotions.get(name)
            if trace is not None:
                if dates.holds(trace.at):
                    shown.append(trace)
                else:
                    outside += 1
        notes: list[str] = []
        result = PromotionResult(
            exposed=len(shown),
            engaged=sum(1 for t in shown if t.engaged),
            clicked=None,
            converted=None,
            revenue=None,
            cost=None,
            roi=None,
            outside_dates=outside,
            notes=notes,
        )
        if promotion.offer:
            result.clicked = sum(1 for t in shown if clicked(promotion, t))
            took = [a for a in attributed if _took_offer(name, promotion, dates, a)]
            result.converted = sum(1 for a in took if converts(bot, a.event))
            result.revenue = sum((net_amount(bot, a.event) for a in took), 0.0)
        else:
            notes.append(
                f"clicks and conversions are not measured: promotion {name} names no offer"
                " (add 'offer:' with the payloads or states that take it)"
            )
        if outside:
            notes.append(f"{outside:,} exposures outside its dates are not counted")
        if promotion.cost is not None:
            if charge_cost:
                result.cost = _charged(bot, name, promotion, period, notes)
            else:
                notes.append("its cost is not divided between groups: no cost or ROI per group")
        if result.cost and result.revenue is not None:
            result.roi = (result.revenue - result.cost) / result.cost
        out[name] = result
    return out


def _took_offer(name: str, promotion: Promotion, dates: Period, a: Attribution) -> bool:
    """Whether the event's conversation pressed the promotion's offer within its dates."""
    if a.conversation is None:
        return False
    trace = a.conversation.promotions.get(name)
    return trace is not None and dates.holds(trace.at) and bool(clicked(promotion, trace))


def _dates(bot: Bot, promotion: Promotion) -> Period:
    """The promotion's dates as a period (Promotion.window, in the bot's time zone)."""
    start, end = promotion.window(bot.timezone)
    return Period(None if start == -math.inf else start, None if end == math.inf else end)


def _charged(bot: Bot, name: str, promotion: Promotion, period: Period, notes: list[str]) -> float:
    """The part of the promotion's cost that falls in ``period``: its days in the period (a day
    whose midnight lies in it, so that adjacent periods split the days, none counted twice) ÷
    all its days."""
    assert promotion.cost is not None
    starts, ends = _day(promotion.starts), _day(promotion.ends)
    if starts is None or ends is None or ends < starts:
        notes.append(
            f"promotion {name} has no dates (starts and ends): its whole cost is charged"
            " to this period"
        )
        return promotion.cost
    days = (ends - starts).days + 1
    inside = sum(
        1
        for i in range(days)
        if period.holds(midnight(starts + dt.timedelta(days=i), bot.timezone))
    )
    if inside < days:
        notes.append(f"cost: {inside} of its {days} days fall in this period")
    return promotion.cost * inside / days


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)
