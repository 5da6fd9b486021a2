"""Records: one row per thing that happened in a conversation, written with the session state
in the same transaction, and the only input of every report.

Each record carries enough to be counted without joins: which bot, flow and flow version, the
experiment variants the user is in, the session and conversation, the user and channel, the turn
and a per-session sequence number (gap-free, unique), the time, and kind-specific ``data``.

Kinds (``data`` keys in brackets):

* ``conversation_start`` [flow, segment: the user's profile then]; ``conversation_end`` [outcome]
* ``message_in`` [text, payload]; ``message_out`` [texts]: everything the bot said in the turn
* ``transition`` [from, to, trigger]
* ``slot_filled`` [slot, attempt]; ``slot_rejected`` [slot, attempt]
* ``action`` [action, result, latency_ms]
* ``fallback`` [miss]
* ``handoff_requested`` [reason, queue, open]; ``handoff_queued`` [queue];
  ``handoff_claimed`` [agent, waited_s]; ``agent_message`` [agent, text]; ``agent_note``
  [agent, text]; ``handoff_released`` [to]; ``handoff_closed``; ``handoff_timeout`` [waited_s]
* ``goal`` [goal]; ``experiment`` [experiment, variant]; ``promotion`` [promotion]
* ``error`` [reason]
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["BusinessEvent", "Record", "ReportRow"]


class Record(NamedTuple):
    """One immutable row. A named tuple: a turn makes several, and they must be cheap."""

    kind: str
    session: str
    conversation: int
    seq: int
    turn: int
    at: float  # seconds since the epoch, from the injected clock
    bot: str
    flow: str
    flow_version: str
    variant: str  # "experiment:variant" pairs joined by ",", sorted; "" when in none
    user: str
    channel: str
    data: dict[str, Any] | None = None

    def to_row(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Record:
        return cls(**row)


class BusinessEvent(NamedTuple):
    """Something that happened outside the bot, reported by the shop: a purchase, a sign-up.

    ``id`` is the sender's own id for it: the same event sent twice is kept once. ``user`` is
    the user as the bot knows them (``Record.user``), so reports can attribute the event to the
    user's conversations.
    """

    id: str
    kind: str  # purchase, signup, ...
    user: str
    at: float
    amount: float | None = None  # money, for purchases
    data: dict[str, Any] | None = None


class ReportRow(NamedTuple):
    """What a report reads of a record: a store can read these much faster than whole records
    (a million of them for a month's report), leaving out what no metric looks at."""

    kind: str
    session: str
    conversation: int
    seq: int
    at: float
    user: str
    channel: str
    flow: str
    data: dict[str, Any] | None
