"""Rendering compiled messages into effects: the user's language chosen, templates filled."""

from __future__ import annotations

from collections.abc import Mapping
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
    image: model.Image | None, locale: str, slots: Mapping[str, Any], profile: Mapping[str, Any]
) -> effects.Image | None:
    if image is None:
        return None
    return effects.Image(image.url, _text(image.alt, locale, slots, profile))


def _buttons(
    buttons: tuple[model.Button, ...],
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
    card: model.Card, locale: str, slots: Mapping[str, Any], profile: Mapping[str, Any]
) -> effects.Card:
    return effects.Card(
        _text(card.title, locale, slots, profile),
        _text(card.description, locale, slots, profile),
        _image(card.image, locale, slots, profile),
        _buttons(card.buttons, locale, slots, profile),
    )


def render(
    message: model.Message,
    locale: str,
    slots: Mapping[str, Any],
    profile: Mapping[str, Any],
    *,
    slot: str | None = None,
) -> effects.Say:
    choices = tuple(
        effects.Choice(_text(q.label, locale, slots, profile), q.payload)
        for q in message.quick_replies
    )
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
    buttons = message.buttons + (message.list.buttons if message.list else ())
    return effects.Say(
        text=_text(message.text, locale, slots, profile) if message.text else None,
        card=_card(message.card, locale, slots, profile) if message.card else None,
        cards=tuple(_card(c, locale, slots, profile) for c in message.cards),
        image=_image(message.image, locale, slots, profile),
        header=header,
        items=items,
        choices=choices,
        buttons=_buttons(buttons, locale, slots, profile),
        slot=slot,
    )
