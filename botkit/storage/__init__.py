"""Storage: where sessions and records live.

``open_store(url)`` picks a backend from a URL; every backend implements :class:`Store` and
raises only :class:`StorageError` / :class:`ConflictError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botkit.errors import ConflictError, StorageError
from botkit.masking import hide_passwords
from botkit.storage.base import Broadcast, SharedStore, Store
from botkit.storage.memory import MemoryStore
from botkit.storage.sqlite import SQLiteStore

if TYPE_CHECKING:
    from botkit.storage.postgres import PostgresStore

__all__ = [
    "Broadcast",
    "ConflictError",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "SharedStore",
    "StorageError",
    "Store",
    "open_store",
]

SCHEMES = (
    "memory://",
    "sqlite:///relative/path.db",
    "sqlite:////absolute/path.db",
    "sqlite://:memory:",
    "postgresql://user@host:5432/db?schema=botkit",
)


def open_store(url: str, *, create: bool = True) -> Store:
    """The store a URL names, not yet opened (``await store.open()`` before use).

    ``create=False`` is for commands that only read (``botkit report``): opening then refuses
    a SQLite file or a PostgreSQL schema that is not already a botkit store, instead of
    creating an empty one that a typo in the URL would then report on.
    """
    if url == "memory://":
        return MemoryStore()
    if url in ("sqlite://:memory:", "sqlite:///:memory:"):
        return SQLiteStore(":memory:")
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///") :], create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from botkit.storage.postgres import PostgresStore

        return PostgresStore(url, create=create)
    shown = hide_passwords(url)  # the message is printed: never with a password in it
    raise ValueError(f"unsupported store URL {shown!r}; supported: {', '.join(SCHEMES)}")


def __getattr__(name: str) -> Any:
    # asyncpg takes ~60 ms to import; only processes that use PostgreSQL pay for it.
    if name == "PostgresStore":
        from botkit.storage.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
