"""Business events are attributed by last touch within a window, as the definitions say."""

from __future__ import annotations

from botkit.flow.model import Promotion
from botkit.metrics.compute import Conversation, PromotionTrace, attribute
from botkit.metrics.promotions import clicked
from botkit.records import BusinessEvent

DAY = 86_400.0


def conversation(user: str, number: int, start: float, end: float) -> Conversation:
    return Conversation(f"web:{user}", number, "web", user, start, end)


def test_inside_the_window_outside_it_and_the_last_of_two_conversations() -> None:
    first = conversation("민지", 1, 0.0, 100.0)
    second = conversation("민지", 2, 5 * DAY, 5 * DAY + 60)
    other = conversation("지훈", 1, 0.0, 50.0)
    events = [
        BusinessEvent("p1", "purchase", "민지", 2 * DAY, 30_000.0),  # after the first only
        BusinessEvent("p2", "purchase", "민지", 6 * DAY, 10_000.0),  # last touch: the second
        BusinessEvent("p3", "purchase", "민지", 5 * DAY + 60 + 7 * DAY + 1, 5_000.0),  # too late
        BusinessEvent("p4", "purchase", "지훈", 10.0, 1_000.0),  # during his conversation
        BusinessEvent("p5", "purchase", "민지", -1.0, 1_000.0),  # before any conversation
        BusinessEvent("s1", "signup", "하늘", DAY),  # a user the bot never talked to
    ]
    attributed = {a.event.id: a.conversation for a in attribute([first, second, other], events)}
    assert attributed == {
        "p1": first,
        "p2": second,
        "p3": None,
        "p4": other,
        "p5": None,
        "s1": None,
    }


def test_a_shorter_window_drops_what_a_longer_one_keeps() -> None:
    talk = conversation("민지", 1, 0.0, 100.0)
    purchase = BusinessEvent("p1", "purchase", "민지", 100.0 + 3 * DAY, 9_900.0)
    assert attribute([talk], [purchase], window_s=7 * DAY)[0].conversation is talk
    assert attribute([talk], [purchase], window_s=2 * DAY)[0].conversation is None


def test_a_click_is_a_press_on_the_promotions_own_offer() -> None:
    sale = Promotion(
        "winter_sale",
        "겨울 세일",
        500_000.0,
        None,
        None,
        offer=("get_coupon", "promotion.book_visit"),
    )
    trace = PromotionTrace(
        "promotion.offer", engaged=True, presses=["promotion.survey"]
    )  # 다음에요
    assert clicked(sale, trace) is False
    trace.presses.append("get_coupon")
    assert clicked(sale, trace) is True
    welcome = Promotion("new_member", "웰컴 쿠폰", 120_000.0, None, None)  # names no offer
    assert clicked(welcome, trace) is None


SALE_FLOW = """\
flow: sale
start: offer
promotions:
  winter_sale: {title: 겨울 세일, offer: [get_coupon, sale.visit]}
global:
  - payload: get_coupon
    to: coupon
states:
  offer:
    promotion: winter_sale
    say:
      text: "겨울 세일 쿠폰을 받아 가세요."
      quick_replies:
        - {label: 쿠폰 받기, payload: get_coupon}
        - {label: 방문 예약, to: visit}
    on:
      - payload: get_coupon
        if: "profile.is_member == true"
        to: coupon
  coupon:
    say: "쿠폰을 보냈어요."
    end: resolved
  visit:
    say: "방문 예약을 도와드릴게요."
    end: resolved
"""


def test_a_press_counts_for_the_promotion_whatever_the_label_adds_to_it() -> None:
    """Transition labels carry "global " before and " if <condition>" after a press (as the
    compiler writes them): the offer is still found in them, so the click is counted."""
    from botkit.flow import compile_texts
    from botkit.metrics.fold import conversations_of
    from botkit.records import Record

    bot = compile_texts([("sale.yaml", SALE_FLOW)]).bot
    assert bot is not None
    offer = bot.flows["sale"].states["offer"]
    labels = [offer.on[0].label, bot.flows["sale"].global_on[0].label, "choice: sale.visit"]
    assert " if " in labels[0]
    assert labels[1].startswith("global ")

    def talk(n: int, trigger: str) -> list[Record]:
        base = Record(
            "conversation_start", f"web:{n}", 1, 1, 1, 0.0, "b", "sale", "v", "", str(n), "web"
        )
        return [
            base._replace(data={"flow": "sale"}),
            base._replace(kind="transition", seq=2, data={"from": None, "to": "sale.offer"}),
            base._replace(kind="promotion", seq=3, data={"promotion": "winter_sale"}),
            base._replace(kind="message_in", seq=4, turn=2, at=5.0, data=None),
            base._replace(
                kind="transition",
                seq=5,
                turn=2,
                at=5.0,
                data={"from": "sale.offer", "to": "sale.coupon", "trigger": trigger},
            ),
        ]

    records = [r for n, label in enumerate(labels) for r in talk(n, label)]
    promotion = bot.promotions["winter_sale"]
    assert [
        clicked(promotion, c.promotions["winter_sale"]) for c in conversations_of(records)
    ] == [
        True,
        True,
        True,
    ]


def test_a_purchase_naming_the_shops_customer_goes_to_their_latest_talk_on_any_channel() -> None:
    """민지 is the shop's customer C-1042 on KakaoTalk and on the web; the shop posts her
    purchase under its own id. 지훈 is a customer no channel user is linked to."""
    kakao = Conversation("kakao:shop:m1", 1, "kakao", "shop:m1", 0.0, 100.0)
    web = Conversation("web:v9", 1, "web", "v9", DAY, DAY + 60)
    links = {"shop:m1": "C-1042", "v9": "C-1042"}
    events = [
        BusinessEvent("p1", "purchase", "", 2 * DAY, 39_000.0, customer="C-1042"),  # the web
        BusinessEvent("p2", "purchase", "", 0.5 * DAY, 12_000.0, customer="C-1042"),  # Kakao
        BusinessEvent("p3", "purchase", "", DAY + 60 + 7 * DAY + 1, 5_000.0, customer="C-1042"),
        BusinessEvent("p4", "purchase", "", 2 * DAY, 9_900.0, customer="C-2001"),  # unlinked
        # posted under her Kakao user, bought after she talked on the web: the web talk
        BusinessEvent("p5", "purchase", "shop:m1", 3 * DAY, 20_000.0),
    ]
    attributed = {a.event.id: a.conversation for a in attribute([kakao, web], events, links=links)}
    assert attributed == {"p1": web, "p2": kakao, "p3": None, "p4": None, "p5": web}
    # without the links, a customer's purchase is credited to no one
    alone = {a.event.id: a.conversation for a in attribute([kakao, web], events)}
    assert alone == {"p1": None, "p2": None, "p3": None, "p4": None, "p5": kakao}
