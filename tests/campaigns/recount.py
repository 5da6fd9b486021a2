"""The planted week (tests/campaigns/planted.py) recounted in plain Python, tick by tick: who
each campaign decides about at each tick, what it decides, and what the sender hands over.

It is written from what campaigns are documented to do, not from the code that does it: the
decision order of botkit/campaigns/plan.py's docstring (each exclusion rule in order, marketing
consent, a channel the campaign uses, the quiet window and the expiry, the caps, the holdout),
the models' docstrings (a campaign's channels are tried in its order; caps per calendar day in
Asia/Seoul and per rolling 7 days, across campaigns and the campaign's own), the port's (a member
is decided about once per campaign run; the sends that count toward caps), the sender's (each
send judged again as it leaves: expired, consent withdrawn, the quiet window) and the segment
language's windows (``within 24h`` at t: ``t - 24h < at <= t``). Time zones, windows, triggers
and reach are worked out here by hand, member by member; nothing calls the planner, a store or
botkit's clock helpers. The one thing shared is :func:`botkit.campaigns.plan.draw`, the hash the
holdout and the variant are drawn from (a test cannot recount a hash any other way).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botkit.campaigns.plan import draw
from tests.campaigns.planted import DAY, HOUR, SEOUL, Planted

WEEK = 7 * DAY
QUIET_FROM, QUIET_UNTIL = 20 * 60 + 50, 8 * 60  # the fixture's quiet_hours "20:50-08:00"
ACTIVE = ("planned", "sent", "delivered", "failed")  # what counts toward caps


@dataclass
class Person:
    """One member and what they did, as planted."""

    events: dict[str, list[tuple[float, Any]]] = field(default_factory=dict)  # kind: (at, data)
    starts: list[tuple[float, str, str]] = field(default_factory=list)  # (at, channel, user)
    messages: list[float] = field(default_factory=list)
    consent: list[tuple[float, bool | None, bool | None]] = field(default_factory=list)
    customer_with_user: bool = False  # the dealers' webhook knows them

    def count(self, kind: str, t: float, back: float, product: str | None = None) -> int:
        """Their events of ``kind`` with ``t - back < at <= t`` (of that product)."""
        return sum(
            1
            for at, data in self.events.get(kind, ())
            if t - back < at <= t
            and (product is None or (isinstance(data, dict) and data.get("product") == product))
        )

    def said(self, t: float) -> tuple[bool, bool]:
        """Marketing and night-time consent at ``t``: the last word on each by then."""
        marketing = night = None
        for at, m, n in self.consent:
            if at > t:
                break
            marketing = m if m is not None else marketing
            night = n if n is not None else night
        return marketing is True, night is True


Rule = Callable[[Person, float], bool]


@dataclass(frozen=True)
class Spec:
    """A campaign of the fixture, as its YAML reads."""

    name: str
    event: str | None = None  # "N after EVENT"
    delay: float = 0.0
    daily_at: int | None = None  # "every day at HH:00"
    first_day: dt.date | None = None  # starts
    last_day: dt.date | None = None  # ends (included)
    audience: Rule | None = None
    exclusions: tuple[tuple[str, Rule], ...] = ()
    channels: tuple[str, ...] = ("kakao", "web")
    expires: float = DAY
    holdout: float = 0.0
    variants: tuple[tuple[str, float], ...] = (("default", 1.0),)
    best_hour: bool = False
    per_day: int | None = None
    per_week: int | None = None


@dataclass
class Row:
    """A decision, and what became of it (as a Send row)."""

    campaign: str
    run: str
    member: str
    status: str
    planned_at: float
    due: float
    expires: float
    reason: str | None = None
    variant: str | None = None
    channel: str | None = None
    user: str | None = None
    sent_at: float | None = None
    next_try: float | None = None
    quieted: bool = False  # put off by the quiet window
    cap: str | None = None  # which cap: "day" or "week" (across campaigns), "own day"/"own week"


@dataclass
class Counts:
    """One campaign's counts at one tick, as ``campaigns plan`` says them."""

    eligible: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    capped: int = 0
    quiet: int = 0
    held_out: int = 0
    to_send: int = 0
    later: int = 0


