"""``POST /events``: the shop reports what happened outside the bot (purchases, sign-ups), so
reports can attribute them to conversations, variants and promotions.

Body: ``{"events": [{"id", "kind", "user", "at"?, "amount"?, "data"?}, …]}`` (at most 1,000).
``user`` is the user as the bot knows them (the widget's sid; ``<bot id>:<user id>`` on Kakao);
``at`` defaults to now; an ``id`` already received is skipped, so a shop may send again what it
is unsure arrived. Needs ``Authorization: Bearer <events token>`` (``BOTKIT_EVENTS_TOKEN``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from botkit.records import BusinessEvent
from botkit.server.http import bearer_token, json_error, json_response, same_secret
from botkit.storage import StorageError, Store

__all__ = ["EventsEndpoint"]

MAX_EVENTS = 1000


class _Bad(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class EventsEndpoint:
    def __init__(self, store: Store, token: str | None, clock: Callable[[], float]) -> None:
        self.store = store
        self.token = token
        self.clock = clock

    async def receive(self, request: Request) -> Response:
        if not self.token:
            return json_error(503, "no_events_token", "set an events token (BOTKIT_EVENTS_TOKEN)")
        if not same_secret(bearer_token(request), self.token):
            return json_error(
                401, "bad_token", "a valid 'Authorization: Bearer <token>' is needed"
            )
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return json_error(400, "bad_json", "the body is not valid JSON")
        try:
            events = self._events(body)
        except _Bad as bad:
            return json_error(400, "bad_event", str(bad), path=bad.path)
        try:
            added = await self.store.add_events(events)
        except StorageError as exc:
            return json_error(400, "bad_event", str(exc))
        return json_response({"received": len(events), "added": added})

    def _events(self, body: Any) -> list[BusinessEvent]:
        raw = body.get("events") if isinstance(body, dict) else None
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENTS:
            raise _Bad("events", f"'events' must be a list of 1 to {MAX_EVENTS} events")
        return [self._event(item, f"events[{i}]") for i, item in enumerate(raw)]

    def _event(self, item: Any, path: str) -> BusinessEvent:
        if not isinstance(item, dict):
            raise _Bad(path, "an event is a JSON object")
        for name in ("id", "kind", "user"):
            value = item.get(name)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise _Bad(f"{path}.{name}", f"'{name}' must be text (1-200 characters)")
        at = item.get("at", self.clock())
        amount = item.get("amount")
        data = item.get("data")
        if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at):
            raise _Bad(f"{path}.at", "'at' must be seconds since the epoch")
        if amount is not None and (
            not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0
        ):
            raise _Bad(f"{path}.amount", "'amount' must be a number ≥ 0")
        if data is not None and not isinstance(data, dict):
            raise _Bad(f"{path}.data", "'data' must be a JSON object")
        return BusinessEvent(
            item["id"], item["kind"], item["user"], float(at),
            None if amount is None else float(amount), data,
        )  # fmt: skip
