"""The PostgreSQL store's campaign sends (:class:`~botkit.campaigns.port.Sends`), mixed into
:class:`~botkit.storage.postgres.PostgresStore`: the ``campaign_sends`` and ``campaign_cursors``
tables of migration 4 (:mod:`.postgres_schema`).

Several workers plan and claim at once:

* **A claim is one statement.** ``UPDATE … WHERE key IN (SELECT … LIMIT n FOR UPDATE SKIP
  LOCKED) RETURNING …``: the inner SELECT locks the sends it picks and passes over those
  another claim has locked, and a send another claim took meanwhile no longer matches once it
  is locked (PostgreSQL checks the row again), so two workers never hold the same send, and
  neither waits for the other. It walks the index of open sends in claim order, whatever the
  table's statistics say (:data:`_WALK_THE_INDEX`).
* **A plan is one transaction**, its sends as one array per column (one statement per
  :data:`PLAN_CHUNK` sends), inserted in key order: two planners of overlapping sends then
  take the keys' locks in one order, so the second waits for the first's keys instead of the
  two deadlocking, and then leaves them as the first kept them.
* **A finish is one conditional UPDATE**, so a worker whose lease was taken cannot overwrite
  what the worker that took it did; the finishes queued at one moment run in one transaction
  (one commit for a claim's hundred sends, not a hundred).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, TypeVar

import asyncpg

from botkit.campaigns.port import Send
from botkit.storage.audience_rows import need, need_time
from botkit.storage.sends_queue import Queued, QueuedFinishes, Results
from botkit.storage.sends_rows import (
    SEND_COLUMNS,
    SEND_FIELDS,
    SendStatements,
    check_filters,
    need_lease,
    need_limit,
    need_run,
    send_row,
    to_sends,
)

__all__ = ["PLAN_CHUNK", "PostgresSends"]

_T = TypeVar("_T")

PLAN_CHUNK = 10_000  # sends per INSERT: a statement well within the command timeout


def _mark(n: int) -> str:
    return f"${n}"


def _many(column: str, placeholder: str, values: list[str]) -> tuple[str, Any]:
    return f"{column} = ANY({placeholder}::text[])", values


SQL = SendStatements(_mark, _many, lock="FOR UPDATE SKIP LOCKED")

# Each column's type, in Send's field order, for its array in a plan.
_TYPES = {
    "planned_at": "float8",
    "due": "float8",
    "expires": "float8",
    "attempts": "bigint",
    "next_try": "float8",
    "lease_until": "float8",
    "sent_at": "float8",
    "delivered_at": "float8",
    "cost": "float8",
}
_ARRAYS = ", ".join(
    f"${n}::{_TYPES.get(name, 'text')}[]" for n, name in enumerate(SEND_FIELDS, start=1)
)
# The count of sends that were new. WITH ORDINALITY … ORDER BY: inserted in the order given.
_PLAN = f"""
WITH added AS (
    INSERT INTO campaign_sends ({SEND_COLUMNS})
    SELECT {SEND_COLUMNS} FROM unnest({_ARRAYS}) WITH ORDINALITY AS t ({SEND_COLUMNS}, n)
    ORDER BY n
    ON CONFLICT (key) DO NOTHING RETURNING 1
) SELECT count(*) FROM added
"""

# A claim walks the open sends' index in claim order and stops at its limit. Right after a
# large plan, before autovacuum has analyzed the table, PostgreSQL thinks it small and plans
# to read every due send and sort them instead: 100,000 read and sorted for each claim of a
# hundred. Sorting switched off for the claim's transaction leaves it the index's order.
_WALK_THE_INDEX = "SET LOCAL enable_sort = off"


class PostgresSends(QueuedFinishes):
    """The Sends half of PostgresStore, over the store's ``_use`` (work on the pool, its
    failures as StorageError) and ``_query`` (one statement). Finishes are group-committed
    (:mod:`.sends_queue`)."""

    _statements = SQL  # what QueuedFinishes.finish_send writes with

    async def _use(self, what: str, work: Callable[[asyncpg.Pool], Awaitable[_T]]) -> _T:
        raise NotImplementedError  # the store's own replaces it

    async def _query(self, what: str, method: str, sql: str, *args: Any) -> Any:
        raise NotImplementedError  # the store's own replaces it

    async def plan_sends(self, sends: Sequence[Send]) -> int:
        # in key order (see the docstring); a key given twice: the first kept, as anywhere else
        rows = sorted((send_row(send) for send in sends), key=lambda row: str(row[0]))
        if not rows:
            await self._query("planning sends", "execute", "SELECT 1")  # open or not
            return 0

        async def write(pool: asyncpg.Pool) -> int:
            new = 0
            async with pool.acquire() as conn, conn.transaction():
                for start in range(0, len(rows), PLAN_CHUNK):
                    chunk = rows[start : start + PLAN_CHUNK]
                    columns = [list(column) for column in zip(*chunk, strict=True)]
                    new += int(await conn.fetchval(_PLAN, *columns))
            return new

        return await self._use("planning sends", write)

    async def decided(self, campaign: str, run: str, members: Collection[str]) -> set[str]:
        need_run(campaign, run)
        sql, params = SQL.decided(campaign, run, list(members))
        rows = await self._query("reading which members were decided about", "fetch", sql, *params)
        return {row[0] for row in rows}

    async def known_sessions(self, keys: Collection[str]) -> set[str]:
        sql, params = SQL.known_sessions(list(keys))
        rows = await self._query("reading which sessions there are", "fetch", sql, *params)
        return {row[0] for row in rows}

    async def claim_sends(self, worker: str, at: float, *, lease: float, limit: int) -> list[Send]:
        need(worker, "a worker")
        at = need_time(at, "the time")
        params = (worker, at + need_lease(lease), at, need_limit(limit))

        async def claim(pool: asyncpg.Pool) -> list[Any]:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(_WALK_THE_INDEX)
                return list(await conn.fetch(SQL.claim, *params))

        rows = await self._use("claiming sends", claim)
        return sorted(to_sends(rows), key=lambda send: (send.due, send.key))

    async def _write_finishes(self, batch: list[Queued]) -> Results:
        """A batch of finishes in one transaction, in key order: two workers' batches that
        share a send (a delivery report and a retry) lock it in one order, never deadlock."""
        order = sorted(range(len(batch)), key=lambda i: batch[i].key)

        async def write(pool: asyncpg.Pool) -> Results:
            results: Results = [False] * len(batch)
            async with pool.acquire() as conn, conn.transaction():
                for i in order:
                    item = batch[i]
                    results[i] = await conn.fetchval(item.sql, *item.params) is not None
            return results

        return await self._use("finishing sends", write)

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
        return to_sends(await self._query("reading sends", "fetch", sql, *params))

    async def send_by_key(self, key: str) -> Send | None:
        need(key, "a send's key")
        rows = await self._query("reading a send", "fetch", SQL.by_key, key)
        return to_sends(rows)[0] if rows else None

    async def cursor(self, name: str) -> float | None:
        need(name, "a cursor's name")
        at = await self._query("reading a planner's cursor", "fetchval", SQL.cursor, name)
        return None if at is None else float(at)

    async def take_turn(self, name: str, at: float, until: float) -> bool:
        need(name, "a turn's name")
        until, at = need_time(until, "the turn's end"), need_time(at, "the time")
        taken = await self._query(
            "taking the planner's turn", "fetchval", SQL.take_turn, name, until, at
        )
        return taken is not None

    async def set_cursor(self, name: str, at: float) -> None:
        need(name, "a cursor's name")
        at = need_time(at, "the cursor's instant")
        await self._query("moving a planner's cursor", "execute", SQL.set_cursor, name, at)
