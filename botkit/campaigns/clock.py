"""Campaign time on the wall clock: the quiet window, scheduled runs and the hour of day, read
in the outreach time zone (an instant stays seconds since the epoch everywhere else).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from botkit.campaigns.model import Schedule

__all__ = ["at_hour", "day_of", "hour_of", "in_quiet", "instant", "quiet_end", "runs_between"]


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(at: float, tz: str) -> datetime:
    return datetime.fromtimestamp(at, _zone(tz))


def instant(day: date, hour: int, minute: int, tz: str) -> float:
    """The instant of ``day`` at ``hour:minute`` on the wall clock of ``tz``."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=_zone(tz)).timestamp()


def day_of(at: float, tz: str) -> date:
    """The calendar day ``at`` falls on in ``tz`` (what a cap per day counts by)."""
    return _local(at, tz).date()


def hour_of(at: float, tz: str) -> int:
    return _local(at, tz).hour


def _minutes(at: float, tz: str) -> int:
    moment = _local(at, tz)
    return moment.hour * 60 + moment.minute


def in_quiet(at: float, quiet: tuple[int, int], tz: str) -> bool:
    """Whether ``at`` falls in the quiet window ``(from, until)`` (minutes after midnight; a
    window across midnight, such as 20:50–08:00, is the usual one)."""
    start, end = quiet
    now = _minutes(at, tz)
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def quiet_end(at: float, quiet: tuple[int, int], tz: str) -> float:
    """The first instant after ``at`` at which the quiet window is over (``at`` itself when it
    is not quiet): when an advertising message deferred by the window may go."""
    if not in_quiet(at, quiet, tz):
        return at
    end = quiet[1]
    moment = _local(at, tz)
    day = moment.date()
    if moment.hour * 60 + moment.minute >= end:  # before midnight: the window ends tomorrow
        day += timedelta(days=1)
    return instant(day, end // 60, end % 60, tz)


def runs_between(
    schedule: Schedule, tz: str, since: float, until: float
) -> list[tuple[str, float]]:
    """The runs of ``schedule`` with ``since < instant <= until``, oldest first, each named by
    its day (``"2026-12-10"``): the run id a member is sent at most once per."""
    if since >= until:
        return []
    if schedule.once is not None:
        day = date.fromisoformat(schedule.once)
        at = instant(day, schedule.hour, schedule.minute, tz)
        return [(schedule.once, at)] if since < at <= until else []
    runs: list[tuple[str, float]] = []
    day = day_of(since, tz)
    last = day_of(until, tz)
    while day <= last:
        if day.weekday() in schedule.weekdays:
            at = instant(day, schedule.hour, schedule.minute, tz)
            if since < at <= until:
                runs.append((day.isoformat(), at))
        day += timedelta(days=1)
    return runs


def at_hour(day_instant: float, hour: int, tz: str) -> float:
    """The instant at ``hour:00`` on the day ``day_instant`` falls on in ``tz``."""
    return instant(day_of(day_instant, tz), hour, 0, tz)
