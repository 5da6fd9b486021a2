"""A period's metrics from a store: which records to read, and which conversations and business
events are the period's (``botkit report --from/--to/--vs``, the dashboard's "today").

A conversation belongs to the period it started in (its ``conversation_start`` is within
``[since, until)``), whole: its records after ``until`` count too. A business event belongs to
the period it happened in, and is attributed to the user's conversations as always, also to one
that started before ``since``. So a report reads more than the period's records:

* from ``since − window − a day`` when the period has business events: a purchase on the
  period's first morning may be credited to a conversation up to ``window`` (7 days) before,
  and that conversation may have started up to a day before its last activity (:data:`MARGIN_S`);
* the business events up to ``until``, from the first: those before the period are no part of
  its money, but say whether a purchase in it is a customer's first or a repeat (retention);
* to ``until + a day``: a conversation that started on the period's last evening goes on past
  midnight (:data:`TAIL_S`). One still going a day after the period is measured as it was then.

The conversations of the earlier days are read only for attribution: they are no part of the
period's figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from botkit._gc import no_cyclic_gc
from botkit.audience import Audience
from botkit.campaigns.model import Campaign
from botkit.flow.model import Bot
from botkit.metrics.calendar import day_of, day_period
from botkit.metrics.campaign_period import load_campaigns
from botkit.metrics.compute import Metrics, measure
from botkit.metrics.engagement import engagement_of
from botkit.metrics.experiments import DEFAULT_WINDOW_S as EXPERIMENT_WINDOW_S
from botkit.metrics.feedback import feedback
from botkit.metrics.fold import Conversation, by_conversation, fold_groups
from botkit.metrics.money import DEFAULT_WINDOW_S
from botkit.storage import Store

__all__ = ["MARGIN_S", "TAIL_S", "day_bounds", "in_period", "load_metrics"]

MARGIN_S = 86_400.0  # how long before its last activity a conversation may have started
TAIL_S = 86_400.0  # how long after the period a conversation that started in it is followed


def day_bounds(start: str | None, end: str | None, zone: str) -> tuple[float | None, float | None]:
    """``--from 2026-11-01 --to 2026-11-30`` as timestamps: from the first day's midnight to the
    end of the last day, in the bot's time zone."""
    # day_period: a day is midnight to midnight, 23 or 25 hours where the clocks change
    since = day_period(start, zone).since if start else None
    until = day_period(end, zone).until if end else None
    return since, until


def in_period(c: Conversation, since: float | None, until: float | None) -> bool:
    """Whether ``c`` started within ``[since, until)``. With a start, it must have been read
    (its ``conversation_start``): a conversation whose first record read is in the period but
    whose start is not began before it."""
    if until is not None and c.started_at >= until:
        return False
    return since is None or (c.has_start and c.started_at >= since)


async def load_metrics(
    store: Store,
    bot: Bot,
    *,
    flow: str | None = None,
    since: float | None = None,
    until: float | None = None,
    by: str | None = None,
    zone: str | None = None,
    csat: str | None = None,
    comments: str | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    now: float | None = None,
    experiment_window_s: float = EXPERIMENT_WINDOW_S,
    campaigns: Mapping[str, Campaign] | None = None,
) -> Metrics:
    """The metrics of the conversations that started in ``[since, until)`` and of the business
    events in it, read at ``now`` (the caller's clock; see :mod:`botkit.metrics.ends`);
    ``csat`` and ``comments`` name the feedback slots, if any. The campaigns (the bot's, or
    ``campaigns``) are measured on the sends planned in the period
    (:mod:`botkit.metrics.campaign_period`)."""
    # A month's report allocates millions of rows and counters: botkit/_gc.py says why.
    with no_cyclic_gc():
        # Every event up to the period's end: the period's own are its money (measure leaves the
        # others out), the earlier ones tell a repeat purchase from a first (retention).
        events = await store.events(until=until)
        links = await store.links() if isinstance(store, Audience) else {}
        first = since
        if since is not None and any(e.at >= since for e in events):
            first = since - window_s - MARGIN_S
        last = None if until is None else until + TAIL_S
        grouped = by_conversation(await store.report_rows(since=first, until=last))
        members: list[Conversation] = []
        earlier: list[Conversation] = []
        for c in fold_groups(grouped):
            (members if in_period(c, since, until) else earlier).append(c)
        if flow is not None:
            members = [c for c in members if any(s.startswith(flow + ".") for s in c.states)]
        metrics = measure(
            bot,
            members,
            flow=flow,
            by=by,
            zone=zone,
            events=events,
            window_s=window_s,
            now=now,
            earlier=earlier,
            experiment_window_s=experiment_window_s,
            since=since,
            until=until,
            links=links,
        )
        own = [grouped[(c.session, c.number)] for c in members]
        zone = zone or bot.timezone
        metrics.engagement = engagement_of(
            own,
            zone,
            first=None if since is None else day_of(since, zone),
            last=None if until is None else day_of(until - 1, zone),
            still_open_after=None if now is None else now - bot.inactivity_timeout,
        )
        if csat is not None or comments is not None:
            said = [r for rows in own for r in rows]
            metrics.feedback = feedback(said, score=csat, comment=comments)
        metrics.campaigns = await load_campaigns(
            store, bot, since=since, until=until, now=now, links=links, campaigns=campaigns
        )
        return metrics
