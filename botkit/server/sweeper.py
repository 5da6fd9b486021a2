"""The handoff sweeper: handoffs nobody took within their ``wait_timeout`` move on (to the
flow's timeout target), even when the user says nothing more to trigger it.

The user is told: what the move says (``messages.no_agent``) is delivered as an agent's words
are (``AgentApi.deliver``): pushed to the widget's open sockets, kept in the session for the
answer to the next message on Kakao, which can only answer."""

from __future__ import annotations

import asyncio
import logging

from botkit.adapters.channel import Channels
from botkit.runtime import Runtime
from botkit.server.agents import AgentApi

__all__ = ["Sweeper"]

log = logging.getLogger("botkit.server")


class Sweeper:
    """Every ``every_s`` seconds, the handoffs waiting for an agent are offered to the runtime's
    ``expire``, which moves on those past their wait and leaves the others."""

    def __init__(
        self, runtime: Runtime, agents: AgentApi, channels: Channels, every_s: float
    ) -> None:
        self.runtime = runtime
        self.agents = agents
        self.channels = channels
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="botkit-handoff-sweeper")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                waiting = await self.agents.waiting()
            except Exception:  # a failed sweep is retried at the next one
                log.exception("sweeping handoffs failed")
                continue
            for channel, user in waiting:
                try:
                    await self.sweep(channel, user)
                except Exception:  # one user's failure leaves the others to be swept
                    log.exception("sweeping a handoff failed")

    async def sweep(self, channel: str, user: str) -> None:
        """Move on the user's handoff if nobody took it in time, and tell them: a channel that
        can only answer keeps the words in the same turn (events.Expire), the others get them
        pushed once it is committed. A turn that failed (its effects are the error message)
        told nobody anything: nothing is sent."""
        keep = self.channels.keeps(channel)
        reply = await self.runtime.expire(channel, user, keep=keep)
        if reply.ok and reply.effects and not keep:
            await self.channels.deliver(channel, user, list(reply.effects))
