"""A store in process memory: for tests, the simulator and ``memory://``. Nothing survives the
process. Values go through the same JSON codec as the durable backends, so what round-trips
here round-trips everywhere (tuples come back as lists, non-JSON values are refused).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from botkit.engine.session import Session, Status
from botkit.errors import ConflictError, StorageError
from botkit.records import BusinessEvent, Record, RecordKind, ReportRow
from botkit.storage.audience_memory import MemoryAudience
from botkit.storage.base import (
    HANDED_OFF,
    BotVersion,
    HandedOff,
    LiveState,
    check_events,
    check_limit,
    check_records,
    decode_session,
    dump_json,
    encode_session,
    handoff_reason,
    report_row,
)
from botkit.storage.sends_memory import MemorySends
from botkit.storage.versions import to_live_states, to_versions, version_row

__all__ = ["MemoryStore"]

# A stored record: its fields with ``data`` kept as JSON text, so nobody can mutate it.
_Row = tuple[str, str, int, int, int, float, str, str, str, str, str, str, str | None]


class MemoryStore(MemorySends, MemoryAudience):
    """Sessions and records in dicts and a list. Every method runs without awaiting anything
    in between, so each commit is atomic with respect to the others on the event loop. The
    audience (customers, links, consent) is :class:`~.audience_memory.MemoryAudience`'s, the
    campaign sends :class:`~.sends_memory.MemorySends`' (whose ``__init__`` calls the
    audience's)."""

    def __init__(self) -> None:
        super().__init__()
        self._open = False
        self._sessions: dict[str, tuple[int, str]] = {}  # key -> (version, JSON)
        self._records: list[_Row] = []
        self._seqs: set[tuple[str, int]] = set()
        self._events: dict[str, BusinessEvent] = {}
        # version -> (sources JSON, live_at, replaced_at), as the SQL stores' bot_versions
        self._versions: dict[str, tuple[str, float, float | None]] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._sessions)}, records={len(self._records)})"

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise StorageError("the store is not open")

    async def load(self, key: str) -> Session | None:
        self._check_open()
        stored = self._sessions.get(key)
        if stored is None:
            return None
        version, data = stored
        return decode_session(data, version)

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        self._check_open()
        key = session.key
        stored = self._sessions.get(key)
        actual = stored[0] if stored is not None else 0
        if actual != expected_version:
            raise ConflictError(key, expected_version, actual)
        check_records(records)
        for record in records:
            if (record.session, record.seq) in self._seqs:
                raise StorageError(
                    f"record (session {record.session!r}, seq {record.seq}) already exists"
                )
        version = expected_version + 1
        data = encode_session(session, version)
        rows = [_row(record) for record in records]  # may raise StorageError: nothing written
        self._sessions[key] = (version, data)
        self._records.extend(rows)
        self._seqs.update((row[1], row[3]) for row in rows)
        return version

    async def records(
        self,
        *,
        session: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        self._check_open()
        check_limit(limit)
        rows = [
            row
            for row in self._records
            if (session is None or row[1] == session)
            and (kind is None or row[0] == kind)
            and (since is None or row[5] >= since)
            and (until is None or row[5] < until)
        ]
        if session is not None:
            rows.sort(key=lambda row: (row[1], row[3]))
        else:
            rows.sort(key=lambda row: (row[5], row[1], row[3]))
        if limit is not None:
            rows = rows[:limit]
        return [_record(row) for row in rows]

    async def ping(self) -> bool:
        return self._open

    def _sizes(self) -> tuple[int, int]:
        return len(self._records), len(self._events)

    async def count_records(self) -> int:
        self._check_open()
        return len(self._records)

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        return [report_row(r) for r in await self.records(since=since, until=until)]

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        self._check_open()
        new = [e for e in check_events(events) if e.id not in self._events]
        for event in new:
            data = None if event.data is None else json.loads(dump_json(event.data))
            self._events.setdefault(event.id, event._replace(data=data))
        return len({e.id for e in new})

    async def events(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        user: str | None = None,
        customer: str | None = None,
    ) -> list[BusinessEvent]:
        self._check_open()
        return sorted(
            (
                e
                for e in self._events.values()
                if (since is None or e.at >= since)
                and (until is None or e.at < until)
                and (user is None or e.user == user)
                and (customer is None or e.customer == customer)
            ),
            key=lambda e: (e.at, e.id),
        )

    async def handoffs(self, *, since: float) -> list[HandedOff]:
        # A plain scan through this store's own reads, so that a subclass failing them (a
        # store switched off in a test) fails this too. Dicts keep the order keys first came
        # in, and the latest record of a session sets its reason.
        asked = await self.records(kind=RecordKind.HANDOFF_REQUESTED.value, since=since)
        reasons = {r.session: handoff_reason(r.data) for r in asked}
        out = []
        for key, reason in reasons.items():
            session = await self.load(key)
            if session is not None and session.status in HANDED_OFF:
                out.append(HandedOff(session, reason))
        return out

    async def add_version(self, version: str, sources: Mapping[str, str], at: float) -> None:
        self._check_open()
        version, text, at = version_row(version, sources, at)
        for name, (kept, live_at, replaced_at) in list(self._versions.items()):
            if replaced_at is None and name != version:
                self._versions[name] = (kept, live_at, at)
        old = self._versions.get(version)
        self._versions[version] = (text if old is None else old[0], at, None)

    async def versions(self) -> list[BotVersion]:
        self._check_open()
        return to_versions((name, *row) for name, row in self._versions.items())

    async def live_states(self, *, since: float) -> list[LiveState]:
        self._check_open()
        counts: Counter[tuple[str, str]] = Counter()
        for version, data in self._sessions.values():
            s = decode_session(data, version)
            if s.conversation > 0 and s.status != Status.CLOSED and s.last_at >= since:
                counts[s.bot_version, s.state] += 1
        return to_live_states((*pair, n) for pair, n in counts.items())


def _row(record: Record) -> _Row:
    data = None if record.data is None else dump_json(record.data)
    return (*record[:-1], data)


def _record(row: _Row) -> Record:
    data: dict[str, Any] | None = None if row[-1] is None else orjson.loads(row[-1])
    return Record(*row[:-1], data=data)
