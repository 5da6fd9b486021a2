"""The SQLite store's audience (:class:`~botkit.audience.Audience`), mixed into
:class:`~botkit.storage.SQLiteStore`: customers, links, consent, the audience log and one-time
codes in the tables of migration 6 (:mod:`.sqlite_schema`).

Every write is one transaction of its own on the write connection (``BEGIN IMMEDIATE``: SQLite
takes the write lock first, so a read-then-write like a link or a take of a code cannot
interleave with another); reads go through the read connection, each one statement, so each
sees one snapshot. Segments are compiled to one query (:mod:`botkit.storage.segments_sql`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botkit.audience.model import AudienceEntry, ConsentChange, Customer
from botkit.errors import StorageError
from botkit.storage.audience_rows import (
    CONSENT_COLUMN,
    CONSENTED,
    KEPT_TWICE,
    LINKED,
    UNLINKED,
    Statements,
    changed_profiles,
    consent_dict,
    consent_fields,
    consent_update,
    log_query,
    log_row,
    merged,
    need,
    need_time,
    profile_of,
    profile_text,
    to_consent,
    to_customer,
    to_entries,
)

if TYPE_CHECKING:
    from botkit.segments.model import Segment

__all__ = ["SQLiteAudience"]

_T = TypeVar("_T")

CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters


def _mark(n: int) -> str:
    """SQLite's ``n``-th placeholder, numbered (``?1``): a statement may use one twice."""
    return f"?{n}"


SQL = Statements(_mark)


