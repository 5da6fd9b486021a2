"""Migrating: a conversation that started on another version of the bot comes over to this one.

The runtime keeps each conversation on the version it started on while that version serves
(``keep_versions``); it hands a session to a newer engine only when its own version is retired
or no longer known. That engine brings it over before anything else happens in the turn:

* where the new version's ``migrate:`` names the session's state, it moves there (``migrate``);
* else, where the same state still exists, it stays (``kept``);
* else it starts again at its flow's start, or the bot's when the flow is gone (``restart``),
  and is told so (``messages.migrated``): what it was asked no longer exists here.

Every move writes a ``version_migrated`` record. The place is taken over quietly where the new
state waits for what the session waited for (the same slot's answer, any input): the user's
message is then read there, as if nothing had happened. Where it does not (the state is a call,
or asks something else), the state is entered. Slots the new version does not declare are
dropped. A conversation is never left in a state its engine does not have, which is what used
to answer every message with the error bubble after a deploy.
"""

from __future__ import annotations

from botkit.engine._machine import name_of
from botkit.engine.handoff import back_to_bot
from botkit.engine.session import ARRIVE, INPUT, Session, Status
from botkit.engine.turn import Run
from botkit.flow.model import Bot, StateKind, Target
from botkit.records import RecordKind

__all__ = ["Arrival", "adopt", "destination", "stranded"]


class Arrival:
    """Where :func:`adopt` left the session: ``how`` it came over, the ``target`` it is at,
    the state it came ``source`` (the old version's name), and whether the caller must still
    ``enter`` the target (it does not wait for what the session waited for)."""

    __slots__ = ("enter", "how", "source", "target")

    def __init__(self, how: str, target: Target, source: str, enter: bool) -> None:
        self.how = how
        self.target = target
        self.source = source
        self.enter = enter


def stranded(session: Session, version: str) -> bool:
    """Whether ``session`` is in a conversation that another version than ``version`` runs."""
    return (
        session.conversation > 0
        and session.status != Status.CLOSED
        and session.bot_version != version
    )


def destination(bot: Bot, state: str) -> tuple[str, Target]:
    """Where a conversation at ``state`` (an earlier version's ``flow.state``) goes in ``bot``,
    and how: ``migrate`` (bot.yaml's ``migrate:`` names it), ``kept`` (the same state is
    there) or ``restart`` (its flow's start, or the bot's when the flow is gone). What
    ``botkit check --against`` tells a designer before a deploy is this same answer."""
    target = bot.migrate.get(state)
    if target is not None:
        return "migrate", target
    flow, _, name = state.partition(".")
    if flow in bot.flows and name in bot.flows[flow].states:
        return "kept", (flow, name)
    if flow in bot.flows:
        return "restart", (flow, bot.flows[flow].start)
    return "restart", bot.start_target


def adopt(run: Run, *, record: bool = True) -> Arrival:
    """Bring the session over to this version: move it (``migrate:``, the same state, or the
    start), record ``version_migrated`` (unless not ``record``: a conversation about to be
    closed), and say whether the state must still be entered."""
    s = run.session
    bot = run.bot
    old_state, old_version = s.state, s.bot_version
    how, target = destination(bot, old_state)
    s.bot_version = bot.version
    s.slots = {name: value for name, value in s.slots.items() if name in bot.slots}
    run.prepared.machine.jump(s, target)
    enter = how == "restart" or not _resume(run, target)
    if enter:
        # Not yet entered: the user's next message enters it as a first message would (the
        # arrival a user message brings over is entered at once, hearing.user_message)
        s.awaiting = ARRIVE
        s.pending = None
        s.attempts = 0
        if s.status != Status.BOT:  # the handoff it waited at is gone: the bot has it again
            back_to_bot(run)
    if not record:
        return Arrival(how, target, old_state, enter)
    run.record(
        RecordKind.VERSION_MIGRATED,
        {
            "from_version": old_version or None,
            "to_version": bot.version,
            "from": old_state or None,
            "to": name_of(target),
            "how": how,
        },
    )
    return Arrival(how, target, old_state, enter)


def _resume(run: Run, target: Target) -> bool:
    """Set what the session awaits at ``target`` from what it awaited before; False when the
    state does not wait for the same thing (it must be entered)."""
    s = run.session
    state = run.bot.state(target)
    awaiting = s.awaiting
    if s.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
        return state.kind is StateKind.HANDOFF  # waiting for a person, still at a handoff
    if state.kind is StateKind.COLLECT:
        if awaiting is None or awaiting.name not in state.collect:
            return False
        if awaiting.kind == "slot":
            s.awaiting = run.prepared.asking[awaiting.name]
        elif awaiting.kind == "confirm":
            s.awaiting = run.prepared.confirming[awaiting.name]
        else:
            return False
        return True
    if state.kind is StateKind.MESSAGE and not state.next:
        s.awaiting = INPUT
        return awaiting is INPUT or awaiting is None or awaiting.kind == "input"
    return False
