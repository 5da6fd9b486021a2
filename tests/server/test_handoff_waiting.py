"""Waiting for an agent, on KakaoTalk and in the web widget: the same words on both.

The reference bot's handoff (flows/support.yaml) declares ``while_waiting`` and ``leave:``; a
message that comes while the user waits is answered with the waiting message on both channels,
and "대기 취소" takes the user out of the queue on both, recorded as ``handoff_left``.
"""

from __future__ import annotations

from typing import Any

from tests.server.conftest import KakaoChat, RunningServer, quick_reply, session_key, texts

SID = "대기하는손님".encode().hex()[:24]
WAITING = (
    "상담원을 기다리고 있어요. 남기신 말씀은 상담원에게 그대로 전달돼요. "
    "그만 기다리시려면 '대기 취소'를 눌러 주세요."
)
LEFT = "상담 대기를 취소했어요. 언제든 '상담원'이라고 하시면 다시 연결해 드릴게요."
GREETING = "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?"


async def _widget(server: RunningServer, n: int, text: str, payload: str | None = None) -> Any:
    message: dict[str, Any] = {"sid": SID, "id": f"w{n}", "text": text}
    if payload is not None:
        message["payload"] = payload
    answer = await server.client.post("/web/messages", json=message)
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


async def test_kakao_and_the_widget_both_say_the_waiting_message(
    server: RunningServer, kakao: KakaoChat
) -> None:
    await kakao.say("상담원 연결해 주세요")
    await _widget(server, 1, "상담원 연결해 주세요")

    on_kakao = await kakao.say("언제 연결되나요?")
    on_widget = await _widget(server, 2, "언제 연결되나요?")

    assert texts(on_kakao) == [WAITING]  # not Kakao's own acknowledgement
    assert [m["text"] for m in on_widget] == [WAITING]  # no longer nothing
    assert [r["label"] for r in on_kakao["template"]["quickReplies"]] == ["대기 취소"]
    assert [c["label"] for c in on_widget[0]["choices"]] == ["대기 취소"]
    session = await server.store.load(session_key())
    assert session is not None
    assert session.status == "handoff_requested"
    assert session.held == ["언제 연결되나요?"]


async def test_leaving_the_queue_is_the_same_on_kakao_and_the_widget(
    server: RunningServer, kakao: KakaoChat
) -> None:
    await kakao.say("상담원 연결해 주세요")
    waiting = await kakao.say("아직인가요?")
    await _widget(server, 1, "상담원 연결해 주세요")
    on_widget = await _widget(server, 2, "아직인가요?")

    on_kakao = await kakao.press(quick_reply(waiting, "대기 취소"))
    choice = on_widget[0]["choices"][0]
    on_widget = await _widget(server, 3, choice["label"], choice["payload"])

    assert texts(on_kakao) == [LEFT, GREETING]
    assert [m["text"] for m in on_widget][:1] == [LEFT]  # then the greeting of its variant
    assert len(on_widget) == 2
    session = await server.store.load(session_key())
    assert session is not None
    assert (session.state, session.status) == ("main.start", "bot")
    left = await server.store.records(kind="handoff_left")
    assert [(r.channel, (r.data or {})["trigger"]) for r in left] == [
        ("kakao", "leave payload: leave_queue"),
        ("web", "leave payload: leave_queue"),
    ]
