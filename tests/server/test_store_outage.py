"""When the store stops answering (a database restarting), every endpoint says so: 503 with
``Retry-After`` and a JSON body, never a traceback, nothing half-kept. Once the store is back,
the same requests work, and a widget message sent again with its id gets a real answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
from websockets.asyncio.client import connect

import botkit
from botkit.engine import Session
from botkit.errors import StorageError
from botkit.records import BusinessEvent, Record
from botkit.server import AgentSettings, ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import SKILL_PATH, on_loopback, session_key, skill_payload
from tests.server.test_web_protocol import SID, frame, hello, say

TOKEN = "하늘:" + "h" * 24


class SwitchableStore(MemoryStore):
    """A MemoryStore that can be switched off like a database server."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise StorageError("connection refused")

    async def load(self, key: str) -> Session | None:
        self._check()
        return await super().load(key)

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        self._check()
        return await super().commit(session, records, expected_version=expected_version)

    async def records(self, **filters: Any) -> list[Record]:
        self._check()
        return await super().records(**filters)

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        self._check()
        return await super().add_events(events)

    async def ping(self) -> bool:
        return not self.down and await super().ping()


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "unavailable"


async def test_every_endpoint_answers_503_while_the_store_is_down_and_recovers() -> None:
    store = SwitchableStore()
    app = create_app(
        botkit.load("flows"),
        ServerSettings(agent=AgentSettings(tokens=(TOKEN,))),
        store=store,
        stubs={"lookup_order": lambda ctx: {}},
    )
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        assert (await client.post(SKILL_PATH, json=skill_payload("안녕하세요"))).status_code == 200
        kept = await store.records(session=session_key())
        store.down = True

        _unavailable(await client.post(SKILL_PATH, json=skill_payload("배송 조회")))
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.headers["retry-after"]) == (503, "2")
        message = {"sid": SID, "id": "m1", "text": "안녕하세요"}
        _unavailable(await client.post("/web/messages", json=message))
        _unavailable(await client.get("/web/history", params={"sid": SID}))
        bearer = {"Authorization": "Bearer " + "h" * 24}
        _unavailable(await client.get("/agent/api/queue", headers=bearer))

        store.down = False
        assert await store.records(session=session_key()) == kept  # nothing half-kept
        answer = await client.post(SKILL_PATH, json=skill_payload("배송 조회"))
        assert answer.status_code == 200
        again = await client.post("/web/messages", json=message)  # the same id, sent again
        assert again.json()["type"] == "reply"
        assert (await client.get("/readyz")).status_code == 200


async def test_the_widget_is_told_to_send_again_and_its_socket_stays_open() -> None:
    store = SwitchableStore()
    app = create_app(botkit.load("flows"), ServerSettings(), store=store)
    async with on_loopback(app) as port, connect(f"ws://127.0.0.1:{port}/web/ws") as socket:
        await hello(socket)
        store.down = True
        for _ in range(12):  # more than the 10 bad frames that close a socket: not counted
            refused = await say(socket, "m1", "안녕하세요")
            assert refused == {
                "type": "error",
                "code": "unavailable",
                "message": refused["message"],
                "reply_to": "m1",
                "retry_after": 2,
            }
        store.down = False
        answered = await say(socket, "m1", "안녕하세요")
        assert answered["type"] == "reply"
        assert answered["messages"][0]["text"].startswith("안녕하세요")
        await socket.send(json.dumps({"type": "ping"}))
        assert await frame(socket) == {"type": "pong"}
