"""Handoff: the conversation goes to a person, waits for one, and comes back.

These rules decide and record; they do not move the user. Where a handoff ends in a move (an
agent hands the user back, nobody came in time, nobody is there at this hour, the user leaves
the queue) they return or take the target and the caller moves (``moving``), so this module
needs nothing but the primitives and ``moving`` can use it when a state being entered is a
handoff.

A ``handoff_requested`` record says why the user is handed over: ``reason`` (the state's declared
one, or botkit's when it gave up), and ``cause`` with ``trigger`` and ``from``, read from the
first move of the turn (see :data:`CAUSES`), so a handoff reached through a few ``next`` steps
names what led into them. An agent's claim, message and release are the conversation's activity
(``last_at``), as the user's messages are: a user answering an agent late is still in the same
conversation.
"""

from __future__ import annotations

from typing import Any

from botkit import effects
from botkit.effects import Say
from botkit.engine._machine import name_of
from botkit.engine.hours import is_open
from botkit.engine.session import Status
from botkit.engine.turn import Run
from botkit.errors import NotWithAgent, StepRefused
from botkit.events import AgentRelease
from botkit.flow.model import HandoffSpec, Target
from botkit.records import RecordKind

__all__ = [
    "CAUSES",
    "back_to_bot",
    "claim",
    "closed_now",
    "give_up_waiting",
    "leave",
    "release",
    "request",
    "request_closed",
    "say_as_agent",
    "say_waiting",
    "waited_too_long",
]

CAUSES = (
    "user_request",  # the user's words or press: keywords, intent, examples, a payload, a choice
    "action_result",  # an action's result (trigger "lookup_order: error")
    "condition",  # a conditional next (trigger "score == 1")
    "repeated_fallback",  # the bot did not understand max_misses times in a row
    "slot_exhausted",  # a slot's attempts were used up (trigger: the slot)
    "operator",  # a person moved the user (goto, an agent's release)
    "flow",  # the flow went on by itself (an unconditional next, a handoff nobody took)
)
"""What can cause a handoff (``handoff_requested`` ``cause``); moving.go writes them."""


def closed_now(run: Run, handoff: HandoffSpec) -> bool:
    """Whether the handoff has business hours, a way on outside them, and it is outside."""
    return bool(
        handoff.hours
        and handoff.outside_hours
        and not is_open(run.bot.hours[handoff.hours], run.at)
    )


def request_closed(run: Run, handoff: HandoffSpec) -> None:
    """Record a handoff asked for when nobody is there to queue it for: counted apart from
    handoffs that reached the agents, so the handoff rate can be read both ways."""
    run.record(RecordKind.HANDOFF_REQUESTED, _requested(run, handoff, open_=False))


def request(run: Run, handoff: HandoffSpec, target: Target) -> None:
    """Hand the conversation over: say the handoff's message, queue it, tell the runtime."""
    s = run.session
    run.say(handoff.message)
    s.status = Status.HANDOFF_REQUESTED
    s.since = run.at
    requested = _requested(run, handoff, open_=True)
    run.record(RecordKind.HANDOFF_REQUESTED, requested)
    run.record(RecordKind.HANDOFF_QUEUED, {"queue": handoff.queue})
    run.turn.effects.append(effects.HandOff(requested["reason"], handoff.queue, name_of(target)))


def _requested(run: Run, handoff: HandoffSpec, *, open_: bool) -> dict[str, Any]:
    """The data of a ``handoff_requested`` record. ``reason`` is the state's own, or botkit's
    when botkit gave up (too many misunderstandings, slot attempts used up), as it always was;
    ``cause``, ``trigger`` and ``from`` say what set off the turn's moves that ended here (the
    first of them: a handoff after a few ``next`` steps is caused by what led into them)."""
    cause, trigger, source = run.first or ("flow", None, None)
    return {
        "reason": run.reason or handoff.reason,
        "queue": handoff.queue,
        "open": open_,
        "cause": cause,
        "trigger": trigger,
        "from": source,
    }


def waited_too_long(run: Run) -> bool:
    handoff = run.prepared.state_of(run.session).handoff
    wait = handoff.wait_timeout if handoff else None
    return wait is not None and run.at - run.session.since >= wait


