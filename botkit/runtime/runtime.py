"""The runtime: the async edge around the engine.

Everything that changes a conversation comes in through one door, :meth:`Runtime.apply`
(``key``, an :data:`~botkit.events.Inbound` event): a user's message as a channel delivers it,
or an operator's step (claim, agent's message, note, release, expire, reset, goto, update).
Reads go through :attr:`Runtime.conversations` (:mod:`botkit.runtime.conversations`).

One turn: take the session's lock → load its snapshot → let the engine handle the message →
run the actions it asks for (each within its deadline) and feed their results back → commit
the snapshot and all of the turn's records in ONE transaction → only then return the reply.

* One turn per session at a time: an in-process lock per session key (removed when nobody
  holds or waits for it, so the table never grows with the number of users); with a store
  that several workers share (:class:`~botkit.storage.SharedStore`), the store's lock across
  workers as well, so a user's messages that reach two workers are handled one after the
  other, in the order they reach the store's lock (for messages a few milliseconds apart on
  different workers, not always the order they arrived). Under both, the store's
  compare-and-set on the snapshot's version: a conflict (someone wrote without the lock)
  re-runs the turn on the fresh snapshot, unless the turn already ran an action, whose side
  effects must not be repeated: then the user gets the flow's error message and nothing of
  the turn is kept.
* A commit that fails keeps nothing of the turn, and the user gets the flow's error message.
  When the store does not answer at all, the reply says so (``Failure.UNAVAILABLE``): the
  channels answer 503 with ``Retry-After`` and the user's client may send the message again.
* Time comes from the injected clock, read when the turn runs (under the lock).
* The user's profile takes what a channel sends with each message (Kakao's user properties)
  and what an operator sets, merged by :func:`~.steps.merge_profile`, which keeps it bounded:
  a channel that sends new fields with every message does not make the session grow.
* The last committed snapshot of recently active sessions is kept in memory (bounded, least
  recently used first out), so a turn usually costs one write and no read. Not with a shared
  store: another worker may have moved the user on, so each turn reads the snapshot afresh
  under the lock.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from botkit.effects import Call, Effect, Say
from botkit.engine import Engine, Session, Turn
from botkit.errors import (
    BotkitError,
    ConfigurationError,
    ConflictError,
    StepRefused,
    StorageError,
)
from botkit.events import (
    AgentMessage,
    ChannelMessage,
    Claim,
    Expire,
    Goto,
    Inbound,
    Keep,
    Note,
    Release,
    Reset,
    Update,
)
from botkit.flow import Bot
from botkit.keys import SessionKey
from botkit.records import BusinessEvent, Record
from botkit.runtime.actions import HTTP_LIMITS, ActionContext, ActionFunction, run_action
from botkit.runtime.consent import WITHDRAWN, withdraw
from botkit.runtime.conversations import Conversations
from botkit.runtime.locks import KeyLocks
from botkit.runtime.membership import CHANNELS, look_up
from botkit.runtime.reply import Failure, Reply
from botkit.runtime.steps import Step, step_for
from botkit.runtime.versions import Versions
from botkit.storage import SharedStore, Store

__all__ = ["Runtime"]

log = logging.getLogger("botkit.runtime")
MAX_ACTIONS_PER_TURN = 8


class _Failed(BotkitError):
    """A turn that keeps nothing, and why: raised inside a turn, answered by its reply."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure)
        self.failure = failure


