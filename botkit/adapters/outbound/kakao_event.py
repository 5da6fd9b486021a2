"""KakaoTalk's chatbot Event API as a campaign provider: the bot speaks first.

A send is ``POST {base}/v2/bots/{botId}/talk`` with ``Authorization: KakaoAK {REST API key}``::

    {"event": {"name": "botkit_campaign",
               "data": {"campaign": "welcome", "variant": "A",
                        "sends": {"<user tag>": "<send key>", ...}}},
     "user": [{"type": "botUserKey", "id": "<botUserKey>"}, ...]}

Kakao then runs the Open Builder event block of that name for each user, and the block calls
botkit's skill. Kakao takes at most 100 users per request and refuses a request that names a
user twice, so a batch is cut into requests of at most 100 distinct users of one campaign and
variant (the event's data is the same for every user of a request); a user named twice goes
into two requests.

**Idempotency.** Kakao has no idempotency key: a request resent after a timeout whose first copy
did arrive reaches the users twice. Each request carries an ``Idempotency-Key`` header all the
same (a digest of its send keys, for proxies and stand-ins that read it), and each user's send
key travels in the event's data, under the user's tag (a digest of the botUserKey, so that no
user's id is shown to the skill calls of the others): :func:`send_key_of` reads it back, and
botkit's skill endpoint answers a second event of the same send with nothing. The sender marks
the send sent once, so a copy that got through twice is counted once.

**Delivery.** Kakao's ``{"taskId", "status": "SUCCESS"}`` says only that the task was accepted.
What reached whom is read later from ``GET {base}/v1/tasks/{taskId}``, whose answer (public
examples; Kakao documents no schema) looks like::

    {"taskId": "...", "status": "ALL SUCCESS" | "PARTIAL SUCCESS" | "ALL FAIL" | ...,
     "allRequestCount": 100, "successCount": 98,
     "fail": {"count": 2, "list": [{"userID": "<botUserKey>", "errorMsg": "..."}]}}

It is read defensively (:func:`task_fates`): a task whose counts do not add up yet, and whose
status does not say it is over, is still running and reported later. Each send's provider id is
``{taskId}:{user tag}:{send key}`` so that a process that did not send it (after a restart) can
still tell, from the task, what became of that send.

**Cost.** Each accepted message is recorded at ``cost_per_message`` (15 KRW, VAT excluded, on
live and development channels alike, in 2026).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from botkit.adapters.checks import id_problem
from botkit.adapters.outbound.port import FAILED, PARKED, SENT, Outcome, Outgoing, status_outcome

__all__ = [
    "DEFAULT_EVENT",
    "MAX_USERS",
    "KakaoEventAPI",
    "TaskFates",
    "provider_id_of",
    "send_key_of",
    "task_fates",
    "task_of",
    "user_tag",
]

log = logging.getLogger("botkit.outbound.kakao")
DEFAULT_EVENT = "botkit_campaign"
MAX_USERS = 100  # Kakao's limit per request
USER_TYPE = "botUserKey"
TAG_CHARS = 16  # 64 bits of a user's digest: no two users of one request share one in practice
# Kakao's own error code, when it is a short token, is kept in a reason; its message is not
# (it may quote the ids it did not like).
_CODE = re.compile(r"-?[A-Za-z0-9_.]{1,32}")
_USER_ID_FIELDS = ("userID", "userId", "botUserKey", "id", "user")
_OVER = frozenset({"COMPLETE", "COMPLETED", "DONE", "FINISHED", "END"})


def user_tag(bot_user_key: str) -> str:
    """The tag a user's send key is filed under in an event's data: a digest of the
    botUserKey, so that the data every user's skill call receives names no other user."""
    return hashlib.sha256(bot_user_key.encode()).hexdigest()[:TAG_CHARS]


def send_key_of(data: Mapping[str, Any], bot_user_key: str) -> str | None:
    """The send key an event's ``data`` carries for the user ``bot_user_key`` (who the skill
    call is for), None when it carries none: what the skill endpoint drops a second copy by."""
    sends = data.get("sends")
    if not isinstance(sends, Mapping):
        return None
    key = sends.get(user_tag(bot_user_key))
    return key if isinstance(key, str) else None


def provider_id_of(task_id: str, tag: str, key: str) -> str:
    return f"{task_id}:{tag}:{key}"


