"""The memory store's audience (:class:`~botkit.audience.Audience`): customers, links, consent,
the audience log and one-time codes in dicts, mixed into :class:`~botkit.storage.MemoryStore`.

Like the rest of that store, no method awaits anything before it has done its work, so each is
atomic with respect to the others on the event loop (two concurrent ``take_code`` calls: one
user). Profiles and log data are kept as JSON text, so nobody can mutate what is stored.

Segments are evaluated in Python over an :class:`AudienceView` of the store (the SQL stores
compile them to one query instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from botkit.audience.model import AudienceEntry, Consent, ConsentChange, Customer
from botkit.errors import StorageError
from botkit.records import BusinessEvent, Record
from botkit.storage.audience_rows import (
    CONSENT_COLUMN,
    CONSENTED,
    KEPT_TWICE,
    LINK_CODE,
    LINKED,
    NONCE,
    UNLINKED,
    changed_profiles,
    consent_dict,
    consent_update,
    log_row,
    merged,
    need,
    need_time,
    profile_of,
    profile_text,
    to_entries,
)

if TYPE_CHECKING:
    from botkit.segments.model import Segment

__all__ = ["AudienceView", "MemoryAudience"]


@dataclass(frozen=True, slots=True)
class AudienceView:
    """A read-only picture of a memory store's audience, taken when a segment is evaluated:
    what :func:`botkit.segments.evaluate.members_at` reads (as ``audience=``), read by
    attribute. The same picture is handed out again until something is written
    (:meth:`MemoryAudience.audience_view`), so it is shared: its mappings cannot be changed,
    and it holds copies (profiles parsed anew from their JSON), so a later write never shows
    in a picture already taken.

    * ``customers``: customer id → their profile (attribute → JSON value), every customer
      the store knows (one only linked, never sent a profile, has ``{}``);
    * ``identities``: channel user (as ``Record.user`` / ``BusinessEvent.user`` name them)
      → the customer id they are linked to now; an unlinked user is absent;
    * ``consents``: member (customer id or ``user:<user>``) → :class:`Consent`; a member never
      asked is absent (read as ``Consent()``);
    * ``events``: every business event (``BusinessEvent``, its ``customer`` field set when the
      shop named the customer), ordered by ``(at, id)``;
    * ``records``: every record (``Record``; goals are kind ``"goal"`` with ``data["goal"]``,
      variants in ``variant``), ordered by ``(at, session, seq)``.

    Nothing is filtered by time: the evaluator keeps what has ``at <= t`` itself.
    """

    customers: Mapping[str, Mapping[str, Any]]
    identities: Mapping[str, str]
    consents: Mapping[str, Consent]
    events: Sequence[BusinessEvent]
    records: Sequence[Record]


class MemoryAudience:
    """The Audience half of MemoryStore. The store provides ``_check_open`` and its public
    ``records``/``events`` reads (which segments read); this class keeps everything else."""

    def __init__(self) -> None:
        self._customers: dict[str, tuple[str, float]] = {}  # id -> (profile JSON, updated_at)
        self._identities: dict[str, tuple[str, float, str]] = {}  # user -> (customer, at, source)
        self._consents: dict[str, Consent] = {}
        self._log: list[tuple[Any, ...]] = []  # rows of audience_log, as the SQL stores keep them
        # code -> (purpose, user, expires_at, used_at)
        self._one_time: dict[str, tuple[str, str | None, float, float | None]] = {}
        self._profile_writes = 0
        # The last view handed to the evaluator, and what the store held then: a view costs a
        # sort of every event and record, and `botkit segments` asks for one per segment.
        self._view: tuple[tuple[int, ...], AudienceView] | None = None

    def _check_open(self) -> None:  # the store's own replaces it
        raise NotImplementedError

    def _sizes(self) -> tuple[int, int]:  # the store's own replaces it: (records, events)
        raise NotImplementedError

    async def records(self) -> list[Record]:  # the store's own replaces it
        raise NotImplementedError

    async def events(self) -> list[BusinessEvent]:  # the store's own replaces it
        raise NotImplementedError

    # --- profiles ------------------------------------------------------------------------------

    async def put_profile(
        self, customer: str, profile: Mapping[str, Any], at: float, *, merge: bool
    ) -> dict[str, Any]:
        self._check_open()
        need(customer, "a customer id")
        need_time(at, "the time")
        if merge:
            stored = self._customers.get(customer)
            profile = merged(profile_of(stored[0]) if stored else {}, profile)
        text = profile_text(profile)
        self._customers[customer] = (text, at)
        self._profile_writes += 1
        return profile_of(text)

    async def put_profiles(self, rows: Sequence[tuple[str, Mapping[str, Any]]], at: float) -> int:
        self._check_open()
        need_time(at, "the time")
        texts = [(need(customer, "a customer id"), profile_text(p)) for customer, p in rows]
        # every row checked first (above): all or nothing
        stored = {c: self._customers[c][0] for c, _ in texts if c in self._customers}
        changed = changed_profiles(texts, stored)
        for customer, text in changed.items():
            self._customers[customer] = (text, at)
            self._profile_writes += 1
        return len(changed)

    async def customer(self, customer: str) -> Customer | None:
        self._check_open()
        need(customer, "a customer id")
        stored = self._customers.get(customer)
        if stored is None:
            return None
        users = sorted(u for u, (c, _, _) in self._identities.items() if c == customer)
        return Customer(
            customer,
            profile_of(stored[0]),
            self._consents.get(customer, Consent()),
            tuple(users),
            stored[1],
        )

    # --- links ---------------------------------------------------------------------------------

    async def link(self, user: str, customer: str, at: float, source: str) -> bool:
        self._check_open()
        need(user, "a user")
        need(customer, "a customer id")
        need(source, "a link's source")
        need_time(at, "the time")
        old = self._identities.get(user)
        if old is not None and old[0] == customer:
            return False
        if old is not None:
            self._log.append(log_row(at, UNLINKED, old[0], user, source))
        self._customers.setdefault(customer, (profile_text({}), at))
        self._identities[user] = (customer, at, source)
        self._log.append(log_row(at, LINKED, customer, user, source))
        return True

    async def unlink(
        self, user: str, at: float, source: str, *, linked_by: str | None = None
    ) -> bool:
        self._check_open()
        need(user, "a user")
        need(source, "an unlink's source")
        need_time(at, "the time")
        old = self._identities.get(user)
        if old is None or (linked_by is not None and old[2] != linked_by):
            return False
        del self._identities[user]
        self._log.append(log_row(at, UNLINKED, old[0], user, source))
        return True

    async def customer_of(self, user: str) -> str | None:
        self._check_open()
        need(user, "a user")
        linked = self._identities.get(user)
        return None if linked is None else linked[0]

    async def links(self) -> dict[str, str]:
        self._check_open()
        return {user: customer for user, (customer, _, _) in self._identities.items()}

    # --- consent -------------------------------------------------------------------------------

    async def consenting(self, which: Literal["marketing", "night"]) -> set[str]:
        self._check_open()
        return {
            m for m, said in self._consents.items() if getattr(said, CONSENT_COLUMN[which]) is True
        }

    async def consent(self, member: str) -> Mapping[str, Any]:
        self._check_open()
        need(member, "a member")
        return consent_dict(self._consents.get(member, Consent()))

    async def change_consent(self, member: str, change: ConsentChange) -> bool:
        self._check_open()
        need(member, "a member")
        stored = self._consents.get(member, Consent())
        columns, changed = consent_update(change, stored)
        if not changed:
            return False
        self._consents[member] = replace(stored, **columns)
        self._log.append(log_row(change.at, CONSENTED, member, None, change.source, changed))
        return True

    async def audience_log(
        self,
        *,
        member: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[AudienceEntry]:
        self._check_open()
        if member is not None:
            need(member, "a member")
        rows = [
            row
            for row in self._log
            if (member is None or row[2] == member)
            and (since is None or row[0] >= since)
            and (until is None or row[0] < until)
        ]
        rows.sort(key=lambda row: row[0])  # stable: insertion order within one instant
        return to_entries(rows)

    # --- one-time codes and nonces -------------------------------------------------------------

    async def put_code(self, code: str, user: str, expires_at: float) -> None:
        self._check_open()
        need(code, "a link code")
        need(user, "a user")
        need_time(expires_at, "the expiry time")
        if code in self._one_time:
            raise StorageError(KEPT_TWICE)
        self._one_time[code] = (LINK_CODE, user, expires_at, None)

    async def take_code(self, code: str, at: float) -> str | None:
        self._check_open()
        need(code, "a link code")
        need_time(at, "the time")
        kept = self._one_time.get(code)
        if kept is None:
            return None
        purpose, user, expires_at, used_at = kept
        if purpose != LINK_CODE or used_at is not None or at >= expires_at:
            return None
        self._one_time[code] = (purpose, user, expires_at, at)
        return user

    async def first_use(self, nonce: str, expires_at: float, at: float) -> bool:
        self._check_open()
        need(nonce, "a nonce")
        need_time(expires_at, "the expiry time")
        need_time(at, "the time")
        for code, kept in list(self._one_time.items()):
            if kept[2] < at:
                del self._one_time[code]
        if nonce in self._one_time:
            return False
        self._one_time[nonce] = (NONCE, None, expires_at, at)
        return True

    # --- segments ------------------------------------------------------------------------------

    async def segment_members(self, segment: Segment, at: float) -> list[str]:
        from botkit.segments.evaluate import members_at  # written beside this; no cycle at import

        self._check_open()
        need_time(at, "the instant")
        view = await self.audience_view()
        return members_at(segment, at, audience=view)

    async def audience_view(self) -> AudienceView:
        """The store's audience as :class:`AudienceView` (for the segment evaluator); the same
        view again while nothing was written (records and events are only ever added, and
        every link, unlink and consent change adds a log row)."""
        self._check_open()
        # (each profile write counted; a link may create a customer, and logs a row)
        key = (*self._sizes(), len(self._log), self._profile_writes)
        if self._view is not None and self._view[0] == key:
            return self._view[1]
        customers = {c: MappingProxyType(profile_of(t)) for c, (t, _) in self._customers.items()}
        view = AudienceView(
            customers=MappingProxyType(customers),
            identities=MappingProxyType({u: c for u, (c, _, _) in self._identities.items()}),
            consents=MappingProxyType(dict(self._consents)),
            events=tuple(await self.events()),
            records=tuple(await self.records()),
        )
        self._view = (key, view)
        return view
