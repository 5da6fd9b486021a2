"""The handoff queue is ONE store query, however many conversations wait (issue 15, acceptance
item 5). The sweeper reads the queue every 30 seconds and agents' consoles poll it, so a query
per waiting conversation would grow with exactly the traffic that needs agents most.

The statements are counted where they leave for the database: SQLite's trace callback on the
connection the store reads with, and every call the PostgreSQL store makes on its pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from botkit.storage import PostgresStore, SQLiteStore, Store
from tests.storage import make_records, make_session

T0 = 1_700_000_000.0


class _CountingPool:
    """An asyncpg pool that notes every statement sent through it."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.statements: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._pool, name)
        if name not in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            return attribute

        async def counted(sql: str, *args: Any, **options: Any) -> Any:
            self.statements.append(sql)
            return await attribute(sql, *args, **options)

        return counted


@asynccontextmanager
async def counting(store: Store) -> AsyncIterator[list[str]]:
    """The statements ``store`` sends to its database inside the block."""
    if isinstance(store, SQLiteStore):
        reader = store._reader
        assert reader is not None
        statements: list[str] = []
        await reader.set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            # sqlite3 takes None to stop tracing; aiosqlite's annotation leaves it out
            await reader.set_trace_callback(None)  # type: ignore[arg-type]
    elif isinstance(store, PostgresStore):
        pool = _CountingPool(store._pool)
        store._pool = pool  # type: ignore[assignment]
        try:
            yield pool.statements
        finally:
            store._pool = pool._pool
    else:
        pytest.skip(f"{type(store).__name__} has no database: its queue is a scan in memory")


async def _waiting(store: Store, how_many: int) -> None:
    """``how_many`` conversations waiting for an agent, and as many the bot took back."""
    for i in range(how_many):
        for key, status in ((f"web:기다림{i}", "handoff_requested"), (f"web:끝남{i}", "bot")):
            asked = make_records(
                key, [1, 2], at=T0 + i, kind="handoff_requested", data={"reason": "환불"}
            )
            session = make_session(key, status=status)
            await store.commit(session, asked, expected_version=0)


@pytest.mark.parametrize("how_many", [1, 4, 25])
async def test_the_handoff_queue_is_one_query(store: Store, how_many: int) -> None:
    await _waiting(store, how_many)
    async with counting(store) as statements:
        queue = await store.handoffs(since=T0)
    assert len(queue) == how_many
    assert len(statements) == 1, statements


async def test_the_counting_sees_the_queries_of_a_scan(store: Store) -> None:
    """The check itself: the way the queue was read before (the requests, then one load per
    conversation) is counted as the N + 1 queries it is."""
    await _waiting(store, 3)

    async def scan() -> None:
        asked = await store.records(kind="handoff_requested", since=T0)
        for key in dict.fromkeys(r.session for r in asked):
            await store.load(key)

    async with counting(store) as statements:
        await scan()
    assert len(statements) == 1 + 6, statements
