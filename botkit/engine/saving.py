"""Saving: what an action's answer and a transition's ``set:``/``clear:`` leave in the slots.

The slots an action's ``save:`` names always hold what its latest answer said: an ``ok`` answer
fills those whose field it has and empties the others, any other result empties them all, so
no value of an earlier call is ever shown as if it were this one's. An ``ok`` answer without a
field the action ``require``s is routed as ``error`` and saves nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from botkit.engine.turn import Run
from botkit.events import ActionResult
from botkit.flow.model import Action, SlotUpdate

__all__ = ["change_slots", "save_answer"]


def save_answer(
    run: Run, action: Action | None, event: ActionResult
) -> tuple[ActionResult, list[str]]:
    """Save the answer into the slots; return the result as it is routed and the required
    slots the answer lacked (none unless it became an ``error`` for it)."""
    if action is None or not action.save:
        return event, []
    found: dict[str, Any] = {}
    missing: list[str] = []
    if event.result == "ok":
        for slot, path in action.save.items():
            value: Any = event.data
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if value is not None:
                found[slot] = value
        missing = [slot for slot in action.require if slot not in found]
    if missing:
        fields = ", ".join(f"'{'.'.join(action.save[slot])}'" for slot in missing)
        detail = f"the answer has no {fields}, which 'require' asks for"
        event = dataclasses.replace(event, result="error", detail=detail)
        found = {}
    slots = run.session.slots
    for slot in action.save:
        if slot in found:
            slots[slot] = found[slot]
        else:
            slots.pop(slot, None)
    return event, missing


def change_slots(run: Run, update: SlotUpdate | None) -> None:
    """Do a transition's or next step's ``clear:`` and then its ``set:``. A slot set here
    counts as filled in this turn, so a ``collect`` entered next does not ask for it."""
    if update is None:
        return
    slots = run.session.slots
    for name in update.cleared:
        slots.pop(name, None)
        run.fresh.discard(name)
    for name, value in update.values.items():
        slots[name] = value
        run.fresh.add(name)
