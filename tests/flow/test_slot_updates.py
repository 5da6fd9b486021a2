"""``set:`` / ``clear:`` on transitions and next steps, and ``require:`` on actions: what they
compile to, and the problems botkit reports with their positions."""

from __future__ import annotations

import textwrap

from botkit.flow import compile_texts
from botkit.flow.model import SlotUpdate

FLOW = """
flow: shop
start: menu
slots:
  coupon:
    type: enum
    values: [none, welcome]
  count:
    type: number
  memo:
    type: text
states:
  menu:
    say: "메뉴예요"
    on:
      - keywords: [쿠폰]
        set: {coupon: welcome, count: 2, memo: "쿠폰 받음"}
        to: done
      - keywords: [취소]
        clear: coupon
        to: done
    next:
      - if: "coupon == null"
        set: {memo: "첫 방문"}
        clear: [count]
        to: done
  done:
    say: "끝"
    end: resolved
"""


def _problems(text: str) -> list[tuple[str, int, int, str]]:
    result = compile_texts([("shop.yaml", textwrap.dedent(text).lstrip("\n"))])
    return [(p.code, p.line, p.column, p.message) for p in result.problems]


def test_set_and_clear_compile_onto_transitions_and_next_steps() -> None:
    result = compile_texts([("shop.yaml", FLOW.lstrip("\n"))])
    assert result.bot is not None, [p.message for p in result.problems]
    menu = result.bot.state(("shop", "menu"))
    assert menu.on[0].update == SlotUpdate({"coupon": "welcome", "count": 2, "memo": "쿠폰 받음"})
    assert menu.on[1].update == SlotUpdate({}, ("coupon",))
    assert menu.next[0].update == SlotUpdate({"memo": "첫 방문"}, ("count",))


def test_setting_or_clearing_an_undeclared_slot_is_reported_where_it_is_named() -> None:
    broken = FLOW.replace("set: {coupon: welcome,", "set: {cupon: welcome,").replace(
        "clear: [count]", "clear: [cont]"
    )
    assert _problems(broken) == [
        ("BK302", 16, 15, "slot 'cupon' is not declared"),
        ("BK302", 24, 17, "slot 'cont' is not declared"),
    ]


def test_a_value_the_slot_cannot_hold_is_reported_with_what_it_can() -> None:
    broken = FLOW.replace("coupon: welcome,", "coupon: welcom,").replace("count: 2,", "count: 둘,")
    problems = compile_texts([("shop.yaml", broken.lstrip("\n"))]).problems
    assert [(p.code, p.line, p.column, p.message) for p in problems] == [
        ("BK205", 16, 23, "slot 'coupon' (enum slot) cannot be set to 'welcom'"),
        ("BK205", 16, 38, "slot 'count' (number slot) cannot be set to '둘'"),
    ]
    assert problems[0].expected == "'none' or 'welcome'"
    assert problems[0].hint == "did you mean 'welcome'?"


def test_a_slot_both_set_and_cleared_is_a_conflict() -> None:
    broken = FLOW.replace("clear: [count]", "clear: [memo]")
    assert _problems(broken) == [("BK208", 24, 17, "slot 'memo' is both set and cleared here")]
