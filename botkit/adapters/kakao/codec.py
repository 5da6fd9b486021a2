"""Kakao i Open Builder skills as pure data: a SkillPayload in, a SkillResponse v2.0 out.

No I/O here. The skill server reads the body, calls :func:`parse_payload`, runs the turn and
answers with :func:`render_response`. Rendering enforces every limit in :class:`KakaoLimits`,
and each change it makes to fit one is reported in :attr:`KakaoRendered.adjustments`, so content
is never lost silently. Sections cited as §n are those of ``reference/kakao-skill.md``.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any, TypeVar

import orjson

from botkit.adapters.kakao.limits import KakaoLimits
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
from botkit.errors import BadPayload

__all__ = [
    "EXTRA_KEY",
    "KakaoContext",
    "KakaoPayloadError",
    "KakaoRendered",
    "KakaoRequest",
    "parse_payload",
    "preview",
    "render",
    "render_response",
]

JSONObject = dict[str, Any]
T = TypeVar("T")

# Buttons and quick replies carry the botkit payload as {EXTRA_KEY: payload} in their `extra`,
# which Kakao sends back as `action.clientExtra` when they are pressed (§1.5, §2.2).
EXTRA_KEY = "botkit"
OPERATOR_LABEL = "상담원 연결"
AGENT_PREFIX = "[상담원] "  # KakaoTalk shows every bubble under the channel's name
ELLIPSIS = "…"
_DEFAULT_LIMITS = KakaoLimits()


# --------------------------------------------------------------------------------------------
# The request: SkillPayload (§1)
# --------------------------------------------------------------------------------------------


class KakaoPayloadError(BadPayload):
    """The body is not a SkillPayload botkit can read; ``field`` names the culprit."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path} {problem}")
        self.field = field_path


@dataclass(frozen=True, slots=True)
class KakaoContext:
    """A Kakao context (§1.6, §2.5): read from a request, set by a response.

    A ``life_span`` of 0 deletes it; ``ttl`` is in seconds.
    """

    name: str
    life_span: int
    params: dict[str, str] = field(default_factory=dict)
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class KakaoRequest:
    """What botkit needs from one skill call."""

    user: str  # userRequest.user.id, the botUserKey: one user of this bot (§1.3)
    bot_id: str
    utterance: str
    payload: str | None  # set when the user pressed one of botkit's buttons or quick replies
    profile: dict[str, Any]  # userRequest.user.properties: plusfriendUserKey, isFriend, ...
    params: dict[str, str]
    detail_params: dict[str, dict[str, Any]]
    client_extra: dict[str, Any]
    contexts: tuple[KakaoContext, ...]
    callback_url: str | None  # only on blocks with the AI-chatbot callback enabled (§3)
    timezone: str | None
    lang: str | None


def parse_payload(body: Mapping[str, Any]) -> KakaoRequest:
    """Read a SkillPayload; fields botkit does not use are ignored.

    Args:
        body: the request's JSON body, decoded.

    Returns:
        The request, with v1 spellings folded into the current ones.

    Raises:
        KakaoPayloadError: a field botkit needs is missing or has the wrong type.
    """
    if not isinstance(body, Mapping):
        raise KakaoPayloadError("the body", f"should be an object, not {_json_name(type(body))}")
    request = _need(body, "userRequest", dict, "")
    user = _need(request, "user", dict, "userRequest")
    action = _take(body, "action", dict, "") or {}
    client_extra = _client_extra(action)
    return KakaoRequest(
        user=_need_id(user, "id", "userRequest.user"),
        bot_id=_need_id(_need(body, "bot", dict, ""), "id", "bot"),
        utterance=_need(request, "utterance", str, "userRequest"),
        payload=_take(client_extra, EXTRA_KEY, str, "action.clientExtra"),
        profile=_profile(_take(user, "properties", dict, "userRequest.user") or {}),
        params=_values(action, "params", str, "action"),
        detail_params=_values(action, "detailParams", dict, "action"),
        client_extra=client_extra,
        contexts=_contexts(_take(body, "contexts", list, "") or []),
        callback_url=_take(request, "callbackUrl", str, "userRequest"),
        timezone=_take(request, "timezone", str, "userRequest"),
        lang=_lang(_take(request, "lang", str, "userRequest")),
    )


