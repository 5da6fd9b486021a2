"""What only the SQLite store promises: WAL, pragmas, schema migrations, group commit, and
failures that leave nothing behind. (Everything every store promises is in the contract.)"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from botkit.errors import ConflictError, StorageError
from botkit.records import BusinessEvent
from botkit.storage import MemoryStore, SQLiteStore, open_store
from botkit.storage.base import LiveState, encode_session
from botkit.storage.sqlite import MIGRATIONS, SCHEMA_VERSION
from tests.storage import make_records, make_session

INDEXES = {
    "records_at",
    "events_at",
    "events_user",
    "events_customer",
    "identities_customer",
    "audience_log_at",
    "campaign_sends_open",
    "campaign_sends_run",
    "campaign_sends_member",
    "campaign_sends_planned",
}
BEFORE_VERSIONS = 4  # the schema version before migration 5 added bot_versions
BEFORE_AUDIENCE = 5  # the schema version before migration 6 added customers, links, consent


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "botkit.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(str(path))
    await opened.open()
    yield opened
    await opened.close()


def raw(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Query the file with a plain sqlite3 connection of our own, outside the store."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


def schema(path: Path) -> tuple[int, set[str], set[str]]:
    (version,) = raw(path, "PRAGMA user_version")[0]
    tables = {n for (n,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    indexes = {
        n
        for (n,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'index'")
        if not n.startswith("sqlite_autoindex")
    }
    return version, tables, indexes


async def pragma(store: SQLiteStore, name: str) -> Any:
    assert store._writer is not None
    rows = list(await store._writer.execute_fetchall(f"PRAGMA {name}"))
    return rows[0][0]


# --- connection settings ---------------------------------------------------------------------


async def test_wal_mode_and_full_sync_by_default(store: SQLiteStore, path: Path) -> None:
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert await pragma(store, "synchronous") == 2  # FULL
    assert await pragma(store, "busy_timeout") == 5000


async def test_synchronous_can_be_normal(path: Path) -> None:
    store = SQLiteStore(str(path), synchronous="normal")
    await store.open()
    try:
        assert await pragma(store, "synchronous") == 1  # NORMAL
    finally:
        await store.close()


def test_an_unknown_synchronous_is_refused() -> None:
    with pytest.raises(ValueError, match="FULL"):
        SQLiteStore("x.db", synchronous="SOMETIMES")


async def test_the_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "데이터" / "깊은" / "botkit.db"
    store = SQLiteStore(str(path))
    await store.open()
    await store.close()
    assert path.is_file()


async def test_reads_use_a_second_connection_that_cannot_write(store: SQLiteStore) -> None:
    assert store._reader is not None
    assert store._reader is not store._writer
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await store._reader.execute("DELETE FROM sessions")


# --- schema and migrations -------------------------------------------------------------------


async def test_a_new_file_gets_the_whole_schema(store: SQLiteStore, path: Path) -> None:
    version, tables, indexes = schema(path)
    assert version == SCHEMA_VERSION
    assert {"sessions", "records"} <= tables
    assert indexes == INDEXES


async def test_an_empty_existing_file_is_migrated(path: Path) -> None:
    path.write_bytes(b"")
    store = SQLiteStore(str(path))
    await store.open()
    await store.close()
    assert schema(path)[0] == SCHEMA_VERSION


async def test_an_older_schema_is_migrated_and_keeps_its_data(path: Path) -> None:
    session = make_session()
    with closing(sqlite3.connect(path)) as db:  # what botkit at schema version 1 wrote
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, 4, ?, 0)",
            (
                session.key,
                '{"key": "kakao:사용자1", "user": "사용자1", "channel": "kakao",'
                ' "state": "주문.시작", "slots": {"메뉴": "라떼"}}',
            ),
        )
        db.commit()
    assert schema(path)[2] == set()

    store = SQLiteStore(str(path))
    await store.open()
    try:
        assert schema(path)[0] == SCHEMA_VERSION
        assert schema(path)[2] == INDEXES
        loaded = await store.load(session.key)
        assert loaded is not None
        assert (loaded.version, loaded.state, loaded.slots) == (4, "주문.시작", {"메뉴": "라떼"})
        assert await store.commit(loaded, [], expected_version=4) == 5
    finally:
        await store.close()


async def test_a_store_at_the_previous_schema_gets_the_versions_table(path: Path) -> None:
    session = make_session()
    with closing(sqlite3.connect(path)) as db:  # what botkit wrote before it kept versions
        for migration in MIGRATIONS[:BEFORE_VERSIONS]:
            for statement in migration:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {BEFORE_VERSIONS}")
        db.execute(
            "INSERT INTO sessions (key, version, data, updated_at) VALUES (?, 2, ?, 0)",
            (session.key, encode_session(session, 2)),
        )
        db.commit()
    assert "bot_versions" not in schema(path)[1]

    store = SQLiteStore(str(path))
    await store.open()
    try:
        version, tables, indexes = schema(path)
        assert (version, indexes) == (SCHEMA_VERSION, INDEXES)
        assert "bot_versions" in tables
        assert await store.versions() == []
        await store.add_version("v1", {"주문.yaml": "flow: 주문"}, 1_700_000_000.0)
        assert [v.version for v in await store.versions()] == ["v1"]
        assert await store.live_states(since=0) == [
            LiveState(session.bot_version, session.state, 1)
        ]
        loaded = await store.load(session.key)
        assert loaded is not None
        assert loaded.version == 2
    finally:
        await store.close()


async def test_events_kept_before_the_audience_survive_its_migration(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:  # what botkit wrote before it kept customers
        for migration in MIGRATIONS[:BEFORE_AUDIENCE]:
            for statement in migration:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {BEFORE_AUDIENCE}")
        db.execute(
            "INSERT INTO events (id, kind, user, at, amount, data)"
            " VALUES ('order-1', 'purchase', '민지', 10.0, 39000.0, NULL)"
        )
        db.commit()
    store = SQLiteStore(str(path))
    await store.open()
    try:
        assert await store.events(user="민지") == [
            BusinessEvent("order-1", "purchase", "민지", 10.0, 39_000.0)
        ]
        assert await store.link("민지", "C-1", 20.0, "api")
        assert await store.customer_of("민지") == "C-1"
    finally:
        await store.close()
    assert schema(path)[0] == SCHEMA_VERSION


async def test_a_newer_schema_is_refused_untouched(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SQLiteStore(str(path))
    with pytest.raises(StorageError, match="schema version"):
        await store.open()
    assert not await store.ping()
    assert schema(path) == (SCHEMA_VERSION + 1, set(), set())


async def test_a_file_that_is_not_a_database_is_refused(path: Path) -> None:
    path.write_bytes("이건 데이터베이스가 아닙니다".encode() * 100)
    store = SQLiteStore(str(path))
    with pytest.raises(StorageError, match="cannot open"):
        await store.open()


# --- what is stored --------------------------------------------------------------------------


async def test_json_is_stored_as_readable_utf8(store: SQLiteStore, path: Path) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1]), expected_version=0)
    [(data, version)] = raw(path, "SELECT data, version FROM sessions")
    assert "아이스 아메리카노" in data
    assert version == 1
    [(record_data, user)] = raw(path, "SELECT data, user FROM records")
    assert "아메리카노 두 잔이요" in record_data
    assert user == "사용자1"


async def test_an_acknowledged_commit_is_already_in_the_file(
    store: SQLiteStore, path: Path
) -> None:
    for i in range(1, 4):
        session = make_session(turn=i)
        await store.commit(session, make_records(session.key, [i]), expected_version=i - 1)
        # another process, right after the acknowledgement, sees it
        assert raw(path, "SELECT version, (SELECT count(*) FROM records) FROM sessions") == [
            (i, i)
        ]


# --- group commit ----------------------------------------------------------------------------


async def test_concurrent_commits_share_transactions(store: SQLiteStore) -> None:
    sessions = [make_session(f"kakao:사용자{i}") for i in range(64)]
    await asyncio.gather(
        *(store.commit(s, make_records(s.key, range(1, 5)), expected_version=0) for s in sessions)
    )
    stats = store.stats()
    assert stats["commits"] == 64
    assert stats["batches"] < 64
    assert await store.count_records() == 256


async def test_a_lone_commit_is_its_own_batch(store: SQLiteStore) -> None:
    session = make_session()
    await store.commit(session, [], expected_version=0)
    assert store.stats() == {"batches": 1, "commits": 1}


async def test_commits_of_one_session_chain_within_a_batch(store: SQLiteStore) -> None:
    session = make_session()
    versions = await asyncio.gather(
        store.commit(session, make_records(session.key, [1]), expected_version=0),
        store.commit(session, make_records(session.key, [2]), expected_version=1),
        store.commit(session, make_records(session.key, [3]), expected_version=1),
        return_exceptions=True,
    )
    assert list(versions[:2]) == [1, 2]
    assert isinstance(versions[2], ConflictError)
    assert store.stats()["batches"] == 1
    assert [r.seq for r in await store.records()] == [1, 2]


async def test_a_failing_commit_fails_alone(store: SQLiteStore) -> None:
    assert store._writer is not None
    await store._writer.execute(
        "CREATE TRIGGER 실패 BEFORE INSERT ON records WHEN NEW.kind = 'boom'"
        " BEGIN SELECT RAISE(ABORT, '주입된 실패'); END"
    )
    a, b, c = (make_session(f"kakao:{name}") for name in ("가", "나", "다"))
    outcomes = await asyncio.gather(
        store.commit(a, make_records(a.key, [1, 2]), expected_version=0),
        store.commit(
            b,
            [*make_records(b.key, [1]), *make_records(b.key, [2], kind="boom")],
            expected_version=0,
        ),
        store.commit(c, make_records(c.key, [1, 2]), expected_version=0),
        return_exceptions=True,
    )
    assert outcomes[0] == 1
    assert outcomes[2] == 1
    assert isinstance(outcomes[1], StorageError)
    assert not isinstance(outcomes[1], ConflictError)
    assert "주입된 실패" in str(outcomes[1])
    assert isinstance(outcomes[1].__cause__, sqlite3.Error)
    assert store.stats()["batches"] == 1
    assert await store.load(b.key) is None
    assert {r.session for r in await store.records()} == {a.key, c.key}
    assert await store.count_records() == 4


async def test_a_duplicate_seq_fails_only_its_commit_in_a_batch(store: SQLiteStore) -> None:
    taken = make_session("kakao:먼저")
    await store.commit(taken, make_records(taken.key, [1, 2]), expected_version=0)
    a, c = make_session("kakao:가"), make_session("kakao:다")
    outcomes = await asyncio.gather(
        store.commit(a, make_records(a.key, [1, 2]), expected_version=0),
        store.commit(taken, make_records(taken.key, [3, 2]), expected_version=1),
        store.commit(c, make_records(c.key, [1, 2]), expected_version=0),
        store.commit(a, make_records(a.key, [3]), expected_version=1),  # chains after the first
        store.commit(c, make_records(c.key, [9]), expected_version=5),  # stale
        return_exceptions=True,
    )
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], StorageError)
    assert not isinstance(outcomes[1], ConflictError)
    assert list(outcomes[2:4]) == [1, 2]
    assert isinstance(outcomes[4], ConflictError)
    assert (outcomes[4].expected, outcomes[4].actual) == (5, 1)
    assert store.stats() == {"batches": 2, "commits": 6}
    loaded = await store.load(taken.key)
    assert loaded is not None
    assert loaded.version == 1
    assert [r.seq for r in await store.records(session=taken.key)] == [1, 2]
    assert [r.seq for r in await store.records(session=a.key)] == [1, 2, 3]


async def test_loads_of_more_keys_than_one_query_holds(store: SQLiteStore) -> None:
    sessions = [make_session(f"kakao:사용자{i}", turn=i) for i in range(1200)]
    await asyncio.gather(*(store.commit(s, [], expected_version=0) for s in sessions))
    loaded = await asyncio.gather(*(store.load(s.key) for s in sessions))
    assert [s.turn if s else None for s in loaded] == list(range(1200))


async def test_a_broken_writer_fails_its_callers_instead_of_hanging(store: SQLiteStore) -> None:
    assert store._commits is not None

    async def broken(batch: list[Any]) -> None:
        raise RuntimeError("버그")

    store._commits._run = broken
    session = make_session()
    with pytest.raises(StorageError, match="버그"):
        await store.commit(session, [], expected_version=0)
    assert not await store.ping()
    with pytest.raises(StorageError, match="not open"):
        await store.commit(session, [], expected_version=0)


async def test_a_failed_transaction_fails_every_commit_in_it(store: SQLiteStore) -> None:
    assert store._writer is not None

    def no_commit(action: int, arg1: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_TRANSACTION and arg1 == "COMMIT":
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    kept = make_session("kakao:먼저")
    await store.commit(kept, make_records(kept.key, [1]), expected_version=0)
    await store._writer.set_authorizer(no_commit)
    sessions = [make_session(f"kakao:사용자{i}") for i in range(5)]
    outcomes = await asyncio.gather(
        *(store.commit(s, make_records(s.key, [1]), expected_version=0) for s in sessions),
        store.commit(kept, make_records(kept.key, [2]), expected_version=0),  # a conflict, too
        return_exceptions=True,
    )
    assert all(isinstance(o, StorageError) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == len(outcomes)  # one exception object per caller
    assert [await store.load(s.key) for s in sessions] == [None] * 5
    assert await store.count_records() == 1

    await store._writer.set_authorizer(None)
    assert await store.commit(sessions[0], [], expected_version=0) == 1


async def test_a_lost_connection_raises_storage_error_and_writes_nothing(path: Path) -> None:
    store = SQLiteStore(str(path))
    await store.open()
    first = make_session("kakao:가")
    await store.commit(first, make_records(first.key, [1]), expected_version=0)
    assert store._writer is not None
    await store._writer.close()  # the connection dies under the store

    second = make_session("kakao:나")
    with pytest.raises(StorageError) as caught:
        await store.commit(second, make_records(second.key, [1]), expected_version=0)
    assert not isinstance(caught.value, ConflictError)
    with pytest.raises(StorageError):
        await store.commit(first, make_records(first.key, [2]), expected_version=1)
    await store.close()

    again = SQLiteStore(str(path))
    await again.open()
    try:
        assert await again.load(second.key) is None
        assert [(r.session, r.seq) for r in await again.records()] == [(first.key, 1)]
        loaded = await again.load(first.key)
        assert loaded is not None
        assert loaded.version == 1
    finally:
        await again.close()


async def test_a_lost_read_connection_raises_storage_error(store: SQLiteStore) -> None:
    assert store._reader is not None
    await store._reader.close()
    with pytest.raises(StorageError):
        await store.load("kakao:가")
    with pytest.raises(StorageError):
        await store.records()
    with pytest.raises(StorageError):
        await store.count_records()
    assert not await store.ping()


# --- open_store ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "path"),
    [
        ("memory://", MemoryStore, None),
        ("sqlite:///data/botkit.db", SQLiteStore, "data/botkit.db"),
        ("sqlite:////var/lib/botkit/봇.db", SQLiteStore, "/var/lib/botkit/봇.db"),
        ("sqlite://:memory:", SQLiteStore, ":memory:"),
        ("sqlite:///:memory:", SQLiteStore, ":memory:"),
    ],
)
def test_open_store_picks_the_backend(url: str, kind: type, path: str | None) -> None:
    store = open_store(url)
    assert type(store) is kind
    if path is not None:
        assert isinstance(store, SQLiteStore)
        assert store.path == path


@pytest.mark.parametrize(
    "url", ["", "sqlite://", "sqlite:///", "mysql://localhost/botkit", "botkit.db", "mem://"]
)
def test_open_store_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"supported: memory://, sqlite:///") as caught:
        open_store(url)
    assert repr(url) in str(caught.value)


async def test_open_store_opens_a_working_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/봇.db")
    await store.open()
    try:
        session = make_session()
        assert await store.commit(session, [], expected_version=0) == 1
    finally:
        await store.close()
    assert (tmp_path / "봇.db").is_file()


async def test_a_cancelled_writer_fails_commits_and_close_still_works(path: Path) -> None:
    store = SQLiteStore(str(path))
    await store.open()
    assert store._commits is not None
    store._commits._task.cancel()  # what the event loop does to leftover tasks at shutdown
    await asyncio.sleep(0)  # let the cancellation land
    assert not await store.ping()
    with pytest.raises(StorageError):
        await store.commit(make_session(), [], expected_version=0)
    await store.close()
    assert store._writer is None
