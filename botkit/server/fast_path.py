"""The Kakao skill calls, taken straight to their endpoint past Starlette's router.

Skill calls are nearly all the traffic, and Starlette's router and middleware cost about a
tenth of a turn, so ``POST {path}`` and ``POST {path}/{secret}`` skip them. Everything else
(health, readiness, wrong methods and paths, the lifespan) goes through Starlette, where the
same two routes are also mounted: the wrapper is a shortcut to them, not a second way in.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from botkit.adapters.http import json_error
from botkit.adapters.kakao.endpoint import KakaoEndpoint
from botkit.errors import BodyTooLarge

__all__ = ["CRASHED", "KakaoFastPath"]

log = logging.getLogger("botkit.server")
CRASHED = "the server failed; it is logged"


class KakaoFastPath:
    """ASGI middleware: skill calls to ``kakao``, every other request to ``app``."""

    def __init__(self, app: ASGIApp, kakao: KakaoEndpoint) -> None:
        self.app = app
        self.kakao = kakao
        self._path = kakao.path
        self._prefix = kakao.path + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path == self._path:
                return await self._skill(scope, receive, send)
            if path.startswith(self._prefix) and "/" not in path[len(self._prefix) :]:
                scope["path_params"] = {"secret": path[len(self._prefix) :]}
                return await self._skill(scope, receive, send)
        await self.app(scope, receive, send)

    async def _skill(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.kakao(scope, receive, send)
        except BodyTooLarge:
            raise  # answered 413 by the edge
        except Exception as exc:  # a bug: logged, answered as JSON, never a traceback
            log.error("request failed", exc_info=exc, extra={"path": scope["path"]})
            await json_error(500, "internal_error", CRASHED)(scope, receive, send)
