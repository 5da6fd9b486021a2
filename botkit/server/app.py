"""The ASGI application of ``botkit serve``: channels, health, and an orderly shutdown.

Routes: the Kakao skill endpoint (``POST /kakao/skill``, path configurable); the web widget
(``GET /`` a demo shop page with it, ``/widget.js``, ``/widget.css``, the socket ``/web/ws``,
``POST /web/messages`` where sockets are blocked, ``GET /web/history``); ``GET /healthz`` (the
process answers) and ``GET /readyz`` (the store answers too). Unknown paths and methods get
a JSON 404/405, and an unexpected error a JSON 500 without a traceback (it is logged).
Before any of them, :class:`~botkit.server.guard.EdgeLimits` caps the headers (431) and each
body (413), by path: ``kakao.max_body_bytes``, ``web.max_frame_bytes`` for
``POST /web/messages``, ``max_events_body_bytes`` for ``POST /events``, ``max_body_bytes`` for
the rest.

On shutdown the server stops taking requests (uvicorn), then waits for the turns still running
(including those answered early because of Kakao's deadline) to finish and commit, then closes
the runtime and the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from botkit.adapters.kakao.endpoint import KakaoEndpoint
from botkit.adapters.web.endpoint import WebEndpoint
from botkit.app import BotApp
from botkit.effects import Effect, Say, say_from_data, say_to_data
from botkit.errors import BodyTooLarge, StorageError
from botkit.metrics.html import to_html
from botkit.metrics.report import day_bounds, load_metrics
from botkit.runtime import ActionFunction, Reply
from botkit.server.agents import AgentApi
from botkit.server.config import ServerSettings
from botkit.server.events import EventsEndpoint
from botkit.server.guard import EdgeLimits, too_large_error
from botkit.server.helpdesk import Helpdesk
from botkit.server.http import RETRY_AFTER_S, json_error, json_response, unavailable
from botkit.server.prometheus import LiveMetrics
from botkit.storage import Broadcast, Store, open_store

__all__ = ["create_app"]

log = logging.getLogger("botkit.server")
CRASHED = "the server failed; it is logged"
WEB_PUSH = "web_push"  # the topic on which workers pass web pushes to each other


class _InFlight:
    """Tasks the server must let finish before it stops (turns, callbacks)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def track(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, grace: float) -> None:
        if not self.tasks:
            return
        log.info("waiting for turns in flight", extra={"count": len(self.tasks)})
        _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
        for task in pending:  # past the grace period: their turns are not committed
            task.cancel()
        if pending:
            log.warning("turns cancelled at shutdown", extra={"count": len(pending)})


