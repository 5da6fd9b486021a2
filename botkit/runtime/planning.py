"""Planning campaigns at an instant: read what the planner needs from the store, decide
(:func:`botkit.campaigns.plan.plan`, pure), and keep the decisions.

What is read, per plan, set-based where the store can: the business events in the triggers'
windows, the audience, every exclusion rule and consent as segment member lists (one query
each on the SQL stores), the channel users each member has talked to the bot on (their
conversations' starts), the sends of the last week (for the caps), and, for a best-hour
campaign, the hours its audience wrote at. The same function serves ``botkit campaigns plan``
(``keep=False``: a dry run) and the sender (``keep=True``), so a dry run at an instant gives
the counts the run at that instant sends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from botkit.audience import ANONYMOUS, Audience, member_of
from botkit.campaigns.clock import hour_of, in_quiet, runs_between
from botkit.campaigns.model import Campaign, Outreach
from botkit.campaigns.plan import CampaignPlan, Candidate, PlanData, most_active_hours, plan
from botkit.campaigns.port import ACTIVE, Send, Sends, SendStatus
from botkit.keys import SessionKey
from botkit.records import BusinessEvent, RecordKind
from botkit.segments.model import EVER, Behaviour, Segment
from botkit.storage import Store

__all__ = ["BEST_HOUR_HISTORY", "MIN_OWN_HISTORY", "PlanStore", "plan_at"]

BEST_HOUR_HISTORY = 30 * 86400.0  # the messages a best hour is learned from: the last 30 days
MIN_OWN_HISTORY = 3  # fewer messages of their own: the member gets their audience's best hour
_CAP_HISTORY = 8 * 86400.0  # sends planned this long before still count toward a week's cap
# Everyone the audience knows (the universe a segment's ``not`` negates against): nobody has
# an event of a kind no one sends, so "at most 0 of them, ever" holds for every member. The
# kind starts with a control character, which POST /events refuses in a kind; not NUL, which
# PostgreSQL's text cannot hold (the query would fail).
_EVERYONE = Segment("everyone", "", Behaviour("\x01none", EVER, at_least=None, at_most=0))


class PlanStore(Store, Sends, Audience, Protocol):
    """A store that keeps sends and the audience: every store botkit ships."""


@dataclass(frozen=True, slots=True)
class _Reach:
    """Who can be reached where: member → [(channel, user)], most recent first."""

    by_member: Mapping[str, Sequence[tuple[str, str]]]


async def plan_at(
    store: PlanStore, outreach: Outreach, at: float, *, keep: bool, members: bool = False
) -> list[CampaignPlan]:
    """Plan every campaign at ``at``. ``keep``: write the decisions (the sender); else a dry
    run. Each plan's ``decisions`` are kept only when ``members`` (``--members``) or ``keep``."""
    if not outreach.campaigns or not isinstance(store, Sends) or not isinstance(store, Audience):
        return [CampaignPlan(name) for name in sorted(outreach.campaigns)]
    return await _plan(store, outreach, at, keep=keep, members=members)


async def _plan(
    store: PlanStore, outreach: Outreach, at: float, *, keep: bool, members: bool
) -> list[CampaignPlan]:
    links = await store.links()
    candidates = await _candidates(store, outreach, at, links)
    live = {name for name, found in candidates.items() if found}
    campaigns = [outreach.campaigns[name] for name in sorted(live)]
    reach = (
        await _reach(store, outreach, links, _named_members(candidates))
        if campaigns
        else _Reach({})
    )
    data = PlanData(
        at=at,
        candidates=candidates,
        excluded=await _exclusions(store, campaigns, at),
        marketing=await _consenting(store, "marketing", campaigns),
        night=await _consenting(store, "night", campaigns),
        reach=reach.by_member,
        history=await _history(store, at) if live else (),
        best_hour=await _best_hours(store, outreach, candidates, links, at),
    )
    plans = plan(outreach, data)
    if not keep:  # what earlier plans left for this instant: only a dry run counts it
        consent = (data.marketing, data.night) if any(c.advertising for c in campaigns) else None
        waiting = await _waiting(store, outreach, at, consent)
        for result in plans:
            result.waiting = waiting[result.campaign]
    if keep:
        await store.plan_sends([d for result in plans for d in result.decisions])
        for name, campaign in outreach.campaigns.items():
            # a scheduled run's audience is that of its start: planned now, it is planned
            # whole, and later plans need not read it again every tick until it expires
            if campaign.trigger.schedule is not None:
                tz = outreach.timezone
                window = runs_between(campaign.trigger.schedule, tz, at - campaign.expires, at)
                for run, _ in window:
                    await store.set_cursor(run_cursor(name, run), at)
    if not members and not keep:
        for result in plans:
            result.decisions = []
    return plans


