"""How large a request may be, as an attacker tries it: 50 MB bodies on every endpoint, a
declared 50 MB that never comes, a 1 MB header, a 100 KB socket message, a 10 MB business
event.

Each body is made only as the server asks for it, and the app's ``receive()`` is counted: a
refused body must be refused after at most its cap and one more chunk, never read whole. Each
refusal is a 4xx with a JSON body, stores nothing, and leaves the server answering.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from botkit.server import ServerSettings, create_app
from botkit.server.run import _uvicorn
from botkit.storage import MemoryStore, Store
from tests.server.asgi import (  # noqa: F401 (store_maker: a fixture)
    AGENT_TOKEN,
    BOT,
    EVENTS_TOKEN,
    EVERYTHING_ON,
    WEBHOOK_SECRET,
    MiB,
    drip,
    refused,
    serving,
    store_maker,
)
from tests.server.conftest import SKILL_PATH, WEDNESDAY_MORNING, skill_payload

JSON = {"Content-Type": "application/json"}
FIFTY_MB = 50 * MiB
CHUNK = 64 * 1024  # what the attacker sends at a time (and uvicorn buffers at most)
SID = "edge-limits-test-01"


@dataclass(frozen=True)
class Flood:
    """A 50 MB body sent to ``path``, and what must come of it."""

    name: str
    path: str
    status: int
    code: str
    cap: int | None = None  # the body's cap (413), or None: refused without reading it
    headers: Mapping[str, str] = field(default_factory=lambda: JSON)
    declared: bool = False  # with Content-Length: 50 MB (else chunked, no length)
    settings: ServerSettings = EVERYTHING_ON
    webhook_stamp: bool = False  # a fresh X-Botkit-Timestamp, as the helpdesk sends

    @property
    def read_at_most(self) -> int:
        """Body bytes the app may take before it answers: its cap and the chunk that passed it,
        or nothing when the headers already said enough."""
        return 0 if self.declared or self.cap is None else self.cap + CHUNK


FLOODS = [
    Flood("widget_http_message", "/web/messages", 413, "body_too_large", 16 * 1024),
    Flood("kakao_skill", SKILL_PATH, 413, "body_too_large", 64 * 1024),
    Flood("kakao_skill_with_secret_path", SKILL_PATH + "/guess", 413, "body_too_large", 64 * 1024),
    Flood(
        "business_events",
        "/events",
        413,
        "body_too_large",
        MiB,
        headers={**JSON, "Authorization": f"Bearer {EVENTS_TOKEN}"},
    ),
    Flood(
        "agent_note",
        "/agent/api/conversations/web/someone/note",
        413,
        "body_too_large",
        64 * 1024,
        headers={**JSON, "Authorization": f"Bearer {AGENT_TOKEN}"},
    ),
    Flood(
        "helpdesk_webhook",
        "/agent/webhook",
        413,
        "body_too_large",
        64 * 1024,
        webhook_stamp=True,
    ),
    Flood("unknown_path", "/nowhere", 404, "not_found"),
    # Refused for what the headers say, before a byte of the body is read.
    Flood(
        "widget_declared_50mb", "/web/messages", 413, "body_too_large", 16 * 1024, declared=True
    ),
    Flood("kakao_declared_50mb", SKILL_PATH, 413, "body_too_large", 64 * 1024, declared=True),
    Flood(
        "helpdesk_webhook_without_a_helpdesk",
        "/agent/webhook",
        503,
        "no_helpdesk",
        settings=ServerSettings(),
    ),
    Flood("helpdesk_webhook_unsigned", "/agent/webhook", 401, "stale"),
    Flood("business_events_without_token", "/events", 401, "bad_token"),
    Flood("agent_note_without_token", "/agent/api/conversations/web/x/note", 401, "bad_token"),
]


@pytest.mark.parametrize("flood", FLOODS, ids=[f.name for f in FLOODS])
async def test_a_50mb_body_is_refused_before_it_is_read_whole(
    flood: Flood, make_store: Callable[[], Store]
) -> None:
    asked: list[int] = []  # what the server asked of the body, chunk by chunk
    headers = dict(flood.headers)
    if flood.declared:
        headers["Content-Length"] = str(FIFTY_MB)
    if flood.webhook_stamp:
        headers["X-Botkit-Timestamp"] = str(int(time.time()))  # the webhook's clock is the wall's
    async with serving(make_store, flood.settings) as served:
        response = await served.client.post(
            flood.path, content=drip(FIFTY_MB, CHUNK, asked), headers=headers
        )

        refused(response, flood.status, flood.code)
        assert served.read <= flood.read_at_most
        assert sum(asked) <= flood.read_at_most + CHUNK
        if flood.cap is not None:
            assert response.json()["error"]["limit"] == flood.cap
        await served.nothing_stored()
        await served.healthy()


async def test_a_body_just_under_the_cap_is_read_and_answered(
    make_store: Callable[[], Store],
) -> None:
    message = {"sid": SID, "id": "m1", "text": "배송 조회"}
    padded = json.dumps(message, ensure_ascii=False).encode()
    padded = padded[:-1] + b" " * (16 * 1024 - len(padded)) + b"}"  # exactly 16 KiB of JSON
    async with serving(make_store) as served:
        response = await served.client.post("/web/messages", content=padded, headers=JSON)
        assert response.status_code == 200
        assert response.json()["type"] == "reply"
        over = await served.client.post("/web/messages", content=padded + b" ", headers=JSON)
        refused(over, 413, "body_too_large")
        assert len(await served.store.records(kind="message_in")) == 1


# -- business events ----------------------------------------------------------------------------


async def test_one_event_over_its_cap_refuses_the_batch_and_stores_nothing(
    make_store: Callable[[], Store],
) -> None:
    small = {"id": "order-1", "kind": "purchase", "user": "shop:지아", "amount": 15_000}
    large = {**small, "id": "order-2", "data": {"memo": "메" * 6000}}  # 18 KB of JSON
    async with serving(make_store, EVERYTHING_ON) as served:
        response = await served.client.post(
            "/events",
            json={"events": [small, large]},
            headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
        )
        error = refused(response, 413, "event_too_large", "events[1]")
        assert "16384 bytes" in error["message"]
        await served.nothing_stored()
        await served.healthy()


async def test_a_10mb_event_is_not_stored(make_store: Callable[[], Store]) -> None:
    event = {
        "id": "order-1",
        "kind": "purchase",
        "user": "shop:지아",
        "data": {"x": "가" * 3_500_000},
    }
    body = orjson.dumps({"events": [event]})
    async with serving(make_store, EVERYTHING_ON) as served:
        response = await served.client.post(
            "/events",
            content=body,
            headers={**JSON, "Authorization": f"Bearer {EVENTS_TOKEN}"},
        )
        refused(response, 413, "body_too_large")
        assert served.read == 0  # its Content-Length said enough
        await served.nothing_stored()


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Padding": "a" * 17 * 1024}, id="one_17kb_header"),
        pytest.param({f"X-Pad-{i}": "b" * 100 for i in range(200)}, id="200_headers_of_100_bytes"),
        pytest.param({"Cookie": "c=" + "d" * 16 * 1024}, id="a_16kb_cookie"),
    ],
)
async def test_headers_over_16kb_are_refused_431(
    headers: dict[str, str], make_store: Callable[[], Store]
) -> None:
    async with serving(make_store) as served:
        response = await served.client.post(
            "/web/messages", json={"sid": SID, "id": "m1", "text": "안녕하세요"}, headers=headers
        )
        assert refused(response, 431, "headers_too_large")["limit"] == 16 * 1024
        assert served.read == 0
        await served.nothing_stored(f"web:{SID}")
        await served.healthy()


async def test_a_long_path_counts_as_headers() -> None:
    async with serving(lambda: MemoryStore()) as served:
        response = await served.client.get("/web/history", params={"sid": "s" * 20_000})
        refused(response, 431, "headers_too_large")


async def test_a_usual_browser_request_with_cookies_is_answered() -> None:
    async with serving(lambda: MemoryStore()) as served:
        cookies = "; ".join(f"_ga{i}=GA1.2.{i:010d}.1700000000" for i in range(60))  # ~2.5 KB
        response = await served.client.post(
            "/web/messages",
            json={"sid": SID, "id": "m1", "text": "안녕하세요"},
            headers={"Cookie": cookies, "User-Agent": "Mozilla/5.0 " + "x" * 300},
        )
        assert response.status_code == 200


# -- over a real socket: uvicorn as botkit serve runs it ----------------------------------------


@pytest.fixture
async def real_server() -> AsyncIterator[str]:
    """``botkit serve``'s own uvicorn settings (run._uvicorn), on a free loopback port."""
    settings = ServerSettings(port=0)
    app = create_app(
        BOT,
        settings,
        store=MemoryStore(),
        stubs={"lookup_order": lambda c: {}},
        clock=lambda: WEDNESDAY_MORNING,
    )
    config = _uvicorn(app, settings)
    server = uvicorn.Server(config)
    serving_task = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving_task.done()
        await asyncio.sleep(0.005)
    try:
        yield f"127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving_task


