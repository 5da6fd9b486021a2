"""Planted marketing traffic (issue 18, acceptance 3): on 10,000 synthetic users whose true
rates are known, conversion rates per breakdown, repurchase by cohort and a promotion within its
dates each lie within their 95% interval of the planted truth, and every count equals a
brute-force recount of the raw records written here, apart from the code under test.

The users (tests/metrics/money_flows, the bot's own records written directly: running 10,000
users with several conversations each over three months through the runtime would take minutes):

* each has a source (profile ``source``: instagram, naver, kakao_ad), a channel (kakao, web),
  the engine's sticky variant of ``copy``, and 1–3 conversations 1–6 days apart, the first on
  a day between 2026-11-01 and 2027-01-31;
* in a conversation, 45% open the offer screen, which shows ``winter_sale`` in any month (old
  records: the engine now shows it only in December); there 25% press 쿠폰 받기 and 15% 방문
  예약 (its offer), 45% 다음에요, 15% leave;
* a conversation is followed an hour later by a purchase with probability p: by source 8%, 12%,
  5%; +4 points in variant B, +2 on the web, +10 when it took the sale's offer in December. A
  tenth of the purchases are refunded two days later;
* a customer buys again, apart from their later conversations' purchases, with probability r
  (by source 25%, 15%, 10%; +10 points when they took the sale's offer before their first
  purchase) at a time no conversation is credited with (more than a week after their last);
  and 20% buy once more 31–40 days after their first purchase, which is too late to count.

The planted truth of a group is the mean of its members' probabilities (a conversation's p; a
user's 1 − Π(1 − p) over their conversations in the group; a customer's 1 − (1 − r)·Π(1 − p)
over their conversations after the first purchase). A 95% interval misses its truth one time
in twenty, so of the n intervals of a breakdown no more may miss than chance allows (at most
as many as a 1%-tail of Binomial(n, 5%)), and none may miss by far (see :func:`check`).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import botkit
from botkit.engine import variant_for
from botkit.metrics.ab import proportion_interval
from botkit.metrics.compute import conversations_of, measure
from botkit.metrics.conversion import Share
from botkit.records import BusinessEvent, Record

SHOP = botkit.load(Path(__file__).parent / "money_flows").bot
SEOUL = ZoneInfo("Asia/Seoul")
HOUR, DAY = 3600.0, 86_400.0
USERS, SEED = 10_000, 18

SOURCES = {"instagram": 0.40, "naver": 0.35, "kakao_ad": 0.25}
BUY = {"instagram": 0.08, "naver": 0.12, "kakao_ad": 0.05}
REPEAT = {"instagram": 0.25, "naver": 0.15, "kakao_ad": 0.10}
OFFER = {"get_coupon": 0.25, "visit": 0.15, "later": 0.45}  # the rest leave
WEIGHTS = SHOP.experiments["copy"].variants


def kst(year: int, month: int, day: int) -> float:
    return dt.datetime(year, month, day, tzinfo=SEOUL).timestamp()


FIRST_DAY = kst(2026, 11, 1)
SALE = (kst(2026, 12, 1), kst(2027, 1, 1))  # winter_sale: all of December, in Seoul
UNTIL = kst(2027, 2, 15)  # the report's end


# ---- the planted traffic -----------------------------------------------------------------------


@dataclass
class Talk:
    """One planted conversation and its truth."""

    user: str
    number: int
    start: float
    source: str
    channel: str
    variant: str
    opened: bool = False  # went to the offer screen
    pressed: str | None = None  # what they pressed there (a key of OFFER); None: left
    p: float = 0.0  # its planted purchase probability


@dataclass
class Traffic:
    records: list[Record] = field(default_factory=list)
    events: list[BusinessEvent] = field(default_factory=list)
    talks: list[Talk] = field(default_factory=list)
    repeat: dict[str, float] = field(default_factory=dict)  # customer → planted r
    first_purchase: dict[str, float] = field(default_factory=dict)


def took_sale(t: Talk) -> bool:
    """Whether ``t`` took the sale's offer while it ran (its screen is shown 10 s in)."""
    return t.pressed in ("get_coupon", "visit") and SALE[0] <= t.start + 10 < SALE[1]


