"""The two floors bench/engine.py measures botkit's engine against, on the same conversation.

Both walk exactly the moves botkit makes for the reference conversation of bench/engine.py
(including the lookup result, an event of its own that is not counted as a turn), over the
same number of sessions, interleaved round-robin the same way, and do nothing else: no
matching beyond one dict lookup of the exact text, no slots, no records, no rendering. So they
are floors: what moving a state costs at all.

(a) ``dict_fsm``: a hand-written FSM, ``table[state][event] -> next state``, over sessions that
    are plain dicts. The cheapest a Python state machine can be.
(b) ``transitions_shared``: the ``transitions`` library used directly, in its fastest documented
    form for many sessions: ONE stock ``Machine(model=None, auto_transitions=False)``, built
    once, never given a model (no ``add_model``: nothing is bound to, or registered for, a
    session), driven with ``machine.events[trigger].trigger(holder)`` over plain state holders
    (``Event.trigger`` takes the model as its argument and reads and writes only its ``state``
    attribute, see transitions/core.py). Stock ``Event`` and ``Transition`` classes, no
    callbacks, no conditions; transitions' own logger at WARNING, as botkit sets it (its DEBUG
    calls are then cheap level checks).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Sequence
from typing import Any

from transitions import Machine

# (source, event, destination) of every move botkit makes in bench/engine.py's conversation,
# in order; "result:ok" is the lookup result, which the engine receives as its own event.
START = "main.start"
LOOKUP_STATE = "order_status.lookup"
LOOKUP_OK = "result:ok"
PATH: tuple[tuple[str, str, str], ...] = (
    (START, "안녕하세요", START),
    (START, "배송 조회", "order_status.ask_order"),
    ("order_status.ask_order", "12-34", "order_status.ask_order"),  # invalid: asked again
    ("order_status.ask_order", "1234-567-890", LOOKUP_STATE),
    (LOOKUP_STATE, LOOKUP_OK, "order_status.in_transit"),
    ("order_status.in_transit", "처음으로", START),
)

logging.getLogger("transitions").setLevel(logging.WARNING)


def _check(script: Sequence[str]) -> None:
    """The baselines must walk the conversation the bench gives botkit, not another one."""
    texts = [event for _, event, _ in PATH if event != LOOKUP_OK]
    if list(script) != texts:
        raise ValueError(f"the baselines walk {texts}, the bench runs {list(script)}")


def dict_fsm(script: Sequence[str], sessions: int) -> tuple[float, int]:
    """Seconds and turns for ``sessions`` conversations on a hand-written dict FSM."""
    _check(script)
    table: dict[str, dict[str, str]] = {}
    for source, event, dest in PATH:
        table.setdefault(source, {})[event] = dest
    live = [{"state": START} for _ in range(sessions)]
    turns = 0
    gc.collect()
    start = time.perf_counter()
    for text in script:
        for session in live:
            state = session["state"] = table[session["state"]][text]
            turns += 1
            if state == LOOKUP_STATE:
                session["state"] = table[state][LOOKUP_OK]
    elapsed = time.perf_counter() - start
    assert all(s["state"] == START for s in live), "every conversation must end at start"
    return elapsed, turns


class _Holder:
    """A session as transitions sees it without ``add_model``: something with a ``state``."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def shared_machine() -> Any:
    """One stock ``transitions.Machine`` for the conversation, shared by every session."""
    states = list(dict.fromkeys(s for source, _, dest in PATH for s in (source, dest)))
    return Machine(
        model=None,
        states=states,
        transitions=[
            {"trigger": event, "source": source, "dest": dest} for source, event, dest in PATH
        ],
        initial=START,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


def transitions_shared(machine: Any, script: Sequence[str], sessions: int) -> tuple[float, int]:
    """Seconds and turns for ``sessions`` conversations on one shared ``transitions`` machine."""
    _check(script)
    events = machine.events
    ok = events[LOOKUP_OK]
    live = [_Holder(machine.initial) for _ in range(sessions)]
    turns = 0
    gc.collect()
    start = time.perf_counter()
    for text in script:
        for holder in live:
            events[text].trigger(holder)  # one dict lookup of the text, as in ``dict_fsm``
            turns += 1
            if holder.state == LOOKUP_STATE:
                ok.trigger(holder)
    elapsed = time.perf_counter() - start
    assert all(h.state == START for h in live), "every conversation must end at start"
    return elapsed, turns
