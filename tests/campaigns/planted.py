"""A planted week for the campaigns: 10,000 customers of a shop (and channel users linked to no
customer) with profiles, channel links, consent that changes during the week, the conversations
that make them reachable and show the hours they write at, and a week of business events for
three campaigns (tests/campaigns/test_scenarios.py): a cart reminder, a welcome coupon three
days after the channel was added, and a daily padding promotion. Seeded: every run plants the
same data.

Besides the random traffic, events are planted on the edges the campaigns' rules turn on, at
instants of the sender's tick grid (:data:`TICK`): a cart exactly an hour before a tick (due at
it) and a second later; a purchase exactly 24 hours before the tick that decides (not
excluded), a second later (excluded), at the tick itself (excluded) and a second after it (not
yet); ticks at the quiet window's edges (20:00, 20:50, 22:00, 07:50, 08:00) and at midnight;
channels added at 00:00:00 and 23:59:59 (three days later, the quiet window and the calendar day
a per-day cap counts by differ); padding views exactly 24 hours before a 10:00 run and a second
later; consent withdrawn exactly at a tick and a second after one.

Everything is dated; :class:`Feeder` puts into a store what has happened by an instant (events
and consent changes with ``at <= t``, a conversation once its records are all ``<= t``), so at
each tick the store holds the past only, as a live store would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from botkit.audience import ConsentChange
from botkit.engine.session import Session
from botkit.records import BusinessEvent, Record, RecordKind
from botkit.storage import Store

SEOUL = ZoneInfo("Asia/Seoul")
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
T0 = dt.datetime(2026, 12, 7, tzinfo=SEOUL).timestamp()  # a Monday, midnight in Seoul
WEEK_END = T0 + 7 * DAY
# The sender ticks every two hours, and at 07:50 and 20:50 (the quiet window's edges). Each
# tick plans over the whole audience (about 0.5 s here at 10,000 customers, most of it reading
# consent), so an hourly week would take twice as long as this one.
TICK = 2 * HOUR
BOT = "shop_helper"
GRADES = ("VIP", "GOLD", "SILVER")
REGIONS = ("서울", "경기", "부산", "대구", "광주", "제주")
PRODUCTS = ("padding", "shoes", "bag", "패딩")
BACKGROUND = (
    ("product_viewed", 40),
    ("cart_added", 25),
    ("purchase", 16),
    ("refund", 3),
    ("channel_blocked", 2),
    ("signup", 2),
)


def ticks() -> list[float]:
    """Every instant the sender ticks at, T0 to the week's end, both included: each
    :data:`TICK`, and ten minutes before the quiet window ends and as it begins."""
    grid = {T0 + k * TICK for k in range(int(7 * DAY / TICK) + 1)}
    grid.update(local(day, hour, 50) for day in range(7) for hour in (7, 20))
    return sorted(grid)


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """The instant of ``hour:minute:second`` on day ``day`` of the week (0: T0's Monday)."""
    date = dt.date(2026, 12, 7) + dt.timedelta(days=day)
    moment = dt.datetime(date.year, date.month, date.day, hour, minute, second, tzinfo=SEOUL)
    return moment.timestamp()


@dataclass
class Conversation:
    """A user's conversation: its records, stored once all of them have happened."""

    user: str
    channel: str
    records: list[Record]

    @property
    def ready(self) -> float:
        return max(r.at for r in self.records)


@dataclass
class Planted:
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # user -> customer
    anonymous: list[str] = field(default_factory=list)  # users linked to no customer
    consents: list[tuple[str, ConsentChange]] = field(default_factory=list)  # by time
    events: list[BusinessEvent] = field(default_factory=list)  # by time
    conversations: list[Conversation] = field(default_factory=list)  # by ready time

    def member_of(self, user: str) -> str:
        customer = self.links.get(user)
        return customer if customer is not None else f"user:{user}"


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"ev-{self.n:07d}"


@dataclass
class _World:
    rng: random.Random
    out: Planted
    ids: _Ids
    users_of: dict[str, list[str]]  # customer -> their users
    talked: set[str]  # users with a conversation before the week
    pool: list[str]  # members likely to be sent to: consent and a conversation (edges go here)
    day_only: list[str]  # of them, those who did not agree to advertising at night

    def event(
        self,
        kind: str,
        at: float,
        member: str,
        *,
        data: dict[str, Any] | None = None,
        by_user: bool = False,
    ) -> None:
        """An event of ``member``: named by customer id, or by one of their users."""
        amount = float(self.rng.randint(1, 30) * 1000) if kind == "purchase" else None
        if member.startswith("user:"):
            user, customer = member[5:], None
        else:
            users = self.users_of[member]
            if users and (by_user or self.rng.random() < 0.6):
                user, customer = self.rng.choice(users), None
            else:
                user = self.rng.choice(users) if users and self.rng.random() < 0.2 else ""
                customer = member
        self.out.events.append(
            BusinessEvent(self.ids.next(), kind, user, at, amount, data, customer)
        )


def plant(customers: int = 10_000, anonymous: int = 1_500, seed: int = 20) -> Planted:
    rng = random.Random(seed)
    out = Planted()
    users_of: dict[str, list[str]] = {}
    n = 0
    for c in range(1, customers + 1):
        customer = f"C-{c:05d}"
        out.profiles[customer] = _profile(rng)
        users: list[str] = []
        for _ in range(rng.choices((0, 1, 2), (6, 80, 14))[0]):
            n += 1
            web = any(_channel(u) == "web" for u in users)
            user = _user(rng, n, kakao=1.0 if web else 0.8)  # one widget visitor at most
            users.append(user)
            out.links[user] = customer
        users_of[customer] = users
    for _ in range(anonymous):
        n += 1
        out.anonymous.append(_user(rng, n, kakao=0.9))
    world = _World(rng, out, _Ids(), users_of, set(), [], [])
    _plant_history(world)
    _plant_consents(world)
    _plant_background(world)
    _plant_carts(world)
    _plant_friends(world)
    _plant_padding(world)
    _plant_night_owls(world)
    out.events.sort(key=lambda e: (e.at, e.id))
    out.consents.sort(key=lambda c: c[1].at)
    out.conversations.sort(key=lambda c: (c.ready, c.user))
    return out


def _user(rng: random.Random, n: int, kakao: float = 0.8) -> str:
    if rng.random() < kakao:
        return f"{BOT}:kakao-{n:06d}"  # a Kakao botUserKey, as records name it
    return f"web-{n:06d}"  # a widget visitor


def _channel(user: str) -> str:
    return "kakao" if user.startswith(BOT) else "web"


def _profile(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.04:
        return {}  # a customer the shop named before sending any profile
    profile: dict[str, Any] = {"region": rng.choice(REGIONS), "gender": rng.choice(("F", "M"))}
    if rng.random() < 0.8:
        profile["grade"] = rng.choices(GRADES, (8, 22, 70))[0]
    if rng.random() < 0.9:
        profile["age"] = rng.randint(17, 75)
    if rng.random() < 0.6:
        profile["is_member"] = rng.random() < 0.5
    return profile


def _conversation(user: str, times: list[float]) -> Conversation:
    """A conversation of ``user``: it starts with their first message; each time is a message."""
    channel = _channel(user)
    session = f"{channel}:{user}"
    records = [
        Record(RecordKind.CONVERSATION_START, session, 1, 1, 1, times[0], BOT, "main", "v1", "",
               user, channel, {"flow": "main"}),
    ]  # fmt: skip
    for turn, at in enumerate(times, start=1):
        records.append(
            Record(RecordKind.MESSAGE_IN, session, 1, len(records) + 1, turn, at, BOT, "main",
                   "v1", "", user, channel, {"text": "안녕하세요", "payload": None})
        )  # fmt: skip
    return Conversation(user, channel, records)


def _plant_history(world: _World) -> None:
    """Most users talked to the bot in the four weeks before, mostly at a favourite hour
    (what a best-hour send learns); a few only an hour or two times, too few to learn from."""
    rng, out = world.rng, world.out
    hours = list(range(24))
    weights = [1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 8, 9, 12, 10, 8, 8, 8, 9, 10, 12, 14, 12, 9, 4]
    for user in [*sorted(out.links), *out.anonymous]:
        if rng.random() < 0.12:
            continue  # never talked: no channel to reach them on (but the dealers' webhook)
        favourite = rng.choices(hours, weights)[0]
        times = []
        for _ in range(rng.choice((1, 1, 2, 3, 4, 5, 6, 8))):
            day = T0 - rng.randint(1, 27) * DAY
            hour = favourite if rng.random() < 0.7 else rng.choices(hours, weights)[0]
            times.append(day + hour * HOUR + rng.randint(0, 3599))
        out.conversations.append(_conversation(user, sorted(times)))
        world.talked.add(user)


def _plant_consents(world: _World) -> None:
    """Consent before the week, and changes during it: withdrawals (some exactly at a tick or
    a second after one), late yeses, night-time consent given and taken back."""
    rng, out = world.rng, world.out
    members = [*sorted(out.profiles), *(f"user:{u}" for u in out.anonymous)]
    sender_ticks = ticks()
    yes: list[str] = []
    day_only: set[str] = set()
    for member in members:
        marketing = rng.choices((True, False, None), (60, 18, 22))[0]
        night = rng.choices((True, False, None), (30, 35, 35))[0]
        at = T0 - rng.randint(2, 90) * DAY - rng.randint(0, 86399)
        if marketing is not None or night is not None:
            out.consents.append((member, ConsentChange(at, "import", marketing, night)))
        if marketing:
            yes.append(member)
            if not night:
                day_only.add(member)
    talked_members = {out.member_of(u) for u in world.talked}
    world.pool = [m for m in yes if m in talked_members]
    world.day_only = [m for m in world.pool if m in day_only]
    for member in rng.sample(members, 700):
        at = float(rng.randint(int(T0), int(WEEK_END)))
        roll = rng.random()
        if roll < 0.15:
            at = rng.choice(sender_ticks[1:])  # exactly at a tick
        elif roll < 0.3:
            at = rng.choice(sender_ticks) + 1  # a second after one
        which = rng.random()
        if which < 0.5:
            change = ConsentChange(at, "opt_out_words", marketing=False, night=False)
        elif which < 0.75:
            change = ConsentChange(at, "api", marketing=True)
        else:
            change = ConsentChange(at, "api", night=rng.random() < 0.5)
        out.consents.append((member, change))


def _plant_background(world: _World) -> None:
    rng, out = world.rng, world.out
    kinds, weights = zip(*BACKGROUND, strict=True)
    members = [*sorted(out.profiles), *(f"user:{u}" for u in out.anonymous)]
    for member in members:
        for _ in range(rng.randint(0, 5)):
            kind = rng.choices(kinds, weights)[0]
            at = float(rng.randint(int(T0 - 8 * DAY), int(WEEK_END)))
            data = {"product": rng.choice(PRODUCTS)} if kind == "product_viewed" else None
            world.event(kind, at, member, data=data)


def _edge_ticks(rng: random.Random) -> list[float]:
    """Ticks the carts are planted around: the quiet window's edges and midnight every day,
    and random ones."""
    found = []
    for day in range(7):
        for hour, minute in ((0, 0), (7, 50), (8, 0), (10, 0), (20, 0), (20, 50), (22, 0)):
            found.append(local(day, hour, minute))
    return found + rng.sample(ticks(), 40)


def _plant_carts(world: _World) -> None:
    """Carts an hour before a tick, and purchases on the 24-hour edge of the exclusion; carts
    in the quiet window of members who then opt out before it ends (or exactly as it does)."""
    rng, out = world.rng, world.out
    for t in _edge_ticks(rng):
        due = t  # a cart an hour before: due at this tick, decided by it
        for offset, bought in (
            (0.0, None),
            (1.0, None),  # due a second after the tick: the next one decides
            (-1.0, None),  # due a second before: this tick
            (0.0, DAY),  # bought exactly 24 hours before the tick: not excluded
            (0.0, DAY - 1),  # a second inside: excluded
            (0.0, 0.0),  # bought at the tick itself: excluded
            (0.0, -1.0),  # a second after the tick: not yet
        ):
            for member in rng.sample(world.pool, 3):
                world.event("cart_added", due - HOUR + offset, member)
                if bought is not None:
                    world.event("purchase", due - bought, member)
    for day in range(7):  # put off by the quiet window to 08:00, and withdrawn by then
        morning = local(day + 1, 8)
        for t in (local(day, 22), local(day + 1, 0)):
            for member in rng.sample(world.day_only, 4):
                world.event("cart_added", t - HOUR, member)
                at = rng.choice((morning, morning - 1, t + rng.randint(1, int(morning - t))))
                out.consents.append((member, ConsentChange(at, "opt_out_words", False, False)))
    for member in rng.sample(world.pool, 300):  # a cart now and then over the week
        for _ in range(rng.randint(1, 3)):
            world.event("cart_added", float(rng.randint(int(T0 - DAY), int(WEEK_END))), member)


def _plant_friends(world: _World) -> None:
    """Kakao users who add the channel from four days before the week to its end: most of
    them say something right after (that starts the conversation the welcome goes to), some
    only days later, some never; some block the channel again."""
    rng, out = world.rng, world.out
    new = [u for u in [*sorted(out.links), *out.anonymous] if u not in world.talked]
    kakao = [u for u in new if _channel(u) == "kakao"]
    for user in rng.sample(kakao, min(len(kakao), 1_300)):
        member = out.member_of(user)
        roll = rng.random()
        if roll < 0.1:  # midnight, or a second before it: the edges of a calendar day
            day = rng.randint(-4, 6)
            added = local(day, 0) if rng.random() < 0.5 else local(day, 23, 59, 59)
        elif roll < 0.25:  # exactly three days before a tick: due at it
            added = rng.choice(ticks()) - 3 * DAY
        else:
            added = float(rng.randint(int(T0 - 4 * DAY), int(WEEK_END)))
        # Kakao names the user who added the channel, linked to a customer or not.
        out.events.append(BusinessEvent(world.ids.next(), "channel_added", user, added))
        talk = rng.random()
        if talk < 0.82:
            first = added + rng.randint(0, 1200)
        elif talk < 0.92:
            first = added + rng.randint(3 * 86400 - 7200, 4 * 86400)  # around their due
        else:
            first = None
        if first is not None:
            out.conversations.append(_conversation(user, [first]))
        if rng.random() < 0.06:
            world.event("channel_blocked", added + rng.randint(60, 5 * 86400), member)
        if rng.random() < 0.4 and member.startswith("user:"):
            consent = ConsentChange(added + 30, "kakao_channel", marketing=True)
            out.consents.append((member, consent))


def _plant_padding(world: _World) -> None:
    """Padding fans before the daily 10:00 runs: three views within 24 hours (a few the
    same every day, who run into the caps), the third view on the window's edges, and fans
    who bought or got a refund."""
    rng, out = world.rng, world.out
    fans = rng.sample(sorted(out.profiles), 900)
    loyal = set(fans[:150])
    view = {"product": "padding"}
    for member in fans:
        days = range(7) if member in loyal else rng.sample(range(7), rng.randint(1, 4))
        for day in days:
            run = local(day, 10)
            edge = rng.random()
            views = [run - rng.randint(1, int(DAY) - 1) for _ in range(2)]
            if edge < 0.1:
                views.append(run - DAY)  # exactly 24 hours before: out of the window
            elif edge < 0.2:
                views.append(run - DAY + 1)  # a second inside
            elif edge < 0.3:
                views.append(run)  # at the run itself: in
            else:
                views.append(run - rng.randint(1, int(DAY) - 1))
            for at in views:
                world.event("product_viewed", at, member, data=view)
            bought = rng.random()
            if bought < 0.04:
                world.event("purchase", run - DAY, member)  # not excluded
            elif bought < 0.08:
                world.event("purchase", run - DAY + 1, member)  # excluded
            elif bought < 0.1:
                world.event("purchase", run, member)  # excluded
            elif bought < 0.13:
                world.event("refund", run - rng.randint(1, 7 * 86400 - 1), member)


def _plant_night_owls(world: _World) -> None:
    """Padding fans who write at 22:00 and agreed to advertising at night, so the promotion
    is planned for 22:00; then, that afternoon, they take the night-time consent back: the
    sender, judging the send again as it leaves, puts it off to 08:00. Half of them also leave
    a cart the next morning."""
    rng, out = world.rng, world.out
    talks = {c.user: n for n, c in enumerate(out.conversations)}
    owls = [
        m
        for m in world.pool
        if not m.startswith("user:") and any(u in talks for u in world.users_of[m])
    ]
    view = {"product": "padding"}
    for n, member in enumerate(rng.sample(owls, 16)):
        user = next(u for u in world.users_of[member] if u in talks)
        earlier = out.conversations[talks[user]]
        times = [r.at for r in earlier.records if r.kind == RecordKind.MESSAGE_IN]
        times += [T0 - back * DAY + 22 * HOUR + 60 * back for back in range(2, 9)]
        out.conversations[talks[user]] = _conversation(user, sorted(times))
        out.consents.append((member, ConsentChange(T0 - DAY, "import", True, True)))
        day = 1 + n % 5
        run = local(day, 10)
        for back in (HOUR, 2 * HOUR, 3 * HOUR):
            world.event("product_viewed", run - back, member, data=view)
        out.consents.append((member, ConsentChange(local(day, 15), "api", night=False)))
        if n % 2:
            world.event("cart_added", local(day + 1, 9), member)


# --- into a store --------------------------------------------------------------------------------


class Feeder:
    """Puts into a store what has happened by an instant, in the store's own doors: the
    Audience port (``put_profiles``, ``link``, ``change_consent``), ``add_events`` and
    ``commit`` (a conversation once its last record has happened)."""

    def __init__(self, store: Store, planted: Planted) -> None:
        self.store = store
        self.planted = planted
        # when each event, consent change and conversation happened, in the lists' order
        self.times = (
            [e.at for e in planted.events],
            [c.at for _, c in planted.consents],
            [c.ready for c in planted.conversations],
        )
        self.events = 0
        self.consents = 0
        self.conversations = 0

    async def start(self) -> None:
        """The customers, their profiles and links: known before the week."""
        audience: Any = self.store  # every store implements botkit.audience.Audience
        await audience.put_profiles(sorted(self.planted.profiles.items()), T0 - 40 * DAY)
        links = sorted(self.planted.links.items())
        for start in range(0, len(links), 200):
            chunk = links[start : start + 200]
            await asyncio.gather(*(audience.link(u, c, T0 - 40 * DAY, "api") for u, c in chunk))

    async def until(self, t: float) -> None:
        """Everything with ``at <= t`` not put in yet."""
        planted, audience = self.planted, cast(Any, self.store)
        events, consents, conversations = self.times
        end = bisect_right(events, t, self.events)
        for start in range(self.events, end, 5_000):
            await self.store.add_events(planted.events[start : min(end, start + 5_000)])
        self.events = end
        end = bisect_right(consents, t, self.consents)
        for start in range(self.consents, end, 200):  # the newer word wins, in any order
            changes = planted.consents[start : min(end, start + 200)]
            await asyncio.gather(*(audience.change_consent(m, c) for m, c in changes))
        self.consents = end
        end = bisect_right(conversations, t, self.conversations)
        for start in range(self.conversations, end, 200):
            talks = planted.conversations[start : min(end, start + 200)]
            await asyncio.gather(*(self._commit(c) for c in talks))
        self.conversations = end

    async def _commit(self, conversation: Conversation) -> None:
        records = conversation.records
        first = records[0]
        session = Session(
            first.session, first.user, first.channel, conversation=1, turn=records[-1].turn,
            seq=len(records), started_at=first.at, last_at=records[-1].at,
        )  # fmt: skip
        await self.store.commit(session, records, expected_version=0)
