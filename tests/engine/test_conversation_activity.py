"""When a conversation is alive, and when it ended (issue 18, faults 2 and 5).

A conversation ended by silence ends at its last activity, not when the user comes back: its
``conversation_end`` carries that time. An agent's claim and words are activity, and while an
agent holds the conversation no silence ends it; an agent's note (which the user never sees) is
not activity, and a user waiting in the queue is under the usual rule (``wait_timeout`` and the
inactivity timeout). The reference bot's ``inactivity_timeout`` is 30 minutes."""

from __future__ import annotations

from collections.abc import Callable

from botkit.engine import Awaiting, Session
from botkit.events import ActionResult, UserMessage
from botkit.storage.base import decode_session, encode_session
from tests.engine.conftest import LOOKUP, WEDNESDAY_10AM, Conversation

MINUTE = 60.0
HOUR = 3600.0
Talk = Callable[..., Conversation]


def _records(c: Conversation, kind: str) -> list[tuple[int, float, object]]:
    return [(r.conversation, r.at, r.data) for r in c.all_records if r.kind == kind]


def test_an_abandoned_conversation_ends_at_its_last_message(talk: Talk) -> None:
    c = talk().say("안녕하세요").say("배송 조회")
    last = c.at
    c.at = last + 2 * HOUR - 5  # say() adds 5 s: the user is back two hours later
    c.say("주문번호 1234-567-890")
    assert _records(c, "conversation_end") == [(1, last, {"outcome": "abandoned"})]
    starts = _records(c, "conversation_start")
    assert [(n, at) for n, at, _ in starts] == [(1, WEDNESDAY_10AM + 5), (2, last + 2 * HOUR)]
    seqs = [r.seq for r in c.all_records]
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free and increasing, as before


def test_the_bots_answer_to_an_action_is_activity_too(talk: Talk) -> None:
    c = talk().say("배송 조회")
    engine, session = c.engine, c.session
    engine.handle(session, UserMessage("1234-567-890", c.at + 10))
    answered = c.at + 12  # the courier took two seconds
    engine.handle(session, ActionResult("lookup_order", "ok", answered, LOOKUP))
    assert session.last_at == answered
    ended = engine.handle(session, UserMessage("안녕하세요", answered + 3 * HOUR))
    assert (ended.records[0].kind, ended.records[0].at) == ("conversation_end", answered)


def test_an_agents_words_keep_the_conversation_open(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    asked = c.at
    engine = c.engine
    engine.claim(c.session, "하늘", asked + 5 * MINUTE)
    engine.agent_message(
        c.session, "확인해 볼게요. 주문번호를 알려 주세요.", "하늘", asked + 30 * MINUTE
    )
    c.at = asked + 40 * MINUTE - 5  # 40 minutes after their own message, 10 after the agent's
    c.say("1234-567-890 이에요")
    assert c.session.conversation == 1
    assert c.session.status == "with_agent"
    assert c.session.held == ["1234-567-890 이에요"]  # for the agent, not read as an order
    assert _records(c, "conversation_end") == []


def test_no_silence_ends_a_conversation_an_agent_holds(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    c.engine.claim(c.session, "하늘", c.at + MINUTE)
    c.at += 5 * HOUR  # the agent holds it: they release or close it
    c.say("아직 계신가요?")
    assert (c.session.conversation, c.session.status) == (1, "with_agent")
    assert c.kinds() == ["message_in"]


def test_an_agents_note_is_not_activity(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    before = c.session.last_at
    c.engine.claim(c.session, "하늘", c.at + MINUTE)
    claimed = c.session.last_at
    c.engine.note(c.session, "VIP 고객, 환불 이력 있음", "하늘", c.at + 20 * MINUTE)
    assert (before, claimed, c.session.last_at) == (c.at, c.at + MINUTE, c.at + MINUTE)


def test_waiting_in_the_queue_keeps_the_usual_rule(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    asked = c.at
    c.at += 40 * MINUTE  # no sweeper ran; the silence is past the inactivity timeout
    c.say("여보세요?")
    assert _records(c, "conversation_end") == [(1, asked, {"outcome": "abandoned"})]
    assert c.session.conversation == 2


def test_a_session_awaiting_an_arrival_is_stored_and_loaded(talk: Talk) -> None:
    c = talk().say("상담원 연결해 주세요")
    c.engine.expire(c.session, c.at + 11 * MINUTE)
    loaded = decode_session(encode_session(c.session, 3), 3)
    assert loaded.awaiting is c.session.awaiting  # the one shared instance, as INPUT is
    assert str(loaded.awaiting) == "arrive"
    # What an earlier botkit stored still loads: the old string forms, and no "arrive" at all.
    stored = {"key": "web:민지", "user": "민지", "channel": "web", "awaiting": "slot:phone"}
    assert Session.from_dict(stored).awaiting == Awaiting("slot", "phone")
    assert Awaiting.parse("arrive") is Awaiting.parse({"kind": "arrive", "name": ""})
