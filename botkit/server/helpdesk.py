"""An external helpdesk (Chatwoot-style agent-bot handoff) in front of the agents, optionally.

Outbound: when a conversation is handed off, botkit opens it in the helpdesk
(``POST {url}/conversations``) with the transcript so far; a retried call carries the same
``Idempotency-Key``, so the helpdesk opens it once however often the network failed. When the
agent hands the user back, the helpdesk marks its conversation pending again (its side).

Inbound: the helpdesk calls ``POST /agent/webhook`` for what its agents do: a message to the
user, handing the user back to the bot (conversation ``pending``), closing it (``resolved``).
Each call is signed: ``X-Botkit-Timestamp`` (unix seconds) and ``X-Botkit-Signature:
sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the shared secret>``. A call older or
newer than five minutes, with a wrong signature, or with an event id already seen is refused
(401 / 409): a forged or replayed call changes nothing. Without a webhook secret the call is
refused (503) before its body is read. A step that cannot apply changes nothing either: ids
that are not ids (400 ``bad_id``), a conversation that never started (404), one the bot holds
handed back or closed (409), as in the agent API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response

from botkit.adapters.checks import MAX_USER_CHARS, check_id, clean_text
from botkit.adapters.http import bad_id_response, json_error, json_response, same_secret
from botkit.errors import BadId, StepRefused
from botkit.events import AgentMessage, Claim, Release
from botkit.keys import SessionKey
from botkit.runtime import Runtime, kept
from botkit.server.agents import Deliver, step_refused
from botkit.server.config import HelpdeskSettings

__all__ = ["Helpdesk", "sign"]

log = logging.getLogger("botkit.helpdesk")
WINDOW_S = 300  # how old (or early) a signed call may be
SEEN_EVENTS = 10_000  # event ids remembered against replays (older ones are outside the window)
MAX_TEXT_CHARS = 2000  # as an agent's message in the agent API


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class Helpdesk:
    def __init__(
        self,
        runtime: Runtime,
        settings: HelpdeskSettings,
        *,
        client: httpx.AsyncClient,
        deliver: Deliver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.client = client
        self.deliver = deliver
        self.clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()

    # -- outbound --------------------------------------------------------------------------

    async def open(self, channel: str, user: str, reason: str, key: str) -> bool:
        """Open the handed-off conversation in the helpdesk; True once it accepted it.

        ``key`` identifies this handoff (session, conversation and record number): every retry
        sends it as the Idempotency-Key.
        """
        if not self.settings.url:
            return False
        body = {"channel": channel, "user": user, "reason": reason, "status": "open"}
        # Header values are ASCII, and user ids are not (Hangul): the key is a digest of it.
        idempotency = hashlib.sha256(key.encode()).hexdigest()[:32]
        for attempt in range(self.settings.retries + 1):
            try:
                answer = await self.client.post(
                    self.settings.url.rstrip("/") + "/conversations",
                    json=body,
                    headers={
                        "Idempotency-Key": idempotency,
                        "Authorization": f"Bearer {self.settings.api_token}",
                    },
                    timeout=self.settings.timeout_s,
                )
                if answer.status_code < 500:
                    if answer.status_code >= 400:
                        log.warning("helpdesk refused", extra={"status": answer.status_code})
                    return answer.status_code < 400
            except httpx.HTTPError as exc:
                log.warning("helpdesk unreachable", extra={"error": type(exc).__name__})
            await asyncio.sleep(min(8.0, 0.25 * 2**attempt))
        return False

    # -- inbound ---------------------------------------------------------------------------

    def _fresh(self, request: Request) -> Response | None:
        """None when a helpdesk is configured and the call's timestamp is fresh, else the
        refusal: what the headers tell, before the body is read."""
        if not self.settings.webhook_secret:
            return json_error(503, "no_helpdesk", "no helpdesk webhook secret is configured")
        stamp = request.headers.get("x-botkit-timestamp", "")
        if not stamp.isdigit() or len(stamp) > 12 or abs(self.clock() - int(stamp)) > WINDOW_S:
            return json_error(
                401, "stale", "the timestamp is missing or outside the 5-minute window"
            )
        return None

    def _signed(self, request: Request, body: bytes) -> bool:
        stamp = request.headers.get("x-botkit-timestamp", "")
        given = request.headers.get("x-botkit-signature", "")
        return same_secret(given, sign(self.settings.webhook_secret, stamp, body))

    async def webhook(self, request: Request) -> Response:
        refused = self._fresh(request)
        if refused is not None:
            return refused
        body = await request.body()  # capped at the edge (max_body_bytes)
        if not self._signed(request, body):
            return json_error(401, "bad_signature", "the signature does not match")
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            return json_error(400, "bad_json", "the body is not JSON")
        if not isinstance(event, dict):
            return json_error(400, "bad_event", "an event is a JSON object")
        event_id = event.get("id")
        conversation = event.get("conversation")
        if not isinstance(event_id, str) or not isinstance(conversation, dict):
            return json_error(400, "bad_event", "an event needs an 'id' and a 'conversation'")
        channel, user = conversation.get("channel"), conversation.get("user")
        if not isinstance(channel, str) or not isinstance(user, str):
            return json_error(400, "bad_event", "conversation needs 'channel' and 'user'")
        try:
            check_id("id", event_id)
            check_id("conversation.channel", channel)
            check_id("conversation.user", user, MAX_USER_CHARS)
        except BadId as bad:
            return bad_id_response(bad)
        if event_id in self._seen:
            return json_error(409, "replayed", f"event {event_id!r} was already handled")
        try:
            done = await self._apply(event, channel, user)
        except StepRefused as exc:
            return step_refused(exc)
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return json_response({"ok": True, "done": done})

    async def _apply(self, event: dict[str, Any], channel: str, user: str) -> str:
        key = SessionKey(channel, user)
        conversations = self.runtime.conversations
        kind = event.get("event")
        sender = event.get("sender")
        name = sender.get("name") if isinstance(sender, dict) else None
        agent = clean_text(name, 100).strip() if isinstance(name, str) else ""
        agent = agent or "helpdesk"
        if kind == "message_created":
            text = event.get("content")
            text = clean_text(text.strip(), MAX_TEXT_CHARS) if isinstance(text, str) else ""
            if not text.strip():
                raise StepRefused("a message needs 'content'")
            session = await conversations.existing(key)
            if session.status == "handoff_requested":
                kept(await self.runtime.apply(key, Claim(agent)))
            reply = kept(await self.runtime.apply(key, AgentMessage(text.strip(), agent)))
            await self.deliver(channel, user, list(reply.effects))
            return "message"
        if kind == "conversation_status_changed":
            status = event.get("status")
            if status in ("pending", "resolved"):
                await conversations.handed_off_one(key)
            if status == "pending":  # the agent handed the user back to the bot
                target = event.get("state")
                release = Release(target if isinstance(target, str) else None)
                reply = kept(await self.runtime.apply(key, release))
                await self.deliver(channel, user, list(reply.effects))
                return "released"
            if status == "resolved":
                kept(await self.runtime.apply(key, Release(close=True)))
                return "closed"
        raise StepRefused(f"unknown event {str(kind)[:40]!r}")
