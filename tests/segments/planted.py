"""A planted audience: 10,000 customers of a shop with profiles, channel links and consent, a
week of business events (and the month before it, for 30-day windows), and the conversation
records that show goals and experiment variants; seeded, so every run plants the same data.

Besides the random traffic, events are planted on the edges of the windows the segments ask
about, at each instant the test looks at: exactly an hour before (out of ``within 1h``), a
second later (in), exactly at the instant (in), a second after it (not yet happened), exactly
three and four days before (the edges of ``3 days ago``).

:func:`load` puts it into a store through the store's own doors: the Audience port
(``put_profiles``, ``link``, ``change_consent``), ``add_events`` and ``commit``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from botkit.audience import ConsentChange
from botkit.engine.session import Session
from botkit.records import BusinessEvent, Record
from botkit.storage import Store

SEOUL = ZoneInfo("Asia/Seoul")
HOUR = 3600.0
DAY = 86400.0
T0 = dt.datetime(2026, 11, 2, tzinfo=SEOUL).timestamp()  # a Monday, midnight in Seoul
WEEK_END = T0 + 7 * DAY
INSTANTS = (
    T0 + DAY + 9 * HOUR,
    T0 + 3 * DAY + 12 * HOUR + 34 * 60 + 56,
    T0 + 5 * DAY,
    T0 + 6 * DAY + 23 * HOUR + 59 * 60,
    WEEK_END,
)
GRADES = ("VIP", "GOLD", "SILVER")
REGIONS = ("서울", "경기", "부산", "대구", "광주", "제주")
INTERESTS = ("패딩", "골프", "캠핑", "뷰티")
PRODUCTS = ("padding", "padding", "shoes", "bag", "패딩")
KINDS = (
    ("product_viewed", 50),
    ("cart_added", 22),
    ("purchase", 14),
    ("channel_added", 6),
    ("channel_blocked", 3),
    ("refund", 3),
    ("signup", 2),
)
BOT = "shop_helper"


@dataclass
class Planted:
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # user -> customer
    anonymous: list[str] = field(default_factory=list)  # users linked to no customer
    consents: list[tuple[str, ConsentChange]] = field(default_factory=list)
    events: list[BusinessEvent] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


def plant(customers: int = 10_000, anonymous: int = 2_000, seed: int = 19) -> Planted:
    rng = random.Random(seed)
    out = Planted()
    users_of: dict[str, list[str]] = {}
    for n in range(1, customers + 1):
        customer = f"C-{n:05d}"
        out.profiles[customer] = _profile(rng)
        users: list[str] = []
        for _ in range(rng.choices((0, 1, 2), (10, 75, 15))[0]):
            user = _user(rng, len(out.links) + len(out.anonymous))
            users.append(user)
            out.links[user] = customer
        users_of[customer] = users
    for _ in range(anonymous):
        out.anonymous.append(_user(rng, len(out.links) + len(out.anonymous)))
    ids = _Ids()
    kinds, weights = zip(*KINDS, strict=True)
    for customer, users in users_of.items():
        for _ in range(rng.randint(0, 16)):
            kind = rng.choices(kinds, weights)[0]
            at = float(rng.randint(int(T0 - 35 * DAY), int(WEEK_END + DAY)))
            out.events.append(_event(rng, ids, kind, at, customer, users))
    for user in out.anonymous:
        for _ in range(rng.randint(0, 6)):
            kind = rng.choices(kinds, weights)[0]
            at = float(rng.randint(int(T0 - 35 * DAY), int(WEEK_END + DAY)))
            out.events.append(_event(rng, ids, kind, at, None, [user]))
    _plant_edges(rng, ids, out, users_of)
    _plant_records(rng, out)
    _plant_consents(rng, out)
    return out


def _user(rng: random.Random, n: int) -> str:
    if rng.random() < 0.7:
        return f"{BOT}:kakao-{n:06d}"  # a Kakao botUserKey, as records name it
    return f"web-{n:06d}"  # a widget visitor


def _profile(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.04:
        return {}  # a customer the shop named before sending any profile
    profile: dict[str, Any] = {"region": rng.choice(REGIONS)}
    if rng.random() < 0.8:
        profile["grade"] = rng.choices(GRADES, (8, 22, 70))[0]
    if rng.random() < 0.9:
        profile["age"] = rng.randint(17, 75)
    if rng.random() < 0.05:
        profile["age"] = None  # sent as null: not set
    profile["gender"] = rng.choice(("F", "M"))
    if rng.random() < 0.7:
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        profile["joined"] = day.isoformat()
    if rng.random() < 0.6:
        profile["interests"] = rng.sample(INTERESTS, rng.randint(0, 3))
    if rng.random() < 0.5:
        profile["is_member"] = rng.random() < 0.5
    return profile


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"ev-{self.n:07d}"


def _event(
    rng: random.Random,
    ids: _Ids,
    kind: str,
    at: float,
    customer: str | None,
    users: list[str],
) -> BusinessEvent:
    data: dict[str, Any] | None = None
    if kind == "product_viewed":
        roll = rng.random()
        product: Any = rng.choice(PRODUCTS) if roll < 0.97 else (3 if roll < 0.985 else True)
        data = {"product": product}
    amount = float(rng.randint(1, 30) * 1000) if kind == "purchase" else None
    if customer is not None and (not users or rng.random() < 0.35):
        # The shop names its customer; sometimes also the user it came from.
        user = rng.choice(users) if users and rng.random() < 0.2 else ""
        return BusinessEvent(ids.next(), kind, user, at, amount, data, customer)
    return BusinessEvent(ids.next(), kind, rng.choice(users), at, amount, data)


def _plant_edges(
    rng: random.Random, ids: _Ids, out: Planted, users_of: dict[str, list[str]]
) -> None:
    """Events on the edges of the windows, for a few hundred members at each instant."""
    customers = sorted(users_of)
    for t in INSTANTS:
        for offset, kind in (
            (HOUR, "cart_added"),  # exactly an hour before: out of 'within 1h'
            (HOUR - 1, "cart_added"),  # a second inside
            (0.0, "cart_added"),  # at the instant itself: in
            (-1.0, "cart_added"),  # a second after: not yet happened
            (DAY, "purchase"),  # exactly 24h before: out of 'within 24h'
            (DAY - 1, "purchase"),
            (3 * DAY, "channel_added"),  # the newest moment of '3 days ago': in
            (4 * DAY, "channel_added"),  # exactly four days before: out
            (4 * DAY - 1, "channel_added"),  # the oldest moment inside
            (3 * DAY - 1, "channel_added"),  # too recent for '3 days ago'
        ):
            for customer in rng.sample(customers, 40):
                event = _event(rng, ids, kind, t - offset, customer, users_of[customer])
                out.events.append(event)
            for user in rng.sample(out.anonymous, 5):
                out.events.append(_event(rng, ids, kind, t - offset, None, [user]))
        for customer in rng.sample(customers, 30):  # three padding views just inside 24h
            for back in (DAY - 1, HOUR, 0.0):
                event = BusinessEvent(
                    ids.next(), "product_viewed", "", t - back, None, {"product": "padding"},
                    customer,
                )  # fmt: skip
                out.events.append(event)


def _plant_records(rng: random.Random, out: Planted) -> None:
    """Conversations of some users: which greeting variant they saw, which goals they reached."""
    users = [*rng.sample(sorted(out.links), 2_500), *rng.sample(out.anonymous, 500)]
    for user in users:
        variant = "greeting_title:" + rng.choice("ABC") if rng.random() < 0.8 else ""
        channel = "kakao" if user.startswith(BOT) else "web"
        at = float(rng.randint(int(T0 - 10 * DAY), int(WEEK_END)))
        kinds: list[tuple[str, dict[str, Any] | None]] = [("conversation_start", {"flow": "main"})]
        if variant:
            kinds.append(("experiment", {"experiment": "greeting_title", "variant": variant[-1]}))
        for goal in ("order_checked", "refund_requested"):
            if rng.random() < 0.35:
                kinds.append(("goal", {"goal": goal}))
        for seq, (kind, data) in enumerate(kinds, start=1):
            at += rng.choice((0.0, 5.0, 60.0, 3 * HOUR))
            out.records.append(
                Record(kind, f"{channel}:{user}", 1, seq, 1, at, BOT, "main", "v1", variant,
                       user, channel, data)
            )  # fmt: skip


def _plant_consents(rng: random.Random, out: Planted) -> None:
    members = [*rng.sample(sorted(out.profiles), 4_000)]
    members += [f"user:{u}" for u in rng.sample(out.anonymous, 300)]
    members += [f"user:never-seen-{n}" for n in range(20)]  # consent, but no event nor record
    for member in members:
        marketing = rng.choice((True, True, False, None))
        night = rng.choice((True, False, None))
        at = T0 - rng.randint(1, 90) * DAY
        out.consents.append((member, ConsentChange(at, "import", marketing, night)))


async def load(store: Store, planted: Planted) -> None:
    """Into ``store`` (open, empty) through its own methods."""
    audience: Any = store  # every store implements botkit.audience.Audience beside Store
    await audience.put_profiles(sorted(planted.profiles.items()), T0 - 40 * DAY)
    links = sorted(planted.links.items())
    for start in range(0, len(links), 200):  # a few hundred at a time: group commits
        await asyncio.gather(
            *(audience.link(u, c, T0 - 40 * DAY, "widget") for u, c in links[start : start + 200])
        )
    for start in range(0, len(planted.consents), 200):
        await asyncio.gather(
            *(audience.change_consent(m, c) for m, c in planted.consents[start : start + 200])
        )
    for start in range(0, len(planted.events), 5_000):
        await store.add_events(planted.events[start : start + 5_000])
    by_session: dict[str, list[Record]] = {}
    for record in planted.records:
        by_session.setdefault(record.session, []).append(record)
    sessions = sorted(by_session.items())
    for start in range(0, len(sessions), 200):
        await asyncio.gather(
            *(_commit(store, key, records) for key, records in sessions[start : start + 200])
        )


async def _commit(store: Store, key: str, records: list[Record]) -> None:
    first = records[0]
    session = Session(key, first.user, first.channel, conversation=1, turn=1, seq=len(records))
    await store.commit(session, records, expected_version=0)