class Runtime:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        *,
        functions: Mapping[str, ActionFunction] | None = None,
        http: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        retries: int = 3,
        cache_size: int = 10_000,
        stubs: Mapping[str, ActionFunction] | None = None,
    ) -> None:
        self._versions = Versions(
            engine,
            lambda bot: Engine(bot, validators=engine.validators, classifier=engine.classifier),
        )
        self._store = store
        self.functions = dict(functions or {})
        self.stubs = dict(stubs or {})
        unknown = sorted(set(self.stubs) - set(engine.bot.actions))
        if unknown:
            raise ConfigurationError(
                "error[BK503]: stubs for actions the flows do not declare: "
                + ", ".join(f"'{u}'" for u in unknown)
            )
        self.env = dict(env or {})
        self.clock = clock  # an attribute: tests and fixtures set the time by replacing it
        self.retries = retries
        self._http = http
        self._own_http = http is None
        self.locks = KeyLocks()
        # Several workers share this store: turns take its lock, and nothing is cached.
        self._shared = store if isinstance(store, SharedStore) else None
        self.cache_size = 0 if self._shared is not None else cache_size
        # Called with (channel, user, reply) after each committed turn: the server opens
        # handed-off conversations in a helpdesk this way. Must not block; errors are logged.
        self.observers: list[Callable[[str, str, Reply], None]] = []
        # every channel this runtime has had a message on: where a user's sessions may be
        self._channels: set[str] = set(CHANNELS)
        self._cache: OrderedDict[str, Session] = OrderedDict()
        self.conversations = Conversations(
            store, lambda: self._versions.live, self._snapshot, self._now
        )
        """The read side: the handed-off queue, transcripts, sessions."""
        self._check_functions(engine.bot)

    def _check_functions(self, bot: Bot) -> None:
        """Every Python function ``bot``'s actions call is registered (or stubbed)."""
        missing = sorted(
            a.function or a.name
            for a in bot.actions.values()
            if a.http is None
            and (a.function or a.name) not in self.functions
            and a.name not in self.stubs
        )
        if missing:
            raise ConfigurationError(
                "error[BK502]: the flows call functions that are not registered: "
                + ", ".join(f"'{m}'" for m in missing)
                + " (register them with bot.action(name))"
            )

    # -- versions ------------------------------------------------------------------------------

    @property
    def bot(self) -> Bot:
        """The live version of the bot (a reload replaces it)."""
        return self._versions.live.bot

    @property
    def bots(self) -> list[Bot]:
        """Every version this process serves conversations on: the live one first, then the
        earlier ones it holds (what a link the bot showed may come from: server/links.py)."""
        return self._versions.bots

    async def go_live(self, bot: Bot, sources: Mapping[str, str]) -> bool:
        """Make ``bot`` (compiled from ``sources``) the live version, here and in the store, from
        now on: new conversations start on it, running ones finish on theirs. Returns whether
        it changed anything. Raises ConfigurationError when this process cannot run it (a
        function or validator it needs is not registered) and StorageError when the store
        cannot keep it: either way the version live before stays live."""
        self._check_functions(bot)
        engine = (
            self._versions.live
            if bot.version == self._versions.version
            else self._versions.build(bot)
        )
        now = self._now()
        kept = await self._store.versions()
        live = next((v.version for v in kept if v.replaced_at is None), None)
        changed = live != bot.version or bot.version != self._versions.version
        if live != bot.version:
            await self._store.add_version(bot.version, sources, now)
            kept = await self._store.versions()  # as written: the one live before is replaced
        self._versions.install(engine, now)
        await self._versions.sync(self._store, kept)  # learn when earlier versions were replaced
        self._versions.forget_retired(now)
        return changed

    async def sync_versions(self) -> bool:
        """Take the live version from the store (another worker made it live): True if it
        changed here."""
        changed = await self._versions.sync(self._store)
        self._versions.forget_retired(self._now())
        return changed

    # The engine and the store are the runtime's own: changes go through apply(), reads through
    # conversations, and the shop's business events through add_events().

    async def add_events(self, events: Sequence[BusinessEvent]) -> int:
        """Keep the shop's business events (each ``id`` once); how many were new."""
        return await self._store.add_events(events)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            # One shared client: connection pooling across all sessions' HTTP actions.
            self._http = httpx.AsyncClient(
                timeout=None, follow_redirects=False, limits=HTTP_LIMITS
            )
        return self._http

    @property
    def cached_sessions(self) -> int:
        """Sessions whose last snapshot this process keeps in memory (its active users)."""
        return len(self._cache)

    def _client(self) -> httpx.AsyncClient:
        return self.http

    def _now(self) -> float:
        return self.clock()  # read at each call: whoever replaced ``clock`` is heard

    async def aclose(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- the one door ------------------------------------------------------------------------

    async def apply(self, key: SessionKey, event: Inbound) -> Reply:
        """Apply ``event`` to ``key``'s conversation as one turn, and return the reply once the
        turn is committed: a user's message, or an operator's step.

        Raises :class:`~botkit.errors.StepRefused` (and its :class:`~botkit.errors.NotWithAgent`)
        for a step that does not apply: nothing was committed. Any other failure is in the
        reply (:attr:`Reply.failure`), never raised. A :class:`Keep` that says nothing is no
        turn, and observers are not told of the words kept for later.
        """
        if isinstance(event, Keep) and not any(isinstance(e, Say) for e in event.effects):
            return Reply()  # nothing to keep (only what the effects say is kept)
        step = step_for(self._versions.live, event, self._now)
        message = isinstance(event, ChannelMessage)
        if message:
            self._channels.add(key.channel)
        return await self._turn(key, step, message, observe=not isinstance(event, Keep))

    # -- the verbs, each one event through the door ------------------------------------------

    async def handle(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        payload: str | None = None,
        profile: Mapping[str, Any] | None = None,
        locale: str | None = None,
        with_kept: bool = False,
    ) -> Reply:
        """Handle one inbound message (:class:`~botkit.events.ChannelMessage`)."""
        message = ChannelMessage(text, payload, profile, locale, with_kept)
        return await self.apply(SessionKey(channel, user), message)

    async def keep_until_next(self, channel: str, user: str, effects: Sequence[Effect]) -> Reply:
        """Keep what ``effects`` say for the user's next message (:class:`~botkit.events.Keep`;
        at most the last :data:`~.steps.MAX_KEPT` bubbles are kept)."""
        return await self.apply(SessionKey(channel, user), Keep(tuple(effects)))

    async def release(
        self, channel: str, user: str, *, target: str | None = None, close: bool = False
    ) -> Reply:
        """An agent hands the user back to the bot (at ``target``) or closes the conversation."""
        return await self.apply(SessionKey(channel, user), Release(target, close))

    async def agent_message(
        self, channel: str, user: str, text: str, *, agent: str = "agent"
    ) -> Reply:
        """A person writes to the user during a handoff (the first message claims it).

        Raises :class:`~botkit.engine.NotWithAgent` when the conversation is not handed off.
        """
        return await self.apply(SessionKey(channel, user), AgentMessage(text, agent))

    async def claim(self, channel: str, user: str, *, agent: str) -> Reply:
        """An agent takes the handed-off conversation. Of agents claiming at once exactly one
        wins: the others get :class:`~botkit.engine.StepRefused` (turns of one user run one at
        a time, and the store's compare-and-set guards against other workers)."""
        return await self.apply(SessionKey(channel, user), Claim(agent))

    async def note(self, channel: str, user: str, text: str, *, agent: str) -> Reply:
        """An agent's note on the conversation (recorded, not shown to the user)."""
        return await self.apply(SessionKey(channel, user), Note(text, agent))

    async def expire(self, channel: str, user: str, *, keep: bool = False) -> Reply:
        """Move on a handoff that no agent took in time (for a sweeper; see Engine.expire);
        ``keep``: keep what is said for the user's next message (events.Expire)."""
        return await self.apply(SessionKey(channel, user), Expire(keep))

    async def goto(self, channel: str, user: str, state: str) -> Reply:
        """Put the user at ``state`` ("flow.state") and run it, as if a transition led there.

        Raises :class:`~botkit.engine.StepRefused` for a state that does not exist.
        """
        return await self.apply(SessionKey(channel, user), Goto(state))

    async def reset(self, channel: str, user: str) -> Reply:
        """End the user's conversation; their next message starts a new one."""
        return await self.apply(SessionKey(channel, user), Reset())

    async def update(
        self,
        channel: str,
        user: str,
        *,
        profile: Mapping[str, Any] | None = None,
        variant: str | None = None,
    ) -> Reply:
        """Change the user's profile (keys merged) or put them in ``variant`` of every
        experiment that has it. Raises :class:`~botkit.engine.StepRefused` for an unknown
        variant."""
        return await self.apply(SessionKey(channel, user), Update(profile, variant))

    async def session(self, channel: str, user: str) -> Session | None:
        """A copy of the user's committed session (``conversations.session``)."""
        return await self._snapshot(SessionKey(channel, user))

    async def _snapshot(self, key: SessionKey) -> Session | None:
        name = str(key)
        async with self.locks.hold(name):
            cached = self._cache.get(name)
            if cached is not None:
                return cached.copy()
            return await self._store.load(name)

    # -- one turn ----------------------------------------------------------------------------

    async def _turn(
        self, key: SessionKey, step: Step, message: bool, *, observe: bool = True
    ) -> Reply:
        started = time.perf_counter()
        name = str(key)  # how the stores, the locks and the cache name the session
        async with self.locks.hold(name):
            if self._shared is None:
                return await self._locked_turn(key, name, step, message, started, observe)
            # Entered by hand: failing to take the lock means the store is unavailable, while
            # failures inside the turn are the turn's to answer.
            try:
                lock = self._shared.lock(name)
                await lock.__aenter__()
            except StorageError:
                log.exception("locking session %s failed", name)
                return self._failed(Failure.UNAVAILABLE)
            try:
                return await self._locked_turn(key, name, step, message, started, observe)
            finally:
                await lock.__aexit__(None, None, None)  # never raises (SharedStore.lock)

    async def _locked_turn(
        self, key: SessionKey, name: str, step: Step, message: bool, started: float, observe: bool
    ) -> Reply:
        try:
            for _ in range(self.retries):
                session = await self._load(key, name)
                expected = session.version
                try:
                    # The version this turn runs on, chosen once: a reload while it runs
                    # changes the next turn, not this one. Nearly every turn is on the live one.
                    engine = self._versions.live
                    if session.bot_version != engine.bot.version:
                        engine = await self._versions.engine_for(
                            session, self._now(), self._store, message
                        )
                    if message and engine.bot.segments:  # as a conversation starts
                        await look_up(
                            self._store, engine.bot, session, self._now(), self._channels
                        )
                    effects, records, called = await self._run(engine, session, step)
                except StepRefused:
                    raise  # the operator's mistake, theirs to show; nothing was committed
                except Exception:  # a bug must not reach the user as a traceback
                    log.exception("turn of %s failed", name)
                    return self._failed()
                if await self._commit(name, session, records, expected, called):
                    self._remember(name, session)
                    reply = Reply(
                        effects,
                        session.state,
                        str(session.status),
                        dict(session.slots),
                        records,
                        seconds=time.perf_counter() - started,
                    )
                    if observe:
                        self._tell(key, reply)
                    if any(r.kind == WITHDRAWN for r in records):
                        await withdraw(self._store, key, records)
                    return reply
                # a conflict: another worker went first, run the turn on the fresh snapshot
        except _Failed as failed:
            return self._failed(failed.failure)
        return self._failed()

    async def _load(self, key: SessionKey, name: str) -> Session:
        """The session as the turn starts from it (a new one for a new user).

        The cached snapshot leaves the cache while its turn runs (we hold its lock, so nobody
        else wants it) and comes back only when the turn is committed: a turn that fails
        half-way cannot leave a half-changed snapshot behind, and no copy is needed.
        """
        loaded: Session | None = self._cache.pop(name, None)
        if loaded is None:
            try:
                loaded = await self._store.load(name)
            except StorageError:
                log.exception("loading session %s failed", name)
                raise _Failed(Failure.UNAVAILABLE) from None
            except Exception:  # a store's bug must not reach the user as a traceback
                log.exception("loading session %s failed unexpectedly", name)
                raise _Failed(Failure.ERROR) from None
        return loaded or self._versions.live.new_session(name, key.user, key.channel)

    async def _commit(
        self, name: str, session: Session, records: list[Record], expected: int, called: bool
    ) -> bool:
        """Commit the turn: True once kept, False on a conflict worth running the turn again."""
        try:
            session.version = await self._store.commit(session, records, expected_version=expected)
        except ConflictError:
            if called:
                log.warning("conflict after an action for %s; not repeating it", name)
                raise _Failed(Failure.ERROR) from None
            return False
        except StorageError:
            log.exception("commit of %s failed", name)
            raise _Failed(Failure.UNAVAILABLE) from None
        except Exception:  # a store's bug: nothing is known to be kept
            log.exception("commit of %s failed unexpectedly", name)
            raise _Failed(Failure.ERROR) from None
        return True

    def _tell(self, key: SessionKey, reply: Reply) -> None:
        for observer in self.observers:
            try:
                observer(key.channel, key.user, reply)
            except Exception:  # an observer's bug must not fail a committed turn
                log.exception("an observer of %s failed", key)

    async def _run(
        self, engine: Engine, session: Session, step: Step
    ) -> tuple[list[Effect], list[Record], bool]:
        turn: Turn = step(engine, session)
        effects: list[Effect] = []
        records = list(turn.records)
        called = False
        pending = list(turn.effects)
        for _ in range(MAX_ACTIONS_PER_TURN + 1):
            call = next((e for e in pending if isinstance(e, Call)), None)
            effects.extend(e for e in pending if not isinstance(e, Call))
            if call is None:
                break
            called = True
            action = engine.bot.actions[call.action]
            ctx = ActionContext(
                call.action, session.slots, session.profile or {}, session.user, session.channel
            )
            result = await run_action(
                action,
                ctx,
                functions=self.functions,
                client=self._client,
                env=self.env,
                at=self.clock,
                stubs=self.stubs,
            )
            more = engine.handle(session, result)
            records.extend(more.records)
            pending = list(more.effects)
        return effects, records, called

    def _remember(self, key: str, session: Session) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = session  # (re)inserted last: the most recently used
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def forget(self, key: SessionKey) -> None:
        """Drop a cached snapshot (after changing the session outside this runtime)."""
        self._cache.pop(str(key), None)

    def _failed(self, failure: Failure = Failure.ERROR) -> Reply:
        return Reply(list(self._versions.live.error_effects()), failure=failure)
