"""The SQLite store's campaign sends (:class:`~botkit.campaigns.port.Sends`), mixed into
:class:`~botkit.storage.SQLiteStore`: the ``campaign_sends`` and ``campaign_cursors`` tables of
migration 7 (:mod:`.sqlite_schema`).

SQLite has one writer at a time, which is all a claim needs: every write is one transaction of
its own on the write connection (``BEGIN IMMEDIATE`` takes the write lock first), so the claim's
pick and its update happen with nobody in between, and two claims, in this process or another
on the same file, never take the same send. A plan is one ``executemany`` in one transaction:
a hundred thousand sends in one round trip to the write thread. Reads go through the read
connection, each one statement, so each sees one snapshot. Finishes queued at one moment are
written together, in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any, TypeVar

from botkit.campaigns.port import Send
from botkit.storage.audience_rows import need, need_time
from botkit.storage.base import dump_json
from botkit.storage.sends_queue import Queued, QueuedFinishes, Results
from botkit.storage.sends_rows import (
    SendStatements,
    check_filters,
    need_lease,
    need_limit,
    need_run,
    send_row,
    to_sends,
)
from botkit.storage.sqlite_writes import failure

__all__ = ["SQLiteSends"]

_T = TypeVar("_T")


def _mark(n: int) -> str:
    """SQLite's ``n``-th placeholder, numbered (``?1``): a statement may use one twice."""
    return f"?{n}"


def _many(column: str, placeholder: str, values: list[str]) -> tuple[str, Any]:
    # One parameter, however many values: no limit on bound parameters, one statement.
    return f"{column} IN (SELECT value FROM json_each({placeholder}))", dump_json(values)


SQL = SendStatements(_mark, _many)


def _finish(batch: list[Queued], db: sqlite3.Connection) -> Results:
    """A batch of finishes inside its transaction: whether each moved its send on, or why it
    failed (a failing statement undoes only itself, unless SQLite gave up the transaction)."""
    results: Results = []
    for item in batch:
        try:
            results.append(bool(db.execute(item.sql, item.params).fetchall()))
        except sqlite3.Error as exc:
            if not db.in_transaction:
                raise
            results.append(failure("finishing a send failed", exc))
    return results


class SQLiteSends(QueuedFinishes):
    """The Sends half of SQLiteStore, over the store's ``_write_now`` (a transaction on the
    write connection) and ``_fetch`` (one read on the read connection).

    Finishes are group-committed (:mod:`.sends_queue`)."""

    _statements = SQL  # what QueuedFinishes.finish_send writes with

    async def _write_now(self, what: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        raise NotImplementedError  # the store's own replaces it

    async def _fetch(self, what: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError  # the store's own replaces it

    async def plan_sends(self, sends: Sequence[Send]) -> int:
        rows = [send_row(send) for send in sends]  # may raise StorageError: nothing planned

        def write(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(SQL.plan, rows)
            return db.total_changes - before  # rows a conflict skipped change nothing

        return await self._write_now("planning sends", write)

    async def decided(self, campaign: str, run: str, members: Collection[str]) -> set[str]:
        need_run(campaign, run)
        sql, params = SQL.decided(campaign, run, list(members))
        rows = await self._fetch("reading which members were decided about", sql, params)
        return {row[0] for row in rows}

    async def known_sessions(self, keys: Collection[str]) -> set[str]:
        sql, params = SQL.known_sessions(list(keys))
        rows = await self._fetch("reading which sessions there are", sql, params)
        return {row[0] for row in rows}

    async def claim_sends(self, worker: str, at: float, *, lease: float, limit: int) -> list[Send]:
        need(worker, "a worker")
        at = need_time(at, "the time")
        params = (worker, at + need_lease(lease), at, need_limit(limit))

        def write(db: sqlite3.Connection) -> list[Any]:
            return db.execute(SQL.claim, params).fetchall()  # all: then COMMIT may run

        rows = await self._write_now("claiming sends", write)
        return sorted(to_sends(rows), key=lambda send: (send.due, send.key))

    async def _write_finishes(self, batch: list[Queued]) -> Results:
        return await self._write_now("finishing sends", partial(_finish, batch))

    async def sends(
        self,
        *,
        campaign: str | None = None,
        member: str | None = None,
        statuses: Collection[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Send]:
        check_filters(campaign, member, statuses, since, until)
        sql, params = SQL.sends(
            campaign=campaign, member=member, statuses=statuses, since=since, until=until
        )
        return to_sends(await self._fetch("reading sends", sql, params))

    async def send_by_key(self, key: str) -> Send | None:
        need(key, "a send's key")
        rows = await self._fetch("reading a send", SQL.by_key, (key,))
        return to_sends(rows)[0] if rows else None

    async def cursor(self, name: str) -> float | None:
        need(name, "a cursor's name")
        rows = await self._fetch("reading a planner's cursor", SQL.cursor, (name,))
        return float(rows[0][0]) if rows else None

    async def take_turn(self, name: str, at: float, until: float) -> bool:
        need(name, "a turn's name")
        params = (name, need_time(until, "the turn's end"), need_time(at, "the time"))

        def take(db: sqlite3.Connection) -> bool:
            return bool(db.execute(SQL.take_turn, params).fetchall())

        return await self._write_now("taking the planner's turn", take)

    async def set_cursor(self, name: str, at: float) -> None:
        need(name, "a cursor's name")
        params = (name, need_time(at, "the cursor's instant"))

        def write(db: sqlite3.Connection) -> None:
            db.execute(SQL.set_cursor, params)

        await self._write_now("moving a planner's cursor", write)
