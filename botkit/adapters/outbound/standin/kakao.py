"""A loopback stand-in for Kakao's chatbot Event API, for tests and benches.

It answers what :class:`~botkit.adapters.outbound.kakao_event.KakaoEventAPI` calls, as Kakao
does as far as the public documents tell:

* ``POST /v2/bots/{botId}/talk``: 401 without ``Authorization: KakaoAK <the REST key>``; 400 for
  a body that is not an event with 1 to 100 users, or that names a user twice; else 200
  ``{"taskId", "status": "SUCCESS", "timestamp"}``.
* ``GET /v1/tasks/{taskId}``: ``{"taskId", "status": "ALL SUCCESS" | "PARTIAL SUCCESS" |
  "ALL FAIL", "allRequestCount", "successCount", "fail": {"count", "list": [{"userID",
  "errorMsg"}]}}``, the users in ``fail_users`` failed ("not a friend of the channel"); with
  ``pending_tasks`` set, ``"status": "PROCESSING"`` and no result yet.

Unlike Kakao it **deduplicates**: a user's send key (in the event's data, read with
:func:`~botkit.adapters.outbound.kakao_event.send_key_of`, as botkit's skill endpoint reads it)
delivered a second time is accepted and counted as a duplicate, not as a message. So
``messages`` is what users would have seen once botkit's skill dropped the second copies, and
``received`` (per key, duplicates included) and ``duplicates`` say how often the sender resent.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.adapters.http import json_response, same_secret
from botkit.adapters.outbound.kakao_event import MAX_USERS, send_key_of
from botkit.adapters.outbound.standin.faults import Faults, control_routes

__all__ = ["DEFAULT_REST_KEY", "KakaoStandIn", "kakao_standin"]

DEFAULT_REST_KEY = "standin-rest-key"
USER_TYPES = frozenset({"botUserKey", "plusfriendUserKey", "appUserId"})
NOT_A_FRIEND = "the user is not a friend of the channel"


def _refusal(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "msg": message}, status)


class KakaoStandIn:
    """The stand-in's state and its Starlette ``app``. Counters (read them in-process, or over
    ``GET /_standin/stats``):

    * ``requests``: every ``talk`` request; ``accepted`` and ``refused`` of them;
    * ``messages``: distinct (send key, user) pairs delivered; ``duplicates``: pairs that came
      again (accepted, not counted); ``received``: per send key, every time it came;
    * ``repeated_requests``: requests whose ``Idempotency-Key`` came before.
    """

    def __init__(
        self,
        rest_key: str = DEFAULT_REST_KEY,
        *,
        bot_ids: Collection[str] = (),
        fail_users: Collection[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rest_key = rest_key
        self.bot_ids = frozenset(bot_ids)  # empty: any bot id is taken
        self.clock = clock
        self._task_numbers = itertools.count(1)
        self.reset()
        self.fail_users.update(fail_users)
        self.app = Starlette(
            routes=[
                Route("/v2/bots/{bot_id}/talk", self._talk, methods=["POST"]),
                Route("/v1/tasks/{task_id}", self._task, methods=["GET"]),
                *control_routes(self.stats, self.update, self.reset),
            ]
        )
        self.app.state.standin = self

    def reset(self) -> None:
        self.requests = 0
        self.accepted = 0
        self.refused = 0
        self.messages = 0
        self.duplicates = 0
        self.repeated_requests = 0
        self.received: Counter[str] = Counter()
        self.events: Counter[str] = Counter()  # event name → users it was sent to
        self._pairs: set[tuple[str, str]] = set()
        self._idempotency: set[str] = set()
        self.tasks: dict[str, dict[str, Any]] = {}
        self.faults = Faults()
        self.fail_users: set[str] = set()
        self.pending_tasks = False

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change the failures: :class:`Faults`' fields, ``fail_users`` (botUserKeys the tasks
        report failed) and ``pending_tasks`` (tasks not finished yet)."""
        self.faults.update(changes)
        if "fail_users" in changes:
            users = changes["fail_users"]
            if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                raise ValueError("fail_users is a list of botUserKeys")
            self.fail_users = set(users)
        if "pending_tasks" in changes:
            self.pending_tasks = bool(changes["pending_tasks"])

    def stats(self, keys: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "accepted": self.accepted,
            "refused": self.refused,
            "messages": self.messages,
            "duplicates": self.duplicates,
            "repeated_requests": self.repeated_requests,
            "tasks": len(self.tasks),
            "events": dict(self.events),
        }
        if keys:
            out["received"] = dict(self.received)
        return out

    # -- the Event API ---------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme == "KakaoAK" and same_secret(key.strip(), self.rest_key)

    async def _talk(self, request: Request) -> Response:
        self.requests += 1
        answer = await self._refusal(request)
        if answer is None:
            body = await request.body()
            answer = self._accept(request, body)
        if answer.status_code == 200:
            self.accepted += 1
        else:
            self.refused += 1
        return answer

    async def _refusal(self, request: Request) -> Response | None:
        failure = await self.faults.play()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return _refusal(401, "-401", "a valid 'Authorization: KakaoAK <REST API key>'")
        bot_id = request.path_params["bot_id"]
        if self.bot_ids and bot_id not in self.bot_ids:
            return _refusal(404, "-404", "no such bot")
        return None

    def _accept(self, request: Request, body: bytes) -> Response:
        parsed = _event_request(body)
        if isinstance(parsed, Response):
            return parsed
        name, data, users = parsed
        idempotency = request.headers.get("idempotency-key")
        if idempotency is not None:
            self.repeated_requests += idempotency in self._idempotency
            self._idempotency.add(idempotency)
        for user in users:
            if user in self.fail_users:
                continue
            self.events[name] += 1
            key = send_key_of(data, user)
            if key is None:  # nothing to deduplicate by: every copy counts
                self.messages += 1
                continue
            self.received[key] += 1
            if (key, user) in self._pairs:
                self.duplicates += 1
            else:
                self._pairs.add((key, user))
                self.messages += 1
        task_id = f"standin-task-{next(self._task_numbers):08d}"
        failed = [user for user in users if user in self.fail_users]
        self.tasks[task_id] = {"users": len(users), "failed": failed}
        timestamp = int(self.clock() * 1000)
        return json_response({"taskId": task_id, "status": "SUCCESS", "timestamp": timestamp})

    async def _task(self, request: Request) -> Response:
        failure = await self.faults.play()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return _refusal(401, "-401", "a valid 'Authorization: KakaoAK <REST API key>'")
        task_id = request.path_params["task_id"]
        task = self.tasks.get(task_id)
        if task is None:
            return _refusal(404, "-404", "no such task")
        total, failed = task["users"], task["failed"]
        if self.pending_tasks:
            status, failed = "PROCESSING", []
        elif not failed:
            status = "ALL SUCCESS"
        else:
            status = "ALL FAIL" if len(failed) == total else "PARTIAL SUCCESS"
        answer = {
            "taskId": task_id,
            "status": status,
            "allRequestCount": total,
            "successCount": 0 if self.pending_tasks else total - len(failed),
            "fail": {
                "count": len(failed),
                "list": [{"userID": user, "errorMsg": NOT_A_FRIEND} for user in failed],
            },
        }
        return json_response(answer)


