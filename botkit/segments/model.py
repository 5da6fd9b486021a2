"""A segment as the compiler leaves it: a name, a title and a condition tree (the AST).

Every node is a frozen dataclass, so a compiled segment is a value: hashable, shared by every
evaluation, and the same whichever store evaluates it. ``segment.<name>`` references are
resolved by the compiler into the tree (:attr:`SegmentRef.expr`), so one :class:`Segment`
carries everything needed to evaluate it, and a store's ``segment_members(segment, at)`` needs
nothing else. ``offset`` fields are character offsets in the ``when:`` text, for problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as Lit, TypeAlias

__all__ = [
    "CHANNEL_KINDS",
    "DAY",
    "All",
    "AnyOf",
    "Attr",
    "Behaviour",
    "ConsentIs",
    "Expr",
    "GoalReached",
    "Not",
    "Scalar",
    "Segment",
    "SegmentRef",
    "VariantOf",
    "Window",
]

DAY = 86400.0
CHANNEL_KINDS = ("channel_added", "channel_blocked")  # events botkit records itself (Kakao)

Scalar: TypeAlias = str | int | float | bool
AttrOp: TypeAlias = Lit["=", "!=", "<", "<=", ">", ">=", "in", "set"]


@dataclass(frozen=True, slots=True)
class Window:
    """The time an event must fall in, as distances back from the instant ``t``: an event at
    ``at`` counts when ``t - start < at <= t - end``; ``start`` None is no lower bound (ever).

    ``within 24h`` is ``Window(86400, 0)``; ``3 days ago`` is ``Window(4 days, 3 days)``, the
    third day-long window back; ``ever`` is ``Window(None, 0)``.
    """

    start: float | None
    end: float = 0.0
    text: str = "ever"  # as written, for messages and listings

    @property
    def ever(self) -> bool:
        return self.start is None


EVER = Window(None, 0.0, "ever")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """``cart_added [where product = "padding"] [at least 3 times] within 24h``: how many
    business events of ``kind`` (with ``data[field] == value``) fall in the window, between
    ``at_least`` and ``at_most`` (None: no bound). ``at most K`` alone counts zero events too."""

    kind: str
    window: Window
    at_least: int | None = 1
    at_most: int | None = None
    field: str | None = None
    value: Scalar | None = None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class GoalReached:
    """``reached goal order_checked [within 30d]``: a ``goal`` record of the member."""

    goal: str
    window: Window = EVER
    offset: int = 0


@dataclass(frozen=True, slots=True)
class VariantOf:
    """``variant B of greeting_title``: a record of the member in that variant."""

    variant: str
    experiment: str
    offset: int = 0
    experiment_offset: int = 0

    @property
    def pair(self) -> str:
        return f"{self.experiment}:{self.variant}"


@dataclass(frozen=True, slots=True)
class Attr:
    """``profile.grade = "VIP"``, ``profile.region in ["서울", "경기"]``, ``profile.age is set``.

    A comparison holds only between values of one kind (numbers, texts, true/false); a missing
    attribute, or one of another kind, makes ``=``, ``in`` and the orderings false and ``!=``
    true (``!=`` is ``not =``). A list attribute (``interests``) holds for ``=``/``in`` when it
    contains the value (any of them); orderings on a list are false."""

    name: str
    op: AttrOp
    values: tuple[Scalar, ...] = ()  # one value, the list for 'in', none for 'is set'
    offset: int = 0
    value_offsets: tuple[int, ...] = ()  # where each value is written


@dataclass(frozen=True, slots=True)
class ConsentIs:
    """``consent.marketing`` / ``consent.night``: the member said yes (never asked is no)."""

    which: Lit["marketing", "night"]
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """``segment.vip_women``: the members of another segment (``expr``: its condition, filled in
    by the compiler; None only straight out of the parser)."""

    name: str
    offset: int = 0
    expr: Expr | None = None


@dataclass(frozen=True, slots=True)
class Not:
    inner: Expr


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Expr, ...]


Expr: TypeAlias = (
    Behaviour | GoalReached | VariantOf | Attr | ConsentIs | SegmentRef | Not | All | AnyOf
)


@dataclass(frozen=True, slots=True)
class Segment:
    """A named segment of bot.yaml's ``segments:``: ``when`` is its condition as written,
    ``expr`` the tree; ``source``, ``line`` and ``column`` where ``when:`` is (for messages)."""

    name: str
    title: str
    expr: Expr
    when: str = ""
    source: str = ""
    line: int = 0
    column: int = 0
