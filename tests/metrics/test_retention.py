"""Repurchase (issue 18, figure 12): of the customers whose first purchase is in the data and
whose N days after it are over, the share who bought again within those N days, by cohort.

The bot is tests/metrics/money_flows (experiment ``copy``, promotion ``winter_sale`` with an
offer in December 2026); conversations are built by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import botkit
from botkit.metrics.ab import proportion_interval
from botkit.metrics.calendar import Period
from botkit.metrics.compute import Conversation, PromotionTrace, measure
from botkit.metrics.conversion import Share
from botkit.metrics.retention import retention
from botkit.records import BusinessEvent

SHOP = botkit.load(Path(__file__).parent / "money_flows").bot
SEOUL = ZoneInfo("Asia/Seoul")
DAY = 86_400.0


def kst(month: int, day: int, hour: int = 0, year: int = 2026) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=SEOUL).timestamp()


def talk(
    user: str, at: float, *, source: str | None = None, variant: str = "A", took: bool = False
) -> Conversation:
    c = Conversation(f"kakao:{user}", 1, "kakao", user, at, at + 600)
    c.variants["copy"] = variant
    if source is not None:
        c.segment = {"source": source}
    if took:  # saw winter_sale and pressed 쿠폰 받기
        c.promotions["winter_sale"] = PromotionTrace("shop.offer", at + 10, True, ["get_coupon"])
    return c


def purchase(id: str, user: str, at: float, kind: str = "purchase") -> BusinessEvent:
    return BusinessEvent(id, kind, user, at, 10_000.0)


def share(count: int, of: int) -> Share:
    return Share(count, of, count / of, proportion_interval(count, of))


FIRST = kst(12, 1, 12)  # Tuesday of ISO week 2026-W49
END = kst(1, 10, year=2027)  # the report's end: 30 days are over for December 1, not 20


@pytest.mark.defines("retention")
def test_again_within_n_days_counts_and_one_second_later_does_not() -> None:
    conversations = [
        talk("민지", FIRST - 600, source="instagram", took=True),
        talk("지훈", FIRST - 600, source="naver", variant="B"),
        talk("하늘", FIRST - 600, source="naver"),
        talk("서연", kst(11, 23, 9), source="instagram"),  # first talked in 2026-W48
        talk("도윤", kst(12, 20, 9)),  # first purchase on Dec 20: 30 days not over
    ]
    events = [
        purchase("m1", "민지", FIRST),
        purchase("m2", "민지", FIRST + 30 * DAY),  # exactly 30 days later: within
        purchase("j1", "지훈", FIRST),
        purchase("j2", "지훈", FIRST + 30 * DAY + 1),  # one second too late
        purchase("h1", "하늘", FIRST),
        purchase("h0", "하늘", FIRST + DAY, "refund"),  # a refund is not a purchase
        purchase("s1", "서연", FIRST),
        purchase("s2", "서연", FIRST + 2 * DAY),
        purchase("d1", "도윤", kst(12, 20, 12)),
        purchase("d2", "도윤", kst(12, 21, 12)),  # bought again, but is still counted apart
        purchase("x1", "유나", FIRST),  # a customer the bot never talked to
    ]
    figures = retention(SHOP, conversations, events, period=Period(None, END))
    assert figures.days == 30
    assert figures.waiting == 1  # 도윤
    assert figures.repurchased == share(2, 5)  # 민지 and 서연, of 민지, 지훈, 하늘, 서연, 유나
    assert figures.by_week == {
        "(no conversation)": share(0, 1),
        "2026-W48": share(1, 1),
        "2026-W49": share(1, 3),
    }
    assert figures.by_source == {
        "source=(none)": share(0, 1),
        "source=instagram": share(2, 2),
        "source=naver": share(0, 2),
    }
    assert figures.by_variant == {
        "(no experiment)": share(0, 1),
        "copy:A": share(2, 3),
        "copy:B": share(0, 1),
    }
    assert figures.by_promotion == {"none": share(1, 4), "winter_sale": share(1, 1)}


def test_a_shorter_window_and_a_period_that_starts_after_the_first_purchase() -> None:
    conversations = [talk("민지", FIRST - 600), talk("지훈", FIRST - 600)]
    events = [
        purchase("m1", "민지", FIRST),
        purchase("m2", "민지", FIRST + 10 * DAY),
        purchase("j1", "지훈", FIRST + 5 * DAY),
    ]
    week = retention(SHOP, conversations, events, days=7, period=Period(None, END))
    assert week.repurchased == Share(0, 2, 0.0, proportion_interval(0, 2))
    # From December 3: 민지's first purchase was before it, so only 지훈 is a new customer.
    later = retention(SHOP, conversations, events, period=Period(kst(12, 3), END))
    assert later.repurchased == Share(0, 1, 0.0, proportion_interval(0, 1))
    # Read on December 30, nobody's 30 days are over.
    early = retention(SHOP, conversations, events, period=Period(None, kst(12, 30)))
    assert early.waiting == 2
    assert early.repurchased == Share(0, 0, None, None)


def test_the_report_carries_retention_for_its_period() -> None:
    conversations = [talk("민지", FIRST - 600, took=True)]
    events = [purchase("m1", "민지", FIRST), purchase("m2", "민지", FIRST + DAY)]
    metrics = measure(SHOP, conversations, events=events, until=END, retention_days=14)
    assert metrics.retention is not None
    assert metrics.retention.days == 14
    assert metrics.retention.by_promotion == {"winter_sale": share(1, 1)}
    assert metrics.to_json()["retention"]["repurchased"]["count"] == 1
