"""Durations as designers write them: ``500ms``, ``3s``, ``10m``, ``2h``, ``1d``."""

from __future__ import annotations

__all__ = ["seconds"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(text: str) -> float:
    """Seconds in a duration that the schema has already checked the form of."""
    unit = "ms" if text.endswith("ms") else text[-1]
    return int(text[: -len(unit)]) * _UNITS[unit]
