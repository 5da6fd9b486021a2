"""The store for several workers: PostgreSQL through asyncpg.

* **One statement per commit.** The compare-and-set on the session's version and the append of
  the turn's records are one SQL statement (data-modifying CTEs, in :mod:`.postgres_sql`), so a
  commit is one round trip and atomic without an explicit transaction. PostgreSQL
  group-commits the WAL flushes of concurrent connections by itself; no batching is needed.
* **One turn of a user at a time across workers.** :meth:`PostgresStore.lock` takes a
  session-level advisory lock on a connection of a second, small pool and holds it for the
  turn. PostgreSQL releases it when that connection ends, so a worker that crashes or loses
  its network never leaves a user locked. Waiters queue in the lock manager in arrival order.
  The compare-and-set stays as the safety net under the lock.
* **Schema in code.** ``open`` creates the schema (``?schema=`` in the URL, default
  ``botkit``) and applies the migrations it lacks in one transaction under a transaction-level
  advisory lock, so workers starting together migrate once (:mod:`.postgres_schema`).
* **Failures are StorageError.** A server that restarts or cannot be reached makes calls fail
  fast with :class:`StorageError` (the server answers 503 and ``Retry-After``); broken
  connections are dropped by the pool and new ones made on the next call, so the store
  recovers by itself.

Texts are stored as ``text`` (JSON in ``data`` columns): ``jsonb`` would reorder keys and
refuses ``\\u0000``, which a user may well type.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

from botkit.engine.session import Session
from botkit.errors import ConflictError, StorageError
from botkit.records import BusinessEvent, Record, ReportRow
from botkit.storage.audience_postgres import PostgresAudience
from botkit.storage.base import (
    BotVersion,
    HandedOff,
    LiveState,
    check_limit,
    check_records,
    decode_session,
    dump_json,
    encode_session,
)
from botkit.storage.postgres_schema import MIGRATIONS, SCHEMA_VERSION, migrate
from botkit.storage.postgres_sql import ADD_EVENTS, CREATE_SESSION, UPDATE_SESSION, add_version
from botkit.storage.sends_postgres import PostgresSends
from botkit.storage.sql import (
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
from botkit.storage.versions import (
    VERSIONS_QUERY,
    add_version_statements,
    live_states_query,
    to_live_states,
    to_versions,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

COMMAND_TIMEOUT_S = 10.0  # a read or a commit taking longer fails (StorageError)


# What a failing server or network raises through asyncpg. InternalClientError is what asyncpg
# raises when a server shutting down interrupts a connection mid-operation (seen when
# PostgreSQL was stopped under load).
_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


class PostgresStore(PostgresAudience, PostgresSends):
    """Sessions and records in PostgreSQL, shared by every worker that opens the same URL (the
    audience and the campaign sends in :mod:`.audience_postgres` and :mod:`.sends_postgres`).

    ``url`` is a libpq URL (``postgresql://user@host:5432/db``). botkit's own query parameters
    are taken out of it: ``schema`` (default ``botkit``), ``pool`` (connections for reads and
    commits, default 5), ``lock_pool`` (connections that hold per-user locks during turns,
    default 16: at most that many turns of one worker run at once, others wait their turn) and
    ``connect_timeout`` (seconds, default 2; past it a call fails and the server answers 503).
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"a PostgreSQL URL starts with postgresql://, not {url!r}")
        ours: dict[str, str] = {}
        theirs: list[tuple[str, str]] = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in _OPTIONS:
                ours[name] = value
            else:
                theirs.append((name, value))  # libpq's own (sslmode, ...), for asyncpg
        self.dsn = urlunsplit(parts._replace(query=urlencode(theirs)))
        self.schema = ours.get("schema", "botkit")
        self.create = create  # False (read-only commands): refuse a schema that is not there
        # 21 connections a worker: four workers fit PostgreSQL's default max_connections (100)
        self.pool_size = _positive(ours, "pool", 5)
        self.lock_pool_size = _positive(ours, "lock_pool", 16)
        self.connect_timeout = float(_positive(ours, "connect_timeout", 2))
        self._pool: asyncpg.Pool | None = None
        self._locks: asyncpg.Pool | None = None
        self._running = 0  # queries under way; close() lets them finish
        self._idle: asyncio.Event | None = None
        self._listeners: list[asyncio.Task[None]] = []  # one per subscribed topic
        self._salt = self.schema.encode() + b"\0"  # lock ids differ between schemas

    def __repr__(self) -> str:
        at = urlsplit(self.dsn)
        return f"PostgresStore({at.hostname}:{at.port or 5432}{at.path}, schema={self.schema!r})"

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._idle = asyncio.Event()
        self._idle.set()
        try:
            await self._migrate()
            # A server that takes COMMAND_TIMEOUT_S over a read or a commit is not answering.
            # The lock pool has no such limit: waiting for another worker's turn is its job.
            # The data pool's connections never change their session state: no reset needed.
            self._pool = await self._create_pool(
                1, self.pool_size, reset=_keep, command_timeout=COMMAND_TIMEOUT_S
            )
            self._locks = await self._create_pool(0, self.lock_pool_size, reset=_unlock_all)
        except _FAILURES as exc:
            await self.close()
            raise StorageError(f"cannot open {self!r}: {_say(exc)}") from exc

    def _settings(self) -> dict[str, str]:
        return {"search_path": self.schema, "application_name": "botkit"}

    async def _create_pool(self, min_size: int, max_size: int, **options: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings=self._settings(),
            timeout=self.connect_timeout,
            **options,
        )

    async def _migrate(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, server_settings=self._settings(), timeout=self.connect_timeout
        )
        try:
            found = await migrate(conn, self.schema, create=self.create)
        finally:
            await conn.close()
        if found < SCHEMA_VERSION:
            log.info("migrated %s from %d to %d", self, found, SCHEMA_VERSION)

    async def close(self) -> None:
        for listener in self._listeners:
            listener.cancel()
        await asyncio.gather(*self._listeners, return_exceptions=True)
        self._listeners = []
        pools = [p for p in (self._locks, self._pool) if p is not None]
        self._pool = self._locks = None  # new calls are refused from here on
        if self._idle is not None:
            # Commits already submitted are written and answered first.
            idle = asyncio.ensure_future(self._idle.wait())
            await asyncio.wait({idle}, timeout=COMMAND_TIMEOUT_S)
            idle.cancel()
        for pool in pools:
            try:
                # Calls already running finish first; past the timeout they are cut off.
                await asyncio.wait_for(pool.close(), timeout=COMMAND_TIMEOUT_S)
            except _FAILURES:
                pool.terminate()

    async def _query(self, what: str, method: str, sql: str, *args: Any) -> Any:
        """``pool.<method>(sql, *args)``, its failures as StorageError saying ``what`` failed."""
        return await self._use(what, lambda pool: getattr(pool, method)(sql, *args))

    async def _use(self, what: str, work: Callable[[asyncpg.Pool], Awaitable[_T]]) -> _T:
        """``work(pool)``, its failures as StorageError saying ``what`` failed (close() lets
        it finish first)."""
        pool = self._pool
        if pool is None or self._idle is None:
            raise StorageError("the store is not open")
        self._running += 1
        self._idle.clear()
        try:
            return await work(pool)
        except _FAILURES as exc:
            raise StorageError(f"{what} failed: {_say(exc)}") from exc
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    # --- turns of one user, one at a time across workers -------------------------------------

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock across every worker for the ``async with`` block.

        Raises StorageError when the lock cannot be had (the server does not answer).
        """
        if self._locks is None:
            raise StorageError("the store is not open")
        pool = self._locks
        ident = _lock_id(self._salt, key)
        try:
            # Waiting for a free connection is waiting for other turns: as long as a statement
            # may take. A server that is down fails faster, at connect_timeout.
            conn = await pool.acquire(timeout=COMMAND_TIMEOUT_S)
        except _FAILURES as exc:
            raise StorageError(f"cannot lock session {key!r}: {_say(exc)}") from exc
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", ident)
        except BaseException as exc:
            # Cancelled or failed while waiting: the lock may have been granted at that very
            # moment, so the connection is closed rather than pooled (closing releases it).
            await _discard(pool, conn)
            if isinstance(exc, _FAILURES):
                raise StorageError(f"cannot lock session {key!r}: {_say(exc)}") from exc
            raise
        try:
            yield
        finally:
            try:
                await pool.release(conn)  # the pool's reset unlocks (pg_advisory_unlock_all)
            except Exception as exc:
                # The reset failed, so asyncpg closed the connection, and the server released
                # what it held: the lock is gone either way, and the turn stands.
                log.warning("unlocking session %r failed: %s", key, _say(exc))

    # --- messages between workers (LISTEN / NOTIFY) -------------------------------------------

    def _channel(self, topic: str) -> str:
        return f"{self.schema}.{topic}"[:63]  # schemas do not hear each other; 63: NAMEDATALEN

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        payload = dump_json(message)
        size = len(payload.encode())
        if size >= _MAX_NOTIFY_BYTES:
            raise StorageError(f"a message of {size} bytes is too large to send")
        await self._query(
            f"publishing on {topic!r}", "execute", "SELECT pg_notify($1, $2)",
            self._channel(topic), payload,
        )  # fmt: skip

    async def subscribe(
        self, topic: str, receive: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        if self._pool is None:
            raise StorageError("the store is not open")
        listening = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            self._listen(self._channel(topic), receive, listening), name=f"botkit-listen:{topic}"
        )
        self._listeners.append(task)
        await asyncio.shield(listening)

    async def _listen(
        self,
        channel: str,
        receive: Callable[[dict[str, Any]], Awaitable[None]],
        listening: asyncio.Future[None],
    ) -> None:
        """LISTEN on a connection of its own; when it is lost, connect again (every second)
        until it works. Messages are handed to ``receive`` one at a time, in order."""
        queue: asyncio.Queue[str] = asyncio.Queue()

        def heard(conn: Any, pid: int, channel: str, payload: object) -> None:
            queue.put_nowait(str(payload))

        async def deliver() -> None:
            while True:
                payload = await queue.get()
                try:
                    await receive(orjson.loads(payload))
                except Exception:  # one bad message or handler must not stop the others
                    log.exception("a message on %s could not be handled", channel)

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                try:
                    await self._listen_once(channel, heard, listening)
                    log.warning("listening on %s: the connection was lost", channel)
                except _FAILURES as exc:
                    if not listening.done():  # the first attempt: subscribe() says why
                        failure = StorageError(f"cannot listen on {channel!r}: {_say(exc)}")
                        listening.set_exception(failure)
                        return
                    log.warning("listening on %s failed: %s", channel, _say(exc))
                await asyncio.sleep(1.0)
        finally:
            delivering.cancel()

    async def _listen_once(
        self, channel: str, heard: Callable[..., None], listening: asyncio.Future[None]
    ) -> None:
        """One connection's life: LISTEN, say so, and return when the connection ends."""
        conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        try:
            lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def ended(_: object) -> None:
                if not lost.done():
                    lost.set_result(None)

            conn.add_termination_listener(ended)
            await conn.add_listener(channel, heard)
            if not listening.done():
                listening.set_result(None)
            else:  # listening again: what was published meanwhile is lost (Broadcast says so)
                heard(conn, 0, channel, "{}")
            await lost
        finally:
            if not conn.is_closed():
                conn.terminate()

    # --- reads -------------------------------------------------------------------------------

    async def load(self, key: str) -> Session | None:
        row = await self._query(
            f"loading session {key!r}",
            "fetchrow",
            "SELECT version, data FROM sessions WHERE key = $1",
            key,
        )
        return None if row is None else decode_session(row[1], row[0])

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
        return to_records(await self._query("reading records", "fetch", sql, *params))

    async def handoffs(self, *, since: float) -> list[HandedOff]:
        # ``json``, not ``jsonb``: it reads the text as stored (see the module's docstring).
        sql, params = handoffs_query(_mark, "(s.data::json ->> 'status')", since=since)
        return to_handoffs(await self._query("reading the handoff queue", "fetch", sql, *params))

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        sql, params = report_rows_query(_mark, since=since, until=until)
        return to_report_rows(await self._query("reading records", "fetch", sql, *params))

    async def count_records(self) -> int:
        return int(
            await self._query("counting records", "fetchval", "SELECT count(*) FROM records")
        )

    async def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        user: str | None = None,
        customer: str | None = None,
    ) -> list[BusinessEvent]:
        sql, params = events_query(_mark, since=since, until=until, user=user, customer=customer)
        return to_events(await self._query("reading business events", "fetch", sql, *params))

    async def versions(self) -> list[BotVersion]:
        return to_versions(
            await self._query("reading the bot's versions", "fetch", VERSIONS_QUERY)
        )

    async def live_states(self, *, since: float) -> list[LiveState]:
        # ``json``, not ``jsonb``: one session holding a \u0000 would fail the whole query.
        sql, params = live_states_query(_mark, "(data::json ->> '{}')", since=since)
        return to_live_states(
            await self._query("counting sessions per state", "fetch", sql, *params)
        )

    async def ping(self) -> bool:
        if self._pool is None:
            return False
        try:
            await self._pool.fetchval("SELECT 1", timeout=self.connect_timeout)
        except (*_FAILURES, StorageError):
            return False
        return True

    # --- writes ------------------------------------------------------------------------------

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        check_records(records)
        version = expected_version + 1
        data = encode_session(session, version)
        rows = [record_row(record) for record in records]
        columns = [list(column) for column in zip(*rows, strict=True)] or [[]] * 13
        args: list[Any] = [session.key, version, data, time.time(), *columns]
        sql = CREATE_SESSION
        if expected_version != 0:
            sql = UPDATE_SESSION
            args.append(expected_version)
        what = f"commit of session {session.key!r}"
        if await self._query(what, "fetchval", sql, *args) == 1:
            return version
        actual = await self._query(
            what, "fetchval", "SELECT version FROM sessions WHERE key = $1", session.key
        )
        raise ConflictError(session.key, expected_version, actual or 0)

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        rows = event_rows(events)
        columns = [list(column) for column in zip(*rows, strict=True)] or [[]] * 7
        added = await self._query("storing business events", "fetchval", ADD_EVENTS, *columns)
        return int(added)

    async def add_version(self, version: str, sources: Mapping[str, str], at: float) -> None:
        statements = add_version_statements(_mark, version, sources, at)
        await self._use(
            f"storing bot version {version!r}", lambda pool: add_version(pool, statements)
        )


# --- helpers ---------------------------------------------------------------------------------

_OPTIONS = frozenset({"schema", "pool", "lock_pool", "connect_timeout"})
_MAX_NOTIFY_BYTES = 8000  # PostgreSQL's limit on a NOTIFY payload


def _positive(options: dict[str, str], name: str, default: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"?{name}= must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _mark(n: int) -> str:
    return f"${n}"


def _lock_id(salt: bytes, key: str) -> int:
    """A stable 64-bit advisory-lock id for a session key (a collision only makes two users
    wait for each other now and then; it never lets two turns of one user run together)."""
    digest = hashlib.blake2b(salt + key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _say(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _discard(pool: asyncpg.Pool, conn: Any) -> None:
    """Close a pooled connection instead of reusing it. When the server went away, asyncpg may
    already have taken the connection back from us: then there is nothing left to close."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()
    with contextlib.suppress(*_FAILURES):
        await pool.release(conn)


async def _keep(conn: asyncpg.Connection) -> None:
    """The data pool's reset: nothing to undo (asyncpg's default costs a round trip)."""


async def _unlock_all(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock_all()")
