"""The port every channel plugs into the server through.

A channel (KakaoTalk, the web widget, tomorrow a dealer's webhook) answers the requests that
come in on its own routes, and says what it is given outside any request: a reply that came too
late for its request, an agent's words, soon an outbound campaign's message. The server knows
channels only through this shape: it mounts their routes, starts them once the store is open,
and hands them words by the channel's name. How each one gets words to a user is its own policy
(Kakao can only answer, so it keeps them for the user's next message; the widget pushes them
over the user's open sockets).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from starlette.routing import BaseRoute

from botkit.effects import Effect

__all__ = ["Channel", "Channels"]


class Channel(Protocol):
    """One channel of the bot, as the server sees it."""

    @property
    def name(self) -> str:
        """The channel's part of a session key (``kakao``, ``web``)."""
        ...

    def routes(self) -> list[BaseRoute]:
        """The HTTP and WebSocket routes on which its users' requests come in."""
        ...

    @property
    def keeps(self) -> bool:
        """Whether it can only answer (Kakao): words said outside a request wait in the
        session for the user's next message, instead of being pushed."""
        ...

    async def start(self) -> None:
        """Called once the store is open, before the first request (a no-op for most)."""

    async def deliver(self, user: str, effects: Sequence[Effect]) -> None:
        """Say ``effects`` to ``user`` outside any request of theirs."""


class Channels:
    """The server's channels, by name: where words said outside a request are handed over."""

    def __init__(self, *channels: Channel) -> None:
        self._by_name = {channel.name: channel for channel in channels}

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._by_name.values())

    def routes(self) -> list[BaseRoute]:
        return [route for channel in self for route in channel.routes()]

    async def start(self) -> None:
        for channel in self:
            await channel.start()

    def keeps(self, channel: str) -> bool:
        """Whether ``channel`` keeps words for the user's next message (Channel.keeps)."""
        found = self._by_name.get(channel)
        return found is not None and found.keeps

    async def deliver(self, channel: str, user: str, effects: Sequence[Effect]) -> None:
        """Hand ``effects`` to ``channel`` for ``user``; a channel this server does not have
        (a conversation from a channel since removed) has no one to say them to."""
        found = self._by_name.get(channel)
        if found is not None:
            await found.deliver(user, effects)
