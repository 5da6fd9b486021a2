"""The order-status conversation of the reference bot, turn by turn."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from botkit.engine import Awaiting
from tests.engine.conftest import Conversation

Talk = Callable[..., Conversation]


def test_greeting_offers_the_menu_as_quick_replies(talk: Talk) -> None:
    c = talk().say("안녕하세요")
    assert c.state == "main.start"
    assert "배송 조회" in c.choices
    assert "환불" in c.choices
    assert c.kinds()[:2] == ["conversation_start", "message_in"]


@pytest.mark.parametrize("how", ["payload", "typed label", "typed phrase", "intent example"])
def test_menu_leads_to_the_order_number_question(talk: Talk, how: str) -> None:
    c = talk().say("안녕하세요")
    if how == "payload":
        c.press("배송 조회")
    elif how == "typed label":
        c.say("배송조회")  # no space: labels match whatever the spacing
    elif how == "typed phrase":
        c.say("택배 언제 와요?")
    else:
        c.say("주문한거 언제와요")
    assert c.state == "order_status.ask_order"
    assert c.texts == ["주문번호 10자리를 알려 주세요. (예: 1234-567-890)"]
    assert c.session.awaiting == Awaiting("slot", "order_no")


@pytest.mark.parametrize(
    ("first", "second"),
    [("12-34", "12a4567890"), ("주문번호 몰라요", "123456789")],
)
def test_invalid_order_numbers_get_the_reprompt_of_each_attempt(
    talk: Talk, first: str, second: str
) -> None:
    c = talk().say("안녕하세요").press("배송 조회")
    c.say(first)
    assert c.texts == ["주문번호는 숫자 10자리예요. 다시 입력해 주세요."]
    assert c.kinds().count("slot_rejected") == 1
    c.say(second)
    assert c.texts == ["예를 들어 1234-567-890 처럼 입력해 주세요. 하이픈은 없어도 괜찮아요."]
    assert [r.data for r in c.records if r.kind == "slot_rejected"] == [
        {"slot": "order_no", "attempt": 2}
    ]
    assert c.state == "order_status.ask_order"


@pytest.mark.parametrize(
    "written", ["1234-567-890", "１２３４－５６７－８９０", "1234 567 890", "1234567890"]
)
def test_valid_order_number_is_looked_up_and_answered(talk: Talk, written: str) -> None:
    c = talk().say("안녕하세요").press("배송 조회").say(written)
    assert c.slots["order_no"] == "1234567890"
    assert c.state == "order_status.in_transit"
    assert c.texts[1] == "주문 1234567890은(는) 지금 '배송중' 상태예요."
    assert any(
        e.card and e.card.title == "CJ대한통운 · 도착 예정 11월 25일"
        for e in c.effects
        if hasattr(e, "card")
    )
    kinds = c.kinds()
    assert kinds.index("slot_filled") < kinds.index("action") < kinds.index("goal")


def test_three_invalid_attempts_hand_over_to_an_agent(talk: Talk) -> None:
    c = talk().say("안녕하세요").press("배송 조회")
    c.say("12").say("34")
    assert not c.handed_off
    c.say("56")
    assert c.state == "support.agent"
    assert c.session.status == "handoff_requested"
    assert c.handed_off
    transitions = [r.data for r in c.records if r.kind == "transition"]
    assert transitions[0] == {
        "from": "order_status.ask_order",
        "to": "support.agent",
        "trigger": "order_no attempts exhausted",
    }


def test_validator_rejects_what_the_program_says_is_invalid(talk: Talk) -> None:
    c = talk().say("안녕하세요").press("배송 조회").say("9999-999-999")
    assert c.state == "order_status.ask_order"
    assert c.kinds().count("slot_rejected") == 1


@pytest.mark.parametrize(
    "where",
    ["menu", "asking for the number", "after the answer", "refund reason"],
)
def test_going_back_to_the_start_works_from_any_state(talk: Talk, where: str) -> None:
    c = talk().say("안녕하세요")
    if where == "asking for the number":
        c.press("배송 조회")
    elif where == "after the answer":
        c.press("배송 조회").say("1234-567-890")
    elif where == "refund reason":
        c.say("환불하고 싶어요")
    c.say("처음으로")
    assert c.state == "main.start"
    assert c.session.awaiting == Awaiting("input")


def test_lookup_not_found_and_errors_take_their_routes(talk: Talk) -> None:
    missing = talk(actions={"lookup_order": ("not_found", {})})
    missing.say("안녕하세요").press("배송 조회").say("1234-567-890")
    assert missing.state == "order_status.not_found"
    failing = talk(user="서준", actions={"lookup_order": ("timeout", {})})
    failing.say("안녕하세요").press("배송 조회").say("1234-567-890")
    assert failing.state == "main.start"  # lookup_failed → next (not kakao) → main.start
    assert "택배사 조회가 지금 원활하지 않아요" in " ".join(failing.texts)


def test_delivered_branch_uses_the_lookup_field(talk: Talk) -> None:
    done = {"status": "배송완료", "delivery": {"eta": "어제", "courier": "한진"}}
    c = talk(actions={"lookup_order": ("ok", done)}).say("안녕").press("배송 조회")
    c.say("1234-567-890")
    assert c.state == "order_status.delivered"


def test_records_have_gap_free_sequence_numbers_and_full_context(talk: Talk) -> None:
    c = talk().say("안녕하세요").press("배송 조회").say("12").say("1234-567-890").say("처음으로")
    seqs = [r.seq for r in c.all_records]
    assert seqs == list(range(1, len(seqs) + 1))
    assigned = next(r.seq for r in c.all_records if r.kind == "experiment")
    for r in c.all_records:
        assert r.variant.startswith("greeting_title:") == (r.seq >= assigned)
        assert r.session == "test:민지"
        assert r.bot == "shop_helper"
        assert r.flow in {"main", "order_status"}
        assert r.flow_version == c.engine.bot.flows[r.flow].version
        assert r.conversation == 1
