"""The backends the contract suite runs against.

Add a backend by adding a param to ``BACKENDS`` and a branch to ``backend``: ``make()`` must
return a NEW, unopened store over the SAME underlying data each time it is called (so tests can
close and reopen), and every test must start from an empty store.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from botkit.storage import MemoryStore, SQLiteStore, Store

POSTGRES_URL = os.environ.get("BOTKIT_TEST_POSTGRES_URL", "")


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
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="BOTKIT_TEST_POSTGRES_URL is not set"),
        ],
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
        # Arrives with the PostgreSQL issue; it must give each test an empty database
        # (e.g. a fresh schema per test) so the contract's counts hold.
        pytest.skip("the PostgreSQL store is not implemented yet")
    raise AssertionError(name)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.make()
    await opened.open()
    yield opened
    await opened.close()
