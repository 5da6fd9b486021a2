"""The opt-out words (bot.yaml ``opt_out:``) withdraw consent to advertising from any state: a
question half-asked, a first message, a handoff queue, a conversation a new version moved. The
user is told at once, and the turn goes on as it would have: a question still stands, a state
entered now greets, an agent still reads the words."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from botkit.engine.hearing import opts_out
from botkit.flow.model import DEFAULT_OPT_OUT
from tests.engine.conftest import Conversation

Talk = Callable[..., Conversation]
CONFIRMED = "광고 메시지 수신을 거부하셨어요. 앞으로 쇼핑몰 도우미의 광고는 보내지 않을게요."


@pytest.mark.parametrize(
    "said",
    ["수신거부", "수신 거부", "수신거부.", "광고 그만!!", "광고그만 🙅", "수신거부요",
     "광고 그만할게요", "ＵＮＳＵＢＳＣＲＩＢＥ", "unsubscribe please"],
)  # fmt: skip
def test_the_words_give_or_take_spaces_punctuation_and_a_polite_ending(said: str) -> None:
    assert opts_out(said, DEFAULT_OPT_OUT)


@pytest.mark.parametrize(
    "said",
    ["수신거부 하면 쿠폰도 못 받나요?", "광고 그만 보내는 법", "거부", "", "광고", "수신" * 40],
)
def test_a_sentence_that_merely_holds_them_is_not_an_opt_out(said: str) -> None:
    assert not opts_out(said, DEFAULT_OPT_OUT)


def test_mid_question_the_question_still_stands(talk: Talk) -> None:
    c = talk().say("배송 조회")
    c.say("수신거부")
    assert c.texts == [CONFIRMED]
    assert c.kinds() == ["message_in", "consent_withdrawn", "message_out"]
    assert c.session.state == "order_status.ask_order"
    c.say("1234-567-890")
    assert c.session.state != "order_status.ask_order"


def test_a_first_message_is_greeted_after_the_confirmation(talk: Talk) -> None:
    c = talk().say("광고 그만!!")
    assert c.texts[0] == CONFIRMED
    assert len(c.texts) > 1  # the greeting follows
    assert c.session.state == "main.start"
    assert "consent_withdrawn" in c.kinds()


def test_in_the_handoff_queue_the_agent_still_reads_the_words(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    assert c.session.status == "handoff_requested"
    c.say("수신거부요")
    assert c.texts[0] == CONFIRMED
    assert c.session.status == "handoff_requested"
    assert c.session.held == ["수신거부요"]
