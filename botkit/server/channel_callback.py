"""``POST /kakao/channel``: Kakao's channel webhook, "a user added or blocked the channel".

Kakao Developers (카카오톡 채널 웹훅, set in the app's settings) posts, for a channel connected
to the shop's Kakao app::

    Authorization: KakaoAK <the app's primary admin key>
    {"event": "added" | "blocked", "id": "…", "id_type": "app_user_id" | "open_id",
     "channel_public_id": "_ZeUTxl", "channel_uuid": "@shop", "updated_at": "2026-11-25T01:00:00Z"}

and wants a 2xx within 3 seconds, so this endpoint only writes one business event: kind
``channel_added`` or ``channel_blocked`` (segments read ``channel_added 3 days ago``, reports the
block rate), at ``updated_at``, with ``data`` ``{"channel_public_id", "id_type"}``. Its id is
``<event>:<user>:<updated_at in milliseconds>``: Kakao sending the same change again stores it
once, however it writes the moment (``Z`` or ``+00:00``); a user id so long that the id would
pass 256 characters is replaced by its SHA-256 (``<event>:#<hex>:<ms>``).

**Which user.** Kakao names the user by the shop's Kakao Login user id (``app_user_id``: the
user agreed to share their channel status; the skill sees the same id as ``appUserId`` when the
channel uses Kakao Sync) or by an ``open_id`` (they did not). Neither is the ``botUserKey`` the
conversations know, so the event's user is ``kakao_app:<id>`` or ``kakao_open:<id>``: a member
of the audience on its own until the shop links it to its customer (``POST
/customers/{id}/identities {"user": "kakao_app:<id>"}``, the Kakao Login id it knows), after
which the join counts for that customer.

**Who may call.** ``channel_token`` (``BOTKIT_CHANNEL_TOKEN``) is the admin key Kakao sends:
``Authorization: KakaoAK <key>`` (``Bearer <key>`` too, for a proxy or a test). Unset, the
endpoint answers 503; a call without the key or with another is refused 401.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from botkit.adapters.checks import MAX_ID_CHARS, check_id
from botkit.adapters.http import bad_id_response, bad_token, json_error, json_response, same_secret
from botkit.errors import BadId, BadPayload
from botkit.records import BusinessEvent
from botkit.storage import Store

__all__ = ["ChannelCallback", "channel_user", "event_id"]

EVENTS = {"added": "channel_added", "blocked": "channel_blocked"}
USER_PREFIX = {"app_user_id": "kakao_app:", "open_id": "kakao_open:"}


def channel_user(id_type: str, user_id: str) -> str:
    """The user a channel webhook names: ``kakao_app:<id>`` or ``kakao_open:<id>``."""
    return USER_PREFIX[id_type] + user_id


class ChannelCallback:
    def __init__(self, store: Store, token: str | None) -> None:
        self.store = store
        self.token = token

    async def receive(self, request: Request) -> Response:
        if not self.token:
            message = "set the Kakao app's admin key as the channel token (BOTKIT_CHANNEL_TOKEN)"
            return json_error(503, "no_channel_token", message)
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("kakaoak", "bearer") or not same_secret(key.strip(), self.token):
            return bad_token()
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return json_error(400, "bad_json", "the body is not valid JSON")
        try:
            event = _event(body)
        except BadId as bad:
            return bad_id_response(bad)
        except _Bad as bad:
            return json_error(400, "bad_channel_event", str(bad), path=bad.path)
        added = await self.store.add_events([event])
        return json_response({"received": 1, "added": added})


class _Bad(BadPayload):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _event(body: Any) -> BusinessEvent:
    if not isinstance(body, dict):
        raise _Bad("", "the body is a JSON object")
    event = body.get("event")
    if event not in EVENTS:
        raise _Bad("event", "'event' must be 'added' or 'blocked'")
    id_type = body.get("id_type")
    if id_type not in USER_PREFIX:
        raise _Bad("id_type", "'id_type' must be 'app_user_id' or 'open_id'")
    raw = body.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):  # documented as text; a number reads
        raw = str(raw)
    user = channel_user(id_type, check_id("id", raw))
    at = _time(body.get("updated_at"))
    data: dict[str, Any] = {"id_type": id_type}
    channel = body.get("channel_public_id")
    if channel is not None:
        data["channel_public_id"] = check_id("channel_public_id", channel)
    return BusinessEvent(event_id(event, user, at), EVENTS[event], user, at, None, data)


def event_id(event: str, user: str, at: float) -> str:
    """The event's id: from the parsed moment (one moment, one id, however it was written),
    at most MAX_ID_CHARS characters like every other id (a long user is hashed)."""
    ms = round(at * 1000)
    ident = f"{event}:{user}:{ms}"
    if len(ident) <= MAX_ID_CHARS:
        return ident
    return f"{event}:#{hashlib.sha256(user.encode()).hexdigest()}:{ms}"


def _time(value: Any) -> float:
    """``updated_at`` (RFC 3339, UTC) as seconds since the epoch."""
    if not isinstance(value, str) or len(value) > 40:
        raise _Bad("updated_at", "'updated_at' must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad("updated_at", "'updated_at' must be an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise _Bad("updated_at", "'updated_at' must say its time zone (Kakao's is 'Z')")
    seconds = moment.timestamp()
    if not math.isfinite(seconds):
        raise _Bad("updated_at", "'updated_at' must be an RFC 3339 time")
    return seconds
