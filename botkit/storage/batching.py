"""Batching: what callers submit while a batch runs becomes the next batch.

The SQLite store group-commits its writes and batches its loads this way: no timer, no
waiting for company; a batch is whatever queued up during the previous one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from botkit.errors import StorageError

__all__ = ["Batcher"]

log = logging.getLogger("botkit.storage.sqlite")


class Pending(Protocol):
    @property
    def future(self) -> asyncio.Future[Any]: ...


_P = TypeVar("_P", bound=Pending)


class Batcher(Generic[_P]):
    """Items submitted while a batch runs become the next batch, handed to ``run`` at once.

    ``run`` must answer every item's future and never raise. An item whose caller gave up
    (cancelled) before its batch started is dropped.
    """

    def __init__(self, name: str, run: Callable[[list[_P]], Awaitable[None]]) -> None:
        self._run = run
        self._queue: list[_P] = []
        self._wake = asyncio.Event()
        self._closing = False
        self.batches = 0
        self.items = 0
        self._task = asyncio.create_task(self._loop(), name=name)

    @property
    def accepting(self) -> bool:
        return not self._closing and not self._task.done()

    def submit(self, item: _P) -> None:
        self._queue.append(item)
        self._wake.set()

    async def stop(self) -> None:
        """Answer everything submitted so far, then end."""
        self._closing = True
        self._wake.set()
        try:
            # shielded: a caller of close() that is cancelled must not cancel a batch midway
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # close() itself was cancelled
        except Exception:
            log.exception("%s had failed", self._task.get_name())

    async def _loop(self) -> None:
        batch: list[_P] = []
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
                if batch:
                    await self._run(batch)
                    self.batches += 1
                    self.items += len(batch)
                batch = []
        except BaseException as exc:
            # Cancelled (the event loop is shutting down) or a bug: nobody may wait forever.
            for item in (*batch, *self._queue):
                if not item.future.done():
                    item.future.set_exception(StorageError(f"the store stopped: {exc!r}"))
            self._queue = []
            raise
