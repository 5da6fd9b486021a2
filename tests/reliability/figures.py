"""What the reliability suite measured, kept while its tests run and printed as one table.

``BOTKIT_RELIABILITY=full`` (``make reliability``) scales every count up to the full run and
prints the table at the end of the run; ``BOTKIT_RELIABILITY=fast`` prints the fast subset's;
unset (``make test``) the fast subset runs and prints nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

__all__ = ["FULL", "PRINTED", "Section", "scaled", "table"]

FULL = os.environ.get("BOTKIT_RELIABILITY", "") == "full"
PRINTED = bool(os.environ.get("BOTKIT_RELIABILITY", ""))

# The table's sections, in the order of the list (whatever order the tests ran in).
SECTIONS = (
    "kill -9 mid-burst (SQLite)",
    "same-user bursts",
    "bad-input table",
    "50 MB bodies",
    "hanging and dripping upstreams",
    "secrets and PII in logs",
)

_figures: dict[str, dict[str, int | float | str]] = {section: {} for section in SECTIONS}
_notes: dict[str, list[str]] = {section: [] for section in SECTIONS}


def scaled(fast: int, full: int) -> int:
    """``full`` in the full run, else ``fast``."""
    return full if FULL else fast


@dataclass(frozen=True)
class Section:
    """One block of the table; ``title`` is one of :data:`SECTIONS`."""

    title: str

    def put(self, name: str, value: int | float | str) -> None:
        _figures[self.title][name] = value

    def add(self, name: str, amount: int | float = 1) -> None:
        """Add to a counter (it starts at 0 the first time it is named)."""
        current = _figures[self.title].get(name, 0)
        assert isinstance(current, int | float)
        _figures[self.title][name] = current + amount

    def note(self, text: str) -> None:
        """A line printed under the block: which row failed, which secret leaked."""
        _notes[self.title].append(text)


def table() -> list[str]:
    """The figures as lines: one block per section, then every figure as one JSON line."""
    lines = [f"reliability figures ({'full' if FULL else 'fast'} run)"]
    for section in SECTIONS:
        lines.append(f"== {section}")
        if not _figures[section]:
            lines.append("   (not measured in this run)")
        lines += [f"   {name:60} {value}" for name, value in _figures[section].items()]
        lines += [f"   ! {text}" for text in _notes[section]]
    measured = {s: f for s, f in _figures.items() if f}
    lines.append(json.dumps({"mode": "full" if FULL else "fast", **measured}, ensure_ascii=False))
    return lines
