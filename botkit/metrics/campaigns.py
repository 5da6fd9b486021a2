"""Campaigns in a report: per campaign and per variant, every member it decided about and what
came of it (eligible → excluded → held out → sent → delivered → engaged → converted), its money
(revenue, cost, ROI) and its lift against the holdout, with a 95% interval and a p-value
(definitions: campaign, campaign_lift).

The input is what the scheduler keeps (:class:`~botkit.campaigns.port.Send`: one row for every
member a campaign decided about, whatever it decided), the shop's business events, the channel
links and the records. Nothing here reads a store (:mod:`botkit.metrics.campaign_period` does).

Three rules keep the lift honest:

* the unit is the send: one member in one run of the campaign (once per member for an event or
  segment trigger, once per run for a schedule). A held-out member is measured exactly as a
  sent one, over a window as long, from when the plan decided about them (``planned_at``; a
  sent member's window opens when the message left, ``sent_at``). Both ends count: a purchase
  at the window's last second converts, one a second later does not;
* a member's business event is theirs however the shop names them: its ``customer``, else the
  customer its user is linked to, else ``user:<user>``; an event of the very user a message
  went to is that member's too (a link made after the send);
* within one campaign an event is credited to one send only: the member's latest whose window
  holds it (a scheduled campaign's runs overlap). Each campaign is measured alone: a purchase
  within the windows of two campaigns counts for both, so campaigns' revenues do not add up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botkit.campaigns.model import Campaign, Outreach
from botkit.campaigns.port import DECIDED_NOT_TO_SEND, Send, SendStatus
from botkit.flow.model import Bot
from botkit.metrics.attribution import converts, net_amount
from botkit.metrics.calendar import ALL_TIME, Period
from botkit.metrics.campaign_lift import Lift, lift, lifts
from botkit.metrics.definitions import rate
from botkit.records import BusinessEvent, Record, RecordKind, ReportRow

__all__ = [
    "DEFAULT_WINDOW_S",
    "CampaignResult",
    "Lift",
    "Reached",
    "campaigns_of",
    "lift",
    "lifts",
    "measure_campaigns",
    "window_of",
    "window_start",
]

DEFAULT_WINDOW_S = 7 * 86_400.0  # Campaign.window's default: for sends of a campaign since removed

# Plain strings, bound once: compared for every send and record.
_SENT = frozenset({SendStatus.SENT.value, SendStatus.DELIVERED.value})
_DELIVERED = SendStatus.DELIVERED.value
_HELD_OUT = SendStatus.HELD_OUT.value
_EXCLUDED = SendStatus.EXCLUDED.value
_WAITING = frozenset({SendStatus.PLANNED.value, SendStatus.CLAIMED.value})
_NOT_DRAWN = frozenset(s.value for s in DECIDED_NOT_TO_SEND)  # no variant: nothing to send
_IN = RecordKind.MESSAGE_IN.value
_CLICKED = RecordKind.LINK_CLICKED.value
UNNAMED_RULE = "(unnamed)"  # an exclusion kept without its rule's name


def campaigns_of(bot: Bot) -> Mapping[str, Campaign]:
    """The bot's campaigns (``campaigns.yaml``), none when it has none."""
    outreach: Outreach | None = getattr(bot, "outreach", None)
    return {} if outreach is None else outreach.campaigns


# ---- what a campaign did ----------------------------------------------------------------------


@dataclass(slots=True)
class Reached:
    """What the messages of a campaign, or of one of its variants, did."""

    assigned: int = 0  # sends drawn to a variant (not held out), whatever became of them
    sent: int = 0  # handed to the provider, the delivered ones included
    delivered: int = 0  # the provider or the channel said it arrived
    engaged: int = 0  # sent, and the user wrote or opened a link within the window
    converted: int = 0  # sent, and the member converted within the window
    revenue: float = 0.0  # net revenue of the sent members' events within their windows
    cost: float = 0.0  # what the sends cost (Send.cost)
    lift: Lift = field(default_factory=Lift)
    incremental_revenue: float | None = None  # revenue − sent × revenue per held-out member

    @property
    def engaged_rate(self) -> float | None:
        return rate(self.engaged, self.sent)

    @property
    def conversion_rate(self) -> float | None:
        return rate(self.converted, self.sent)

    @property
    def roi(self) -> float | None:
        return (self.revenue - self.cost) / self.cost if self.cost else None

    def to_json(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned,
            "sent": self.sent,
            "delivered": self.delivered,
            "engaged": self.engaged,
            "converted": self.converted,
            "engaged_rate": self.engaged_rate,
            "conversion_rate": self.conversion_rate,
            "revenue": self.revenue,
            "incremental_revenue": self.incremental_revenue,
            "cost": self.cost,
            "roi": self.roi,
            "lift": self.lift.to_json(),
        }


