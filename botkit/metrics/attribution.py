"""Business events made countable: which conversation each is credited to (last touch), and
what it is worth (its kind's meaning, bot.yaml ``business_events:``).

Everything that counts money (:mod:`botkit.metrics.money`, :mod:`botkit.metrics.promotions`,
:mod:`botkit.metrics.conversion`, :mod:`botkit.metrics.retention`) reads events through here,
so a refund subtracts and a sign-up adds nothing in every figure alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from botkit.flow.model import Bot
from botkit.metrics.fold import Conversation
from botkit.records import BusinessEvent

__all__ = ["DEFAULT_WINDOW_S", "Attribution", "attribute", "converts", "net_amount"]

DEFAULT_WINDOW_S = 7 * 86_400  # a purchase counts for a conversation up to a week later


@dataclass(frozen=True, slots=True)
class Attribution:
    event: BusinessEvent
    conversation: Conversation | None  # None: no conversation of the user within the window


def attribute(
    conversations: Iterable[Conversation],
    events: Iterable[BusinessEvent],
    window_s: float = DEFAULT_WINDOW_S,
    links: Mapping[str, str] | None = None,
) -> list[Attribution]:
    """Last touch: each event goes to the latest conversation of its customer that started at
    or before it and whose last activity is at most ``window_s`` before it; else to none.

    ``links`` (channel user → customer id) is how a shop's customer spans channels: an event
    naming a customer (``event.customer``) goes to a conversation of any user linked to them,
    and one naming a linked user to a conversation of any user of the same customer. An event
    naming a customer no user is linked to is credited to none."""
    by_user: dict[str, list[Conversation]] = {}
    for c in conversations:
        by_user.setdefault(c.user, []).append(c)
    users_of: dict[str, list[str]] = {}
    for linked, owner in (links or {}).items():
        users_of.setdefault(owner, []).append(linked)
    out = []
    for event in events:
        customer = event.customer or (links or {}).get(event.user)
        users = users_of.get(customer, []) if customer is not None else []
        if event.user and event.user not in users:
            users = [event.user, *users]
        candidates = [
            c
            for user in users
            for c in by_user.get(user, ())
            if c.started_at <= event.at and event.at - c.last_at <= window_s
        ]
        latest = max(candidates, key=lambda c: c.started_at, default=None)
        out.append(Attribution(event, latest))
    return out


def net_amount(bot: Bot, event: BusinessEvent) -> float:
    """What ``event`` adds to revenue: its amount for a kind that adds revenue (a purchase),
    minus it for one that subtracts (a refund), nothing for any other (a sign-up)."""
    revenue = bot.meaning(event.kind).revenue
    if revenue == "add":
        return event.amount or 0.0
    if revenue == "subtract":
        return -(event.amount or 0.0)
    return 0.0


def converts(bot: Bot, event: BusinessEvent) -> bool:
    """Whether ``event`` is a conversion (a purchase is; a refund is not)."""
    return bot.meaning(event.kind).conversion
