"""Rendering compiled messages into effects: the user's language chosen, templates filled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botkit import effects
from botkit.flow import model

__all__ = ["render"]


def _text(
    text: model.Text | None, locale: str, slots: Mapping[str, Any], profile: Mapping[str, Any]
) -> str:
    if text is None:
        return ""
    return text.template(locale).render(slots, profile)


def _image(
    image: model.ImageSpec | None,
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
) -> effects.Image | None:
    if image is None:
        return None
    return effects.Image(image.url, _text(image.alt, locale, slots, profile))


def _buttons(
    buttons: tuple[model.ButtonSpec, ...],
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
) -> tuple[effects.Button, ...]:
    out = []
    for b in buttons:
        value = b.value
        if b.target is not None:  # to / agent: pressing it sends a payload naming the state
            value = f"@{b.target[0]}.{b.target[1]}"
        out.append(effects.Button(_text(b.label, locale, slots, profile), b.kind, value))
    return tuple(out)


def _card(
    card: model.CardSpec,
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
    parts: dict[tuple[int, str], Any] | None = None,
) -> effects.Card:
    return effects.Card(
        _text(card.title, locale, slots, profile),
        _text(card.description, locale, slots, profile),
        _image(card.image, locale, slots, profile),
        _cached_buttons(card.buttons, locale, slots, profile, parts),
    )


def _plain(texts: Iterable[model.Text]) -> bool:
    return all(all(t.is_plain for t in text.by_locale.values()) for text in texts)


def _cached_buttons(
    buttons: tuple[model.ButtonSpec, ...],
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
    parts: dict[tuple[int, str], Any] | None,
) -> tuple[effects.Button, ...]:
    if parts is None:
        return _buttons(buttons, locale, slots, profile)
    key = (id(buttons), locale)
    cached: tuple[effects.Button, ...] | None = parts.get(key)
    if cached is None:
        cached = _buttons(buttons, locale, slots, profile)
        if _plain(b.label for b in buttons):
            parts[key] = cached
    return cached


def render(
    message: model.Message,
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
    *,
    slot: str | None = None,
    parts: dict[tuple[int, str], Any] | None = None,
) -> effects.Say:
    """Render one message.

    ``parts`` (kept by the engine, which keeps the bot and so every message alive) caches the
    choices and buttons whose labels name no value, so a message whose text changes per user
    does not rebuild its fixed parts every time.
    """
    key = (id(message.quick_replies), locale)
    choices: tuple[effects.Choice, ...] | None = parts.get(key) if parts is not None else None
    if choices is None:
        choices = tuple(
            effects.Choice(_text(q.label, locale, slots, profile), q.payload)
            for q in message.quick_replies
        )
        if parts is not None and _plain(q.label for q in message.quick_replies):
            parts[key] = choices
    items: tuple[effects.ListItem, ...] = ()
    header = None
    if message.list is not None:
        header = _text(message.list.header, locale, slots, profile)
        items = tuple(
            effects.ListItem(
                _text(i.title, locale, slots, profile),
                _text(i.description, locale, slots, profile),
                _image(i.image, locale, slots, profile),
                i.url,
                i.payload or (f"@{i.target[0]}.{i.target[1]}" if i.target else None),
            )
            for i in message.list.items
        )
    buttons = _cached_buttons(message.buttons, locale, slots, profile, parts) + (
        _buttons(message.list.buttons, locale, slots, profile) if message.list else ()
    )
    return effects.Say(
        text=_text(message.text, locale, slots, profile) if message.text else None,
        card=_card(message.card, locale, slots, profile, parts) if message.card else None,
        cards=tuple(_card(c, locale, slots, profile, parts) for c in message.cards),
        image=_image(message.image, locale, slots, profile),
        header=header,
        items=items,
        choices=choices,
        buttons=buttons,
        slot=slot,
    )
