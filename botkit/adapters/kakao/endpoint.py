"""The Kakao skill endpoint: HTTP in, one turn of the runtime, a SkillResponse out in time.

The order of the checks is the order of their cost: the secret and the size before the body is
read, the content type and the JSON before the payload is parsed, the ids (as every id at the
edge: :mod:`botkit.adapters.checks`) and the bot id before the runtime sees anything. A rejected
request gets a 4xx with a JSON body saying why, and nothing of it is stored.

Kakao waits 5 seconds. The turn runs in a task of its own and the answer leaves within the
budget (4.5 s by default) whatever the actions do: with Kakao's callback enabled and a
``callbackUrl`` in the request, the answer is ``useCallback: true`` and the real one is POSTed
to the URL once the turn is done; otherwise the user is asked to try again, and the late reply
is kept in the user's session and said with the answer to their next message, by whichever
worker gets it. Either way the turn itself finishes and is committed: the session never
reflects half a turn.

A channel that uses Kakao Sync sends the user's Kakao Login id (``appUserId``) with each
message: ``identify`` (server/identities.py) is given it before the turn, to link the user to
the shop's customer, so the turn already sees the customer's profile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
import orjson
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from botkit.adapters.checks import check_id, clean_text
from botkit.adapters.http import (
    bad_id_response,
    json_error,
    json_response,
    same_secret,
    too_large_response,
    unavailable,
)
from botkit.adapters.kakao.payload import KakaoPayloadError, KakaoRequest, parse_payload
from botkit.adapters.kakao.render import render
from botkit.adapters.kakao.settings import KakaoSettings
from botkit.effects import Effect, Say
from botkit.errors import BadId, BadPayload
from botkit.runtime import Reply, Runtime, kept

__all__ = ["KakaoEndpoint"]

log = logging.getLogger("botkit.kakao")
CHANNEL = "kakao"
_JSON = "application/json"


# The event data of a campaign's Event API call (server/campaign_events.py): only a request
# that carries one of these asks the store whether it is a campaign's callback.
_CAMPAIGN_FIELDS = frozenset({"campaign", "send", "sends"})


class _Rejected(BadPayload):
    """A request refused before the runtime sees it, with the JSON answer that says why."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}


