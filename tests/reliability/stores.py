"""The stores a ``botkit serve`` process writes, read from outside it: how many sessions,
records and business events there are (a refused request must add none), what each user said
(a burst must lose and double nothing), and whether a SQLite file is sound after a kill -9.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from botkit.storage import SQLiteStore, Store
from botkit.storage.postgres import PostgresStore
from tests.postgres import POSTGRES_URL

__all__ = ["Counts", "PostgresCounts", "integrity", "open_store_of", "said", "sqlite_counts"]

_TABLES = ("sessions", "records", "events")
T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    sessions: int
    records: int
    events: int


def sqlite_counts(db: Path) -> Counts:
    """What the SQLite file holds now (read while the server runs: WAL lets a reader in)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES]
    return Counts(*found)


class PostgresCounts:
    """The counts of a schema, read on one connection kept open on a loop of its own thread
    (a connection per read would double the time of the bad-input table)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conn: asyncpg.Connection = self._run(asyncpg.connect(POSTGRES_URL))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _counts(self) -> Counts:
        tables = [f'SELECT count(*) FROM "{self.schema}".{table}' for table in _TABLES]
        return Counts(*[await self._conn.fetchval(query) for query in tables])

    def __call__(self) -> Counts:
        return self._run(self._counts())

    def close(self) -> None:
        self._run(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of the file: "ok", or what SQLite found wrong."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows)


def open_store_of(url: str) -> Store:
    """A store on the file or schema a server used (``sqlite:///…`` or ``postgresql://…``)."""
    if url.startswith("sqlite:///"):
        return SQLiteStore(url.removeprefix("sqlite:///"))
    return PostgresStore(url)


async def said(url: str, sessions: list[str]) -> dict[str, list[str]]:
    """What each of ``sessions`` said, as stored (``message_in`` texts, in sequence order)."""
    store = open_store_of(url)
    await store.open()
    try:
        out = {}
        for key in sessions:
            records = await store.records(session=key, kind="message_in")
            out[key] = [str((r.data or {}).get("text")) for r in records]
        return out
    finally:
        await store.close()