def plant(seed: int) -> Traffic:
    rng = random.Random(seed)
    out = Traffic()
    for i in range(USERS):
        user = f"u{i:05d}"
        source = rng.choices(list(SOURCES), weights=list(SOURCES.values()))[0]
        channel = "kakao" if rng.random() < 0.6 else "web"
        variant = variant_for(user, "copy", WEIGHTS)
        start = FIRST_DAY + rng.randrange(92) * DAY + rng.uniform(9 * HOUR, 22 * HOUR)
        count = 1 + (rng.random() < 0.4) + (rng.random() < 0.2)
        talks = []
        for n in range(1, count + 1):
            t = Talk(user, n, start, source, channel, variant)
            t.opened = rng.random() < 0.45
            t.pressed = _pick(rng, OFFER) if t.opened else None
            t.p = BUY[source] + 0.04 * (variant == "B") + 0.02 * (channel == "web")
            t.p += 0.10 * took_sale(t)
            talks.append(t)
            out.records += _records(t)
            start += rng.randint(1, 6) * DAY + rng.uniform(-2 * HOUR, 2 * HOUR)
        bought: list[float] = []
        for t in talks:
            if rng.random() < t.p:
                at = t.start + 30 + HOUR
                amount = float(rng.randrange(100, 1000) * 100)
                out.events.append(
                    BusinessEvent(f"{user}-p{t.number}", "purchase", user, at, amount)
                )
                bought.append(at)
                if rng.random() < 0.1:
                    back = BusinessEvent(
                        f"{user}-r{t.number}", "refund", user, at + 2 * DAY, amount
                    )
                    out.events.append(back)
        out.talks += talks
        if not bought:
            continue
        first = bought[0]
        out.first_purchase[user] = first
        r = REPEAT[source] + 0.10 * any(took_sale(t) for t in talks if t.start <= first)
        out.repeat[user] = r
        last = talks[-1].start + 30
        if rng.random() < r:  # credited to no conversation: over a week after the last one
            at = rng.uniform(last + 7 * DAY + HOUR, first + 30 * DAY - HOUR)
            out.events.append(BusinessEvent(f"{user}-again", "purchase", user, at, 20_000.0))
        if rng.random() < 0.2:  # too late to count as buying again
            at = first + rng.uniform(31 * DAY, 40 * DAY)
            out.events.append(BusinessEvent(f"{user}-late", "purchase", user, at, 20_000.0))
    out.events = [e for e in out.events if e.at < UNTIL]  # what the shop has told us by then
    return out


def _pick(rng: random.Random, weights: dict[str, float]) -> str | None:
    point, total = rng.random(), 0.0
    for name, w in weights.items():
        total += w
        if point < total:
            return name
    return None


def _records(t: Talk) -> list[Record]:
    """The records the engine writes for ``t`` (kinds and data as botkit.records says)."""
    session, variant = f"{t.channel}:{t.user}", f"copy:{t.variant}"
    out: list[Record] = []

    def add(kind: str, at: float, **data: object) -> None:
        # Records carry the variant from the experiment record on.
        known = kind == "experiment" or any(r.kind == "experiment" for r in out)
        seq = 100 * t.number + len(out)
        where = ("winter_shop", "shop", "v1", variant if known else "")
        out.append(Record(kind, session, t.number, seq, 0, at, *where, t.user, t.channel, data))

    def move(at: float, source: str | None, to: str, trigger: str) -> None:
        add("transition", at, **{"from": source, "to": to, "trigger": trigger})

    add("conversation_start", t.start, flow="shop", locale="ko", segment={"source": t.source})
    add("message_in", t.start, text="안녕하세요", payload=None)
    move(t.start, None, "shop.menu", "start")
    add("experiment", t.start, experiment="copy", variant=t.variant)
    add("promotion", t.start, promotion="welcome")
    if not t.opened:  # looked around and left
        add("message_in", t.start + 10, text="둘러볼게요", payload=None)
        move(t.start + 10, "shop.menu", "shop.bye", "choice: shop.bye")
        add("conversation_end", t.start + 10, outcome="resolved")
        return out
    add("message_in", t.start + 10, text="이벤트", payload=None)
    move(t.start + 10, "shop.menu", "shop.offer", "choice: shop.offer")
    add("promotion", t.start + 10, promotion="winter_sale")
    if t.pressed is None:  # left on the offer screen: the conversation stays open
        return out
    add("message_in", t.start + 20, text=t.pressed, payload=None)
    if t.pressed == "get_coupon":
        move(t.start + 20, "shop.offer", "shop.bye", "payload: get_coupon")
    elif t.pressed == "visit":
        move(t.start + 20, "shop.offer", "shop.visit", "choice: shop.visit")
        move(t.start + 30, "shop.visit", "shop.bye", "next")
    else:  # 다음에요
        move(t.start + 20, "shop.offer", "shop.bye", "choice: shop.bye")
    add("conversation_end", t.start + 30, outcome="resolved")
    return out


