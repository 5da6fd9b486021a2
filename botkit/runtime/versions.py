"""The versions of the bot a runtime serves: the live one, and earlier ones finishing theirs.

A conversation runs on the version it started on until it ends; a new one starts on the live
version. An earlier version keeps serving its conversations for the live version's
``keep_versions`` after it was replaced; then it is *retired*, and its conversations are handed
to the live engine, which brings them over (``botkit.engine.migrating``). So is a conversation
whose version this process cannot compile (a store from before versions were kept, sources
that no longer compile).

The store keeps every version that went live, with its flow files (:class:`BotVersion`): a
worker that restarts, or another worker, compiles an earlier version from there the first time
one of its conversations comes back, and keeps the engine. A reload elsewhere reaches this
process as a call of :meth:`Versions.sync`, which reads the store again.

An earlier version is compiled once however many of its conversations come back together
(after a restart, all of them may): the turns that need it meanwhile wait for that one compile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from botkit.engine import Engine, Session
from botkit.engine.session import Status, ended_by_silence
from botkit.errors import BotkitError, StorageError
from botkit.flow import Bot, compile_texts
from botkit.storage import Store
from botkit.storage.base import BotVersion

__all__ = ["Versions"]

log = logging.getLogger("botkit.runtime")


class Versions:
    """The live engine and the earlier ones. ``build`` makes an engine for a compiled bot
    (with the validators and classifier the live one has)."""

    def __init__(self, live: Engine, build: Callable[[Bot], Engine]) -> None:
        self.live = live
        self.build = build
        self._engines: dict[str, Engine] = {live.bot.version: live}
        self._replaced: dict[str, float] = {}  # version → when another went live after it
        self._kept: dict[str, BotVersion] = {}  # what the store keeps, as last read
        self._unusable: set[str] = set()  # versions that cannot be compiled here
        # One compile per version at a time: a big bot takes a second or two, in a thread.
        self._compiling: dict[str, asyncio.Task[Engine | None]] = {}

    @property
    def version(self) -> str:
        return self.live.bot.version

    @property
    def bots(self) -> list[Bot]:
        """The compiled versions held here: the live one first, then the earlier ones still
        serving their conversations (compiled when one of them came back)."""
        return [self.live.bot, *(e.bot for v, e in self._engines.items() if v != self.version)]

    def retired(self, version: str, now: float) -> bool:
        replaced = self._replaced.get(version)
        return replaced is not None and now >= replaced + self.live.bot.keep_versions

    def install(self, engine: Engine, at: float) -> None:
        """Make ``engine`` the live one from ``at``; the one live before is replaced then."""
        previous = self.live.bot.version
        version = engine.bot.version
        if version == previous:
            return
        self._replaced.setdefault(previous, at)
        self._replaced.pop(version, None)
        self._engines[version] = engine
        self.live = engine
        log.info("version live", extra={"version": version, "previous": previous})

    async def engine_for(
        self, session: Session, now: float, store: Store, message: bool
    ) -> Engine:
        """The engine a turn of ``session`` runs on: its conversation's own version while that
        serves, else the live one (which brings the conversation over). A user's message
        after the silence that ends a conversation starts the next one on the live version."""
        own = session.bot_version
        if own == self.live.bot.version or session.status == Status.CLOSED:
            return self.live
        if session.conversation == 0 or self.retired(own, now):
            return self.live
        engine = self._engines.get(own) or await self._compile(own, store)
        if engine is None:
            return self.live
        if message and ended_by_silence(session, now, engine.bot.inactivity_timeout):
            return self.live
        return engine

    async def sync(self, store: Store, kept: list[BotVersion] | None = None) -> bool:
        """Read the versions the store keeps (``kept``: the caller has just read them); when
        another is live there (another worker reloaded), compile it and make it live here.
        Returns whether the live one changed."""
        if kept is None:
            kept = await store.versions()
        self._kept = {v.version: v for v in kept}
        for v in kept:
            if v.replaced_at is not None:
                self._replaced[v.version] = v.replaced_at
        live = next((v for v in kept if v.replaced_at is None), None)
        if live is None or live.version == self.live.bot.version:
            return False
        engine = self._engines.get(live.version) or await self._compile(live.version, store)
        if engine is None:
            return False
        self.install(engine, live.live_at)  # which takes live.version out of _replaced
        return True

    def forget_retired(self, now: float) -> None:
        """Let go of the engines of retired versions (their conversations move on)."""
        for version in [v for v in self._engines if v != self.version and self.retired(v, now)]:
            del self._engines[version]

    async def _compile(self, version: str, store: Store) -> Engine | None:
        """The engine of an earlier ``version``, compiled from the flow files the store keeps,
        once: turns that need it while it compiles wait for the same compile, and a version
        that cannot be had is remembered as such."""
        if version in self._unusable or not version:
            return None
        task = self._compiling.get(version)
        if task is None:
            task = asyncio.create_task(self._compile_once(version, store))
            self._compiling[version] = task
            task.add_done_callback(lambda _: self._compiling.pop(version, None))
        # shielded: a turn that gives up waiting must not cancel the compile others wait for
        return await asyncio.shield(task)

    async def _compile_once(self, version: str, store: Store) -> Engine | None:
        kept = self._kept.get(version)
        if kept is None:
            try:
                self._kept = {v.version: v for v in await store.versions()}
            except StorageError:
                log.warning("could not read the bot's versions", exc_info=True)
                return None
            kept = self._kept.get(version)
        engine = await self._engine_of(kept.sources) if kept is not None else None
        if kept is None or engine is None or engine.bot.version != version:
            log.warning(
                "version not available; its conversations move on", extra={"version": version}
            )
            self._unusable.add(version)
            return None
        if kept.replaced_at is not None:
            self._replaced.setdefault(version, kept.replaced_at)
        self._engines[version] = engine
        return engine

    async def _engine_of(self, sources: Mapping[str, str]) -> Engine | None:
        # In a thread: a big bot takes a second or two to compile, and turns go on meanwhile.
        return await asyncio.to_thread(self._build_from, dict(sources))

    def _build_from(self, sources: dict[str, str]) -> Engine | None:
        result = compile_texts(sources.items())
        if result.bot is None:
            return None
        try:
            return self.build(result.bot)
        except BotkitError:  # a validator that version needs is not registered any more
            return None
