"""What may come in at the edge: ids, user text, and how large a request may be.

Every channel and the agent API check what they are sent here, before anything reaches the
runtime or the store, so that a bad request gets the same 4xx whatever the store (PostgreSQL
refuses a NUL in text and an index entry over about 2.7 KB; SQLite takes both):

* **Ids** (a Kakao ``user.id`` or ``bot.id``, an agent API path, a business event's ``id``,
  ``kind`` and ``user``): 1 to :data:`MAX_ID_CHARS` characters (:data:`MAX_USER_CHARS` for a
  user as the bot knows them, ``<bot id>:<user id>`` on Kakao), no control characters.
  Otherwise 400 ``bad_id``, with the ``path`` of the field.
* **User text** (a Kakao utterance, a widget message, an agent's words): control characters
  are removed (line breaks and tabs kept), the text is composed (NFC) and cut to the channel's
  limit. Text is what a person typed: it is cleaned, never refused.
* **Sizes** (:class:`EdgeLimits`): the request line and headers together, and each body,
  against a cap per path. A body is counted as it arrives and refused (413) as soon as it
  passes its cap, so a 50 MB body costs one chunk of memory, not 50 MB.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botkit.errors import BadId, BodyTooLarge

__all__ = [
    "MAX_ID_CHARS",
    "MAX_USER_CHARS",
    "BadId",
    "BodyTooLarge",
    "EdgeLimits",
    "check_id",
    "clean_text",
    "id_problem",
    "too_large_error",
]

# An id is a key, not a text: Kakao's botUserKey is about 70 characters, a widget sid at most 64.
# 256 characters are 1 KiB of UTF-8 at most, so a Kakao session key (channel, bot id and user
# id) stays well inside PostgreSQL's 2.7 KB index entries.
MAX_ID_CHARS = 256
# A user as the bot knows them, in the agent API, the helpdesk and business events: on Kakao
# "<bot id>:<user id>", two ids.
MAX_USER_CHARS = 2 * MAX_ID_CHARS + 1
# C0 and C1 control characters (Unicode category Cc) and lone surrogates (not UTF-8 at all).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, less the line breaks and tabs a person may type in a message.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def id_problem(value: str, limit: int = MAX_ID_CHARS) -> str | None:
    """What is wrong with ``value`` as an id, or None when it is a good one."""
    if not value.strip():
        return "is empty"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if _CONTROL.search(value):
        return "contains a control character (such as NUL)"
    return None


def check_id(path: str, value: Any, limit: int = MAX_ID_CHARS) -> str:
    """``value`` if it is a good id, else :class:`BadId` naming ``path``."""
    if not isinstance(value, str):
        raise BadId(path, "must be text")
    problem = id_problem(value, limit)
    if problem is not None:
        raise BadId(path, problem)
    return value


def clean_text(text: str, limit: int) -> str:
    """What a user sent, safe to match and to store: no NUL, escape or other control characters
    (line breaks and tabs kept), composed (NFC) and at most ``limit`` characters."""
    return unicodedata.normalize("NFC", _CONTROL_IN_TEXT.sub("", text))[:limit]


# -- sizes -------------------------------------------------------------------------------------


def too_large_error(limit: int) -> dict[str, Any]:
    """The 413 body, the same from every endpoint."""
    message = f"the body is larger than {limit} bytes"
    return {"error": {"code": "body_too_large", "message": message, "limit": limit}}


def _head_too_large(limit: int) -> dict[str, Any]:
    message = f"the request line and headers are larger than {limit} bytes"
    return {"error": {"code": "headers_too_large", "message": message, "limit": limit}}


async def _answer(send: Send, scope: Scope, status: int, body: dict[str, Any]) -> None:
    """A JSON answer. The connection stays open: closing it while the client still sends would
    reset it, and the client would never read the answer; the server drops what else comes."""
    content = orjson.dumps(body)
    prefix = "websocket." if scope["type"] == "websocket" else ""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": f"{prefix}http.response.start", "status": status, "headers": headers})
    await send({"type": f"{prefix}http.response.body", "body": content})


def _head_size(scope: Scope) -> int:
    path = scope.get("raw_path") or scope.get("path", "").encode()
    size = len(path) + len(scope.get("query_string", b""))
    return size + sum(len(name) + len(value) for name, value in scope.get("headers", ()))


class EdgeLimits:
    """ASGI middleware: the head (request line and headers) at most ``head_bytes``, each body at
    most ``body_cap(path)`` bytes.

    A body whose ``Content-Length`` is over the cap is refused before any of it is read. One sent
    without (chunked) is counted as the app receives it: past the cap, ``receive`` raises
    :class:`BodyTooLarge`, which the app answers 413 (a Starlette exception handler), or which
    reaches this middleware, which answers it. Once answered, uvicorn drops the rest of the body
    as it arrives, without keeping it.
    """

    def __init__(self, app: ASGIApp, *, head_bytes: int, body_cap: Callable[[str], int]) -> None:
        self.app = app
        self.head_bytes = head_bytes
        self.body_cap = body_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if _head_size(scope) > self.head_bytes:
            await self._refuse_head(scope, send)
            return
        if kind == "websocket":  # uvicorn caps its messages (ws_max_size)
            await self.app(scope, receive, send)
            return
        cap = self.body_cap(scope["path"])
        declared = _content_length(scope)
        if declared is not None:
            if declared > cap:
                await _answer(send, scope, 413, too_large_error(cap))
                return
            # The HTTP parser delivers exactly Content-Length bytes (what follows is the next
            # request), so a body that declared its size under the cap needs no counting.
            await self.app(scope, receive, send)
            return
        await self._capped(scope, receive, send, cap)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if not started:  # else the app answered already, and the answer stands
                await _answer(send, scope, 413, too_large_error(exc.limit))

    async def _refuse_head(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
            await _answer(send, scope, 431, _head_too_large(self.head_bytes))
        else:  # a server without the denial extension: the handshake is refused (403)
            await send({"type": "websocket.close", "code": 1008})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            # Twenty digits and more are more than any cap (and more than int() may read).
            return int(value) if len(value) < 20 else 10**20
    return None
