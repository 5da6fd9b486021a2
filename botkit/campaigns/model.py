"""A campaign as the compiler leaves it (``campaigns.yaml`` beside the flows): frozen values,
shared by every plan and every send.

A campaign says **when** someone becomes a candidate (:class:`Trigger`), **who** may be one (an
audience segment, less each named :class:`Exclusion`), **what** they are sent (a
:class:`Variant`'s messages, and the flow state that reads their reply), and the rules every send
obeys: the holdout share that is sent nothing, the expiry after which an unsent message is
dropped, and, for advertising, the consent and the quiet window. :class:`Outreach` holds what all
campaigns share: the caps per customer across campaigns, the quiet window and the time zone.

Times are seconds (durations) or seconds since the epoch (instants); wall-clock hours are read
in :attr:`Outreach.timezone`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from botkit.flow.model import Message, Target
from botkit.segments.model import Segment

__all__ = [
    "ADVERTISING",
    "INFORMATIONAL",
    "Campaign",
    "Caps",
    "Exclusion",
    "Outreach",
    "Schedule",
    "Trigger",
    "Variant",
]

ADVERTISING = "advertising"  # 광고성 정보: consent, the quiet window, "(광고)" and opt-out text
INFORMATIONAL = "informational"  # an order update, an answer the customer asked for
Kind = Literal["advertising", "informational"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """``at 2026-12-10 10:00`` (one run, ``once`` set) or ``every day at 10:00`` / ``every mon
    at 10:00`` (a run each such day, ``weekdays`` 0=Mon..6=Sun), in the outreach time zone."""

    hour: int
    minute: int
    once: str | None = None  # "YYYY-MM-DD" for a single run
    weekdays: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class Trigger:
    """What makes someone a candidate, written as one line in the campaign:

    * ``cart_added``: a business event of that kind (due at once);
    * ``1 hour after cart_added``, ``3 days after channel_added``: due ``delay`` after it;
    * ``entering segment vip_dormant``: the first planning instant they are in the segment;
    * ``at 2026-12-10 10:00``, ``every day at 10:00``: a scheduled run, its audience read then.
    """

    kind: Literal["event", "segment", "schedule"]
    text: str  # as written, for messages and listings
    event: str | None = None  # the business event kind ("event")
    delay: float = 0.0  # seconds after the event ("event")
    segment: str | None = None  # the segment entered ("segment")
    schedule: Schedule | None = None  # ("schedule")
    entered: Segment | None = None  # the segment entered, compiled ("segment")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A named rule that takes candidates out (``recent_buyers: purchase within 24h``), so a
    plan and a report can say how many each rule excluded. ``segment`` is the condition
    compiled as a segment named ``<campaign>.<rule>``."""

    name: str
    segment: Segment


@dataclass(frozen=True, slots=True)
class Variant:
    """One version of the message, drawn with probability ``weight / sum(weights)`` among the
    members not held out."""

    name: str
    weight: float
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class Caps:
    """How many campaign messages one member may be sent: per calendar day and per 7 days
    (rolling), in the outreach time zone. None: no cap."""

    per_day: int | None = None
    per_week: int | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    title: str
    kind: Kind
    trigger: Trigger
    variants: tuple[Variant, ...]
    audience: Segment | None = None  # None: everyone the trigger names
    exclusions: tuple[Exclusion, ...] = ()
    channels: tuple[str, ...] = ("kakao", "web")  # tried in order: the first the member has
    opens: Target | None = None  # the state that reads the reply; None: the bot's start
    holdout: float = 0.0  # share of members sent nothing (the control group), 0..0.5
    expires: float = 86400.0  # seconds after it was due; unsent by then, it is dropped
    send_at: Literal["due", "best_hour"] = "due"  # best_hour: this member's most active hour
    caps: Caps = Caps()  # this campaign's own caps per member, besides Outreach.caps
    starts: float | None = None  # instants; outside them nobody becomes a candidate
    ends: float | None = None
    window: float = 7 * 86400.0  # a purchase within this long after the send is a conversion
    cost: float = 0.0  # per message sent (Kakao's Event API: 15 KRW), for ROI
    source: str = ""  # the file it was written in, for listings

    @property
    def advertising(self) -> bool:
        return self.kind == ADVERTISING


# The quiet window for advertising, in minutes after midnight: the law wants separate consent
# from 21:00 to 08:00 (정보통신망법 §50), and dealers cut earlier (one blocks from 20:00), so
# by default nothing advertising leaves from 20:50 until 08:00 without night-time consent.
DEFAULT_QUIET = (20 * 60 + 50, 8 * 60)


@dataclass(frozen=True, slots=True)
class Outreach:
    """Everything the campaigns share (``campaigns.yaml`` top level)."""

    campaigns: Mapping[str, Campaign] = field(default_factory=lambda: MappingProxyType({}))
    caps: Caps = Caps()  # per member across all campaigns
    quiet: tuple[int, int] = DEFAULT_QUIET  # (from, until) minutes after midnight
    timezone: str = "Asia/Seoul"