# --- wall-clock time in Seoul, by hand ----------------------------------------------------------


def wall(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, SEOUL)


def goes(row: Row) -> float:
    """When a send counts toward the caps: when it went, else when it goes next."""
    if row.sent_at is not None:
        return row.sent_at
    if row.status == "failed" and row.next_try is not None:
        return max(row.due, row.next_try)
    return row.due


def in_quiet(at: float) -> bool:
    moment = wall(at)
    minute = moment.hour * 60 + moment.minute
    return minute >= QUIET_FROM or minute < QUIET_UNTIL


def after_quiet(at: float) -> float:
    """08:00 after ``at`` (the same day when before it), or ``at`` outside the window."""
    if not in_quiet(at):
        return at
    moment = wall(at)
    day = moment.date() + dt.timedelta(days=1 if moment.hour >= 8 else 0)
    return dt.datetime(day.year, day.month, day.day, 8, tzinfo=SEOUL).timestamp()


def at_hour_of(at: float, hour: int) -> float:
    day = wall(at).date()
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).timestamp()


# --- the recount ---------------------------------------------------------------------------------


class Recount:
    def __init__(self, planted: Planted, specs: Sequence[Spec]) -> None:
        self.specs = sorted(specs, key=lambda s: s.name)
        self.people: dict[str, Person] = {}
        for customer in planted.profiles:
            self.person(customer)
        for customer in planted.links.values():
            self.person(customer).customer_with_user = True
        # trigger kind -> [(due, member)] by due
        self.triggers: dict[str, list[tuple[float, str]]] = {}
        delays = {s.event: s.delay for s in specs if s.event is not None}
        for e in planted.events:
            member = e.customer if e.customer is not None else planted.member_of(e.user)
            self.person(member).events.setdefault(e.kind, []).append((e.at, e.data))
            if e.kind in delays:
                self.triggers.setdefault(e.kind, []).append((e.at + delays[e.kind], member))
        for found in self.triggers.values():
            found.sort()
        for talk in planted.conversations:
            person = self.person(planted.member_of(talk.user))
            for record in talk.records:
                if record.kind == "conversation_start":
                    person.starts.append((record.at, talk.channel, talk.user))
                elif record.kind == "message_in":
                    person.messages.append(record.at)
        for member, change in planted.consents:
            self.person(member).consent.append((change.at, change.marketing, change.night))
        for person in self.people.values():
            person.consent.sort(key=lambda c: c[0])
        self.rows: dict[tuple[str, str, str], Row] = {}
        self.mine: dict[str, list[Row]] = {}  # member -> their rows
        self.counts: dict[float, dict[str, Counts]] = {}
        self.handed: dict[float, Counter[str]] = {}  # tick -> campaign -> handed over
        self.audiences: dict[tuple[str, str], list[str]] = {}

    def person(self, member: str) -> Person:
        return self.people.setdefault(member, Person())

    def run(self, ticks: Sequence[float]) -> None:
        for t in ticks:
            self.counts[t] = {s.name: self.plan(s, t) for s in self.specs}
            self.handed[t] = self.send(t)

    # -- who the trigger names ----------------------------------------------------------------

    def candidates(self, spec: Spec, t: float) -> list[tuple[float, str, str]]:
        """(due, member, run) the campaign's trigger names at ``t``, not decided about yet."""
        found: dict[tuple[str, str], float] = {}
        if spec.event is not None:
            dues = self.triggers.get(spec.event, [])
            for due, member in dues[: bisect_right(dues, (t, "\U0010ffff"))]:
                if t - spec.expires < due and ("", member) not in found:
                    found[("", member)] = due  # by due: the first is the earliest
        else:
            assert spec.daily_at is not None
            day = wall(t - spec.expires).date()
            while day <= wall(t).date():
                start = dt.datetime(day.year, day.month, day.day, spec.daily_at, tzinfo=SEOUL)
                in_dates = (spec.first_day is None or day >= spec.first_day) and (
                    spec.last_day is None or day <= spec.last_day
                )
                if in_dates and t - spec.expires < start.timestamp() <= t:
                    run = day.isoformat()
                    for member in self.audience(spec, run, start.timestamp()):
                        found[(run, member)] = start.timestamp()
                day += dt.timedelta(days=1)
        return sorted(
            (due, member, run)
            for (run, member), due in found.items()
            if (spec.name, run, member) not in self.rows
        )

    def audience(self, spec: Spec, run: str, start: float) -> list[str]:
        """Who is in the audience when a run starts (worked out once a run)."""
        key = (spec.name, run)
        if key not in self.audiences:
            holds = spec.audience
            self.audiences[key] = [
                m for m, p in self.people.items() if holds is None or holds(p, start)
            ]
        return self.audiences[key]

    # -- deciding -----------------------------------------------------------------------------

    def plan(self, spec: Spec, t: float) -> Counts:
        counts = Counts()
        named = self.candidates(spec, t)
        hours = self.best_hours(spec, [m for _, m, _ in named], t) if spec.best_hour else {}
        for due, member, run in named:
            counts.eligible += 1
            row = Row(spec.name, run, member, "", t, due, due + spec.expires)
            self.decide(spec, row, self.people[member], t, hours.get(member), counts)
            self.rows[(spec.name, run, member)] = row
            self.mine.setdefault(member, []).append(row)
        return counts

    def decide(
        self, spec: Spec, row: Row, person: Person, t: float, hour: int | None, counts: Counts
    ) -> None:
        for rule, holds in spec.exclusions:
            if holds(person, t):
                row.status, row.reason = "excluded", rule
                counts.excluded[rule] += 1
                return
        marketing, night = person.said(t)
        if not marketing:  # every campaign of the fixture is advertising
            row.status, row.reason = "no_consent", "no_marketing_consent"
            counts.excluded["no_marketing_consent"] += 1
            return
        reach = self.reach(spec, row.member, person, t)
        if reach is None:
            row.status, row.reason = "unreachable", "unreachable"
            counts.excluded["unreachable"] += 1
            return
        due = max(row.due, t)
        if hour is not None:
            due = max(at_hour_of(row.due, hour), due)
        if not night and in_quiet(due):
            due, row.quieted = after_quiet(due), True
            if due >= row.expires:
                row.status, row.reason = "expired", "quiet_hours"
                counts.quiet += 1
                return
        row.cap = self.cap(spec, row.member, due, t)
        if row.cap is not None:
            row.status = "capped"
            counts.capped += 1
            return
        share = draw(spec.name, row.member)
        row.channel, row.user = reach
        if share < spec.holdout:
            row.status = "held_out"
            counts.held_out += 1
            return
        row.status, row.due, row.variant = "planned", due, self.variant(spec, share)
        if row.quieted:
            counts.quiet += 1
        elif due > t:
            counts.later += 1
        else:
            counts.to_send += 1

    def reach(self, spec: Spec, member: str, person: Person, t: float) -> tuple[str, str] | None:
        """The first of the campaign's channels, in its order, the member has: a channel
        user they started a conversation with by ``t`` (the most recent one), or, for the
        dealers' webhook, a customer the shop linked a user to."""
        for channel in spec.channels:
            if channel == "webhook":
                if person.customer_with_user:
                    return "webhook", member
                continue
            talks = [(at, user) for at, c, user in person.starts if c == channel and at <= t]
            if talks:
                return channel, max(talks)[1]
        return None

    def cap(
        self, spec: Spec, member: str, due: float, t: float, skip: Row | None = None
    ) -> str | None:
        """The cap one more send at ``due`` would break, if any: the member's sends on their
        way or gone (planned in the last 8 days, ``skip`` aside) on the same Seoul calendar
        day, or less than 7 days either side (no 7-day span then holds more than the cap).
        Each counts when it went, or when it goes (a put-off one: its next try)."""
        counted = [
            r
            for r in self.mine.get(member, ())
            if r.status in ACTIVE and r.planned_at >= t - 8 * DAY and r is not skip
        ]
        own = [goes(r) for r in counted if r.campaign == spec.name]
        for name, per_day, per_week, dues in (
            ("", 1, 3, [goes(r) for r in counted]),
            ("own ", spec.per_day, spec.per_week, own),
        ):
            day = wall(due).date()
            if per_day is not None and sum(wall(d).date() == day for d in dues) >= per_day:
                return name + "day"
            if per_week is not None and sum(abs(d - due) < WEEK for d in dues) >= per_week:
                return name + "week"
        return None

    @staticmethod
    def variant(spec: Spec, share: float) -> str:
        point = (share - spec.holdout) / (1 - spec.holdout) * sum(w for _, w in spec.variants)
        upto = 0.0
        for name, weight in spec.variants:
            upto += weight
            if point < upto:
                return name
        return spec.variants[-1][0]

    def best_hours(self, spec: Spec, members: list[str], t: float) -> dict[str, int]:
        """Each member's most active hour over the last 30 days (the earliest of a tie);
        with fewer than 3 messages, the hour most active over everyone the plan names."""
        counted = {
            m: Counter(wall(at).hour for at in self.people[m].messages if t - 30 * DAY <= at <= t)
            for m in members
        }
        overall: Counter[int] = Counter()
        for c in counted.values():
            overall.update(c)
        out: dict[str, int] = {}
        for member, c in counted.items():
            chosen = c if sum(c.values()) >= 3 else overall
            if chosen:
                top = max(chosen.values())
                out[member] = min(h for h, n in chosen.items() if n == top)
        return out

    # -- sending ------------------------------------------------------------------------------

    def send(self, t: float) -> Counter[str]:
        handed: Counter[str] = Counter()
        for row in self.rows.values():
            due = row.status == "planned" and row.due <= t
            retry = row.status == "failed" and row.next_try is not None and row.next_try <= t
            if not (due or retry):
                continue
            person = self.people[row.member]
            marketing, night = person.said(t)
            spec = next(s for s in self.specs if s.name == row.campaign)
            waited = row.due > row.planned_at or row.status == "failed"
            rule = next((r for r, holds in spec.exclusions if waited and holds(person, t)), None)
            if t >= row.expires:
                row.status, row.reason = "expired", "expired"
            elif rule is not None:  # an exclusion that came to hold while it waited
                row.status, row.reason = "withdrawn", rule
            elif not marketing:
                row.status, row.reason = "withdrawn", "consent"
            elif in_quiet(t) and not night:  # put off to the window's end, if the caps allow
                later = after_quiet(t)
                if later >= row.expires:
                    row.status, row.reason = "expired", "quiet_hours"
                elif self.cap(spec, row.member, later, t, skip=row) is None:
                    row.status, row.reason, row.next_try = "failed", "quiet_hours", later
                else:
                    row.status, row.reason = "withdrawn", "caps"
            else:
                row.status = "delivered" if row.channel == "web" else "sent"
                row.sent_at = t
                handed[row.campaign] += 1
        return handed


