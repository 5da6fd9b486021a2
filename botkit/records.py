"""Records: one row per thing that happened in a conversation, written with the session state
in the same transaction, and the only input of every report.

Each record carries enough to be counted without joins: which bot, flow and flow version, the
experiment variants the user is in, the session and conversation, the user and channel, the turn
and a per-session sequence number (gap-free, unique), the time, and kind-specific ``data``.

Kinds (``data`` keys in brackets):

* ``conversation_start`` [flow, segment: the user's profile then, segments: the bot's named
  segments the user was in then (only when the bot declares segments), locale: the language it
  starts in, version: the bot version it runs on]; ``conversation_end`` [outcome]: ``abandoned``
  when the silence after its last activity outlasted ``inactivity_timeout``, written when botkit
  learns it (the user's next message) but dated at that last activity (the user's message, the
  bot's answer to an action, an agent's claim, message or release, the bot moving on by itself);
  a conversation an agent holds never ends by silence
* ``locale_changed`` [from, locale, source: ``channel``, ``profile`` or ``user``, a switch the
  user took, which sticks]: the conversation's language changed
* ``message_in`` [text, payload, masked]; ``message_out`` [texts, says]: everything the bot said
  in the turn, each bubble as text (what reports and the agent console read) and, in ``says``
  (one entry per text, absent when every bubble is plain text), the bubbles that are more than
  text (cards, images, lists, buttons, quick replies) as ``effects.say_to_data`` writes them,
  ``null`` for a plain one. The answer to a ``sensitive`` slot is recorded as :data:`MASK`
  (``masked`` names the slot), and so is its value wherever a bubble shows it: only the session
  keeps it.
* ``link_clicked`` [url, state: where the user was]: the user opened a link the bot showed
  them (a ``url`` button, or a list item's), through botkit's redirect (``server/links.py``);
  recorded in the conversation that showed it while it is the session's current one, even
  ended; it is not activity (the inactivity timeout does not restart)
* ``consent_withdrawn`` [marketing, night: both false]: the user said one of the bot's opt-out
  words (bot.yaml ``opt_out:``), from any state; the runtime withdraws the consent of the
  member they are (the customer they are linked to, else the user) in the audience store
* ``campaign_message`` [campaign, variant, send: the send's key]: a campaign's message was said
  to the user (pushed to the widget, or the answer to Kakao's event callback), and the user was
  put at the state the campaign opens, which reads their reply; a conversation starts for it
  when none is going on
* ``payload_rejected`` [payload]: a press of something that was not on the user's screen (a
  forged or replayed payload, cut to 100 characters); the message was read as text
* ``transition`` [from, to, trigger]; trigger ``no agent in time`` from a handoff the sweeper
  found nobody took: the user is placed at the ``on_timeout`` state and enters it (its messages,
  its first question) only with their next message, which is never read as its answer
* ``slot_filled`` [slot, attempt]; ``slot_rejected`` [slot, attempt]
* ``action`` [action, result, latency_ms, detail, missing: the ``require``d slots an ``ok``
  answer lacked, which made the result ``error``]
* ``fallback`` [miss]
* ``handoff_requested`` [reason: the state's declared one, or botkit's when it gave up
  (``repeated_fallback``, ``slot_exhausted``), queue, open: false when outside business hours,
  cause, trigger, from]; ``cause`` says what set off the moves that ended there, read from the
  turn's first move: ``user_request`` (the user's words or press: keywords, intent, examples, a
  payload, a choice, a global transition), ``action_result`` (trigger ``"lookup_order:
  error"``), ``condition`` (a conditional next; trigger ``"score == 1"``), ``repeated_fallback``,
  ``slot_exhausted`` (trigger: the slot), ``operator`` (goto, an agent's release) or ``flow`` (an
  unconditional next, a handoff nobody took); ``trigger`` the transition's label or the result
  (null when nothing moved in the turn), ``from`` the state it was taken from;
  ``handoff_queued`` [queue]; ``handoff_claimed`` [agent, waited_s]; ``agent_message`` [agent,
  text]; ``agent_note`` [agent, text]; ``handoff_released`` [to]; ``handoff_closed``;
  ``handoff_timeout`` [waited_s] (followed by ``messages.no_agent``, said to the user: pushed,
  or kept for their next message on Kakao);
  ``handoff_left`` [queue, to, trigger, waited_s] (the user left the queue before an agent came:
  by the handoff's ``leave:``, a choice that leads elsewhere, or a global transition)
* ``goal`` [goal]; ``experiment`` [experiment, variant]; ``promotion`` [promotion]: its state
  was entered while the promotion runs (from ``starts`` to the end of ``ends``, in the bot's time
  zone); outside its dates the state says what it says, and nothing is recorded
* ``error`` [reason]
* ``version_migrated`` [from_version, to_version, from, to, how: ``migrate`` (the new version's
  ``migrate:`` named the place), ``kept`` (the same state exists) or ``restart`` (neither: the
  flow's start, or the bot's)]: a conversation moved to a newer version of the bot because its
  own was retired or is no longer known
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, NamedTuple

__all__ = ["MASK", "BusinessEvent", "Record", "RecordKind", "ReportRow", "transcript"]

MASK = "***"  # what records hold in place of a sensitive slot's value


class RecordKind(StrEnum):
    """Every kind of record (the module's docstring says what each carries). A ``StrEnum``, so a
    kind is still the plain string the stores keep and the reports compare: ``RecordKind.GOAL
    == "goal"``; new code names kinds through it, so a typo is an attribute error, not a
    report that silently counts nothing."""

    CONVERSATION_START = "conversation_start"
    CONVERSATION_END = "conversation_end"
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    PAYLOAD_REJECTED = "payload_rejected"
    TRANSITION = "transition"
    SLOT_FILLED = "slot_filled"
    SLOT_REJECTED = "slot_rejected"
    ACTION = "action"
    FALLBACK = "fallback"
    HANDOFF_REQUESTED = "handoff_requested"
    HANDOFF_QUEUED = "handoff_queued"
    HANDOFF_CLAIMED = "handoff_claimed"
    AGENT_MESSAGE = "agent_message"
    AGENT_NOTE = "agent_note"
    HANDOFF_RELEASED = "handoff_released"
    HANDOFF_CLOSED = "handoff_closed"
    HANDOFF_TIMEOUT = "handoff_timeout"
    HANDOFF_LEFT = "handoff_left"
    GOAL = "goal"
    EXPERIMENT = "experiment"
    PROMOTION = "promotion"
    ERROR = "error"
    LOCALE_CHANGED = "locale_changed"
    VERSION_MIGRATED = "version_migrated"
    LINK_CLICKED = "link_clicked"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    CAMPAIGN_MESSAGE = "campaign_message"


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
    user's conversations. A shop that knows only its own customer id names it in ``customer``
    instead (``user`` is then ``""``): attribution follows that customer's channel links.
    """

    id: str
    kind: str  # purchase, signup, ...
    user: str
    at: float
    amount: float | None = None  # money, for purchases
    data: dict[str, Any] | None = None
    customer: str | None = None  # the shop's customer id, when it names the customer


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


def transcript(records: Iterable[Record], *, notes: bool = False) -> list[dict[str, Any]]:
    """What was said, in order: ``{"from": "user" | "bot" | "agent" | "note", "text", "at"}``
    (agents' entries name the agent; the bot's carry ``say``, the bubble as data, when it was
    more than text: see ``message_out``). The widget's history and the agent console read the same
    conversation; ``notes`` adds the agents' notes, which users never see. An empty user
    message (a widget opening the chat) is not something anyone said."""
    out: list[dict[str, Any]] = []
    for r in records:
        data = r.data or {}
        if r.kind == RecordKind.MESSAGE_IN and data.get("text"):
            out.append({"from": "user", "text": data["text"], "at": r.at})
        elif r.kind == RecordKind.MESSAGE_OUT:
            says = data.get("says") or ()
            for i, text in enumerate(data.get("texts", [])):
                entry = {"from": "bot", "text": text, "at": r.at}
                if i < len(says) and says[i]:
                    entry["say"] = says[i]
                out.append(entry)
        elif r.kind == RecordKind.AGENT_MESSAGE or (notes and r.kind == RecordKind.AGENT_NOTE):
            said_by = "agent" if r.kind == RecordKind.AGENT_MESSAGE else "note"
            out.append(
                {"from": said_by, "agent": data.get("agent"), "text": data.get("text"), "at": r.at}
            )
    return out
