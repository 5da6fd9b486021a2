"""``promotion.<name>`` in a condition: true while the promotion runs at the turn's time, so a
state shows an offer only between its ``starts`` and ``ends`` (issue 18, item 9). The reference
bot's events ("이벤트" on the menu, "이벤트 뭐 있어요") show the December winter sale in
December, and in November say that no event runs, writing no ``promotion`` record."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from botkit.engine import Engine
from botkit.errors import ConditionError
from botkit.flow import compile_texts
from botkit.flow.conditions import Name, evaluate, parse_condition
from tests.engine.conftest import Conversation

SEOUL = ZoneInfo("Asia/Seoul")
NO_EVENT = "지금 진행 중인 이벤트가 없어요."

SALE = """
flow: sale
start: menu
promotions:
  winter_sale:
    title: 겨울 세일
    cost: 500000
    starts: "2026-12-01"
    ends: "2026-12-31"
states:
  menu:
    say: "무엇을 도와드릴까요?"
    on:
      - keywords: [쿠폰]
        if: "promotion.winter_sale and channel == 'kakao'"
        to: offer
      - keywords: [쿠폰]
        to: no_event
      - keywords: [이벤트]
        to: events
  events:
    next:
      - if: "not promotion.winter_sale"
        to: no_event
      - to: offer
  offer:
    promotion: winter_sale
    say: "겨울 세일: 전 상품 20% 할인"
    next: menu
  no_event:
    say: "지금 진행 중인 이벤트가 없어요."
    next: menu
