"""Nobody took the handoff in time (issue 18, fault 4).

When the sweeper finds the wait over (``Engine.expire``) the user is not there: they are told
(``messages.no_agent``, or botkit's words) and put at the handoff's ``on_timeout`` state without
entering it. Their next message enters it as a first message would: its messages are said and
its first slot asked, and their words are acted on only if they clearly ask for something, never
read as the answer (the reference bot's timeout state asks for a phone number). When it is the
user's own message that finds the wait over, they are there: told, then taken on at once."""

from __future__ import annotations

from collections.abc import Callable

from botkit.engine import Engine
from tests.engine.conftest import Conversation

MINUTE = 60.0
Talk = Callable[..., Conversation]
NO_AGENT = "기다려 주셔서 감사해요. 지금은 연결할 수 있는 상담원이 없어서 제가 도와드릴게요."
BUSY = "지금은 상담원이 모두 상담 중이에요. 연락처를 남겨 주시면 순서대로 연락드릴게요."
PHONE = "연락 받으실 휴대폰 번호를 알려 주세요. (예: 010-1234-5678)"


def _expired(talk: Talk) -> Conversation:
    """민지 asked for a person; eleven minutes later the sweeper finds nobody took it."""
    c = talk().say("상담원 연결해 주세요")
    assert c.session.status == "handoff_requested"
    c.at += 11 * MINUTE
    turn = c.engine.expire(c.session, c.at)
    c._run(turn.effects, turn.records)
    return c


def test_the_sweeper_tells_the_user_and_leaves_the_timeout_state_unentered(talk: Talk) -> None:
    c = _expired(talk)
    assert c.texts == [NO_AGENT]  # not the phone question: nobody is there to read it
    assert c.kinds() == ["handoff_timeout", "transition", "message_out"]
    assert c.records[1].data == {
        "from": "support.agent",
        "to": "support.no_agent",
        "trigger": "no agent in time",
    }
    assert (c.state, c.session.status, str(c.session.awaiting)) == (
        "support.no_agent",
        "bot",
        "arrive",
    )
    assert c.session.last_at == c.at  # the bot spoke last


def test_the_next_words_open_the_timeout_state_and_are_not_its_answer(talk: Talk) -> None:
    c = _expired(talk).say("여보세요?")
    assert c.texts == [BUSY, PHONE]
    assert c.state == "support.leave_contact"
    assert not {"slot_rejected", "slot_filled"} & set(c.kinds())
    c.say("010-2345-6789")
    assert c.slots["phone"] == "010-2345-6789"
    assert c.texts == ["010-2345-6789(으)로 상담 시간에 연락드릴게요. 감사합니다."]


def test_words_that_clearly_ask_for_something_are_acted_on(talk: Talk) -> None:
    c = _expired(talk).say("처음으로")
    assert c.state == "main.start"
    assert len(c.texts) == 1  # the greeting (of the user's variant), once
    assert BUSY not in c.texts  # asked for the menu: not told about the busy agents first


def test_the_users_own_message_finding_the_wait_over_is_told_first(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    c.at += 11 * MINUTE
    c.say("아직인가요?")
    assert c.texts == [NO_AGENT, BUSY, PHONE]  # there to read it: taken on at once
    assert c.state == "support.leave_contact"
    assert "slot_rejected" not in c.kinds()


def test_a_bot_says_no_agent_in_its_own_words_when_it_has_them(
    inline: Callable[..., Engine],
) -> None:
    engine = inline(
        """
        bot: cafe
        start: main
        messages:
          no_agent: "지금은 바리스타가 모두 바빠요. 메뉴를 다시 보여 드릴게요."
        """,
        """
        flow: main
        start: start
        states:
          start:
            say: "어서 오세요!"
            on:
              - keywords: [직원]
                to: staff
          staff:
            handoff:
              message: "직원을 불러 드릴게요."
              wait_timeout: 5m
              on_timeout: start
              resume: start
        """,
    )
    c = Conversation(engine).say("직원 불러 주세요")
    c.at += 6 * MINUTE
    turn = engine.expire(c.session, c.at)
    c._run(turn.effects, turn.records)
    assert c.texts == ["지금은 바리스타가 모두 바빠요. 메뉴를 다시 보여 드릴게요."]
    c.say("라떼 있어요?")
    assert c.texts == ["어서 오세요!"]
    assert (c.state, str(c.session.awaiting)) == ("main.start", "input")
