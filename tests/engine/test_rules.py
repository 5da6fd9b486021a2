"""The engine's rules on small inline flows: matching order, slots, fallback, experiments,
handoff, timeouts."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable

import pytest

from botkit.engine import Engine, variant_for
from botkit.errors import ConfigurationError, NotWithAgent
from botkit.events import AgentRelease
from botkit.flow.model import Branch
from tests.engine.conftest import WEDNESDAY_10AM, Conversation

WAITING = (
    "상담원을 기다리고 있어요. 남기신 말씀은 상담원에게 그대로 전달돼요. "
    "그만 기다리시려면 '대기 취소'를 눌러 주세요."
)

Build = Callable[..., Engine]

PRECEDENCE = """
flow: demo
start: menu
slots:
  count:
    type: number
    prompt: "몇 개 드릴까요?"
    min: 1
    max: 9
global:
  - keywords: [처음으로]
    to: menu
  - examples: ["상담원이랑 이야기하고 싶어요"]
    to: agent_like
states:
  menu:
    say:
      text: "메뉴예요"
      quick_replies:
        - label: 주문
          payload: order
    on:
      - payload: order
        to: ask_count
      - keywords: [주문]
        to: by_keyword
      - examples: ["물건을 사고 싶어요"]
        to: by_example
  ask_count:
    collect: count
    on:
      - keywords: ["3"]
        to: by_keyword
    next: done
  by_keyword:
    say: "키워드"
    next: menu
  by_example:
    say: "예문"
    next: menu
  agent_like:
    say: "상담원 흉내"
    next: menu
  done:
    say: "{{count}}개 주문했어요"
    end: resolved
"""


def test_payload_beats_keywords_and_label_typing_counts_as_pressing(inline: Build) -> None:
    c = Conversation(inline(PRECEDENCE)).say("시작")
    c.say("주문하기", payload="order")
    assert c.state == "demo.ask_count"
    c2 = Conversation(inline(PRECEDENCE), user="b").say("시작").say("주문")  # the label
    assert c2.state == "demo.ask_count"
    c3 = Conversation(inline(PRECEDENCE), user="c").say("시작").say("주문 할게요")  # keyword
    assert c3.state == "demo.menu"
    assert "키워드" in c3.texts


def test_active_slot_beats_state_transitions(inline: Build) -> None:
    c = Conversation(inline(PRECEDENCE)).say("시작").say("x", payload="order").say("3")
    assert c.slots["count"] == 3
    assert c.state == "demo.done"


def test_state_transitions_beat_globals_and_globals_beat_examples(inline: Build) -> None:
    c = Conversation(inline(PRECEDENCE)).say("시작").say("x", payload="order")
    c.say("처음으로")  # not a number: the global keyword applies
    assert c.state == "demo.menu"
    c.say("물건 사고 싶어요")  # close to the state's example phrase
    assert "예문" in c.texts
    c.say("상담원이랑 얘기하고 싶어요")  # close to the global example phrase
    assert "상담원 흉내" in c.texts


def test_nfd_and_full_width_input_match_like_nfc(inline: Build) -> None:
    decomposed = unicodedata.normalize("NFD", "처음으로")
    assert decomposed != "처음으로"
    c = Conversation(inline(PRECEDENCE)).say("시작").say("x", payload="order").say(decomposed)
    assert c.state == "demo.menu"
    c.say("x", payload="order").say("３")
    assert c.slots["count"] == 3


def test_fallback_escalates_after_max_misses(inline: Build) -> None:
    flow = """
    flow: demo
    start: menu
    fallback:
      messages: ["첫 번째 실패", "두 번째 실패"]
      max_misses: 3
      escalate_to: help
    states:
      menu:
        say:
          text: "골라 주세요"
          quick_replies:
            - {label: 네, payload: yes_please}
        on:
          - payload: yes_please
            to: help
      help:
        say: "도와드릴게요"
        end: unresolved
    """
    c = Conversation(inline(flow)).say("시작")
    c.say("뭐지")
    assert c.texts == ["첫 번째 실패"]
    assert c.choices == ["네"]  # the choices are offered again
    c.say("음")
    assert c.texts == ["두 번째 실패"]
    c.say("아무거나")
    assert c.state == "demo.help"
    assert [r.data for r in c.all_records if r.kind == "fallback"] == [
        {"miss": 1},
        {"miss": 2},
        {"miss": 3},
    ]


SLOT_TYPES = """
flow: demo
start: ask
slots:
  value:
    type: {type}
    prompt: "값을 알려 주세요"
    {extra}
states:
  ask:
    collect: value
    next: done
  done:
    say: "{{{{value}}}}"
    end: resolved
