"""Business hours, evaluated at an instant the caller gives (the engine has no clock)."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botkit.flow.model import Hours

__all__ = ["is_open"]


@functools.cache
def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # an unknown zone: Korea, where botkit lives
        return dt.timezone(dt.timedelta(hours=9))


def is_open(hours: Hours, at: float) -> bool:
    local = dt.datetime.fromtimestamp(at, _zone(hours.timezone))
    if local.date().isoformat() in hours.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in hours.days.get(local.weekday(), ()))
