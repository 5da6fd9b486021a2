"""How each conversation came out, as the definitions say (:mod:`botkit.metrics.definitions`):
whether it is still open, where it was left, whether it completed, and what became of a request
for a person. One conversation at a time; :mod:`botkit.metrics.compute` counts them.

A report is read at some *now* (the caller's clock: the CLI reads the wall clock once, tests
inject it). A conversation with no ``conversation_end`` is *abandoned* once nothing happened in
it for longer than the bot's ``inactivity_timeout`` before that now, exactly as the engine would
end it at the user's next message; before that it is *open*, not yet a drop-off. A conversation
an agent holds is open until the agent ends it (the engine never ends it for silence). Without
a now (``None``) every conversation has had its time: the report is read long after.
"""

from __future__ import annotations

from typing import Literal

from botkit.flow.model import Bot, StateKind
from botkit.metrics.fold import Conversation

__all__ = ["AFTER_HOURS", "LEFT_QUEUE", "NO_ANSWER", "TIMED_OUT", "WAITING", "Status"]
__all__ += ["completed", "dropped", "place", "place_name", "status", "unserved_why"]

Status = Literal["ended", "abandoned", "open"]

# Why a request for a person was not served (unserved_why), most telling first.
AFTER_HOURS = "after_hours"  # asked when nobody was there (handoff_requested open: false)
TIMED_OUT = "timed_out"  # queued, and nobody took it within the wait (handoff_timeout)
LEFT_QUEUE = "left_queue"  # the user went elsewhere before an agent came (handoff_left)
NO_ANSWER = "no_answer"  # queued, and nobody took it or closed it: the user gave up waiting
WAITING = "waiting"  # queued, and the conversation is still open at the report's now


def status(c: Conversation, now: float | None, timeout: float) -> Status:
    """``ended`` (a ``conversation_end``), ``abandoned`` (silent for longer than ``timeout``
    before ``now``), or ``open``."""
    if c.outcome is not None:
        return "abandoned" if c.outcome == "abandoned" else "ended"
    if c.with_agent:
        return "open"
    if now is None or now - c.last_at > timeout:
        return "abandoned"
    return "open"


def completed(c: Conversation) -> bool:
    """Reached a goal, or a designed end with outcome ``resolved``, or an agent closed it."""
    return bool(c.goals) or c.outcome == "resolved" or c.agent_closed


def dropped(c: Conversation, now: float | None, timeout: float) -> bool:
    """Over (ended, or abandoned) without completing."""
    return status(c, now, timeout) != "open" and not completed(c)


def place(bot: Bot, c: Conversation) -> tuple[str, str | None] | None:
    """Where the user was left: their last state, and for a state that collects slots the one
    being asked, which is the first of its ``collect`` not filled since the state was entered
    (the engine asks them in that order, and asks again the ones filled before it came).
    ``None`` for a conversation that never entered a state."""
    if not c.states:
        return None
    state = c.states[-1]
    flow, _, name = state.partition(".")
    found = bot.flows.get(flow)
    spec = found.states.get(name) if found is not None else None
    if spec is None or spec.kind is not StateKind.COLLECT:
        return state, None
    for slot in spec.collect:
        if c.filled_at.get(slot, -1.0) < c.entered_at:
            return state, slot
    return state, None


def place_name(state: str, slot: str | None) -> str:
    """A place as reports show it: ``order_status.ask_order · order_no``, or the state alone."""
    return state if slot is None else f"{state} · {slot}"


def unserved_why(c: Conversation, still_open: bool = False) -> str | None:
    """For a conversation that asked for a person and was never taken by one, why (one of
    :data:`AFTER_HOURS`, :data:`TIMED_OUT`, :data:`LEFT_QUEUE`, :data:`WAITING` when it is
    ``still_open`` in the queue, :data:`NO_ANSWER`); ``None`` for one that did not ask, or was
    served."""
    if not c.handoff_reasons or c.claimed:
        return None
    if c.after_hours and not c.queued:
        return AFTER_HOURS
    if c.timed_out:
        return TIMED_OUT
    if c.left_queue:
        return LEFT_QUEUE
    if c.after_hours:
        return AFTER_HOURS
    return WAITING if still_open else NO_ANSWER
