"""What botkit measures, each metric defined once, from the records alone.

A *conversation* is the records of one session between a ``conversation_start`` and the next
one (records carry the conversation's number). Every rate below has conversations (or user
messages) as its denominator, so numbers from different periods and bots compare.

* **conversations**: the number of ``conversation_start`` records.
* **completion rate**: conversations that end with a ``conversation_end`` of outcome
  ``resolved``, ÷ conversations.
* **containment rate**: conversations without a ``handoff_queued`` record (no person took
  part), ÷ conversations.
* **handoff rate**: conversations with a ``handoff_requested`` record, ÷ conversations; per
  reason too (``user_request``, ``repeated_fallback``, ``slot_exhausted``, ...).
* **fallback rate**: ``fallback`` records ÷ ``message_in`` records (user messages the bot did
  not understand).
* **turns**: ``message_in`` records per conversation: median and 90th percentile.
* **duration**: seconds from a conversation's first record to its last: median, 90th percentile.
* **slot failure rate**: per slot, ``slot_rejected`` ÷ (``slot_filled`` + ``slot_rejected``).
* **goal conversion**: per goal, conversations with a ``goal`` record for it ÷ conversations.
* **funnel**: per flow, for each state in file order, the conversations that entered it (a
  ``transition`` record to it).
* **drop-off**: per state, the conversations whose last state it was and that did not end
  ``resolved``; the ranking lists the states that lose the most conversations first.

* **feedback** (``--csat SLOT``, ``--comments SLOT``): the last score per conversation of the
  score slot: average, distribution, positive share (≥ 4) and negative share (≤ 2); the words
  of the comment slot, counted (all comments, and those of positive and negative scorers
  apart). ``slot_filled`` records carry the value of every slot not marked ``sensitive``.

Business events (purchases, sign-ups; ``POST /events`` or ``Store.add_events``) are
**attributed** by last touch: an event goes to the user's latest conversation that started at
or before it and whose last record is at most the window (7 days by default) before it;
otherwise to none. An attributed purchase counts for that conversation's variants and
promotions.

* **promotion funnel**: per promotion, *exposed* = conversations with a ``promotion`` record
  for it; *engaged* = of those, the ones where the user wrote after seeing it; *clicked* = the
  ones where the user pressed a choice or button of the state that showed it; *converted* =
  attributed purchases of exposed conversations; *revenue* = their amounts; *ROI* =
  (revenue − the promotion's ``cost``) ÷ cost.

Percentiles are nearest-rank: the smallest value with at least p% of the values at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["METRICS", "percentile", "rate"]

METRICS = (
    "conversations",
    "completion_rate",
    "containment_rate",
    "handoff_rate",
    "fallback_rate",
    "turns_median",
    "turns_p90",
    "duration_median_s",
    "duration_p90_s",
)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide (not 0: unknown, not zero)."""
    return part / whole if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