"""


@pytest.mark.parametrize(
    ("slot_type", "extra", "answer", "value"),
    [
        ("text", "max_length: 10", "배송이 늦어요", "배송이 늦어요"),
        ("number", "min: 1\n    max: 5", "4점이요", 4),
        ("number", "min: 1\n    max: 5", "４", 4),
        ("enum", "values: {refund: [환불, 반품], exchange: [교환]}", "반품 할래요", "refund"),
        ("date", "", "2026-12-24", "2026-12-24"),
        ("date", "", "12월 24일", "2026-12-24"),
        ("date", "", "내일", "2026-11-26"),
        ("phone", "", "010 1234 5678", "010-1234-5678"),
        ("phone", "", "０１０－１２３４－５６７８", "010-1234-5678"),
        ("email", "", "Minji@Example.com", "minji@example.com"),
        ("regex", "pattern: '^[A-Z]{2}[0-9]{4}$'", "AB1234", "AB1234"),
        ("order_number", "min_length: 10\n    max_length: 10", "1234-567-890", "1234567890"),
        (
            "order_number",
            "min_length: 10\n    max_length: 10",
            "１２３４５６７８９０",
            "1234567890",
        ),
    ],
)
def test_slot_types_read_and_normalize_answers(
    inline: Build, slot_type: str, extra: str, answer: str, value: object
) -> None:
    c = Conversation(inline(SLOT_TYPES.format(type=slot_type, extra=extra))).say("시작")
    assert c.texts == ["값을 알려 주세요"]
    c.say(answer)
    assert c.slots["value"] == value
    assert c.state == "demo.done"


@pytest.mark.parametrize(
    ("slot_type", "extra", "answer"),
    [
        ("number", "min: 1\n    max: 5", "9"),
        ("number", "min: 1\n    max: 5", "3 아니면 4"),
        ("enum", "values: {refund: [환불], exchange: [교환]}", "몰라요"),
        ("date", "", "2월 30일"),
        ("phone", "", "12345"),
        ("email", "", "minji@"),
        ("regex", "pattern: '^[A-Z]{2}[0-9]{4}$'", "ab12"),
        ("order_number", "min_length: 10\n    max_length: 10", "1234-567-89O"),
        ("order_number", "min_length: 10\n    max_length: 10", "123"),
    ],
)
def test_slot_types_reject_invalid_answers(
    inline: Build, slot_type: str, extra: str, answer: str
) -> None:
    c = Conversation(inline(SLOT_TYPES.format(type=slot_type, extra=extra))).say("시작")
    c.say(answer)
    assert "value" not in c.slots
    assert c.kinds().count("slot_rejected") == 1


def test_confirmation_asks_yes_or_no(inline: Build) -> None:
    flow = SLOT_TYPES.format(type="order_number", extra='confirm: "{{value}} 맞나요?"')
    c = Conversation(inline(flow)).say("시작").say("1234567890")
    assert c.texts == ["1234567890 맞나요?"]
    assert c.choices == ["예", "아니요"]
    c.press("아니요")
    assert c.texts == ["값을 알려 주세요"]
    assert "value" not in c.slots
    c.say("1111111111").say("네")
    assert c.slots["value"] == "1111111111"
    assert c.state == "demo.done"


def test_custom_validator_is_required_and_used(inline: Build) -> None:

    flow = SLOT_TYPES.format(type="text", extra="validator: only_korean")
    with pytest.raises(ConfigurationError, match="only_korean"):
        inline(flow)
    engine = inline(
        flow, validators={"only_korean": lambda v, s: all("가" <= ch <= "힣" for ch in v)}
    )
    c = Conversation(engine).say("시작").say("hello")
    assert c.kinds().count("slot_rejected") == 1
    c.say("안녕")
    assert c.slots["value"] == "안녕"


EXPERIMENT = """
flow: demo
start: ask
experiments:
  copy:
    variants: {A: 50, B: 50}
states:
  ask:
    experiment: copy
    say: "A 문구"
    variants:
      B:
        say: "B 문구"
        next: b_path
    next: done
  b_path:
    say: "B 길"
    next: done
  done:
    end: resolved
