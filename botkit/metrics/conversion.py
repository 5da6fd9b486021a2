"""Conversion rates: of the conversations (and of the users) the bot had, how many bought.

A count of purchases says little on its own: 300 purchases from 1,000 conversations and from
100,000 are different bots. Each share here comes with its Wilson 95% interval
(:func:`botkit.metrics.ab.proportion_interval`), so a small group's rate reads as uncertain as
it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from botkit.flow.model import Bot
from botkit.metrics.ab import proportion_interval
from botkit.metrics.attribution import Attribution, converts
from botkit.metrics.fold import Conversation

__all__ = ["ConversationKey", "Conversion", "Share", "conversion_rates", "converted", "share"]

ConversationKey = tuple[str, int]  # (session, number): a conversation, hashable


@dataclass(frozen=True, slots=True)
class Share:
    """``count`` of ``of``, as a rate with its Wilson 95% interval (None when ``of`` is 0:
    nothing to divide, which is unknown, not zero)."""

    count: int
    of: int
    rate: float | None
    interval: tuple[float, float] | None


def share(count: int, of: int) -> Share:
    if not of:
        return Share(count, of, None, None)
    return Share(count, of, count / of, proportion_interval(count, of))


@dataclass(frozen=True, slots=True)
class Conversion:
    """How many of a report's (or a group's) conversations and users converted, and what an
    order and a conversation were worth (definitions: conversion rates)."""

    per_conversation: Share  # conversations with a conversion attributed to them
    per_user: Share  # users with a conversion attributed to one of their conversations
    average_order_value: float | None  # amount of the attributed conversion events ÷ their number
    revenue_per_conversation: float | None  # attributed net revenue ÷ conversations


def converted(bot: Bot, attributed: Iterable[Attribution]) -> set[ConversationKey]:
    """The conversations a conversion event of ``attributed`` is attributed to."""
    return {
        (a.conversation.session, a.conversation.number)
        for a in attributed
        if a.conversation is not None and converts(bot, a.event)
    }


def conversion_rates(
    conversations: Sequence[Conversation],
    bought: Collection[ConversationKey],
    *,
    orders: Sequence[float],
    attributed_revenue: float,
) -> Conversion:
    """The rates of ``conversations``, of which those in ``bought`` converted (see
    :func:`converted`); ``orders`` are the amounts of the group's attributed conversion events,
    ``attributed_revenue`` its attributed net revenue."""
    users: set[str] = set()
    buyers: set[str] = set()
    count = 0
    for c in conversations:
        users.add(c.user)
        if (c.session, c.number) in bought:
            count += 1
            buyers.add(c.user)
    return Conversion(
        per_conversation=share(count, len(conversations)),
        per_user=share(len(buyers), len(users)),
        average_order_value=sum(orders) / len(orders) if orders else None,
        revenue_per_conversation=attributed_revenue / len(conversations)
        if conversations
        else None,
    )
