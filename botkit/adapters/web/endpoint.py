"""The web widget's server side: a WebSocket, an HTTP fallback, history, and the widget files.

The protocol is ``adapters/web/PROTOCOL.md``. What matters most here:

* **Exactly once.** Each message carries the widget's own id. The reply to an id is kept (the
  last 64 per session), and a message sent again with the same id (the widget re-sends what was
  not answered when it reconnects) gets that reply without a second turn. A duplicate that
  arrives while the first is still running waits for the same reply.
* **Bad frames are answered, not fatal.** A frame that is not JSON, too large, of an unknown type
  or missing a field gets an ``error`` frame and is dropped; only a client that keeps sending
  them (10 on one connection) is disconnected, with close code 1008.
* **Origins.** A page may open the socket only from an allowed origin (the server's own by
  default, and those listed in ``web.origins``).
* **Words outside a request** (an agent's, the bot's after a release) are pushed to the
  user's open sockets, through whichever worker holds them: with a store that broadcasts
  (PostgreSQL), every worker hears of them and pushes to the sockets it holds.
* **Who the visitor is.** A ``hello`` (or a POST) may carry the page's ``customer`` and
  ``token``: ``identify`` (server/identities.py) links the visitor when the token proves it,
  and a ``hello`` without them unlinks a visitor a token linked (they logged out); nothing
  the visitor sees changes either way.
* **Text as on Kakao.** What a user typed loses its control characters (NUL, escapes; line
  breaks and tabs stay) and is composed (NFC) by the same helper as Kakao's
  (:func:`~botkit.adapters.checks.clean_text`) before the bot or the store sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from botkit.adapters.checks import clean_text
from botkit.adapters.http import (
    RETRY_AFTER_S,
    UNAVAILABLE,
    json_error,
    json_response,
    unavailable,
)
from botkit.adapters.web.render import render_history, render_web
from botkit.adapters.web.settings import WebSettings
from botkit.effects import Effect, Say, say_from_data, say_to_data
from botkit.errors import BadPayload, StorageError
from botkit.keys import SessionKey
from botkit.runtime import Reply, Runtime
from botkit.storage import Broadcast

__all__ = ["WebEndpoint"]

log = logging.getLogger("botkit.web")
CHANNEL = "web"
PUSHES = "web_push"  # the topic on which workers pass pushes to each other
_SID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_STATIC = {
    "demo.html": "text/html; charset=utf-8",
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "agent.html": "text/html; charset=utf-8",
}
KEPT_REPLIES = 64  # per session: more than a widget ever has unanswered
KEPT_SESSIONS = 10_000
MAX_TEXT_CHARS = 2000  # what a person types in a chat box; the rest is not read


class _Refused(BadPayload):
    def __init__(self, code: str, message: str, reply_to: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reply_to = reply_to


class _Bucket:
    """At most ``rate`` messages per ``per`` seconds, refilled continuously."""

    __slots__ = ("at", "per", "rate", "tokens")

    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per = rate, per
        self.tokens = float(rate)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate / self.per)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class WebEndpoint:
    """The widget's endpoints, and the web :class:`~botkit.adapters.channel.Channel`.

    ``broadcast`` is the store when it can pass messages between workers (None: this process
    holds every socket there is)."""

    name = CHANNEL
    keeps = False  # it pushes over the user's sockets

    def __init__(
        self,
        runtime: Runtime,
        settings: WebSettings,
        broadcast: Broadcast | None = None,
        links: Callable[[Reply], list[Effect]] | None = None,
        identify: Callable[[str, Any, Any], Awaitable[bool]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.broadcast = broadcast
        # A reply's effects with their links as the server's click-counting addresses
        # (server/links.py); None: links go out as the flows wrote them.
        self.links = links
        # Links the visitor to the customer a page's identity token names (user, customer,
        # token → whether linked; server/identities.py). Never raises, never tells the visitor.
        self.identify = identify
        # sid → client id → the reply frame (or a future while the turn runs)
        self._replies: OrderedDict[str, OrderedDict[str, asyncio.Future[dict[str, Any]]]] = (
            OrderedDict()
        )
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.sockets: set[WebSocket] = set()
        self.by_sid: dict[str, set[WebSocket]] = {}  # open sockets of each session, for pushes

    # -- the channel ------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self.static("demo.html"), methods=["GET"]),
            Route("/widget.js", self.static("widget.js"), methods=["GET"]),
            Route("/widget.css", self.static("widget.css"), methods=["GET"]),
            WebSocketRoute("/web/ws", self.websocket),
            Route("/web/messages", self.http_message, methods=["POST"]),
            Route("/web/history", self.history, methods=["GET"]),
        ]
        if self.settings.test_hooks:
            routes.append(Route("/web/_drop", self._drop_sockets, methods=["POST"]))
        return routes

    async def start(self) -> None:
        """Hear the pushes of every worker (the store must be open)."""
        if self.broadcast is not None:
            await self.broadcast.subscribe(PUSHES, self._pushed)

    async def deliver(self, user: str, effects: Sequence[Effect]) -> None:
        """Words said outside a request, live to the user's open sockets, through whichever
        worker holds them. When the broadcast fails (too large, the database away), this
        worker still pushes to the sockets it holds; the history has them either way."""
        if self.broadcast is not None:
            said = [say_to_data(e) for e in effects if isinstance(e, Say)]
            try:
                await self.broadcast.publish(PUSHES, {"sid": user, "says": said})
                return  # every worker pushes it to the sockets it holds, this one included
            except StorageError as exc:
                log.warning("web push not broadcast", extra={"error": str(exc)})
        await self.push(user, effects)

    async def _pushed(self, message: dict[str, Any]) -> None:
        # Every worker hears every push: only one that holds a socket of the user reads it. A
        # message without a sid is the broadcast saying it reconnected: nothing to push.
        sid = message.get("sid")
        if not isinstance(sid, str) or sid not in self.by_sid:
            return
        says: list[Effect] = [say_from_data(data) for data in message.get("says", ())]
        await self.push(sid, says)

    async def _drop_sockets(self, request: Request) -> Response:
        return json_response({"dropped": await self.drop_all()})

    # -- the turn, once per client id ----------------------------------------------------

    async def reply_to(
        self, sid: str, message_id: str, text: str, payload: str | None, locale: str | None
    ) -> dict[str, Any]:
        kept = self._replies.get(sid)
        if kept is None:
            kept = self._replies[sid] = OrderedDict()
            while len(self._replies) > KEPT_SESSIONS:
                self._replies.popitem(last=False)
        self._replies.move_to_end(sid)
        earlier = kept.get(message_id)
        if earlier is not None:  # sent again: the same answer, no second turn
            return await asyncio.shield(earlier)
        if not self._bucket(sid).take():
            raise _Refused("rate_limited", "too many messages; wait a few seconds", message_id)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        kept[message_id] = future
        while len(kept) > KEPT_REPLIES:
            kept.popitem(last=False)
        try:
            reply: Reply = await self.runtime.handle(
                CHANNEL, sid, text, payload=payload, locale=locale
            )
        except BaseException as exc:
            kept.pop(message_id, None)
            future.set_exception(exc)
            future.exception()  # retrieved: a duplicate may never come to ask for it
            raise
        if reply.unavailable:  # nothing was kept: the same id may be sent again later
            kept.pop(message_id, None)
            self._bucket(sid).tokens += 1  # a message not taken does not count against the rate
            refused = _Refused("unavailable", UNAVAILABLE, message_id)
            future.set_exception(refused)
            future.exception()
            raise refused
        said = reply.effects if self.links is None else self.links(reply)
        frame = {"type": "reply", "reply_to": message_id, "messages": render_web(said)}
        future.set_result(frame)
        return frame

    def _bucket(self, sid: str) -> _Bucket:
        bucket = self._buckets.get(sid)
        if bucket is None:
            bucket = self._buckets[sid] = _Bucket(self.settings.rate, self.settings.rate_per_s)
            while len(self._buckets) > KEPT_SESSIONS:
                self._buckets.popitem(last=False)
        return bucket

    # -- frames ----------------------------------------------------------------------------

    @staticmethod
    def _message_fields(frame: dict[str, Any]) -> tuple[str, str, str | None]:
        """The id, text (cleaned and capped) and payload of a ``message`` frame."""
        message_id = frame.get("id")
        if not isinstance(message_id, str) or not _ID.fullmatch(message_id):
            raise _Refused("bad_message", "a message needs an 'id': 1-64 letters, digits, _.:-")
        text = frame.get("text")
        if not isinstance(text, str):
            raise _Refused("bad_message", "a message needs a 'text'", message_id)
        payload = frame.get("payload")
        if payload is not None and not isinstance(payload, str):
            raise _Refused("bad_message", "'payload' must be text", message_id)
        return message_id, clean_text(text, MAX_TEXT_CHARS), payload

    def _parse(self, raw: str | None) -> dict[str, Any]:
        if raw is None:
            raise _Refused("bad_json", "frames are JSON text, not binary")
        if len(raw) > self.settings.max_frame_bytes or (
            len(raw.encode("utf-8", "surrogatepass")) > self.settings.max_frame_bytes
        ):
            cap = self.settings.max_frame_bytes
            raise _Refused("too_large", f"a frame may be at most {cap} bytes")
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _Refused("bad_json", "the frame is not valid JSON") from None
        if not isinstance(frame, dict):
            raise _Refused("bad_json", "a frame is a JSON object with a 'type'")
        return frame

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None:  # not a browser (tools, tests): origins protect browsers' users
            return True
        bare = origin.split("://", 1)[-1]
        return bare == host or origin in self.settings.origins or "*" in self.settings.origins

    # -- the WebSocket -------------------------------------------------------------------

    async def websocket(self, socket: WebSocket) -> None:
        if not self.origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
            if "websocket.http.response" in socket.scope.get("extensions", {}):
                # The handshake is answered like the HTTP endpoints: 403 with a JSON reason.
                await socket.send_denial_response(json_error(403, "origin", "origin not allowed"))
            else:  # a server without the denial extension can only refuse the handshake
                await socket.close(code=1008, reason="origin not allowed")
            return
        await socket.accept()
        self.sockets.add(socket)
        state: dict[str, Any] = {"sid": None, "locale": None, "errors": 0}
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                try:
                    await self._frame(socket, state, message.get("text"))
                except _Refused as refused:
                    if refused.code != "unavailable":  # the store's fault, not the client's
                        state["errors"] += 1
                    await self._send(socket, _error(refused))
                    if state["errors"] >= self.settings.max_bad_frames:
                        await socket.close(code=1008, reason="too many bad frames")
                        return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the browser went away mid-send; the turn (if any) is committed anyway
        finally:
            self.sockets.discard(socket)
            if state["sid"] is not None:
                self._forget(state["sid"], socket)

    def _forget(self, sid: str, socket: WebSocket) -> None:
        open_now = self.by_sid.get(sid)
        if open_now is not None:
            open_now.discard(socket)
            if not open_now:
                del self.by_sid[sid]

    async def push(self, sid: str, effects: Sequence[Effect]) -> int:
        """Messages not asked for (an agent's, or the bot's when an agent hands the user back),
        sent live to every open tab of the session; how many got them. A tab that is closed
        sees them in the history when it opens again."""
        said = [e for e in effects if isinstance(e, Say)]
        sockets = list(self.by_sid.get(sid, ()))
        if not said or not sockets:
            return 0
        kind = "agent" if all(e.agent for e in said) else "bot"  # the bot speaks after a release
        frame = {"type": kind, "messages": render_web(said)}
        sent = 0
        for socket in sockets:
            with contextlib.suppress(RuntimeError, OSError):
                await self._send(socket, frame)
                sent += 1
        return sent

    async def _frame(self, socket: WebSocket, state: dict[str, Any], raw: str | None) -> None:
        frame = self._parse(raw)
        kind = frame.get("type")
        if kind == "ping":
            await self._send(socket, {"type": "pong"})
        elif kind == "hello":
            sid = frame.get("sid")
            if not isinstance(sid, str) or not _SID.fullmatch(sid):
                raise _Refused("bad_message", "'sid' must be 16-64 letters, digits, _ or -")
            locale = frame.get("locale")
            if state["sid"] is not None:
                self._forget(state["sid"], socket)
            state["sid"], state["locale"] = sid, locale if isinstance(locale, str) else None
            self.by_sid.setdefault(sid, set()).add(socket)
            await self._identify(sid, frame, always=True)  # none named: signed out
            await self._send(socket, {"type": "welcome", "sid": sid})
        elif kind == "message":
            if state["sid"] is None:
                raise _Refused("no_hello", "send 'hello' with your sid first")
            message_id, text, payload = self._message_fields(frame)
            await self._send(socket, {"type": "typing", "reply_to": message_id})
            reply = await self.reply_to(state["sid"], message_id, text, payload, state["locale"])
            await self._send(socket, reply)
        else:
            raise _Refused("unknown_type", f"unknown frame type {str(kind)[:40]!r}")

    async def _identify(self, sid: str, frame: dict[str, Any], *, always: bool = False) -> None:
        """The page's ``customer`` and ``token``, if it gave them, to link the visitor: a token
        that proves nothing leaves them anonymous, and the conversation goes on. A page that
        names no customer (a ``hello`` without one, a POST with ``"customer": null``) undoes
        what its token linked: the visitor logged out."""
        if self.identify is not None and (always or "customer" in frame or "token" in frame):
            await self.identify(sid, frame.get("customer"), frame.get("token"))

    @staticmethod
    async def _send(socket: WebSocket, frame: dict[str, Any]) -> None:
        await socket.send_text(orjson.dumps(frame).decode("utf-8"))

    async def drop_all(self) -> int:
        """Close every open socket (a restart's effect; the test hook uses it)."""
        open_now = list(self.sockets)
        for socket in open_now:
            with contextlib.suppress(RuntimeError, OSError):  # it closed on its own meanwhile
                await socket.close(code=1012, reason="server restarting")
        return len(open_now)

    # -- HTTP ----------------------------------------------------------------------------

    async def http_message(self, request: Request) -> Response:
        if not self.origin_allowed(request.headers.get("origin"), request.headers.get("host")):
            return json_error(403, "origin", "origin not allowed")
        body = await request.body()
        try:
            try:
                raw = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _Refused("bad_json", "the body is not UTF-8 text") from None
            frame = self._parse(raw)
            sid = frame.get("sid")
            if not isinstance(sid, str) or not _SID.fullmatch(sid):
                raise _Refused("bad_message", "'sid' must be 16-64 letters, digits, _ or -")
            message_id, text, payload = self._message_fields(frame)
            locale = frame.get("locale") if isinstance(frame.get("locale"), str) else None
            await self._identify(sid, frame)
            reply = await self.reply_to(sid, message_id, text, payload, locale)
        except _Refused as refused:
            if refused.code == "unavailable":
                return unavailable()
            status = 429 if refused.code == "rate_limited" else 400
            return json_error(status, refused.code, str(refused))
        return json_response(reply)

    async def history(self, request: Request) -> Response:
        sid = request.query_params.get("sid", "")
        if not _SID.fullmatch(sid):
            return json_error(400, "bad_message", "a valid 'sid'")
        key = SessionKey(CHANNEL, sid)
        shown = await self.runtime.conversations.transcript(key)
        session = await self.runtime.conversations.session(key)
        offered = session.offered if session is not None else None
        return json_response(render_history(shown[-200:], offered))

    @staticmethod
    def static(name: str) -> Callable[[Request], Awaitable[Response]]:
        kind = _STATIC[name]

        async def serve(request: Request) -> Response:
            content = (resources.files("botkit.adapters.web") / "static" / name).read_bytes()
            return Response(content, media_type=kind, headers={"Cache-Control": "no-cache"})

        return serve


def _error(refused: _Refused) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": refused.code, "message": str(refused)}
    if refused.code == "unavailable":
        frame["retry_after"] = RETRY_AFTER_S
    if refused.reply_to is not None:
        frame["reply_to"] = refused.reply_to
    return frame
