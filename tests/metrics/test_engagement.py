"""Engagement figures, each on hand-built records with exact counts: link click-through,
the response rate to the bot's turns, and conversations per day with their trend."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botkit.effects import Button, Card, Choice, ListItem, Say, is_plain, say_to_data
from botkit.metrics.ab import proportion_interval
from botkit.metrics.engagement import (
    Rate,
    click_through,
    conversations_per_day,
    engagement,
    response_rate,
)
from botkit.records import RecordKind, ReportRow

SEOUL = ZoneInfo("Asia/Seoul")
SALE = "https://shop.example.com/sale"
PADDING = "https://shop.example.com/items/padding"
ORDER = "https://shop.example.com/orders/{{order_no}}"
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=SEOUL).timestamp()

SALE_CARD = Say(
    card=Card("겨울 세일", "전 상품 20% 할인", buttons=(Button("세일 보기", "url", SALE),))
)
BESTSELLERS = Say(
    header="인기 상품",
    items=(ListItem("패딩 점퍼", url=PADDING), ListItem("니트 머플러", payload="scarf")),
    buttons=(Button("내 주문", "url", ORDER), Button("전화 문의", "phone", "1588-0000")),
)


class Talk:
    """One conversation's records, written in order as the engine would (seq counts up)."""

    def __init__(self, user: str, number: int = 1, at: float = MONDAY) -> None:
        self.who, self.number, self.at = user, number, at
        self.rows: list[ReportRow] = []

    def _add(self, kind: str, data: dict[str, Any] | None = None, flow: str = "shop") -> Talk:
        self.at += 5
        seq = len(self.rows) + 1
        session = f"kakao:{self.who}"
        self.rows.append(
            ReportRow(kind, session, self.number, seq, self.at, self.who, "kakao", flow, data)
        )
        return self

    def start(self) -> Talk:
        return self._add(RecordKind.CONVERSATION_START, {"flow": "shop"})

    def bot(self, *said: Say | str, flow: str = "shop") -> Talk:
        bubbles = [Say(text=s) if isinstance(s, str) else s for s in said]
        texts = [b.text or "" for b in bubbles]
        says = [None if is_plain(b) else say_to_data(b) for b in bubbles]
        data: dict[str, Any] = {"texts": texts}
        if any(says):
            data["says"] = says
        return self._add(RecordKind.MESSAGE_OUT, data, flow)

    def user(self, text: str, payload: str | None = None) -> Talk:
        return self._add(RecordKind.MESSAGE_IN, {"text": text, "payload": payload})

    def click(self, url: str) -> Talk:
        return self._add(RecordKind.LINK_CLICKED, {"url": url, "state": "shop.offer"})

    def end(self, outcome: str) -> Talk:
        return self._add(RecordKind.CONVERSATION_END, {"outcome": outcome})


def rows(*talks: Talk) -> list[ReportRow]:
    return [r for t in talks for r in t.rows]


# -- link click-through --------------------------------------------------------------------------


@pytest.mark.defines("engagement")
def test_a_link_counts_in_each_conversation_that_showed_it_and_each_that_opened_it() -> None:
    minji = Talk("민지").start().user("세일").bot(SALE_CARD, BESTSELLERS).click(SALE).click(SALE)
    jihun = Talk("지훈").start().user("세일").bot(SALE_CARD)  # shown, never opened
    haneul = Talk("하늘").start().user("세일").bot(SALE_CARD).user("더").bot(SALE_CARD).click(SALE)
    # A click in a conversation that never showed the link: a click, not a click-through.
    minji_again = Talk("민지", 2).start().user("안녕").bot("무엇을 도와드릴까요?").click(SALE)

    links = click_through(reversed(rows(minji, jihun, haneul, minji_again)))  # any order

    assert [(x.url, x.shown, x.clicked, x.clicks) for x in links] == [
        (SALE, 3, 2, 4),
        (PADDING, 1, 0, 0),
    ]  # the templated link and the phone number are not links that can be tracked
    assert links[0].rate == Rate(2, 3, 2 / 3, *proportion_interval(2, 3))
    assert links[1].rate.value == 0.0
    assert links[1].rate.low == 0.0


def test_nothing_shown_is_no_rate_rather_than_zero() -> None:
    assert click_through(rows(Talk("민지").start().user("안녕").bot("반가워요"))) == []
    assert Rate.of(0, 0) == Rate(0, 0, None, None, None)


# -- response rate -------------------------------------------------------------------------------


@pytest.mark.defines("engagement")
def test_the_users_answer_after_each_bot_turn_and_the_turns_that_expect_none() -> None:
    # Answered twice; the goodbye of the turn that ended the conversation expects no answer.
    resolved = (
        Talk("민지").start().user("배송 조회").bot("주문번호를 알려주세요")
        .user("A123").bot("휴대폰 번호도요").user("010").end("resolved").bot("감사합니다")
    )  # fmt: skip
    # An action's answer is part of the turn it answers; then the user fell silent.
    silent = (
        Talk("지훈").start().user("배송").bot("조회해 볼게요").bot("배송중이에요", flow="order")
        .user("고마워요").bot("더 필요하신 게 있나요?", flow="order").end("abandoned")
    )  # fmt: skip
    # The widget's empty opening message is no answer: the two greetings are one turn.
    opened = Talk("하늘").start().user("").bot("안녕하세요").user("").bot("안녕하세요")
    # A pressed choice is an answer; a link opened is not.
    pressed = (
        Talk("바다").start().user("").bot(Say(text="고르세요", choices=(Choice("쿠폰", "c"),)))
    )
    pressed.user("", payload="c").bot(SALE_CARD).click(SALE)

    result = response_rate(rows(resolved, silent, opened, pressed))

    assert (result.overall.part, result.overall.whole) == (4, 7)
    assert result.overall.value == 4 / 7
    assert (result.overall.low, result.overall.high) == proportion_interval(4, 7)
    assert {f: (r.part, r.whole) for f, r in result.by_flow.items()} == {
        "order": (1, 2),
        "shop": (3, 5),
    }


