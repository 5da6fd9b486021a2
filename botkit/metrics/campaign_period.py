"""A period's campaigns from a store: which sends, business events and records the measurement
(:mod:`botkit.metrics.campaigns`) needs, read once each.

A send belongs to the period its ``planned_at`` falls in, whole: its window runs on after the
period ends, and the purchases and replies in it are read up to the window's end (to the
report's now at the latest, as nothing later exists). Only the ``message_in`` and
``link_clicked`` records within the sends' windows are read: engagement needs no more.

A store that keeps no sends (it does not implement :class:`~botkit.campaigns.port.Sends`)
gives none: the campaigns are listed with nothing decided, and a note says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from botkit.campaigns.model import Campaign
from botkit.campaigns.port import Send, Sends
from botkit.flow.model import Bot
from botkit.metrics.calendar import Period
from botkit.metrics.campaigns import (
    CampaignResult,
    campaigns_of,
    measure_campaigns,
    window_of,
    window_start,
)
from botkit.records import Record, RecordKind
from botkit.storage import Store

__all__ = ["load_campaigns"]

NO_SENDS = "this store keeps no campaign sends: nothing to measure"


async def load_campaigns(
    store: Store,
    bot: Bot,
    *,
    since: float | None = None,
    until: float | None = None,
    now: float | None = None,
    links: Mapping[str, str] | None = None,
    campaigns: Mapping[str, Campaign] | None = None,
) -> dict[str, CampaignResult] | None:
    """The campaigns of the sends planned in ``[since, until)``: the bot's (or
    ``campaigns``), and any other campaign the sends name (one since removed); None when
    there are none to measure. ``links`` (channel user → customer) as the report read them."""
    chosen = campaigns_of(bot) if campaigns is None else campaigns
    if not chosen:  # no section, and no query a report of a bot without campaigns waits on
        return None
    if not isinstance(store, Sends):
        results = measure_campaigns(bot, chosen, ())
        for result in results.values():
            result.notes.append(NO_SENDS)
        return results
    sends = await store.sends(since=since, until=until)
    windows = _reach(sends, chosen)
    events = []
    records: list[Record] = []
    if windows is not None:
        first, last = windows
        # until is exclusive: just past the last window's end, whose last second still counts
        end = math.nextafter(last, math.inf)
        events = await store.events(since=first, until=end)
        for kind in (RecordKind.MESSAGE_IN, RecordKind.LINK_CLICKED):
            records += await store.records(kind=kind.value, since=first, until=end)
    return measure_campaigns(
        bot,
        chosen,
        sends,
        events,
        links=links,
        records=records,
        period=Period(since, until),
        now=now,
    )


def _reach(sends: list[Send], campaigns: Mapping[str, Campaign]) -> tuple[float, float] | None:
    """From the first measured send's window opening to the last one's end; None when no send
    is measured (none sent or held out)."""
    first = last = None
    for s in sends:
        start = window_start(s)
        if start is None:
            continue
        end = start + window_of(campaigns.get(s.campaign))
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
    return None if first is None or last is None else (first, last)
