"""The read side: what the sessions and records say about conversations, for the agent API,
the helpdesk, the sweeper, the widget's history and the shell. Nothing here changes anything;
every change goes through the one door, :meth:`~botkit.runtime.Runtime.apply`.

The handed-off queue is ONE store query (:meth:`~botkit.storage.Store.handoffs`), however many
conversations wait: the sweeper reads it every 30 seconds and agents' consoles poll it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botkit.engine import Engine, Session, Status
from botkit.errors import NoConversation, NotWithAgent
from botkit.keys import SessionKey
from botkit.records import Record, transcript
from botkit.storage import Store
from botkit.storage.base import HANDED_OFF, HandedOff

__all__ = ["HANDED_OFF", "LOOKBACK_S", "NO_CONVERSATION", "Conversations", "HandedOff"]

LOOKBACK_S = 7 * 24 * 3600  # a handoff older than a week is not in the queue any more
NO_CONVERSATION = "there is no conversation with this user on this channel"


class Conversations:
    """Reads over one runtime's store. ``snapshot`` is the runtime's own read of a session (its
    lock and its cache of committed snapshots); ``clock`` its clock."""

    def __init__(
        self,
        store: Store,
        engine: Callable[[], Engine],
        snapshot: Callable[[SessionKey], Awaitable[Session | None]],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._engine = engine  # the live version's, read at each call: a reload changes it
        self._snapshot = snapshot
        self._clock = clock

    async def session(self, key: SessionKey) -> Session | None:
        """A copy of the user's committed session (for display; changing it changes nothing)."""
        return await self._snapshot(key)

    async def existing(self, key: SessionKey) -> Session:
        """The user's session, if a conversation ever started in it; else
        :class:`~botkit.errors.NoConversation`. Checked before an operator's step, so that a
        step for nobody creates no session."""
        session = await self._snapshot(key)
        if session is None or not session.conversation:
            raise NoConversation(NO_CONVERSATION)
        return session

    async def handed_off_one(self, key: SessionKey) -> Session:
        """The user's session if it waits for an agent or is with one; else
        :class:`~botkit.errors.NoConversation` or :class:`~botkit.errors.NotWithAgent` (for a
        release or a close, which the bot's own conversations do not take)."""
        session = await self.existing(key)
        if session.status not in HANDED_OFF:
            raise NotWithAgent(
                f"the conversation is not handed off to an agent (it is {session.status})"
            )
        return session

    async def handed_off(self) -> list[HandedOff]:
        """Every conversation waiting for an agent or with one, as it is now, and why it was
        handed off: the sessions that asked for a person in the last :data:`LOOKBACK_S`
        seconds, in the order they first asked. One store query."""
        return await self._store.handoffs(since=self._clock() - LOOKBACK_S)

    async def waiting(self) -> list[SessionKey]:
        """Every conversation still waiting for an agent (the sweeper expires those that
        waited too long)."""
        return [
            SessionKey.parse(h.session.key)
            for h in await self.handed_off()
            if h.session.status == Status.HANDOFF_REQUESTED
        ]

    async def records(self, key: SessionKey, *, kind: str | None = None) -> list[Record]:
        """The user's records in order, all or those of one ``kind``."""
        return await self._store.records(session=str(key), kind=kind)

    async def transcript(
        self, key: SessionKey, *, conversation: int | None = None, notes: bool = False
    ) -> list[dict[str, Any]]:
        """What was said with the user (:func:`botkit.records.transcript`), in every
        conversation or in ``conversation`` only; ``notes`` adds the agents' notes."""
        records = await self._store.records(session=str(key))
        if conversation is not None:
            records = [r for r in records if r.conversation == conversation]
        return transcript(records, notes=notes)

    def masked(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """``slots`` with the values of sensitive slots masked, as agents may see them."""
        return self._engine().masked(slots)

    def masked_profile(self, profile: Mapping[str, Any]) -> Mapping[str, Any]:
        """``profile`` with the values of sensitive attributes masked, as agents may see it."""
        return self._engine().masked_profile(profile)
