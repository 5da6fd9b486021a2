"""The PostgreSQL store's audience (:class:`~botkit.audience.Audience`), mixed into
:class:`~botkit.storage.postgres.PostgresStore`: customers, links, consent, the audience log and
one-time codes in the tables of migration 3 (:mod:`.postgres_schema`).

Several workers write at once, so each read-then-write holds what it read:

* a link or an unlink takes a transaction-level advisory lock on its user first (two links
  of one user take turns, and each logs the unlink of the customer the other linked); the
  lock has two keys, a space apart from the sessions' one-key locks;
* a PATCH inserts the customer if new, then locks its row (``FOR UPDATE``) before merging;
* a take of a link code is one ``UPDATE … RETURNING``: of two takes, the second waits for the
  first and then finds the code used.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import asyncpg

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
    from asyncpg.pool import PoolConnectionProxy

    from botkit.segments.model import Segment

    _Conn = PoolConnectionProxy[asyncpg.Record]  # a connection taken from the pool

__all__ = ["PostgresAudience"]

_T = TypeVar("_T")


def _mark(n: int) -> str:
    return f"${n}"


SQL = Statements(_mark)

# Forgetting is housekeeping: rows another check is forgetting right now are left to it
# (SKIP LOCKED), so two checks at once never wait for, or deadlock on, each other.
_FORGET = (
    "DELETE FROM one_time WHERE code IN"
    " (SELECT code FROM one_time WHERE expires_at < $1 FOR UPDATE SKIP LOCKED)"
)

_IDENTITY_LOCKS = 0x6964  # the first key of a user's identity lock ("id")
_CONSENT_LOCKS = 0x636F  # the first key of a member's consent lock ("co")
_LOCK_USER = "SELECT pg_advisory_xact_lock($1::int4, $2::int4)"

# Two imports at once never deadlock: each first locks the stored rows it names, in one
# statement and one order (ORDER BY id), so one that shares any of them waits there for the
# other's commit; the rows new to both are then inserted in one order too (sorted in Python,
# by code point, which need not be the database's collation: it only has to be the same for
# both), so neither holds a row the other waits for while it waits itself.
_STORED_PROFILES = (
    "SELECT id, profile FROM customers WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"
)
_IMPORT_PROFILES = """
INSERT INTO customers (id, profile, updated_at)
SELECT id, profile, $3 FROM unnest($1::text[], $2::text[]) AS t (id, profile)
ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at
"""


class PostgresAudience:
    """The Audience half of PostgresStore, over the store's ``_use`` (work on the pool, its
    failures as StorageError) and ``_query`` (one statement)."""

    async def _use(self, what: str, work: Callable[[asyncpg.Pool], Awaitable[_T]]) -> _T:
        raise NotImplementedError  # the store's own replaces it

    async def _query(self, what: str, method: str, sql: str, *args: Any) -> Any:
        raise NotImplementedError  # the store's own replaces it

    async def _in_transaction(self, what: str, work: Callable[[_Conn], Awaitable[_T]]) -> _T:
        """``work(conn)`` in one transaction: all of it, or (it raised) none of it."""

        async def run(pool: asyncpg.Pool) -> _T:
            async with pool.acquire() as conn, conn.transaction():
                return await work(conn)

        return await self._use(what, run)

    # --- profiles ------------------------------------------------------------------------------

    async def put_profile(
        self, customer: str, profile: Mapping[str, Any], at: float, *, merge: bool
    ) -> dict[str, Any]:
        need(customer, "a customer id")
        need_time(at, "the time")
        if not merge:
            text = profile_text(profile)
            await self._query(
                "storing a profile", "execute", SQL.upsert_customer, customer, text, at
            )
            return profile_of(text)

        async def patch(conn: _Conn) -> str:
            await conn.execute(SQL.add_customer, customer, at)
            stored = await conn.fetchval(SQL.profile + " FOR UPDATE", customer)
            new = profile_text(merged(profile_of(stored), profile))
            await conn.execute(SQL.upsert_customer, customer, new, at)
            return new

        return profile_of(await self._in_transaction("storing a profile", patch))

    async def put_profiles(self, rows: Sequence[tuple[str, Mapping[str, Any]]], at: float) -> int:
        need_time(at, "the time")
        texts = [(need(customer, "a customer id"), profile_text(p)) for customer, p in rows]

        async def write(conn: _Conn) -> int:
            ids = list(dict.fromkeys(customer for customer, _ in texts))
            stored: dict[str, str] = dict(
                (r[0], r[1]) for r in await conn.fetch(_STORED_PROFILES, ids)
            )
            changed = changed_profiles(texts, stored)
            if changed:
                ids = sorted(changed)
                await conn.execute(_IMPORT_PROFILES, ids, [changed[c] for c in ids], at)
            return len(changed)

        return await self._in_transaction("importing profiles", write)

    async def customer(self, customer: str) -> Customer | None:
        need(customer, "a customer id")
        rows = await self._query("reading a customer", "fetch", SQL.customer, customer)
        return to_customer(customer, rows)

    # --- links ---------------------------------------------------------------------------------

    async def link(self, user: str, customer: str, at: float, source: str) -> bool:
        need(user, "a user")
        need(customer, "a customer id")
        need(source, "a link's source")
        need_time(at, "the time")

        async def write(conn: _Conn) -> bool:
            await conn.execute(_LOCK_USER, _IDENTITY_LOCKS, _user_key(user))
            old = await conn.fetchval(SQL.customer_of, user)
            if old == customer:
                return False
            log = [] if old is None else [log_row(at, UNLINKED, old, user, source)]
            log.append(log_row(at, LINKED, customer, user, source))
            await conn.execute(SQL.add_customer, customer, at)
            await conn.execute(SQL.upsert_identity, user, customer, at, source)
            await conn.executemany(SQL.insert_log, log)
            return True

        return await self._in_transaction("linking a user", write)

    async def unlink(
        self, user: str, at: float, source: str, *, linked_by: str | None = None
    ) -> bool:
        need(user, "a user")
        need(source, "an unlink's source")
        need_time(at, "the time")

        async def write(conn: _Conn) -> bool:
            await conn.execute(_LOCK_USER, _IDENTITY_LOCKS, _user_key(user))
            old = await conn.fetchval(SQL.unlink, user, linked_by)
            if old is None:
                return False
            await conn.execute(SQL.insert_log, *log_row(at, UNLINKED, old, user, source))
            return True

        return await self._in_transaction("unlinking a user", write)

    async def customer_of(self, user: str) -> str | None:
        need(user, "a user")
        found = await self._query("reading a link", "fetchval", SQL.customer_of, user)
        return None if found is None else str(found)

    async def links(self) -> dict[str, str]:
        rows = await self._query("reading the links", "fetch", SQL.links)
        return {row[0]: row[1] for row in rows}

    # --- consent -------------------------------------------------------------------------------

    async def consenting(self, which: Literal["marketing", "night"]) -> set[str]:
        column = CONSENT_COLUMN[which]  # a column name, never the caller's text
        sql = f"SELECT member FROM consents WHERE {column} IS TRUE"
        rows = await self._query("reading who consents", "fetch", sql)
        return {str(row[0]) for row in rows}

    async def consent(self, member: str) -> Mapping[str, Any]:
        need(member, "a member")
        row = await self._query("reading a consent", "fetchrow", SQL.consent, member)
        return consent_dict(to_consent(None if row is None else tuple(row)))

    async def change_consent(self, member: str, change: ConsentChange) -> bool:
        need(member, "a member")
        if not consent_fields(change):
            return False

        async def write(conn: _Conn) -> bool:
            # The member's lock, not a row lock: a member never asked has no row to lock, and
            # two changes at once must each see the other's to let the newer word win.
            await conn.execute(_LOCK_USER, _CONSENT_LOCKS, _user_key(member))
            row = await conn.fetchrow(SQL.consent, member)
            stored = to_consent(None if row is None else tuple(row))
            columns, changed = consent_update(change, stored)
            if not changed:
                return False
            sql, params = SQL.upsert_consent(member, columns)
            await conn.execute(sql, *params)
            entry = log_row(change.at, CONSENTED, member, None, change.source, changed)
            await conn.execute(SQL.insert_log, *entry)
            return True

        return await self._in_transaction("changing a consent", write)

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
        return to_entries(await self._query("reading the audience log", "fetch", sql, *params))

    # --- one-time codes and nonces -------------------------------------------------------------

    async def put_code(self, code: str, user: str, expires_at: float) -> None:
        need(code, "a link code")
        need(user, "a user")
        need_time(expires_at, "the expiry time")
        # ON CONFLICT, not the unique violation: PostgreSQL's message would show the code
        sql = SQL.put_code
        if (
            await self._query("keeping a link code", "fetchval", sql, code, user, expires_at)
            is None
        ):
            raise StorageError(KEPT_TWICE)

    async def take_code(self, code: str, at: float) -> str | None:
        need(code, "a link code")
        need_time(at, "the time")
        user = await self._query("taking a link code", "fetchval", SQL.take_code, code, at)
        return None if user is None else str(user)

    async def first_use(self, nonce: str, expires_at: float, at: float) -> bool:
        need(nonce, "a nonce")
        need_time(expires_at, "the expiry time")
        need_time(at, "the time")

        async def write(conn: _Conn) -> bool:
            await conn.execute(_FORGET, at)
            return await conn.fetchval(SQL.add_nonce, nonce, expires_at, at) is not None

        return await self._in_transaction("checking a nonce", write)

    # --- segments ------------------------------------------------------------------------------

    async def segment_members(self, segment: Segment, at: float) -> list[str]:
        from botkit.storage.segments_sql import compile_segment  # written beside this module

        need_time(at, "the instant")
        sql, params = compile_segment(segment, at, dialect="postgres")
        rows = await self._query("listing a segment's members", "fetch", sql, *params)
        return [str(row[0]) for row in rows]  # distinct and sorted by the query


def _user_key(user: str) -> int:
    """The second key of ``user``'s identity lock (or a member's consent lock): a stable
    signed 32-bit hash (a collision only makes two users' changes take turns)."""
    return zlib.crc32(user.encode("utf-8")) - 2**31