async def _waiting(
    store: PlanStore,
    outreach: Outreach,
    at: float,
    consent: tuple[frozenset[str], frozenset[str]] | None,
) -> Counter[str]:
    """Per campaign, the sends of earlier plans the sender hands over at ``at``: those a claim
    takes then (planned and due, failed and due to be tried again, a claim whose lease ran
    out), less those the sender judges, as they leave, not to go (botkit.server.sender):
    expired, advertising whose member withdrew consent, advertising in the quiet window to a
    member without night-time consent. ``consent``: marketing and night, if already read."""
    open_sends = await store.sends(
        statuses=(SendStatus.PLANNED, SendStatus.FAILED, SendStatus.CLAIMED), until=_just_after(at)
    )
    ready = [
        s
        for s in open_sends
        if _claimable(s, at) and at < s.expires and s.campaign in outreach.campaigns
    ]
    found: Counter[str] = Counter()
    if any(outreach.campaigns[s.campaign].advertising for s in ready) and consent is None:
        marketing = frozenset(await store.consenting("marketing"))
        consent = (marketing, frozenset(await store.consenting("night")))
    quiet = in_quiet(at, outreach.quiet, outreach.timezone)
    rules: dict[tuple[str, str], frozenset[str]] = {}
    for send in ready:
        if send.due > send.planned_at or send.attempts:  # waited: its exclusions again
            campaign = outreach.campaigns[send.campaign]
            for rule in campaign.exclusions:
                key = (campaign.name, rule.name)
                if key not in rules:
                    rules[key] = frozenset(await store.segment_members(rule.segment, at))
            if any(send.member in rules[(campaign.name, r.name)] for r in campaign.exclusions):
                continue
        if outreach.campaigns[send.campaign].advertising:
            assert consent is not None
            marketing, night = consent
            if send.member not in marketing or (quiet and send.member not in night):
                continue
        found[send.campaign] += 1
    return found


def _claimable(send: Send, at: float) -> bool:
    """Whether a claim at ``at`` takes ``send`` (botkit.campaigns.port.Sends.claim_sends)."""
    since = {
        SendStatus.PLANNED: send.due,
        SendStatus.FAILED: send.next_try,
        SendStatus.CLAIMED: send.lease_until,
    }.get(SendStatus(send.status))
    return since is not None and since <= at and send.due <= at


async def _candidates(
    store: PlanStore, outreach: Outreach, at: float, links: Mapping[str, str]
) -> dict[str, list[Candidate]]:
    """Per campaign, the members its trigger names now, in its audience and dates, not yet
    decided about, under their name now or the one they had before they linked (a visitor
    sent the reminder as ``user:<visitor>`` who then logs in is not sent it again as the
    customer)."""
    events = await _trigger_events(store, outreach.campaigns.values(), at)
    aliases: dict[str, list[str]] = {}
    for user, customer in links.items():
        aliases.setdefault(customer, []).append(ANONYMOUS + user)
    found: dict[str, list[Candidate]] = {}
    for name, campaign in sorted(outreach.campaigns.items()):
        named = await _named(store, outreach, campaign, at, events, links)
        named = {k: c for k, c in named.items() if _in_dates(campaign, c.due)}
        if campaign.audience is not None and campaign.trigger.kind != "schedule":
            audience = set(await store.segment_members(campaign.audience, at))
            named = {k: c for k, c in named.items() if c.member in audience}
        by_run: dict[str, list[str]] = {}
        for candidate in named.values():
            by_run.setdefault(candidate.run, []).append(candidate.member)
        decided: set[tuple[str, str]] = set()
        for run, members in by_run.items():
            asked = set(members).union(*(aliases.get(m, ()) for m in members))
            got = await store.decided(name, run, asked)
            decided.update(
                (run, m) for m in members if m in got or any(a in got for a in aliases.get(m, ()))
            )
        found[name] = [c for k, c in sorted(named.items()) if k not in decided]
    return found


