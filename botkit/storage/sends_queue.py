"""Finishes of campaign sends written together: what queues while a batch is written becomes
the next batch, one transaction each, so a sender that finishes a claim of a hundred sends at
once pays for one commit (one fsync), not a hundred. Both SQL stores finish through it.

No timer and no task left behind: the first finish queued starts a task that writes batches
while there are any, then ends. Each caller is answered only once its batch is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from botkit.errors import StorageError
from botkit.storage.audience_rows import need
from botkit.storage.sends_rows import SendStatements, finish_of

__all__ = ["FinishQueue", "Queued", "QueuedFinishes", "Results"]


class Queued:
    """One queued ``finish_send``: its conditional UPDATE, and the caller's future."""

    __slots__ = ("future", "key", "params", "sql")

    def __init__(self, key: str, sql: str, params: list[Any]) -> None:
        self.key = key
        self.sql = sql
        self.params = params
        self.future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()


# What writing a batch gives back, item by item: whether its UPDATE moved the send on, or why
# it failed. Writing may raise StorageError instead: then every item of the batch fails.
Results = list[bool | StorageError]


class FinishQueue:
    """Batches of :class:`Queued` finishes, each handed to ``write`` (one transaction)."""

    def __init__(self, write: Callable[[list[Queued]], Awaitable[Results]]) -> None:
        self._write = write
        self._queue: list[Queued] = []
        self._task: asyncio.Task[None] | None = None

    async def finish(self, key: str, sql: str, params: list[Any]) -> bool:
        item = Queued(key, sql, params)
        self._queue.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="botkit-finishes")
        return await item.future

    async def _run(self) -> None:
        batch: list[Queued] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                batch = [item for item in batch if not item.future.cancelled()]
                try:
                    results = await self._write(batch)
                except StorageError as exc:
                    results = [_failure(exc) for _ in batch]
                for item, result in zip(batch, results, strict=True):
                    if item.future.done():  # the caller gave up meanwhile; the write stands
                        continue
                    if isinstance(result, bool):
                        item.future.set_result(result)
                    else:
                        item.future.set_exception(result)
                batch = []
        finally:  # cancelled (the event loop is shutting down): nobody may wait forever
            for item in (*batch, *self._queue):
                if not item.future.done():
                    item.future.set_exception(StorageError("the store stopped"))
            self._queue = []


def _failure(exc: StorageError) -> StorageError:
    """A new StorageError per caller (one exception object must not be raised in two tasks)."""
    out = StorageError(str(exc))
    out.__cause__ = exc.__cause__
    return out


class QueuedFinishes:
    """``finish_send`` for the SQL stores: each finish goes through the store's queue, which
    writes those that arrive together in one transaction (``_write_finishes``)."""

    _finishes: FinishQueue | None = None  # made on the first finish (the store has no hook)
    _statements: SendStatements  # the store's dialect of the statements

    async def _write_finishes(self, batch: list[Queued]) -> Results:
        raise NotImplementedError  # the store's own replaces it

    async def finish_send(
        self,
        key: str,
        status: str,
        at: float,
        *,
        worker: str | None = None,
        reason: str | None = None,
        provider_id: str | None = None,
        cost: float = 0.0,
        next_try: float | None = None,
    ) -> bool:
        need(key, "a send's key")
        change = finish_of(
            status, at, worker=worker, reason=reason, provider_id=provider_id, cost=cost,
            next_try=next_try,
        )  # fmt: skip
        if self._finishes is None:
            self._finishes = FinishQueue(self._write_finishes)
        return await self._finishes.finish(key, *self._statements.finish(key, worker, change))