"""


def test_variants_are_deterministic_sticky_and_recorded(inline: Build) -> None:
    engine = inline(EXPERIMENT)
    seen: dict[str, int] = {}
    for i in range(40):
        user = f"user{i}"
        c = Conversation(engine, user=user).say("시작")
        expected = variant_for(user, "copy", (("A", 50.0), ("B", 50.0)))
        seen[expected] = seen.get(expected, 0) + 1
        assert c.texts[0] == f"{expected} 문구"
        targets = [(r.data or {}).get("to") for r in c.records if r.kind == "transition"]
        assert ("demo.b_path" in targets) == (expected == "B")
        exposure = [r for r in c.records if r.kind == "experiment"]
        assert exposure[0].data == {"experiment": "copy", "variant": expected}
        assert c.records[-1].variant == f"copy:{expected}"
        again = Conversation(engine, user=user).say("다시")
        assert again.texts[0] == f"{expected} 문구"
    assert set(seen) == {"A", "B"}


def test_handoff_holds_user_messages_and_release_resumes(
    reference_bot: object, talk: Callable[..., Conversation]
) -> None:
    c = talk().say("안녕하세요").say("상담원 연결해 주세요")
    assert c.state == "support.agent"
    assert c.handed_off
    assert c.session.status == "handoff_requested"
    c.say("빨리요")
    # Kept for the agent; the handoff's while_waiting (support.yaml) tells the user so.
    assert c.texts == [WAITING]
    assert c.choices == ["대기 취소"]
    assert c.session.status == "handoff_requested"
    assert c.session.held == ["빨리요"]
    c.release()
    assert c.session.status == "bot"
    assert c.state == "main.start"
    assert [r.kind for r in c.records][:2] == ["handoff_released", "transition"]
    c.say("배송 조회")
    assert c.state == "order_status.ask_order"


def test_outside_business_hours_goes_to_the_flow_decision(
    talk: Callable[..., Conversation],
) -> None:
    sunday = 1_795_568_400.0 + 4 * 86400  # 2026-11-29, a Sunday: the team is closed
    c = talk(at=sunday).say("안녕하세요").say("상담원")
    assert c.state == "support.leave_contact"
    assert "상담 시간이 아니에요" in " ".join(c.texts)


def test_inactivity_closes_the_conversation_as_abandoned(
    talk: Callable[..., Conversation],
) -> None:
    c = talk().say("안녕하세요").say("배송 조회")
    c.at += 31 * 60
    c.say("안녕하세요")
    ends = [r for r in c.records if r.kind == "conversation_end"]
    assert ends[0].data == {"outcome": "abandoned"}
    assert ends[0].conversation == 1
    assert c.session.conversation == 2
    assert c.state == "main.start"


def test_a_loop_of_next_steps_stops_instead_of_hanging(inline: Build) -> None:
    flow = """
    flow: demo
    start: a
    states:
      a:
        say: "에이"
        next: b
      b:
        next: c
      c:
        say: "씨"
        end: resolved
    """
    # The compiler refuses a loop of next steps (BK415); a bot built some other way must
    # still not hang the engine, so the loop is made by hand.
    bot = inline(flow).bot
    demo = bot.flows["demo"]
    looped = dataclasses.replace(demo.states["b"], next=(Branch(("demo", "a")),))
    flows = {**bot.flows, "demo": dataclasses.replace(demo, states={**demo.states, "b": looped})}
    c = Conversation(Engine(dataclasses.replace(bot, flows=flows))).say("시작")
    assert any(r.kind == "error" for r in c.records)


def test_flow_globals_apply_only_in_their_flow(inline: Build) -> None:
    first = """
    flow: one
    start: a
    global:
      - keywords: [둘로]
        to: two.b
    states:
      a:
        say: "하나"
        next: wait_a
      wait_a:
        say: "기다려요"
        on:
          - payload: never
            to: a
    """
    second = """
    flow: two
    start: b
    global:
      - keywords: [하나로]
        to: one.a
    states:
      b:
        say: "둘"
        on:
          - payload: never
            to: b
    """
    c = Conversation(inline(first, second)).say("시작")
    assert c.state == "one.wait_a"
    c.say("하나로")  # a global of flow two: not available in flow one
    assert c.state == "one.wait_a"
    c.say("둘로")
    assert c.state == "two.b"
    c.say("둘로")  # flow one's global does not apply in flow two
    assert c.state == "two.b"
    c.say("하나로")
    assert c.state == "one.wait_a"


@pytest.mark.parametrize("close", [False, True])
def test_a_release_of_a_conversation_no_agent_holds_is_refused_and_changes_nothing(
    talk: Callable[..., Conversation], close: bool
) -> None:
    c = talk(user="하준")
    engine = c.engine
    never_talked = engine.new_session("test:서연", "서연", "test")
    with pytest.raises(NotWithAgent):
        engine.handle(never_talked, AgentRelease(WEDNESDAY_10AM, None, close))
    assert never_talked.seq == 0

    c.say("안녕하세요")  # with the bot, not an agent
    before = c.session.to_dict()
    with pytest.raises(NotWithAgent):
        engine.handle(c.session, AgentRelease(c.at + 5, None, close))
    assert c.session.to_dict() == before