# ---- the brute-force recount, from the raw records ---------------------------------------------

Key = tuple[str, int]  # (session, conversation)
OFFER_PRESSES = {"get_coupon", "shop.visit"}  # winter_sale's offer, as bot.yaml names it


@dataclass
class Seen:
    """One conversation as its raw records show it."""

    user: str = ""
    channel: str = ""
    start: float = 0.0
    last: float = 0.0
    source: str = ""
    variant: str = ""
    sale_at: float | None = None  # when winter_sale was shown
    wrote_after_sale: bool = False
    presses: list[str] = field(default_factory=list)  # on the offer screen

    @property
    def took_sale(self) -> bool:
        shown = self.sale_at is not None and SALE[0] <= self.sale_at < SALE[1]
        return shown and bool(OFFER_PRESSES & set(self.presses))


def recount(records: Iterable[Record]) -> dict[Key, Seen]:
    seen: dict[Key, Seen] = defaultdict(Seen)
    for r in sorted(records, key=lambda r: (r.session, r.conversation, r.seq)):
        c = seen[(r.session, r.conversation)]
        data = r.data or {}
        c.user, c.channel, c.last = r.user, r.channel, max(c.last, r.at)
        if r.kind == "conversation_start":
            c.start, c.source = r.at, data["segment"]["source"]
        elif r.kind == "experiment":
            c.variant = f"copy:{data['variant']}"
        elif r.kind == "promotion" and data["promotion"] == "winter_sale":
            c.sale_at = r.at
        elif r.kind == "message_in" and c.sale_at is not None:
            c.wrote_after_sale = True
        elif r.kind == "transition" and data["from"] == "shop.offer":
            c.presses.append(data["trigger"].split(": ", 1)[1])
    return dict(seen)


def credited(seen: dict[Key, Seen], events: list[BusinessEvent]) -> dict[str, Key | None]:
    """Event id → the conversation it is credited to: the user's latest one that started by
    then, if its last record is at most a week before the event."""
    of_user: dict[str, list[Key]] = defaultdict(list)
    for key, c in seen.items():
        of_user[c.user].append(key)
    out: dict[str, Key | None] = {}
    for e in events:
        best: Key | None = None
        for key in of_user[e.user]:
            c = seen[key]
            credits = c.start <= e.at and e.at - c.last <= 7 * DAY
            if credits and (best is None or c.start > seen[best].start):
                best = key
        out[e.id] = best
    return out


def net(e: BusinessEvent) -> float:
    return {"purchase": 1.0, "refund": -1.0}.get(e.kind, 0.0) * (e.amount or 0.0)


def day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, SEOUL).date().isoformat()


def group_of(c: Seen, by: str) -> str:
    return {
        "segment:source": f"source={c.source}",
        "channel": c.channel,
        "variant": c.variant,
        "day": day(c.start),
    }[by]


# ---- intervals and truth -----------------------------------------------------------------------


def allowed_misses(n: int) -> int:
    """The fewest misses that n 95% intervals exceed less than 1% of the time by chance."""
    k, below = 0, 0.0
    while True:
        below += math.comb(n, k) * 0.05**k * 0.95 ** (n - k)
        if 1.0 - below < 0.01:
            return k
        k += 1