async def _named(
    store: PlanStore,
    outreach: Outreach,
    campaign: Campaign,
    at: float,
    events: Sequence[BusinessEvent],
    links: Mapping[str, str],
) -> dict[tuple[str, str], Candidate]:
    """(run, member) → candidate, the earliest due of each, for the campaign's trigger."""
    trigger = campaign.trigger
    out: dict[tuple[str, str], Candidate] = {}
    if trigger.kind == "event":
        for event in events:
            due = event.at + trigger.delay
            if event.kind != trigger.event or not (at - campaign.expires < due <= at):
                continue
            member = event.customer or member_of(event.user, links.get(event.user))
            key = ("", member)
            if key not in out or due < out[key].due:
                out[key] = Candidate(member, "", due)
    elif trigger.kind == "segment":
        assert trigger.entered is not None  # the compiler resolved it, or refused the bot
        for member in await store.segment_members(trigger.entered, at):
            out[("", member)] = Candidate(member, "", at)
    elif trigger.schedule is not None:
        tz = outreach.timezone
        for run, start in runs_between(trigger.schedule, tz, at - campaign.expires, at):
            if await store.cursor(run_cursor(campaign.name, run)) is not None:
                continue  # planned whole by an earlier plan: its audience was read at its start
            if campaign.audience is not None:
                audience = await store.segment_members(campaign.audience, start)
            else:  # everyone known: the customers, and the users no customer is linked to
                audience = await store.segment_members(_EVERYONE, start)
            for member in audience:
                out[(run, member)] = Candidate(member, run, start)
    return out


def run_cursor(campaign: str, run: str) -> str:
    """The cursor that says a scheduled run of ``campaign`` was planned whole."""
    return f"run:{campaign}:{run}"


def _in_dates(campaign: Campaign, due: float) -> bool:
    return (campaign.starts is None or due >= campaign.starts) and (
        campaign.ends is None or due < campaign.ends
    )


async def _trigger_events(
    store: PlanStore, campaigns: Iterable[Campaign], at: float
) -> list[BusinessEvent]:
    """The business events any event trigger may name at ``at``: one read, the widest window."""
    back = [c.trigger.delay + c.expires for c in campaigns if c.trigger.kind == "event"]
    if not back:
        return []
    kinds = {c.trigger.event for c in campaigns if c.trigger.kind == "event"}
    events = await store.events(since=at - max(back), until=_just_after(at))
    return [e for e in events if e.kind in kinds]


async def _exclusions(
    store: PlanStore, campaigns: Sequence[Campaign], at: float
) -> dict[tuple[str, str], frozenset[str]]:
    out: dict[tuple[str, str], frozenset[str]] = {}
    for campaign in campaigns:
        for rule in campaign.exclusions:
            members = await store.segment_members(rule.segment, at)
            out[(campaign.name, rule.name)] = frozenset(members)
    return out


def _just_after(at: float) -> float:
    """The bound that keeps what happened at ``at`` itself (``until`` is exclusive)."""
    return at + 1e-6


async def _history(store: PlanStore, at: float) -> list[Send]:
    """The sends the caps count: planned in the last 8 days and not after ``at`` (a dry run
    of an instant in the past sees what had been planned by then, not what came later)."""
    return await store.sends(statuses=ACTIVE, since=at - _CAP_HISTORY, until=_just_after(at))


