"""A SkillResponse v2.0 built (§2): one turn's effects within every Kakao limit.

No I/O here: the endpoint runs the turn and answers with :func:`render`. Rendering enforces
every limit in :class:`KakaoLimits`, and each change it makes to fit one is reported in
:attr:`KakaoRendered.adjustments`, so content is never lost silently. Sections cited as §n are
those of ``reference/kakao-skill.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

import orjson

from botkit.adapters.kakao.cutting import cut, split_tail
from botkit.adapters.kakao.limits import KakaoLimits
from botkit.adapters.kakao.payload import EXTRA_KEY, KakaoContext
from botkit.effects import (
    Button,
    Call,
    Card,
    Choice,
    Effect,
    End,
    HandOff,
    Image,
    ListItem,
    Say,
    as_text,
)

__all__ = ["AGENT_PREFIX", "OPERATOR_LABEL", "KakaoRendered", "render", "render_response"]

JSONObject = dict[str, Any]

OPERATOR_LABEL = "상담원 연결"
AGENT_PREFIX = "[상담원] "  # KakaoTalk shows every bubble under the channel's name
_DEFAULT_LIMITS = KakaoLimits()


@dataclass(frozen=True, slots=True)
class KakaoRendered:
    """A SkillResponse, and what was changed to fit Kakao's limits (in English, for people)."""

    response: JSONObject
    adjustments: list[str]


def render(
    effects: Sequence[Effect],
    limits: KakaoLimits = _DEFAULT_LIMITS,
    *,
    context: Sequence[KakaoContext] | None = None,
    operator_label: str = OPERATOR_LABEL,
) -> KakaoRendered:
    """Turn one turn's effects into a SkillResponse that fits ``limits``.

    Args:
        effects: what the engine emitted, actions already run.
        limits: Kakao's limits.
        context: contexts to set (Kakao's ContextControl); None leaves them alone.
        operator_label: the label of the operator button a handoff offers.

    Returns:
        The response, and a note for every change made to fit the limits.

    Raises:
        ValueError: a ``Call`` effect, which the runtime should have run, or an unknown button.
    """
    rendered = _Composer(limits, operator_label, images=True).compose(effects, context)
    size = _size(rendered.response)
    if size <= limits.max_response_bytes:
        return rendered
    return _shrink(effects, limits, context, operator_label, size)


def render_response(
    effects: Sequence[Effect],
    limits: KakaoLimits = _DEFAULT_LIMITS,
    *,
    context: Sequence[KakaoContext] | None = None,
    operator_label: str = OPERATOR_LABEL,
) -> JSONObject:
    """:func:`render`, keeping only the response."""
    return render(effects, limits, context=context, operator_label=operator_label).response


def _size(response: JSONObject) -> int:
    return len(orjson.dumps(response))  # compact UTF-8, Hangul unescaped


_TEXT_CAPS = (500, 250, 120, 60)


def _shrink(
    effects: Sequence[Effect],
    limits: KakaoLimits,
    context: Sequence[KakaoContext] | None,
    operator_label: str,
    size: int,
) -> KakaoRendered:
    """Render again until the response fits the byte budget: first without images, then with
    ever shorter texts. Kakao shows nothing at all for a response that is too large (§2)."""
    over = f"the response ({size:,} bytes) was over the {limits.max_response_bytes:,}-byte budget"
    steps = [("images left out", limits)] + [
        (f"images left out and texts shortened to {cap} characters", _texts_capped(limits, cap))
        for cap in _TEXT_CAPS
    ]
    for done, tighter in steps:
        rendered = _Composer(tighter, operator_label, images=False).compose(effects, context)
        size = _size(rendered.response)
        if size <= limits.max_response_bytes:
            return KakaoRendered(rendered.response, [*rendered.adjustments, f"{over}: {done}"])
    still = f"{over}: {done}, and it is still {size:,} bytes"
    return KakaoRendered(rendered.response, [*rendered.adjustments, still])


def _texts_capped(limits: KakaoLimits, cap: int) -> KakaoLimits:
    """``limits`` with every free text (not titles or labels) at most ``cap`` characters."""
    return replace(
        limits,
        simple_text=min(limits.simple_text, cap),
        text_card_description=min(limits.text_card_description, cap),
        carousel_text_card_description=min(limits.carousel_text_card_description, cap),
        basic_card_description=min(limits.basic_card_description, cap),
        list_item_description=min(limits.list_item_description, cap),
    )


@dataclass(frozen=True, slots=True)
class _Bubble:
    """One output: what it shows as plain text, and the component showing it."""

    text: str  # also how it is carried into a text bubble when outputs run out
    component: JSONObject | None = None  # None: a simpleText, built last so it is cut only once