def create_app(
    bot: BotApp,
    settings: ServerSettings,
    *,
    store: Store | None = None,
    stubs: dict[str, ActionFunction] | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The ASGI app for ``bot``. ``store`` defaults to ``settings.store``; ``stubs`` replace
    actions (fixtures); ``http`` is the client for HTTP actions and Kakao callbacks; ``clock``
    is the runtime's (the wall clock, unless a fixtures file sets ``clock:``)."""
    opened = store if store is not None else open_store(settings.store)
    in_flight = _InFlight()
    client = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    runtime = bot.runtime(opened, clock=clock, http=client, stubs=stubs)
    kakao = KakaoEndpoint(runtime, settings.kakao, callbacks=client, track=in_flight.track)
    web = WebEndpoint(runtime, settings.web)

    broadcast = opened if isinstance(opened, Broadcast) else None

    async def deliver(channel: str, user: str, effects: list[Effect]) -> None:
        """An agent's words to the user: live on the web, through whichever worker holds the
        user's socket; on Kakao with their next message (a skill can only answer, not speak
        first), kept in the session for any worker."""
        if channel == "web":
            if broadcast is not None:
                said = [say_to_data(e) for e in effects if isinstance(e, Say)]
                try:
                    await broadcast.publish(WEB_PUSH, {"sid": user, "says": said})
                    return  # every worker pushes it to the sockets it holds, this one included
                except StorageError as exc:  # too large, or the database is away
                    log.warning("web push not broadcast", extra={"error": str(exc)})
            await web.push(user, effects)
        elif channel == "kakao":
            (await runtime.keep_until_next(channel, user, effects)).kept()

    async def pushed(message: dict[str, Any]) -> None:
        says: list[Effect] = [say_from_data(data) for data in message.get("says", ())]
        await web.push(str(message.get("sid", "")), says)

    agents = AgentApi(runtime, settings.agent, deliver)
    helpdesk = Helpdesk(runtime, settings.helpdesk, client=client, deliver=deliver)
    events = EventsEndpoint(
        opened,
        settings.events_token,
        lambda: runtime.clock(),
        max_event_bytes=settings.max_event_bytes,
    )
    live = LiveMetrics(runtime)

    async def dashboard(request: Request) -> Response:
        """Today's report, the same page as `botkit report --format html`, refreshed every
        minute. For agents and the people running the bot: an agent token in ``?token=``."""
        if agents.agent_for_token(request.query_params.get("token", "")) is None:
            return json_response(
                {"error": {"code": "bad_token", "message": "add ?token=<agent token>"}}, 401
            )
        zone = bot.bot.timezone
        today = dt.datetime.fromtimestamp(runtime.clock(), ZoneInfo(zone)).date().isoformat()
        since, until = day_bounds(today, today, zone)
        metrics = await load_metrics(opened, bot.bot, since=since, until=until, by="day")
        page = to_html(
            metrics, title=f"{bot.bot.title or bot.bot.id} — today · 오늘", period=today
        )
        page = page.replace("<head>", '<head>\n<meta http-equiv="refresh" content="60">', 1)
        return Response(page, media_type="text/html; charset=utf-8")

    def open_in_helpdesk(channel: str, user: str, reply: Reply) -> None:
        for record in reply.records:
            if record.kind == "handoff_requested":
                reason = str((record.data or {}).get("reason", ""))
                key = f"{record.session}:{record.conversation}:{record.seq}"
                in_flight.track(asyncio.ensure_future(helpdesk.open(channel, user, reason, key)))

    if settings.helpdesk.url:
        runtime.observers.append(open_in_helpdesk)

    async def sweep() -> None:
        """Handoffs nobody took within their wait_timeout move on, even if the user is silent."""
        while True:
            await asyncio.sleep(settings.sweep_s)
            try:
                for channel, user in await agents.waiting():
                    await runtime.expire(channel, user)
            except Exception:  # a failed sweep is retried at the next one
                log.exception("sweeping handoffs failed")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await opened.open()
        if broadcast is not None:
            await broadcast.subscribe(WEB_PUSH, pushed)
        log.info("serving", extra={"bot": bot.bot.id, "version": bot.bot.version})
        sweeper = asyncio.create_task(sweep(), name="botkit-handoff-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            await in_flight.drain(settings.shutdown_grace_s)
            await runtime.aclose()
            if http is None:
                await client.aclose()
            await opened.close()

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await opened.ping():
            return json_response({"status": "ready"})
        response = json_response(
            {"status": "unavailable", "reason": "the store does not answer"}, 503
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    path = "/" + settings.kakao.path.strip("/")
    body_caps = {
        "/web/messages": settings.web.max_frame_bytes,
        "/events": settings.max_events_body_bytes,
    }

    def body_cap(request_path: str) -> int:
        if request_path == path or request_path.startswith(path + "/"):
            return settings.kakao.max_body_bytes
        return body_caps.get(request_path, settings.max_body_bytes)

    async def drop_sockets(request: Request) -> Response:
        return json_response({"dropped": await web.drop_all()})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/", WebEndpoint.static("demo.html"), methods=["GET"]),
        Route("/widget.js", WebEndpoint.static("widget.js"), methods=["GET"]),
        Route("/widget.css", WebEndpoint.static("widget.css"), methods=["GET"]),
        WebSocketRoute("/web/ws", web.websocket),
        Route("/web/messages", web.http_message, methods=["POST"]),
        Route("/web/history", web.history, methods=["GET"]),
        Route("/agent/", WebEndpoint.static("agent.html"), methods=["GET"]),
        Route("/agent/webhook", helpdesk.webhook, methods=["POST"]),
        Route("/events", events.receive, methods=["POST"]),
        Route("/metrics", live.endpoint, methods=["GET"]),
        Route("/dashboard", dashboard, methods=["GET"]),
        *agents.routes(),
        Route(path, kakao, methods=["POST"]),  # a plain ASGI app: Starlette passes it through
        Route(path + "/{secret}", kakao, methods=["POST"]),
    ]
    if settings.web.test_hooks:
        routes.append(Route("/web/_drop", drop_sockets, methods=["POST"]))
    app = _Server(
        kakao,
        path,
        head_bytes=settings.max_header_bytes,
        body_cap=body_cap,
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            BodyTooLarge: _too_large,
            StorageError: _store_down,
            Exception: _crash,
        },
    )
    app.state.kakao = kakao  # tests and the agent console reach the endpoint's state here
    app.state.runtime = runtime
    app.state.web = web
    app.state.agents = agents
    return app


class _Server(Starlette):
    """Starlette, with the Kakao skill calls taken straight to their endpoint.

    Skill calls are nearly all the traffic; Starlette's router and middleware cost about a tenth
    of a turn, so ``POST {path}`` and ``POST {path}/{secret}`` skip them. Everything else
    (health, readiness, wrong methods and paths, lifespan) goes through Starlette. Every request,
    skill calls included, passes the edge's size limits first.
    """

    def __init__(
        self,
        kakao: KakaoEndpoint,
        path: str,
        *,
        head_bytes: int,
        body_cap: Callable[[str], int],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._kakao = kakao
        self._path = path
        self._prefix = path + "/"
        self._edge = EdgeLimits(self._dispatch, head_bytes=head_bytes, body_cap=body_cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._edge(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path == self._path:
                return await self._skill(scope, receive, send)
            if path.startswith(self._prefix) and "/" not in path[len(self._prefix) :]:
                scope["path_params"] = {"secret": path[len(self._prefix) :]}
                return await self._skill(scope, receive, send)
        await super().__call__(scope, receive, send)

    async def _skill(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._kakao(scope, receive, send)
        except BodyTooLarge:
            raise  # answered 413 by the edge
        except Exception as exc:  # a bug: logged, answered as JSON, never a traceback
            log.error("request failed", exc_info=exc, extra={"path": scope["path"]})
            await json_error(500, "internal_error", CRASHED)(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    response = json_error(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return json_response(too_large_error(exc.limit), 413)


async def _store_down(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable", extra={"path": request.url.path, "error": str(exc)})
    return unavailable()


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("request failed", exc_info=exc, extra={"path": request.url.path})
    return json_error(500, "internal_error", CRASHED)