# --- the fixture's campaigns, as their YAML reads -----------------------------------------------


def padding_fans(p: Person, t: float) -> bool:
    return p.count("product_viewed", t, DAY, product="padding") >= 3


def recent_buyers(p: Person, t: float) -> bool:
    return p.count("purchase", t, DAY) >= 1


SPECS = (
    Spec(
        "cart_reminder",
        event="cart_added",
        delay=HOUR,
        exclusions=(("recent_buyers", recent_buyers),),
        channels=("kakao", "web"),
        expires=11 * HOUR,
    ),
    Spec(
        "welcome",
        event="channel_added",
        delay=3 * DAY,
        exclusions=(("blocked", lambda p, t: p.count("channel_blocked", t, 3 * DAY) >= 1),),
        channels=("kakao",),
    ),
    Spec(
        "winter_padding",
        daily_at=10,
        first_day=dt.date(2026, 12, 8),
        last_day=dt.date(2026, 12, 13),
        audience=padding_fans,
        exclusions=(
            ("recent_buyers", recent_buyers),
            ("refunded", lambda p, t: p.count("refund", t, WEEK) >= 1),
        ),
        channels=("kakao", "web", "webhook"),
        holdout=0.1,
        variants=(("A", 50.0), ("B", 50.0)),
        best_hour=True,
        per_week=2,
    ),
)
