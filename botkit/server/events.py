"""``POST /events``: the shop reports what happened outside the bot (purchases, sign-ups), so
reports can attribute them to conversations, variants and promotions.

Body: ``{"events": [{"id", "kind", "user"?, "customer"?, "at"?, "amount"?, "data"?}, …]}`` (at
most 1,000). ``user`` is the user as the bot knows them (the widget's sid; ``<bot id>:<user id>``
on Kakao); ``customer`` is the shop's own customer id (``/customers/{id}``), for a shop that does
not know the channel user: attribution then follows the customer's links. An event names one or
both (neither: 400 ``bad_event``). ``at`` defaults to now; an ``id`` already received is
skipped, so a shop may send again what it is unsure arrived. Needs ``Authorization: Bearer
<events token>`` (``BOTKIT_EVENTS_TOKEN``).

``id``, ``kind``, ``user`` and ``customer`` are ids (:func:`~botkit.adapters.checks.check_id`:
1-256 characters, 513 for ``user``, no control characters; a ``customer`` not starting with
``user:`` nor holding ``/``, as ``/customers/{id}`` needs); a bad one is refused 400
``bad_id``. Each event may be at most ``max_event_bytes`` as JSON (413 ``event_too_large``),
the body ``max_events_body_bytes`` (413, before it is read whole). A refused batch stores
nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from botkit.adapters.checks import MAX_USER_CHARS, check_id
from botkit.adapters.http import bad_id_response, bearer_refusal, json_error, json_response
from botkit.audience.ids import customer_id_problem
from botkit.errors import BadId, BadPayload, StorageError
from botkit.records import BusinessEvent
from botkit.storage import Store

__all__ = ["EventsEndpoint"]

MAX_EVENTS = 1000


class _Bad(BadPayload):
    def __init__(
        self, path: str, message: str, status: int = 400, code: str = "bad_event"
    ) -> None:
        super().__init__(message)
        self.path = path
        self.status = status
        self.code = code


class EventsEndpoint:
    def __init__(
        self,
        store: Store,
        token: str | None,
        clock: Callable[[], float],
        *,
        max_event_bytes: int = 16 * 1024,
    ) -> None:
        self.store = store
        self.token = token
        self.clock = clock
        self.max_event_bytes = max_event_bytes

    async def receive(self, request: Request) -> Response:
        refused = bearer_refusal(
            request, self.token, "no_events_token", "set an events token (BOTKIT_EVENTS_TOKEN)"
        )
        if refused is not None:
            return refused
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return json_error(400, "bad_json", "the body is not valid JSON")
        try:
            events = self._events(body)
        except _Bad as bad:
            return json_error(bad.status, bad.code, str(bad), path=bad.path)
        except BadId as bad:
            return bad_id_response(bad)
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
        try:
            size = len(orjson.dumps(item))
        except orjson.JSONEncodeError:  # JSON that is read, but nested too deep to be written
            raise _Bad(path, "an event must be at most 254 levels deep") from None
        if size > self.max_event_bytes:
            cap = self.max_event_bytes
            raise _Bad(
                path, f"an event may be at most {cap} bytes as JSON", 413, "event_too_large"
            )
        check_id(f"{path}.id", item.get("id"))
        check_id(f"{path}.kind", item.get("kind"))
        user, customer = item.get("user"), item.get("customer")
        if user is None and customer is None:
            raise _Bad(path, "an event names its 'user', its 'customer', or both")
        if user is not None:
            check_id(f"{path}.user", user, MAX_USER_CHARS)
        if customer is not None:
            check_id(f"{path}.customer", customer)
            problem = customer_id_problem(customer)  # as the customers API and the import ask
            if problem is not None:
                raise BadId(f"{path}.customer", problem)
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
            item["id"], item["kind"], user or "", float(at),
            None if amount is None else float(amount), data, customer,
        )  # fmt: skip
