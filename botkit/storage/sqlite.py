"""The embedded default store: one SQLite file in WAL mode, through aiosqlite.

Writes are group-committed. ``commit`` only queues its (already JSON-encoded) work and waits;
one writer task takes everything queued when it gets to it, runs the whole batch on the write
connection's thread as ONE transaction, COMMITs once — one fsync for the batch — and only then
answers each caller. No turn is acknowledged before it is durable, and a lone commit never
waits for company: there is no timer, a batch is whatever queued up during the previous one.

Inside the transaction each commit stands alone: a version conflict fails that commit only
(versions are checked under the write lock, in batch order, so two commits of one session in
one batch chain correctly), and when a statement fails (say, a duplicate ``(session, seq)``)
the batch is redone one commit per SAVEPOINT, so only the commit at fault fails.

Loads are batched the same way on a second, read-only connection (WAL lets it read while the
writer commits): the loads waiting at one moment become one query. With ``:memory:`` there is
only one database per connection, so reads share the write connection.

The schema and its migrations are in :mod:`botkit.storage.sqlite_schema`, the batching in
:mod:`botkit.storage.batching`, the reads both SQL stores share in :mod:`botkit.storage.sql`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from botkit.engine.session import Session
from botkit.errors import ConflictError, StorageError
from botkit.records import BusinessEvent, Record, ReportRow
from botkit.storage.base import HandedOff, check_limit, decode_session, encode_session
from botkit.storage.batching import Batcher
from botkit.storage.sql import (
    RECORD_COLUMNS,
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

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore", "migrate"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000
_CHUNK = 500  # keys per IN (...) list, well under SQLite's limit on bound parameters


_INSERT_RECORD = f"INSERT INTO records ({RECORD_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_UPSERT_SESSION = (
    "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET"
    " version = excluded.version, data = excluded.data, updated_at = excluded.updated_at"
)
_INSERT_SESSION = (
    "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (key) DO NOTHING"
)
_UPDATE_SESSION = (
    "UPDATE sessions SET version = ?, data = ?, updated_at = ? WHERE key = ? AND version = ?"
)


class _Commit:
    """One queued ``commit``: everything encoded up front, and the caller's future."""

    __slots__ = ("data", "expected", "future", "key", "rows", "updated_at", "version")

    def __init__(self, key: str, expected: int, data: str, rows: list[tuple[Any, ...]]) -> None:
        self.key = key
        self.expected = expected
        self.version = expected + 1
        self.data = data
        self.rows = rows
        self.updated_at = time.time()
        self.future: asyncio.Future[int] = asyncio.get_running_loop().create_future()


