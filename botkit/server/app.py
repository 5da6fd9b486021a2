"""The ASGI application of ``botkit serve``: channels, health, and an orderly shutdown.

Routes: the Kakao skill endpoint (``POST /kakao/skill``, path configurable), ``GET /healthz``
(the process answers) and ``GET /readyz`` (the store answers too). Unknown paths and methods get
a JSON 404/405, and an unexpected error a JSON 500 without a traceback (it is logged).

On shutdown the server stops taking requests (uvicorn), then waits for the turns still running
(including those answered early because of Kakao's deadline) to finish and commit, then closes
the runtime and the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.adapters.kakao.endpoint import KakaoEndpoint, json_error
from botkit.app import BotApp
from botkit.runtime import ActionFunction
from botkit.server.config import ServerSettings
from botkit.storage import Store, open_store

__all__ = ["create_app"]

log = logging.getLogger("botkit.server")


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
) -> Starlette:
    """The ASGI app for ``bot``. ``store`` defaults to ``settings.store``; ``stubs`` replace
    actions (fixtures); ``http`` is the client for HTTP actions and Kakao callbacks."""
    opened = store if store is not None else open_store(settings.store)
    in_flight = _InFlight()
    client = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    runtime = bot.runtime(opened, http=client, stubs=stubs)
    kakao = KakaoEndpoint(runtime, settings.kakao, callbacks=client, track=in_flight.track)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await opened.open()
        log.info("serving", extra={"bot": bot.bot.id, "version": bot.bot.version})
        try:
            yield
        finally:
            await in_flight.drain(settings.shutdown_grace_s)
            await runtime.aclose()
            if http is None:
                await client.aclose()
            await opened.close()

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if await opened.ping():
            return _json({"status": "ready"})
        return _json({"status": "unavailable", "reason": "the store does not answer"}, 503)

    async def kakao_skill(request: Request) -> Response:
        return await kakao(request)

    path = "/" + settings.kakao.path.strip("/")
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route(path, kakao_skill, methods=["POST"]),
        Route(path + "/{secret}", kakao_skill, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _crash},
    )
    app.state.kakao = kakao  # tests and the agent console reach the endpoint's state here
    app.state.runtime = runtime
    return app


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    response = json_error(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("request failed", exc_info=exc, extra={"path": request.url.path})
    return json_error(500, "internal_error", "the server failed; the error is logged")
