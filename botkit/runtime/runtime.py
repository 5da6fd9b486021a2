"""The runtime: the async edge around the engine.

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
  When the store does not answer at all, the reply says so (``unavailable``): the channels
  answer 503 with ``Retry-After`` and the user's client may send the message again.
* Time comes from the injected clock.
* The user's profile takes what a channel sends with each message (Kakao's user properties)
  and what an operator sets, merged by :func:`merge_profile`, which keeps it bounded: a channel
  that sends new fields with every message does not make the session grow.
* The last committed snapshot of recently active sessions is kept in memory (bounded, least
  recently used first out), so a turn usually costs one write and no read. Not with a shared
  store: another worker may have moved the user on, so each turn reads the snapshot afresh
  under the lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from botkit.effects import Call, Effect, Say, as_text, say_from_data, say_to_data
from botkit.engine import Engine, Session, Turn
from botkit.errors import ConfigurationError, ConflictError, StepRefused, StorageError
from botkit.events import AgentRelease, Event, UserMessage
from botkit.records import Record
from botkit.runtime.actions import ActionContext, ActionFunction, run_action
from botkit.storage import SharedStore, Store

__all__ = ["Reply", "Runtime", "merge_profile"]

log = logging.getLogger("botkit.runtime")
MAX_ACTIONS_PER_TURN = 8
MAX_KEPT = 10  # bubbles kept for a user's next message (Kakao shows 3 per answer anyway)
# The profile is stored with the session and read on every turn. Kakao sends about five
# properties; a shop sets a few more (grade, name). Past these caps a field is left out.
MAX_PROFILE_FIELDS = 50
MAX_PROFILE_NAME_CHARS = 64
MAX_PROFILE_TEXT_CHARS = 256


def merge_profile(profile: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``profile`` with ``fields`` set, the latest value of each winning, and bounded whatever
    is sent: a field whose name or text is too long is left out (cut, a key or an id would be a
    wrong one), and past :data:`MAX_PROFILE_FIELDS` the fields set first, and not sent again
    now, go first."""
    fresh = {
        name: value
        for name, value in fields.items()
        if len(name) <= MAX_PROFILE_NAME_CHARS
        and not (isinstance(value, str) and len(value) > MAX_PROFILE_TEXT_CHARS)
    }
    if len(fresh) > MAX_PROFILE_FIELDS:
        fresh = dict(list(fresh.items())[:MAX_PROFILE_FIELDS])
    merged = {**(profile or {}), **fresh}
    excess = len(merged) - MAX_PROFILE_FIELDS
    if excess > 0:
        for name in [name for name in merged if name not in fresh][:excess]:
            del merged[name]
    return merged


@dataclass(slots=True)
class Reply:
    """What to send back for one turn (the turn is already committed)."""

    effects: list[Effect] = field(default_factory=list)
    state: str = ""
    status: str = ""
    slots: dict[str, Any] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    ok: bool = True  # False when the turn failed and the error message is all there is
    # The store did not answer: nothing of the turn was kept, and trying again later may work
    # (channels answer 503 with Retry-After). Implies ``ok`` False.
    unavailable: bool = False
    seconds: float = 0.0  # how long the turn took, lock waits and actions included

    @property
    def texts(self) -> list[str]:
        return [as_text(e) for e in self.effects if isinstance(e, Say)]

    def kept(self) -> Reply:
        """This reply, or :class:`~botkit.storage.StorageError` when the store did not answer
        and nothing of the turn was kept (for callers that answer "try again" on that)."""
        if self.unavailable:
            raise StorageError("the store did not answer; nothing of the turn was kept")
        return self


class _Locks:
    """asyncio locks per session key, dropped when unused."""

    def __init__(self) -> None:
        self._locks: dict[str, _KeyLock] = {}

    def hold(self, key: str) -> _KeyLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = _KeyLock(self._locks, key)
        return lock

    def __len__(self) -> int:
        return len(self._locks)