def check(cases: list[tuple[str, Share, float]]) -> None:
    """The 95% intervals miss their truth no more often than chance allows, and none misses it
    by far: each holds it within its (1 − 1%/n) interval, which all n together fail less than
    1% of the time by chance (Bonferroni)."""
    far = []
    misses = []
    wide = 1.0 - 0.01 / len(cases)
    for name, share, truth in cases:
        assert share.interval == proportion_interval(share.count, share.of), name
        low, high = proportion_interval(share.count, share.of, wide)
        if not low <= truth <= high:
            far.append((name, share.rate, truth))
        low, high = share.interval
        if not low <= truth <= high:
            misses.append((name, share.rate, truth))
    assert not far
    assert len(misses) <= allowed_misses(len(cases)), misses


def user_truth(ps: Iterable[float]) -> float:
    """The chance that a user with conversations of these probabilities buys at least once."""
    return 1.0 - math.prod(1.0 - p for p in ps)


@dataclass
class Planted:
    traffic: Traffic
    seen: dict[Key, Seen]
    credit: dict[str, Key | None]
    p: dict[Key, float]  # each conversation's planted purchase probability


@pytest.fixture(scope="module")
def planted() -> Planted:
    traffic = plant(SEED)
    seen = recount(traffic.records)
    p = {(f"{t.channel}:{t.user}", t.number): t.p for t in traffic.talks}
    return Planted(traffic, seen, credited(seen, traffic.events), p)


# ---- the figures -------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["segment:source", "channel", "variant", "day"])
def test_conversion_rates_and_money_per_breakdown(planted: Planted, by: str) -> None:
    traffic, seen = planted.traffic, planted.seen
    metrics = measure(
        SHOP, conversations_of(traffic.records), by=by, events=traffic.events, until=UNTIL
    )
    members: dict[str, list[Key]] = defaultdict(list)
    for key, c in seen.items():
        members[group_of(c, by)].append(key)
    bought = {k for e in traffic.events if e.kind == "purchase" and (k := planted.credit[e.id])}
    money: dict[str, list[BusinessEvent]] = defaultdict(list)
    for e in traffic.events:
        credit = planted.credit[e.id]
        if by == "day":
            money[day(e.at)].append(e)
        elif credit is not None:
            money[group_of(seen[credit], by)].append(e)
    assert sorted(metrics.groups) == sorted(members.keys() | money.keys())
    cases: list[tuple[str, Share, float]] = []
    for name, group in metrics.groups.items():
        keys = members.get(name, [])
        users = {seen[k].user for k in keys}
        buyers = {seen[k].user for k in keys if k in bought}
        rates = group.conversion
        assert rates is not None
        assert (rates.per_conversation.count, rates.per_conversation.of) == (
            sum(1 for k in keys if k in bought),
            len(keys),
        )
        assert (rates.per_user.count, rates.per_user.of) == (len(buyers), len(users))
        own = money.get(name, [])
        assert group.money.revenue == pytest.approx(sum(net(e) for e in own), abs=1e-6)
        assert group.money.conversions == sum(1 for e in own if e.kind == "purchase")
        if not keys:
            continue
        by_user: dict[str, list[float]] = defaultdict(list)
        for k in keys:
            by_user[seen[k].user].append(planted.p[k])
        cases.append(
            (f"{name} per conversation", rates.per_conversation, _mean(planted.p[k] for k in keys))
        )
        cases.append(
            (f"{name} per user", rates.per_user, _mean(map(user_truth, by_user.values())))
        )
    overall = metrics.conversion
    assert overall is not None
    assert overall.per_conversation.of == len(seen)
    cases.append(("all", overall.per_conversation, _mean(planted.p.values())))
    check(cases)


