"""Moving: starting a conversation, taking an edge, entering a state, following ``next``, or
placing the user at a state they will enter when they next write (:func:`place`).

Entering a state says its messages and then, by kind: waits (message), asks for the first
missing slot (collect), emits a ``Call`` and waits for its ``ActionResult`` (call), hands over
(handoff) or ends the conversation (end). ``next`` steps are followed at once, up to
``MAX_HOPS`` per turn, so a loop in a flow cannot hang the process.

Asking lives here, not in ``asking``: entering a collect state *is* asking its first missing
slot, and the answers (``asking``) move on through :func:`continue_collect`, so the import runs
one way only.

A ``promotion`` record is written on entering a promotion's state only while the promotion runs
(``Prepared.runs``: its dates, read once as timestamps). The first move of a turn is kept
(``Run.first``): a handoff at the end of the turn's chain records it as its cause.
"""

from __future__ import annotations

from typing import Any

from botkit import effects
from botkit.engine import handoff
from botkit.engine._machine import name_of
from botkit.engine.experiments import assign
from botkit.engine.saving import change_slots
from botkit.engine.session import ARRIVE, INPUT, Status
from botkit.engine.turn import MAX_HOPS, Run
from botkit.flow.model import Branch, Slot, State, StateKind, Target
from botkit.records import RecordKind

__all__ = [
    "ask",
    "continue_collect",
    "enter",
    "follow_next",
    "go",
    "jump",
    "place",
    "start_conversation",
]

# Bound once, as turn.py explains: a RecordKind member is slow to read on Python 3.11.
_CONVERSATION_START = RecordKind.CONVERSATION_START
_TRANSITION = RecordKind.TRANSITION
_GOAL = RecordKind.GOAL
_PROMOTION = RecordKind.PROMOTION
_CONVERSATION_END = RecordKind.CONVERSATION_END


def start_conversation(run: Run) -> None:
    s = run.session
    s.conversation += 1
    s.turn = 0
    s.status = Status.BOT
    s.slots = {}
    s.awaiting = None
    s.attempts = s.misses = 0
    s.pending = None
    s.held = None
    s.agent = None
    s.started_at = run.at
    s.bot_version = run.bot.version
    s.state = name_of(run.bot.start_target)
    data: dict[str, Any] = {"flow": run.bot.start, "locale": s.locale, "version": s.bot_version}
    if s.profile:
        # The profile as it was when the conversation began (grade, acquisition source,
        # ...): reports break conversions down by it, whatever the profile becomes later.
        data["segment"] = _segment(s.profile, run.prepared.sensitive_profile)
    if s.segments is not None:
        # the named segments (bot.yaml segments:) the user was in as it began, for the same
        # reason: `botkit report --by segment:<name>` groups conversations by them
        data["segments"] = s.segments
    run.record(_CONVERSATION_START, data)


def go(
    run: Run,
    target: Target,
    trigger: str,
    *,
    reason: str | None = None,
    cause: str = "user_request",
    why: str | None = None,
) -> None:
    """Move from the current state to ``target`` (an edge the engine chose), then enter it.

    ``reason`` says why, when botkit itself decided (too many misunderstandings, slot
    attempts used up): a handoff state entered this way records that reason instead of its
    own, so handoffs can be counted by what really caused them.

    The first move of a turn is what set off the moves after it (``next`` steps, a state
    entered on the way): its ``cause`` (the user's words or press unless the caller says
    otherwise: handoff.CAUSES) and ``why`` (what was said or happened; the trigger when not
    given) are what a handoff at the end of the chain records. A move botkit decided
    (``reason``) is its own cause.
    """
    s = run.session
    source = s.state
    if reason is not None:
        run.reason = reason
        run.first = (reason, why or trigger, source)
    elif run.first is None:
        run.first = (cause, why or trigger, source)
    run.prepared.machine.move(s, target)  # _machine.py says why a move is never refused
    run.record(_TRANSITION, {"from": source, "to": s.state, "trigger": trigger})
    enter(run, target)


def jump(run: Run, target: Target, trigger: str) -> None:
    """Put the user at ``target`` without an edge (an agent's release, an error, /goto)."""
    s = run.session
    source = s.state
    if run.first is None:  # a person decided (an action's error has set the cause already)
        run.first = ("operator", trigger, source or None)
    run.prepared.machine.jump(s, target)
    run.record(_TRANSITION, {"from": source or None, "to": s.state, "trigger": trigger})
    enter(run, target)