class _KeyLock:
    """One key's lock; it removes itself from the table when its last user leaves.

    A plain class rather than ``@asynccontextmanager``: every turn enters one, and the
    generator-based manager costs more than the lock itself.
    """

    __slots__ = ("_key", "_lock", "_table", "_users")

    def __init__(self, table: dict[str, _KeyLock], key: str) -> None:
        self._table = table
        self._key = key
        self._lock = asyncio.Lock()
        self._users = 0

    async def __aenter__(self) -> None:
        self._users += 1
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while waiting
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        self._users -= 1
        if self._users == 0:
            del self._table[self._key]


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
        self.engine = engine
        self.store = store
        self.functions = dict(functions or {})
        self.stubs = dict(stubs or {})
        unknown = sorted(set(self.stubs) - set(engine.bot.actions))
        if unknown:
            raise ConfigurationError(
                "error[BK503]: stubs for actions the flows do not declare: "
                + ", ".join(f"'{u}'" for u in unknown)
            )
        self.env = dict(env or {})
        self.clock = clock
        self.retries = retries
        self._http = http
        self._own_http = http is None
        self.locks = _Locks()
        # Several workers share this store: turns take its lock, and nothing is cached.
        self._shared = store if isinstance(store, SharedStore) else None
        self.cache_size = 0 if self._shared is not None else cache_size
        # Called with (channel, user, reply) after each committed turn: the server opens
        # handed-off conversations in a helpdesk this way. Must not block; errors are logged.
        self.observers: list[Callable[[str, str, Reply], None]] = []
        self._cache: OrderedDict[str, Session] = OrderedDict()
        missing = sorted(
            a.function or a.name
            for a in engine.bot.actions.values()
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

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            # One shared client: connection pooling across all sessions' HTTP actions.
            self._http = httpx.AsyncClient(timeout=None, follow_redirects=False)
        return self._http

    @property
    def cached_sessions(self) -> int:
        """Sessions whose last snapshot this process keeps in memory (its active users)."""
        return len(self._cache)

    def _client(self) -> httpx.AsyncClient:
        return self.http

    async def aclose(self) -> None:
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- turns ----------------------------------------------------------------------------

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
        """Handle one inbound message and return the committed reply. ``with_kept``: the
        bubbles kept for this user (:meth:`keep_until_next`) come first in the reply, and
        leave the session in the same commit, so they are said once."""
        key = f"{channel}:{user}"

        def event(session: Session) -> Event:
            if profile:
                session.profile = merge_profile(session.profile, profile)
            if locale and locale in self.engine.bot.locales:
                session.locale = locale
            return UserMessage(text, self.clock(), payload)

        def step(session: Session) -> Turn:
            kept = None
            if with_kept:
                kept, session.outbox = session.outbox, None
            turn = self.engine.handle(session, event(session))
            if kept:
                turn.effects[:0] = [say_from_data(data) for data in kept]
            return turn

        return await self._turn(key, user, channel, step)

    async def keep_until_next(self, channel: str, user: str, effects: Sequence[Effect]) -> Reply:
        """Keep what ``effects`` say for the user's next message, in their session (on
        channels that can only answer: an agent's words, a reply that came too late). At
        most the last :data:`MAX_KEPT` bubbles are kept."""
        said = [say_to_data(e) for e in effects if isinstance(e, Say)]
        if not said:
            return Reply()

        def keep(session: Session) -> Turn:
            session.outbox = [*(session.outbox or ()), *said][-MAX_KEPT:]
            return Turn()

        return await self._turn(f"{channel}:{user}", user, channel, keep, observe=False)

    async def release(
        self, channel: str, user: str, *, target: str | None = None, close: bool = False
    ) -> Reply:
        """An agent hands the user back to the bot (at ``target``) or closes the conversation."""
        if target is not None:
            self.engine.target(target)  # an unknown state is refused before anything runs
        return await self._turn(
            f"{channel}:{user}",
            user,
            channel,
            lambda s: self.engine.handle(s, AgentRelease(self.clock(), target, close)),
        )

    async def agent_message(
        self, channel: str, user: str, text: str, *, agent: str = "agent"
    ) -> Reply:
        """A person writes to the user during a handoff (the first message claims it).

        Raises :class:`~botkit.engine.NotWithAgent` when the conversation is not handed off.
        """
        return await self._turn(
            f"{channel}:{user}",
            user,
            channel,
            lambda s: self.engine.agent_message(s, text, agent, self.clock()),
        )

    async def claim(self, channel: str, user: str, *, agent: str) -> Reply:
        """An agent takes the handed-off conversation. Of agents claiming at once exactly one
        wins: the others get :class:`~botkit.engine.StepRefused` (turns of one user run one at
        a time, and the store's compare-and-set guards against other workers)."""
        return await self._turn(
            f"{channel}:{user}",
            user,
            channel,
            lambda s: self.engine.claim(s, agent, self.clock()),
        )

    async def note(self, channel: str, user: str, text: str, *, agent: str) -> Reply:
        """An agent's note on the conversation (recorded, not shown to the user)."""
        return await self._turn(
            f"{channel}:{user}",
            user,
            channel,
            lambda s: self.engine.note(s, text, agent, self.clock()),
        )

    async def expire(self, channel: str, user: str) -> Reply:
        """Move on a handoff that no agent took in time (for a sweeper; see Engine.expire)."""
        return await self._turn(
            f"{channel}:{user}", user, channel, lambda s: self.engine.expire(s, self.clock())
        )

    async def goto(self, channel: str, user: str, state: str) -> Reply:
        """Put the user at ``state`` ("flow.state") and run it, as if a transition led there.

        Raises :class:`~botkit.engine.StepRefused` for a state that does not exist.
        """
        target = self.engine.target(state)
        return await self._turn(
            f"{channel}:{user}",
            user,
            channel,
            lambda s: self.engine.goto(s, target, self.clock()),
        )

    async def reset(self, channel: str, user: str) -> Reply:
        """End the user's conversation; their next message starts a new one."""
        return await self._turn(
            f"{channel}:{user}", user, channel, lambda s: self.engine.reset(s, self.clock())
        )

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

        def change(session: Session) -> Turn:
            if variant is not None:
                self.engine.force_variant(session, variant)
            if profile:
                session.profile = merge_profile(session.profile, profile)
            return Turn()

        return await self._turn(f"{channel}:{user}", user, channel, change)

    async def session(self, channel: str, user: str) -> Session | None:
        """A copy of the user's committed session (for display; changing it changes nothing)."""
        key = f"{channel}:{user}"
        async with self.locks.hold(key):
            cached = self._cache.get(key)
            if cached is not None:
                return cached.copy()
            return await self.store.load(key)

    async def _turn(
        self,
        key: str,
        user: str,
        channel: str,
        step: Callable[[Session], Turn],
        *,
        observe: bool = True,
    ) -> Reply:
        started = time.perf_counter()
        async with self.locks.hold(key):
            if self._shared is None:
                return await self._locked_turn(key, user, channel, step, started, observe)
            # Entered by hand: failing to take the lock means the store is unavailable, while
            # failures inside the turn are the turn's to answer.
            try:
                lock = self._shared.lock(key)
                await lock.__aenter__()
            except StorageError:
                log.exception("locking session %s failed", key)
                return self._failed(unavailable=True)
            try:
                return await self._locked_turn(key, user, channel, step, started, observe)
            finally:
                await lock.__aexit__(None, None, None)  # never raises (SharedStore.lock)

    async def _locked_turn(
        self,
        key: str,
        user: str,
        channel: str,
        step: Callable[[Session], Turn],
        started: float,
        observe: bool,
    ) -> Reply:
        for _ in range(self.retries):
            # The cached snapshot leaves the cache while its turn runs (we hold its lock, so
            # nobody else wants it) and comes back only when the turn is committed: a turn
            # that fails half-way cannot leave a half-changed snapshot behind, and no copy
            # is needed.
            loaded: Session | None = self._cache.pop(key, None)
            if loaded is None:
                try:
                    loaded = await self.store.load(key)
                except StorageError:
                    log.exception("loading session %s failed", key)
                    return self._failed(unavailable=True)
                except Exception:  # a store's bug must not reach the user as a traceback
                    log.exception("loading session %s failed unexpectedly", key)
                    return self._failed()
            session = loaded or self.engine.new_session(key, user, channel)
            expected = session.version
            try:
                effects, records, called = await self._run(session, step)
            except StepRefused:
                raise  # the operator's mistake, theirs to show; nothing was committed
            except Exception:  # a bug must not reach the user as a traceback
                log.exception("turn of %s failed", key)
                return self._failed()
            try:
                session.version = await self.store.commit(
                    session, records, expected_version=expected
                )
            except ConflictError:
                if called:
                    log.warning("conflict after an action for %s; not repeating it", key)
                    return self._failed()
                continue  # another worker went first: run the turn on the fresh snapshot
            except StorageError:
                log.exception("commit of %s failed", key)
                return self._failed(unavailable=True)
            except Exception:  # a store's bug: nothing is known to be kept
                log.exception("commit of %s failed unexpectedly", key)
                return self._failed()
            self._remember(key, session)
            reply = Reply(
                effects,
                session.state,
                str(session.status),
                dict(session.slots),
                records,
                seconds=time.perf_counter() - started,
            )
            for observer in self.observers if observe else ():
                try:
                    observer(channel, user, reply)
                except Exception:  # an observer's bug must not fail a committed turn
                    log.exception("an observer of %s failed", key)
            return reply
        return self._failed()

    async def _run(
        self, session: Session, step: Callable[[Session], Turn]
    ) -> tuple[list[Effect], list[Record], bool]:
        turn: Turn = step(session)
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
            action = self.engine.bot.actions[call.action]
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
            more = self.engine.handle(session, result)
            records.extend(more.records)
            pending = list(more.effects)
        return effects, records, called

    def _remember(self, key: str, session: Session) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = session  # (re)inserted last: the most recently used
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def forget(self, key: str) -> None:
        """Drop a cached snapshot (after changing the session outside this runtime)."""
        self._cache.pop(key, None)

    def _failed(self, *, unavailable: bool = False) -> Reply:
        return Reply(list(self.engine.error_effects()), ok=False, unavailable=unavailable)
