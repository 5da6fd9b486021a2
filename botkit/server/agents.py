"""The agent API (``/agent/api/…``): the queue of conversations waiting for a person, and what an
agent does with one: claim it, write to the user, add a note, hand it back to the bot or close it.

Every call needs ``Authorization: Bearer <token>``; tokens are configured per agent
(``agent.tokens``: ``name:token`` pairs) and there are no defaults: without tokens the API
answers 503. Each step is a record (``handoff_claimed``, ``agent_message``, ``agent_note``,
``handoff_released``, ``handoff_closed``), so handoff rate, wait time and handling time can be
measured from the records alone.

The queue is read from the store: the sessions that asked for a person in the last days
(``handoff_requested`` records) and are still waiting or with an agent.

A step that cannot apply changes nothing and says why: the path's channel or user is not an id
(400 ``bad_id``: :mod:`botkit.server.guard`), there is no such conversation (404
``not_found``), or it is not in a state for that step (409: ``not_handed_off`` for a claim,
message, release or close of a conversation the bot holds, ``refused`` for one another agent
holds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.effects import Effect
from botkit.engine import Session
from botkit.errors import BadId, NoConversation, NotWithAgent, StepRefused
from botkit.records import transcript
from botkit.runtime import Reply, Runtime
from botkit.server.config import AgentSettings
from botkit.server.guard import MAX_ID_CHARS, MAX_USER_CHARS, check_id, clean_text
from botkit.server.http import bearer_token, json_error, json_response, same_secret

__all__ = ["AgentApi", "Deliver", "NoConversation", "existing", "handed_off"]

Deliver = Callable[[str, str, list[Effect]], Awaitable[None]]
"""Send an agent's message to the user on their channel: (channel, user, effects)."""

HANDED_OFF = ("handoff_requested", "with_agent")
LOOKBACK_S = 7 * 24 * 3600  # a handoff older than a week is not in the queue any more
MAX_TEXT_CHARS = 2000
NO_CONVERSATION = "there is no conversation with this user on this channel"


async def existing(runtime: Runtime, channel: str, user: str) -> Session:
    """The user's session, if a conversation ever started in it; else :class:`NoConversation`.

    Checked before a step, so that a step for nobody creates no session."""
    session = await runtime.session(channel, user)
    if session is None or not session.conversation:
        raise NoConversation(NO_CONVERSATION)
    return session


async def handed_off(runtime: Runtime, channel: str, user: str) -> Session:
    """The user's session if it waits for an agent or is with one, else :class:`NoConversation`
    or :class:`~botkit.engine.NotWithAgent` (for a release or a close, which the bot's own
    conversations do not take)."""
    session = await existing(runtime, channel, user)
    if session.status not in HANDED_OFF:
        raise NotWithAgent(
            f"the conversation is not handed off to an agent (it is {session.status})"
        )
    return session


