"""Deciding, at one instant, who each campaign sends what: a function of data, no I/O.

The runtime gathers what a plan reads (``botkit.runtime.planning``): who the trigger names and
when each is due, the audience and every exclusion rule as sets of members, consent, where each
member can be reached, and the sends already made (for the caps). :func:`plan` then decides each
candidate **once**, in this order, and every decision becomes a :class:`~botkit.campaigns.Send`
row, so a plan can be repeated after a crash or by a second worker and changes nothing (the
store keeps the first row of each key):

1. each named exclusion rule, in the order written (``excluded``, reason: the rule);
2. advertising without marketing consent (``no_consent``; never asked is no);
3. no channel the campaign uses (``unreachable``);
4. the caps, across campaigns and the campaign's own (``capped``);
5. the holdout share (``held_out``, sent nothing: the control group);
6. the rest are ``planned``: due at once, or, for advertising in the quiet window without
   night-time consent, at the window's end.

Caps are applied before the holdout so that both arms lose the same members to them (a cap
applied after would take members from the sent arm only, and bias the lift). The holdout and
the variant are drawn from one hash of (campaign, member): stable across plans and workers.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from botkit.campaigns.clock import at_hour, day_of, quiet_end
from botkit.campaigns.model import Campaign, Caps, Outreach
from botkit.campaigns.port import Send, SendStatus

__all__ = [
    "NO_CONSENT_RULE",
    "UNREACHABLE_RULE",
    "CampaignPlan",
    "Candidate",
    "PlanData",
    "counted_at",
    "draw",
    "fits_caps",
    "most_active_hours",
    "plan",
    "send_key",
]

NO_CONSENT_RULE = "no_marketing_consent"  # how plans and reports name the built-in rules
UNREACHABLE_RULE = "unreachable"
WEEK = 7 * 86400.0


def send_key(campaign: str, run: str, member: str) -> str:
    """The idempotency key of a member's send in a campaign run, the same on every worker."""
    text = "\x1f".join((campaign, run, member)).encode("utf-8")
    return hashlib.sha256(text).hexdigest()[:32]


def draw(campaign: str, member: str) -> float:
    """A number in [0, 1) fixed for (campaign, member): the first ``holdout`` of it holds the
    member out, the rest picks the variant by weight."""
    digest = hashlib.sha256(f"{campaign}\x1f{member}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member the trigger names for a run, due from ``due`` (before the quiet window)."""

    member: str
    run: str
    due: float


@dataclass(slots=True)
class PlanData:
    """What a plan of one instant reads, gathered by the runtime."""

    at: float
    # campaign → its candidates not decided before, in the audience (one per member and run)
    candidates: Mapping[str, Sequence[Candidate]]
    # (campaign, rule) → members the rule holds at ``at``
    excluded: Mapping[tuple[str, str], frozenset[str]]
    marketing: frozenset[str]  # members who gave marketing consent
    night: frozenset[str]  # members who gave night-time consent
    # member → (channel, channel user) they can be reached on, most recent first
    reach: Mapping[str, Sequence[tuple[str, str]]]
    # the sends that count toward caps (planned or on their way or gone), around ``at``
    history: Sequence[Send] = ()
    # member → the local hour they were most active (best_hour campaigns)
    best_hour: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class CampaignPlan:
    """What one plan decided for one campaign: the counts ``campaigns plan`` prints (its JSON
    keys), and each member's decision for ``--members``."""

    campaign: str
    eligible: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    capped: int = 0
    quiet: int = 0
    held_out: int = 0
    to_send: int = 0  # planned now and due now (``waiting`` adds those planned before)
    later: int = 0  # planned for later today (their best hour)
    waiting: int = 0  # planned by an earlier plan, due by now, not sent yet
    decisions: list[Send] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "campaign": self.campaign,
            "eligible": self.eligible,
            "excluded": dict(self.excluded),
            "capped": self.capped,
            "quiet": self.quiet,
            "held_out": self.held_out,
            "to_send": self.to_send + self.waiting,
            "later": self.later,
        }


class _Caps:
    """The sends each member has, by day and by instant, to hold new ones to the caps."""

    def __init__(self, outreach: Outreach, history: Sequence[Send]) -> None:
        self.tz = outreach.timezone
        self.caps = outreach.caps
        self.dues: dict[str, list[tuple[str, float]]] = {}
        for send in history:
            self.dues.setdefault(send.member, []).append((send.campaign, counted_at(send)))

    def allows(self, campaign: Campaign, member: str, due: float) -> bool:
        dues = self.dues.get(member, ())
        if not _within(self.caps, [d for _, d in dues], due, self.tz):
            return False
        own = [d for name, d in dues if name == campaign.name]
        return _within(campaign.caps, own, due, self.tz)

    def take(self, campaign: str, member: str, due: float) -> None:
        self.dues.setdefault(member, []).append((campaign, due))


def counted_at(send: Send) -> float:
    """When a send counts toward the caps: when it went, or when it goes, which for one put
    off (a retry, the quiet window reached after its plan) is its next try, not its first
    due time."""
    if send.sent_at is not None:
        return send.sent_at
    if send.status == SendStatus.FAILED and send.next_try is not None:
        return max(send.due, send.next_try)
    return send.due


def fits_caps(
    outreach: Outreach, campaign: Campaign, member: str, due: float, history: Sequence[Send]
) -> bool:
    """Whether one more send of ``campaign`` to ``member`` at ``due`` keeps them within the
    caps, given their other sends ``history`` (the sender's check when it puts a send off)."""
    return _Caps(outreach, history).allows(campaign, member, due)


