"""What the flow guide (flows/README.md) promises about results and re-asking, held to it.

Section 5 "Results, and what `error` covers": a timeout is routed to `result: error` when the
state has no `result: timeout`; a result with no route says `messages.error` and goes back to the
start. Section 4 "When `collect` asks (again)": entering a collect state asks afresh, except for
a slot set on the way in.
"""

from __future__ import annotations

from collections.abc import Callable

from botkit.engine import Engine
from tests.engine.conftest import Conversation

BOT = """
bot: guide
start: shop
messages: {error: "오류가 났어요."}
actions:
  lookup: {function: lookup, results: [not_found]}
slots:
  order_no: {type: text, prompt: "주문번호를 알려 주세요."}
"""

SHOP = """
flow: shop
start: menu
states:
  menu:
    say:
      text: "메뉴"
      quick_replies: [{label: 조회, payload: ask}, {label: 바로, payload: preset}]
    on:
      - payload: ask
        to: ask
      - payload: preset
        set: {order_no: "42"}
        to: ask
  ask:
    collect: order_no
    next: call
  call:
    call: lookup
    on:
      - result: ok
        to: shown
      - result: error
        to: failed
  shown:
    say: {text: "찾았어요 {{order_no}}", quick_replies: [{label: 다시, payload: again}]}
    on:
      - payload: again
        to: ask
  failed:
    say: "실패했어요"
    next: menu
"""


def _talk(inline: Callable[..., Engine], result: str) -> Conversation:
    return Conversation(inline(BOT, SHOP), actions={"lookup": (result, {})})


def test_a_timeout_takes_the_error_route_when_there_is_no_timeout_route(inline) -> None:
    c = _talk(inline, "timeout").say("안녕").press("조회").say("123")
    assert "실패했어요" in c.texts
    action = next(r for r in c.records if r.kind == "action")
    assert action.data is not None
    assert action.data["result"] == "timeout"  # recorded as what it was, routed as error


def test_a_result_with_no_route_says_the_error_message_and_goes_to_the_start(inline) -> None:
    c = _talk(inline, "not_found").say("안녕").press("조회").say("123")
    assert "오류가 났어요." in c.texts
    assert c.state == "shop.menu"
    assert "error" in c.kinds()


def test_collect_asks_again_on_each_entry_unless_set_on_the_way_in(inline) -> None:
    c = _talk(inline, "ok").say("안녕").press("조회").say("123")
    assert c.state == "shop.shown"
    c.press("다시")  # order_no was filled on the first visit: asked for again
    assert c.texts == ["주문번호를 알려 주세요."]
    assert c.state == "shop.ask"
    fresh = _talk(inline, "ok").say("안녕").press("바로")  # set: on the way in, not asked
    assert fresh.state == "shop.shown"
    assert "찾았어요 42" in fresh.texts