"""


def seoul(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=SEOUL).timestamp()


def _ask(engine: Engine, at: float, words: str, channel: str = "kakao") -> Conversation:
    # The conversation's second message (the one asking) is at ``at``: each message adds 5 s.
    return Conversation(engine, channel=channel, at=at - 10).say("").say(words)


def _promotions(c: Conversation) -> list[object]:
    return [r.data for r in c.all_records if r.kind == "promotion"]


# --- the language ---------------------------------------------------------------------------


def test_a_promotion_is_a_name_of_its_own_scope() -> None:
    assert parse_condition("promotion.winter_sale") == Name("promotion", "winter_sale", 0)
    with pytest.raises(ConditionError, match=r"promotion\.<name>") as caught:
        parse_condition("score > 3 and order.status == '배송중'")
    assert caught.value.offset == 14


def test_it_is_true_only_where_the_engine_says_the_promotion_runs() -> None:
    running = {"winter_sale"}
    env = {"profile": {}, "channel": "kakao", "locale": "ko", "promotion": running.__contains__}
    assert evaluate(parse_condition("promotion.winter_sale"), {}, env) is True
    assert evaluate(parse_condition("promotion.summer_sale"), {}, env) is False
    assert evaluate(parse_condition("not promotion.winter_sale"), {}, env) is False
    assert evaluate(parse_condition("promotion.winter_sale == true"), {}, env) is True
    assert evaluate(parse_condition("promotion.winter_sale"), {}, {}) is False  # nobody to ask


def test_conditions_that_name_no_promotion_never_ask_about_one() -> None:
    def runs(promotion: str) -> bool:
        raise AssertionError(f"asked about {promotion} for a condition that does not name it")

    env = {"profile": {"tier": "gold"}, "channel": "kakao", "locale": "ko", "promotion": runs}
    condition = parse_condition("profile.tier == 'gold' and score >= 4 or channel == 'web'")
    assert evaluate(condition, {"score": 5}, env) is True


# --- the engine -----------------------------------------------------------------------------


@pytest.fixture
def sale(inline: Callable[..., Engine]) -> Engine:
    return inline(SALE)


@pytest.mark.parametrize(
    ("when", "runs"),
    [
        (seoul(2026, 11, 25, 10, 0), False),  # a December sale in November
        (seoul(2026, 11, 30, 23, 59), False),
        (seoul(2026, 12, 1, 0, 0), True),  # from the first moment of its first day
        (seoul(2026, 12, 31, 23, 59), True),  # through the whole of its last day
        (seoul(2027, 1, 1, 0, 0), False),
    ],
)
def test_a_next_branch_shows_the_offer_only_while_it_runs(
    sale: Engine, when: float, runs: bool
) -> None:
    c = _ask(sale, when, "이벤트")
    if runs:
        assert c.texts[0] == "겨울 세일: 전 상품 20% 할인"
        assert _promotions(c) == [{"promotion": "winter_sale"}]
    else:
        assert c.texts[0] == NO_EVENT
        assert _promotions(c) == []


def test_a_transition_reads_it_with_other_conditions(sale: Engine) -> None:
    december, november = seoul(2026, 12, 2, 10, 0), seoul(2026, 11, 25, 10, 0)
    assert _ask(sale, december, "쿠폰").texts[0] == "겨울 세일: 전 상품 20% 할인"
    assert _ask(sale, december, "쿠폰", channel="web").texts[0] == NO_EVENT
    assert _ask(sale, november, "쿠폰").texts[0] == NO_EVENT


def test_the_days_are_those_of_the_bots_time_zone() -> None:
    bot = """
    bot: shop
    start: sale
    business_hours:
      cs_team: {timezone: America/New_York, days: {mon-fri: "09:00-18:00"}}
    """
    files = [("bot.yaml", textwrap.dedent(bot).lstrip("\n")), ("sale.yaml", SALE.lstrip("\n"))]
    result = compile_texts(files)
    assert result.bot is not None, [p.message for p in result.problems]
    engine = Engine(result.bot)
    # December 1st has begun in Seoul, not yet in New York (10:00 on November 30th there)
    first_in_seoul = seoul(2026, 12, 1, 0, 0)
    assert _ask(engine, first_in_seoul, "이벤트").texts[0] == NO_EVENT
    new_york = datetime(2026, 12, 1, tzinfo=ZoneInfo("America/New_York")).timestamp()
    assert _ask(engine, new_york, "이벤트").texts[0] == "겨울 세일: 전 상품 20% 할인"


# --- the compiler ---------------------------------------------------------------------------


def test_a_promotion_that_is_not_declared_is_pointed_at_in_the_condition() -> None:
    text = SALE.lstrip("\n").replace('"not promotion.winter_sale"', '"not promotion.winter_sal"')
    result = compile_texts([("sale.yaml", text)])
    (problem,) = result.problems
    assert problem.code == "BK311"
    assert problem.message == "promotion 'winter_sal' is not declared"
    line = text.splitlines().index('      - if: "not promotion.winter_sal"') + 1
    assert (problem.line, problem.column) == (line, len('      - if: "not promotion.') + 1)
    assert problem.hint == "did you mean 'winter_sale'?"


# --- the reference bot ----------------------------------------------------------------------


def test_the_reference_bots_events_menu_in_november_says_no_event_runs(
    talk: Callable[..., Conversation],
) -> None:
    c = talk(at=seoul(2026, 11, 25, 10, 0)).say("안녕하세요").say("이벤트 뭐 있어요")
    assert c.texts == [
        "지금 진행 중인 이벤트가 없어요. 대신 짧은 만족도 조사에 참여해 주시겠어요?"
    ]
    assert c.choices == ["만족도 조사", "처음으로"]
    assert c.state == "promotion.no_event"
    assert "promotion" not in c.kinds()  # the winter sale was neither shown nor counted
    assert c.press("만족도 조사").state == "promotion.survey"


def test_the_reference_bots_events_menu_in_december_shows_the_winter_sale(
    talk: Callable[..., Conversation],
) -> None:
    c = talk(at=seoul(2026, 12, 2, 10, 0)).say("안녕하세요").say("이벤트 뭐 있어요")
    assert c.state == "promotion.offer"
    assert [r.data for r in c.records if r.kind == "promotion"] == [{"promotion": "winter_sale"}]