class _Composer:
    """Builds one SkillResponse; each change made to fit the limits goes into ``notes``."""

    def __init__(self, limits: KakaoLimits, operator_label: str, *, images: bool) -> None:
        self.limits = limits
        self.operator_label = operator_label
        self.images = images  # False once the byte budget forced images out
        self.notes: list[str] = []
        self.bubbles: list[_Bubble] = []
        self.choices: list[Choice] = []

    def compose(
        self, effects: Sequence[Effect], context: Sequence[KakaoContext] | None
    ) -> KakaoRendered:
        for effect in effects:
            self._effect(effect)
        template: JSONObject = {"outputs": [self._output(b) for b in self._fit_outputs()]}
        if not template["outputs"]:
            self.notes.append("nothing to show, but Kakao needs at least one output")
        if self.choices:
            template["quickReplies"] = self._quick_replies()
        response: JSONObject = {"version": "2.0", "template": template}
        if context is not None:
            response["context"] = {"values": [_context_value(c) for c in context]}
        return KakaoRendered(response, _counted(self.notes))

    def _effect(self, effect: Effect) -> None:
        match effect:
            case Say():
                self._say(effect)
            case HandOff():
                self._offer_operator()
            case End():
                pass  # KakaoTalk has nothing to show for the end of a conversation
            case Call(action=action):
                raise ValueError(f"Call({action!r}) reached the Kakao codec: run actions first")

    def _say(self, say: Say) -> None:
        self.choices.extend(say.choices)
        if say.text:
            self._text(AGENT_PREFIX + say.text if say.agent else say.text, say.buttons)
        elif say.card:
            self._card(say.card, say.buttons)
        elif say.cards:
            self._carousel(say.cards, say.buttons)
        elif say.image:
            self._image(say.image, say.buttons)
        elif say.items:
            self._list(say.header or "", say.items, say.buttons)

    # -- one bubble per kind of content ------------------------------------------------------

    def _text(self, text: str, buttons: Sequence[Button]) -> None:
        if not buttons:
            self.bubbles.append(_Bubble(text))
            return
        # A simpleText cannot hold buttons; a textCard can, but holds less text: the part that
        # does not fit goes first, as a simpleText.
        limit = self.limits.text_card_description
        if len(text) > limit:
            head, text = split_tail(text, limit)
            if head:
                self.bubbles.append(_Bubble(head))
        body = _with_buttons({"description": text}, self._buttons(buttons))
        shown = as_text(Say(text=text, buttons=tuple(buttons)))
        self.bubbles.append(_Bubble(shown, {"textCard": body}))

    def _card(self, card: Card, buttons: Sequence[Button]) -> None:
        with_image = card.image is not None and self.images
        all_buttons = [*card.buttons, *buttons]
        body = self._card_body(card, all_buttons, with_image=with_image, in_carousel=False)
        text = as_text(Say(card=card, buttons=tuple(buttons)))
        self.bubbles.append(_Bubble(text, {"basicCard" if with_image else "textCard": body}))

    def _carousel(self, cards: Sequence[Card], buttons: Sequence[Button]) -> None:
        kept = cards[: self.limits.carousel_items]
        self._left_out("cards", self.limits.carousel_items, [c.title for c in cards[len(kept) :]])
        if buttons:
            labels = ", ".join(b.label for b in buttons)
            self.notes.append(f"a Kakao carousel has no place for its own buttons: {labels}")
        with_images = self.images and all(c.image for c in kept)
        if self.images and not with_images and any(c.image for c in kept):
            self.notes.append(
                "card images left out: a Kakao carousel cannot mix cards with and without one"
            )
        items = [
            self._card_body(c, c.buttons, with_image=with_images, in_carousel=True) for c in kept
        ]
        carousel = {"type": "basicCard" if with_images else "textCard", "items": items}
        self.bubbles.append(_Bubble(as_text(Say(cards=tuple(kept))), {"carousel": carousel}))

    def _image(self, image: Image, buttons: Sequence[Button]) -> None:
        if not self.images:
            self._text(as_text(Say(image=image)), buttons)
            return
        text = as_text(Say(image=image, buttons=tuple(buttons)))
        if buttons:  # a simpleImage cannot hold buttons; a basicCard showing only the image can
            body = _with_buttons({"thumbnail": {"imageUrl": image.url}}, self._buttons(buttons))
            self.bubbles.append(_Bubble(text, {"basicCard": body}))
            return
        alt = self._fit(image.alt or "이미지", self.limits.image_alt_text, "image alt text")
        self.bubbles.append(
            _Bubble(text, {"simpleImage": {"imageUrl": image.url, "altText": alt}})
        )

    def _list(self, header: str, items: Sequence[ListItem], buttons: Sequence[Button]) -> None:
        limits = self.limits
        kept = items[: limits.list_card_items]
        self._left_out("list items", limits.list_card_items, [i.title for i in items[len(kept) :]])
        body: JSONObject = {
            "header": {"title": self._fit(header, limits.list_card_header, "list header")},
            "items": [self._list_item(item) for item in kept],
        }
        body = _with_buttons(body, self._buttons(buttons, room=limits.list_card_buttons))
        text = as_text(Say(header=header, items=tuple(kept), buttons=tuple(buttons)))
        self.bubbles.append(_Bubble(text, {"listCard": body}))

    # -- the parts of a bubble -----------------------------------------------------------

    def _card_body(
        self, card: Card, buttons: Sequence[Button], *, with_image: bool, in_carousel: bool
    ) -> JSONObject:
        """A basicCard's body if ``with_image``, else a textCard's."""
        limits = self.limits
        body: JSONObject = {}
        if with_image and card.image:
            body["thumbnail"] = {"imageUrl": card.image.url}
            title_limit, description_limit = limits.basic_card_title, limits.basic_card_description
        elif in_carousel:
            title_limit = limits.text_card_title
            description_limit = limits.carousel_text_card_description
        else:
            title_limit, description_limit = limits.text_card_title, limits.text_card_description
        if card.title:
            body["title"] = self._fit(card.title, title_limit, "card title")
        if card.description:
            if not with_image and not in_carousel:
                # A single textCard's title and description share one limit (§2.1).
                description_limit = max(description_limit - len(body.get("title", "")), 1)
            description = self._fit(card.description, description_limit, "card description")
            body["description"] = description
        return _with_buttons(body, self._buttons(buttons))

    def _list_item(self, item: ListItem) -> JSONObject:
        limits = self.limits
        body: JSONObject = {
            "title": self._fit(item.title, limits.list_item_title, "list item title")
        }
        if item.description:
            body["description"] = self._fit(
                item.description, limits.list_item_description, "list item description"
            )
        if item.image and self.images:
            body["imageUrl"] = item.image.url
        if item.url:
            body["link"] = {"web": item.url}
        elif item.payload:
            body.update(_message_action(item.title, item.payload))
        return body

    def _buttons(self, buttons: Sequence[Button], room: int | None = None) -> list[JSONObject]:
        """The buttons KakaoTalk can show, at most ``room`` (a card's by default)."""
        room = self.limits.card_buttons if room is None else room
        usable = [b for b in buttons if self._opens(b)]
        self._left_out("buttons", room, [b.label for b in usable[room:]])
        return [self._button(b) for b in usable[:room]]

    def _opens(self, button: Button) -> bool:
        """Whether KakaoTalk can follow the button: links must be http(s) (§2)."""
        if button.kind != "url" or button.value.lower().startswith(("https://", "http://")):
            return True
        self.notes.append(
            f"button '{button.label}' left out: "
            f"Kakao opens only http(s) links, not '{button.value}'"
        )
        return False

    def _button(self, button: Button) -> JSONObject:
        label = self._fit(button.label, self.limits.button_label, "button label")
        match button.kind:
            case "url":
                return {"label": label, "action": "webLink", "webLinkUrl": button.value}
            case "phone":
                return {"label": label, "action": "phone", "phoneNumber": button.value}
            case "agent":
                # Kakao moves the chat to its 상담 system itself (§4); the skill never hears
                # of the press, so the flow's handoff state is not entered through it.
                return {"label": label, "action": "operator"}
            case "payload" | "to":
                return {"label": label, **_message_action(button.label, button.value)}
            case _:
                raise ValueError(f"button {button.label!r} has the unknown kind {button.kind!r}")

    def _offer_operator(self) -> None:
        """Offer Kakao's operator button: on KakaoTalk, only pressing it reaches a person (§4)."""
        if any(_offers_operator(b) for b in self.bubbles):
            return
        button = {
            "label": self._fit(self.operator_label, self.limits.button_label, "button label"),
            "action": "operator",
        }
        last = self.bubbles[-1] if self.bubbles else None
        if last and last.component is None and len(last.text) <= self.limits.text_card_description:
            # The holding message and the button in one bubble.
            holding = {"description": last.text, "buttons": [button]}
            self.bubbles[-1] = _Bubble(last.text, {"textCard": holding})
            return
        title = self._fit(self.operator_label, self.limits.text_card_title, "card title")
        offer = {"title": title, "buttons": [button]}  # the shape of §2.6's example
        self.bubbles.append(_Bubble(self.operator_label, {"textCard": offer}))

    # -- the response as a whole ---------------------------------------------------------

    def _fit_outputs(self) -> list[_Bubble]:
        """At most ``max_outputs`` bubbles: adjacent texts joined while they fit one text
        bubble, then the last ones carried into one text bubble."""
        limit, count = self.limits.max_outputs, len(self.bubbles)
        if count <= limit:
            return self.bubbles
        fitted = _join_texts(self.bubbles, limit, self.limits.simple_text)
        how = []
        if len(fitted) < count:
            how.append(f"adjacent texts joined ({count} → {len(fitted)})")
        if len(fitted) > limit:
            how.append(f"{len(fitted) - limit + 1} bubbles carried as text into one")
            fitted = _carry_overflow(fitted, limit)
        self.notes.append(
            f"{count} bubbles are more than Kakao's {limit} outputs: " + ", then ".join(how)
        )
        return fitted

    def _output(self, bubble: _Bubble) -> JSONObject:
        if bubble.component is not None:
            return bubble.component
        return {"simpleText": {"text": self._fit(bubble.text, self.limits.simple_text, "text")}}

    def _quick_replies(self) -> list[JSONObject]:
        limit = self.limits.max_quick_replies
        self._left_out("quick replies", limit, [c.label for c in self.choices[limit:]])
        return [
            {
                "label": self._fit(c.label, self.limits.quick_reply_label, "quick reply label"),
                **_message_action(c.label, c.payload),
            }
            for c in self.choices[:limit]
        ]

    def _fit(self, text: str, limit: int, what: str) -> str:
        fitted = cut(text, limit)
        if fitted != text:
            self.notes.append(
                f"{what} '{cut(text, 20)}' cut from {len(text):,} to {limit:,} characters"
            )
        return fitted

    def _left_out(self, what: str, limit: int, labels: Sequence[str]) -> None:
        if labels:
            self.notes.append(
                f"{len(labels)} {what} beyond Kakao's {limit} were left out: {', '.join(labels)}"
            )