def _within(caps: Caps, dues: Sequence[float], due: float, tz: str) -> bool:
    """Whether one more send at ``due`` keeps ``dues`` within ``caps``. The week is rolling:
    with at most ``per_week - 1`` sends less than 7 days either side of ``due``, no 7-day span
    holding ``due`` can hold more than ``per_week``."""
    if caps.per_day is not None:
        day = day_of(due, tz)
        if sum(1 for d in dues if day_of(d, tz) == day) >= caps.per_day:
            return False
    week = caps.per_week
    return week is None or sum(1 for d in dues if abs(d - due) < WEEK) < week


def plan(outreach: Outreach, data: PlanData) -> list[CampaignPlan]:
    """Decide every candidate of ``data`` (see the module's docstring for the order). The
    campaigns are taken by name, each one's candidates by due time then member, so two
    workers planning the same data decide the same."""
    caps = _Caps(outreach, data.history)
    plans = []
    for name in sorted(outreach.campaigns):
        campaign = outreach.campaigns[name]
        result = CampaignPlan(name)
        for candidate in sorted(data.candidates.get(name, ()), key=lambda c: (c.due, c.member)):
            result.decisions.append(_decide(outreach, campaign, candidate, data, caps, result))
        plans.append(result)
    return plans


def _decide(
    outreach: Outreach,
    campaign: Campaign,
    candidate: Candidate,
    data: PlanData,
    caps: _Caps,
    result: CampaignPlan,
) -> Send:
    member = candidate.member
    result.eligible += 1
    row = Send(
        key=send_key(campaign.name, candidate.run, member),
        campaign=campaign.name,
        run=candidate.run,
        member=member,
        status=SendStatus.EXCLUDED,
        planned_at=data.at,
        due=candidate.due,
        expires=candidate.due + campaign.expires,
    )
    for rule in campaign.exclusions:
        if member in data.excluded.get((campaign.name, rule.name), frozenset()):
            return _not_sent(row, SendStatus.EXCLUDED, rule.name, result)
    if campaign.advertising and member not in data.marketing:
        return _not_sent(row, SendStatus.NO_CONSENT, NO_CONSENT_RULE, result)
    reach = _reach(campaign, data.reach.get(member, ()))
    if reach is None:
        return _not_sent(row, SendStatus.UNREACHABLE, UNREACHABLE_RULE, result)
    due, quieted = _send_time(outreach, campaign, row, data)
    if quieted and due >= row.expires:  # the window lasts past the expiry: it never goes
        result.quiet += 1
        return _replace(row, status=SendStatus.EXPIRED, reason="quiet_hours")
    if not caps.allows(campaign, member, due):
        result.capped += 1
        return _replace(row, status=SendStatus.CAPPED)
    share = draw(campaign.name, member)
    if share < campaign.holdout:
        result.held_out += 1
        return _replace(row, status=SendStatus.HELD_OUT, channel=reach[0], user=reach[1])
    caps.take(campaign.name, member, due)
    if quieted:
        result.quiet += 1
    elif due > data.at:
        result.later += 1
    else:
        result.to_send += 1
    return _replace(
        row,
        status=SendStatus.PLANNED,
        due=due,
        variant=_variant(campaign, share),
        channel=reach[0],
        user=reach[1],
    )


def _reach(campaign: Campaign, reach: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The first of the campaign's channels, in its order, the member can be reached on, and
    their most recent user there (``channels: [kakao, web]``: Kakao whenever they have it)."""
    for channel in campaign.channels:
        found = next((r for r in reach if r[0] == channel), None)
        if found is not None:
            return found
    return None


def _send_time(
    outreach: Outreach, campaign: Campaign, row: Send, data: PlanData
) -> tuple[float, bool]:
    """When the send may go, and whether the quiet window put it off: its due time (at the
    member's best hour that day, for a best_hour campaign, once that hour has come), after
    the quiet window for advertising to a member without night-time consent."""
    due = max(row.due, data.at)
    if campaign.send_at == "best_hour":
        hour = data.best_hour.get(row.member)
        if hour is not None:
            due = max(at_hour(row.due, hour, outreach.timezone), due)
    if campaign.advertising and row.member not in data.night:
        after = quiet_end(due, outreach.quiet, outreach.timezone)
        if after != due:
            return after, True
    return due, False


def _variant(campaign: Campaign, share: float) -> str:
    """The variant the rest of the draw above the holdout falls in, by weight."""
    rest = (share - campaign.holdout) / (1.0 - campaign.holdout) if campaign.holdout < 1 else 0
    total = sum(v.weight for v in campaign.variants)
    point, upto = rest * total, 0.0
    for variant in campaign.variants:
        upto += variant.weight
        if point < upto:
            return variant.name
    return campaign.variants[-1].name


def _not_sent(row: Send, status: SendStatus, rule: str, result: CampaignPlan) -> Send:
    result.excluded[rule] = result.excluded.get(rule, 0) + 1
    return _replace(row, status=status, reason=rule)


def _replace(row: Send, **changes: object) -> Send:
    return replace(row, **changes)  # type: ignore[arg-type]


def most_active_hours(hours_by_member: Mapping[str, Counter[int]], minimum: int) -> dict[str, int]:
    """Each member's most active local hour, from the hours of their messages: theirs when
    they wrote at least ``minimum`` times, else the hour most active over all members given
    (their segment's, when the caller gives a segment's members). Ties go to the earlier hour."""
    overall: Counter[int] = Counter()
    for counts in hours_by_member.values():
        overall.update(counts)
    fallback = _mode(overall) if overall else None
    out: dict[str, int] = {}
    for member, counts in hours_by_member.items():
        if sum(counts.values()) >= minimum:
            out[member] = _mode(counts)
        elif fallback is not None:
            out[member] = fallback
    return out


def _mode(counts: Counter[int]) -> int:
    best = max(counts.values())
    return min(hour for hour, n in counts.items() if n == best)
