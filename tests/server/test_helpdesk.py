"""An external helpdesk in front of the agents: handed-off conversations are opened there
(retried with one idempotency key), and its signed webhook is believed only when fresh, genuine
and new."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import botkit
from botkit.server import HelpdeskSettings, ServerSettings, create_app
from botkit.server.helpdesk import sign
from botkit.storage import MemoryStore
from tests.server.conftest import on_loopback

SECRET = "webhook-secret-0123456789"
WEDNESDAY_MORNING = 1_795_568_400.0


@dataclass
class FakeHelpdesk:
    """Answers 503 to its first call (a bad moment), then 201; remembers every call."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (key, body)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        lowered = {k.lower(): v for k, v in headers.items()}
        body = json.loads(await reader.readexactly(int(lowered["content-length"])))
        self.calls.append((lowered["idempotency-key"], body))
        status = b"503 Busy" if len(self.calls) == 1 else b"201 Created"
        if len(self.calls) > 1:
            self.opened.set()
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def serving(
    helpdesk: HelpdeskSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, MemoryStore]]:
    store = MemoryStore()
    app = create_app(
        botkit.load("flows"),
        ServerSettings(helpdesk=helpdesk),
        store=store,
        stubs={"lookup_order": lambda ctx: {}},
        clock=lambda: WEDNESDAY_MORNING,
    )
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client, store


async def kakao(client: httpx.AsyncClient, text: str) -> None:
    payload = {
        "userRequest": {"utterance": text, "user": {"id": "지유"}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": {}},
    }
    assert (await client.post("/kakao/skill", json=payload)).status_code == 200


def signed(
    event: dict[str, Any], *, at: float | None = None, secret: str = SECRET
) -> dict[str, Any]:
    body = json.dumps(event, ensure_ascii=False).encode()
    stamp = str(int(time.time() if at is None else at))
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Botkit-Timestamp": stamp,
            "X-Botkit-Signature": sign(secret, stamp, body),
        },
    }


MESSAGE = {
    "id": "evt-1",
    "event": "message_created",
    "conversation": {"channel": "kakao", "user": "shop:지유"},
    "sender": {"name": "헬프데스크 민호"},
    "content": "교환 접수해 드렸어요.",
}


async def test_a_handoff_is_opened_in_the_helpdesk_once_through_a_failure() -> None:
    fake = FakeHelpdesk()
    listener = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/api"
    async with listener, serving(HelpdeskSettings(url=url, api_token="t")) as (client, _):
        await kakao(client, "상담원 연결해 주세요")
        await asyncio.wait_for(fake.opened.wait(), timeout=10)
    keys = {key for key, _ in fake.calls}
    assert len(fake.calls) == 2  # the 503, then the retry
    assert len(keys) == 1  # ... with the same idempotency key
    assert fake.calls[-1][1] == {
        "channel": "kakao",
        "user": "shop:지유",
        "reason": "user_request",
        "status": "open",
    }


async def test_a_signed_fresh_event_speaks_to_the_user_and_hands_back() -> None:
    async with serving(HelpdeskSettings(webhook_secret=SECRET)) as (client, store):
        await kakao(client, "상담원 연결해 주세요")
        answer = await client.post("/agent/webhook", **signed(MESSAGE))
        assert answer.json() == {"ok": True, "done": "message"}
        back = {
            **MESSAGE,
            "id": "evt-2",
            "event": "conversation_status_changed",
            "status": "pending",
        }
        assert (await client.post("/agent/webhook", **signed(back))).json()["done"] == "released"
        kinds = [r.kind for r in await store.records(session="kakao:shop:지유")]
        assert [k for k in kinds if k.startswith(("handoff", "agent"))] == [
            "handoff_requested",
            "handoff_queued",
            "handoff_claimed",
            "agent_message",
            "handoff_released",
        ]


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ("forged", 401, "bad_signature"),
        ("stale", 401, "stale"),
        ("from the future", 401, "stale"),
        ("unsigned", 401, "stale"),
        ("replayed", 409, "replayed"),
    ],
)
async def test_forged_stale_and_replayed_events_change_nothing(
    tamper: str, status: int, code: str
) -> None:
    async with serving(HelpdeskSettings(webhook_secret=SECRET)) as (client, store):
        await kakao(client, "상담원 연결해 주세요")
        if tamper == "replayed":
            assert (await client.post("/agent/webhook", **signed(MESSAGE))).status_code == 200
        before = await store.records()
        request = {
            "forged": signed(MESSAGE, secret="not-the-secret-000000"),
            "stale": signed(MESSAGE, at=time.time() - 301),
            "from the future": signed(MESSAGE, at=time.time() + 301),
            "unsigned": {"json": MESSAGE},
            "replayed": signed(MESSAGE),
        }[tamper]
        answer = await client.post("/agent/webhook", **request)
        assert answer.status_code == status
        assert answer.json()["error"]["code"] == code
        assert await store.records() == before