def test_repurchase_by_cohort(planted: Planted) -> None:
    traffic, seen = planted.traffic, planted.seen
    figures = measure(
        SHOP, conversations_of(traffic.records), events=traffic.events, until=UNTIL
    ).retention
    assert figures is not None
    purchases: dict[str, list[float]] = defaultdict(list)
    for e in traffic.events:
        if e.kind == "purchase":
            purchases[e.user].append(e.at)
    by_user: dict[str, list[Key]] = defaultdict(list)
    for key, c in seen.items():
        by_user[c.user].append(key)
    waiting = 0
    cohorts: dict[str, dict[str, list[tuple[bool, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for user, times in purchases.items():
        times.sort()
        first = times[0]
        if first + 30 * DAY > UNTIL:
            waiting += 1
            continue
        again = len(times) > 1 and times[1] <= first + 30 * DAY
        talks = sorted(by_user[user], key=lambda k: seen[k].start)
        after = [planted.p[k] for k in talks if seen[k].start > first]
        truth = 1.0 - (1.0 - traffic.repeat[user]) * (1.0 - user_truth(after))
        first_talk = seen[talks[0]]
        took = any(seen[k].took_sale for k in talks if seen[k].start <= first)
        year, week, _ = dt.datetime.fromtimestamp(first_talk.start, SEOUL).isocalendar()
        for kind, name in (
            ("all", "all"),
            ("week", f"{year}-W{week:02d}"),
            ("source", f"source={first_talk.source}"),
            ("variant", first_talk.variant),
            ("promotion", "winter_sale" if took else "none"),
        ):
            cohorts[kind][name].append((again, truth))
    assert figures.waiting == waiting
    found = {
        "all": {"all": figures.repurchased},
        "week": figures.by_week,
        "source": figures.by_source,
        "variant": figures.by_variant,
        "promotion": figures.by_promotion,
    }
    cases: list[tuple[str, Share, float]] = []
    for kind, names in cohorts.items():
        assert sorted(found[kind]) == sorted(names), kind
        for name, outcomes in names.items():
            share = found[kind][name]
            assert (share.count, share.of) == (sum(a for a, _ in outcomes), len(outcomes))
            cases.append((f"{kind} {name}", share, _mean(t for _, t in outcomes)))
    check(cases)


def test_a_promotion_counts_within_its_dates_and_is_charged_its_days(planted: Planted) -> None:
    traffic, seen = planted.traffic, planted.seen
    since, until = kst(2026, 12, 15), kst(2027, 1, 15)  # 17 of the sale's 31 days
    conversations = conversations_of(traffic.records)
    inside = [c for c in conversations if since <= c.started_at < until]
    earlier = [c for c in conversations if not since <= c.started_at < until]
    events = [e for e in traffic.events if since <= e.at < until]
    metrics = measure(SHOP, inside, events=events, earlier=earlier, since=since, until=until)
    sale = metrics.promotions["winter_sale"]
    members = {k: c for k, c in seen.items() if since <= c.start < until}
    shown = [k for k, c in members.items() if c.sale_at is not None]
    in_dates = [k for k in shown if SALE[0] <= (seen[k].sale_at or 0.0) < SALE[1]]
    took = {k for k in in_dates if seen[k].took_sale}
    # The period's money of every conversation that took the offer, also one from before the
    # period (a purchase belongs to the period it happened in).
    took_any = {k for k, c in seen.items() if c.took_sale}
    theirs = [e for e in events if planted.credit[e.id] in took_any]
    assert sale.exposed == len(in_dates) > 0
    assert sale.outside_dates == len(shown) - len(in_dates) > 0  # January's old records
    assert sale.engaged == sum(1 for k in in_dates if seen[k].wrote_after_sale)
    assert sale.clicked == len(took)
    assert sale.converted == sum(1 for e in theirs if e.kind == "purchase")
    assert sale.revenue == pytest.approx(sum(net(e) for e in theirs), abs=1e-6)
    assert sale.cost == pytest.approx(310_000.0 * 17 / 31)
    assert sale.revenue is not None
    assert sale.cost is not None
    assert sale.roi == pytest.approx((sale.revenue - sale.cost) / sale.cost)
    welcome = metrics.promotions["welcome"]
    assert (welcome.exposed, welcome.clicked, welcome.converted) == (len(members), None, None)
    assert sale.clicked is not None
    bought = {planted.credit[e.id] for e in theirs if e.kind == "purchase"} & took
    check(
        [
            ("click-through", _share(sale.clicked, sale.exposed), 0.40),  # 쿠폰 받기 + 방문 예약
            (
                "conversion of clicks",
                _share(len(bought), len(took)),
                _mean(planted.p[k] for k in took),
            ),
        ]
    )


def _share(count: int, of: int) -> Share:
    return Share(count, of, count / of, proportion_interval(count, of))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items)