def _take(parent: Mapping[str, Any], key: str, kind: type[T], path: str) -> T | None:
    """``parent[key]`` if it is a ``kind``; None if absent or null."""
    value = parent.get(key)
    if value is None:
        return None
    # JSON true and false are Python ints too; a count or an id must not be one.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        where = f"{path}.{key}" if path else key
        expected, found = _json_name(kind), _json_name(type(value))
        raise KakaoPayloadError(where, f"should be {expected}, not {found}")
    return value


def _need(parent: Mapping[str, Any], key: str, kind: type[T], path: str) -> T:
    value = _take(parent, key, kind, path)
    if value is None:
        raise KakaoPayloadError(f"{path}.{key}" if path else key, "is missing")
    return value


def _need_id(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = _need(parent, key, str, path)
    if not value.strip():
        raise KakaoPayloadError(f"{path}.{key}", "is empty")
    return value


def _values(parent: Mapping[str, Any], key: str, kind: type[T], path: str) -> dict[str, T]:
    """An object whose every value is a ``kind`` (``action.params``, ``action.detailParams``)."""
    found = _take(parent, key, dict, path) or {}
    return {name: _need(found, name, kind, f"{path}.{key}") for name in found}


_JSON_NAMES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _json_name(kind: type) -> str:
    return _JSON_NAMES.get(kind, kind.__name__)


def _client_extra(action: Mapping[str, Any]) -> dict[str, Any]:
    if action.get("clientExtra") == "null":  # what v1 payloads sent for "nothing" (§1.5)
        return {}
    return _take(action, "clientExtra", dict, "action") or {}


# The same properties arrive in snake_case from v1 bots and in some real traffic (§1.3).
_PROFILE_SPELLINGS = {
    "plusfriend_user_key": "plusfriendUserKey",
    "app_user_id": "appUserId",
    "app_user_status": "appUserStatus",
    "bot_user_key": "botUserKey",
}


def _profile(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The user's properties under their camelCase names, which win over snake_case twins.

    Only text, numbers and yes/no are kept: Kakao's properties are such values, and the profile
    is stored with the session, so a nested value (which nothing reads) is not carried along.
    """
    kept = {k: v for k, v in properties.items() if _scalar(v)}
    profile = {_PROFILE_SPELLINGS[k]: v for k, v in kept.items() if k in _PROFILE_SPELLINGS}
    profile.update((k, v) for k, v in kept.items() if k not in _PROFILE_SPELLINGS)
    return profile


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def _contexts(raw: list[Any]) -> tuple[KakaoContext, ...]:
    out = []
    for i, item in enumerate(raw):
        path = f"contexts[{i}]"
        if not isinstance(item, dict):
            raise KakaoPayloadError(path, f"should be an object, not {_json_name(type(item))}")
        params = _values(item, "params", dict, path)  # {name: {value, resolvedValue}} (§1.6)
        out.append(
            KakaoContext(
                name=_need(item, "name", str, path),
                life_span=_take(item, "lifespan", int, path) or 0,  # lower-case on requests
                params={
                    k: _need(v, "value", str, f"{path}.params.{k}") for k, v in params.items()
                },
                ttl=_take(item, "ttl", int, path),
            )
        )
    return tuple(out)


def _lang(lang: str | None) -> str | None:
    return "ko" if lang == "kr" else lang  # v1 sent the country code "kr" (§1.2)


# --------------------------------------------------------------------------------------------
# The response: SkillResponse v2.0 (§2)
# --------------------------------------------------------------------------------------------


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
            head, text = _split_tail(text, limit)
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
        fitted = _cut(text, limit)
        if fitted != text:
            self.notes.append(
                f"{what} '{_cut(text, 20)}' cut from {len(text):,} to {limit:,} characters"
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


# --------------------------------------------------------------------------------------------
# Cutting text
# --------------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start ending in "…",
    cut at a line break or a space near the end when there is one."""
    if len(text) <= limit:
        return text
    end = _boundary(text, limit - len(ELLIPSIS))
    near = max(end - limit // 4, 1)
    for separator in ("\n", " "):
        at = text.rfind(separator, near, end + 1)
        if at != -1 and text[:at].strip():
            end = at
            break
    return text[:end].rstrip() + ELLIPSIS


def _split_tail(text: str, limit: int) -> tuple[str, str]:
    """Split ``text``, longer than ``limit``, into a head and a tail of at most ``limit``
    characters, at the earliest line break (else space) that leaves the tail short enough."""
    start = len(text) - limit
    for separator in ("\n", " "):
        at = text.find(separator, start - 1)
        if at != -1 and text[at + 1 :].strip():
            return text[:at].rstrip(), text[at + 1 :].strip()
    start = _boundary(text, start, forward=True)
    return text[:start], text[start:]


def _boundary(text: str, index: int, *, forward: bool = False) -> int:
    """The nearest index (backward by default) that does not split what shows as one letter."""
    while 0 < index < len(text) and _continues(text, index):
        index += 1 if forward else -1
    return index


def _continues(text: str, index: int) -> bool:
    """Whether ``text[index]`` belongs with the character before it: a combining mark, the
    vowel or final of a decomposed Hangul syllable (NFD, as macOS and some keyboards send), an
    emoji modifier or variation selector, or either side of a zero-width joiner."""
    ch = text[index]
    return (
        unicodedata.combining(ch) != 0
        or "\u1160" <= ch <= "\u11ff"
        or "\ud7b0" <= ch <= "\ud7ff"
        or "\ufe00" <= ch <= "\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
        or "\u200d" in (ch, text[index - 1])
    )


# --------------------------------------------------------------------------------------------
# Preview: the response as KakaoTalk would show it, in plain lines
# --------------------------------------------------------------------------------------------


def preview(rendered: KakaoRendered, limits: KakaoLimits = _DEFAULT_LIMITS) -> list[str]:
    """Show a response the way KakaoTalk would, in plain lines (for the console simulator).

    Each line of a bubble starts with "│ " (so a blank line inside a bubble is not taken for
    the gap between two), buttons read "[버튼] label", and the quick replies end the preview
    as "( label ) ( label )".
    """
    template = rendered.response.get("template", {})
    lines: list[str] = []
    for output in template.get("outputs", []):
        if lines:
            lines.append("")
        lines.extend(f"│ {line}".rstrip() for line in _preview_output(output, limits))
    quick_replies = template.get("quickReplies", [])
    if quick_replies:
        lines += ["", " ".join(f"( {q['label']} )" for q in quick_replies)]
    return lines


def _preview_output(output: JSONObject, limits: KakaoLimits) -> list[str]:
    ((kind, body),) = output.items()
    if kind == "simpleText":
        text: str = body["text"]
        if len(text) <= limits.simple_text_folded:
            return text.splitlines()
        return [*(text[: limits.simple_text_folded] + ELLIPSIS).splitlines(), "[전체 보기]"]
    if kind == "simpleImage":
        return [f"[이미지] {body['altText']}"]
    if kind == "carousel":
        items = body["items"]
        return [
            line
            for i, item in enumerate(items, 1)
            for line in (f"< {i}/{len(items)} >", *_preview_card(item))
        ]
    if kind == "listCard":
        entries = [
            f"· {item['title']}" + (f" - {item['description']}" if "description" in item else "")
            for item in body["items"]
        ]
        return [body["header"]["title"], *entries, *_preview_buttons(body)]
    return _preview_card(body)


def _preview_card(body: JSONObject) -> list[str]:
    lines = ["[이미지]"] if "thumbnail" in body else []
    if "title" in body:
        lines.append(body["title"])
    lines.extend(body.get("description", "").splitlines())
    return lines + _preview_buttons(body)


def _preview_buttons(body: JSONObject) -> list[str]:
    return [f"[버튼] {b['label']}" for b in body.get("buttons", ())]