def say_waiting(run: Run) -> None:
    """A message came while the user waits for an agent: it is kept for the agent, and the
    handoff's ``while_waiting`` (if it has one) tells the user so. Without one the bot is silent
    (a channel that must answer, as Kakao must, acknowledges it in its own words)."""
    handoff = run.prepared.state_of(run.session).handoff
    if handoff is not None and handoff.while_waiting:
        run.say(handoff.while_waiting)


def leave(run: Run, target: Target, trigger: str) -> None:
    """The user leaves the queue before an agent came (a ``leave:`` of the handoff, a choice
    that leads elsewhere, a global transition): recorded, and the bot has them back. The caller
    moves them to ``target``."""
    s = run.session
    handoff = run.prepared.state_of(s).handoff
    data = {
        "queue": handoff.queue if handoff else None,
        "to": name_of(target),
        "trigger": trigger,
        "waited_s": round(run.at - s.since),
    }
    run.record(RecordKind.HANDOFF_LEFT, data)
    back_to_bot(run)


def give_up_waiting(run: Run) -> Target:
    """No agent came within the handoff's wait_timeout: back to the bot, which tells the user
    so (``messages.no_agent``, or botkit's words). Returns the flow's way on (on_timeout), for
    the caller to take: with the user there (their message found the wait over), or to put
    them at while they are away (the sweeper; ``moving.place``)."""
    s = run.session
    handoff = run.prepared.state_of(s).handoff
    assert handoff is not None  # waited_too_long() said so
    assert handoff.on_timeout is not None  # the compiler requires it with wait_timeout
    run.record(RecordKind.HANDOFF_TIMEOUT, {"waited_s": round(run.at - s.since)})
    back_to_bot(run)
    run.say_system("no_agent")
    return handoff.on_timeout


def release(run: Run, event: AgentRelease) -> Target | None:
    """An agent is done: the conversation closes (None), or the user goes back to the bot at
    the returned target (the handoff's ``resume``, or the state the agent chose)."""
    s = run.session
    if s.status not in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
        # Refused, not recorded: a release that races another agent's close, or comes for
        # a conversation the bot holds, is the operator's mistake and changes nothing.
        raise NotWithAgent("the conversation is not handed off to an agent")
    state = run.prepared.state_of(s)
    s.last_at = run.at  # the agent's last word: activity, like their messages
    if event.close:
        run.record(RecordKind.HANDOFF_CLOSED)
        run.record(RecordKind.CONVERSATION_END, {"outcome": "handed_off"})
        s.status = Status.CLOSED
        s.agent = None
        run.turn.effects.append(effects.End("handed_off"))
        return None
    back_to_bot(run)
    target: Target = state.handoff.resume if state.handoff else run.bot.start_target
    if event.target:
        target = run.prepared.target_named(event.target) or target
    run.record(RecordKind.HANDOFF_RELEASED, {"to": name_of(target)})
    return target


def claim(run: Run, agent: str) -> None:
    """An agent takes a handed-off conversation (see ``Engine.claim`` for who may)."""
    s = run.session
    run.record(RecordKind.HANDOFF_CLAIMED, {"agent": agent, "waited_s": round(run.at - s.since)})
    s.status = Status.WITH_AGENT
    s.agent = agent
    s.since = run.at
    s.last_at = run.at  # activity: the conversation is alive while an agent works on it


def say_as_agent(run: Run, text: str, agent: str) -> None:
    """A person writes to the user during a handoff; the first message claims it."""
    s = run.session
    if s.status not in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
        raise NotWithAgent("the conversation is not handed off to an agent")
    if s.status == Status.WITH_AGENT and s.agent not in (None, agent):
        raise StepRefused(f"the conversation is with {s.agent}")
    if s.status == Status.HANDOFF_REQUESTED:
        claim(run, agent)
    run.record(RecordKind.AGENT_MESSAGE, {"agent": agent, "text": text})
    run.turn.effects.append(Say(text=text, agent=agent))
    s.last_at = run.at  # the user answers the agent: not after a silence


def back_to_bot(run: Run) -> None:
    """The bot has the user again: no longer queued or with an agent, nothing kept for one."""
    s = run.session
    s.status = Status.BOT
    s.held = None
    s.agent = None
