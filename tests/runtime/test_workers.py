"""Two workers, one PostgreSQL: the same user's messages reach both, and nothing is lost.

Each "worker" is a runtime with a PostgresStore of its own over the same schema, as two
``botkit serve`` processes would have. Every message makes the bot call an action, whose side
effects must happen once per message: a turn may not simply be re-run after a conflict.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import botkit
from botkit.runtime import Runtime
from botkit.storage import SharedStore, Store
from botkit.storage.postgres import PostgresStore
from tests.postgres import POSTGRES_MARKS, postgres_url

pytestmark = POSTGRES_MARKS

TALLY = """
flow: tally
start: listen
actions:
  note:
    function: note
states:
  listen:
    say: "말씀하세요"
    on:
      - any: true
        to: noted
  noted:
    call: note
    on:
      - result: ok
        to: listen
"""


class Workers:
    """Two runtimes on two stores over one schema, and what their action saw, in order."""

    def __init__(self, tmp_path: Path, stores: list[Store]) -> None:
        (tmp_path / "tally.yaml").write_text(textwrap.dedent(TALLY), encoding="utf-8")
        self.app = botkit.load(tmp_path / "tally.yaml")
        self.noted: list[str] = []

        @self.app.action("note")
        async def note(ctx: botkit.ActionContext) -> dict[str, str]:
            await asyncio.sleep(0.005)  # a real call takes a while: turns overlap
            self.noted.append(ctx.user)
            return {}

        self.stores = stores
        self.runtimes: list[Runtime] = []

    async def __aenter__(self) -> list[Runtime]:
        for store in self.stores:
            await store.open()
            self.runtimes.append(self.app.runtime(store))
        return self.runtimes

    async def __aexit__(self, *exc: object) -> None:
        for runtime, store in zip(self.runtimes, self.stores, strict=True):
            await runtime.aclose()
            await store.close()


async def _records_of(store: Store, key: str) -> tuple[list[int], list[str]]:
    records = await store.records(session=key)
    return [r.seq for r in records], [
        str((r.data or {}).get("text")) for r in records if r.kind == "message_in"
    ]


async def test_alternating_workers_keep_every_message_in_order(
    tmp_path: Path, postgres_schema: str
) -> None:
    url = postgres_url(postgres_schema)
    stores: list[Store] = [PostgresStore(url), PostgresStore(url)]
    async with Workers(tmp_path, stores) as (a, b):
        texts = [f"{i}번째 메시지" for i in range(40)]
        for i, text in enumerate(texts):
            reply = await (a, b)[i % 2].handle("kakao", "민지", text)
            assert reply.ok, f"message {i} failed"
        seqs, said = await _records_of(stores[0], "kakao:민지")
        session = await stores[1].load("kakao:민지")
    assert said == texts  # every message, once, in the order it was sent
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert session is not None
    assert session.turn == len(texts)  # no lost update


async def test_the_same_users_messages_at_once_on_both_workers_lose_nothing(
    tmp_path: Path, postgres_schema: str
) -> None:
    url = postgres_url(postgres_schema)
    stores: list[Store] = [PostgresStore(url), PostgresStore(url)]
    workers = Workers(tmp_path, stores)
    async with workers as (a, b):
        sent: list[str] = []
        for round_ in range(8):
            batch = [f"{round_}-{i}" for i in range(6)]
            replies = await asyncio.gather(
                *((a, b)[i % 2].handle("kakao", "서준", text) for i, text in enumerate(batch))
            )
            assert all(r.ok for r in replies)
            sent += batch
        seqs, said = await _records_of(stores[0], "kakao:서준")
        session = await stores[0].load("kakao:서준")
    assert sorted(said) == sorted(sent)  # each message once
    assert len(workers.noted) == len(sent)  # one action per message: none re-run
    assert seqs == list(range(1, len(seqs) + 1))
    assert session is not None
    assert session.turn == len(sent)


class WithoutLock:
    """The PostgreSQL store with its cross-worker lock hidden, as a store of one process."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        if name == "lock":
            raise AttributeError(name)
        return getattr(self._store, name)


async def test_without_the_lock_alternating_workers_would_fail_turns(
    tmp_path: Path, postgres_schema: str
) -> None:
    """Why the lock exists: each worker trusts its own cached snapshot, the other worker has
    moved the user on, and a turn that already called an action cannot be re-run."""
    url = postgres_url(postgres_schema)
    plain = [WithoutLock(PostgresStore(url)), WithoutLock(PostgresStore(url))]
    assert not isinstance(plain[0], SharedStore)
    assert isinstance(PostgresStore(url), SharedStore)
    async with Workers(tmp_path, plain) as (a, b):  # type: ignore[arg-type]
        replies = [await (a, b)[i % 2].handle("kakao", "하은", f"{i}") for i in range(6)]
    assert not all(r.ok for r in replies)


async def test_a_turn_on_a_worker_cut_off_from_the_store_says_unavailable(
    tmp_path: Path, postgres_schema: str
) -> None:
    store = PostgresStore(postgres_url(postgres_schema))
    async with Workers(tmp_path, [store]) as (worker,):
        assert (await worker.handle("kakao", "지우", "안녕")).ok
        await store.close()  # as good as a database that went away
        reply = await worker.handle("kakao", "지우", "여보세요")
    assert (reply.ok, reply.unavailable) == (False, True)
