"""What the stand-ins share: the failures a test can ask for, and their control routes.

Every stand-in answers ``GET /_standin/stats`` (its counters, JSON), ``POST /_standin/faults``
(change the failures, JSON: any of ``fail_next``, ``status``, ``retry_after``, ``delay``, and
the stand-in's own) and ``POST /_standin/reset`` (counters and failures back to nothing), so a
test reads and steers a stand-in in another process as it does one in its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.adapters.http import json_response

__all__ = ["Faults", "control_routes", "number"]


@dataclass
class Faults:
    """Failures a stand-in plays: the next ``fail_next`` requests are answered ``status``
    (500: the server is broken; 503 or 429 with ``retry_after``: it is busy; 401 or 400: it
    refuses), and every answer waits ``delay`` seconds first (for timeouts). A refused
    connection is a port nothing listens on, or a stand-in process that was stopped."""

    fail_next: int = 0
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        if "fail_next" in changes:
            self.fail_next = int(number(changes["fail_next"]))
        if "status" in changes:
            self.status = int(number(changes["status"]))
        if "retry_after" in changes:
            value = changes["retry_after"]
            self.retry_after = None if value is None else number(value)
        if "delay" in changes:
            self.delay = number(changes["delay"])

    async def play(self) -> Response | None:
        """Wait the delay; then the failure to answer with, while any is left."""
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        if self.fail_next <= 0:
            return None
        self.fail_next -= 1
        body = {"code": -self.status, "msg": "the stand-in was told to fail this request"}
        response = json_response(body, self.status)
        if self.retry_after is not None:
            response.headers["Retry-After"] = f"{self.retry_after:g}"
        return response


def number(value: Any) -> float:
    """A JSON number of a control request; anything else is refused (400)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ValueError("a non-negative number is needed")


def control_routes(
    stats: Callable[[bool], dict[str, Any]],
    faults: Callable[[Mapping[str, Any]], None],
    reset: Callable[[], None],
) -> list[Route]:
    """``/_standin/stats`` (``?keys=0`` leaves the per-key counts out), ``/_standin/faults``
    and ``/_standin/reset``, over a stand-in's own ``stats``, ``faults`` and ``reset``."""

    async def read_stats(request: Request) -> Response:
        return json_response(stats(request.query_params.get("keys", "1") != "0"))

    async def set_faults(request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
            if not isinstance(changes, dict):
                raise ValueError("a JSON object is needed")
            faults(changes)
        except (ValueError, TypeError) as exc:  # orjson's decode error is a ValueError
            return json_response({"error": str(exc)}, 400)
        return json_response({"ok": True})

    async def do_reset(request: Request) -> Response:
        reset()
        return json_response({"ok": True})

    return [
        Route("/_standin/stats", read_stats, methods=["GET"]),
        Route("/_standin/faults", set_faults, methods=["POST"]),
        Route("/_standin/reset", do_reset, methods=["POST"]),
    ]
