"""A KakaoTalk user handed off to a person: the bot does not answer for the agent, yet Kakao
still gets a valid answer (it refuses an empty one): the message is acknowledged and kept.

While the user only waits, the handoff's ``while_waiting`` answers (tests/server/
test_handoff_waiting.py); once an agent holds the conversation the bot says nothing, and Kakao's
own acknowledgement is what the user reads."""

from __future__ import annotations

from tests.server.conftest import KakaoChat, buttons, session_key, texts


async def test_a_handed_off_user_is_acknowledged_and_the_message_kept(kakao: KakaoChat) -> None:
    await kakao.say("안녕하세요")
    handed = await kakao.say("상담원 연결해 주세요")
    assert any(b["action"] == "operator" for b in buttons(handed))  # Kakao's own agent chat
    assert await kakao.session_state() == "support.agent"
    await kakao.server.app.runtime.claim("kakao", f"{kakao.bot}:{kakao.user}", agent="하늘")

    answer = await kakao.say("주문한 패딩 사이즈를 바꾸고 싶어요")

    assert texts(answer) == ["상담원에게 전달했어요. 곧 답변드릴게요."]
    session = await kakao.server.store.load(session_key(kakao.user, kakao.bot))
    assert session is not None
    assert session.status == "with_agent"
    assert session.held == ["주문한 패딩 사이즈를 바꾸고 싶어요"]  # kept for the agent
    records = await kakao.server.store.records(session=session.key)
    assert records[-1].kind == "message_in"  # no transition, no bot message: not answered
