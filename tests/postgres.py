"""The PostgreSQL server the tests may use: its URL, the marks, and a schema per test.

``BOTKIT_TEST_POSTGRES_URL`` names the server (``.ci/run`` sets it to the machine's local one);
without it every PostgreSQL test is skipped and says why. Each test gets a schema of its own,
dropped afterwards, so tests never see each other's sessions and counts start at zero.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

POSTGRES_URL = os.environ.get("BOTKIT_TEST_POSTGRES_URL", "")
POSTGRES_MARKS = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="BOTKIT_TEST_POSTGRES_URL is not set"),
]


def postgres_url(schema: str, **options: str | int) -> str:
    """The test server's URL with botkit's ``schema`` (and other options) set."""
    parts = urlsplit(POSTGRES_URL)
    query = [*parse_qsl(parts.query), ("schema", schema)]
    query += [(name, str(value)) for name, value in options.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


T = TypeVar("T")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on an event loop of its own thread: usable where a loop
    already runs in this one (Playwright's sync API, a fixture torn down inside a test's loop)."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def new_schema() -> str:
    return f"botkit_test_{uuid.uuid4().hex[:12]}"


async def drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
