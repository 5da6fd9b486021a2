"""Money in a report (issue 18, faults 1, 9 and 11, and conversion rates): revenue is net of
refunds, a promotion counts only its own offer within its dates and is charged its cost day by
day, every ``--by`` group carries its money, and conversions are rates with intervals.

The bot is tests/metrics/money_flows: the menu shows the ``welcome`` promotion (no offer) and
the ``copy`` experiment; "이벤트" leads to the offer screen of ``winter_sale`` (December 2026,
offer: 쿠폰 받기 or 방문 예약; "다음에요" is no click). Conversations are built by hand here, as
:func:`botkit.metrics.fold.conversations_of` would fold them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import botkit
from botkit.metrics.ab import proportion_interval
from botkit.metrics.compute import Conversation, PromotionTrace, conversations_of, measure
from botkit.metrics.synthetic import Behaviour, Purchase, Step, Summary, simulate
from botkit.records import BusinessEvent, Record
from botkit.storage import MemoryStore

HERE = Path(__file__).parent
SHOP = botkit.load(HERE / "money_flows").bot
SEOUL = ZoneInfo("Asia/Seoul")
HOUR, DAY = 3600.0, 86_400.0


def kst(month: int, day: int, hour: int = 0, year: int = 2026) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=SEOUL).timestamp()


def talk(
    user: str,
    at: float,
    *,
    number: int = 1,
    channel: str = "kakao",
    variant: str | None = None,
    source: str | None = None,
    offer: list[str] | None = None,
) -> Conversation:
    """A ten-minute conversation at ``at``; ``offer``: it saw winter_sale and pressed those."""
    c = Conversation(f"{channel}:{user}", number, channel, user, at, at + 600)
    c.promotions["welcome"] = PromotionTrace("shop.menu", at, engaged=True)
    if variant is not None:
        c.variants["copy"] = variant
    if source is not None:
        c.segment = {"source": source}
    if offer is not None:
        c.promotions["winter_sale"] = PromotionTrace("shop.offer", at + 10, True, list(offer))
    return c


def bought(id: str, user: str, at: float, amount: float, kind: str = "purchase") -> BusinessEvent:
    return BusinessEvent(id, kind, user, at, amount)


# ---- fault 1: revenue net of refunds ---------------------------------------------------------


@pytest.mark.defines("revenue")
def test_revenue_adds_purchases_subtracts_refunds_and_counts_only_purchases_as_conversions() -> (
    None
):
    민지 = talk("민지", kst(12, 2, 10), variant="A")
    지훈 = talk("지훈", kst(12, 2, 11), variant="B")
    events = [
        bought("p1", "민지", kst(12, 2, 12), 50_000.0),
        bought("p2", "지훈", kst(12, 2, 13), 30_000.0),
        bought("r2", "지훈", kst(12, 4, 9), 30_000.0, "refund"),  # 지훈 sent it all back
        bought("g1", "민지", kst(12, 3, 9), 10_000.0, "gift_card"),  # money, no conversion
        bought("p3", "하늘", kst(12, 3, 9), 20_000.0),  # never talked to the bot
        BusinessEvent("s1", "signup", "민지", kst(12, 2, 12)),  # counted, worth nothing
    ]
    metrics = measure(SHOP, [민지, 지훈], events=events)
    money = metrics.money
    assert money.revenue == 50_000 + 30_000 - 30_000 + 10_000 + 20_000
    assert money.conversions == 3  # p1, p2, p3: purchases only
    assert money.attributed_revenue == 50_000 + 30_000 - 30_000 + 10_000
    assert money.attributed_conversions == 2
    assert metrics.business["refund"] == {
        "events": 1,
        "attributed": 1,
        "amount": 30_000.0,
        "attributed_amount": 30_000.0,
    }
    assert metrics.business["signup"]["events"] == 1
    # 지훈's refund takes back what his purchase brought variant B.
    assert metrics.revenue_by_variant == {"copy:A": 60_000.0, "copy:B": 0.0}


def test_planted_purchases_and_refunds_come_out_as_purchases_minus_refunds() -> None:
    """Planted traffic through the runtime: a tenth of the buyers are refunded a day later."""
    app = botkit.load(HERE / "flows")
    behaviour = Behaviour(
        steps={"signup.start": Step(says={"가입할게요": 1, "괜찮아요": 1})},
        purchase=Purchase(
            probability=0.3,
            experiment="copy",
            by_variant={"B": 0.5},
            amount=(10_000, 90_000),
            refund=0.2,
        ),
    )
    store = MemoryStore()

    async def run() -> tuple[Summary, list[Record], list[BusinessEvent]]:
        summary = await simulate(app, behaviour, 600, seed=18, store=store)
        await store.open()
        records, events = await store.records(), await store.events()
        await store.close()
        return summary, records, events

    summary, records, events = asyncio.run(run())
    refunded = [p for p in summary.paths if p.refunded is not None]
    assert refunded  # planted: some 20% of ~240 buyers
    metrics = measure(app.bot, conversations_of(records), events=events)
    paid = sum(p.bought or 0.0 for p in summary.paths)
    back = sum(p.refunded or 0.0 for p in summary.paths)
    assert metrics.money.revenue == metrics.money.attributed_revenue == paid - back
    assert metrics.money.conversions == sum(1 for p in summary.paths if p.bought is not None)
    for variant in ("A", "B"):
        own = [p for p in summary.paths if p.variants.get("copy") == variant]
        net = sum((p.bought or 0.0) - (p.refunded or 0.0) for p in own)
        assert metrics.revenue_by_variant[f"copy:{variant}"] == net


# ---- fault 9: promotions ---------------------------------------------------------------------


@pytest.mark.defines("promotion")
def test_a_click_is_a_press_on_the_offer_and_a_promotion_counts_only_within_its_dates() -> None:
    coupon = talk("민지", kst(12, 2, 10), offer=["get_coupon"])
    visit = talk("지훈", kst(12, 3, 10), offer=["shop.visit"])
    later = talk("하늘", kst(12, 4, 10), offer=["shop.bye"])  # 다음에요: seen, not taken
    november = talk("서연", kst(11, 28, 10), offer=["get_coupon"])  # an old record's exposure
    events = [
        bought("p1", "민지", kst(12, 2, 12), 40_000.0),
        bought("r1", "민지", kst(12, 5, 12), 10_000.0, "refund"),  # part of it back
        bought("p2", "하늘", kst(12, 4, 12), 70_000.0),  # bought, but never took the offer
        bought("p3", "서연", kst(11, 28, 12), 90_000.0),  # took it before the sale began
    ]
    metrics = measure(SHOP, [coupon, visit, later, november], events=events)
    sale = metrics.promotions["winter_sale"]
    assert (sale.exposed, sale.engaged, sale.clicked, sale.converted) == (3, 3, 2, 1)
    assert sale.outside_dates == 1
    assert sale.revenue == 40_000.0 - 10_000.0
    assert sale.cost == 310_000.0  # all of its days are in a report of everything
    assert sale.roi == (30_000.0 - 310_000.0) / 310_000.0
    welcome = metrics.promotions["welcome"]  # on the menu, no offer named
    assert (welcome.exposed, welcome.clicked, welcome.converted) == (4, None, None)
    assert (welcome.revenue, welcome.roi) == (None, None)
    assert welcome.cost == 100_000.0
    assert any("names no offer" in note for note in welcome.notes)
    assert any("whole cost" in note for note in welcome.notes)  # it has no dates


@pytest.mark.parametrize(
    ("since", "until", "days"),
    [
        ((11, 1), (12, 1), 0),  # November: none of its days, nothing charged
        ((11, 25), (12, 8), 7),  # a week of it
        ((12, 1), (1, 1), 31),  # the whole of December
        ((12, 31), (1, 5), 1),  # its last day
    ],
)
def test_a_period_is_charged_the_cost_of_the_promotions_days_inside_it(
    since: tuple[int, int], until: tuple[int, int], days: int
) -> None:
    start = kst(*since)
    end = kst(*until, year=2027 if until[0] == 1 else 2026)
    metrics = measure(SHOP, [], since=start, until=end)
    assert metrics.promotions["winter_sale"].cost == pytest.approx(10_000.0 * days)
    # Nothing was sold: all of the charged cost is lost; no cost charged, no ROI.
    assert metrics.promotions["winter_sale"].roi == (-1.0 if days else None)


# ---- conversion rates ------------------------------------------------------------------------


@pytest.mark.defines("conversion_rate")
def test_conversion_per_conversation_and_per_user_with_their_intervals() -> None:
    conversations = [
        talk("민지", kst(12, 2, 10)),
        talk("민지", kst(12, 9, 10), number=2),
        talk("지훈", kst(12, 2, 11)),
        talk("하늘", kst(12, 2, 12)),
        talk("서연", kst(12, 3, 12)),
    ]
    events = [
        bought("p1", "민지", kst(12, 2, 12), 30_000.0),  # her first conversation
        bought("p2", "민지", kst(12, 3, 12), 10_000.0),  # the same one again
        bought("r2", "민지", kst(12, 4, 12), 10_000.0, "refund"),
        bought("p3", "지훈", kst(12, 2, 13), 50_000.0),
        bought("g1", "하늘", kst(12, 2, 13), 20_000.0, "gift_card"),  # no conversion
    ]
    rates = measure(SHOP, conversations, events=events).conversion
    assert rates is not None
    assert (rates.per_conversation.count, rates.per_conversation.of) == (2, 5)
    assert rates.per_conversation.interval == proportion_interval(2, 5)
    assert (rates.per_user.count, rates.per_user.of) == (2, 4)
    assert rates.per_user.rate == 0.5
    assert rates.per_user.interval == proportion_interval(2, 4)
    assert rates.average_order_value == (30_000 + 10_000 + 50_000) / 3
    assert rates.revenue_per_conversation == (30_000 + 10_000 - 10_000 + 50_000 + 20_000) / 5


def test_no_conversations_no_rates() -> None:
    rates = measure(SHOP, []).conversion
    assert rates is not None
    assert rates.per_conversation.rate is None
    assert rates.per_conversation.interval is None
    assert rates.average_order_value is None
    assert rates.revenue_per_conversation is None


# ---- fault 11: money per breakdown -----------------------------------------------------------


def test_every_group_of_conversations_carries_the_money_attributed_to_its_conversations() -> None:
    a = talk("민지", kst(12, 2, 10), channel="kakao", variant="A", source="instagram")
    b = talk("지훈", kst(12, 2, 11), channel="web", variant="B", offer=["get_coupon"])
    events = [
        bought("p1", "민지", kst(12, 2, 12), 30_000.0),
        bought("p2", "지훈", kst(12, 2, 13), 50_000.0),
        bought("r2", "지훈", kst(12, 3, 13), 5_000.0, "refund"),
        bought("p9", "하늘", kst(12, 2, 13), 99_000.0),  # attributed to nobody: in no group
    ]
    by_channel = measure(SHOP, [a, b], by="channel", events=events).groups
    assert by_channel["kakao"].money.revenue == 30_000.0
    assert by_channel["web"].money.revenue == 45_000.0
    assert by_channel["web"].money.conversions == 1
    assert by_channel["web"].business["refund"]["attributed_amount"] == 5_000.0
    web_sale = by_channel["web"].promotions["winter_sale"]
    assert (web_sale.clicked, web_sale.converted, web_sale.revenue) == (1, 1, 45_000.0)
    assert web_sale.cost is None
    assert web_sale.roi is None
    conversion = by_channel["web"].conversion
    assert conversion is not None
    assert conversion.per_user.rate == 1.0
    by_variant = measure(SHOP, [a, b], by="variant", events=events).groups
    assert {g: m.money.revenue for g, m in by_variant.items()} == {
        "copy:A": 30_000.0,
        "copy:B": 45_000.0,
    }
    by_source = measure(SHOP, [a, b], by="segment:source", events=events).groups
    assert by_source["source=(none)"].revenue_by_variant == {"copy:B": 45_000.0}


def test_a_day_carries_the_money_of_the_purchases_made_that_day_and_its_share_of_the_cost() -> (
    None
):
    monday = talk("민지", kst(12, 7, 23), offer=["get_coupon"])  # 23:00 in Seoul
    events = [
        bought("p1", "민지", kst(12, 8, 1), 40_000.0),  # after midnight: Tuesday's money
        bought("p2", "지훈", kst(12, 9, 12), 20_000.0),  # no conversation at all that day
    ]
    days = measure(SHOP, [monday], by="day", events=events).groups
    assert list(days) == ["2026-12-07", "2026-12-08", "2026-12-09"]
    assert days["2026-12-07"].money.revenue == 0.0
    assert days["2026-12-08"].money.revenue == days["2026-12-08"].money.attributed_revenue
    assert days["2026-12-08"].money.revenue == 40_000.0
    assert (days["2026-12-09"].money.revenue, days["2026-12-09"].money.attributed_revenue) == (
        20_000.0,
        0.0,
    )
    # Monday's conversation converted, with Tuesday's purchase: a rate of conversations.
    monday_rates = days["2026-12-07"].conversion
    assert monday_rates is not None
    assert monday_rates.per_conversation.rate == 1.0
    for day in days.values():  # a day of December is charged a 31st of the sale
        assert day.promotions["winter_sale"].cost == pytest.approx(10_000.0)
    assert days["2026-12-08"].promotions["winter_sale"].revenue == 40_000.0
