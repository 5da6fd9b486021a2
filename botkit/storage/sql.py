"""The reads both SQL backends make, written once: the statements (each backend passes its own
placeholder style) and the rows back into records, report rows and business events; and the
rows they write, records and business events, encoded the same way.

SQLite marks parameters ``?``, PostgreSQL ``$1, $2, …``: ``mark(n)`` gives the n-th.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from botkit.records import BusinessEvent, Record, RecordKind, ReportRow
from botkit.storage.base import (
    HANDED_OFF,
    LINK_MARKS,
    REPORT_BLANKS,
    REPORT_SAID,
    HandedOff,
    check_events,
    decode_session,
    dump_json,
    handoff_reason,
)

__all__ = [
    "EVENT_COLUMNS",
    "RECORD_COLUMNS",
    "Mark",
    "event_rows",
    "events_query",
    "handoffs_query",
    "record_row",
    "records_query",
    "report_rows_query",
    "to_events",
    "to_handoffs",
    "to_records",
    "to_report_rows",
]

Mark = Callable[[int], str]  # the n-th parameter's placeholder (n from 1)

# Record's field order, so a row is a Record. "user" is quoted: PostgreSQL reserves the word.
RECORD_COLUMNS = (
    'kind, session, conversation, seq, turn, at, bot, flow, flow_version, variant, "user", '
    "channel, data"
)
# BusinessEvent's field order, so a row is an event.
EVENT_COLUMNS = 'id, kind, "user", at, amount, data, customer'
_REPORT_COLUMNS = (
    'kind, session, conversation, seq, at, "user", channel, flow,'
    f" CASE WHEN kind IN ({', '.join(repr(k) for k in sorted(REPORT_BLANKS))}) THEN NULL"
    f" WHEN kind = '{REPORT_SAID}' AND NOT ("
    + " OR ".join(f"data LIKE '%{mark}%'" for mark in LINK_MARKS)
    + ") THEN NULL"
    " ELSE data END"
)


def _where(
    mark: Mark, filters: Sequence[tuple[str, str, Any]], *fixed: str
) -> tuple[str, list[Any]]:
    """`` WHERE …`` for the filters whose value is given (and the ``fixed`` clauses)."""
    clauses, params = list(fixed), []
    for column, op, value in filters:
        if value is not None:
            params.append(value)
            clauses.append(f"{column} {op} {mark(len(params))}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def records_query(
    mark: Mark,
    *,
    session: str | None,
    kind: str | None,
    since: float | None,
    until: float | None,
    limit: int | None,
) -> tuple[str, list[Any]]:
    filters = [
        ("session", "=", session),
        ("kind", "=", kind),
        ("at", ">=", since),
        ("at", "<", until),
    ]
    where, params = _where(mark, filters)
    order = "session, seq" if session is not None else "at, session, seq"
    sql = f"SELECT {RECORD_COLUMNS} FROM records{where} ORDER BY {order}"
    if limit is not None:
        params.append(limit)
        sql += f" LIMIT {mark(len(params))}"
    return sql, params


def report_rows_query(
    mark: Mark, *, since: float | None, until: float | None
) -> tuple[str, list[Any]]:
    where, params = _where(mark, [("at", ">=", since), ("at", "<", until)])
    return f"SELECT {_REPORT_COLUMNS} FROM records{where}", params


def events_query(
    mark: Mark,
    *,
    since: float | None,
    until: float | None,
    user: str | None,
    customer: str | None = None,
) -> tuple[str, list[Any]]:
    filters = [
        ("at", ">=", since),
        ("at", "<", until),
        ('"user"', "=", user),
        ("customer", "=", customer),
    ]
    where, params = _where(mark, filters)
    return f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY at, id", params


def handoffs_query(mark: Mark, status_of: str, *, since: float) -> tuple[str, list[Any]]:
    """The handoff queue (``Store.handoffs``) in one statement: per session, its latest
    ``handoff_requested`` record since ``since`` (the window numbers them newest first) and
    when it first asked, joined to its session, kept when the session's status (``status_of``:
    the backend's JSON extraction of ``status`` from the stored session text) is handed off.
    Rows: the session's version and text, the record's data."""
    statuses = ", ".join(f"'{status}'" for status in HANDED_OFF)
    sql = f"""
SELECT s.version, s.data, r.data FROM (
    SELECT session, data,
        row_number() OVER (PARTITION BY session ORDER BY at DESC, seq DESC) AS newest,
        min(at) OVER (PARTITION BY session) AS first_at
    FROM records WHERE kind = {mark(1)} AND at >= {mark(2)}
) AS r JOIN sessions AS s ON s.key = r.session
WHERE r.newest = 1 AND {status_of} IN ({statuses})
ORDER BY r.first_at, r.session"""
    return sql, [RecordKind.HANDOFF_REQUESTED.value, since]


def record_row(record: Record) -> tuple[Any, ...]:
    """``record`` as a row of :data:`RECORD_COLUMNS` (its data as JSON text)."""
    return (*record[:12], None if record.data is None else dump_json(record.data))


def event_rows(events: Sequence[BusinessEvent]) -> list[tuple[Any, ...]]:
    """``events``, checked (:func:`~botkit.storage.base.check_events`), as rows of
    :data:`EVENT_COLUMNS` (data as JSON text)."""
    return [
        (
            e.id, e.kind, e.user, e.at, e.amount,
            None if e.data is None else dump_json(e.data), e.customer,
        )
        for e in check_events(events)
    ]  # fmt: skip


def to_handoffs(rows: Iterable[Sequence[Any]]) -> list[HandedOff]:
    loads = orjson.loads
    return [
        HandedOff(
            decode_session(r[1], r[0]), handoff_reason(None if r[2] is None else loads(r[2]))
        )
        for r in rows
    ]


def to_records(rows: Iterable[Sequence[Any]]) -> list[Record]:
    loads = orjson.loads
    return [Record._make((*row[:12], None if row[12] is None else loads(row[12]))) for row in rows]


def to_report_rows(rows: Iterable[Sequence[Any]]) -> list[ReportRow]:
    loads = orjson.loads
    new = tuple.__new__  # a named tuple's own __new__ is a Python call: ~20% of this loop
    return [
        new(
            ReportRow,
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], loads(r[8]) if r[8] else None),
        )
        for r in rows
    ]


def to_events(rows: Iterable[Sequence[Any]]) -> list[BusinessEvent]:
    loads = orjson.loads
    return [
        BusinessEvent(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else loads(r[5]), r[6])
        for r in rows
    ]
