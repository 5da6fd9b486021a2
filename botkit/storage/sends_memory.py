"""The memory store's campaign sends (:class:`~botkit.campaigns.port.Sends`), mixed into
:class:`~botkit.storage.MemoryStore`.

Like the rest of that store, no method awaits anything before it has done its work, so each is
atomic with respect to the others on the event loop: two planners of one key, one send; two
claims, never the same send. Sends are frozen values, kept as they are.

A claim must not read every send the store keeps (the simulator plans a week of campaigns for
thousands of customers and claims a hundred at a time), so the planned sends are kept in
``(due, key)`` order apart: those a claim may take are a prefix of that list. Failed and claimed
sends, the ones in flight, are few, and read whole.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from botkit.campaigns.port import Send, SendStatus
from botkit.storage.audience_rows import need, need_time
from botkit.storage.sends_rows import (
    check_filters,
    checked,
    finish_of,
    need_lease,
    need_limit,
    need_run,
)

__all__ = ["MemorySends"]

_PLANNED = SendStatus.PLANNED.value
_IN_FLIGHT = frozenset({SendStatus.FAILED.value, SendStatus.CLAIMED.value})


class MemorySends:
    """The Sends half of MemoryStore. The store provides ``_check_open``."""

    _sessions: Mapping[str, object]  # the store's own: session key → snapshot

    def __init__(self) -> None:
        super().__init__()
        self._sends: dict[str, Send] = {}
        self._planned: list[tuple[float, str]] = []  # (due, key) of every planned send, sorted
        self._in_flight: set[str] = set()  # keys of the failed and claimed sends
        self._decided: dict[tuple[str, str], set[str]] = {}  # (campaign, run) -> members
        self._of_member: dict[str, list[str]] = {}  # member -> keys of their sends
        self._cursors: dict[str, float] = {}

    def _check_open(self) -> None:  # the store's own replaces it
        raise NotImplementedError

    async def plan_sends(self, sends: Sequence[Send]) -> int:
        self._check_open()
        kept = [checked(send) for send in sends]  # may raise StorageError: nothing planned
        planned: list[tuple[float, str]] = []
        new = 0
        for send in kept:
            if send.key in self._sends:
                continue
            self._sends[send.key] = send
            if send.status == _PLANNED:
                planned.append((send.due, send.key))
            elif send.status in _IN_FLIGHT:
                self._in_flight.add(send.key)
            self._decided.setdefault((send.campaign, send.run), set()).add(send.member)
            self._of_member.setdefault(send.member, []).append(send.key)
            new += 1
        # One sort for a large plan (Timsort merges the two sorted runs); inserting each into
        # the sorted list would move half of it every time.
        if len(planned) > 64:
            self._planned.extend(planned)
            self._planned.sort()
        else:
            for pair in planned:
                bisect.insort(self._planned, pair)
        return new

    async def decided(self, campaign: str, run: str, members: Collection[str]) -> set[str]:
        self._check_open()
        need_run(campaign, run)
        kept = self._decided.get((campaign, run), set())
        return {member for member in members if member in kept}

    async def known_sessions(self, keys: Collection[str]) -> set[str]:
        self._check_open()
        return {key for key in keys if key in self._sessions}

    async def claim_sends(self, worker: str, at: float, *, lease: float, limit: int) -> list[Send]:
        self._check_open()
        need(worker, "a worker")
        at = need_time(at, "the time")
        until = at + need_lease(lease)
        limit = need_limit(limit)
        candidates: list[tuple[float, str]] = []
        for due, key in self._planned:
            if due > at or len(candidates) == limit:
                break
            candidates.append((due, key))
        for key in self._in_flight:
            send = self._sends[key]
            since = send.next_try if send.status == SendStatus.FAILED else send.lease_until
            if since is not None and since <= at and send.due <= at:  # as sends_rows.OPEN_SENDS
                candidates.append((send.due, key))
        return [
            self._put(replace(self._sends[key], status=SendStatus.CLAIMED.value,
                              claimed_by=worker, lease_until=until))
            for _, key in sorted(candidates)[:limit]
        ]  # fmt: skip

    async def finish_send(
        self,
        key: str,
        status: str,
        at: float,
        *,
        worker: str | None = None,
        reason: str | None = None,
        provider_id: str | None = None,
        cost: float = 0.0,
        next_try: float | None = None,
    ) -> bool:
        self._check_open()
        need(key, "a send's key")
        change = finish_of(
            status, at, worker=worker, reason=reason, provider_id=provider_id, cost=cost,
            next_try=next_try,
        )  # fmt: skip
        send = self._sends.get(key)
        if (
            send is None
            or send.status != change.leaving
            or (change.by_worker and send.claimed_by != worker)
        ):
            return False
        attempts = send.attempts + 1 if change.counts_attempt else send.attempts
        self._put(replace(send, attempts=attempts, **change.sets))
        return True

    async def sends(
        self,
        *,
        campaign: str | None = None,
        member: str | None = None,
        statuses: Collection[str] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Send]:
        self._check_open()
        check_filters(campaign, member, statuses, since, until)
        wanted = None if statuses is None else {str(status) for status in statuses}
        if member is not None:
            found = [self._sends[key] for key in self._of_member.get(member, ())]
        else:
            found = list(self._sends.values())
        return sorted(
            (
                send
                for send in found
                if (campaign is None or send.campaign == campaign)
                and (wanted is None or send.status in wanted)
                and (since is None or send.planned_at >= since)
                and (until is None or send.planned_at < until)
            ),
            key=lambda send: (send.planned_at, send.key),
        )

    async def send_by_key(self, key: str) -> Send | None:
        self._check_open()
        need(key, "a send's key")
        return self._sends.get(key)

    async def cursor(self, name: str) -> float | None:
        self._check_open()
        need(name, "a cursor's name")
        return self._cursors.get(name)

    async def take_turn(self, name: str, at: float, until: float) -> bool:
        self._check_open()
        need(name, "a turn's name")
        held = self._cursors.get(name)
        if held is not None and held > need_time(at, "the time"):
            return False
        self._cursors[name] = need_time(until, "the turn's end")
        return True

    async def set_cursor(self, name: str, at: float) -> None:
        self._check_open()
        need(name, "a cursor's name")
        self._cursors[name] = need_time(at, "the cursor's instant")

    def _put(self, send: Send) -> Send:
        """Keep ``send`` (new, or a new state of one kept), with the planned list and the set
        in flight following its status."""
        old = self._sends.get(send.key)
        if old is not None and old.status == _PLANNED and send.status != _PLANNED:
            index = bisect.bisect_left(self._planned, (old.due, old.key))
            del self._planned[index]
        elif send.status == _PLANNED and (old is None or old.status != _PLANNED):
            bisect.insort(self._planned, (send.due, send.key))
        if send.status in _IN_FLIGHT:
            self._in_flight.add(send.key)
        else:
            self._in_flight.discard(send.key)
        self._sends[send.key] = send
        return send
