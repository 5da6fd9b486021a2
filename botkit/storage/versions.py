"""Bot versions and the states conversations stand at, written once for every backend: what
``add_version`` keeps (checked and encoded the same everywhere), the statements both SQL stores
run (each passes its placeholders and its way to read a field of a stored session's JSON), and
the rows back into :class:`BotVersion` and :class:`LiveState`, in the order the contract sets.

Both lists are short (one row per deploy, one per state in use), so they are ordered here, in
Python, rather than by each database: an ``ORDER BY`` on text follows the database's collation,
and the backends must agree on the order of Hangul and punctuation too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from botkit.engine.session import Status
from botkit.errors import StorageError
from botkit.storage.base import BotVersion, LiveState, dump_json
from botkit.storage.sql import Mark

__all__ = [
    "VERSIONS_QUERY",
    "add_version_statements",
    "live_states_query",
    "to_live_states",
    "to_versions",
    "version_row",
]

VERSIONS_QUERY = "SELECT version, sources, live_at, replaced_at FROM bot_versions"


def version_row(version: str, sources: Mapping[str, str], at: float) -> tuple[str, str, float]:
    """What ``add_version`` keeps: the version, its sources as JSON text, and the time. The
    first problem raises StorageError, before anything is written, in every backend alike."""
    if not isinstance(version, str) or not version:
        raise StorageError(f"a bot version is a non-empty string, not {version!r}")
    if not isinstance(at, int | float) or not math.isfinite(at):
        raise StorageError(f"version {version!r}: the time must be a finite number, not {at!r}")
    if not all(isinstance(name, str) and isinstance(text, str) for name, text in sources.items()):
        raise StorageError(f"version {version!r}: sources map file names to their text")
    return version, dump_json(dict(sources)), float(at)


def add_version_statements(
    mark: Mark, version: str, sources: Mapping[str, str], at: float
) -> list[tuple[str, list[Any]]]:
    """``add_version`` as statements to run in ONE transaction, in order: every other live
    version is replaced at ``at``, then ``version`` is kept (its sources only when new: a
    rollback keeps what was compiled then) and made live from ``at``. Checked first
    (:func:`version_row`)."""
    version, text, at = version_row(version, sources, at)
    return [
        (
            f"UPDATE bot_versions SET replaced_at = {mark(1)}"
            f" WHERE replaced_at IS NULL AND version <> {mark(2)}",
            [at, version],
        ),
        (
            "INSERT INTO bot_versions (version, sources, live_at, replaced_at)"
            f" VALUES ({mark(1)}, {mark(2)}, {mark(3)}, NULL) ON CONFLICT (version)"
            " DO UPDATE SET live_at = excluded.live_at, replaced_at = NULL",
            [version, text, at],
        ),
    ]


def live_states_query(mark: Mark, field: str, *, since: float) -> tuple[str, list[Any]]:
    """``Store.live_states`` in one statement: sessions counted per version and state, where
    ``field`` is the backend's SQL for a field of the stored session's JSON (as text or a
    number), ``{}`` standing for the field's name. A field the text lacks (a session stored by
    an earlier botkit) reads as the Session's default, as
    :func:`~botkit.storage.base.decode_session` would read it; CAST's type names mean the same
    to SQLite and PostgreSQL."""
    f = field.format
    sql = f"""
SELECT coalesce({f("bot_version")}, ''), coalesce({f("state")}, ''), count(*)
FROM sessions
WHERE CAST({f("conversation")} AS bigint) > 0
    AND coalesce({f("status")}, '{Status.BOT.value}') <> '{Status.CLOSED.value}'
    AND coalesce(CAST({f("last_at")} AS double precision), 0) >= {mark(1)}
GROUP BY 1, 2"""
    return sql, [since]


def to_versions(rows: Iterable[Sequence[Any]]) -> list[BotVersion]:
    """Rows of ``(version, sources JSON, live_at, replaced_at)``: the live version first, then
    by ``live_at``, newest first (then by version, so that ties come out the same everywhere)."""
    kept = [BotVersion(r[0], orjson.loads(r[1]), r[2], r[3]) for r in rows]
    kept.sort(key=lambda v: (v.replaced_at is not None, -v.live_at, v.version))
    return kept


def to_live_states(rows: Iterable[Sequence[Any]]) -> list[LiveState]:
    """Rows of ``(version, state, sessions)``, ordered by version, then state."""
    return sorted(
        (LiveState(r[0], r[1], int(r[2])) for r in rows), key=lambda s: (s.version, s.state)
    )
