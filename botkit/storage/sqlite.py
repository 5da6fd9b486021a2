"""The embedded default store: one SQLite file in WAL mode, through aiosqlite.

Writes are group-committed. ``commit`` only queues its (already JSON-encoded) work and waits;
one writer task takes everything queued when it gets to it, runs the whole batch on the write
connection's thread as ONE transaction, COMMITs once — one fsync for the batch — and only then
answers each caller. No turn is acknowledged before it is durable, and a lone commit never
waits for company: there is no timer, a batch is whatever queued up during the previous one.

Inside the transaction each commit stands alone: a version conflict or a failing statement
fails that commit only (:mod:`botkit.storage.sqlite_writes`, what runs on the write thread).

Loads are batched the same way on a second, read-only connection (WAL lets it read while the
writer commits): the loads waiting at one moment become one query. With ``:memory:`` there is
only one database per connection, so reads share the write connection.

The schema and its migrations are in :mod:`botkit.storage.sqlite_schema`, the batching in
:mod:`botkit.storage.batching`, the reads both SQL stores share in :mod:`botkit.storage.sql`,
the bot versions' statements in :mod:`botkit.storage.versions`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from botkit.engine.session import Session
from botkit.errors import StorageError
from botkit.records import BusinessEvent, Record, ReportRow
from botkit.storage.audience_sqlite import SQLiteAudience
from botkit.storage.base import (
    BotVersion,
    HandedOff,
    LiveState,
    check_limit,
    decode_session,
    encode_session,
)
from botkit.storage.batching import Batcher
from botkit.storage.sends_sqlite import SQLiteSends
from botkit.storage.sql import (
    EVENT_COLUMNS,
    event_rows,
    events_query,
    handoffs_query,
    record_row,
    records_query,
    report_rows_query,
    to_events,
    to_handoffs,
    to_records,
    to_report_rows,
)
from botkit.storage.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, migrate, must_be_store
from botkit.storage.sqlite_writes import CHUNK, Commit, failure, in_transaction, write_batch
from botkit.storage.versions import (
    VERSIONS_QUERY,
    add_version_statements,
    live_states_query,
    to_live_states,
    to_versions,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore", "migrate"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000


class _Load:
    """One queued ``load``: the key, and the caller's future for ``(version, data)``."""

    __slots__ = ("future", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self.future: asyncio.Future[tuple[int, str] | None] = (
            asyncio.get_running_loop().create_future()
        )


class SQLiteStore(SQLiteAudience, SQLiteSends):
    """Sessions and records in one SQLite database (a file path, or ``":memory:"``); the
    audience (customers, links, consent) as :class:`~.audience_sqlite.SQLiteAudience` keeps it,
    the campaign sends as :class:`~.sends_sqlite.SQLiteSends` does.

    ``synchronous`` is SQLite's pragma: ``FULL`` (default) makes every acknowledged commit
    survive power loss; ``NORMAL`` survives a crash of the process but may lose the last
    commits when the machine loses power. ``create=False`` (read-only commands) refuses a file
    that does not exist or holds no botkit store, rather than creating one.
    """

    def __init__(self, path: str, *, synchronous: str = "FULL", create: bool = True) -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}"
            )
        self.path = path
        self.synchronous = synchronous.upper()
        self.create = create
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._commits: Batcher[Commit] | None = None
        self._loads: Batcher[_Load] | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    @property
    def _memory(self) -> bool:
        return self.path in (":memory:", "")

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            if not self._memory:
                if not self.create:
                    must_be_store(self.path)
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = await aiosqlite.connect(self.path, isolation_level=None)
            await _in_thread(self._writer, self._set_up)
            if self._memory:
                self._reader = self._writer
            else:
                self._reader = await aiosqlite.connect(self.path, isolation_level=None)
                await _in_thread(self._reader, _set_up_reader)
        except (sqlite3.Error, OSError, ValueError) as exc:
            await self._disconnect()
            raise StorageError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        except StorageError:
            await self._disconnect()
            raise
        self._commits = Batcher(f"botkit-store-writer:{self.path}", self._write)
        self._loads = Batcher(f"botkit-store-reader:{self.path}", self._read)

    async def close(self) -> None:
        commits, loads = self._commits, self._loads
        self._commits = self._loads = None
        if commits is not None:
            await commits.stop()  # commits already submitted are written and answered first
        if loads is not None:
            await loads.stop()
        await self._disconnect()

    async def _disconnect(self) -> None:
        reader, writer = self._reader, self._writer
        self._reader = self._writer = None
        for conn in (reader, writer) if reader is not writer else (writer,):
            if conn is not None:
                try:
                    await conn.close()
                except (sqlite3.Error, ValueError):
                    log.warning("closing %s failed", self, exc_info=True)

    def _set_up(self, db: sqlite3.Connection) -> None:
        """On the write connection: pragmas, then every pending migration (each atomic)."""
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self.create:
            must_be_store(self.path, db)
        if not self._memory:
            (mode,) = db.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                log.warning("%s: SQLite refused WAL mode (journal_mode=%s)", self.path, mode)
        db.execute(f"PRAGMA synchronous = {self.synchronous}")
        migrate(db)

    def stats(self) -> dict[str, int]:
        """Group-commit counters since open: transactions written and commits in them."""
        if self._commits is None:
            return {"batches": 0, "commits": 0}
        return {"batches": self._commits.batches, "commits": self._commits.items}

    # --- reads -------------------------------------------------------------------------------

    def _read_connection(self) -> aiosqlite.Connection:
        if self._reader is None or self._commits is None:
            raise StorageError("the store is not open")
        return self._reader

    async def _fetch(self, what: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read on the read connection; its failures as StorageError saying
        ``what`` failed."""
        conn = self._read_connection()
        try:
            return list(await conn.execute_fetchall(sql, params))
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"{what} failed: {exc}") from exc

    async def load(self, key: str) -> Session | None:
        if self._loads is None or not self._loads.accepting:
            raise StorageError("the store is not open")
        item = _Load(key)
        self._loads.submit(item)
        stored = await item.future
        return None if stored is None else decode_session(stored[1], stored[0])

    async def _read(self, batch: list[_Load]) -> None:
        """Answer every waiting load with one query per few hundred distinct keys."""
        keys = list(dict.fromkeys(item.key for item in batch))
        found: dict[str, tuple[int, str]] = {}
        try:
            conn = self._read_connection()
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                rows = await conn.execute_fetchall(
                    "SELECT key, version, data FROM sessions"
                    f" WHERE key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((key, (version, data)) for key, version, data in rows)
        except (sqlite3.Error, ValueError, StorageError) as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(failure("loading the session failed", exc))
            return
        for item in batch:
            if not item.future.done():
                item.future.set_result(found.get(item.key))

    async def records(
        self,
        *,
        session: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        check_limit(limit)
        sql, params = records_query(
            _mark, session=session, kind=kind, since=since, until=until, limit=limit
        )
        return to_records(await self._fetch("reading records", sql, params))

    async def handoffs(self, *, since: float) -> list[HandedOff]:
        # json_extract: SQLite's JSON functions, built in since 3.38 and in Python's own builds
        # before that.
        sql, params = handoffs_query(_mark, "json_extract(s.data, '$.status')", since=since)
        return to_handoffs(await self._fetch("reading the handoff queue", sql, params))

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        sql, params = report_rows_query(_mark, since=since, until=until)
        return to_report_rows(await self._fetch("reading records", sql, params))

    async def count_records(self) -> int:
        rows = await self._fetch("counting records", "SELECT count(*) FROM records")
        return int(rows[0][0])

    async def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        user: str | None = None,
        customer: str | None = None,
    ) -> list[BusinessEvent]:
        sql, params = events_query(_mark, since=since, until=until, user=user, customer=customer)
        return to_events(await self._fetch("reading business events", sql, params))

    async def versions(self) -> list[BotVersion]:
        return to_versions(await self._fetch("reading the bot's versions", VERSIONS_QUERY))

    async def live_states(self, *, since: float) -> list[LiveState]:
        sql, params = live_states_query(_mark, "json_extract(data, '$.{}')", since=since)
        return to_live_states(await self._fetch("counting sessions per state", sql, params))

    async def ping(self) -> bool:
        if self._reader is None or self._commits is None or not self._commits.accepting:
            return False
        try:
            await self._reader.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return True

    # --- writes ------------------------------------------------------------------------------

    async def _write_now(self, what: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` in a transaction of its own on the write connection, queued behind the
        batch under way (writes that are not turns are rare: they are not batched); its
        failures as StorageError saying ``what`` failed."""
        if self._writer is None or self._commits is None or not self._commits.accepting:
            raise StorageError("the store is not open")
        try:
            return await _in_thread(self._writer, lambda db: in_transaction(db, work))
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"{what} failed: {exc}") from exc

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        rows = event_rows(events)

        def write(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                f"INSERT INTO events ({EVENT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                rows,
            )
            return db.total_changes - before

        return await self._write_now("storing business events", write)

    async def add_version(self, version: str, sources: Mapping[str, str], at: float) -> None:
        statements = add_version_statements(_mark, version, sources, at)

        def write(db: sqlite3.Connection) -> None:
            for sql, params in statements:
                db.execute(sql, params)

        await self._write_now(f"storing bot version {version!r}", write)

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        if self._commits is None or not self._commits.accepting:
            raise StorageError("the store is not open")
        item = Commit(
            session.key,
            expected_version,
            encode_session(session, expected_version + 1),
            [record_row(record) for record in records],
        )
        self._commits.submit(item)
        return await item.future

    async def _write(self, batch: list[Commit]) -> None:
        """Write the batch in one transaction, then — only then — answer every caller."""
        try:
            if self._writer is None:
                raise StorageError("the store is not open")
            results = await _in_thread(self._writer, lambda db: write_batch(db, batch))
        except Exception as exc:  # the connection is gone, or worse: the whole batch failed
            results = [failure("writing failed", exc) for _ in batch]
        for item, result in zip(batch, results, strict=True):
            if item.future.done():  # the caller gave up meanwhile; the write stands
                continue
            if isinstance(result, int):
                item.future.set_result(result)
            else:
                item.future.set_exception(result)


def _set_up_reader(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = ON")


# --- helpers ---------------------------------------------------------------------------------


def _mark(n: int) -> str:
    return "?"


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run ``fn(raw sqlite3 connection)`` on the connection's own thread, as ONE queued call.

    A batch is dozens of statements; through aiosqlite's public API each would be a round trip
    between the event loop and the thread, which costs more than SQLite's own work. aiosqlite
    offers this only as private API (``_execute`` and ``_conn``, unchanged from at least 0.17
    to 0.22), so it is confined to this one function, which every test goes through.
    """
    execute = cast(Callable[[Callable[[], _T]], Awaitable[_T]], conn._execute)
    return await execute(lambda: fn(conn._conn))
