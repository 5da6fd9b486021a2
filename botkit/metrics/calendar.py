"""Report time: the period a report covers, and the bot's days and weeks it is cut into.

Days are the bot's days (``Bot.timezone``), never the machine's: a purchase at 23:30 in Seoul
belongs to that day in Seoul wherever the report runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = ["ALL_TIME", "Period", "day_of", "day_period", "midnight", "week_of"]


@dataclass(frozen=True, slots=True)
class Period:
    """``[since, until)`` as timestamps; None leaves that side open (everything)."""

    since: float | None = None
    until: float | None = None

    def holds(self, at: float) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def within(self, other: Period) -> Period:
        """The part of this period that is also in ``other``."""
        since = [s for s in (self.since, other.since) if s is not None]
        until = [u for u in (self.until, other.until) if u is not None]
        return Period(max(since, default=None), min(until, default=None))


ALL_TIME = Period()


def midnight(day: dt.date, zone: str) -> float:
    """The timestamp at which ``day`` begins in ``zone``."""
    return dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).timestamp()


def day_of(at: float, zone: str) -> dt.date:
    return dt.datetime.fromtimestamp(at, ZoneInfo(zone)).date()


def week_of(at: float, zone: str) -> str:
    """The ISO week ``at`` falls in, in ``zone``: "2026-W48" (weeks start on Monday)."""
    year, week, _ = day_of(at, zone).isocalendar()
    return f"{year}-W{week:02d}"


def day_period(day: str, zone: str) -> Period:
    """The period of one day ("2026-12-01"), midnight to midnight in ``zone``."""
    date = dt.date.fromisoformat(day)
    return Period(midnight(date, zone), midnight(date + dt.timedelta(days=1), zone))