async def _consenting(
    store: PlanStore, which: Literal["marketing", "night"], campaigns: Sequence[Campaign]
) -> frozenset[str]:
    """Members who gave a consent, read only when an advertising campaign has candidates."""
    if not any(c.advertising for c in campaigns):
        return frozenset()
    return frozenset(await store.consenting(which))


def _named_members(candidates: Mapping[str, Sequence[Candidate]]) -> set[str]:
    return {c.member for found in candidates.values() for c in found}


async def _reach(
    store: PlanStore, outreach: Outreach, links: Mapping[str, str], wanted: set[str]
) -> _Reach:
    """The channel users of each member of ``wanted`` the bot has a session with (a user the
    bot never talked with cannot be written to first: Kakao's Event API reaches channel friends
    who used the bot, the widget a visitor who opened it), and the dealers' webhook for every
    customer the shop named who has a linked user (the dealer knows their phone number; botkit
    does not send it). One indexed read of the candidates' session keys, however long the
    history."""
    users_of: dict[str, list[str]] = {}
    for user, customer in links.items():
        if customer in wanted:
            users_of.setdefault(customer, []).append(user)
    for member in wanted:
        if member.startswith(ANONYMOUS):
            users_of.setdefault(member, []).append(member[len(ANONYMOUS) :])
    channels = sorted(
        {c for campaign in outreach.campaigns.values() for c in campaign.channels} - {"webhook"}
    )
    keys = {
        str(SessionKey(channel, user)): (member, channel, user)
        for member, users in users_of.items()
        for user in users
        for channel in channels
    }
    known = await store.known_sessions(list(keys)) if keys else set()
    found: dict[tuple[str, str], list[str]] = {}
    for key in sorted(known):
        member, channel, _ = keys[key]
        found.setdefault((member, channel), []).append(key)
    by_member: dict[str, list[tuple[str, str]]] = {}
    for (member, channel), several in found.items():
        key = several[0] if len(several) == 1 else await _latest(store, several)
        by_member.setdefault(member, []).append((channel, keys[key][2]))
    for customer in wanted.intersection(links.values()):
        by_member.setdefault(customer, []).append(("webhook", customer))
    return _Reach(by_member)


async def _latest(store: PlanStore, keys: list[str]) -> str:
    """Of a member's sessions on one channel (two Kakao users linked to one customer), the
    one whose latest conversation started last: who they are there now. Rare, so read one by
    one."""
    latest = (float("-inf"), keys[0])
    for key in keys:
        session = await store.load(key)
        if session is not None and session.started_at > latest[0]:
            latest = (session.started_at, key)
    return latest[1]


async def _best_hours(
    store: PlanStore,
    outreach: Outreach,
    candidates: Mapping[str, Sequence[Candidate]],
    links: Mapping[str, str],
    at: float,
) -> dict[str, int]:
    """The most active hour of each best-hour campaign's candidates, from their messages of
    the last 30 days; those with too few get their campaign's audience's."""
    wanted = [
        c
        for name, c in sorted(outreach.campaigns.items())
        if c.send_at == "best_hour" and candidates.get(name)
    ]
    if not wanted:
        return {}
    messages = await store.records(
        kind=RecordKind.MESSAGE_IN, since=at - BEST_HOUR_HISTORY, until=_just_after(at)
    )
    hours: dict[str, Counter[int]] = {}
    tz = outreach.timezone
    for record in messages:
        member = member_of(record.user, links.get(record.user))
        hours.setdefault(member, Counter())[hour_of(record.at, tz)] += 1
    out: dict[str, int] = {}
    for campaign in wanted:
        members = {c.member for c in candidates.get(campaign.name, ())}
        counts = {m: hours.get(m, Counter()) for m in members}
        out.update(most_active_hours(counts, MIN_OWN_HISTORY))
    return out