def _event_request(body: bytes) -> tuple[str, Mapping[str, Any], list[str]] | Response:
    """The event's name, data and users, or the 400 Kakao answers."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _refusal(400, "-400", "the body is not JSON")
    event = parsed.get("event") if isinstance(parsed, dict) else None
    name = event.get("name") if isinstance(event, dict) else None
    if not isinstance(name, str) or not name:
        return _refusal(400, "-400", "event.name is required")
    data = event.get("data", {}) if isinstance(event, dict) else {}
    if not isinstance(data, dict):
        return _refusal(400, "-400", "event.data is an object")
    users = parsed.get("user")
    if not isinstance(users, list) or not 1 <= len(users) <= MAX_USERS:
        return _refusal(400, "-400", f"user is a list of 1 to {MAX_USERS} users")
    ids: list[str] = []
    for user in users:
        kind = user.get("type") if isinstance(user, dict) else None
        uid = user.get("id") if isinstance(user, dict) else None
        if kind not in USER_TYPES or not isinstance(uid, str) or not uid:
            return _refusal(400, "-400", "each user is {type, id}")
        ids.append(uid)
    if len(set(ids)) != len(ids):
        return _refusal(400, "-400", "a user is named twice in one request")
    return name, data, ids


def kakao_standin(
    rest_key: str = DEFAULT_REST_KEY,
    *,
    bot_ids: Collection[str] = (),
    fail_users: Collection[str] = (),
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """A Kakao Event API stand-in app; its :class:`KakaoStandIn` is ``app.state.standin``."""
    return KakaoStandIn(rest_key, bot_ids=bot_ids, fail_users=fail_users, clock=clock).app
