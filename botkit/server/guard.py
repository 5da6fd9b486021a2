"""How large a request may be, before any endpoint sees it: the edge's caps (431, 413).

:class:`EdgeLimits` counts the request line and headers together, and each body against a cap
per path (:func:`body_caps`). A body is counted as it arrives and refused (413) as soon as it
passes its cap, so a 50 MB body costs one chunk of memory, not 50 MB.

The checks of what a request says (ids, user text) are the channels' own
(:mod:`botkit.adapters.checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botkit.adapters.http import head_too_large_error, json_response, too_large_error
from botkit.errors import BodyTooLarge
from botkit.server.config import ServerSettings

__all__ = ["EdgeLimits", "body_caps"]


def body_caps(settings: ServerSettings) -> Callable[[str], int]:
    """The body cap of each path: ``kakao.max_body_bytes`` for the skill (and its secret path),
    ``web.max_frame_bytes`` for ``POST /web/messages``, ``max_events_body_bytes`` for
    ``POST /events``, ``max_body_bytes`` for the rest."""
    skill = settings.kakao.route
    caps = {
        "/web/messages": settings.web.max_frame_bytes,
        "/events": settings.max_events_body_bytes,
    }

    def cap(path: str) -> int:
        if path == skill or path.startswith(skill + "/"):
            return settings.kakao.max_body_bytes
        return caps.get(path, settings.max_body_bytes)

    return cap


async def _answer(send: Send, scope: Scope, status: int, body: dict[str, Any]) -> None:
    """A JSON answer. The connection stays open: closing it while the client still sends would
    reset it, and the client would never read the answer; the server drops what else comes."""
    await json_response(body, status)(scope, _nothing, send)


async def _nothing() -> Message:  # a response reads nothing
    return {"type": "http.disconnect"}


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
            await _answer(send, scope, 431, head_too_large_error(self.head_bytes))
        else:  # a server without the denial extension: the handshake is refused (403)
            await send({"type": "websocket.close", "code": 1008})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            # Twenty digits and more are more than any cap (and more than int() may read).
            return int(value) if len(value) < 20 else 10**20
    return None
