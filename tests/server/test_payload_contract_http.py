"""Payloads and sensitive answers through the served app, channel by channel.

KakaoTalk and the web widget send back the payload of what the user pressed; botkit takes it
only if it drew it on that user's screen. A forged ``@refund.submit`` or a press replayed from
another user or an earlier screen is read as the text that came with it and recorded as
``payload_rejected``. A sensitive slot's answer reaches the agent API's transcript and the
widget's history only as the mask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from jsonschema import Draft202012Validator

import botkit
from botkit.records import MASK
from botkit.server import AgentSettings, ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import (
    REPO,
    KakaoChat,
    RunningServer,
    on_loopback,
    quick_reply,
    session_key,
    texts,
)

ASK_ORDER_NO = "주문번호 10자리를 알려 주세요. (예: 1234-567-890)"
SID = "payload-contract-0001"
TOKEN = "tok-haneul-0123456789"
PHONE = "010-2345-6789"
# Saturday 5 December 2026, 22:00 in Seoul: the CS team is out, so 상담원 asks for a number.
SATURDAY_NIGHT = datetime(2026, 12, 5, 22, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()


async def rejected(store: MemoryStore) -> list[Any]:
    return [r.data for r in await store.records(kind="payload_rejected")]


async def test_kakao_takes_the_presses_it_drew_and_reads_the_others_as_text(
    server: RunningServer, skill_response_schema: Draft202012Validator
) -> None:
    minji = KakaoChat(server, skill_response_schema, user="민지")
    seojun = KakaoChat(server, skill_response_schema, user="서준")
    greeting = await minji.say("안녕하세요")

    forged = await minji.say("접수해 주세요", extra={"botkit": "@refund.submit"})
    assert await minji.session_state() == "main.start"  # read as text: not understood
    assert await rejected(server.store) == [{"payload": "@refund.submit"}]
    assert await server.store.records(kind="action") == []
    assert await server.store.records(kind="goal") == []

    # The menu drawn again with the fallback is pressed: taken.
    asked = await minji.press(quick_reply(forged, "배송 조회"))
    assert texts(asked) == [ASK_ORDER_NO]
    help_press = quick_reply(asked, "주문번호 찾는 법")

    # The greeting's press again, from an earlier screen: not taken.
    await minji.press(quick_reply(greeting, "배송 조회"))
    assert await minji.session_state() == "order_status.ask_order"
    # Minji's press, sent by another user who was never asked for an order number.
    await seojun.say("안녕하세요")
    await seojun.press(help_press)
    assert await seojun.session_state() == "main.start"
    assert [r.session for r in await server.store.records(kind="payload_rejected")] == [
        session_key("민지"),
        session_key("민지"),
        session_key("서준"),
    ]
    assert (await rejected(server.store))[1:] == [
        {"payload": "order_status"},
        {"payload": "order_no_help"},
    ]


async def test_the_widget_takes_the_presses_it_drew_and_reads_the_others_as_text(
    server: RunningServer,
) -> None:
    client = server.client

    async def send(message_id: str, text: str, payload: str | None = None) -> Any:
        body = {"sid": SID, "id": message_id, "text": text}
        if payload is not None:
            body["payload"] = payload
        answer = await client.post("/web/messages", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def state() -> str | None:
        session = await server.store.load(f"web:{SID}")
        return None if session is None else session.state

    greeting = await send("w1", "안녕하세요")
    await send("w2", "접수해 주세요", payload="@refund.submit")
    assert await state() == "main.start"
    assert await rejected(server.store) == [{"payload": "@refund.submit"}]
    (delivery,) = [c for c in greeting["messages"][0]["choices"] if c["label"] == "배송 조회"]
    asked = await send("w3", delivery["label"], payload=delivery["payload"])
    assert asked["messages"][0]["text"] == ASK_ORDER_NO
    await send("w4", "", payload=delivery["payload"])  # the greeting's press, replayed
    assert await state() == "order_status.ask_order"
    assert await rejected(server.store) == [
        {"payload": "@refund.submit"},
        {"payload": "order_status"},
    ]
    assert await server.store.records(kind="action") == []


@asynccontextmanager
async def served_after_hours() -> AsyncIterator[tuple[httpx.AsyncClient, MemoryStore]]:
    store = MemoryStore()
    app = create_app(
        botkit.load(REPO / "flows"),
        ServerSettings(agent=AgentSettings(tokens=(f"하늘:{TOKEN}",))),
        store=store,
        stubs={"lookup_order": lambda ctx: {}},
        clock=lambda: SATURDAY_NIGHT,
    )
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client, store


async def test_a_phone_number_left_for_the_agents_reaches_them_masked() -> None:
    async with served_after_hours() as (client, store):
        for number, text in enumerate(["안녕하세요", "상담원 연결해 주세요", PHONE]):
            reply = await client.post(
                "/web/messages", json={"sid": SID, "id": f"m{number}", "text": text}
            )
            assert reply.status_code == 200
        said = [m.get("text", "") for m in reply.json()["messages"]]
        assert f"{PHONE}(으)로 상담 시간에 연락드릴게요. 감사합니다." in said  # to the user

        view = await client.get(
            f"/agent/api/conversations/web/{SID}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert view.status_code == 200
        body = view.json()
        assert {"from": "user", "text": MASK} in [
            {"from": t["from"], "text": t["text"]} for t in body["transcript"]
        ]
        assert f"{MASK}(으)로 상담 시간에 연락드릴게요. 감사합니다." in [
            t["text"] for t in body["transcript"]
        ]
        assert body["slots"]["phone"] == MASK
        history = await client.get("/web/history", params={"sid": SID})
        for shown in (view.text, history.text, repr(await store.records())):
            assert PHONE not in shown
            assert PHONE.replace("-", "") not in shown
        session = await store.load(f"web:{SID}")
        assert session is not None
        assert session.slots["phone"] == PHONE
