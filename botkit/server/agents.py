"""The agent API (``/agent/api/…``): the queue of conversations waiting for a person, and what an
agent does with one: claim it, write to the user, add a note, hand it back to the bot or close it.

Every call needs ``Authorization: Bearer <token>``; tokens are configured per agent
(``agent.tokens``: ``name:token`` pairs) and there are no defaults: without tokens the API
answers 503. Each step is a record (``handoff_claimed``, ``agent_message``, ``agent_note``,
``handoff_released``, ``handoff_closed``), so handoff rate, wait time and handling time can be
measured from the records alone.

The queue is the runtime's read side (:mod:`botkit.runtime.conversations`), one store query: the
sessions that asked for a person in the last days (``handoff_requested`` records) and are still
waiting or with an agent. Every step is an event through the runtime's one door
(``Runtime.apply``). ``GET /agent/api/states`` lists the bot's designed states, which a
release may name (``{"state": "flow.state"}``; without one the handoff's ``resume`` applies).

A step that cannot apply changes nothing and says why: the path's channel or user is not an id
(400 ``bad_id``: :mod:`botkit.adapters.checks`), there is no such conversation (404
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

from botkit.adapters.checks import MAX_ID_CHARS, MAX_USER_CHARS, check_id, clean_text
from botkit.adapters.http import (
    bad_id_response,
    bad_token,
    bearer_token,
    json_error,
    json_response,
    same_secret,
)
from botkit.effects import Effect
from botkit.engine import Session
from botkit.errors import BadId, NoConversation, NotWithAgent, StepRefused
from botkit.events import AgentMessage, Claim, Note, Release
from botkit.flow.model import Bot
from botkit.keys import SessionKey
from botkit.runtime import Runtime, kept
from botkit.server.config import AgentSettings

__all__ = ["AgentApi", "Deliver", "step_refused"]

Deliver = Callable[[str, str, list[Effect]], Awaitable[None]]
"""Send an agent's message to the user on their channel: (channel, user, effects)."""

MAX_TEXT_CHARS = 2000


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
            Route(base + "/states", self._guard(self.states), methods=["GET"]),
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
                return bad_token()
            try:
                for name, value in request.path_params.items():
                    check_id(name, value, MAX_USER_CHARS if name == "user" else MAX_ID_CHARS)
                return await handler(request, agent)
            except BadId as bad:
                return bad_id_response(bad)
            except StepRefused as refused:
                return step_refused(refused)

        return guarded

    # -- reading ---------------------------------------------------------------------------

    async def waiting(self) -> list[tuple[str, str]]:
        """(channel, user) of every conversation still waiting for an agent (for the sweeper)."""
        return [(key.channel, key.user) for key in await self.runtime.conversations.waiting()]

    async def queue(self, request: Request, agent: str) -> Response:
        conversations = self.runtime.conversations
        now = self.runtime.clock()
        waiting = [
            _summary(h.session, now, h.reason, conversations.masked(h.session.slots))
            for h in await conversations.handed_off()
        ]
        waiting.sort(key=lambda c: -c["waiting_s"])
        return json_response({"conversations": waiting})

    async def states(self, request: Request, agent: str) -> Response:
        """The states an agent may hand a conversation back to: the bot's designed states, and
        the one the console offers first (the start of the bot's start flow). Read from the
        live version at each call: a reload changes them, and a console asks once."""
        return json_response(_designed_states(self.runtime.bot))

    async def conversation(self, request: Request, agent: str) -> Response:
        key = self._key(request)
        conversations = self.runtime.conversations
        session = await conversations.existing(key)
        said = await conversations.transcript(key, conversation=session.conversation, notes=True)
        body = _summary(session, self.runtime.clock(), None, conversations.masked(session.slots))
        body.update(transcript=said, profile=conversations.masked_profile(session.profile or {}))
        return json_response(body)

    # -- steps -----------------------------------------------------------------------------

    async def claim(self, request: Request, agent: str) -> Response:
        key = self._key(request)
        await self.runtime.conversations.existing(key)
        reply = kept(await self.runtime.apply(key, Claim(agent)))
        return json_response({"status": reply.status, "agent": agent})

    async def message(self, request: Request, agent: str) -> Response:
        text = await self._text(request)
        if text is None:
            return json_error(400, "bad_message", 'send {"text": "…"} (1-2000 characters)')
        key = self._key(request)
        await self.runtime.conversations.existing(key)
        reply = kept(await self.runtime.apply(key, AgentMessage(text, agent)))
        await self.deliver(key.channel, key.user, list(reply.effects))
        return json_response({"status": reply.status, "delivered": key.channel})

    async def note(self, request: Request, agent: str) -> Response:
        text = await self._text(request)
        if text is None:
            return json_error(400, "bad_message", 'send {"text": "…"} (1-2000 characters)')
        key = self._key(request)
        await self.runtime.conversations.existing(key)
        reply = kept(await self.runtime.apply(key, Note(text, agent)))
        return json_response({"status": reply.status})

    async def release(self, request: Request, agent: str) -> Response:
        body = await _body(request)
        state = body.get("state") if isinstance(body, dict) else None
        key = self._key(request)
        await self.runtime.conversations.handed_off_one(key)
        target = state if isinstance(state, str) else None
        reply = kept(await self.runtime.apply(key, Release(target)))
        await self.deliver(key.channel, key.user, list(reply.effects))
        return json_response({"status": reply.status, "state": reply.state})

    async def close(self, request: Request, agent: str) -> Response:
        key = self._key(request)
        await self.runtime.conversations.handed_off_one(key)
        reply = kept(await self.runtime.apply(key, Release(close=True)))
        return json_response({"status": reply.status})

    @staticmethod
    def _key(request: Request) -> SessionKey:
        return SessionKey(request.path_params["channel"], request.path_params["user"])

    @staticmethod
    async def _text(request: Request) -> str | None:
        body = await _body(request)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return None
        text = clean_text(text.strip(), MAX_TEXT_CHARS + 1).strip()
        return text if 1 <= len(text) <= MAX_TEXT_CHARS else None


def step_refused(refused: StepRefused) -> Response:
    """A step that does not apply, as the agent API and the helpdesk's webhook answer it: 404
    ``not_found`` (no such conversation), 409 ``not_handed_off`` or ``refused``."""
    if isinstance(refused, NoConversation):
        return json_error(404, "not_found", str(refused))
    code = "not_handed_off" if isinstance(refused, NotWithAgent) else "refused"
    return json_error(409, code, str(refused))


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _designed_states(bot: Bot) -> dict[str, Any]:
    states = [
        {
            "id": f"{flow.id}.{state.id}",
            "flow": flow.id,
            "flow_title": flow.title,
            "title": state.title,
        }
        for flow in bot.flows.values()
        for state in flow.states.values()
    ]
    flow, state = bot.start_target
    return {"states": states, "default": f"{flow}.{state}"}


def _summary(
    session: Session, now: float, reason: str | None, slots: Mapping[str, Any]
) -> dict[str, Any]:
    """A conversation as agents see it; ``slots`` with sensitive values masked."""
    key = SessionKey.parse(session.key)
    summary: dict[str, Any] = {
        "channel": key.channel,
        "user": key.user,
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
