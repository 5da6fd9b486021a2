"""A promotion is shown, and recorded as shown, only between its ``starts`` and ``ends`` (issue 18,
fault 9): the dates are days in the bot's time zone, ``ends`` inclusive through the whole day. A
December sale entered in November writes no ``promotion`` record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from botkit.engine import Engine
from botkit.flow.model import Promotion
from tests.engine.conftest import Conversation

SEOUL = ZoneInfo("Asia/Seoul")

SALE = """
flow: sale
start: menu
promotions:
  winter_sale:
    title: 겨울 세일
    cost: 500000
    starts: "2026-12-01"
    ends: "2026-12-31"
  always:
    title: 상시 쿠폰
states:
  menu:
    say: "무엇을 도와드릴까요?"
    on:
      - keywords: [이벤트]
        to: offer
      - keywords: [쿠폰]
        to: coupon
  offer:
    promotion: winter_sale
    say: "겨울 세일: 전 상품 20% 할인"
    next: menu
  coupon:
    promotion: always
    say: "신규 회원 쿠폰을 드려요"
    next: menu
"""


def seoul(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL).timestamp()


@pytest.fixture
def sale(inline: Callable[..., Engine]) -> Engine:
    return inline(SALE)


def _shown(engine: Engine, at: float, words: str = "이벤트") -> list[object]:
    # The conversation's first message is at ``at`` (Conversation adds 5 s per message).
    c = Conversation(engine, at=at - 10).say("").say(words)
    return [r.data for r in c.records if r.kind == "promotion"]


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        (seoul(2026, 11, 25, 10, 0), False),  # a December sale in November
        (seoul(2026, 11, 30, 23, 59, 59), False),
        (seoul(2026, 12, 1, 0, 0), True),  # from the first moment of its first day
        (seoul(2026, 12, 31, 23, 59, 59), True),  # through the whole of its last day
        (seoul(2027, 1, 1, 0, 0), False),
    ],
)
def test_a_promotion_is_recorded_only_while_it_runs(
    sale: Engine, when: float, shown: bool
) -> None:
    assert _shown(sale, when) == ([{"promotion": "winter_sale"}] if shown else [])


def test_the_offer_is_still_said_outside_the_dates_only_not_counted(sale: Engine) -> None:
    c = Conversation(sale, at=seoul(2026, 11, 25, 10, 0)).say("").say("이벤트")
    assert c.texts[0] == "겨울 세일: 전 상품 20% 할인"  # a designer hides it with a condition


def test_a_promotion_without_dates_always_runs(sale: Engine) -> None:
    assert _shown(sale, seoul(2020, 1, 1, 0, 0), "쿠폰") == [{"promotion": "always"}]


def test_the_dates_are_days_of_the_bots_time_zone() -> None:
    sale = Promotion("winter_sale", "겨울 세일", None, "2026-12-01", "2026-12-31")
    start, end = sale.window("America/New_York")
    new_york = ZoneInfo("America/New_York")
    assert start == datetime(2026, 12, 1, tzinfo=new_york).timestamp()
    assert end == datetime(2027, 1, 1, tzinfo=new_york).timestamp()
    assert sale.window("Asia/Seoul") == (seoul(2026, 12, 1), seoul(2027, 1, 1))
    assert Promotion("always", "상시", None, None, None).window("Asia/Seoul") == (
        float("-inf"),
        float("inf"),
    )
