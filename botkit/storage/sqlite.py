"""The embedded default store: one SQLite file in WAL mode, through aiosqlite.

Writes are group-committed. ``commit`` only queues the (already JSON-encoded) work and waits;
one writer task takes everything queued when it gets to it, runs the whole batch on the write
connection's thread as one transaction (each commit inside its own SAVEPOINT, so a conflict or
a failure of one commit undoes that commit only), COMMITs once — one fsync for the batch — and
only then resolves each caller. No acknowledged turn is ever un-durable, and a lone commit
never waits for company: there is no timer, a batch is whatever queued up during the last one.

Reads go through a second connection (WAL lets them run while the writer commits). With
``:memory:`` there is only one database per connection, so reads share the write connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from botkit.engine.session import Session
from botkit.records import Record
from botkit.storage.base import (
    ConflictError,
    StorageError,
    check_limit,
    decode_session,
    dump_json,
    encode_session,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 5000

# Migration i takes a database from ``PRAGMA user_version`` i to i + 1. Append only; never edit
# a migration that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions and records
        """CREATE TABLE sessions (
            key TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            data TEXT NOT NULL,
            updated_at REAL
        )""",
        """CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            session TEXT NOT NULL,
            conversation INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            turn INTEGER NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            bot TEXT NOT NULL,
            flow TEXT NOT NULL,
            flow_version TEXT NOT NULL,
            variant TEXT NOT NULL,
            user TEXT NOT NULL,
            channel TEXT NOT NULL,
            data TEXT,
            UNIQUE (session, seq)
        )""",
    ),
    (  # 2: what reports filter on
        "CREATE INDEX records_at ON records (at)",
        "CREATE INDEX records_flow_at ON records (flow, at)",
        "CREATE INDEX records_kind_at ON records (kind, at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = "kind, session, conversation, seq, turn, at, bot, flow, flow_version, variant, user, channel, data"  # noqa: E501  (Record's field order)
_INSERT_RECORD = f"INSERT INTO records ({_COLUMNS}) VALUES ({', '.join('?' * 13)})"
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

    def __init__(
        self,
        key: str,
        expected: int,
        data: str,
        rows: list[tuple[Any, ...]],
        future: asyncio.Future[int],
    ) -> None:
        self.key = key
        self.expected = expected
        self.version = expected + 1
        self.data = data
        self.rows = rows
        self.updated_at = time.time()
        self.future = future


class SQLiteStore:
    """Sessions and records in one SQLite database (a file path, or ``":memory:"``).

    ``synchronous`` is SQLite's pragma: ``FULL`` (default) makes every acknowledged commit
    survive power loss; ``NORMAL`` survives a process crash but may lose the last commits when
    the machine loses power.
    """

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}"
            )
        self.path = path
        self.synchronous = synchronous.upper()
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: list[_Commit] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._batches = 0
        self._commits = 0

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    @property
    def _memory(self) -> bool:
        return self.path == ":memory:" or self.path == ""

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._writer is not None:
            return
        try:
            if not self._memory:
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
        self._closing = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._write_loop(), name=f"botkit-store-{self.path}")

    async def close(self) -> None:
        if self._writer is None:
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await self._task  # commits already queued are written and answered first
            except Exception:
                log.exception("the writer of %s had failed", self)
            self._task = None
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
        if not self._memory:
            (mode,) = db.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                log.warning("%s: SQLite refused WAL mode (journal_mode=%s)", self.path, mode)
        db.execute(f"PRAGMA synchronous = {self.synchronous}")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)

    # --- reads -------------------------------------------------------------------------------

    def _read_connection(self) -> aiosqlite.Connection:
        if self._reader is None or self._closing:
            raise StorageError("the store is not open")
        return self._reader

    async def load(self, key: str) -> Session | None:
        conn = self._read_connection()
        try:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT version, data FROM sessions WHERE key = ?", (key,)
                )
            )
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"loading session {key!r} failed: {exc}") from exc
        if not rows:
            return None
        version, data = rows[0]
        return decode_session(data, version)

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
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("session = ?", session),
            ("kind = ?", kind),
            ("at >= ?", since),
            ("at < ?", until),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {_COLUMNS} FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY session, seq" if session is not None else " ORDER BY at, session, seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        try:
            rows = await conn.execute_fetchall(sql, params)
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"reading records failed: {exc}") from exc
        return [
            Record._make((*row[:12], None if row[12] is None else json.loads(row[12])))
            for row in rows
        ]

    async def count_records(self) -> int:
        conn = self._read_connection()
        try:
            rows = list(await conn.execute_fetchall("SELECT count(*) FROM records"))
        except (sqlite3.Error, ValueError) as exc:
            raise StorageError(f"counting records failed: {exc}") from exc
        return int(rows[0][0])

    async def ping(self) -> bool:
        if self._reader is None or self._closing or self._task is None or self._task.done():
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
        if self._writer is None or self._closing or self._task is None or self._task.done():
            raise StorageError("the store is not open")
        item = _Commit(
            session.key,
            expected_version,
            encode_session(session, expected_version + 1),
            [_row(record) for record in records],
            asyncio.get_running_loop().create_future(),
        )
        self._queue.append(item)
        self._wake.set()
        return await item.future

    async def _write_loop(self) -> None:
        """The single writer: batch whatever is queued, write it, answer, repeat."""
        batch: list[_Commit] = []
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch, self._queue = self._queue, []
                batch = [item for item in batch if not item.future.cancelled()]
                if not batch:
                    continue
                results = await self._write(batch)
                self._batches += 1
                self._commits += len(batch)
                for item, result in zip(batch, results, strict=True):
                    if item.future.done():
                        continue
                    if isinstance(result, int):
                        item.future.set_result(result)
                    else:
                        item.future.set_exception(result)
                batch = []
        except BaseException as exc:
            # Cancelled (event loop shutting down) or a bug: nobody may be left waiting.
            for item in (*batch, *self._queue):
                if not item.future.done():
                    failure = StorageError(f"the store's writer stopped: {exc!r}")
                    item.future.set_exception(failure)
            self._queue = []
            raise

    async def _write(self, batch: list[_Commit]) -> list[int | StorageError]:
        writer = self._writer
        try:
            if writer is None:
                raise StorageError("the store is not open")
            return await _in_thread(writer, lambda db: _write_batch(db, batch))
        except Exception as exc:  # the connection is gone, or worse: fail the whole batch
            return [_failure("writing failed", exc) for _ in batch]

    def stats(self) -> dict[str, int]:
        """Group-commit counters since open: transactions written and commits in them."""
        return {"batches": self._batches, "commits": self._commits}


# --- runs on the write connection's thread ---------------------------------------------------


def _write_batch(db: sqlite3.Connection, batch: list[_Commit]) -> list[int | StorageError]:
    """One transaction for the batch; one SAVEPOINT per commit. Never raises."""
    results: list[int | StorageError] = []
    try:
        db.execute("BEGIN IMMEDIATE")
        for item in batch:
            results.append(_write_one(db, item))
            if not db.in_transaction:  # SQLite rolled the whole transaction back (I/O error…)
                raise StorageError("SQLite aborted the transaction")
        db.execute("COMMIT")
    except Exception as exc:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        return [_failure("the batch transaction failed", exc) for _ in batch]
    return results


def _write_one(db: sqlite3.Connection, item: _Commit) -> int | StorageError:
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
            found = db.execute("SELECT version FROM sessions WHERE key = ?", (item.key,))
            row = found.fetchone()
            raise ConflictError(item.key, item.expected, row[0] if row else 0)
        if item.rows:
            db.executemany(_INSERT_RECORD, item.rows)
    except (sqlite3.Error, StorageError) as exc:
        if db.in_transaction:
            db.execute("ROLLBACK TO item")
            db.execute("RELEASE item")
        if isinstance(exc, ConflictError):
            return exc
        if isinstance(exc, sqlite3.IntegrityError):
            return _failure(f"commit of session {item.key!r} rejected", exc)
        return _failure(f"commit of session {item.key!r} failed", exc)
    db.execute("RELEASE item")
    return item.version


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION, one transaction per migration; returns the version
    found. A database from a newer botkit is refused rather than touched."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"the database has schema version {found}; this botkit knows up to {SCHEMA_VERSION}"
        )
    for target in range(found + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            (current,) = db.execute("PRAGMA user_version").fetchone()
            if current < target:  # another process may have migrated meanwhile
                for statement in MIGRATIONS[target - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return int(found)


def _set_up_reader(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = ON")


# --- helpers ---------------------------------------------------------------------------------


def _row(record: Record) -> tuple[Any, ...]:
    return (*record[:12], None if record.data is None else dump_json(record.data))


def _failure(what: str, exc: BaseException) -> StorageError:
    """A new StorageError per caller (an exception object must not be raised in two tasks)."""
    failure = StorageError(f"{what}: {exc}")
    failure.__cause__ = exc
    return failure


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run ``fn(raw sqlite3 connection)`` on the connection's own thread, as ONE queued call.

    A batch is dozens of statements; through aiosqlite's public API each would be a round trip
    between the event loop and the thread, which costs more than SQLite's work. aiosqlite
    offers this only as private API (``_execute``/``_conn``, stable since 0.x), so it is
    confined to this one function.
    """
    execute = cast(Callable[[Callable[[], _T]], Awaitable[_T]], conn._execute)
    return await execute(lambda: fn(conn._conn))
