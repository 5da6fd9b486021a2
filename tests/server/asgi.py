"""The server as the attacker meets it, in the test's own event loop: the real ASGI app (its
lifespan run, so the store is opened as ``botkit serve`` opens it) over SQLite or PostgreSQL,
with every byte of request body the app takes from ``receive()`` counted.

The reference bot (``flows/``) answers on a Wednesday morning in Seoul, inside the CS team's
hours, so that "상담원" is a handoff whatever the hour the tests run at.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

import botkit
from botkit.app import BotApp
from botkit.server import (
    AgentSettings,
    HelpdeskSettings,
    Server,
    ServerSettings,
    create_app,
)
from botkit.storage import SQLiteStore, Store
from botkit.storage.postgres import PostgresStore
from tests.postgres import POSTGRES_MARKS, postgres_url
from tests.server.conftest import WEDNESDAY_MORNING, lookup_order

REPO = Path(__file__).resolve().parents[2]
BOT: BotApp = botkit.load(REPO / "flows")
MiB = 1024 * 1024

# Every door open: agent tokens, the events token and the helpdesk webhook's secret.
AGENT_TOKEN = "tok-haneul-0123456789"
EVENTS_TOKEN = "shop-events-token-0123"
WEBHOOK_SECRET = "webhook-secret-0123456789"
EVERYTHING_ON = ServerSettings(
    agent=AgentSettings(tokens=(f"하늘:{AGENT_TOKEN}",)),
    events_token=EVENTS_TOKEN,
    helpdesk=HelpdeskSettings(webhook_secret=WEBHOOK_SECRET),
)

# Every test that uses ``make_store`` runs on both: a bad id must get the same answer on each.
# A test module imports ``store_maker`` to have the fixture.
STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=POSTGRES_MARKS),
]


@pytest.fixture(params=STORES, name="make_store")
def store_maker(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """A new, unopened store: a SQLite file of this test's, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return lambda: SQLiteStore(str(tmp_path / "botkit.db"))
    url = postgres_url(request.getfixturevalue("postgres_schema"))
    return lambda: PostgresStore(url)


@dataclass
class Served:
    """The app, its store, a client that talks to it through ASGI, and the body bytes read."""

    app: Server
    store: Store
    client: httpx.AsyncClient = field(repr=False)
    read: int = 0  # request body bytes the app took from receive(), over every request so far

    async def healthy(self) -> None:
        """The server still answers, and its store too."""
        assert (await self.client.get("/healthz")).json() == {"status": "ok"}
        assert (await self.client.get("/readyz")).json() == {"status": "ready"}

    async def nothing_stored(self, *sessions: str) -> None:
        """No record, no business event, and none of ``sessions`` exists."""
        assert await self.store.records() == []
        assert await self.store.events() == []
        for key in sessions:
            if "\x00" in key and isinstance(self.store, PostgresStore):
                continue  # PostgreSQL cannot even look such a key up: no record is the proof
            assert await self.store.load(key) is None


@contextlib.asynccontextmanager
async def serving(
    make_store: Callable[[], Store], settings: ServerSettings | None = None
) -> AsyncIterator[Served]:
    store = make_store()
    app = create_app(
        BOT,
        settings or ServerSettings(),
        store=store,
        stubs={"lookup_order": lookup_order},
        clock=lambda: WEDNESDAY_MORNING,
    )
    served = Served(app, store, client=httpx.AsyncClient())

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            served.read += len(message.get("body", b""))
            return message

        await app(scope, counted, send)

    transport = httpx.ASGITransport(app=counting)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        served.client = client
        yield served


async def drip(total: int, chunk: int = 64 * 1024, sent: list[int] | None = None) -> Any:
    """``total`` bytes of body, ``chunk`` at a time, made only as the server asks for them (a
    50 MB body never exists in the test either); ``sent`` counts what was asked for."""
    piece = b"x" * chunk
    for start in range(0, total, chunk):
        part = piece[: min(chunk, total - start)]
        if sent is not None:
            sent.append(len(part))
        yield part


def refused(
    response: httpx.Response, status: int, code: str, path: str | None = None
) -> dict[str, Any]:
    """The answer is the 4xx expected, a JSON error saying why; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    if path is not None:
        assert error["path"] == path
    return error