def test_a_bot_turn_the_user_may_still_answer_is_left_out() -> None:
    talk = Talk("민지").start().user("안녕").bot("무엇을 도와드릴까요?")
    talk.user("쿠폰").bot("어떤 쿠폰이요?")
    last_said = talk.rows[-1].at
    every = response_rate(talk.rows).overall
    assert (every.part, every.whole) == (1, 2)
    still_open = response_rate(talk.rows, still_open_after=last_said).overall
    assert (still_open.part, still_open.whole) == (1, 1)
    past = response_rate(talk.rows, still_open_after=last_said + 1).overall
    assert (past.part, past.whole) == (1, 2)


def test_an_operator_reset_after_the_bot_spoke_is_no_unanswered_turn() -> None:
    talk = Talk("민지").start().user("안녕").bot("무엇을 도와드릴까요?").end("reset")
    assert response_rate(talk.rows).overall == Rate(0, 0, None, None, None)


# -- conversations per day ------------------------------------------------------------------------


def started(at: float, user: str = "민지", number: int = 1) -> ReportRow:
    return ReportRow(
        RecordKind.CONVERSATION_START, f"kakao:{user}", number, 1, at, user, "kakao", "shop", None
    )


def test_a_conversation_counts_on_its_day_in_the_bots_time_zone() -> None:
    just_after_midnight = dt.datetime(2026, 12, 1, 0, 30, tzinfo=SEOUL).timestamp()
    evening = dt.datetime(2026, 11, 30, 20, 0, tzinfo=SEOUL).timestamp()
    records = [started(evening, "민지"), started(just_after_midnight, "지훈")]
    seoul = conversations_per_day(records, "Asia/Seoul")
    assert seoul.days == ((dt.date(2026, 11, 30), 1), (dt.date(2026, 12, 1), 1))
    utc = conversations_per_day(records, "UTC")  # 15:30 and 11:00 UTC on 30 November
    assert utc.days == ((dt.date(2026, 11, 30), 2),)
    assert utc.slope_per_day is None  # one day has no trend


def test_days_without_conversations_are_listed_as_zero_within_the_period() -> None:
    day = 86_400.0
    records = [started(MONDAY, "민지"), started(MONDAY + 2 * day, "지훈")]
    daily = conversations_per_day(
        records, "Asia/Seoul", first=dt.date(2026, 11, 15), last=dt.date(2026, 11, 19)
    )
    assert [n for _, n in daily.days] == [0, 1, 0, 1, 0]
    assert daily.days[0][0] == dt.date(2026, 11, 15)
    assert daily.total == 2
    assert daily.last_7 is None  # fewer than 14 days: no week against week


@pytest.mark.defines("engagement")
def test_the_trend_is_the_least_squares_slope_and_the_last_week_against_the_one_before() -> None:
    day = 86_400.0
    records = []
    for i in range(14):  # one conversation a day for a week, then two a day
        for k in range(1 if i < 7 else 2):
            records.append(started(MONDAY + i * day + k * 60, f"사용자{i}-{k}"))
    records.append(started(MONDAY, "사용자0-0"))  # the same conversation's start, twice
    daily = conversations_per_day(records, "Asia/Seoul")
    assert [n for _, n in daily.days] == [1] * 7 + [2] * 7
    assert daily.slope_per_day == pytest.approx(7 / 65)  # Σ(x−x̄)(y−ȳ) ÷ Σ(x−x̄)² = 24.5 ÷ 227.5
    assert (daily.last_7, daily.previous_7, daily.change) == (14, 7, 1.0)


def test_a_week_after_a_week_without_conversations_has_no_change() -> None:
    daily = conversations_per_day(
        [started(MONDAY + 13 * 86_400.0)], "Asia/Seoul", first=dt.date(2026, 11, 16)
    )
    assert (daily.last_7, daily.previous_7, daily.change) == (1, 0, None)
    assert daily.slope_per_day is not None
    assert daily.slope_per_day > 0


def test_no_conversations_no_days() -> None:
    daily = conversations_per_day([], "Asia/Seoul")
    assert (daily.days, daily.slope_per_day, daily.total) == ((), None, 0)


# -- all three at once ---------------------------------------------------------------------------


def test_one_pass_gives_the_three_figures_as_each_function_does() -> None:
    minji = Talk("민지").start().user("세일").bot(SALE_CARD).click(SALE)
    minji.user("고마워요").bot("또 오세요")
    jihun = Talk("지훈", at=MONDAY + 86_400.0).start().user("세일").bot(SALE_CARD)
    records = rows(minji, jihun)
    figures = engagement(iter(records), "Asia/Seoul")  # an iterator: read once
    assert figures.links == click_through(records)
    assert figures.responses == response_rate(records)
    assert figures.daily == conversations_per_day(records, "Asia/Seoul")
    assert [(x.url, x.shown, x.clicked) for x in figures.links] == [(SALE, 2, 1)]
    assert (figures.responses.overall.part, figures.responses.overall.whole) == (1, 3)
    assert [n for _, n in figures.daily.days] == [1, 1]
    as_json = figures.to_json()
    assert as_json["links"][0] == {
        "url": SALE,
        "count": 1,
        "of": 2,
        "rate": 0.5,
        "interval": list(proportion_interval(1, 2)),
        "clicks": 1,
    }
    assert as_json["conversations_per_day"]["days"][0] == {
        "date": "2026-11-16",
        "conversations": 1,
    }
