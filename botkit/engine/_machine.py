"""The one module that imports ``transitions``.

A compiled bot becomes ONE ``Machine``, built once per bot version and shared by every session:
flat (no nesting), ``auto_transitions=False`` (no state can be forced by name), no callbacks, no
``Timeout`` states (time comes in with events), ``model=None`` (no ``add_model``: sessions are
plain snapshots, never registered with the machine, so a million sessions cost the machine
nothing and nothing leaks when they end).

Every designed edge of the conversation graph (transitions, next steps, quick replies and
buttons with ``to``, escalations, handoff exits, global transitions from every state they apply
to) is a transition of the machine, with the trigger ``"to <flow.state>"``. The engine decides
*which* move to make (matching is its job); the machine makes it.

The compiled edge table is the machine, and it does not refuse a move
-----------------------------------------------------------------------
``hop`` refuses an edge that was never designed (``MachineError``), but the engine moves with
:meth:`FlowMachine.move`, which takes the designed edge when there is one and otherwise sets
the state. That is deliberate: what may move a user is decided before the machine is asked,
by the payload contract (a press is accepted only if botkit drew it on the user's screen, see
``hearing.offered``) and by matching against the compiled flow. The static edge table cannot
list every move those allow, because a screen is what a whole *turn* drew: a message state's
button followed by ``next`` leaves the button on screen while the user is already at the next
state. The reference bot does exactly this (``order_status.where_is_order_no`` draws
"다시 입력하기 → ask_order" and moves on to ``ask_order``; pressing it there moves
``ask_order → ask_order``, which no edge names); so can a button in a fallback or error
message. A machine that refused those moves would refuse presses of buttons the bot drew.
So ``transitions`` here is the compiled graph: it names every state, validates every designed
edge when the bot is loaded, and serves one shared, model-less machine; the run-time guard is
the payload contract, and the records (``transition``, with from, to and trigger) say what moved.

Moves that are not edges of the designed graph by nature (a new conversation starting, an agent
handing the user back at a state of their choosing, ``/goto`` in the simulator) go through
``Machine.set_state`` (:meth:`FlowMachine.jump`).
"""

from __future__ import annotations

import logging
from typing import Any

from transitions import Event, Machine, MachineError, Transition

from botkit.flow.checks import edges
from botkit.flow.model import Bot, Target

__all__ = ["FlowMachine", "MachineError", "name_of"]

# transitions logs every trigger at DEBUG/INFO; at volume that is a measurable share of a turn.
logging.getLogger("transitions").setLevel(logging.WARNING)


class _Edge(Transition):
    """A transition without callbacks or conditions, which is all botkit's machine has.

    The stock ``Transition.execute`` runs the generic callback pipeline (prepare, conditions,
    before, exit, enter, after, with logging at each step) even when every list is empty;
    that is most of the cost of a turn. Matching and guards are the engine's job, so an edge
    only has to move the session. ``Machine`` still finds the edge for the session's state
    (and refuses an edge that does not exist); ``Machine.set_state`` still sets it.
    """

    def execute(self, event_data: Any) -> bool:
        event_data.machine.set_state(self.dest, event_data.model)
        return True


class _Hop(Event):
    """An event of botkit's machine: take the one edge designed from the session's state.

    The stock ``Event.trigger`` wraps every call in an ``EventData``, a ``functools.partial``,
    the machine's event queue, the generic callback pipeline and about a dozen logging calls:
    most of a turn's cost, for a machine that has no callbacks, no conditions and at most one
    edge per (source, event). The edges themselves are still the machine's own ``Transition``
    objects, added and validated by ``Machine``; this only takes them directly.
    """

    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        found = self.transitions.get(model.state)  # a defaultdict: ``get`` adds nothing
        if not found:
            raise MachineError(f"no designed edge {self.name!r} from state {model.state!r}")
        model.state = found[0].dest
        return True


class _Machine(Machine):
    transition_cls = _Edge
    event_cls = _Hop


def name_of(target: Target) -> str:
    return f"{target[0]}.{target[1]}"


class FlowMachine:
    """One ``transitions.Machine`` for a compiled bot."""

    __slots__ = ("_events", "machine")

    def __init__(self, bot: Bot) -> None:
        states = [name_of(s.target) for f in bot.flows.values() for s in f.states.values()]
        pairs: dict[str, set[str]] = {}  # dest → sources

        def add(source: str, target: Target) -> None:
            pairs.setdefault(name_of(target), set()).add(source)

        for flow in bot.flows.values():
            flow_escalate = flow.fallback.escalate_to if flow.fallback else None
            for state in flow.states.values():
                here = name_of(state.target)
                for _, target in edges(bot, state):
                    add(here, target)
                for t in (*flow.global_on, *bot.global_on):
                    add(here, t.target)
                    for m in t.say:
                        for q in m.quick_replies:
                            if q.target:
                                add(here, q.target)
                for escalate in (flow_escalate, bot.fallback.escalate_to):
                    if escalate:
                        add(here, escalate)
        transitions = [
            {"trigger": f"to {dest}", "source": sorted(sources), "dest": dest}
            for dest, sources in sorted(pairs.items())
        ]
        self.machine = _Machine(
            model=None,
            states=states,
            transitions=transitions,
            initial=name_of(bot.start_target),
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        self._events: dict[str, Any] = self.machine.events

    def hop(self, session: Any, target: Target) -> None:
        """Take the designed edge from the session's state to ``target``."""
        self._events["to " + target[0] + "." + target[1]].trigger(session)

    def move(self, session: Any, target: Target) -> bool:
        """Move the session to ``target``: along the designed edge when there is one (True),
        else directly (False); the module docstring says why no move is refused.

        A target that no designed edge leads to at all is not an event of the machine and
        raises ``KeyError``, as the engine always has (a bot can draw one only in a fallback,
        error or handoff message; left as it was, since this module changes no behaviour).
        """
        found = self._events["to " + target[0] + "." + target[1]].transitions.get(session.state)
        if found:
            session.state = found[0].dest
            return True
        self.jump(session, target)
        return False

    def jump(self, session: Any, target: Target) -> None:
        """Put the session at ``target`` without an edge (start, agent release, goto)."""
        self.machine.set_state(name_of(target), model=session)
