"""The port a store keeps the audience behind. Every store (memory, SQLite, PostgreSQL)
implements it beside :class:`~botkit.storage.Store`; every method raises only
:class:`~botkit.errors.StorageError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from botkit.audience.model import AudienceEntry, ConsentChange, Customer
from botkit.segments.model import Segment

__all__ = ["Audience"]


@runtime_checkable
class Audience(Protocol):
    async def put_profile(
        self, customer: str, profile: Mapping[str, Any], at: float, *, merge: bool
    ) -> dict[str, Any]:
        """Create the customer if new and store their profile: ``merge=False`` replaces it
        (PUT), ``merge=True`` merges it key by key, a ``None`` value removing that key (PATCH).
        Returns the profile as stored. The caller has checked it against the profile schema."""

    async def put_profiles(self, rows: Sequence[tuple[str, Mapping[str, Any]]], at: float) -> int:
        """An import: each ``(customer, profile)`` replaces that customer's profile, in one
        transaction. Returns how many customers changed (a profile equal to the stored one
        changes nothing, so importing the same file twice changes nothing the second time)."""

    async def customer(self, customer: str) -> Customer | None:
        """The customer with their profile, consent and linked users (None: unknown)."""

    async def link(self, user: str, customer: str, at: float, source: str) -> bool:
        """Link channel ``user`` to ``customer`` (created if new), logging ``linked``. A user
        linked to another customer is unlinked from it first (logged). False when the user was
        already linked to this customer (nothing logged)."""

    async def unlink(
        self, user: str, at: float, source: str, *, linked_by: str | None = None
    ) -> bool:
        """Unlink ``user`` from their customer, logging ``unlinked``; False if not linked.
        ``linked_by``: only a link made by that source (a page that no longer names its
        customer undoes what the page's token did, not the shop's own links); False if the
        link is another's."""

    async def customer_of(self, user: str) -> str | None:
        """The customer ``user`` is linked to, if any."""

    async def links(self) -> dict[str, str]:
        """Every current link, channel user → customer (what reports attribute through)."""

    async def consent(self, member: str) -> Mapping[str, Any]:
        """The member's consent as ``dataclasses.asdict(Consent)`` would give it."""

    async def consenting(self, which: Literal["marketing", "night"]) -> set[str]:
        """Every member whose ``which`` consent is yes now (never asked is no): one read,
        for a campaign's plan and its sender (``consent.<which>`` as a segment would also
        check each is part of the audience, which a send has checked already)."""

    async def change_consent(self, member: str, change: ConsentChange) -> bool:
        """Set the consent fields ``change`` gives for ``member`` (a customer id or
        ``user:<user>``), logging ``consent`` with the fields it set. The newer word wins,
        field by field, so a late or stale sender cannot undo what the member said:

        * a field whose stored ``<field>_at`` is later than ``change.at`` is left as stored;
        * an import (source ``"import"``) never turns a consent back on that the member
          withdrew with the opt-out words (source ``"opt_out_words"``), unless the import
          says when (``change.dated``) and that is after the withdrawal.

        True when it set a field; False when the change gives none or each one it gives is
        left as stored (nothing is logged then)."""

    async def audience_log(
        self,
        *,
        member: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[AudienceEntry]:
        """Log entries with ``since <= at < until`` (of ``member``), by time then insertion."""

    async def put_code(self, code: str, user: str, expires_at: float) -> None:
        """Keep a one-time account-link code (the caller stores a hash, never the code). It
        forgets nothing itself: the press that makes a code first spends its button's nonce
        (:meth:`first_use`), which forgets what expired."""

    async def take_code(self, code: str, at: float) -> str | None:
        """The user a code was made for, once: a code used before, expired (``at >=
        expires_at``) or unknown gives None. Atomic: two concurrent takes, one user."""

    async def first_use(self, nonce: str, expires_at: float, at: float) -> bool:
        """True the first time ``nonce`` is seen (kept until ``expires_at``), False after:
        what refuses a replayed identity token. Forgets nonces that expired before ``at``."""

    async def segment_members(self, segment: Segment, at: float) -> list[str]:
        """The members in ``segment`` at instant ``at``, distinct and sorted: set-based (one
        SQL query, :mod:`botkit.storage.segments_sql`) on SQL stores, the Python evaluator
        (:mod:`botkit.segments.evaluate`) on the memory store."""
