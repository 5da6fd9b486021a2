"""A loopback stand-in for a dealer's webhook, for tests and benches: it checks what a careful
dealer checks, and counts.

``POST /`` takes one message of :class:`~botkit.adapters.outbound.webhook.WebhookProvider`:

* 401 when ``X-Botkit-Timestamp`` and ``X-Botkit-Signature`` do not sign the body with the
  shared secret, or the timestamp is outside the tolerance of the stand-in's clock;
* 400 when ``Idempotency-Key`` is missing, the body is not a message, or its ``key`` is not the
  ``Idempotency-Key``;
* 200 ``{"id": "msg-<n>"}`` otherwise; a key that came before is answered with the same id and
  counted as a duplicate, not as a message (what a dealer that honours idempotency does).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.adapters.http import json_response
from botkit.adapters.outbound.standin.faults import Faults, control_routes
from botkit.adapters.outbound.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE_S,
    verify_signature,
)

__all__ = ["WebhookStandIn", "webhook_standin"]


def _refusal(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


class WebhookStandIn:
    """The stand-in's state and its Starlette ``app``. Counters (in-process, or over
    ``GET /_standin/stats``): ``requests`` (every ``POST /``), ``messages`` (distinct keys
    taken), ``duplicates`` (keys that came again), ``bad_signatures`` (401s), ``refused``
    (every answer not 200), ``received`` (per key, every time it came); ``bodies`` keeps the
    first body of each key, for tests that look at what was sent."""

    def __init__(
        self,
        secret: str,
        *,
        clock: Callable[[], float] = time.time,
        tolerance: float = TOLERANCE_S,
    ) -> None:
        self.secret = secret
        self.clock = clock
        self.tolerance = tolerance
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/", self._receive, methods=["POST"]),
                *control_routes(self.stats, self.update, self.reset),
            ]
        )
        self.app.state.standin = self

    def reset(self) -> None:
        self.requests = 0
        self.messages = 0
        self.duplicates = 0
        self.bad_signatures = 0
        self.refused = 0
        self.received: Counter[str] = Counter()
        self.bodies: dict[str, dict[str, Any]] = {}
        self._ids: dict[str, str] = {}
        self.faults = Faults()

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change the failures (:class:`Faults`' fields)."""
        self.faults.update(changes)

    def stats(self, keys: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "messages": self.messages,
            "duplicates": self.duplicates,
            "bad_signatures": self.bad_signatures,
            "refused": self.refused,
        }
        if keys:
            out["received"] = dict(self.received)
        return out

    async def _receive(self, request: Request) -> Response:
        self.requests += 1
        answer = await self._answer(request)
        if answer.status_code != 200:
            self.refused += 1
        return answer

    async def _answer(self, request: Request) -> Response:
        failure = await self.faults.play()
        if failure is not None:
            return failure
        body = await request.body()
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify_signature(self.secret, stamp, body, signature, self.clock(), self.tolerance):
            self.bad_signatures += 1
            return _refusal(401, "bad_signature", "the signature or its timestamp is wrong")
        key = request.headers.get("idempotency-key", "")
        message = _message(body)
        if not key or message is None or message.get("key") != key:
            return _refusal(400, "bad_message", "a message whose key is its Idempotency-Key")
        self.received[key] += 1
        known = self._ids.get(key)
        if known is not None:
            self.duplicates += 1
            return json_response({"id": known, "duplicate": True})
        self.messages += 1
        self._ids[key] = f"msg-{self.messages}"
        self.bodies[key] = dict(message)
        return json_response({"id": self._ids[key]})


def _message(body: bytes) -> Mapping[str, Any] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def webhook_standin(
    secret: str, *, clock: Callable[[], float] = time.time, tolerance: float = TOLERANCE_S
) -> Starlette:
    """A dealer webhook stand-in app; its :class:`WebhookStandIn` is ``app.state.standin``."""
    return WebhookStandIn(secret, clock=clock, tolerance=tolerance).app
