"""What the server does when it starts and stops, and the work it waits for in between.

Start: open the store, start the channels (the widget listens for other workers' pushes), start
the handoff sweeper. Stop (after uvicorn has stopped taking requests): stop the sweeper, wait
for the turns still running (including those answered early because of Kakao's deadline) and
the helpdesk calls to finish and commit, then close the runtime, the HTTP client (when the
server made it) and the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from botkit.adapters.channel import Channels
from botkit.records import RecordKind
from botkit.runtime import Reply, Runtime
from botkit.server.helpdesk import Helpdesk
from botkit.server.outreach import SenderTask
from botkit.server.reload import Reloader
from botkit.server.sweeper import Sweeper
from botkit.storage import Store

__all__ = ["InFlight", "Lifespan", "helpdesk_tickets"]

log = logging.getLogger("botkit.server")


class InFlight:
    """Tasks the server must let finish before it stops (turns, callbacks)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def track(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, grace: float) -> None:
        if not self.tasks:
            return
        log.info("waiting for turns in flight", extra={"count": len(self.tasks)})
        _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
        for task in pending:  # past the grace period: their turns are not committed
            task.cancel()
        if pending:
            log.warning("turns cancelled at shutdown", extra={"count": len(pending)})


def helpdesk_tickets(helpdesk: Helpdesk, in_flight: InFlight) -> Callable[[str, str, Reply], None]:
    """A runtime observer: each handoff a turn asks for is opened in the helpdesk, in a task
    the server waits for at shutdown (keyed by its record, so a retry opens it once)."""

    def open_in_helpdesk(channel: str, user: str, reply: Reply) -> None:
        for record in reply.records:
            if record.kind == RecordKind.HANDOFF_REQUESTED:
                reason = str((record.data or {}).get("reason", ""))
                key = f"{record.session}:{record.conversation}:{record.seq}"
                in_flight.track(asyncio.ensure_future(helpdesk.open(channel, user, reason, key)))

    return open_in_helpdesk


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifespan:
    """Starlette's lifespan for one server: ``Starlette(lifespan=Lifespan(...))``."""

    store: Store
    runtime: Runtime
    channels: Channels
    reloader: Reloader
    sweeper: Sweeper
    in_flight: InFlight
    grace_s: float
    own_client: httpx.AsyncClient | None  # closed at shutdown: the server made it
    sender: SenderTask | None = None  # campaigns: plans and sends what is due

    @contextlib.asynccontextmanager
    async def __call__(self, app: object) -> AsyncIterator[None]:
        await self.store.open()
        await self.channels.start()
        await self.reloader.start()  # the version live, in the store too
        bot = self.runtime.bot
        log.info("serving", extra={"bot": bot.id, "version": bot.version})
        self.sweeper.start()
        if self.sender is not None:
            self.sender.start()
        try:
            yield
        finally:
            self.reloader.stop()
            self.sweeper.stop()
            if self.sender is not None:
                await self.sender.stop()
            await self.in_flight.drain(self.grace_s)
            await self.runtime.aclose()
            if self.own_client is not None:
                await self.own_client.aclose()
            await self.store.close()
