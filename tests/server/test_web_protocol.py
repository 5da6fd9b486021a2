"""The web widget's protocol over a real socket: replies exactly once, bad frames answered.

A real uvicorn on loopback with the reference bot; the client is the `websockets` library, as a
browser would speak. The frames and codes are those of adapters/web/PROTOCOL.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

import botkit
from botkit.server import ServerSettings, WebSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import on_loopback

SID = "웹테스트".encode().hex()  # 24 hex characters: a valid session id
LOOKUP = {"status": "배송중", "delivery": {"eta": "11월 27일", "courier": "CJ대한통운"}}


@asynccontextmanager
async def serving(web: WebSettings | None = None) -> AsyncIterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    app = create_app(
        botkit.load("flows"),
        ServerSettings(web=web or WebSettings()),
        store=store,
        stubs={"lookup_order": lambda ctx: LOOKUP},
    )
    async with on_loopback(app) as port:
        yield f"127.0.0.1:{port}", store


async def frame(socket: ClientConnection, *skip: str) -> dict[str, Any]:
    """The next frame whose type is not in ``skip``."""
    while True:
        got: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        if got["type"] not in skip:
            return got


async def hello(socket: ClientConnection, sid: str = SID) -> None:
    await socket.send(json.dumps({"type": "hello", "sid": sid}))
    assert await frame(socket) == {"type": "welcome", "sid": sid}


async def say(socket: ClientConnection, message_id: str, text: str, **extra: str) -> Any:
    await socket.send(json.dumps({"type": "message", "id": message_id, "text": text, **extra}))
    return await frame(socket, "typing")


async def test_a_conversation_over_the_socket_and_its_history() -> None:
    async with serving() as (host, _), connect(f"ws://{host}/web/ws") as socket:
        await hello(socket)
        greeting = await say(socket, "m1", "안녕하세요")
        assert greeting["reply_to"] == "m1"
        choice = greeting["messages"][0]["choices"][0]
        assert choice["label"] == "배송 조회"
        asked = await say(socket, "m2", choice["label"], payload=choice["payload"])
        assert asked["messages"][0]["text"] == "주문번호 10자리를 알려 주세요. (예: 1234-567-890)"
        found = await say(socket, "m3", "1234-567-890")
        assert found["messages"][1]["text"] == "주문 1234567890은(는) 지금 '배송중' 상태예요."
        card = found["messages"][2]["card"]
        assert card["title"] == "CJ대한통운 · 도착 예정 11월 27일"
        assert {"label": "택배사 고객센터", "kind": "phone", "value": "1588-1255"} in card[
            "buttons"
        ]

        async with httpx.AsyncClient(base_url=f"http://{host}") as client:
            history = (await client.get("/web/history", params={"sid": SID})).json()
        said = [(m["from"], m["text"]) for m in history["messages"]]
        assert said[:2] == [("user", "안녕하세요"), ("bot", greeting["messages"][0]["text"])]
        assert ("user", "1234-567-890") in said


async def test_the_history_after_a_reload_has_the_cards_and_the_last_quick_replies() -> None:
    async with serving() as (host, _), connect(f"ws://{host}/web/ws") as socket:
        await hello(socket)
        greeting = await say(socket, "m1", "안녕하세요")
        choice = greeting["messages"][0]["choices"][0]
        await say(socket, "m2", choice["label"], payload=choice["payload"])
        found = await say(socket, "m3", "1234-567-890")
        async with httpx.AsyncClient(base_url=f"http://{host}") as client:
            history = (await client.get("/web/history", params={"sid": SID})).json()
    shown = found["messages"][2]
    last = history["messages"][-1]
    assert last["from"] == "bot"
    assert last["bubble"]["card"] == shown["card"]  # drawn as the card it was, buttons and all
    assert last["text"].startswith("[CJ대한통운 · 도착 예정 11월 27일]")  # as reports read it
    assert [c["label"] for c in history["choices"]] == ["다른 주문 조회", "처음으로"]
    assert history["choices"] == shown["choices"]  # pressing one sends what it did live
    # the quick replies of earlier screens were answered: no bubble of the history carries them
    assert all(not m.get("bubble", {}).get("choices") for m in history["messages"])
    plain = [m for m in history["messages"] if m["text"] == found["messages"][1]["text"]]
    assert plain
    assert all("bubble" not in m for m in plain)  # plain text is its text


async def test_a_message_sent_again_after_a_reconnect_is_answered_once_and_handled_once() -> None:
    async with serving() as (host, store):
        async with connect(f"ws://{host}/web/ws") as socket:
            await hello(socket)
            first = await say(socket, "m-1", "안녕하세요")
        async with connect(f"ws://{host}/web/ws") as socket:  # the widget reconnected
            await hello(socket)
            again = await say(socket, "m-1", "안녕하세요")  # its outbox is sent again
        assert again == first
        ins = await store.records(session=f"web:{SID}", kind="message_in")
        assert len(ins) == 1


async def test_two_copies_of_a_message_in_flight_share_one_turn() -> None:
    async with serving() as (host, store):
        async with connect(f"ws://{host}/web/ws") as a, connect(f"ws://{host}/web/ws") as b:
            await hello(a)
            await hello(b)
            replies = await asyncio.gather(
                say(a, "same", "안녕하세요"), say(b, "same", "안녕하세요")
            )
        assert replies[0] == replies[1]
        assert len(await store.records(session=f"web:{SID}", kind="message_in")) == 1


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2, 3]", "bad_json"),
        (json.dumps({"type": "message", "id": "x", "text": "가" * 20_000}), "too_large"),
        (json.dumps({"type": "shout", "text": "안녕"}), "unknown_type"),
        (json.dumps({"text": "안녕"}), "unknown_type"),
        (json.dumps({"type": "message", "text": "안녕"}), "bad_message"),
        (json.dumps({"type": "message", "id": "a b c", "text": "안녕"}), "bad_message"),
        (json.dumps({"type": "message", "id": "m", "text": 3}), "bad_message"),
        (json.dumps({"type": "hello", "sid": "short"}), "bad_message"),
    ],
)
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_open(
    sent: str, code: str
) -> None:
    async with serving() as (host, _), connect(f"ws://{host}/web/ws") as socket:
        await hello(socket)
        await socket.send(sent)
        error = await frame(socket)
        assert error["type"] == "error"
        assert error["code"] == code
        assert error["message"]
        reply = await say(socket, "after", "안녕하세요")  # still usable
        assert reply["type"] == "reply"


async def test_a_message_before_hello_and_a_binary_frame_are_refused() -> None:
    async with serving() as (host, store), connect(f"ws://{host}/web/ws") as socket:
        await socket.send(json.dumps({"type": "message", "id": "m", "text": "안녕"}))
        assert (await frame(socket))["code"] == "no_hello"
        await socket.send(b"\x00\x01")
        assert (await frame(socket))["code"] == "bad_json"
        await socket.send(json.dumps({"type": "ping"}))
        assert await frame(socket) == {"type": "pong"}
        assert await store.records() == []


async def test_a_flood_is_rate_limited_per_session() -> None:
    async with serving(WebSettings(rate=3, rate_per_s=60)) as (host, store):
        async with connect(f"ws://{host}/web/ws") as socket:
            await hello(socket)
            answers = [await say(socket, f"m{i}", "안녕하세요") for i in range(5)]
        assert [a["type"] for a in answers] == ["reply"] * 3 + ["error"] * 2
        assert answers[3]["code"] == "rate_limited"
        assert answers[3]["reply_to"] == "m3"
        assert len(await store.records(kind="message_in")) == 3


async def test_a_client_that_keeps_sending_bad_frames_is_closed_with_1008() -> None:
    async with serving() as (host, _), connect(f"ws://{host}/web/ws") as socket:
        for _ in range(10):
            await socket.send("{nope")
        codes = [(await frame(socket))["code"] for _ in range(10)]
        assert codes == ["bad_json"] * 10
        with pytest.raises(ConnectionClosed) as closed:
            await frame(socket)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008


async def test_a_page_from_another_origin_is_refused() -> None:
    allowed = WebSettings(origins=("https://shop.example.com",))
    async with serving(allowed) as (host, _):
        # Refused at the handshake: the browser gets HTTP 403 and no socket at all.
        with pytest.raises(InvalidStatus) as refused_socket:
            async with connect(f"ws://{host}/web/ws", origin=Origin("https://evil.example")):
                pass
        assert refused_socket.value.response.status_code == 403
        async with connect(
            f"ws://{host}/web/ws", origin=Origin("https://shop.example.com")
        ) as socket:
            await hello(socket)
        async with httpx.AsyncClient(base_url=f"http://{host}") as client:
            refused = await client.post(
                "/web/messages",
                json={"sid": SID, "id": "m1", "text": "안녕하세요"},
                headers={"Origin": "https://evil.example"},
            )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin"


async def test_the_http_fallback_speaks_the_same_protocol() -> None:
    async with serving() as (host, store), httpx.AsyncClient(base_url=f"http://{host}") as client:
        message = {"sid": SID, "id": "h1", "text": "안녕하세요"}
        first = await client.post("/web/messages", json=message)
        again = await client.post("/web/messages", json=message)
        assert first.status_code == 200
        assert first.json()["type"] == "reply"
        assert again.json() == first.json()
        bad = await client.post("/web/messages", content=b"{", headers={"Content-Type": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "bad_json"
        assert (await client.get("/web/history", params={"sid": "no"})).status_code == 400
        assert len(await store.records(kind="message_in")) == 1
