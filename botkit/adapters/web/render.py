"""Effects as the web widget draws them: plain JSON objects (``adapters/web/PROTOCOL.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from botkit.effects import Button, Card, Effect, Image, Say, is_plain, say_from_data

__all__ = ["render_history", "render_web"]


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


def render_history(
    transcript: Sequence[dict[str, Any]], offered: Sequence[str] | None
) -> dict[str, Any]:
    """``GET /web/history``'s answer (PROTOCOL.md, "History"): the transcript, each bot entry
    that was more than text with its ``bubble`` drawn as live ones are (without its quick
    replies: they were answered), and the quick replies still on screen: those of the last
    bubble the bot said that had any, if the user said nothing after it and the session still
    offers them (``offered``: the payloads of the session's current screen)."""
    messages = []
    for entry in transcript:
        shown = {k: v for k, v in entry.items() if k != "say"}
        said = replace(say_from_data(entry["say"]), choices=()) if entry.get("say") else None
        if said is not None and not is_plain(said):
            shown["bubble"] = _message(said)
        messages.append(shown)
    return {"messages": messages, "choices": _last_choices(transcript, offered or ())}


def _last_choices(transcript: Sequence[dict[str, Any]], offered: Sequence[str]) -> list[Any]:
    for entry in reversed(transcript):
        if entry.get("from") != "bot":
            return []  # the user answered the last screen, or an agent is talking
        choices = (entry.get("say") or {}).get("choices")
        if choices:
            return [
                {"label": c["label"], "payload": c["payload"]}
                for c in choices
                if c.get("payload") in offered
            ]
    return []
