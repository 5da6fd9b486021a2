"""What the SQLite store runs on its write connection's thread: a batch of queued commits in
ONE transaction (group commit), and any other write in a transaction of its own.

Inside the batch's transaction each commit stands alone: a version conflict fails that commit
only (versions are checked under the write lock, in batch order, so two commits of one session
in one batch chain correctly), and when a statement fails (say, a duplicate ``(session, seq)``)
the batch is redone one commit per SAVEPOINT, so only the commit at fault fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from botkit.errors import ConflictError, StorageError
from botkit.storage.sql import RECORD_COLUMNS

__all__ = ["CHUNK", "Commit", "failure", "in_transaction", "write_batch"]

_T = TypeVar("_T")

CHUNK = 500  # keys per IN (...) list, well under SQLite's limit on bound parameters

_INSERT_RECORD = f"INSERT INTO records ({RECORD_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_UPSERT_SESSION = (
    "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET"
    " version = excluded.version, data = excluded.data, updated_at = excluded.updated_at"
)
_INSERT_SESSION = (
    "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (key) DO NOTHING"
)
_UPDATE_SESSION = (
    "UPDATE sessions SET version = ?, data = ?, updated_at = ? WHERE key = ? AND version = ?"
)


class Commit:
    """One queued ``commit``: everything encoded up front, and the caller's future."""

    __slots__ = ("data", "expected", "future", "key", "rows", "updated_at", "version")

    def __init__(self, key: str, expected: int, data: str, rows: list[tuple[Any, ...]]) -> None:
        self.key = key
        self.expected = expected
        self.version = expected + 1
        self.data = data
        self.rows = rows
        self.updated_at = time.time()
        self.future: asyncio.Future[int] = asyncio.get_running_loop().create_future()


def write_batch(db: sqlite3.Connection, batch: list[Commit]) -> list[int | StorageError]:
    """One transaction for the batch. Never raises: a failure is a result per commit."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            results = _write_together(db, batch)
        except sqlite3.Error:
            # Some statement failed: start over, one SAVEPOINT per commit, so that only the
            # commit at fault fails. Nothing of this transaction had been committed.
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.execute("BEGIN IMMEDIATE")
            results = []
            for item in batch:
                results.append(_write_one(db, item))
                if not db.in_transaction:  # SQLite rolled everything back (I/O error…)
                    raise StorageError("SQLite aborted the transaction") from None
        db.execute("COMMIT")
    except Exception as exc:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        return [failure("the batch transaction failed", exc) for _ in batch]
    return results


def _write_together(db: sqlite3.Connection, batch: list[Commit]) -> list[int | StorageError]:
    """The common case in three statements: check every version (we hold the write lock, so
    nobody can change them), upsert the sessions that passed, append all their records."""
    keys = list(dict.fromkeys(item.key for item in batch))
    versions: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        found = db.execute(
            f"SELECT key, version FROM sessions WHERE key IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        versions.update(found.fetchall())
    results: list[int | StorageError] = []
    sessions: list[tuple[str, int, str, float]] = []
    rows: list[tuple[Any, ...]] = []
    for item in batch:
        actual = versions.get(item.key, 0)
        if actual != item.expected:
            results.append(ConflictError(item.key, item.expected, actual))
            continue
        versions[item.key] = item.version  # a later commit of this session in the batch
        sessions.append((item.key, item.version, item.data, item.updated_at))
        rows.extend(item.rows)
        results.append(item.version)
    db.executemany(_UPSERT_SESSION, sessions)
    db.executemany(_INSERT_RECORD, rows)
    return results


def _write_one(db: sqlite3.Connection, item: Commit) -> int | StorageError:
    """One commit inside its own SAVEPOINT: it either all happens or none of it does."""
    db.execute("SAVEPOINT item")
    try:
        if item.expected == 0:
            written = db.execute(
                _INSERT_SESSION, (item.key, item.version, item.data, item.updated_at)
            ).rowcount
        else:
            written = db.execute(
                _UPDATE_SESSION,
                (item.version, item.data, item.updated_at, item.key, item.expected),
            ).rowcount
        if written != 1:
            row = db.execute("SELECT version FROM sessions WHERE key = ?", (item.key,)).fetchone()
            raise ConflictError(item.key, item.expected, row[0] if row else 0)
        if item.rows:
            db.executemany(_INSERT_RECORD, item.rows)
    except (sqlite3.Error, ConflictError) as exc:
        if db.in_transaction:
            db.execute("ROLLBACK TO item")
            db.execute("RELEASE item")
        if isinstance(exc, ConflictError):
            return exc
        return failure(f"commit of session {item.key!r} failed", exc)
    db.execute("RELEASE item")
    return item.version


def in_transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """``work(db)`` inside BEGIN IMMEDIATE … COMMIT: all of it, or (it raised) none of it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        out = work(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return out


def failure(what: str, exc: BaseException) -> StorageError:
    """A new StorageError per caller (one exception object must not be raised in two tasks)."""
    out = StorageError(f"{what}: {exc}")
    out.__cause__ = exc
    return out
