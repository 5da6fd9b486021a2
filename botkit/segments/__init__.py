"""Segments: named conditions over who a member is (their profile, their consent) and what they
did when (business events and conversation records in time windows).

:mod:`.model` is the tree a segment compiles to, :mod:`.parse` reads the language,
:mod:`.evaluate` answers it over data held in memory (one member, or everyone at an instant).
The stores answer it in SQL (``botkit.storage.segments_sql``). bot.yaml's ``segments:`` is read
by the flow compiler, which checks every name a segment uses against what the bot declares.
"""

from __future__ import annotations

from botkit.segments.model import Segment

__all__ = ["Segment"]