class SQLiteAudience:
    """The Audience half of SQLiteStore, over the store's ``_write_now`` (a transaction on the
    write connection) and ``_fetch`` (one read on the read connection)."""

    async def _write_now(self, what: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        raise NotImplementedError  # the store's own replaces it

    async def _fetch(self, what: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError  # the store's own replaces it

    # --- profiles ------------------------------------------------------------------------------

    async def put_profile(
        self, customer: str, profile: Mapping[str, Any], at: float, *, merge: bool
    ) -> dict[str, Any]:
        need(customer, "a customer id")
        need_time(at, "the time")
        text = None if merge else profile_text(profile)

        def write(db: sqlite3.Connection) -> str:
            new = text
            if new is None:
                row = db.execute(SQL.profile, (customer,)).fetchone()
                new = profile_text(merged(profile_of(row[0]) if row else {}, profile))
            db.execute(SQL.upsert_customer, (customer, new, at))
            return new

        return profile_of(await self._write_now("storing a profile", write))

    async def put_profiles(self, rows: Sequence[tuple[str, Mapping[str, Any]]], at: float) -> int:
        need_time(at, "the time")
        texts = [(need(customer, "a customer id"), profile_text(p)) for customer, p in rows]

        def write(db: sqlite3.Connection) -> int:
            ids = list(dict.fromkeys(customer for customer, _ in texts))
            stored: dict[str, str] = {}
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                marks = ", ".join("?" * len(chunk))
                found = db.execute(
                    f"SELECT id, profile FROM customers WHERE id IN ({marks})", chunk
                )
                stored.update(found.fetchall())
            changed = changed_profiles(texts, stored)
            db.executemany(SQL.upsert_customer, [(c, t, at) for c, t in changed.items()])
            return len(changed)

        return await self._write_now("importing profiles", write)

    async def customer(self, customer: str) -> Customer | None:
        need(customer, "a customer id")
        rows = await self._fetch("reading a customer", SQL.customer, (customer,))
        return to_customer(customer, rows)

    # --- links ---------------------------------------------------------------------------------

    async def link(self, user: str, customer: str, at: float, source: str) -> bool:
        need(user, "a user")
        need(customer, "a customer id")
        need(source, "a link's source")
        need_time(at, "the time")

        def write(db: sqlite3.Connection) -> bool:
            row = db.execute(SQL.customer_of, (user,)).fetchone()
            if row is not None and row[0] == customer:
                return False
            log = [] if row is None else [log_row(at, UNLINKED, row[0], user, source)]
            log.append(log_row(at, LINKED, customer, user, source))
            db.execute(SQL.add_customer, (customer, at))
            db.execute(SQL.upsert_identity, (user, customer, at, source))
            db.executemany(SQL.insert_log, log)
            return True

        return await self._write_now("linking a user", write)

    async def unlink(
        self, user: str, at: float, source: str, *, linked_by: str | None = None
    ) -> bool:
        need(user, "a user")
        need(source, "an unlink's source")
        need_time(at, "the time")

        def write(db: sqlite3.Connection) -> bool:
            rows = db.execute(SQL.unlink, (user, linked_by)).fetchall()
            if not rows:
                return False
            db.execute(SQL.insert_log, log_row(at, UNLINKED, rows[0][0], user, source))
            return True

        return await self._write_now("unlinking a user", write)

    async def customer_of(self, user: str) -> str | None:
        need(user, "a user")
        rows = await self._fetch("reading a link", SQL.customer_of, (user,))
        return None if not rows else str(rows[0][0])

    async def links(self) -> dict[str, str]:
        return dict(await self._fetch("reading the links", SQL.links))

    # --- consent -------------------------------------------------------------------------------

    async def consenting(self, which: Literal["marketing", "night"]) -> set[str]:
        column = CONSENT_COLUMN[which]  # a column name, never the caller's text
        rows = await self._fetch(
            "reading who consents", f"SELECT member FROM consents WHERE {column} = 1"
        )
        return {str(row[0]) for row in rows}

    async def consent(self, member: str) -> Mapping[str, Any]:
        need(member, "a member")
        rows = await self._fetch("reading a consent", SQL.consent, (member,))
        return consent_dict(to_consent(rows[0] if rows else None))

    async def change_consent(self, member: str, change: ConsentChange) -> bool:
        need(member, "a member")
        if not consent_fields(change):
            return False

        def write(db: sqlite3.Connection) -> bool:
            # read in the write's own transaction: the stored consent cannot change meanwhile
            stored = to_consent(db.execute(SQL.consent, (member,)).fetchone())
            columns, changed = consent_update(change, stored)
            if not changed:
                return False
            db.execute(*SQL.upsert_consent(member, columns))
            entry = log_row(change.at, CONSENTED, member, None, change.source, changed)
            db.execute(SQL.insert_log, entry)
            return True

        return await self._write_now("changing a consent", write)

    async def audience_log(
        self,
        *,
        member: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[AudienceEntry]:
        if member is not None:
            need(member, "a member")
        sql, params = log_query(_mark, member=member, since=since, until=until)
        return to_entries(await self._fetch("reading the audience log", sql, params))

    # --- one-time codes and nonces -------------------------------------------------------------

    async def put_code(self, code: str, user: str, expires_at: float) -> None:
        need(code, "a link code")
        need(user, "a user")
        need_time(expires_at, "the expiry time")

        def write(db: sqlite3.Connection) -> bool:
            return bool(db.execute(SQL.put_code, (code, user, expires_at)).fetchall())

        if not await self._write_now("keeping a link code", write):
            raise StorageError(KEPT_TWICE)

    async def take_code(self, code: str, at: float) -> str | None:
        need(code, "a link code")
        need_time(at, "the time")

        def write(db: sqlite3.Connection) -> str | None:
            rows = db.execute(SQL.take_code, (code, at)).fetchall()  # all: then COMMIT may run
            return None if not rows else str(rows[0][0])

        return await self._write_now("taking a link code", write)

    async def first_use(self, nonce: str, expires_at: float, at: float) -> bool:
        need(nonce, "a nonce")
        need_time(expires_at, "the expiry time")
        need_time(at, "the time")

        def write(db: sqlite3.Connection) -> bool:
            db.execute(SQL.forget, (at,))
            return bool(db.execute(SQL.add_nonce, (nonce, expires_at, at)).fetchall())

        return await self._write_now("checking a nonce", write)

    # --- segments ------------------------------------------------------------------------------

    async def segment_members(self, segment: Segment, at: float) -> list[str]:
        from botkit.storage.segments_sql import compile_segment  # written beside this module

        need_time(at, "the instant")
        sql, params = compile_segment(segment, at, dialect="sqlite")
        rows = await self._fetch("listing a segment's members", sql, params)
        return [str(row[0]) for row in rows]  # distinct and sorted by the query
