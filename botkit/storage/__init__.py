"""Storage: where sessions and records live.

``open_store(url)`` picks a backend from a URL; every backend implements :class:`Store` and
raises only :class:`StorageError` / :class:`ConflictError`.
"""

from __future__ import annotations

from botkit.storage.base import ConflictError, StorageError, Store
from botkit.storage.memory import MemoryStore
from botkit.storage.sqlite import SQLiteStore

__all__ = ["ConflictError", "MemoryStore", "SQLiteStore", "StorageError", "Store", "open_store"]

SCHEMES = (
    "memory://",
    "sqlite:///relative/path.db",
    "sqlite:////absolute/path.db",
    "sqlite://:memory:",
)


def open_store(url: str) -> Store:
    """The store a URL names, not yet opened (``await store.open()`` before use)."""
    if url == "memory://":
        return MemoryStore()
    if url in ("sqlite://:memory:", "sqlite:///:memory:"):
        return SQLiteStore(":memory:")
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///") :])
    raise ValueError(f"unsupported store URL {url!r}; supported: {', '.join(SCHEMES)}")
