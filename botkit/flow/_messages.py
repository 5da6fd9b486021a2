"""Compiling what the bot says: texts in every language, messages, quick replies, buttons,
cards, carousels, images and lists."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from botkit.flow._context import Context
from botkit.flow._locales import warn_untranslated
from botkit.flow._node import Node
from botkit.flow._words import all_of, one_of
from botkit.flow.model import (
    ButtonSpec,
    CardSpec,
    ImageSpec,
    ListItemSpec,
    ListView,
    Message,
    QuickReply,
    Target,
    Text,
)
from botkit.flow.templates import Template

__all__ = ["compile_messages", "compile_text"]

_CONTENT = ("text", "card", "cards", "image", "list")
_BUTTON_KINDS = ("url", "phone", "payload", "to", "agent")


def compile_text(ctx: Context, node: Node, key: str | int, *more: str | int) -> Text | None:
    """A text value: plain text, or {locale: text}."""
    raw: Any
    if isinstance(key, str) and not more:
        raw = node.get(key)
    else:
        raw = node.doc.data
        for step in (*node.path, key, *more):
            raw = raw[step]
    if isinstance(raw, str):
        warn_untranslated(ctx, node.where_path(key, *more), (ctx.default_locale,))
        return Text(
            MappingProxyType({ctx.default_locale: ctx.template(node, key, raw, *more)}),
            ctx.default_locale,
        )
    if not isinstance(raw, dict):
        return None
    by_locale: dict[str, Template] = {}
    for locale, text in raw.items():
        if locale not in ctx.locales:
            ctx.reporter.add(
                "BK313",
                node.where_path(key, *more, locale, at_key=True),
                f"language '{locale}' is not one of the bot's languages",
                expected=one_of(f"'{loc}'" for loc in ctx.locales),
                found=f"'{locale}'",
                hint="add it to 'locales:' in bot.yaml, or remove this text",
            )
        if isinstance(text, str):
            by_locale[locale] = ctx.template(node, key, text, *more, locale)
    if ctx.default_locale not in raw:
        ctx.reporter.add(
            "BK412",
            node.where_path(key, *more),
            f"this text has no '{ctx.default_locale}' version, the bot's default language",
            expected=f"a '{ctx.default_locale}:' entry",
            found=one_of(f"'{loc}'" for loc in raw),
            hint="users whose language has no text see the default language",
        )
        return None
    warn_untranslated(ctx, node.where_path(key, *more), by_locale)
    return Text(MappingProxyType(by_locale), ctx.default_locale)


def compile_messages(ctx: Context, node: Node, key: str, flow: str | None) -> tuple[Message, ...]:
    """A ``say``-like value: text, a message, or a list of them."""
    value = node.get(key)
    if value is None:
        return ()
    if isinstance(value, list):
        out: list[Message] = []
        for i, item in enumerate(value):
            message = _one(ctx, node, (key, i), item, flow)
            if message is not None:
                out.append(message)
        return tuple(out)
    message = _one(ctx, node, (key,), value, flow)
    return (message,) if message is not None else ()


def compile_message_list(
    ctx: Context, node: Node, key: str, flow: str | None
) -> tuple[Message, ...]:
    """A list where each entry is one message (fallback messages per miss, re-prompts)."""
    value = node.get(key)
    if isinstance(value, str):
        message = _one(ctx, node, (key,), value, flow)
        return (message,) if message else ()
    if not isinstance(value, list):
        return ()
    return tuple(m for i, item in enumerate(value) if (m := _one(ctx, node, (key, i), item, flow)))


def _one(
    ctx: Context, node: Node, steps: tuple[str | int, ...], value: Any, flow: str | None
) -> Message | None:
    if isinstance(value, str):
        text = compile_text(ctx, node, *steps)
        return Message(text=text) if text else None
    if not isinstance(value, dict):
        return None
    m = node.child(*steps, kind="message")
    present = m.present(_CONTENT)
    if len(present) > 1:
        ctx.reporter.add(
            "BK208",
            m.where(present[1], at_key=True),
            f"a message shows one thing, but this one has {all_of(repr(p) for p in present)}",
            hint="split it into two messages in a list, one per bubble",
        )
    if not present:
        ctx.reporter.add(
            "BK203",
            m.where(),
            "this message has nothing to show",
            expected="one of 'text', 'card', 'cards', 'image' or 'list'",
        )
        return None
    text = compile_text(ctx, m, "text") if m.has("text") else None
    card_node = m.node("card", "card")
    cards = tuple(c for n in m.nodes("cards", "card") if (c := _card(ctx, n, flow)) is not None)
    return Message(
        text=text,
        card=_card(ctx, card_node, flow) if card_node else None,
        cards=cards,
        image=_image(ctx, m, "image"),
        list=_list(ctx, m.node("list", "list"), flow),
        quick_replies=tuple(
            q for n in m.nodes("quick_replies", "quick_reply") if (q := _quick(ctx, n, flow))
        ),
        buttons=_buttons(ctx, m, flow),
    )


def _quick(ctx: Context, q: Node, flow: str | None) -> QuickReply | None:
    label = compile_text(ctx, q, "label")
    if label is None:
        return None
    if q.has("payload") and q.has("to"):
        ctx.reporter.add(
            "BK208",
            q.where("to", at_key=True),
            "a quick reply has either 'payload' or 'to', not both",
            hint="use 'to' to go straight to a state, or 'payload' to handle it in 'on:'",
        )
    target: Target | None = ctx.target(q, "to", flow) if q.has("to") else None
    payload = q.get("payload")
    if payload is None:
        payload = f"@{target[0]}.{target[1]}" if target else ""
    return QuickReply(label, payload, target)


def _buttons(ctx: Context, owner: Node, flow: str | None) -> tuple[ButtonSpec, ...]:
    out: list[ButtonSpec] = []
    for b in owner.nodes("buttons", "button"):
        label = compile_text(ctx, b, "label")
        kinds = b.present(_BUTTON_KINDS)
        if len(kinds) > 1:
            ctx.reporter.add(
                "BK208",
                b.where(kinds[1], at_key=True),
                f"a button does one thing, but this one has {all_of(repr(k) for k in kinds)}",
                hint="keep one of url, phone, payload, to or agent",
            )
            continue
        if not kinds:
            ctx.reporter.add(
                "BK210",
                b.where(),
                "this button does nothing when pressed",
                expected="one of 'url', 'phone', 'payload', 'to' or 'agent'",
            )
            continue
        kind = kinds[0]
        target: Target | None = None
        if kind in ("to", "agent"):
            target = ctx.target(b, kind, flow)
            if target is None:
                continue
            if kind == "agent":
                ctx.agent_targets.append((b.where(kind), target))
        if label is not None:
            out.append(ButtonSpec(label, kind, str(b.get(kind)), target))
    return tuple(out)


def _image(ctx: Context, owner: Node, key: str) -> ImageSpec | None:
    value = owner.get(key)
    if isinstance(value, str):
        return ImageSpec(value, None)
    node = owner.node(key, "image")
    if node is None:
        return None
    alt = compile_text(ctx, node, "alt") if node.has("alt") else None
    return ImageSpec(str(node.get("url")), alt)


def _card(ctx: Context, c: Node, flow: str | None) -> CardSpec | None:
    title = compile_text(ctx, c, "title")
    if title is None:
        return None
    return CardSpec(
        title,
        compile_text(ctx, c, "description") if c.has("description") else None,
        _image(ctx, c, "image"),
        _buttons(ctx, c, flow),
    )


def _list(ctx: Context, node: Node | None, flow: str | None) -> ListView | None:
    if node is None:
        return None
    header = compile_text(ctx, node, "header")
    items: list[ListItemSpec] = []
    for it in node.nodes("items", "list_item"):
        title = compile_text(ctx, it, "title")
        if title is None:
            continue
        items.append(
            ListItemSpec(
                title,
                compile_text(ctx, it, "description") if it.has("description") else None,
                _image(ctx, it, "image"),
                it.get("url"),
                it.get("payload"),
                ctx.target(it, "to", flow) if it.has("to") else None,
            )
        )
    if header is None:
        return None
    return ListView(header, tuple(items), _buttons(ctx, node, flow))
