"""One KakaoTalk user's messages all at once, on every store: none lost, none doubled.

A user who taps quickly, or a client that retries, sends several messages before the first is
answered. Turns of one user run one at a time (a lock per session, across workers on
PostgreSQL), so every message must be answered and stored exactly once. Each store is served
as an operator runs it: the memory store in the test's process, SQLite and PostgreSQL (one
worker, then two sharing the database) as ``botkit serve`` processes, read back once they
stopped (turns still running at the end finish first).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

import botkit
from botkit.runtime import ActionFunction
from botkit.server import KakaoSettings, ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.postgres import POSTGRES_MARKS, postgres_url
from tests.reliability import figures
from tests.reliability.stores import said
from tests.server.conftest import lookup_order, on_loopback
from tests.server.processes import REPO, kakao, serve

SECTION = figures.Section("same-user bursts")
AT_ONCE = figures.scaled(20, 50)
ROUNDS = figures.scaled(1, 3)
USER = "연타하는-고객"
KEY = f"kakao:shop:{USER}"
JSON = {"Content-Type": "application/json"}
STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("SQLite", id="sqlite"),
    pytest.param("PostgreSQL", id="postgres", marks=POSTGRES_MARKS),
    pytest.param("PostgreSQL, two workers", id="postgres-two-workers", marks=POSTGRES_MARKS),
]


@contextlib.asynccontextmanager
async def in_process(store: MemoryStore) -> AsyncIterator[str]:
    """The memory store can only be read from the process that serves it: the server runs in
    the test's own event loop, as ``botkit serve`` builds it."""
    settings = ServerSettings(store="memory://", kakao=KakaoSettings())
    stubs: dict[str, ActionFunction] = {"lookup_order": lookup_order}
    app = create_app(botkit.load(REPO / "flows"), settings, store=store, stubs=stubs)
    async with on_loopback(app) as port:
        yield f"http://127.0.0.1:{port}"


async def at_once(url: str, texts: list[str]) -> dict[str, int]:
    """Send every text at the same moment from the same user; the status each got."""
    limits = httpx.Limits(max_connections=len(texts))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(text: str) -> int:
            body = orjson.dumps(kakao(text, USER))
            answer = await client.post("/kakao/skill", content=body, headers=JSON)
            if KakaoSettings().retry_text in answer.text:  # answered before its turn ended
                SECTION.add("answers past Kakao's budget (turn kept for later)")
            return answer.status_code

        statuses = await asyncio.gather(*(one(text) for text in texts))
    return dict(zip(texts, statuses, strict=True))


async def burst_rounds(url: str) -> dict[str, int]:
    answers: dict[str, int] = {}
    for round_ in range(ROUNDS):
        answers |= await at_once(url, [f"처음으로 {round_}-{i}" for i in range(AT_ONCE)])
    return answers


@pytest.mark.parametrize("store", STORES)
async def test_one_users_messages_at_once_are_each_kept_once(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "memory":
        memory = MemoryStore()
        async with in_process(memory) as url:
            answers = await burst_rounds(url)
        await memory.open()  # closed with the server; its records are still there
        records = await memory.records(session=KEY, kind="message_in")
        kept = [str((r.data or {}).get("text")) for r in records]
    else:
        if store.startswith("PostgreSQL"):
            url = postgres_url(request.getfixturevalue("postgres_schema"))
        else:
            url = f"sqlite:///{tmp_path / 'burst.db'}"
        workers = ["--workers", "2"] if "two workers" in store else []
        with serve(tmp_path, *workers, store=url) as served:
            answers = await burst_rounds(served.url)
        kept = (await said(url, [KEY]))[KEY]

    acknowledged = [text for text, status in answers.items() if status == 200]
    lost = sum((Counter(acknowledged) - Counter(kept)).values())
    duplicated = sum(n - 1 for n in Counter(kept).values() if n > 1)
    figure = f"{len(answers)} / {len(acknowledged)} / {lost} / {duplicated}"
    SECTION.put(f"{store}: sent / 200 / lost / duplicated", figure)

    assert Counter(answers.values()) == {200: AT_ONCE * ROUNDS}
    assert (lost, duplicated) == (0, 0)
    assert sorted(kept) == sorted(answers)  # nothing stored that was not sent, either
