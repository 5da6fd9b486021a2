"""A SkillPayload read (§1): what botkit needs from one Kakao skill call, as plain data.

No I/O here: the endpoint reads the body and calls :func:`parse_payload`; a body it cannot read
raises :class:`KakaoPayloadError`, naming the field. Sections cited as §n are those of
``reference/kakao-skill.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botkit.errors import BadPayload

__all__ = ["EXTRA_KEY", "KakaoContext", "KakaoPayloadError", "KakaoRequest", "parse_payload"]

T = TypeVar("T")

# Buttons and quick replies carry the botkit payload as {EXTRA_KEY: payload} in their `extra`,
# which Kakao sends back as `action.clientExtra` when they are pressed (§1.5, §2.2).
EXTRA_KEY = "botkit"


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
    # The objects among ``action.params``: where an event block may pass on the data of the
    # Event API's event (a campaign's keys per user; server/campaign_events.py). A block's
    # own parameters are text.
    event_data: dict[str, Any] = field(default_factory=dict)


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
    given = _take(action, "params", dict, "action") or {}
    event_data = {name: value for name, value in given.items() if isinstance(value, dict)}
    if event_data:
        action = {**action, "params": {k: v for k, v in given.items() if k not in event_data}}
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
        event_data=event_data,
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
