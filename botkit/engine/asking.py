"""Answers: what the user says to the slot being asked for, and to the confirmation of its value.

Asking itself is part of entering a collect state (``moving.ask``); this module reads the
answer. A valid answer is accepted (or first confirmed, for a slot with ``confirm``) and the
state goes on to its next missing slot or its ``next`` step. An answer that is not valid is not
rejected here at once: the caller first lets the rest of the message match (so "처음으로"
still works while a number is being asked for), and calls :func:`reject` only if nothing did.
"""

from __future__ import annotations

from typing import Any

from botkit import effects
from botkit.engine.moving import ask, continue_collect, go
from botkit.engine.slots import extract
from botkit.engine.turn import MAX_TEXT, Run
from botkit.flow.model import Slot
from botkit.records import RecordKind

__all__ = ["accept", "answer", "confirm", "fill", "reject"]

# Bound once, as turn.py explains: a RecordKind member is slow to read on Python 3.11.
_SLOT_FILLED = RecordKind.SLOT_FILLED
_SLOT_REJECTED = RecordKind.SLOT_REJECTED


def answer(run: Run, slot: Slot, raw: str, payload: str | None) -> bool:
    """Take the message as the slot's answer if it is a valid one; whether it was."""
    value = extract(slot, raw[:MAX_TEXT], payload, run.at)
    validator = run.prepared.validators.get(slot.validator or "")
    if value is not None and validator is not None and not validator(value, run.session.slots):
        value = None
    if value is None:
        return False
    accept(run, slot, value)
    return True


def accept(run: Run, slot: Slot, value: Any) -> None:
    """A valid answer: filled, or first shown back for a yes/no when the slot asks for one."""
    s = run.session
    if slot.confirm is not None:
        wording = run.prepared.wording_of(s.locale)
        s.pending = value
        s.awaiting = run.prepared.confirming[slot.name]
        run.new_screen = True
        template = slot.confirm.template(s.locale)
        values = run.prepared.shown({**s.slots, slot.name: value})
        text = template.render(values, s.profile or {})
        run.say_text(
            text,
            choices=(
                effects.Choice(wording.yes_label, "yes"),
                effects.Choice(wording.no_label, "no"),
            ),
            slot=slot.name,
            recorded=template.render(run.prepared.masked(values), s.profile or {}),
        )
        return
    fill(run, slot, value)


def fill(run: Run, slot: Slot, value: Any) -> None:
    s = run.session
    s.slots[slot.name] = value
    s.pending = None
    run.fresh.add(slot.name)
    filled: dict[str, Any] = {"slot": slot.name, "attempt": s.attempts + 1}
    if not slot.sensitive and isinstance(value, str | int | float | bool):
        # answers to surveys and choices are what reports measure; a slot marked
        # sensitive (a phone number, an e-mail) keeps its value out of the records
        filled["value"] = value[:500] if isinstance(value, str) else value
    run.record(_SLOT_FILLED, filled)
    s.awaiting = None
    continue_collect(run, run.prepared.state_of(s))


def confirm(run: Run, name: str, said: str, payload: str | None) -> bool:
    """A yes or a no to the value shown back; whether the message was one."""
    s = run.session
    slot = run.bot.slots[name]
    wording = run.prepared.wording_of(s.locale)
    if payload == "yes" or said in wording.yes:
        fill(run, slot, s.pending)
        return True
    if payload == "no" or said in wording.no:
        s.pending = None
        run.record(
            _SLOT_REJECTED,
            {"slot": name, "attempt": s.attempts + 1, "reason": "not confirmed"},
        )
        ask(run, slot)
        return True
    return False


def reject(run: Run, slot: Slot) -> None:
    """Nothing in the message answered the slot: ask again, or give up after max_attempts."""
    s = run.session
    s.attempts += 1
    run.record(_SLOT_REJECTED, {"slot": slot.name, "attempt": s.attempts})
    if s.attempts >= slot.max_attempts and slot.on_exhausted is not None:
        go(
            run,
            slot.on_exhausted,
            f"{slot.name} attempts exhausted",
            reason="slot_exhausted",
            why=slot.name,
        )
        return
    if s.attempts >= slot.max_attempts:
        s.attempts = 0
    if slot.reprompts:
        # the Nth reprompt after the Nth wrong answer, the last one after that; each keeps
        # the prompt's quick replies when it has none (prepared once: Prepared.reprompts)
        reprompts = run.prepared.reprompts[slot.name]
        run.say((reprompts[min(max(s.attempts, 1), len(reprompts)) - 1],), slot=slot.name)
    else:
        run.say(slot.prompt, slot=slot.name)
