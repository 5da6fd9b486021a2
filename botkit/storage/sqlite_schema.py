"""The SQLite store's schema: its migrations, and the function that applies them.

The schema version is SQLite's ``PRAGMA user_version``; ``migrate`` runs on the write
connection when the store opens, each migration in its own transaction, so a database from any
earlier botkit is brought up to date and one from a newer botkit is refused, never touched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from botkit.errors import StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "must_be_store"]

# Migration i takes a database from ``PRAGMA user_version`` i to i + 1. Append only; never edit
# a migration that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions and records
        """CREATE TABLE sessions (
            key TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            data TEXT NOT NULL,
            updated_at REAL
        )""",
        """CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            session TEXT NOT NULL,
            conversation INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            turn INTEGER NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            bot TEXT NOT NULL,
            flow TEXT NOT NULL,
            flow_version TEXT NOT NULL,
            variant TEXT NOT NULL,
            user TEXT NOT NULL,
            channel TEXT NOT NULL,
            data TEXT,
            UNIQUE (session, seq)
        )""",
    ),
    (  # 2: what reports filter on
        "CREATE INDEX records_at ON records (at)",
        "CREATE INDEX records_flow_at ON records (flow, at)",
        "CREATE INDEX records_kind_at ON records (kind, at)",
    ),
    (  # 3: every index is written on every turn (five records a turn), and a report reads all
        # the records of its period in one pass anyway; (at) finds the period, (session, seq)
        # keeps records unique. The two composite indexes cost a third of each write.
        "DROP INDEX records_flow_at",
        "DROP INDEX records_kind_at",
    ),
    (  # 4: business events from outside (purchases, sign-ups), attributed by reports
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            user TEXT NOT NULL,
            at REAL NOT NULL,
            amount REAL,
            data TEXT
        )""",
        "CREATE INDEX events_at ON events (at)",
    ),
    (  # 5: the versions of the bot that went live, each with the flow files it was compiled
        # from, so that a conversation can finish on the version it started on
        """CREATE TABLE bot_versions (
            version TEXT PRIMARY KEY,
            sources TEXT NOT NULL,
            live_at REAL NOT NULL,
            replaced_at REAL
        )""",
    ),
    (  # 6: the audience (botkit.audience): customers the shop names and their profiles (JSON),
        # the channel users linked to them, consent per member, the log of links and consent,
        # one-time link codes and identity nonces; business events that name a customer
        """CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            profile TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE identities (
            user TEXT PRIMARY KEY,
            customer TEXT NOT NULL,
            linked_at REAL NOT NULL,
            source TEXT NOT NULL
        )""",
        "CREATE INDEX identities_customer ON identities (customer)",
        """CREATE TABLE consents (
            member TEXT PRIMARY KEY,
            marketing INTEGER,
            marketing_at REAL,
            marketing_source TEXT,
            night INTEGER,
            night_at REAL,
            night_source TEXT
        )""",
        """CREATE TABLE audience_log (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            member TEXT NOT NULL,
            user TEXT,
            source TEXT,
            data TEXT
        )""",
        "CREATE INDEX audience_log_at ON audience_log (at)",
        """CREATE TABLE one_time (
            code TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            user TEXT,
            expires_at REAL NOT NULL,
            used_at REAL
        )""",
        "ALTER TABLE events ADD COLUMN customer TEXT",
        "CREATE INDEX events_user ON events (user)",
        "CREATE INDEX events_customer ON events (customer)",
    ),
    (  # 7: campaign sends (botkit.campaigns.port), one row per idempotency key, and the
        # planners' cursors. Indexed for what the scheduler asks: claims (the sends still to
        # go, by due time), who a run decided about, a member's sends for the caps
        """CREATE TABLE campaign_sends (
            key TEXT PRIMARY KEY,
            campaign TEXT NOT NULL,
            run TEXT NOT NULL,
            member TEXT NOT NULL,
            status TEXT NOT NULL,
            planned_at REAL NOT NULL,
            due REAL NOT NULL,
            expires REAL NOT NULL,
            variant TEXT,
            channel TEXT,
            user TEXT,
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try REAL,
            claimed_by TEXT,
            lease_until REAL,
            sent_at REAL,
            delivered_at REAL,
            provider_id TEXT,
            cost REAL NOT NULL DEFAULT 0
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
            name TEXT PRIMARY KEY,
            at REAL NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION, one transaction per migration; returns the version
    found. A database from a newer botkit is refused rather than touched."""
    (found,) = db.execute("PRAGMA user_version").fetchone()
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"the database has schema version {found}; this botkit knows up to {SCHEMA_VERSION}"
        )
    for target in range(found + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            (current,) = db.execute("PRAGMA user_version").fetchone()
            if current < target:  # another process may have migrated meanwhile
                for statement in MIGRATIONS[target - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return int(found)


def must_be_store(path: str, db: sqlite3.Connection | None = None) -> None:
    """For a command that only reads: refuse a file that does not exist (before connecting,
    which would create it) or, once connected as ``db``, one that holds no botkit store (before
    anything is written to it)."""
    if db is None:
        if not Path(path).is_file():
            raise StorageError(f"there is no SQLite store at {path!r}{_NEVER_CREATED}")
        return
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version == 0:
        raise StorageError(f"the SQLite file {path!r} is not a botkit store{_NEVER_CREATED}")


_NEVER_CREATED = "; a command that only reads a store never creates one: check the path"
