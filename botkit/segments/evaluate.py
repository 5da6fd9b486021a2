"""Answering a segment in Python over data held in memory: who is in it at an instant
(:func:`members_at`, the memory store's ``segment_members``), or whether one member is
(:func:`is_member`, for a flow's ``if: segment.<name>``).

The meaning is the one the SQL stores give (``botkit.storage.segments_sql``), and the planted
acceptance test holds the three to one brute-force count:

* a **member** is a customer id, or ``user:<user>`` for a channel user linked to no customer
  (:func:`~botkit.audience.member_of`). A business event counts for its ``customer`` when the
  shop named one, else for its user's member; a record for its user's member. Links are read
  as they are *now*, not as they were at the instant: a user who linked yesterday brings the
  week before along.
* only events and records with ``at <= t`` exist at ``t``; a window ``(start, end)`` keeps
  those with ``t - start < at <= t - end``.
* the **universe** ``not`` negates against: every customer, and every member with an event or a
  record, whenever: the audience as it is known now (like the links).

The work is O(data): a pass over the events indexes those of one kind by member, times sorted
(only the kinds a segment counts), a pass over the records their goals and variants, and each
window is then two binary searches; a condition is worked out as a set of members, node by node.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Protocol

from botkit.audience.model import Consent, member_of
from botkit.records import BusinessEvent, Record, RecordKind
from botkit.segments.model import (
    All,
    AnyOf,
    Attr,
    Behaviour,
    ConsentIs,
    Expr,
    GoalReached,
    Not,
    Scalar,
    Segment,
    SegmentRef,
    VariantOf,
    Window,
)

__all__ = ["AudienceData", "Index", "compare", "is_member", "members_at"]


class AudienceData(Protocol):
    """What the evaluator reads (the memory store's ``AudienceView`` is one): customer id →
    profile, channel user → linked customer, member → consent, every event, every record."""

    @property
    def customers(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def identities(self) -> Mapping[str, str]: ...
    @property
    def consents(self) -> Mapping[str, Consent]: ...
    @property
    def events(self) -> Sequence[BusinessEvent]: ...
    @property
    def records(self) -> Sequence[Record]: ...


def members_at(segment: Segment, at: float, *, audience: AudienceData) -> list[str]:
    """The members in ``segment`` at instant ``at``, sorted."""
    index = Index(audience, at)
    return sorted(index.members(segment.expr))


def is_member(segment: Segment, member: str, at: float, *, audience: AudienceData) -> bool:
    """Whether ``member`` is in ``segment`` at ``at``. ``audience`` may hold only this member's
    own events, records, links and profile (what a flow's turn fetches): nothing else is read.
    The member asked about counts as part of the universe even with no event or record yet."""
    index = Index(audience, at)
    return index.holds(segment.expr, member)


def _kind(value: Any) -> str | None:
    """Which values compare with each other: numbers (not true/false), texts, true/false."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return None


def _equal(stored: Any, value: Scalar) -> bool:
    kind = _kind(value)
    if isinstance(stored, list):
        return any(_kind(item) == kind and item == value for item in stored)
    return _kind(stored) == kind and bool(stored == value)


def compare(stored: Any, op: str, values: Sequence[Scalar]) -> bool:
    """A profile attribute's value (or an event's field) against an :class:`Attr`'s ``op``.
    Values of different kinds are never equal nor ordered; ``!=`` is ``not =``; a list
    attribute is ``=`` to each value it holds."""
    if op == "set":
        return stored is not None
    if op == "=":
        return _equal(stored, values[0])
    if op == "!=":
        return not _equal(stored, values[0])
    if op == "in":
        return any(_equal(stored, v) for v in values)
    value = values[0]
    kind = _kind(value)
    if kind == "bool" or isinstance(stored, list) or _kind(stored) != kind:
        return False
    if op == "<":
        return bool(stored < value)
    if op == "<=":
        return bool(stored <= value)
    if op == ">":
        return bool(stored > value)
    return bool(stored >= value)


class Index:
    """The audience at instant ``t``, indexed by member as it is asked for: the times of the
    events of each kind the conditions count (with their data, in the same order), goal times
    by goal, the experiment variants each member was seen in, the universe. Each part is built
    on first use, in one pass over the data, so a segment reads only what it needs."""

    def __init__(self, audience: AudienceData, t: float) -> None:
        self.t = t
        self.audience = audience
        self.profiles = audience.customers
        self.consents = audience.consents
        self._members: dict[str, str] = {}  # user -> member, as links are now
        # kind -> member -> (times sorted, data in the same order)
        self._events: dict[str, dict[str, tuple[list[float], list[Any]]]] = {}
        self._records: tuple[dict[str, dict[str, list[float]]], dict[str, set[str]]] | None = None
        self._universe: frozenset[str] | None = None

    def member(self, user: str) -> str:
        found = self._members.get(user)
        if found is None:
            found = self._members[user] = member_of(user, self.audience.identities.get(user))
        return found

    def events(self, kind: str) -> dict[str, tuple[list[float], list[Any]]]:
        """Member → the times (sorted) and data of their events of ``kind`` at or before t."""
        if kind in self._events:
            return self._events[kind]
        t, member = self.t, self.member
        found: dict[str, tuple[list[float], list[Any]]] = {}
        for e in self.audience.events:
            if e.kind == kind and e.at <= t:
                who = e.customer if e.customer is not None else member(e.user)
                lists = found.get(who)
                if lists is None:
                    lists = found[who] = ([], [])
                lists[0].append(e.at)
                lists[1].append(e.data)
        for who, (ats, datas) in found.items():
            if any(a > b for a, b in pairwise(ats)):  # mostly in time order already
                order = sorted(range(len(ats)), key=ats.__getitem__)
                found[who] = ([ats[i] for i in order], [datas[i] for i in order])
        self._events[kind] = found
        return found

    def records(self) -> tuple[dict[str, dict[str, list[float]]], dict[str, set[str]]]:
        """Member → goal → times reached (sorted), and member → the variants seen."""
        if self._records is not None:
            return self._records
        goals: dict[str, dict[str, list[float]]] = {}
        variants: dict[str, set[str]] = {}
        for r in self.audience.records:
            if r.at > self.t:
                continue
            who = self.member(r.user)
            if r.kind == RecordKind.GOAL and r.data and isinstance(r.data.get("goal"), str):
                goals.setdefault(who, {}).setdefault(r.data["goal"], []).append(r.at)
            if r.variant:
                variants.setdefault(who, set()).update(r.variant.split(","))
        for by_goal in goals.values():
            for ats in by_goal.values():
                ats.sort()
        self._records = (goals, variants)
        return self._records

    @property
    def universe(self) -> frozenset[str]:
        """Whom 'not' negates against: every customer, and every member with an event or a
        record, whenever (the audience as known now)."""
        if self._universe is None:
            events, records = self.audience.events, self.audience.records
            everyone = set(self.profiles)
            everyone.update({e.customer for e in events if e.customer is not None})
            users = {e.user for e in events if e.customer is None} | {r.user for r in records}
            everyone.update(map(self.member, users))
            self._universe = frozenset(everyone)
        return self._universe

    # --- one member -----------------------------------------------------------------------

    def holds(self, expr: Expr, member: str) -> bool:
        if isinstance(expr, All):
            return all(self.holds(e, member) for e in expr.items)
        if isinstance(expr, AnyOf):
            return any(self.holds(e, member) for e in expr.items)
        if isinstance(expr, Not):
            return not self.holds(expr.inner, member)
        if isinstance(expr, SegmentRef):
            return expr.expr is not None and self.holds(expr.expr, member)
        if isinstance(expr, Behaviour):
            return _within_count(expr, self.count(expr, member))
        if isinstance(expr, GoalReached):
            ats = self.records()[0].get(member, {}).get(expr.goal, [])
            return _in_window(ats, expr.window, self.t)[1] > 0
        if isinstance(expr, VariantOf):
            return expr.pair in self.records()[1].get(member, ())
        if isinstance(expr, ConsentIs):
            consent = self.consents.get(member)
            said = None if consent is None else getattr(consent, expr.which)
            return said is True
        return compare(self.profiles.get(member, {}).get(expr.name), expr.op, expr.values)

    def count(self, expr: Behaviour, member: str) -> int:
        """How many of the member's events of the behaviour's kind (and field) fall in its
        window."""
        found = self.events(expr.kind).get(member)
        return self.counted(expr, found) if found else 0

    def counted(self, expr: Behaviour, found: tuple[list[float], list[Any]]) -> int:
        ats, datas = found
        start, n = _in_window(ats, expr.window, self.t)
        if expr.field is None:
            return n
        assert expr.value is not None
        field, value = expr.field, expr.value
        return sum(
            1
            for data in datas[start : start + n]
            if isinstance(data, Mapping) and _equal(data.get(field), value)
        )

    # --- everyone -------------------------------------------------------------------------

    def members(self, expr: Expr) -> set[str]:
        """Everyone in the universe for whom ``expr`` holds, worked out as sets."""
        if isinstance(expr, All):
            result = self.members(expr.items[0])
            for item in expr.items[1:]:
                if not result:
                    break
                result &= self.members(item)
            return result
        if isinstance(expr, AnyOf):
            return set().union(*(self.members(e) for e in expr.items))
        if isinstance(expr, Not):
            return set(self.universe - self.members(expr.inner))
        if isinstance(expr, SegmentRef):
            return self.members(expr.expr) if expr.expr is not None else set()
        if isinstance(expr, Behaviour):
            having = self.events(expr.kind)
            if _within_count(expr, 0):  # "at most 2 times": everyone, less who did it more
                return set(self.universe) - {
                    m for m, f in having.items() if not _within_count(expr, self.counted(expr, f))
                }
            return {m for m, f in having.items() if _within_count(expr, self.counted(expr, f))}
        if isinstance(expr, GoalReached):
            return {m for m in self.records()[0] if self.holds(expr, m)}
        if isinstance(expr, VariantOf):
            return {m for m, pairs in self.records()[1].items() if expr.pair in pairs}
        if isinstance(expr, ConsentIs):
            universe, which = self.universe, expr.which
            return {
                m for m, c in self.consents.items() if getattr(c, which) is True and m in universe
            }
        assert isinstance(expr, Attr)
        name, op, values = expr.name, expr.op, expr.values
        found = {m for m, p in self.profiles.items() if compare(p.get(name), op, values)}
        if compare(None, op, values):  # '!=': also whoever has no profile
            found |= self.universe - self.profiles.keys()
        return found


def _within_count(expr: Behaviour, count: int) -> bool:
    low = expr.at_least or 0
    return count >= low and (expr.at_most is None or count <= expr.at_most)


def _in_window(ats: Sequence[float], window: Window, t: float) -> tuple[int, int]:
    """Where the times of the sorted ``ats`` in ``window`` at ``t`` begin, and how many."""
    high = bisect_right(ats, t - window.end)
    low = 0 if window.start is None else bisect_right(ats, t - window.start, 0, high)
    return low, high - low
