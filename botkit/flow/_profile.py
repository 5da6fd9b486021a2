"""The customer profile bot.yaml declares (``profile:``).

A shop's CRM knows its customers by attributes (grade, age, region, ...). Declaring them types
what ``PUT /customers`` and ``botkit customers import`` accept (:mod:`botkit.audience.profile`),
marks the personal ones ``sensitive``, and lets ``botkit check`` find ``profile.grde`` in a
condition (:meth:`Context.read_profile`): once a profile is declared, flows read only its
attributes and what the channels themselves put in the profile (Kakao's user properties, which
no schema of the shop's types). Without one, flows read any ``profile.<field>`` as before.
"""

from __future__ import annotations

from botkit.flow._context import Context, Spot
from botkit.flow._node import Node
from botkit.flow.model import ProfileAttribute

__all__ = ["compile_profile"]


def compile_profile(ctx: Context, bot: Node) -> dict[str, ProfileAttribute] | None:
    """bot.yaml's ``profile:`` (None when it declares none), its attributes also noted in
    ``ctx`` so that the conditions and templates compiled after it are checked against them."""
    if not bot.has("profile"):
        return None
    out: dict[str, ProfileAttribute] = {}
    spots: dict[str, Spot] = {}
    for name, node in bot.members("profile", "profile_attribute"):
        kind = str(node.get("type"))
        values = tuple(str(v) for v in node.get("values") or ())
        if kind == "enum" and not values:
            ctx.reporter.add(
                "BK203",
                node.where(),
                f"profile attribute '{name}' of type enum is missing 'values'",
                expected="a 'values:' list of the values the attribute may take",
            )
        elif kind != "enum" and values:
            ctx.reporter.add(
                "BK208",
                node.where("values", at_key=True),
                f"profile attribute '{name}' is of type {kind}, which has no 'values'",
                hint="only an enum lists its values: make it 'type: enum', or leave out 'values'",
            )
        out[name] = ProfileAttribute(
            name=name,
            type=kind,
            values=values,
            title=str(node.get("title") or name),
            sensitive=bool(node.get("sensitive", False)),
        )
        spots[name] = Spot(node.doc, node.path)
    ctx.profile = spots
    return out
