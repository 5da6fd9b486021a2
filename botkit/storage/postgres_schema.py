"""The PostgreSQL store's schema: its migrations, and the function that applies them.

The version is kept in the ``botkit_schema`` table of the store's schema. Workers starting
together migrate once: ``migrate`` runs in one transaction under a transaction-level advisory
lock, creating the schema and applying the migrations it lacks; a schema from a newer botkit
is refused, never touched.
"""

from __future__ import annotations

import asyncpg

from botkit.errors import StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

# Migration i takes the schema from version i to i + 1. Append only; never edit one that shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions, records indexed for reports (time, flow; session by the primary key, which
        # is all a record needs: every index costs each of a turn's five inserts), events
        """CREATE TABLE sessions (
            key text PRIMARY KEY,
            version bigint NOT NULL,
            data text NOT NULL,
            updated_at double precision
        )""",
        """CREATE TABLE records (
            session text NOT NULL,
            conversation bigint NOT NULL,
            seq bigint NOT NULL,
            turn bigint NOT NULL,
            at double precision NOT NULL,
            kind text NOT NULL,
            bot text NOT NULL,
            flow text NOT NULL,
            flow_version text NOT NULL,
            variant text NOT NULL,
            "user" text NOT NULL,
            channel text NOT NULL,
            data text,
            PRIMARY KEY (session, seq)
        )""",
        "CREATE INDEX records_at ON records (at)",
        "CREATE INDEX records_flow_at ON records (flow, at)",
        """CREATE TABLE events (
            id text PRIMARY KEY,
            kind text NOT NULL,
            "user" text NOT NULL,
            at double precision NOT NULL,
            amount double precision,
            data text
        )""",
        "CREATE INDEX events_at ON events (at)",
    ),
    (  # 2: the versions of the bot that went live, each with the flow files it was compiled
        # from, so that a conversation can finish on the version it started on
        """CREATE TABLE bot_versions (
            version text PRIMARY KEY,
            sources text NOT NULL,
            live_at double precision NOT NULL,
            replaced_at double precision
        )""",
    ),
    (  # 3: the audience (botkit.audience): customers the shop names and their profiles (JSON
        # text), the channel users linked to them, consent per member, the log of links and
        # consent, one-time link codes and identity nonces; business events naming a customer
        """CREATE TABLE customers (
            id text PRIMARY KEY,
            profile text NOT NULL,
            updated_at double precision NOT NULL
        )""",
        """CREATE TABLE identities (
            "user" text PRIMARY KEY,
            customer text NOT NULL,
            linked_at double precision NOT NULL,
            source text NOT NULL
        )""",
        "CREATE INDEX identities_customer ON identities (customer)",
        """CREATE TABLE consents (
            member text PRIMARY KEY,
            marketing boolean,
            marketing_at double precision,
            marketing_source text,
            night boolean,
            night_at double precision,
            night_source text
        )""",
        """CREATE TABLE audience_log (
            id bigserial PRIMARY KEY,
            at double precision NOT NULL,
            kind text NOT NULL,
            member text NOT NULL,
            "user" text,
            source text,
            data text
        )""",
        "CREATE INDEX audience_log_at ON audience_log (at)",
        """CREATE TABLE one_time (
            code text PRIMARY KEY,
            purpose text NOT NULL,
            "user" text,
            expires_at double precision NOT NULL,
            used_at double precision
        )""",
        "ALTER TABLE events ADD COLUMN customer text",
        'CREATE INDEX events_user ON events ("user")',
        "CREATE INDEX events_customer ON events (customer)",
    ),
    (  # 4: campaign sends (botkit.campaigns.port), one row per idempotency key, and the
        # planners' cursors. Indexed for what the scheduler asks: claims (the sends still to
        # go, by due time), who a run decided about, a member's sends for the caps
        """CREATE TABLE campaign_sends (
            key text PRIMARY KEY,
            campaign text NOT NULL,
            run text NOT NULL,
            member text NOT NULL,
            status text NOT NULL,
            planned_at double precision NOT NULL,
            due double precision NOT NULL,
            expires double precision NOT NULL,
            variant text,
            channel text,
            "user" text,
            reason text,
            attempts bigint NOT NULL DEFAULT 0,
            next_try double precision,
            claimed_by text,
            lease_until double precision,
            sent_at double precision,
            delivered_at double precision,
            provider_id text,
            cost double precision NOT NULL DEFAULT 0
        )""",
        # what claims walk, in claim order: only the sends still to go (sends_rows.OPEN_SENDS)
        "CREATE INDEX campaign_sends_open ON campaign_sends (due, key)"
        " WHERE status IN ('planned', 'failed', 'claimed')",
        "CREATE INDEX campaign_sends_run ON campaign_sends (campaign, run, member)",
        "CREATE INDEX campaign_sends_member ON campaign_sends (member, planned_at)",
        # what the sender's and planner's reads of a recent stretch walk (the sends of the
        # last days, for the caps and the delivery results), not the whole history of sends
        "CREATE INDEX campaign_sends_planned ON campaign_sends (planned_at)",
        """CREATE TABLE campaign_cursors (
            name text PRIMARY KEY,
            at double precision NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Any fixed number: the transaction-level lock workers take while they migrate.
_MIGRATION_LOCK = 0x626F746B6974  # "botkit"


async def migrate(conn: asyncpg.Connection, schema: str, *, create: bool = True) -> int:
    """Bring ``schema`` (the connection's search_path) to SCHEMA_VERSION; returns the version
    found. With ``create=False`` (a command that only reads) a schema without botkit's tables
    is refused, and nothing is created."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        table = f"{quote(schema)}.botkit_schema"
        if not create and await conn.fetchval("SELECT to_regclass($1)", table) is None:
            raise StorageError(
                f"there is no botkit schema {schema!r} in this database; a command that only"
                " reads a store never creates one: check ?schema="
            )
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        await conn.execute("CREATE TABLE IF NOT EXISTS botkit_schema (version integer NOT NULL)")
        found = int(await conn.fetchval("SELECT max(version) FROM botkit_schema") or 0)
        if found > SCHEMA_VERSION:
            raise StorageError(
                f"the schema {schema!r} has version {found}; this botkit knows"
                f" up to {SCHEMA_VERSION}"
            )
        for target in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target - 1]:
                await conn.execute(statement)
            await conn.execute("INSERT INTO botkit_schema VALUES ($1)", target)
    return found


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