class KakaoEndpoint:
    """``POST {path}`` (and ``{path}/{secret}``): one Kakao skill call, as a plain ASGI app;
    and the Kakao :class:`~botkit.adapters.channel.Channel`.

    Plain ASGI rather than a framework's request object: this is the hot path of the server,
    and a turn is cheaper than the objects a framework would build around it.
    """

    name = CHANNEL
    keeps = True  # a skill can only answer

    def __init__(
        self,
        runtime: Runtime,
        settings: KakaoSettings,
        *,
        callbacks: httpx.AsyncClient,
        track: Callable[[asyncio.Task[Any]], None],
        links: Callable[[Reply], list[Effect]] | None = None,
        identify: Callable[[str, str], Awaitable[bool]] | None = None,
        campaigns: Callable[[str, Mapping[str, Any]], Awaitable[Reply | None]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.callbacks = callbacks  # the client that POSTs late answers to Kakao
        self.track = track  # the server waits for tracked tasks before it stops
        # A reply's effects with their links as the server's click-counting addresses
        # (server/links.py); None: links go out as the flows wrote them.
        self.links = links
        # Links the user to the shop's customer their Kakao Sync appUserId is linked to (user,
        # appUserId → whether linked; server/identities.py). Never raises; cheap once done.
        self.identify = identify
        # The answer to the Event API's callback for a campaign send (user, the event's
        # data → the reply, or None: not a campaign's; server/campaign_events.py).
        self.campaigns = campaigns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = _headers(scope)
        try:
            self._check_secret(scope, headers)
            body = await self._body(headers, receive)
            payload = self._parse(body)
        except _Rejected as rejected:
            log.info(
                "kakao request rejected",
                extra={"status": rejected.response.status_code, "path": scope.get("path")},
            )
            await rejected.response(scope, receive, send)
            return
        response = await self._answer(payload)
        await response(scope, receive, send)
        if log.isEnabledFor(logging.DEBUG):  # a line per turn is for debugging, not for volume
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            log.debug("kakao turn", extra={"user": payload.user, "latency_ms": elapsed})

    # -- the channel ------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self.settings.route

    def routes(self) -> list[BaseRoute]:
        # Plain ASGI apps: Starlette passes the request straight through.
        return [
            Route(self.path, self, methods=["POST"]),
            Route(self.path + "/{secret}", self, methods=["POST"]),
        ]

    async def start(self) -> None:
        """Nothing to start: a skill only answers requests."""

    async def deliver(self, user: str, effects: Sequence[Effect]) -> None:
        """Words said outside a request (an agent's, a late reply): a skill can only answer,
        not speak first, so they are kept in the session, for any worker, and said with the
        answer to the user's next message."""
        kept(await self.runtime.keep_until_next(CHANNEL, user, effects))

    # -- checks ---------------------------------------------------------------------------

    def _check_secret(self, scope: Scope, headers: dict[str, str]) -> None:
        secret = self.settings.secret
        if secret is None:
            return
        given = scope.get("path_params", {}).get("secret") or headers.get(
            self.settings.secret_header.lower(), ""
        )
        if not same_secret(given, secret):
            raise _Rejected(json_error(401, "bad_secret", "the skill secret is missing or wrong"))

    async def _body(self, headers: dict[str, str], receive: Receive) -> bytes:
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != _JSON:
            raise _Rejected(
                json_error(
                    415,
                    "unsupported_media_type",
                    f"expected Content-Type: {_JSON}, not '{kind or 'none'}'",
                )
            )
        cap = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _Rejected(too_large_response(cap))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Rejected(json_error(400, "disconnected", "the client went away"))
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise _Rejected(too_large_response(cap))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _parse(self, body: bytes) -> KakaoRequest:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Rejected(
                json_error(400, "invalid_json", f"the body is not valid JSON: {exc}")
            ) from None
        if not isinstance(data, dict):
            raise _Rejected(json_error(400, "invalid_payload", "a SkillPayload is a JSON object"))
        try:
            payload = parse_payload(data)
        except KakaoPayloadError as exc:
            refused = json_error(400, "invalid_payload", str(exc), path=exc.field)
            raise _Rejected(refused) from None
        try:
            check_id("bot.id", payload.bot_id)
            check_id("userRequest.user.id", payload.user)
        except BadId as bad:
            raise _Rejected(bad_id_response(bad)) from None
        allowed = self.settings.bot_ids
        if allowed and payload.bot_id not in allowed:
            raise _Rejected(
                json_error(403, "unknown_bot", f"bot.id '{payload.bot_id}' is not served here")
            )
        return payload

    # -- the turn ---------------------------------------------------------------------------

    async def _answer(self, payload: KakaoRequest) -> Response:
        user = f"{payload.bot_id}:{payload.user}"
        text = clean_text(payload.utterance, self.settings.max_utterance_chars)
        turn = asyncio.ensure_future(self._turn(payload, user, text))
        self.track(turn)
        done, _ = await asyncio.wait({turn}, timeout=self.settings.budget_s)
        if done:
            reply = turn.result()
            if reply.unavailable:  # nothing was kept: Kakao shows its own "try again"
                return unavailable()
            return json_response(self._rendered(reply))
        url = payload.callback_url
        if self.settings.callback and url and self._callback_allowed(url):
            deadline = time.monotonic() + self.settings.callback_ttl_s - self.settings.budget_s
            turn.add_done_callback(
                lambda t: self.track(
                    asyncio.ensure_future(self._call_back(url, user, t, deadline))
                )
            )
            waiting = {"text": self.settings.waiting_text}
            return json_response({"version": "2.0", "useCallback": True, "data": waiting})
        if self.settings.deliver_late_replies:
            turn.add_done_callback(lambda t: self._keep_late(user, t))
        log.warning("kakao turn over budget", extra={"user": user})
        return json_response(render([Say(text=self.settings.retry_text)]).response)

    async def _turn(self, payload: KakaoRequest, user: str, text: str) -> Reply:
        app_user = payload.profile.get("appUserId")
        if isinstance(app_user, int) and not isinstance(app_user, bool):
            app_user = str(app_user)  # documented as text; a number reads, as on the webhook
        if self.identify is not None and isinstance(app_user, str) and app_user:
            await self.identify(user, app_user)  # within the budget, before the turn reads
        parts = (payload.client_extra, payload.event_data, payload.params)
        if self.campaigns is not None and any(not _CAMPAIGN_FIELDS.isdisjoint(p) for p in parts):
            said = await self.campaigns(user, {k: v for part in parts for k, v in part.items()})
            if said is not None:
                if not any(isinstance(e, Say) for e in said.effects):
                    said.effects.append(Say(text=self.settings.said_text))
                return said
        return await self.runtime.handle(
            CHANNEL,
            user,
            text,
            payload=payload.payload,
            profile=payload.profile or None,
            locale=payload.lang,  # userRequest.lang: the session's language if the bot has it
            with_kept=True,  # an agent's words and late replies come first
        )

    def _rendered(self, reply: Reply) -> dict[str, Any]:
        effects = list(reply.effects) if self.links is None else self.links(reply)
        if not any(isinstance(e, Say) for e in effects):  # Kakao needs something to show
            effects.append(Say(text=self.settings.holding_text))
        return render(effects).response

    def _keep_late(self, user: str, turn: asyncio.Future[Reply]) -> None:
        if turn.cancelled() or turn.exception() is not None or turn.result().unavailable:
            return
        late = turn.result().effects
        self.track(asyncio.ensure_future(self.runtime.keep_until_next(CHANNEL, user, late)))

    def _callback_allowed(self, url: str) -> bool:
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL:
            host = ""
        for allowed in self.settings.callback_hosts:
            if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
                return True
        log.warning("kakao callbackUrl host not allowed", extra={"host": host})
        return False

    async def _call_back(
        self, url: str, user: str, turn: asyncio.Future[Reply], deadline: float
    ) -> None:
        """POST the finished turn's answer to Kakao's one-time callback URL, once."""
        if turn.cancelled() or turn.exception() is not None:
            return
        if time.monotonic() > deadline:  # the URL has expired: keep the reply for next time
            self._keep_late(user, turn)
            return
        body = self._rendered(turn.result())
        try:
            answer = await self.callbacks.post(
                url, content=orjson.dumps(body), headers={"Content-Type": _JSON}
            )
            if answer.status_code >= 400:
                log.warning("kakao callback refused", extra={"status": answer.status_code})
        except httpx.HTTPError as exc:
            log.warning("kakao callback failed", extra={"error": type(exc).__name__})
