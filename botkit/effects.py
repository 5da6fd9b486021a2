"""What comes out of the engine: what to say, what to run, whom to hand over to.

Effects are values: nothing changes them after the engine made them. (They are not declared
``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, which would
triple the cost of rendering a reply.)

Messages here are *rendered*: templates filled, the user's language chosen. Channel adapters turn
them into KakaoTalk JSON, widget frames or console text; rich content that a channel cannot show
degrades to text through :func:`as_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Button",
    "Call",
    "Card",
    "Choice",
    "Effect",
    "End",
    "HandOff",
    "Image",
    "ListItem",
    "Say",
    "as_text",
    "is_plain",
    "offered_choices",
    "pressable",
    "say_from_data",
    "say_to_data",
]


@dataclass(slots=True)
class Choice:
    """A quick reply: what the user sees, and what pressing it sends."""

    label: str
    payload: str


@dataclass(slots=True)
class Button:
    label: str
    kind: str  # url | phone | payload | to | agent
    value: str  # the url, the phone number, or the payload to send


@dataclass(slots=True)
class Image:
    url: str
    alt: str = ""


@dataclass(slots=True)
class Card:
    title: str
    description: str = ""
    image: Image | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(slots=True)
class ListItem:
    title: str
    description: str = ""
    image: Image | None = None
    url: str | None = None
    payload: str | None = None


@dataclass(slots=True)
class Say:
    """One bubble. Exactly one of text, card, cards, image or items (a list) is set."""

    text: str | None = None
    card: Card | None = None
    cards: tuple[Card, ...] = ()
    image: Image | None = None
    header: str | None = None  # with items: a list
    items: tuple[ListItem, ...] = ()
    choices: tuple[Choice, ...] = ()
    buttons: tuple[Button, ...] = ()
    slot: str | None = None  # set when this bubble asks for a slot
    agent: str | None = None  # set when a person (an agent), not the bot, wrote it


@dataclass(slots=True)
class Call:
    """Run an action, then feed an ``ActionResult`` back to the engine."""

    action: str


@dataclass(slots=True)
class HandOff:
    reason: str
    queue: str | None = None
    state: str = ""  # the handoff state, "flow.state"


@dataclass(slots=True)
class End:
    outcome: str


Effect = Say | Call | HandOff | End


def say_to_data(say: Say) -> dict[str, Any]:
    """A bubble as plain JSON data, to keep in a session or a record (only the fields that are
    set). Written out field by field: ``dataclasses.asdict`` deep-copies every string, and a
    turn may turn several bubbles into data."""
    out: dict[str, Any] = {}
    if say.text is not None:
        out["text"] = say.text
    if say.card is not None:
        out["card"] = _card_data(say.card)
    if say.cards:
        out["cards"] = [_card_data(c) for c in say.cards]
    if say.image is not None:
        out["image"] = {"url": say.image.url, "alt": say.image.alt}
    if say.header is not None:
        out["header"] = say.header
    if say.items:
        out["items"] = [_item_data(i) for i in say.items]
    if say.choices:
        out["choices"] = [{"label": c.label, "payload": c.payload} for c in say.choices]
    if say.buttons:
        out["buttons"] = _buttons_data(say.buttons)
    if say.slot is not None:
        out["slot"] = say.slot
    if say.agent is not None:
        out["agent"] = say.agent
    return out


def _card_data(card: Card) -> dict[str, Any]:
    out: dict[str, Any] = {"title": card.title, "description": card.description}
    if card.image is not None:
        out["image"] = {"url": card.image.url, "alt": card.image.alt}
    if card.buttons:
        out["buttons"] = _buttons_data(card.buttons)
    return out


def _buttons_data(buttons: tuple[Button, ...]) -> list[dict[str, str]]:
    return [{"label": b.label, "kind": b.kind, "value": b.value} for b in buttons]


def _item_data(item: ListItem) -> dict[str, Any]:
    out: dict[str, Any] = {"title": item.title, "description": item.description}
    if item.image is not None:
        out["image"] = {"url": item.image.url, "alt": item.image.alt}
    if item.url is not None:
        out["url"] = item.url
    if item.payload is not None:
        out["payload"] = item.payload
    return out


def is_plain(say: Say) -> bool:
    """Whether a bubble is text and nothing else: its text (as records keep it) says it all."""
    return not (
        say.card or say.cards or say.image or say.items or say.choices or say.buttons or say.header
    )


def say_from_data(data: dict[str, Any]) -> Say:
    """The bubble :func:`say_to_data` made."""

    def image(d: dict[str, Any] | None) -> Image | None:
        return None if d is None else Image(**d)

    def buttons(items: list[dict[str, Any]] | None) -> tuple[Button, ...]:
        return tuple(Button(**b) for b in items or ())

    def card(d: dict[str, Any]) -> Card:
        return Card(**{**d, "image": image(d.get("image")), "buttons": buttons(d.get("buttons"))})

    return Say(
        text=data.get("text"),
        card=None if data.get("card") is None else card(data["card"]),
        cards=tuple(card(c) for c in data.get("cards", ())),
        image=image(data.get("image")),
        header=data.get("header"),
        items=tuple(
            ListItem(**{**i, "image": image(i.get("image"))}) for i in data.get("items", ())
        ),
        choices=tuple(Choice(**c) for c in data.get("choices", ())),
        buttons=buttons(data.get("buttons")),
        slot=data.get("slot"),
        agent=data.get("agent"),
    )


def offered_choices(effects: Sequence[Effect]) -> list[Choice]:
    """The quick replies on screen after a turn: those of its last bubble that has any.

    One rule for everything that numbers or presses choices: the shell, `botkit test`'s
    ``choose:``, and recordings, so a number picked in one means the same choice in another.
    """
    shown = next((e for e in reversed(effects) if isinstance(e, Say) and e.choices), None)
    return list(shown.choices) if isinstance(shown, Say) else []


_PRESSED = ("payload", "to", "agent")  # button kinds whose press sends their value back


def pressable(say: Say) -> list[str]:
    """The payloads a user can send back from this bubble: its quick replies, its buttons and
    its cards' buttons that send a payload, and its list items. Links and phone numbers are
    opened by the device and never come back."""
    out = [c.payload for c in say.choices if c.payload]
    cards = ([say.card] if say.card else []) + list(say.cards)
    for buttons in (say.buttons, *(card.buttons for card in cards)):
        out.extend(b.value for b in buttons if b.kind in _PRESSED and b.value)
    out.extend(i.payload for i in say.items if i.payload)
    return out


def as_text(say: Say) -> str:
    """Rich content as plain text: the ladder every channel without cards falls back to."""
    lines: list[str] = []
    if say.text:
        lines.append(say.text)
    cards = ([say.card] if say.card else []) + list(say.cards)
    for card in cards:
        lines.append(f"[{card.title}]" + (f" {card.description}" if card.description else ""))
        lines.extend(_button_text(b) for b in card.buttons)
    if say.image:
        lines.append(f"(이미지: {say.image.alt or say.image.url})")
    if say.header:
        lines.append(say.header)
        for i, item in enumerate(say.items, 1):
            extra = f" - {item.description}" if item.description else ""
            lines.append(f"{i}. {item.title}{extra}" + (f" ({item.url})" if item.url else ""))
    lines.extend(_button_text(b) for b in say.buttons)
    return "\n".join(lines)


def _button_text(button: Button) -> str:
    if button.kind == "url":
        return f"- {button.label}: {button.value}"
    if button.kind == "phone":
        return f"- {button.label}: ☎ {button.value}"
    return f"- {button.label}"