def _split_provider_id(provider_id: str) -> tuple[str, str, str] | None:
    parts = provider_id.rsplit(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def task_of(provider_id: str) -> str | None:
    """The Kakao task id inside a send's provider id (None when it is not one of ours)."""
    parts = _split_provider_id(provider_id)
    return parts[0] if parts else None


@dataclass(frozen=True, slots=True)
class TaskFates:
    """What a finished task says: whether everyone failed, the tags of the users it lists as
    failed, and whether that list is whole (Kakao may list fewer than it counts)."""

    everyone_failed: bool
    failed_tags: frozenset[str]
    list_whole: bool


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def task_fates(answer: Any) -> TaskFates | None:
    """A task answer read defensively: None while it is running (or unreadable)."""
    if not isinstance(answer, dict):
        return None
    status = " ".join(str(answer.get("status", "")).upper().replace("_", " ").split())
    total, success = _count(answer.get("allRequestCount")), _count(answer.get("successCount"))
    fail = answer.get("fail")
    fail = fail if isinstance(fail, dict) else {}
    fail_count = _count(fail.get("count"))
    listed = fail.get("list")
    listed = listed if isinstance(listed, list) else []
    failed_ids = [_user_id(entry) for entry in listed]
    counted = (
        total is not None
        and total > 0
        and success is not None
        and success + (fail_count or 0) >= total
    )
    over = status.startswith(("ALL ", "PARTIAL")) or status in _OVER
    if not (counted or over):
        return None
    return TaskFates(
        everyone_failed=status.startswith("ALL FAIL") or (counted and success == 0),
        failed_tags=frozenset(user_tag(uid) for uid in failed_ids if uid),
        list_whole=fail_count is None or len(listed) >= fail_count,
    )


def _user_id(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for name in _USER_ID_FIELDS:
            if isinstance(entry.get(name), str):
                return str(entry[name])
    return None


@dataclass(frozen=True, slots=True)
class _Addressed:
    """A message of the batch with the user it goes to."""

    index: int
    message: Outgoing
    bot_user_key: str
    tag: str


class KakaoEventAPI:
    """The Event API of one bot. ``base_url`` is Kakao's (``https://bot-api.kakao.com``) or a
    stand-in's; ``bot_id`` ends in ``!`` for a development channel, as Kakao wants."""

    name = "kakao"
    max_batch = MAX_USERS

    def __init__(
        self,
        base_url: str,
        bot_id: str,
        rest_key: str,
        *,
        event_name: str = DEFAULT_EVENT,
        cost_per_message: float = 15.0,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        concurrency: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.bot_id = bot_id
        self.event_name = event_name
        self.cost_per_message = cost_per_message
        self.timeout = timeout  # for a whole request, answer included (see _call)
        self._rest_key = rest_key
        self._owned = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._gate = asyncio.Semaphore(max(1, concurrency))

    def __repr__(self) -> str:  # never the REST key
        return f"KakaoEventAPI({self.base_url!r}, bot_id={self.bot_id!r})"

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()

    async def __aenter__(self) -> KakaoEventAPI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- sending -----------------------------------------------------------------------------

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        addressed: list[_Addressed] = []
        for index, message in enumerate(batch):
            found = self._address(index, message)
            if isinstance(found, Outcome):
                outcomes[index] = found
            else:
                addressed.append(found)
        answers = await asyncio.gather(*(self._post(r) for r in requests_of(addressed)))
        for answer in answers:
            outcomes.update(answer)
        return [outcomes[index] for index in range(len(batch))]

    def _address(self, index: int, message: Outgoing) -> _Addressed | Outcome:
        bot, colon, bot_user_key = message.user.partition(":")
        if not colon or id_problem(bot_user_key) is not None:
            return Outcome(message.key, PARKED, reason="not a Kakao user (<botId>:<botUserKey>)")
        if bot.rstrip("!") != self.bot_id.rstrip("!"):
            return Outcome(
                message.key, PARKED, reason=f"a user of bot {bot[:64]!r}, not of this bot"
            )
        return _Addressed(index, message, bot_user_key, user_tag(bot_user_key))

    async def _post(self, request: list[_Addressed]) -> dict[int, Outcome]:
        first = request[0].message
        keys = [a.message.key for a in request]
        body = {
            "event": {
                "name": self.event_name,
                "data": {
                    "campaign": first.campaign,
                    "variant": first.variant,
                    "sends": {a.tag: a.message.key for a in request},
                },
            },
            "user": [{"type": USER_TYPE, "id": a.bot_user_key} for a in request],
        }
        headers = {
            "Authorization": f"KakaoAK {self._rest_key}",
            "Content-Type": "application/json",
            "Idempotency-Key": hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32],
        }
        url = f"{self.base_url}/v2/bots/{self.bot_id}/talk"
        answer = await self._call("POST", url, headers, orjson.dumps(body))
        if isinstance(answer, str):  # the request did not get through
            return {a.index: Outcome(a.message.key, FAILED, reason=answer) for a in request}
        if not answer.is_success:
            log.warning(
                "kakao event api refused", extra={"status": answer.status_code, "users": len(keys)}
            )
            reason = f"kakao answered {answer.status_code}{_code_of(answer)}"
            retry = answer.headers.get("retry-after")
            return {
                a.index: status_outcome(a.message.key, answer.status_code, retry, reason)
                for a in request
            }
        accepted = _json(answer)
        status = accepted.get("status") if isinstance(accepted, dict) else None
        task = accepted.get("taskId") if isinstance(accepted, dict) else None
        if status != "SUCCESS":
            # FAIL (no wallet, an event block not deployed, ...) or an answer that is not
            # Kakao's: the sender tries again later and parks the send if it keeps failing.
            log.warning("kakao event api did not accept", extra={"users": len(keys)})
            reason = "kakao answered FAIL" if status == "FAIL" else "kakao's answer is unreadable"
            return {a.index: Outcome(a.message.key, FAILED, reason=reason) for a in request}
        task_id = str(task) if isinstance(task, str | int) and str(task) else None
        return {
            a.index: Outcome(
                a.message.key,
                SENT,
                provider_id=provider_id_of(task_id, a.tag, a.message.key) if task_id else None,
                cost=self.cost_per_message,
            )
            for a in request
        }

    async def _call(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None = None
    ) -> httpx.Response | str:
        """The answer, or why there is none. The deadline covers the whole call: httpx's own
        timeouts are per phase, so a server that drips its answer would hold a call forever."""
        async with self._gate:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._client.request(
                        method, url, headers=headers, content=content
                    )
            except (TimeoutError, httpx.TimeoutException):
                return "timeout"
            except httpx.ConnectError:
                return "connection refused"
            except httpx.HTTPError as exc:
                return f"transport error ({type(exc).__name__})"

    # -- delivery ------------------------------------------------------------------------------

    async def results(self, provider_ids: Collection[str]) -> dict[str, str]:
        by_task: dict[str, list[tuple[str, str]]] = {}
        for provider_id in provider_ids:
            parts = _split_provider_id(provider_id)
            if parts is not None:
                task, tag, key = parts
                by_task.setdefault(task, []).append((tag, key))
        tasks = list(by_task)
        fates = await asyncio.gather(*(self._task(task) for task in tasks))
        out: dict[str, str] = {}
        for task, fate in zip(tasks, fates, strict=True):
            if fate is None:
                continue
            for tag, key in by_task[task]:
                if fate.everyone_failed or tag in fate.failed_tags:
                    out[key] = "failed"
                elif fate.list_whole:
                    out[key] = "delivered"
        return out

    async def _task(self, task: str) -> TaskFates | None:
        headers = {"Authorization": f"KakaoAK {self._rest_key}"}
        answer = await self._call("GET", f"{self.base_url}/v1/tasks/{task}", headers)
        if isinstance(answer, str) or not answer.is_success:
            status = answer if isinstance(answer, str) else answer.status_code
            log.info("kakao task not read", extra={"status": status})
            return None
        return task_fates(_json(answer))


def requests_of(addressed: Sequence[_Addressed]) -> list[list[_Addressed]]:
    """The requests a batch goes out in: at most :data:`MAX_USERS` users each, all of one
    campaign and variant (the event's data is one for the whole request), no user twice
    (Kakao refuses the request); a user named twice goes into the next request that lacks
    them. The order of the batch is kept within each request."""
    requests: list[list[_Addressed]] = []
    open_by_group: dict[tuple[str, str], list[tuple[list[_Addressed], set[str]]]] = {}
    for item in addressed:
        group = open_by_group.setdefault((item.message.campaign, item.message.variant), [])
        for request, tags in group:
            if len(request) < MAX_USERS and item.tag not in tags:
                break
        else:
            request, tags = [], set()
            group.append((request, tags))
            requests.append(request)
        request.append(item)
        tags.add(item.tag)
    return requests


def _json(answer: httpx.Response) -> Any:
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return None


def _code_of(answer: httpx.Response) -> str:
    """Kakao's error code, when the answer has a short one (``{"code": -401, "msg": ...}``)."""
    body = _json(answer)
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, int | str) and not isinstance(code, bool) and _CODE.fullmatch(str(code)):
        return f" (code {code})"
    return ""