@dataclass(slots=True)
class CampaignResult:
    """One campaign in a report: its funnel, its money, its lift, and each variant's."""

    title: str
    eligible: int = 0  # every member it decided about (one send each)
    excluded: dict[str, int] = field(default_factory=dict)  # per exclusion rule
    no_consent: int = 0  # advertising, and the member had not agreed to it
    capped: int = 0  # a frequency cap was reached
    unreachable: int = 0  # on none of the campaign's channels
    held_out: int = 0  # the control group: sent nothing on purpose
    held_out_converted: int = 0
    held_out_revenue: float = 0.0
    waiting: int = 0  # planned or being sent: not out yet
    failed: int = 0  # the last try failed; it is tried again
    parked: int = 0  # kept failing: given up
    expired: int = 0  # not sent before it expired
    withdrawn: int = 0  # consent withdrawn before it left
    messages: Reached = field(default_factory=Reached)  # every variant's together
    variants: dict[str, Reached] = field(default_factory=dict)
    still_measuring: int = 0  # sent or held out, their window not over when the report is read
    notes: list[str] = field(default_factory=list)

    @property
    def held_out_conversion_rate(self) -> float | None:
        return rate(self.held_out_converted, self.held_out)

    def to_json(self) -> dict[str, Any]:
        whole = self.messages.to_json()
        del whole["assigned"]  # every send not held out or decided against: eligible says it
        return {
            "eligible": self.eligible,
            "excluded": dict(self.excluded),
            "no_consent": self.no_consent,
            "capped": self.capped,
            "unreachable": self.unreachable,
            "held_out": self.held_out,
            "waiting": self.waiting,
            "failed": self.failed,
            "parked": self.parked,
            "expired": self.expired,
            "withdrawn": self.withdrawn,
            **{k: v for k, v in whole.items() if k in _FUNNEL},
            "held_out_converted": self.held_out_converted,
            "held_out_conversion_rate": self.held_out_conversion_rate,
            "held_out_revenue": self.held_out_revenue,
            **{k: v for k, v in whole.items() if k not in _FUNNEL},
            "still_measuring": self.still_measuring,
            "variants": {name: v.to_json() for name, v in self.variants.items()},
            "notes": list(self.notes),
        }


_FUNNEL = ("sent", "delivered", "engaged", "converted", "engaged_rate", "conversion_rate")


def measure_campaigns(
    bot: Bot,
    campaigns: Mapping[str, Campaign],
    sends: Iterable[Send],
    events: Iterable[BusinessEvent] = (),
    *,
    links: Mapping[str, str] | None = None,
    records: Iterable[Record | ReportRow] = (),
    period: Period = ALL_TIME,
    now: float | None = None,
    alpha: float = 0.05,
) -> dict[str, CampaignResult]:
    """Every campaign of ``campaigns`` (in their order), then any other that ``sends`` name (a
    campaign since removed), measured on the sends planned within ``period``.

    ``events`` are the shop's business events (what each kind is worth: ``bot.meaning``);
    ``links`` channel user → customer; ``records`` the ``message_in`` and ``link_clicked``
    records after the sends (others are ignored); ``now`` when the report is read (a send whose
    window is not over by then is counted in ``still_measuring``)."""
    of_campaign: dict[str, list[Send]] = {name: [] for name in campaigns}
    others: dict[str, list[Send]] = {}
    holds = None if period == ALL_TIME else period.holds
    for s in sends:
        if holds is None or holds(s.planned_at):
            (of_campaign if s.campaign in of_campaign else others).setdefault(
                s.campaign, []
            ).append(s)
    of_campaign |= dict(sorted(others.items()))
    windows = {name: window_of(campaigns.get(name)) for name in of_campaign}
    credit = _credit(bot, of_campaign, windows, events, links or {})
    touched = _touches(records)
    return {
        name: _result(
            name, campaigns.get(name), chosen, windows[name], credit, touched, now, alpha
        )
        for name, chosen in of_campaign.items()
    }