def _message_action(label: str, payload: str) -> JSONObject:
    """Pressing it sends ``label`` as the user's message, and the payload (if any) in ``extra``."""
    action: JSONObject = {"action": "message", "messageText": label}
    if payload:
        action["extra"] = {EXTRA_KEY: payload}
    return action


def _counted(notes: list[str]) -> list[str]:
    """The notes once each, with how often they were made (thirty cards cut alike: one note)."""
    return [note if n == 1 else f"{note} ({n} times)" for note, n in Counter(notes).items()]


def _with_buttons(body: JSONObject, buttons: list[JSONObject]) -> JSONObject:
    return {**body, "buttons": buttons} if buttons else body


def _buttons_in(component: JSONObject) -> Iterator[JSONObject]:
    for kind, body in component.items():
        for part in body["items"] if kind == "carousel" else [body]:
            yield from part.get("buttons", ())


def _offers_operator(bubble: _Bubble) -> bool:
    if bubble.component is None:
        return False
    return any(b["action"] == "operator" for b in _buttons_in(bubble.component))


def _join_texts(bubbles: Sequence[_Bubble], limit: int, max_chars: int) -> list[_Bubble]:
    """Join the shortest pair of adjacent text bubbles, with a blank line, until at most
    ``limit`` bubbles remain or no pair fits ``max_chars``; the joins are as few as needed."""
    out = list(bubbles)
    while len(out) > limit:
        pairs = [
            (len(a.text) + len(b.text), i)
            for i, (a, b) in enumerate(pairwise(out))
            if a.component is None
            and b.component is None
            and len(a.text) + 2 + len(b.text) <= max_chars
        ]
        if not pairs:
            break
        _, i = min(pairs)
        out[i : i + 2] = [_Bubble(f"{out[i].text}\n\n{out[i + 1].text}")]
    return out


def _carry_overflow(bubbles: Sequence[_Bubble], limit: int) -> list[_Bubble]:
    """Keep the first ``limit - 1`` bubbles and carry the rest, as text, into the last one.

    The last bubble with the operator button is kept whole: it is the user's only way to a
    person, and it cannot be written as text.
    """
    keep = limit - 1
    operator_at = max((i for i, b in enumerate(bubbles) if _offers_operator(b)), default=-1)
    kept_whole: list[_Bubble] = []
    rest = list(bubbles)
    if operator_at >= keep:
        kept_whole = [rest.pop(operator_at)]
        keep -= 1
    carried = _Bubble("\n\n".join(b.text for b in rest[keep:]))
    return [*rest[:keep], carried, *kept_whole]


def _context_value(context: KakaoContext) -> JSONObject:
    value: JSONObject = {"name": context.name, "lifeSpan": context.life_span}
    value["params"] = dict(context.params)
    if context.ttl is not None:
        value["ttl"] = context.ttl
    return value
