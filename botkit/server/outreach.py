"""Campaigns in ``botkit serve``: the providers the settings name, and the sender's task.

Every worker runs a sender (unless ``send_every_s`` is 0): the store hands each send to one of
them. The providers are built from the settings: the Kakao Event API when ``kakao.event_api_url``
and ``kakao.rest_api_key`` are set, the dealers' webhook when ``dealer_url`` and
``dealer_secret`` are. A campaign send on a channel without its provider waits (failed, retried)
and is parked with the reason after its attempts, so a missing setting shows up in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence

import httpx

from botkit.adapters.outbound.kakao_event import KakaoEventAPI
from botkit.adapters.outbound.port import Outcome, Outgoing, Provider
from botkit.adapters.outbound.webhook import WebhookProvider
from botkit.adapters.web.endpoint import PUSHES
from botkit.effects import Effect, Say, say_to_data
from botkit.server.config import ServerSettings
from botkit.server.sender import Deliver, Sender
from botkit.storage import Broadcast

__all__ = ["KakaoBots", "SenderTask", "providers"]

log = logging.getLogger("botkit.campaigns")


_ANY_BOT = "tasks"  # the bot id of a client made only to read tasks (their URL has none)


class KakaoBots:
    """The Event API for every Kakao bot this server answers: a user is ``<botId>:<key>``, and
    each bot id has its own endpoint, so a batch is split by bot."""

    name = "kakao"

    def __init__(self, settings: ServerSettings, client: httpx.AsyncClient) -> None:
        kakao = settings.kakao
        assert kakao.event_api_url is not None
        assert kakao.rest_api_key is not None
        self._url = kakao.event_api_url
        self._key = kakao.rest_api_key
        self._event = kakao.event_name
        self._cost = kakao.event_cost
        self._client = client
        self._bots: dict[str, KakaoEventAPI] = {}
        self.max_batch = 100

    def _of(self, bot: str) -> KakaoEventAPI:
        found = self._bots.get(bot)
        if found is None:
            found = self._bots[bot] = KakaoEventAPI(
                self._url,
                bot,
                self._key,
                event_name=self._event,
                cost_per_message=self._cost,
                client=self._client,
            )
        return found

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        by_bot: dict[str, list[int]] = {}
        for index, message in enumerate(batch):
            by_bot.setdefault(message.user.partition(":")[0], []).append(index)
        outcomes: dict[int, Outcome] = {}
        for bot, indexes in by_bot.items():
            sent = await self._of(bot).send([batch[i] for i in indexes])
            outcomes.update(zip(indexes, sent, strict=True))
        return [outcomes[i] for i in range(len(batch))]

    async def results(self, provider_ids: Collection[str]) -> dict[str, str]:
        """Kakao's task API names no bot: one client asks about every task, also in a process
        that did not send them (after a restart, on another worker)."""
        api = next(iter(self._bots.values()), None) or self._of(_ANY_BOT)
        return await api.results(provider_ids)

    async def aclose(self) -> None:
        for api in self._bots.values():
            await api.aclose()


def web_pushes(store: object) -> Deliver | None:
    """For a sender outside the server (``botkit campaigns run``): the widget's words go to
    the servers through the store's broadcast, as a server's own pushes do between its
    workers (PostgreSQL); without one (SQLite) the visitor reads them in the history when the
    widget opens again."""
    if not isinstance(store, Broadcast):
        return None
    broadcast = store

    async def deliver(channel: str, user: str, effects: Sequence[Effect]) -> None:
        said = [say_to_data(e) for e in effects if isinstance(e, Say)]
        if channel == "web" and said:
            await broadcast.publish(PUSHES, {"sid": user, "says": said})

    return deliver


def providers(settings: ServerSettings, client: httpx.AsyncClient) -> dict[str, Provider]:
    """The providers the settings configure, by channel name."""
    found: dict[str, Provider] = {}
    if settings.kakao.event_api_url and settings.kakao.rest_api_key:
        found["kakao"] = KakaoBots(settings, client)
    if settings.dealer_url and settings.dealer_secret:
        found["webhook"] = WebhookProvider(
            settings.dealer_url, settings.dealer_secret, client=client
        )
    return found


class SenderTask:
    """The sender, ticking in the background of a server (started and stopped by its
    lifespan, like the handoff sweeper)."""

    def __init__(self, sender: Sender | None, every_s: float) -> None:
        self.sender = sender
        self.every_s = every_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[object] | None = None

    def start(self) -> None:
        if self.sender is None or self.every_s <= 0:
            return
        self._stop.clear()
        self._task = asyncio.create_task(
            self.sender.run(self._stop, every_s=self.every_s), name="botkit-campaign-sender"
        )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=5.0)
            self._task = None
        if self.sender is not None:
            for provider in self.sender.providers.values():
                await provider.aclose()
