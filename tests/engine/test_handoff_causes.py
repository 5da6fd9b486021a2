"""A ``handoff_requested`` record names what happened (issue 18, fault 7): besides the state's
declared ``reason``, its ``cause`` (the user's request, an action's result, a condition, repeated
fallbacks, a slot's attempts used up, an operator, the flow going on by itself), the ``trigger``
that set off the turn's moves, and the state it was taken ``from``. A handoff reached through a
few ``next`` steps names what led into them, not the last plain ``next``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from botkit.engine import Engine
from botkit.engine.handoff import CAUSES
from tests.engine.conftest import Conversation

SHOP = """
flow: shop
start: menu
slots:
  order_no:
    type: order_number
    prompt: "주문번호를 알려 주세요."
    max_attempts: 2
    on_exhausted: agent
  score:
    type: number
    prompt: "이번 상담은 몇 점인가요?"
  question:
    type: text
    prompt: "문의 내용을 남겨 주세요."
actions:
  lookup:
    function: lookup
states:
  menu:
    say:
      text: "무엇을 도와드릴까요?"
      quick_replies:
        - label: 상담원 연결
          to: agent
    on:
      - keywords: [상담원]
        to: agent
      - keywords: [조회]
        to: ask_order
      - keywords: [설문]
        to: survey
      - keywords: [문의]
        to: ask_question
    fallback:
      messages: ["다시 말씀해 주세요."]
      max_misses: 2
      escalate_to: agent
  ask_order:
    collect: order_no
    next: lookup
  lookup:
    call: lookup
    on:
      - result: ok
        to: menu
      - result: error
        to: lookup_failed
  lookup_failed:
    say: "조회하지 못했어요."
    next: agent
  survey:
    collect: score
    next:
      - if: "score == 1"
        to: sorry
      - to: menu
  sorry:
    say: "불편을 드려 죄송해요."
    next: agent
  ask_question:
    collect: question
    next: agent
  agent:
    handoff:
      reason: user_request
      message: "상담원을 연결해 드릴게요."
      resume: menu
"""


@pytest.fixture
def shop(inline: Callable[..., Engine]) -> Engine:
    return inline(SHOP)


def _requested(c: Conversation) -> dict[str, Any]:
    (found,) = [r.data for r in c.all_records if r.kind == "handoff_requested"]
    assert found is not None
    assert found["cause"] in CAUSES
    return found


def _cause(c: Conversation) -> tuple[str, str, str]:
    data = _requested(c)
    return data["cause"], data["trigger"], data["from"]


def test_the_users_words_and_presses_are_a_request(shop: Engine) -> None:
    typed = Conversation(shop, "민지").say("").say("상담원 불러 주세요")
    pressed = Conversation(shop, "지훈").say("").press("상담원 연결")
    assert _cause(typed) == ("user_request", "keywords: 상담원", "shop.menu")
    assert _cause(pressed) == ("user_request", "choice: shop.agent", "shop.menu")
    assert _requested(typed)["reason"] == "user_request"  # the state's own, as before


def test_a_failed_action_is_named_by_its_result_not_by_the_state_reason(shop: Engine) -> None:
    c = Conversation(shop, actions={"lookup": ("error", {})})
    c.say("").say("조회").say("1234-567-890")
    assert c.state == "shop.agent"
    data = _requested(c)
    assert data["reason"] == "user_request"  # what the state declares, kept
    assert (data["cause"], data["trigger"], data["from"]) == (
        "action_result",
        "lookup: error",
        "shop.lookup",  # the call state, not lookup_failed where the last next was taken
    )


def test_a_condition_that_led_into_the_chain_is_the_cause(shop: Engine) -> None:
    c = Conversation(shop).say("").say("설문").say("1")
    assert c.state == "shop.agent"
    hops = [r.data["trigger"] for r in c.records if r.kind == "transition" and r.data]
    assert hops == ["next if score == 1", "next"]  # sorry → agent is a plain next
    assert _cause(c) == ("condition", "score == 1", "shop.survey")


def test_repeated_fallbacks_and_used_up_attempts_are_the_bots_failures(shop: Engine) -> None:
    lost = Conversation(shop, "민지").say("").say("음…").say("글쎄요")
    wrong = Conversation(shop, "지훈").say("").say("조회").say("몰라요").say("모르겠어요")
    assert _requested(lost)["reason"] == "repeated_fallback"
    assert _cause(lost) == ("repeated_fallback", "fallback escalation", "shop.menu")
    assert _requested(wrong)["reason"] == "slot_exhausted"
    assert _cause(wrong) == ("slot_exhausted", "order_no", "shop.ask_order")


def test_an_unconditional_next_from_an_answered_question_is_the_flow(shop: Engine) -> None:
    c = Conversation(shop).say("").say("문의").say("환불이 언제 되는지 궁금해요")
    assert c.state == "shop.agent"
    assert _cause(c) == ("flow", "next", "shop.ask_question")


def test_an_operator_moving_the_user_is_the_operators_doing(shop: Engine) -> None:
    c = Conversation(shop).say("")
    turn = shop.goto(c.session, shop.target("shop.agent"), c.at + 5)
    (data,) = [r.data for r in turn.records if r.kind == "handoff_requested"]
    assert data is not None
    assert (data["cause"], data["trigger"], data["from"]) == ("operator", "goto", "shop.menu")