def place(run: Run, target: Target, trigger: str) -> None:
    """Put the user at ``target`` without entering it: botkit moved on while they were away
    (nobody took their handoff in time), so they have not seen the state. It is entered when
    they next write (hearing), as a first message enters the greeting: its messages said, its
    first slot asked, and their words never read as the answer to a question they never saw."""
    s = run.session
    source = s.state
    run.prepared.machine.move(s, target)
    run.record(_TRANSITION, {"from": source, "to": s.state, "trigger": trigger})
    run.new_screen = True  # their screen is what was said in this turn (no_agent), only
    s.misses = 0
    s.attempts = 0
    s.pending = None
    s.awaiting = ARRIVE


def enter(run: Run, target: Target) -> None:
    s = run.session
    state = run.bot.state(target)
    run.begin_screen()
    s.misses = 0
    s.awaiting = None
    variant = None
    if state.experiment:
        variant = assign(run, state.experiment)
    for goal in state.goals:
        run.record(_GOAL, {"goal": goal})
    if state.promotion and run.prepared.runs(state.promotion, run.at):
        run.record(_PROMOTION, {"promotion": state.promotion})
    chosen = state.variants.get(variant or "") if state.variants else None
    say = chosen.say if chosen is not None and chosen.say is not None else state.say
    kind = state.kind
    h = state.handoff
    if kind is StateKind.HANDOFF and h is not None and handoff.closed_now(run, h):
        assert h.outside_hours is not None  # closed_now() said so
        handoff.request_closed(run, h)
        run.say(say)
        go(run, h.outside_hours, "outside business hours", cause="flow")
        return
    run.say(say)
    if kind is StateKind.MESSAGE:
        follow_next(run, state, chosen.next if chosen is not None else None)
    elif kind is StateKind.COLLECT:
        for name in state.collect:
            if name not in run.fresh:
                s.slots.pop(name, None)
        continue_collect(run, state)
    elif kind is StateKind.CALL:
        assert state.call is not None
        s.awaiting = run.prepared.calling[state.call]
        run.turn.effects.append(effects.Call(state.call))
    elif kind is StateKind.HANDOFF and h is not None:
        handoff.request(run, h, target)
    elif kind is StateKind.END:
        outcome = state.end or "resolved"
        run.record(_CONVERSATION_END, {"outcome": outcome})
        s.status = Status.CLOSED
        run.turn.effects.append(effects.End(outcome))


def follow_next(run: Run, state: State, override: tuple[Branch, ...] | None = None) -> None:
    branches = override if override is not None else state.next
    if not branches:
        if state.kind is StateKind.MESSAGE:
            run.session.awaiting = INPUT
        return
    run.hops += 1
    if run.hops > MAX_HOPS:
        run.record(RecordKind.ERROR, {"reason": f"more than {MAX_HOPS} steps in one turn"})
        run.session.awaiting = INPUT
        return
    for branch in branches:
        if run.holds(branch):
            change_slots(run, branch.update)
            run.say(branch.say)
            condition = branch.condition_source
            if condition:  # the first move of a turn: the condition is what happened
                go(run, branch.target, f"next if {condition}", cause="condition", why=condition)
            else:  # the flow went on by itself
                go(run, branch.target, "next", cause="flow")
            return
    run.session.awaiting = INPUT


def ask(run: Run, slot: Slot) -> None:
    s = run.session
    run.new_screen = True
    s.attempts = 0
    s.awaiting = run.prepared.asking[slot.name]
    run.say(slot.prompt, slot=slot.name)


def continue_collect(run: Run, state: State) -> None:
    """Ask for the state's first missing slot; with none missing, move on."""
    s = run.session
    for name in state.collect:
        if name not in s.slots:
            ask(run, run.bot.slots[name])
            return
    follow_next(run, state)


def _segment(profile: dict[str, Any], sensitive: frozenset[str]) -> dict[str, Any]:
    """Profile values a report can group by: text (cut to 100 characters), numbers, yes/no;
    never those of a sensitive attribute (a phone number is no group, and personal data)."""
    out: dict[str, Any] = {}
    for key, value in list(profile.items())[:20]:
        if key in sensitive:
            continue
        if isinstance(value, str):
            out[key] = value[:100]
        elif isinstance(value, bool | int | float):
            out[key] = value
    return out
