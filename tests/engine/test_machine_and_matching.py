"""The shared ``transitions`` machine takes only designed edges, and the prepared matcher agrees
with the plain, one-transition-at-a-time definition of an exact match."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings, strategies as st

from botkit.engine import Engine
from botkit.engine._machine import FlowMachine, MachineError
from botkit.engine.matching import ExactPool, exact
from botkit.engine.session import Session
from botkit.flow.model import Intent, Transition
from botkit.flow.patterns import compile_pattern

Build = Callable[..., Engine]

TWO_STATES = """
flow: shop
start: menu
states:
  menu:
    say: "메뉴예요"
    on:
      - keywords: [배송]
        to: delivery
      - keywords: [분실]
        to: lost
  delivery:
    say: "배송 안내예요"
    end: resolved
  lost:
    say: "분실 신고는 상담원이 도와드려요"
    end: resolved
"""


def test_the_machine_takes_a_designed_edge_and_refuses_any_other(inline: Build) -> None:
    machine = FlowMachine(inline(TWO_STATES).bot)
    session = Session(key="k", user="u", channel="test", state="shop.menu")

    machine.hop(session, ("shop", "delivery"))
    assert session.state == "shop.delivery"

    with pytest.raises(MachineError, match=r"shop\.lost"):
        machine.hop(session, ("shop", "lost"))  # delivery has no transition to lost
    assert session.state == "shop.delivery"

    machine.jump(session, ("shop", "lost"))  # an operator's move is not an edge
    assert session.state == "shop.lost"


def test_one_machine_serves_every_session_without_registering_them(inline: Build) -> None:
    engine = inline(TWO_STATES)
    sessions = [engine.new_session(f"k{i}", f"u{i}", "test") for i in range(50)]
    for session in sessions:
        engine.machine.jump(session, ("shop", "menu"))
        engine.machine.hop(session, ("shop", "delivery"))
    assert engine.machine.machine.models == []  # model=None and no add_model
    assert {s.state for s in sessions} == {"shop.delivery"}


INTENTS = {"refund": Intent("refund", "환불", (), ("환불", "반품"))}
WORDS = ["배송", "환불", "반품", "처음으로", "주문", "취소", "12", "a"]


@st.composite
def transitions(draw: st.DrawFn) -> Transition:
    kind = draw(st.sampled_from(["payload", "keywords", "regex", "intent", "any"]))
    target = ("f", "s")
    if kind == "payload":
        return Transition("payload", target, payload=draw(st.sampled_from(["a", "b"])))
    if kind == "keywords":
        words = draw(st.lists(st.sampled_from(WORDS), max_size=3))
        return Transition("keywords", target, keywords=tuple(words))
    if kind == "regex":
        source = draw(st.sampled_from([r"(?P<n>\d{2})", r"^주문", r"취소$"]))
        return Transition("regex", target, pattern=compile_pattern(source))
    if kind == "intent":
        return Transition("intent", target, intent=draw(st.sampled_from(["refund", "none"])))
    return Transition("any", target)


@settings(max_examples=300, deadline=None)
@given(
    pool=st.lists(transitions(), max_size=6),
    said=st.text(alphabet="배송환불반품처음으로주문취소12a ", max_size=8),
    payload=st.sampled_from([None, "a", "b"]),
)
def test_the_prepared_pool_finds_the_first_exact_match(
    pool: list[Transition], said: str, payload: str | None
) -> None:
    squashed = said.replace(" ", "")
    expected = next(
        (
            (t, groups)
            for t in pool
            if (groups := exact(t, squashed, said, payload, INTENTS)) is not None
        ),
        None,
    )
    found = ExactPool(tuple(pool), INTENTS).first(squashed, said, payload, lambda t: True)
    assert found == expected