class AgentApi:
    def __init__(self, runtime: Runtime, settings: AgentSettings, deliver: Deliver) -> None:
        self.runtime = runtime
        self.deliver = deliver
        self.tokens: dict[str, str] = {}  # token → agent name
        for entry in settings.tokens:
            name, _, token = entry.partition(":")
            if name and len(token) >= 16:
                self.tokens[token] = name

    def routes(self) -> list[Route]:
        base = "/agent/api"
        one = base + "/conversations/{channel}/{user}"
        return [
            Route(base + "/queue", self._guard(self.queue), methods=["GET"]),
            Route(one, self._guard(self.conversation), methods=["GET"]),
            Route(one + "/claim", self._guard(self.claim), methods=["POST"]),
            Route(one + "/message", self._guard(self.message), methods=["POST"]),
            Route(one + "/note", self._guard(self.note), methods=["POST"]),
            Route(one + "/release", self._guard(self.release), methods=["POST"]),
            Route(one + "/close", self._guard(self.close), methods=["POST"]),
        ]

    # -- auth --------------------------------------------------------------------------------

    def agent_for_token(self, given: str) -> str | None:
        """The agent a token belongs to, or None (compared in constant time)."""
        return next(
            (name for token, name in self.tokens.items() if same_secret(given, token)), None
        )

    def _guard(
        self, handler: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            if not self.tokens:
                return json_error(
                    503, "no_agents", "no agent tokens are configured (agent.tokens)"
                )
            agent = self.agent_for_token(bearer_token(request))
            if agent is None:
                return json_error(
                    401, "bad_token", "a valid 'Authorization: Bearer <token>' is needed"
                )
            try:
                for name, value in request.path_params.items():
                    check_id(name, value, MAX_USER_CHARS if name == "user" else MAX_ID_CHARS)
                return await handler(request, agent)
            except BadId as bad:
                return json_error(400, "bad_id", str(bad), path=bad.path)
            except NoConversation as missing:
                return json_error(404, "not_found", str(missing))
            except NotWithAgent as refused:
                return json_error(409, "not_handed_off", str(refused))
            except StepRefused as refused:
                return json_error(409, "refused", str(refused))

        return guarded

    # -- reading ---------------------------------------------------------------------------

    async def _handed_off(self) -> list[tuple[Session, str | None]]:
        """Every conversation waiting for an agent or with one, and why it was handed off:
        the sessions that asked for a person lately, as they are now."""
        now = self.runtime.clock()
        asked = await self.runtime.store.records(kind="handoff_requested", since=now - LOOKBACK_S)
        reasons = {r.session: (r.data or {}).get("reason") for r in asked}  # the latest wins
        out = []
        for key, reason in reasons.items():
            channel, _, user = key.partition(":")
            session = await self.runtime.session(channel, user)
            if session is not None and session.status in HANDED_OFF:
                out.append((session, reason))
        return out

    async def waiting(self) -> list[tuple[str, str]]:
        """(channel, user) of every conversation still waiting for an agent (for the sweeper)."""
        return [
            (session.channel, session.key.partition(":")[2])
            for session, _ in await self._handed_off()
            if session.status == "handoff_requested"
        ]

    async def queue(self, request: Request, agent: str) -> Response:
        now = self.runtime.clock()
        waiting = [
            _summary(session, now, reason, self.runtime.engine.masked(session.slots))
            for session, reason in await self._handed_off()
        ]
        waiting.sort(key=lambda c: -c["waiting_s"])
        return json_response({"conversations": waiting})

    async def conversation(self, request: Request, agent: str) -> Response:
        channel, user = request.path_params["channel"], request.path_params["user"]
        session = await existing(self.runtime, channel, user)
        records = await self.runtime.store.records(session=session.key)
        this_one = (r for r in records if r.conversation == session.conversation)
        said = transcript(this_one, notes=True)
        body = _summary(
            session, self.runtime.clock(), None, self.runtime.engine.masked(session.slots)
        )
        body.update(transcript=said, profile=session.profile or {})
        return json_response(body)

    # -- steps -----------------------------------------------------------------------------

    async def claim(self, request: Request, agent: str) -> Response:
        await existing(self.runtime, *self._who(request))
        reply = (await self.runtime.claim(*self._who(request), agent=agent)).kept()
        return json_response({"status": reply.status, "agent": agent})

    async def message(self, request: Request, agent: str) -> Response:
        text = await self._text(request)
        if text is None:
            return json_error(400, "bad_message", 'send {"text": "…"} (1-2000 characters)')
        channel, user = self._who(request)
        await existing(self.runtime, channel, user)
        reply = (await self.runtime.agent_message(channel, user, text, agent=agent)).kept()
        await self.deliver(channel, user, list(reply.effects))
        return json_response({"status": reply.status, "delivered": channel})

    async def note(self, request: Request, agent: str) -> Response:
        text = await self._text(request)
        if text is None:
            return json_error(400, "bad_message", 'send {"text": "…"} (1-2000 characters)')
        await existing(self.runtime, *self._who(request))
        reply = (await self.runtime.note(*self._who(request), text, agent=agent)).kept()
        return json_response({"status": reply.status})

    async def release(self, request: Request, agent: str) -> Response:
        body = await _body(request)
        state = body.get("state") if isinstance(body, dict) else None
        channel, user = self._who(request)
        await handed_off(self.runtime, channel, user)
        reply: Reply = (
            await self.runtime.release(
                channel, user, target=state if isinstance(state, str) else None
            )
        ).kept()
        await self.deliver(channel, user, list(reply.effects))
        return json_response({"status": reply.status, "state": reply.state})

    async def close(self, request: Request, agent: str) -> Response:
        channel, user = self._who(request)
        await handed_off(self.runtime, channel, user)
        reply = (await self.runtime.release(channel, user, close=True)).kept()
        return json_response({"status": reply.status})

    @staticmethod
    def _who(request: Request) -> tuple[str, str]:
        return request.path_params["channel"], request.path_params["user"]

    @staticmethod
    async def _text(request: Request) -> str | None:
        body = await _body(request)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return None
        text = clean_text(text.strip(), MAX_TEXT_CHARS + 1).strip()
        return text if 1 <= len(text) <= MAX_TEXT_CHARS else None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _summary(
    session: Session, now: float, reason: str | None, slots: Mapping[str, Any]
) -> dict[str, Any]:
    """A conversation as agents see it; ``slots`` with sensitive values masked."""
    channel, _, user = session.key.partition(":")
    summary: dict[str, Any] = {
        "channel": channel,
        "user": user,
        "status": str(session.status),
        "agent": session.agent,
        "state": session.state,
        "waiting_s": round(now - session.since) if session.since else 0,
        "held": list(session.held or ()),
        "slots": slots,
    }
    if reason is not None:
        summary["reason"] = reason
    return summary
