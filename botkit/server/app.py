"""The ASGI application of ``botkit serve``: channels, the agents' doors, health, shutdown.

Routes: each channel's own (Kakao: ``POST /kakao/skill``, path configurable; the web widget:
``GET /`` a demo shop page with it, ``/widget.js``, ``/widget.css``, the socket ``/web/ws``,
``POST /web/messages`` where sockets are blocked, ``GET /web/history``); the agent console
(``/agent/``), its API and the helpdesk's webhook; ``POST /events``; ``GET /metrics``;
``GET /dashboard``; ``GET /link/{id}`` (a link the bot showed: the click is recorded, then
302 to it; :mod:`botkit.server.links`); the customers API (``/customers/{id}``, its consent
and links: :mod:`botkit.server.customers`), ``GET /account-link`` (an account-link button's
door to the shop's login page: :mod:`botkit.server.identities`) and ``POST /kakao/channel``
(Kakao's channel add/block webhook: :mod:`botkit.server.channel_callback`); ``GET /healthz``
(the process answers) and ``GET /readyz`` (the store answers too). Unknown paths and methods
get a JSON 404/405, and an unexpected error a JSON 500 without a traceback (it is logged).

A request meets, in order: the edge's size limits (:class:`~botkit.server.guard.EdgeLimits`,
431 and 413), the Kakao fast path (:class:`~botkit.server.fast_path.KakaoFastPath`), then
Starlette's router. Words said outside a request (an agent's, a late reply) go to the user's
channel by its name (:class:`~botkit.adapters.channel.Channels`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from botkit.adapters.channel import Channels
from botkit.adapters.http import (
    RETRY_AFTER_S,
    json_error,
    json_response,
    too_large_response,
    unavailable,
)
from botkit.adapters.kakao.endpoint import KakaoEndpoint
from botkit.adapters.web.endpoint import WebEndpoint
from botkit.app import BotApp
from botkit.audience import Audience
from botkit.campaigns.port import Sends
from botkit.errors import BodyTooLarge, StorageError
from botkit.runtime import ActionFunction, Runtime
from botkit.runtime.actions import HTTP_LIMITS
from botkit.server.agents import AgentApi
from botkit.server.campaign_events import KakaoCampaignEvents
from botkit.server.channel_callback import ChannelCallback
from botkit.server.config import ServerSettings
from botkit.server.customers import CustomersApi
from botkit.server.dashboard import Dashboard
from botkit.server.events import EventsEndpoint
from botkit.server.fast_path import CRASHED, KakaoFastPath
from botkit.server.guard import EdgeLimits, body_caps
from botkit.server.helpdesk import Helpdesk
from botkit.server.identities import AccountLinks, KakaoSync, WebIdentities, chain
from botkit.server.lifespan import InFlight, Lifespan, helpdesk_tickets
from botkit.server.links import Links
from botkit.server.outreach import SenderTask, providers
from botkit.server.profiles import ProfileSync
from botkit.server.prometheus import LiveMetrics
from botkit.server.reload import Reloader
from botkit.server.sender import Sender
from botkit.server.sweeper import Sweeper
from botkit.storage import Broadcast, Store, open_store

__all__ = ["Server", "create_app"]

log = logging.getLogger("botkit.server")


def create_app(
    bot: BotApp,
    settings: ServerSettings,
    *,
    store: Store | None = None,
    stubs: dict[str, ActionFunction] | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    signals: bool = False,
) -> Server:
    """The ASGI app for ``bot``. ``store`` defaults to ``settings.store``; ``stubs`` replace
    actions (fixtures); ``http`` is the client for HTTP actions and Kakao callbacks; ``clock``
    is the runtime's (the wall clock, unless a fixtures file sets ``clock:``); ``signals``:
    reload the flows on SIGHUP (``botkit serve``; not in a test's process)."""
    opened = store if store is not None else open_store(settings.store)
    in_flight = InFlight()
    client = http or httpx.AsyncClient(
        timeout=httpx.Timeout(10.0), follow_redirects=False, limits=HTTP_LIMITS
    )
    runtime = bot.runtime(opened, clock=clock, http=client, stubs=stubs)
    broadcast = opened if isinstance(opened, Broadcast) else None
    links = Links(
        runtime,
        secret=settings.link_secret,
        public_url=settings.public_url,
        track=in_flight.track,
    )
    audience = opened if isinstance(opened, Audience) else None

    def now() -> float:  # read at each request: the runtime's clock may be moved
        return runtime.clock()

    # Customers' profiles into their users' sessions, on every link and profile change.
    profiles = ProfileSync(runtime, audience)
    kakao_sync = KakaoSync(audience, now, profiles)
    account_links = AccountLinks(
        audience,
        secret=settings.identity_secret,
        login_url=settings.account_link_url,
        public_url=links.public_url,
        clock=now,
    )
    kakao = KakaoEndpoint(
        runtime,
        settings.kakao,
        callbacks=client,
        track=in_flight.track,
        links=chain(account_links.rewriter(absolute=True), links.rewriter(absolute=True)),
        identify=kakao_sync.identify if audience is not None else None,
        campaigns=KakaoCampaignEvents(opened, runtime, now).answer,
    )
    web_identities = WebIdentities(audience, settings.identity_secret, now, profiles)
    web = WebEndpoint(
        runtime,
        settings.web,
        broadcast,
        chain(account_links.rewriter(absolute=False), links.rewriter(absolute=False)),
        web_identities.identify,
    )
    customers = CustomersApi(
        audience,
        settings.customers_token,
        schema=lambda: runtime.bot.profile,
        clock=now,
        identity_secret=settings.identity_secret,
        profiles=profiles,
        linked_app_user=kakao_sync.forget,
    )
    channels = Channels(kakao, web)
    profiles.channels = tuple(channel.name for channel in channels)
    agents = AgentApi(runtime, settings.agent, channels.deliver)
    helpdesk = Helpdesk(runtime, settings.helpdesk, client=client, deliver=channels.deliver)
    if settings.helpdesk.url:
        runtime.observers.append(helpdesk_tickets(helpdesk, in_flight))
    events = EventsEndpoint(
        opened,
        settings.events_token,
        lambda: runtime.clock(),  # read at each request: the runtime's clock may be moved
        max_event_bytes=settings.max_event_bytes,
    )
    reloader = Reloader(runtime, bot, settings.admin_token, broadcast, signals=signals)
    routes = [
        *_health(opened),
        *reloader.routes(),
        Route("/agent/", WebEndpoint.static("agent.html"), methods=["GET"]),
        Route("/agent/webhook", helpdesk.webhook, methods=["POST"]),
        Route("/events", events.receive, methods=["POST"]),
        *customers.routes(),
        *account_links.routes(),
        Route(
            "/kakao/channel",
            ChannelCallback(opened, settings.channel_token).receive,
            methods=["POST"],
        ),
        Route(
            "/metrics",
            LiveMetrics(runtime, identity_refused=web_identities.refused).endpoint,
            methods=["GET"],
        ),
        Route("/dashboard", Dashboard(opened, runtime, agents).page, methods=["GET"]),
        *agents.routes(),
        *links.routes(),
        *channels.routes(),
    ]
    lifespan = Lifespan(
        store=opened,
        runtime=runtime,
        channels=channels,
        reloader=reloader,
        sweeper=Sweeper(runtime, agents, channels, settings.sweep_s),
        in_flight=in_flight,
        grace_s=settings.shutdown_grace_s,
        own_client=client if http is None else None,
        sender=SenderTask(
            _sender(opened, runtime, channels, settings, client), settings.send_every_s
        ),
    )
    starlette = Starlette(routes=routes, lifespan=lifespan, exception_handlers=_ANSWERS)
    edge = EdgeLimits(
        KakaoFastPath(starlette, kakao),
        head_bytes=settings.max_header_bytes,
        body_cap=body_caps(settings),
    )
    return Server(edge, starlette, runtime=runtime, channels=channels)


def _sender(
    store: Store,
    runtime: Runtime,
    channels: Channels,
    settings: ServerSettings,
    client: httpx.AsyncClient,
) -> Sender | None:
    """The campaign sender of this worker (None: the store keeps no sends)."""
    if not isinstance(store, Sends) or not isinstance(store, Audience):
        return None
    return Sender(
        store,
        runtime,
        lambda: runtime.bot,
        providers=providers(settings, client),
        deliver=channels.deliver,
        now=runtime.clock,
    )


class Server:
    """What :func:`create_app` returns: the ASGI app ``botkit serve`` runs, and the parts an
    embedding program (or a test) may hold, named: the ``runtime`` and the ``channels``."""

    def __init__(
        self, app: EdgeLimits, starlette: Starlette, *, runtime: Runtime, channels: Channels
    ) -> None:
        self._app = app
        self.starlette = starlette
        self.runtime = runtime
        self.channels = channels

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Start and stop the server as uvicorn would (for a client that runs no lifespan,
        such as httpx's ASGI transport)."""
        return self.starlette.router.lifespan_context(self.starlette)


def _health(store: Store) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await store.ping():
            return json_response({"status": "ready"})
        response = json_response(
            {"status": "unavailable", "reason": "the store does not answer"}, 503
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    response = json_error(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return too_large_response(exc.limit)


async def _store_down(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable", extra={"path": request.url.path, "error": str(exc)})
    return unavailable()


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("request failed", exc_info=exc, extra={"path": request.url.path})
    return json_error(500, "internal_error", CRASHED)


# How the server answers what no endpoint answered itself: always JSON, never a traceback.
_ANSWERS = {
    HTTPException: _http_error,
    BodyTooLarge: _too_large,
    StorageError: _store_down,
    Exception: _crash,
}
