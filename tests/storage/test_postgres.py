"""What the PostgreSQL store does beyond the contract: its schema, its options, the lock that
serializes a user's turns across workers, and how it behaves when the server goes away."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from botkit.errors import StorageError
from botkit.records import BusinessEvent
from botkit.storage import open_store
from botkit.storage.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore
from tests.outage import cuttable_proxy
from tests.postgres import POSTGRES_MARKS, POSTGRES_URL, postgres_url
from tests.storage import make_records, make_session

pytestmark = POSTGRES_MARKS

BEFORE_VERSIONS = 1  # the schema version before migration 2 added bot_versions
BEFORE_AUDIENCE = 2  # the schema version before migration 3 added customers, links, consent


async def _server() -> asyncpg.Connection:
    return await asyncpg.connect(POSTGRES_URL)


async def test_open_creates_the_schema_and_records_its_version(postgres_schema: str) -> None:
    store = PostgresStore(postgres_url(postgres_schema))
    await store.open()
    await store.close()
    conn = await _server()
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
            postgres_schema,
        )
        versions = await conn.fetch(f'SELECT version FROM "{postgres_schema}".botkit_schema')
        indexes = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'records'",
            postgres_schema,
        )
    finally:
        await conn.close()
    names = {t["table_name"] for t in tables}
    assert names == {
        "botkit_schema", "sessions", "records", "events", "bot_versions",
        "customers", "identities", "consents", "audience_log", "one_time",
        "campaign_sends", "campaign_cursors",
    }  # fmt: skip
    assert [v["version"] for v in versions] == list(range(1, SCHEMA_VERSION + 1))
    # what reports filter on: time, flow and time, session (the unique key)
    assert {"records_at", "records_flow_at"} <= {i["indexname"] for i in indexes}


async def test_workers_starting_together_migrate_once(postgres_schema: str) -> None:
    stores = [PostgresStore(postgres_url(postgres_schema)) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        session = make_session()
        assert await stores[0].commit(session, [], expected_version=0) == 1
        loaded = await stores[3].load(session.key)
        assert loaded is not None
        assert loaded.version == 1
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    conn = await _server()
    try:
        rows = await conn.fetch(f'SELECT version FROM "{postgres_schema}".botkit_schema')
    finally:
        await conn.close()
    assert len(rows) == SCHEMA_VERSION


async def test_a_schema_from_a_newer_botkit_is_refused_untouched(postgres_schema: str) -> None:
    store = PostgresStore(postgres_url(postgres_schema))
    await store.open()
    await store.close()
    conn = await _server()
    try:
        await conn.execute(f'INSERT INTO "{postgres_schema}".botkit_schema VALUES (99)')
    finally:
        await conn.close()
    with pytest.raises(
        StorageError, match=rf"has version 99; this botkit knows up to {SCHEMA_VERSION}"
    ):
        await PostgresStore(postgres_url(postgres_schema)).open()


async def test_a_schema_at_the_previous_version_gets_the_versions_table(
    postgres_schema: str,
) -> None:
    conn = await _server()
    try:  # what botkit wrote before it kept versions
        await conn.execute(f'CREATE SCHEMA "{postgres_schema}"')
        await conn.execute(f'SET search_path = "{postgres_schema}"')
        await conn.execute("CREATE TABLE botkit_schema (version integer NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:BEFORE_VERSIONS], start=1):
            for statement in migration:
                await conn.execute(statement)
            await conn.execute("INSERT INTO botkit_schema VALUES ($1)", version)
    finally:
        await conn.close()
    store = PostgresStore(postgres_url(postgres_schema))
    await store.open()
    try:
        session = make_session()
        assert await store.commit(session, [], expected_version=0) == 1
        await store.add_version("v1", {"주문.yaml": "flow: 주문"}, 1_700_000_000.0)
        assert [v.version for v in await store.versions()] == ["v1"]
        assert [s.sessions for s in await store.live_states(since=0)] == [1]
    finally:
        await store.close()


async def test_events_kept_before_the_audience_survive_its_migration(
    postgres_schema: str,
) -> None:
    conn = await _server()
    try:  # what botkit wrote before it kept customers
        await conn.execute(f'CREATE SCHEMA "{postgres_schema}"')
        await conn.execute(f'SET search_path = "{postgres_schema}"')
        await conn.execute("CREATE TABLE botkit_schema (version integer NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:BEFORE_AUDIENCE], start=1):
            for statement in migration:
                await conn.execute(statement)
            await conn.execute("INSERT INTO botkit_schema VALUES ($1)", version)
        await conn.execute(
            'INSERT INTO events (id, kind, "user", at, amount, data)'
            " VALUES ('order-1', 'purchase', '민지', 10.0, 39000.0, NULL)"
        )
    finally:
        await conn.close()
    store = PostgresStore(postgres_url(postgres_schema))
    await store.open()
    try:
        assert await store.events(user="민지") == [
            BusinessEvent("order-1", "purchase", "민지", 10.0, 39_000.0)
        ]
        assert await store.link("민지", "C-1", 20.0, "api")
        assert await store.customer_of("민지") == "C-1"
    finally:
        await store.close()


def test_options_come_out_of_the_url_and_the_rest_goes_to_the_driver() -> None:
    store = open_store(
        "postgresql://bot:pw@db.internal:5433/shop?schema=cs_bot&pool=20&lock_pool=64"
        "&connect_timeout=5&sslmode=require"
    )
    assert isinstance(store, PostgresStore)
    assert (store.schema, store.pool_size, store.lock_pool_size) == ("cs_bot", 20, 64)
    assert store.connect_timeout == 5.0
    assert store.dsn == "postgresql://bot:pw@db.internal:5433/shop?sslmode=require"
    assert "pw" not in repr(store)  # the password never reaches a log line


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pool=0", r"\?pool= must be a whole number of at least 1, not '0'"),
        ("lock_pool=many", r"\?lock_pool= must be a whole number of at least 1, not 'many'"),
    ],
)
def test_bad_options_are_refused_before_connecting(query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresStore(f"postgresql://localhost/db?{query}")


async def test_a_server_that_does_not_answer_fails_open_quickly_and_clearly() -> None:
    store = PostgresStore("postgresql://bot:secret@127.0.0.1:1/test?connect_timeout=1")
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        await store.open()
    assert time.monotonic() - started < 3
    assert str(caught.value).startswith("cannot open PostgresStore(127.0.0.1:1/test")
    assert "secret" not in str(caught.value)
    assert await store.ping() is False
    with pytest.raises(StorageError, match="not open"):
        await store.load("kakao:민지")


# --- the lock across workers ---------------------------------------------------------------


async def _two_workers(schema: str) -> tuple[PostgresStore, PostgresStore]:
    first, second = PostgresStore(postgres_url(schema)), PostgresStore(postgres_url(schema))
    await first.open()
    await second.open()
    return first, second


async def test_the_lock_makes_another_worker_wait_for_the_same_user_only(
    postgres_schema: str,
) -> None:
    first, second = await _two_workers(postgres_schema)
    try:
        async with first.lock("kakao:민지"):
            waiting = asyncio.create_task(_hold(second, "kakao:민지"))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # the same user: it waits
            async with second.lock("kakao:서준"):  # another user: no wait
                pass
        await asyncio.wait_for(waiting, timeout=5)  # released: the waiter gets it
    finally:
        await first.close()
        await second.close()


async def _hold(store: PostgresStore, key: str, log: list[int] | None = None, n: int = 0) -> None:
    async with store.lock(key):
        if log is not None:
            log.append(n)
        await asyncio.sleep(0.01)


async def test_waiters_get_the_lock_in_the_order_they_asked(postgres_schema: str) -> None:
    first, second = await _two_workers(postgres_schema)
    order: list[int] = []
    try:
        async with first.lock("kakao:민지"):
            waiters = []
            for n in range(5):
                store = (first, second)[n % 2]  # alternately from both workers
                waiters.append(asyncio.create_task(_hold(store, "kakao:민지", order, n)))
                await asyncio.sleep(0.1)  # each is queued before the next asks
        await asyncio.wait_for(asyncio.gather(*waiters), timeout=5)
    finally:
        await first.close()
        await second.close()
    assert order == [0, 1, 2, 3, 4]


async def test_a_waiter_that_gives_up_leaves_no_lock_behind(postgres_schema: str) -> None:
    first, second = await _two_workers(postgres_schema)
    try:
        async with first.lock("kakao:민지"):
            impatient = asyncio.create_task(_hold(second, "kakao:민지"))
            await asyncio.sleep(0.2)
            impatient.cancel()
            with pytest.raises(asyncio.CancelledError):
                await impatient
        await asyncio.wait_for(_hold(first, "kakao:민지"), timeout=2)
        await asyncio.wait_for(_hold(second, "kakao:민지"), timeout=2)
    finally:
        await first.close()
        await second.close()


async def test_a_worker_that_dies_holding_the_lock_does_not_block_the_user(
    postgres_schema: str,
) -> None:
    first, second = await _two_workers(postgres_schema)
    try:
        lock = first.lock("kakao:민지")
        await lock.__aenter__()  # the worker takes the lock ... and is killed mid-turn
        conn = await _server()
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid <> pg_backend_pid() AND granted"
            )
        finally:
            await conn.close()
        assert killed >= 1
        await asyncio.wait_for(_hold(second, "kakao:민지"), timeout=5)
        await lock.__aexit__(None, None, None)  # the dead worker's exit is harmless
    finally:
        await first.close()
        await second.close()


# --- outages -------------------------------------------------------------------------------


async def test_while_the_server_is_away_calls_fail_fast_and_then_it_recovers(
    postgres_schema: str,
) -> None:
    with cuttable_proxy(POSTGRES_URL) as proxy:
        store = PostgresStore(proxy.url(postgres_url(postgres_schema, connect_timeout=1)))
        await store.open()
        try:
            session = make_session()
            assert await store.commit(session, make_records(session.key, [1]), expected_version=0)
            proxy.cut()  # as a restart does: connections dropped, new ones refused
            started = time.monotonic()
            with pytest.raises(StorageError, match="commit of session"):
                await store.commit(session, make_records(session.key, [2]), expected_version=1)
            with pytest.raises(StorageError, match="loading session"):
                await store.load(session.key)
            with pytest.raises(StorageError, match="cannot lock session"):
                async with store.lock(session.key):
                    pass
            assert await store.ping() is False
            assert time.monotonic() - started < 5
            proxy.restore()
            # nothing to do by hand: the pool makes new connections on the next call
            assert await store.ping() is True
            assert (
                await store.commit(session, make_records(session.key, [2]), expected_version=1)
                == 2
            )
            async with store.lock(session.key):
                loaded = await store.load(session.key)
            assert loaded is not None
            assert loaded.version == 2
            assert [r.seq for r in await store.records(session=session.key)] == [1, 2]
        finally:
            await store.close()


async def test_a_lock_held_when_the_server_goes_away_is_left_without_an_error(
    postgres_schema: str,
) -> None:
    with cuttable_proxy(POSTGRES_URL) as proxy:
        url = proxy.url(postgres_url(postgres_schema, connect_timeout=1))
        store = PostgresStore(url)
        await store.open()
        try:
            async with store.lock("kakao:민지"):
                proxy.cut()  # mid-turn: the lock's connection dies with the server
            # leaving the block raised nothing: a committed turn must stand
            proxy.restore()
            async with store.lock("kakao:민지"):  # and the user is not stuck
                pass
        finally:
            await store.close()


async def test_a_worker_waiting_for_a_lock_when_the_server_goes_away_gets_a_storage_error(
    postgres_schema: str,
) -> None:
    holder = PostgresStore(postgres_url(postgres_schema))
    await holder.open()
    with cuttable_proxy(POSTGRES_URL) as proxy:
        waiter = PostgresStore(proxy.url(postgres_url(postgres_schema, connect_timeout=1)))
        await waiter.open()
        try:
            async with holder.lock("kakao:민지"):
                waiting = asyncio.create_task(_hold(waiter, "kakao:민지"))
                await asyncio.sleep(0.3)
                proxy.cut()  # the waiter's connection dies while it waits
                with pytest.raises(StorageError, match="cannot lock session 'kakao:민지'"):
                    await asyncio.wait_for(waiting, timeout=5)
            proxy.restore()
            await asyncio.wait_for(_hold(waiter, "kakao:민지"), timeout=5)  # and it recovers
        finally:
            await waiter.close()
            await holder.close()


# --- messages between workers ----------------------------------------------------------------


async def _heard_within(heard: list[dict[str, object]], count: int, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.05)):
        if len(heard) >= count:
            return
        await asyncio.sleep(0.05)


async def test_a_message_published_by_one_worker_reaches_every_subscriber(
    postgres_schema: str,
) -> None:
    first, second = await _two_workers(postgres_schema)
    heard: list[dict[str, object]] = []

    async def receive(message: dict[str, object]) -> None:
        heard.append(message)

    try:
        await first.subscribe("web_push", receive)
        await second.subscribe("web_push", receive)
        await second.publish("web_push", {"sid": "민지", "says": [{"text": "안녕하세요"}]})
        await first.publish("other_topic", {"sid": "서준"})  # nobody listens there
        await _heard_within(heard, 2)
        await asyncio.sleep(0.2)
        assert heard == [{"sid": "민지", "says": [{"text": "안녕하세요"}]}] * 2
        with pytest.raises(StorageError, match="too large to send"):
            await first.publish("web_push", {"text": "가" * 3000})
    finally:
        await first.close()
        await second.close()


async def test_a_subscriber_listens_again_after_the_server_comes_back(
    postgres_schema: str,
) -> None:
    publisher = PostgresStore(postgres_url(postgres_schema))
    await publisher.open()
    heard: list[dict[str, object]] = []

    async def receive(message: dict[str, object]) -> None:
        heard.append(message)

    with cuttable_proxy(POSTGRES_URL) as proxy:
        subscriber = PostgresStore(proxy.url(postgres_url(postgres_schema, connect_timeout=1)))
        await subscriber.open()
        try:
            await subscriber.subscribe("web_push", receive)
            proxy.cut()
            await publisher.publish("web_push", {"n": 1})  # while it is away: not heard
            await asyncio.sleep(0.5)
            proxy.restore()
            for _ in range(60):  # it listens again within a few seconds, by itself
                await publisher.publish("web_push", {"n": 2})
                await asyncio.sleep(0.1)
                if {"n": 2} in heard:
                    break
            # told that it listens again ({}: what was said meanwhile is lost), then hearing
            assert {} in heard
            assert {"n": 2} in heard
            assert {"n": 1} not in heard
        finally:
            await subscriber.close()
            await publisher.close()
