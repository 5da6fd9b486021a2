"""In-process locks per session key: one turn of a user at a time inside one process."""

from __future__ import annotations

import asyncio

__all__ = ["KeyLocks"]


class KeyLocks:
    """asyncio locks per session key, dropped when unused (so the table never grows with the
    number of users)."""

    def __init__(self) -> None:
        self._locks: dict[str, _KeyLock] = {}

    def hold(self, key: str) -> _KeyLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = _KeyLock(self._locks, key)
        return lock

    def __len__(self) -> int:
        return len(self._locks)


class _KeyLock:
    """One key's lock; it removes itself from the table when its last user leaves.

    A plain class rather than ``@asynccontextmanager``: every turn enters one, and the
    generator-based manager costs more than the lock itself.
    """

    __slots__ = ("_key", "_lock", "_table", "_users")

    def __init__(self, table: dict[str, _KeyLock], key: str) -> None:
        self._table = table
        self._key = key
        self._lock = asyncio.Lock()
        self._users = 0

    async def __aenter__(self) -> None:
        self._users += 1
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while waiting
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        self._users -= 1
        if self._users == 0:
            del self._table[self._key]
