"""What the three stores share to keep campaign sends (:class:`~botkit.campaigns.port.Sends`): a
send checked and written as a row, rows read back as sends, what finishing a send changes, and
the statements both SQL dialects run, written once.

The memory store applies the same :class:`Finish` as the SQL stores' ``UPDATE``, so a
transition means one thing everywhere. Nothing here puts a member, a user or a key in an error
message (they are personal data, and messages get logged): errors name the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from math import isfinite
from operator import attrgetter
from typing import Any

from botkit.campaigns.port import Send, SendStatus
from botkit.errors import StorageError
from botkit.storage.audience_rows import need, need_time
from botkit.storage.sql import Mark

__all__ = [
    "CLAIMABLE",
    "OPEN_SENDS",
    "SEND_COLUMNS",
    "SEND_FIELDS",
    "Finish",
    "Many",
    "SendStatements",
    "check_filters",
    "checked",
    "finish_of",
    "need_lease",
    "need_limit",
    "need_run",
    "send_row",
    "to_sends",
]

# Send's fields in order: the campaign_sends table's columns, so a row is a Send.
SEND_FIELDS = tuple(field.name for field in fields(Send))
# "user" is quoted: PostgreSQL reserves the word.
SEND_COLUMNS = ", ".join('"user"' if name == "user" else name for name in SEND_FIELDS)

# The sends a claim may take: those not yet sent nor decided about for good. The SQL stores
# keep them in an index of their own, in claim order (``due, key``), which the migrations
# declare with this very condition (SQLite uses a partial index only for a query that repeats
# its WHERE term as written). Of these, a claim takes a planned send from its due time, a
# failed one from its next try, a claimed one when its lease runs out; and none before its
# due time, whatever its status ("not sent before"): a failed or claimed send was claimed at
# or after it anyway, so this only bounds the claim's scan of the index to what is due.
OPEN_SENDS = "status IN ('planned', 'failed', 'claimed')"
CLAIMABLE = (
    (SendStatus.PLANNED.value, "due"),
    (SendStatus.FAILED.value, "next_try"),
    (SendStatus.CLAIMED.value, "lease_until"),
)

_STATUSES = frozenset(status.value for status in SendStatus)
_TEXTS = ("variant", "channel", "user", "reason", "claimed_by", "provider_id")

# A list parameter in a dialect: ``many(column, placeholder, values)`` gives the clause that
# keeps rows whose ``column`` is one of ``values``, and the parameter to bind to the
# placeholder (SQLite: a JSON array read by json_each; PostgreSQL: an array).
Many = Callable[[str, str, list[str]], tuple[str, Any]]


def checked(send: Send) -> Send:
    """``send`` when every field can be kept (times as floats, the status as plain text);
    StorageError naming the field at fault otherwise."""
    if type(send) is Send and _plain(_fields_of(send)):
        return send  # the common case, in a tenth of the time: a plan may hold 100,000
    if not isinstance(send, Send):
        raise StorageError("a send must be a Send")
    need(send.key, "a send's key")
    need(send.campaign, "a send's campaign")
    need(send.member, "a send's member")
    if not isinstance(send.run, str):
        raise StorageError("a send's run must be text")
    if send.status not in _STATUSES:
        raise StorageError(f"a send's status must be one of {', '.join(sorted(_STATUSES))}")
    for name in _TEXTS:
        if getattr(send, name) is not None and not isinstance(getattr(send, name), str):
            raise StorageError(f"a send's {name} must be text or None")
    attempts = send.attempts
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise StorageError("a send's attempts must be a whole number of at least 0")
    return Send(
        key=str(send.key),
        campaign=str(send.campaign),
        run=str(send.run),
        member=str(send.member),
        status=SendStatus(send.status).value,
        planned_at=need_time(send.planned_at, "a send's planned_at"),
        due=need_time(send.due, "a send's due"),
        expires=need_time(send.expires, "a send's expires"),
        variant=_text_or_none(send.variant),
        channel=_text_or_none(send.channel),
        user=_text_or_none(send.user),
        reason=_text_or_none(send.reason),
        attempts=int(attempts),
        next_try=_time_or_none(send.next_try, "next_try"),
        claimed_by=_text_or_none(send.claimed_by),
        lease_until=_time_or_none(send.lease_until, "lease_until"),
        sent_at=_time_or_none(send.sent_at, "sent_at"),
        delivered_at=_time_or_none(send.delivered_at, "delivered_at"),
        provider_id=_text_or_none(send.provider_id),
        cost=need_time(send.cost, "a send's cost"),
    )


_fields_of = attrgetter(*SEND_FIELDS)


def _plain(row: tuple[Any, ...]) -> bool:
    """Whether a send's fields are already what is kept: texts of type str (not a subclass,
    such as a SendStatus), times of type float and finite, attempts a plain int."""
    (key, campaign, run, member, status, planned_at, due, expires, variant, channel, user,
     reason, attempts, next_try, claimed_by, lease_until, sent_at, delivered_at, provider_id,
     cost) = row  # fmt: skip
    return (
        type(key) is str
        and type(campaign) is str
        and type(run) is str
        and type(member) is str
        and type(status) is str
        and bool(key and campaign and member)
        and status in _STATUSES
        and all(type(t) is float and isfinite(t) for t in (planned_at, due, expires, cost))
        and type(attempts) is int
        and attempts >= 0
        and all(
            t is None or type(t) is str
            for t in (variant, channel, user, reason, claimed_by, provider_id)
        )
        and all(
            t is None or (type(t) is float and isfinite(t))
            for t in (next_try, lease_until, sent_at, delivered_at)
        )
    )


def send_row(send: Send) -> tuple[Any, ...]:
    """``send``, checked, as a row of :data:`SEND_COLUMNS`."""
    out: tuple[Any, ...] = _fields_of(checked(send))
    return out


def to_sends(rows: Iterable[Sequence[Any]]) -> list[Send]:
    return [Send(*row) for row in rows]


def need_run(campaign: object, run: object) -> None:
    """What ``decided`` reads: a campaign and its run (text, "" for once per member)."""
    need(campaign, "a campaign")
    if not isinstance(run, str):
        raise StorageError("a run must be text")


def need_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise StorageError("a claim's limit must be a whole number of at least 0")
    return limit


def need_lease(lease: object) -> float:
    out = need_time(lease, "a claim's lease")
    if out <= 0:
        raise StorageError("a claim's lease must be longer than 0 seconds")
    return out


@dataclass(frozen=True, slots=True)
class Finish:
    """What finishing a send as a status changes: it must be ``leaving`` that status now (and
    held by the worker that finishes it, when ``by_worker``); then ``sets`` are its new field
    values, and ``counts_attempt`` adds one to its attempts."""

    leaving: str
    by_worker: bool
    sets: dict[str, Any]
    counts_attempt: bool = False


def finish_of(
    status: str,
    at: float,
    *,
    worker: str | None,
    reason: str | None,
    provider_id: str | None,
    cost: float,
    next_try: float | None,
) -> Finish:
    """The change ``finish_send(status, ...)`` makes (the port's transitions); StorageError
    for a status a send cannot be finished as, or values that cannot be kept."""
    at = need_time(at, "the time")
    if status == SendStatus.DELIVERED:
        delivered = {"status": SendStatus.DELIVERED.value, "delivered_at": at}
        return Finish(SendStatus.SENT.value, False, delivered)
    if not isinstance(status, str) or status not in _FROM_CLAIMED:
        raise StorageError(
            f"a send is finished as one of {', '.join(sorted((*_FROM_CLAIMED, 'delivered')))},"
            " not as this status"
        )
    need(worker, "the worker finishing a send")
    if reason is not None and not isinstance(reason, str):
        raise StorageError("a send's reason must be text or None")
    # The lease ends with the claim; claimed_by stays, saying who sent (or gave up on) it.
    sets: dict[str, Any] = {"status": SendStatus(status).value, "lease_until": None}
    if status == SendStatus.SENT:
        if provider_id is not None and not isinstance(provider_id, str):
            raise StorageError("a send's provider_id must be text or None")
        sets |= {"sent_at": at, "provider_id": provider_id, "cost": need_time(cost, "the cost")}
        return Finish(SendStatus.CLAIMED.value, True, sets)
    sets["reason"] = reason
    if status == SendStatus.FAILED:
        # Cleared, so that any worker may claim it again once next_try comes.
        sets |= {"next_try": need_time(next_try, "a failed send's next_try"), "claimed_by": None}
        return Finish(SendStatus.CLAIMED.value, True, sets, counts_attempt=True)
    return Finish(SendStatus.CLAIMED.value, True, sets)


_FROM_CLAIMED = frozenset(
    status.value
    for status in (
        SendStatus.SENT,
        SendStatus.FAILED,
        SendStatus.PARKED,
        SendStatus.EXPIRED,
        SendStatus.WITHDRAWN,
    )
)


class SendStatements:
    """The sends' SQL for one dialect: ``mark`` its n-th placeholder (SQLite's numbered, as
    statements here use a parameter twice), ``many`` its list parameter, ``lock`` what a
    claim's inner SELECT ends with (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)."""

    def __init__(self, mark: Mark, many: Many, *, lock: str = "") -> None:
        m = mark
        self.mark, self.many = mark, many
        self.plan = (
            f"INSERT INTO campaign_sends ({SEND_COLUMNS})"
            f" VALUES ({', '.join(m(n) for n in range(1, len(SEND_FIELDS) + 1))})"
            " ON CONFLICT (key) DO NOTHING"
        )
        at = m(3)
        claimable = " OR ".join(
            f"(status = '{status}' AND {since} <= {at})" for status, since in CLAIMABLE
        )
        # The inner SELECT walks the open sends' index in claim order, keeps what may go now
        # (on PostgreSQL locking it, and passing over rows another claim holds) and stops at
        # the limit; the UPDATE takes what it picked. RETURNING gives no order: callers sort.
        self.claim = (
            f"UPDATE campaign_sends SET status = '{SendStatus.CLAIMED.value}',"
            f" claimed_by = {m(1)}, lease_until = {m(2)}"
            f" WHERE key IN (SELECT key FROM campaign_sends"
            f" WHERE {OPEN_SENDS} AND due <= {at} AND ({claimable})"
            f" ORDER BY due, key LIMIT {m(4)} {lock})"
            f" RETURNING {SEND_COLUMNS}"
        )
        self.by_key = f"SELECT {SEND_COLUMNS} FROM campaign_sends WHERE key = {m(1)}"
        self.cursor = f"SELECT at FROM campaign_cursors WHERE name = {m(1)}"
        self.set_cursor = (
            f"INSERT INTO campaign_cursors (name, at) VALUES ({m(1)}, {m(2)})"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at"
        )
        self.take_turn = (
            f"INSERT INTO campaign_cursors (name, at) VALUES ({m(1)}, {m(2)})"
            f" ON CONFLICT (name) DO UPDATE SET at = excluded.at"
            f" WHERE campaign_cursors.at <= {m(3)} RETURNING name"
        )

    def finish(self, key: str, worker: str | None, change: Finish) -> tuple[str, list[Any]]:
        """The conditional UPDATE of ``change``: it returns the key when it moved the send,
        nothing when the send was not in the state it had to leave (a race lost)."""
        m = self.mark
        params: list[Any] = [key, change.leaving]
        where = f"key = {m(1)} AND status = {m(2)}"
        if change.by_worker:
            params.append(worker)
            where += f" AND claimed_by = {m(3)}"
        sets = []
        for name, value in change.sets.items():
            params.append(value)
            sets.append(f"{name} = {m(len(params))}")
        if change.counts_attempt:
            sets.append("attempts = attempts + 1")
        return f"UPDATE campaign_sends SET {', '.join(sets)} WHERE {where} RETURNING key", params

    def known_sessions(self, keys: list[str]) -> tuple[str, list[Any]]:
        clause, param = self.many("key", self.mark(1), keys)
        return f"SELECT key FROM sessions WHERE {clause}", [param]

    def decided(self, campaign: str, run: str, members: list[str]) -> tuple[str, list[Any]]:
        clause, param = self.many("member", self.mark(3), members)
        sql = (
            "SELECT member FROM campaign_sends"
            f" WHERE campaign = {self.mark(1)} AND run = {self.mark(2)} AND {clause}"
        )
        return sql, [campaign, run, param]

    def sends(
        self,
        *,
        campaign: str | None,
        member: str | None,
        statuses: Collection[str] | None,
        since: float | None,
        until: float | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, op, value in (
            ("campaign", "=", campaign),
            ("member", "=", member),
            ("planned_at", ">=", since),
            ("planned_at", "<", until),
        ):
            if value is not None:
                params.append(value)
                clauses.append(f"{column} {op} {self.mark(len(params))}")
        if statuses is not None:
            clause, param = self.many(
                "status", self.mark(len(params) + 1), sorted(map(str, statuses))
            )
            params.append(param)
            clauses.append(clause)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = f"SELECT {SEND_COLUMNS} FROM campaign_sends{where} ORDER BY planned_at, key"
        return sql, params


def check_filters(
    campaign: str | None,
    member: str | None,
    statuses: Collection[str] | None,
    since: float | None,
    until: float | None,
) -> None:
    """The filters of ``sends()``, each given or None; StorageError naming the one at fault."""
    for value, what in ((campaign, "a campaign"), (member, "a member")):
        if value is not None:
            need(value, what)
    if statuses is not None and (
        isinstance(statuses, str) or not all(isinstance(s, str) for s in statuses)
    ):
        raise StorageError("statuses must be a collection of texts")
    for time, name in ((since, "since"), (until, "until")):
        _time_or_none(time, name)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _time_or_none(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        raise StorageError(f"{name} must be a finite number or None")
    return float(value)