class _Load:
    """One queued ``load``: the key, and the caller's future for ``(version, data)``."""

    __slots__ = ("future", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self.future: asyncio.Future[tuple[int, str] | None] = (
            asyncio.get_running_loop().create_future()
        )


class SQLiteStore:
    """Sessions and records in one SQLite database (a file path, or ``":memory:"``).

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
        self._commits: Batcher[_Commit] | None = None
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
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                rows = await conn.execute_fetchall(
                    "SELECT key, version, data FROM sessions"
                    f" WHERE key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((key, (version, data)) for key, version, data in rows)
        except (sqlite3.Error, ValueError, StorageError) as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(_failure("loading the session failed", exc))
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
        conn = self._read_connection()
        sql, params = records_query(
            _mark, session=session, kind=kind, since=since, until=until, limit=limit
        )
        try:
            rows = await conn.execute_fetchall(sql, params)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"reading records failed: {exc}") from exc
        return to_records(rows)

    async def handoffs(self, *, since: float) -> list[HandedOff]:
        conn = self._read_connection()
        # json_extract: SQLite's JSON functions, built in since 3.38 and in Python's own builds
        # before that.
        sql, params = handoffs_query(_mark, "json_extract(s.data, '$.status')", since=since)
        try:
            rows = await conn.execute_fetchall(sql, params)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"reading the handoff queue failed: {exc}") from exc
        return to_handoffs(rows)

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        conn = self._read_connection()
        sql, params = report_rows_query(_mark, since=since, until=until)
        try:
            rows = await conn.execute_fetchall(sql, params)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"reading records failed: {exc}") from exc
        return to_report_rows(rows)

    async def count_records(self) -> int:
        conn = self._read_connection()
        try:
            rows = list(await conn.execute_fetchall("SELECT count(*) FROM records"))
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"counting records failed: {exc}") from exc
        return int(rows[0][0])

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        if self._writer is None or self._commits is None or not self._commits.accepting:
            raise StorageError("the store is not open")
        rows = event_rows(events)

        def write(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany(
                    "INSERT INTO events (id, kind, user, at, amount, data)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    rows,
                )
                added = db.total_changes - before
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return added

        try:
            return await _in_thread(self._writer, write)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"storing business events failed: {exc}") from exc

    async def events(
        self, *, since: float | None = None, until: float | None = None, user: str | None = None
    ) -> list[BusinessEvent]:
        conn = self._read_connection()
        sql, params = events_query(_mark, since=since, until=until, user=user)
        try:
            rows = await conn.execute_fetchall(sql, params)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"reading business events failed: {exc}") from exc
        return to_events(rows)

    async def ping(self) -> bool:
        if self._reader is None or self._commits is None or not self._commits.accepting:
            return False
        try:
            await self._reader.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return True

    # --- writes ------------------------------------------------------------------------------

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        if self._commits is None or not self._commits.accepting:
            raise StorageError("the store is not open")
        item = _Commit(
            session.key,
            expected_version,
            encode_session(session, expected_version + 1),
            [record_row(record) for record in records],
        )
        self._commits.submit(item)
        return await item.future

    async def _write(self, batch: list[_Commit]) -> None:
        """Write the batch in one transaction, then — only then — answer every caller."""
        try:
            if self._writer is None:
                raise StorageError("the store is not open")
            results = await _in_thread(self._writer, lambda db: _write_batch(db, batch))
        except Exception as exc:  # the connection is gone, or worse: the whole batch failed
            results = [_failure("writing failed", exc) for _ in batch]
        for item, result in zip(batch, results, strict=True):
            if item.future.done():  # the caller gave up meanwhile; the write stands
                continue
            if isinstance(result, int):
                item.future.set_result(result)
            else:
                item.future.set_exception(result)


# --- runs on the write connection's thread ---------------------------------------------------


def _write_batch(db: sqlite3.Connection, batch: list[_Commit]) -> list[int | StorageError]:
    """One transaction for the batch. Never raises: a failure is a result per commit."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            results = _write_together(db, batch)
        except sqlite3.Error:
            # Some statement failed: start over, one SAVEPOINT per commit, so that only the
            # commit at fault fails. Nothing of this transaction had been committed.
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.execute("BEGIN IMMEDIATE")
            results = []
            for item in batch:
                results.append(_write_one(db, item))
                if not db.in_transaction:  # SQLite rolled everything back (I/O error…)
                    raise StorageError("SQLite aborted the transaction") from None
        db.execute("COMMIT")
    except Exception as exc:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        return [_failure("the batch transaction failed", exc) for _ in batch]
    return results


def _write_together(db: sqlite3.Connection, batch: list[_Commit]) -> list[int | StorageError]:
    """The common case in three statements: check every version (we hold the write lock, so
    nobody can change them), upsert the sessions that passed, append all their records."""
    keys = list(dict.fromkeys(item.key for item in batch))
    versions: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found = db.execute(
            f"SELECT key, version FROM sessions WHERE key IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        versions.update(found.fetchall())
    results: list[int | StorageError] = []
    sessions: list[tuple[str, int, str, float]] = []
    rows: list[tuple[Any, ...]] = []
    for item in batch:
        actual = versions.get(item.key, 0)
        if actual != item.expected:
            results.append(ConflictError(item.key, item.expected, actual))
            continue
        versions[item.key] = item.version  # a later commit of this session in the batch
        sessions.append((item.key, item.version, item.data, item.updated_at))
        rows.extend(item.rows)
        results.append(item.version)
    db.executemany(_UPSERT_SESSION, sessions)
    db.executemany(_INSERT_RECORD, rows)
    return results


def _write_one(db: sqlite3.Connection, item: _Commit) -> int | StorageError:
    """One commit inside its own SAVEPOINT: it either all happens or none of it does."""
    db.execute("SAVEPOINT item")
    try:
        if item.expected == 0:
            written = db.execute(
                _INSERT_SESSION, (item.key, item.version, item.data, item.updated_at)
            ).rowcount
        else:
            written = db.execute(
                _UPDATE_SESSION,
                (item.version, item.data, item.updated_at, item.key, item.expected),
            ).rowcount
        if written != 1:
            row = db.execute("SELECT version FROM sessions WHERE key = ?", (item.key,)).fetchone()
            raise ConflictError(item.key, item.expected, row[0] if row else 0)
        if item.rows:
            db.executemany(_INSERT_RECORD, item.rows)
    except (sqlite3.Error, ConflictError) as exc:
        if db.in_transaction:
            db.execute("ROLLBACK TO item")
            db.execute("RELEASE item")
        if isinstance(exc, ConflictError):
            return exc
        return _failure(f"commit of session {item.key!r} failed", exc)
    db.execute("RELEASE item")
    return item.version


def _set_up_reader(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = ON")


# --- helpers ---------------------------------------------------------------------------------


def _mark(n: int) -> str:
    return "?"


def _failure(what: str, exc: BaseException) -> StorageError:
    """A new StorageError per caller (one exception object must not be raised in two tasks)."""
    failure = StorageError(f"{what}: {exc}")
    failure.__cause__ = exc
    return failure


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run ``fn(raw sqlite3 connection)`` on the connection's own thread, as ONE queued call.

    A batch is dozens of statements; through aiosqlite's public API each would be a round trip
    between the event loop and the thread, which costs more than SQLite's own work. aiosqlite
    offers this only as private API (``_execute`` and ``_conn``, unchanged from at least 0.17
    to 0.22), so it is confined to this one function, which every test goes through.
    """
    execute = cast(Callable[[Callable[[], _T]], Awaitable[_T]], conn._execute)
    return await execute(lambda: fn(conn._conn))
