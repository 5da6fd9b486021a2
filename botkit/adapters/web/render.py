"""Effects as the web widget draws them: plain JSON objects (``adapters/web/PROTOCOL.md``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botkit.effects import Button, Card, Effect, Image, Say

__all__ = ["render_web"]


def _image(image: Image | None) -> dict[str, str] | None:
    return None if image is None else {"url": image.url, "alt": image.alt}


def _buttons(buttons: Iterable[Button]) -> list[dict[str, str]]:
    return [{"label": b.label, "kind": b.kind, "value": b.value} for b in buttons]


def _card(card: Card) -> dict[str, Any]:
    out: dict[str, Any] = {"title": card.title, "description": card.description}
    if card.image is not None:
        out["image"] = _image(card.image)
    out["buttons"] = _buttons(card.buttons)
    return out


def _message(say: Say) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if say.text:
        out["text"] = say.text
    if say.card is not None:
        out["card"] = _card(say.card)
    if say.cards:
        out["cards"] = [_card(c) for c in say.cards]
    if say.image is not None:
        out["image"] = _image(say.image)
    if say.header is not None or say.items:
        out["list"] = {
            "header": say.header or "",
            "items": [
                {
                    "title": i.title,
                    "description": i.description,
                    "url": i.url,
                    "payload": i.payload,
                    "image": _image(i.image),
                }
                for i in say.items
            ],
        }
    out["choices"] = [{"label": c.label, "payload": c.payload} for c in say.choices]
    out["buttons"] = _buttons(say.buttons)
    if say.agent:
        out["agent"] = say.agent
    return out


def render_web(effects: Iterable[Effect]) -> list[dict[str, Any]]:
    """The bubbles of a turn; effects that are not said (handoff, end) draw nothing."""
    return [_message(e) for e in effects if isinstance(e, Say)]