def window_of(campaign: Campaign | None) -> float:
    """How long after a send its member's purchases count (Campaign.window)."""
    return DEFAULT_WINDOW_S if campaign is None else campaign.window


def window_start(s: Send) -> float | None:
    """When a send's window opens: when it left (sent), when it was decided (held out); None
    for any other send, which is not measured."""
    if s.status in _SENT:
        return s.sent_at if s.sent_at is not None else s.due
    if s.status == _HELD_OUT:
        return s.planned_at
    return None


@dataclass(slots=True)
class _Credit:
    revenue: float = 0.0
    converted: bool = False


# A measured send as an event looks it up: its window, its campaign and its key.
_Open = tuple[float, float, str, str]


def _credit(
    bot: Bot,
    of_campaign: Mapping[str, Sequence[Send]],
    windows: Mapping[str, float],
    events: Iterable[BusinessEvent],
    links: Mapping[str, str],
) -> dict[str, _Credit]:
    """Per send key, the net revenue and whether it converted: each event goes, in each
    campaign, to the latest send of its member whose window holds it."""
    of_event = [(event, _members(event, links)) for event in events]
    wanted = {member for _, members in of_event for member in members}
    out: dict[str, _Credit] = {}
    if not wanted:
        return out
    # Only the sends of members with an event are looked up (a few of a campaign's).
    index: dict[str, list[_Open]] = {}
    for name, chosen in of_campaign.items():
        window = windows[name]
        for s in chosen:
            member, user = s.member, s.user
            own = "user:" + user if user else member
            if member not in wanted and own not in wanted:
                continue
            start = window_start(s)
            if start is None:
                continue
            opened = (start, start + window, name, s.key)
            index.setdefault(member, []).append(opened)
            if own != member:
                index.setdefault(own, []).append(opened)
    for event, members in of_event:
        latest: dict[str, tuple[float, str]] = {}
        at = event.at
        for member in members:
            for start, end, name, send in index.get(member, ()):
                if start <= at <= end:
                    seen = latest.get(name)
                    if seen is None or start > seen[0]:
                        latest[name] = (start, send)
        if not latest:
            continue
        net, conversion = net_amount(bot, event), converts(bot, event)
        for _, send in latest.values():
            credit = out.get(send)
            if credit is None:
                credit = out[send] = _Credit()
            credit.revenue += net
            credit.converted = credit.converted or conversion
    return out


def _members(event: BusinessEvent, links: Mapping[str, str]) -> tuple[str, ...]:
    """Who an event is of, as sends name members: its customer, else the customer its user is
    linked to, else ``user:<user>``; and ``user:<user>`` too (the user a message went to)."""
    user = event.user
    member = event.customer or (links.get(user) if user else None)
    if not user:
        return () if member is None else (member,)
    own = "user:" + user
    return (own,) if member is None or member == own else (member, own)


def _touches(records: Iterable[Record | ReportRow]) -> dict[str, list[float]]:
    """Per user, when they wrote (a message with text or a pressed choice) or opened a link,
    in order."""
    out: dict[str, list[float]] = {}
    for r in records:
        kind = r.kind
        if (kind == _IN and _wrote(r)) or kind == _CLICKED:
            out.setdefault(r.user, []).append(r.at)
    for times in out.values():
        times.sort()
    return out


def _wrote(r: Record | ReportRow) -> bool:
    """A message the user wrote; not the widget's empty opening (engagement.py reads it so)."""
    if r.data is None:  # a report row: the words are not read
        return True
    return bool(r.data.get("text") or r.data.get("payload"))


def _engaged(times: list[float] | None, start: float, window: float) -> bool:
    if not times:
        return False
    i = bisect_left(times, start)
    return i < len(times) and times[i] <= start + window


