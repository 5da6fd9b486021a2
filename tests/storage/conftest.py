"""The backends the contract suite runs against.

Add a backend by adding a param to ``BACKENDS`` and a branch to ``backend``: ``make()`` must
return a NEW, unopened store over the SAME underlying data each time it is called (so tests can
close and reopen), and every test must start from an empty store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from botkit.storage import MemoryStore, SQLiteStore, Store
from botkit.storage.postgres import PostgresStore
from tests.postgres import POSTGRES_MARKS, postgres_url


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[], Store]  # a new, unopened store over the same data on every call
    persistent: bool  # whether a store from a second make() sees what the first one wrote


BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("sqlite-memory", id="sqlite-memory"),  # one connection for reads and writes
    pytest.param(
        "postgres",
        id="postgres",
        marks=POSTGRES_MARKS,
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name: str = request.param
    if name == "memory":
        return Backend(name, MemoryStore, persistent=False)
    if name == "sqlite":
        path = str(tmp_path / "봇" / "botkit.db")  # a directory that does not exist yet
        return Backend(name, lambda: SQLiteStore(path), persistent=True)
    if name == "sqlite-memory":
        return Backend(name, lambda: SQLiteStore(":memory:"), persistent=False)
    if name == "postgres":
        url = postgres_url(request.getfixturevalue("postgres_schema"))
        return Backend(name, lambda: PostgresStore(url), persistent=True)
    raise AssertionError(name)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.make()
    await opened.open()
    yield opened
    await opened.close()