async def test_a_1mb_header_over_http_is_answered_431(real_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{real_server}") as client:
        response = await client.get("/healthz", headers={"X-Padding": "a" * MiB})
        refused(response, 431, "headers_too_large")
        assert (await client.get("/healthz")).status_code == 200


async def test_a_50mb_chunked_body_over_http_is_answered_413(real_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{real_server}", timeout=30) as client:
        response = await client.post(SKILL_PATH, content=drip(FIFTY_MB), headers=JSON)
        refused(response, 413, "body_too_large")
        assert (await client.post(SKILL_PATH, json=skill_payload("안녕하세요"))).status_code == 200


async def test_a_socket_with_20kb_of_headers_is_refused_431(real_server: str) -> None:
    # Each under the 8 KiB a line may have in the websockets library (which refuses longer ones
    # itself), together over botkit's 16 KiB.
    padding = {f"X-Padding-{i}": "a" * 7 * 1024 for i in range(3)}
    with pytest.raises(InvalidStatus) as refused_socket:
        async with connect(f"ws://{real_server}/web/ws", additional_headers=padding):
            pass
    assert refused_socket.value.response.status_code == 431
    assert json.loads(refused_socket.value.response.body)["error"]["code"] == "headers_too_large"


async def test_a_socket_with_a_1mb_header_line_is_refused_431_in_json(real_server: str) -> None:
    # Refused by the websockets library while it parses the handshake (a line over 8 KiB),
    # before botkit sees it: botkit serve's WebSocket protocol says why in JSON all the same.
    with pytest.raises(InvalidStatus) as refused_socket:
        async with connect(f"ws://{real_server}/web/ws", additional_headers={"X-Pad": "a" * MiB}):
            pass
    response = refused_socket.value.response
    assert response.status_code == 431
    assert response.headers["Content-Type"] == "application/json"
    error = json.loads(response.body)["error"]
    assert error["code"] == "headers_too_large"
    assert error["message"] == "a header line is longer than 8192 bytes"
    async with connect(f"ws://{real_server}/web/ws") as socket:  # the server goes on
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}


async def test_a_socket_message_over_64kb_closes_the_socket_before_it_is_read(
    real_server: str,
) -> None:
    async with connect(f"ws://{real_server}/web/ws", max_size=None) as socket:
        await socket.send(json.dumps({"type": "hello", "sid": SID}))
        assert json.loads(await socket.recv())["type"] == "welcome"
        # Over the frame cap (16 KiB) but under the socket's: answered, the socket stays open.
        await socket.send(json.dumps({"type": "message", "id": "m1", "text": "가" * 7000}))
        assert json.loads(await socket.recv())["code"] == "too_large"
        await socket.send(json.dumps({"type": "message", "id": "m2", "text": "가" * 40_000}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009  # message too big
    async with connect(f"ws://{real_server}/web/ws") as socket:  # the server goes on
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}


def test_the_socket_cap_is_what_botkit_serve_gives_uvicorn() -> None:
    settings = ServerSettings()
    assert settings.web.max_socket_bytes == 64 * 1024
    assert _uvicorn("botkit.server.run:worker_app", settings).ws_max_size == 64 * 1024