def _result(
    name: str,
    campaign: Campaign | None,
    sends: Sequence[Send],
    window: float,
    credit: Mapping[str, _Credit],
    touched: Mapping[str, list[float]],
    now: float | None,
    alpha: float,
) -> CampaignResult:
    result = CampaignResult(title=name if campaign is None else campaign.title or name)
    statuses = Counter(s.status for s in sends)
    result.eligible = len(sends)
    result.no_consent = statuses[SendStatus.NO_CONSENT.value]
    result.capped = statuses[SendStatus.CAPPED.value]
    result.unreachable = statuses[SendStatus.UNREACHABLE.value]
    result.held_out = statuses[_HELD_OUT]
    result.waiting = sum(statuses[s] for s in _WAITING)
    result.failed = statuses[SendStatus.FAILED.value]
    result.parked = statuses[SendStatus.PARKED.value]
    result.expired = statuses[SendStatus.EXPIRED.value]
    result.withdrawn = statuses[SendStatus.WITHDRAWN.value]
    excluded: Counter[str] = Counter()
    drawn: dict[str | None, list[Send]] = {}  # per variant, the sends drawn to it
    if campaign is not None:
        drawn.update((v.name, []) for v in campaign.variants)
    for s in sends:
        status = s.status
        if status == _HELD_OUT:
            got = credit.get(s.key)
            if got is not None:
                result.held_out_converted += got.converted
                result.held_out_revenue += got.revenue
        elif status == _EXCLUDED:
            excluded[s.reason or UNNAMED_RULE] += 1
        elif status not in _NOT_DRAWN:
            found = drawn.get(s.variant)
            if found is None:
                found = drawn[s.variant] = []
            found.append(s)
    reached = {v: _reached(chosen, window, credit, touched) for v, chosen in drawn.items()}
    result.messages = whole = _together(reached.values())
    whole.cost = sum(s.cost for s in sends)  # every send's, whatever became of it
    result.variants = {v: r for v, r in reached.items() if v is not None}
    if now is not None:
        result.still_measuring = sum(
            1 for s in sends if (start := window_start(s)) is not None and start + window > now
        )
    result.excluded = dict(sorted(excluded.items(), key=lambda item: (-item[1], item[0])))
    _lifts(result, alpha)
    _notes(result, campaign, name, statuses)
    return result


def _reached(
    sends: Sequence[Send],
    window: float,
    credit: Mapping[str, _Credit],
    touched: Mapping[str, list[float]],
) -> Reached:
    """What the sends drawn to one variant did."""
    out = Reached(assigned=len(sends))
    for s in sends:
        out.cost += s.cost
        if s.status not in _SENT:
            continue
        out.sent += 1
        out.delivered += s.status == _DELIVERED
        start = s.sent_at if s.sent_at is not None else s.due
        if touched and s.user:
            out.engaged += _engaged(touched.get(s.user), start, window)
        got = credit.get(s.key)
        if got is not None:
            out.converted += got.converted
            out.revenue += got.revenue
    return out


def _together(parts: Iterable[Reached]) -> Reached:
    """The variants' figures added up (their lift is worked out apart)."""
    out = Reached()
    for r in parts:
        out.assigned += r.assigned
        out.sent += r.sent
        out.delivered += r.delivered
        out.engaged += r.engaged
        out.converted += r.converted
        out.revenue += r.revenue
        out.cost += r.cost
    return out


def _lifts(result: CampaignResult, alpha: float) -> None:
    """The campaign's lift and each variant's (Holm-adjusted across the variants), and their
    incremental revenue, against the held out."""
    held_out = (result.held_out_converted, result.held_out)
    whole = result.messages
    whole.lift = lift(*held_out, whole.converted, whole.sent, alpha=alpha)
    treated = {name: (v.converted, v.sent) for name, v in result.variants.items()}
    for name, found in lifts(held_out, treated, alpha=alpha).items():
        result.variants[name].lift = found
    if result.held_out:
        per_member = result.held_out_revenue / result.held_out
        for reached in (whole, *result.variants.values()):
            reached.incremental_revenue = reached.revenue - reached.sent * per_member


def _notes(
    result: CampaignResult, campaign: Campaign | None, name: str, statuses: Counter[str]
) -> None:
    notes = result.notes
    if campaign is None:
        notes.append(
            f"campaign {name} is no longer in campaigns.yaml: measured with a 7-day window"
        )
    if not result.held_out:
        notes.append("nobody was held out (holdout: 0): the lift cannot be measured")
    elif not result.messages.sent:
        notes.append("nothing was sent yet: the lift cannot be measured")
    if len(result.variants) > 1:
        notes.append("the variants' p-values are Holm-adjusted across the variants")
    if result.still_measuring:
        notes.append(
            f"{result.still_measuring:,} sent or held-out members' windows are not over yet:"
            " conversions may still come"
        )
    known = {s.value for s in SendStatus}
    unknown = sum(n for status, n in statuses.items() if status not in known)
    if unknown:
        notes.append(f"{unknown:,} sends have a status this version does not know")
