"""What the SQL stores do for campaign sends beyond the contract (``test_sends_contract``): the
migration that adds their tables to a store kept by an earlier botkit, the claim walking its
index, and finishes written together."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from botkit.campaigns.port import SendStatus
from botkit.errors import StorageError
from botkit.records import BusinessEvent
from botkit.storage import SQLiteStore
from botkit.storage.postgres import PostgresStore
from botkit.storage.postgres_schema import MIGRATIONS as POSTGRES_MIGRATIONS
from botkit.storage.sends_sqlite import SQL
from botkit.storage.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS, migrate
from tests.postgres import POSTGRES_MARKS, POSTGRES_URL, postgres_url
from tests.storage.conftest import Backend
from tests.storage.test_sends_contract import NOW, WELCOME, planned

SQLITE_BEFORE_SENDS = 6  # the schema version before migration 7 added campaign_sends
POSTGRES_BEFORE_SENDS = 3  # the schema version before migration 4 added campaign_sends


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "botkit.db"


# --- migrations ------------------------------------------------------------------------------


def test_the_sends_tables_come_with_the_migrations_named_here() -> None:
    """A migration that shipped is never edited: the tests below start from the one before."""
    assert "CREATE TABLE campaign_sends" in SQLITE_MIGRATIONS[SQLITE_BEFORE_SENDS][0]
    assert "CREATE TABLE campaign_sends" in POSTGRES_MIGRATIONS[POSTGRES_BEFORE_SENDS][0]


async def test_a_sqlite_store_from_before_campaigns_gets_their_tables(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:  # what botkit wrote before it kept sends
        for migration in SQLITE_MIGRATIONS[:SQLITE_BEFORE_SENDS]:
            for statement in migration:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SQLITE_BEFORE_SENDS}")
        db.execute(
            "INSERT INTO events (id, kind, user, at, amount, data, customer)"
            " VALUES ('order-1', 'purchase', '민지', 10.0, 39000.0, NULL, 'C-1')"
        )
        db.commit()
    store = SQLiteStore(str(path))
    await store.open()
    try:
        assert await store.events(customer="C-1") == [
            BusinessEvent("order-1", "purchase", "민지", 10.0, 39_000.0, None, "C-1")
        ]
        assert await store.sends() == []
        assert await store.plan_sends([planned("C-1")]) == 1
        assert [s.member for s in await store.claim_sends("w", NOW, lease=60, limit=5)] == ["C-1"]
        await store.set_cursor("환영", NOW)
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
    assert version == len(SQLITE_MIGRATIONS)


@pytest.mark.postgres  # postgres_schema skips it without BOTKIT_TEST_POSTGRES_URL
async def test_a_postgres_schema_from_before_campaigns_gets_their_tables(
    postgres_schema: str,
) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:  # what botkit wrote before it kept sends
        await conn.execute(f'CREATE SCHEMA "{postgres_schema}"')
        await conn.execute(f'SET search_path = "{postgres_schema}"')
        await conn.execute("CREATE TABLE botkit_schema (version integer NOT NULL)")
        migrations = POSTGRES_MIGRATIONS[:POSTGRES_BEFORE_SENDS]
        for version, migration in enumerate(migrations, start=1):
            for statement in migration:
                await conn.execute(statement)
            await conn.execute("INSERT INTO botkit_schema VALUES ($1)", version)
        await conn.execute(
            'INSERT INTO events (id, kind, "user", at, amount, data, customer)'
            " VALUES ('order-1', 'purchase', '민지', 10.0, 39000.0, NULL, 'C-1')"
        )
    finally:
        await conn.close()
    store = PostgresStore(postgres_url(postgres_schema))
    await store.open()
    try:
        assert [e.id for e in await store.events(customer="C-1")] == ["order-1"]
        assert await store.plan_sends([planned("C-1")]) == 1
        assert await store.decided(WELCOME, "", ["C-1", "C-2"]) == {"C-1"}
        await store.set_cursor("환영", NOW)
        assert await store.cursor("환영") == NOW
    finally:
        await store.close()


# --- SQLite: the claim's index, finishes written together ------------------------------------


def test_a_sqlite_claim_walks_the_index_of_open_sends(path: Path) -> None:
    """The claim's inner SELECT must use the partial index, whose WHERE the query repeats
    word for word (SQLite uses a partial index only then): otherwise every claim reads and
    sorts every due send."""
    with closing(sqlite3.connect(path)) as db:
        migrate(db)
        plan = db.execute("EXPLAIN QUERY PLAN " + SQL.claim, ("w", NOW + 60, NOW, 100))
        details = [row[3] for row in plan.fetchall()]
    assert any("USING INDEX campaign_sends_open" in d for d in details), details
    assert not any("TEMP B-TREE" in d for d in details), details  # no sort of its own


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)], indirect=True
)
async def test_finishes_at_once_share_transactions(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = backend.make()
    assert isinstance(store, SQLiteStore | PostgresStore)
    await store.open()
    try:
        await store.plan_sends([planned(f"C-{i:03}") for i in range(100)])
        taken = await store.claim_sends("worker-1", NOW, lease=60, limit=100)
        batches: list[int] = []
        write = store._write_finishes

        async def counted(batch: list[Any]) -> Any:
            batches.append(len(batch))
            return await write(batch)

        monkeypatch.setattr(store, "_write_finishes", counted)
        finishes = [
            store.finish_send(s.key, "sent", NOW + 1, worker="worker-1", provider_id=f"task-{i}")
            for i, s in enumerate(taken)
        ]
        lost = store.finish_send(taken[0].key, "sent", NOW + 2, worker="worker-1")  # again
        assert await asyncio.gather(*finishes, lost) == [True] * 100 + [False]
        assert sum(batches) == 101
        assert 1 <= len(batches) <= 2  # not a transaction per send
        sent = await store.sends(statuses=[SendStatus.SENT])
        assert sorted(s.provider_id or "" for s in sent) == sorted(f"task-{i}" for i in range(100))
        assert {s.sent_at for s in sent} == {NOW + 1}  # the first finish of C-000 won
    finally:
        await store.close()


async def test_sqlite_finishes_queued_when_the_store_closes_are_answered(path: Path) -> None:
    store = SQLiteStore(str(path))
    await store.open()
    await store.plan_sends([planned(f"C-{i}") for i in range(20)])
    taken = await store.claim_sends("worker-1", NOW, lease=60, limit=20)
    finishes = [store.finish_send(s.key, "sent", NOW + 1, worker="worker-1") for s in taken]
    results = await asyncio.gather(*finishes, store.close(), return_exceptions=True)
    for result in results[:-1]:
        assert result is True or isinstance(result, StorageError), result
    assert results[-1] is None

    again = SQLiteStore(str(path))
    await again.open()
    try:
        kept = {s.key: s.status for s in await again.sends()}
        for send, result in zip(taken, results, strict=False):
            assert kept[send.key] == ("sent" if result is True else "claimed")
    finally:
        await again.close()
