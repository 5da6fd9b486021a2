"""Asking again keeps the way out: a reprompt without quick replies of its own carries the
prompt's (the 취소 button after a wrong order number), and they can still be pressed
(#16 item 8)."""

from __future__ import annotations

from collections.abc import Callable

from botkit.engine import Engine
from tests.engine.conftest import Conversation

Build = Callable[..., Engine]

BOT = """
flow: shop
start: menu
global:
  - payload: cancel
    say: "취소했어요."
    to: menu
slots:
  order_no:
    type: order_number
    prompt:
      - "주문번호를 찾아 볼게요."
      - text: "주문번호 10자리를 알려 주세요."
        quick_replies:
          - label: 찾는 법
            payload: help
          - label: 취소
            payload: cancel
    reprompt:
      - "숫자 10자리예요."
      - text: "예: 1234-567-890"
        quick_replies:
          - label: 그만할래요
            payload: cancel
    max_attempts: 5
  note:
    type: number
    prompt: "몇 개요?"
    reprompt: "숫자로 알려 주세요."
states:
  menu:
    say: "메뉴예요"
    on:
      - keywords: [조회]
        to: ask
      - keywords: [개수]
        to: count
  ask:
    collect: order_no
    next: done
  count:
    collect: note
    next: done
  done:
    say: "끝"
"""


def test_a_reprompt_without_choices_keeps_the_prompts(inline: Build) -> None:
    talk = Conversation(inline(BOT)).say("조회")
    assert talk.choices == ["찾는 법", "취소"]
    talk.say("12")
    assert talk.texts == ["숫자 10자리예요."]
    assert talk.choices == ["찾는 법", "취소"]
    assert talk.effects[-1].slot == "order_no"  # type: ignore[union-attr]
    talk.press("취소")
    assert talk.texts == ["취소했어요.", "메뉴예요"]
    assert talk.state == "shop.menu"
    assert "payload_rejected" not in [r.kind for r in talk.all_records]


def test_a_reprompt_with_its_own_choices_shows_only_those(inline: Build) -> None:
    talk = Conversation(inline(BOT)).say("조회").say("12").say("34")
    assert talk.texts == ["예: 1234-567-890"]
    assert talk.choices == ["그만할래요"]


def test_a_prompt_without_choices_gives_its_reprompt_none(inline: Build) -> None:
    talk = Conversation(inline(BOT)).say("개수").say("많이요")
    assert talk.texts == ["숫자로 알려 주세요."]
    assert talk.choices == []
