"""Compiling what a flow says about slot values outside questions: the ``set:`` and ``clear:``
of a transition or next step, and the ``require:`` of an action."""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any

from botkit.flow._context import Context
from botkit.flow._node import Node
from botkit.flow._words import did_you_mean, one_of, show_value
from botkit.flow.model import SlotUpdate

__all__ = ["compile_require", "compile_update"]


def compile_update(ctx: Context, node: Node) -> SlotUpdate | None:
    """The ``set:`` and ``clear:`` of a transition or next step (None when it has neither)."""
    given = node.get("set")
    emptied = node.get("clear")
    if given is None and emptied is None:
        return None
    values: dict[str, str | int | float | bool] = {}
    for name, value in (given or {}).items():
        where = partial(node.where_path, "set", name, at_key=True)
        if ctx.reference("slots", name, where, "BK302") and _fits(ctx, node, name, value):
            values[str(name)] = value
    names = [emptied] if isinstance(emptied, str) else list(emptied or ())
    cleared: list[str] = []
    for i, name in enumerate(names):
        steps: tuple[str | int, ...] = ("clear",) if isinstance(emptied, str) else ("clear", i)
        if not ctx.reference("slots", name, partial(node.where_path, *steps), "BK302"):
            continue
        if name in values:
            ctx.reporter.add(
                "BK208",
                node.where_path(*steps),
                f"slot '{name}' is both set and cleared here",
                hint=f"keep '{name}' under 'set:' to give it a value, or under 'clear:' to "
                "empty it",
            )
            continue
        cleared.append(str(name))
    return SlotUpdate(MappingProxyType(values), tuple(cleared))


def _fits(ctx: Context, node: Node, name: str, value: Any) -> bool:
    """Whether ``value`` is one the slot can hold: one of an enum's values, a number for a
    number slot, text for the others (what an answer to the slot would be saved as)."""
    spot = ctx.declared.slots[name]
    declared: Any = spot.doc.data
    for step in spot.path:
        declared = declared.get(step) if isinstance(declared, dict) else None
    kind = declared.get("type") if isinstance(declared, dict) else None
    raw = declared.get("values") if isinstance(declared, dict) else None
    choices = [str(v) for v in raw] if isinstance(raw, list | dict) else []
    if kind == "enum" and choices:
        ok = isinstance(value, str) and value in choices
        expected = one_of(f"'{c}'" for c in choices)
        hint = did_you_mean(str(value), choices)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        expected, hint = "a number", None
    else:
        ok = isinstance(value, str)
        expected, hint = "text", "put the value in quotes to keep it as text"
    if not ok:
        ctx.reporter.add(
            "BK205",
            node.where_path("set", name),
            f"slot '{name}' ({kind} slot) cannot be set to {show_value(value)}",
            expected=expected,
            found=show_value(value),
            hint=hint,
        )
    return ok


def compile_require(ctx: Context, action: str, node: Node) -> tuple[str, ...]:
    """The ``require:`` of an action: slots its ``save:`` fills, each reported when not."""
    saved = node.get("save") or {}
    out: list[str] = []
    for i, name in enumerate(node.get("require") or ()):
        if name in saved:
            out.append(str(name))
            continue
        ctx.reporter.add(
            "BK315",
            node.where_path("require", i),
            f"action '{action}' requires '{name}', but its 'save:' does not fill that slot",
            expected="a slot that 'save:' fills"
            + (f": {one_of(repr(str(s)) for s in saved)}" if saved else ""),
            found=f"'{name}'",
            hint=did_you_mean(str(name), saved)
            or f"add '{name}: <field of the answer>' under 'save:'",
        )
    return tuple(out)
