"""The PostgreSQL store's own writes (the reads both SQL stores share are in
:mod:`botkit.storage.sql`): a commit as one statement, business events as one statement, and a
version made live in one transaction that concurrent deploys take in turns.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from botkit.storage.sql import EVENT_COLUMNS, RECORD_COLUMNS

__all__ = ["ADD_EVENTS", "CREATE_SESSION", "UPDATE_SESSION", "add_version"]

# The records of a commit travel as one array per column: one statement whatever their number.
_UNNEST = (
    "SELECT * FROM unnest($5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],"
    " $10::float8[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],"
    " $16::text[], $17::text[])"
)
# A commit of a session that must not exist yet ($1 to $4: the session; $5 to $17: records).
CREATE_SESSION = f"""
WITH s AS (
    INSERT INTO sessions (key, version, data, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (key) DO NOTHING RETURNING version
), r AS (
    INSERT INTO records ({RECORD_COLUMNS}) {_UNNEST} WHERE EXISTS (SELECT FROM s)
)
SELECT count(*) FROM s
"""
# A commit of a session stored at version $18.
UPDATE_SESSION = f"""
WITH s AS (
    UPDATE sessions SET version = $2, data = $3, updated_at = $4
    WHERE key = $1 AND version = $18 RETURNING version
), r AS (
    INSERT INTO records ({RECORD_COLUMNS}) {_UNNEST} WHERE EXISTS (SELECT FROM s)
)
SELECT count(*) FROM s
"""
# Business events as one array per column; the count of those that were new.
ADD_EVENTS = f"""
WITH added AS (
    INSERT INTO events ({EVENT_COLUMNS})
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[],
                         $6::text[], $7::text[])
    ON CONFLICT (id) DO NOTHING RETURNING 1
) SELECT count(*) FROM added
"""


async def add_version(pool: asyncpg.Pool, statements: list[tuple[str, list[Any]]]) -> None:
    """Run ``add_version``'s statements (:func:`~botkit.storage.versions.add_version_statements`)
    in one transaction. The table is locked against other writers first: two workers making
    two versions live at the same moment would otherwise each miss the other's new row and
    leave both live. Reads go on meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE bot_versions IN SHARE ROW EXCLUSIVE MODE")
        for sql, params in statements:
            await conn.execute(sql, *params)
