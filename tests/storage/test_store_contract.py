"""The storage contract: every backend in ``conftest.BACKENDS`` must pass every test here."""

from __future__ import annotations

import asyncio
import math
import pickle
from typing import Any

import pytest

from botkit.engine.session import Session
from botkit.errors import ConflictError, StorageError
from botkit.records import BusinessEvent, Record
from botkit.storage import Store
from tests.storage import make_records, make_session
from tests.storage.conftest import Backend


def _same(loaded: Session | None, written: Session, version: int) -> None:
    assert loaded is not None
    expected = written.to_dict() | {"version": version}
    assert loaded.to_dict() == expected


async def test_implements_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


async def test_session_round_trips_with_korean_and_nested_values(store: Store) -> None:
    session = make_session()
    assert await store.commit(session, [], expected_version=0) == 1
    loaded = await store.load(session.key)
    _same(loaded, session, 1)
    assert loaded is not None
    assert loaded.slots["옵션"]["시럽"] == ["바닐라", "헤이즐넛"]
    assert loaded.status == "bot"


async def test_unknown_key_loads_as_none(store: Store) -> None:
    assert await store.load("kakao:없는사용자") is None


async def test_versions_increment_and_the_callers_session_is_not_touched(store: Store) -> None:
    session = make_session()
    for expected in range(3):
        session.turn = expected
        assert await store.commit(session, [], expected_version=expected) == expected + 1
    assert session.version == 0
    loaded = await store.load(session.key)
    assert loaded is not None
    assert (loaded.version, loaded.turn) == (3, 2)


async def test_stale_version_conflicts_and_writes_nothing(store: Store) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1, 2]), expected_version=0)
    await store.commit(session, make_records(session.key, [3]), expected_version=1)
    before = await store.records()

    stale = make_session(state="주문.결제", slots={"메뉴": "라떼"})
    with pytest.raises(ConflictError) as caught:
        await store.commit(stale, make_records(stale.key, [4, 5]), expected_version=1)
    assert (caught.value.key, caught.value.expected, caught.value.actual) == (session.key, 1, 2)
    assert isinstance(caught.value, StorageError)

    _same(await store.load(session.key), session, 2)
    assert await store.records() == before
    assert await store.count_records() == 3


async def test_creating_an_existing_session_conflicts(store: Store) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1]), expected_version=0)
    with pytest.raises(ConflictError) as caught:
        await store.commit(
            make_session(turn=99), make_records(session.key, [2]), expected_version=0
        )
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    _same(await store.load(session.key), session, 1)
    assert await store.count_records() == 1


async def test_updating_a_missing_session_conflicts(store: Store) -> None:
    session = make_session()
    with pytest.raises(ConflictError) as caught:
        await store.commit(session, make_records(session.key, [1]), expected_version=4)
    assert (caught.value.expected, caught.value.actual) == (4, 0)
    assert await store.load(session.key) is None
    assert await store.count_records() == 0


async def test_conflict_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ConflictError("kakao:사용자1", 1, 2)))
    assert (error.key, error.expected, error.actual) == ("kakao:사용자1", 1, 2)
    assert "사용자1" in str(error)


async def test_records_come_back_with_every_field(store: Store) -> None:
    session = make_session()
    written = [
        *make_records(session.key, [1], kind="conversation_start", data={"flow": "주문"}),
        *make_records(
            session.key,
            [2],
            kind="message_in",
            at=1_700_000_001.0,
            data={
                "text": "아이스 아메리카노 두 잔 주세요 ☕",
                "payload": None,
            },
        ),
        *make_records(
            session.key,
            [3],
            kind="transition",
            at=1_700_000_001.0,
            data={
                "from": "주문.시작",
                "to": "주문.메뉴",
                "trigger": "메뉴_선택",
            },
        ),
        *make_records(session.key, [4], kind="handoff_closed", at=1_700_000_002.0, data=None),
    ]
    written[-1] = written[-1]._replace(data=None)
    await store.commit(session, written, expected_version=0)
    assert await store.records(session=session.key) == written
    assert await store.records() == written
    assert (await store.records(kind="handoff_closed"))[0].data is None


async def test_records_are_ordered(store: Store) -> None:
    a, b = make_session("kakao:가"), make_session("kakao:나")
    # b's records are earlier in time but written later; a's seqs are not in time order.
    await store.commit(a, make_records(a.key, [2, 1], at=200.0), expected_version=0)
    await store.commit(b, make_records(b.key, [1, 2], at=100.0), expected_version=0)
    await store.commit(a, make_records(a.key, [3], at=100.0), expected_version=1)

    by_session = await store.records(session=a.key)
    assert [r.seq for r in by_session] == [1, 2, 3]
    everything = await store.records()
    assert [(r.at, r.session, r.seq) for r in everything] == [
        (100.0, a.key, 3),
        (100.0, b.key, 1),
        (100.5, b.key, 2),
        (200.0, a.key, 2),
        (200.5, a.key, 1),
    ]


async def test_records_filter(store: Store) -> None:
    a, b = make_session("kakao:가"), make_session("web:나")
    await store.commit(a, make_records(a.key, range(1, 5), at=10.0), expected_version=0)
    await store.commit(
        b, make_records(b.key, range(1, 3), at=11.0, kind="fallback"), expected_version=0
    )
    # a: at 10.0, 10.5, 11.0, 11.5 (message_in); b: at 11.0, 11.5 (fallback)

    def seen(records: list[Record]) -> list[tuple[str, int]]:
        return [(r.session, r.seq) for r in records]

    assert seen(await store.records(session=b.key)) == [(b.key, 1), (b.key, 2)]
    assert seen(await store.records(kind="fallback")) == [(b.key, 1), (b.key, 2)]
    assert seen(await store.records(since=11.0)) == [
        (a.key, 3),
        (b.key, 1),
        (a.key, 4),
        (b.key, 2),
    ]  # since is inclusive
    assert seen(await store.records(until=11.0)) == [(a.key, 1), (a.key, 2)]  # until is not
    assert seen(await store.records(since=10.5, until=11.5)) == [
        (a.key, 2),
        (a.key, 3),
        (b.key, 1),
    ]
    assert seen(await store.records(session=a.key, since=10.5, until=11.5)) == [
        (a.key, 2),
        (a.key, 3),
    ]
    assert seen(await store.records(session=a.key, kind="fallback")) == []
    assert seen(await store.records(limit=3)) == [(a.key, 1), (a.key, 2), (a.key, 3)]
    assert seen(await store.records(session=b.key, limit=1)) == [(b.key, 1)]
    assert await store.records(limit=0) == []
    assert await store.records(session="kakao:없음") == []
    with pytest.raises(ValueError, match="limit"):
        await store.records(limit=-1)


async def test_a_duplicate_seq_rejects_the_whole_commit(store: Store) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1, 2]), expected_version=0)
    with pytest.raises(StorageError):
        await store.commit(
            make_session(turn=50), make_records(session.key, [3, 2, 4]), expected_version=1
        )
    _same(await store.load(session.key), session, 1)
    assert [r.seq for r in await store.records()] == [1, 2]
    # the store is still usable, and the same version can still be committed
    assert await store.commit(session, make_records(session.key, [3]), expected_version=1) == 2


async def test_a_duplicate_seq_within_one_commit_rejects_it(store: Store) -> None:
    session = make_session()
    with pytest.raises(StorageError):
        await store.commit(session, make_records(session.key, [1, 2, 1]), expected_version=0)
    assert await store.load(session.key) is None
    assert await store.count_records() == 0


async def test_the_same_seq_in_another_session_is_fine(store: Store) -> None:
    a, b = make_session("kakao:가"), make_session("kakao:나")
    await store.commit(a, make_records(a.key, [1, 2]), expected_version=0)
    await store.commit(b, make_records(b.key, [1, 2]), expected_version=0)
    assert await store.count_records() == 4


# --- business events -------------------------------------------------------------------------


PURCHASE = BusinessEvent("order-1001", "purchase", "민지", 100.0, 39_000.0, {"item": "패딩"})


async def test_business_events_are_kept_once_and_read_back_by_time_and_user(store: Store) -> None:
    signup = BusinessEvent("member-7", "signup", "지훈", 50.0)
    assert await store.add_events([PURCHASE, signup]) == 2
    assert await store.add_events([PURCHASE]) == 0  # sent again by the shop: kept once
    assert await store.events() == [signup, PURCHASE]
    assert await store.events(user="민지") == [PURCHASE]
    assert await store.events(since=60.0, until=100.0) == []
    assert await store.events(since=60.0, until=100.5) == [PURCHASE]


@pytest.mark.parametrize(
    "bad",
    [
        BusinessEvent("", "purchase", "민지", 1.0),
        BusinessEvent("x", "purchase", "민지", math.nan),
        BusinessEvent("x", "purchase", "민지", 1.0, math.inf),
        BusinessEvent("x", "purchase", "민지", 1.0, 1.0, {"값": math.nan}),
    ],
)
async def test_a_bad_business_event_fails_the_whole_call(store: Store, bad: BusinessEvent) -> None:
    with pytest.raises(StorageError):
        await store.add_events([PURCHASE, bad])
    assert await store.events() == []


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"객체": object()}, id="not-json"),
        pytest.param({"값": math.nan}, id="nan"),
        pytest.param({"값": math.inf}, id="inf"),
        pytest.param({"주문": {"금액": [1.5, (2, -math.inf)]}}, id="nested-inf"),
    ],
)
async def test_values_json_cannot_hold_are_refused(store: Store, bad: dict[str, Any]) -> None:
    session = make_session(slots=bad)
    with pytest.raises(StorageError):
        await store.commit(session, make_records(session.key, [1]), expected_version=0)
    ok = make_session()
    with pytest.raises(StorageError):
        await store.commit(ok, make_records(ok.key, [1], data=bad), expected_version=0)
    assert await store.load(session.key) is None
    assert await store.count_records() == 0


@pytest.mark.parametrize("field", ["profile", "pending"])
async def test_nan_anywhere_in_a_session_is_refused(store: Store, field: str) -> None:
    session = make_session()
    setattr(session, field, {"점수": [0.5, math.nan]})
    with pytest.raises(StorageError):
        await store.commit(session, [], expected_version=0)
    assert await store.load(session.key) is None


async def test_many_sessions_commit_concurrently(store: Store) -> None:
    sessions = [make_session(f"kakao:사용자{i}", turn=i) for i in range(100)]
    versions = await asyncio.gather(
        *(
            store.commit(s, make_records(s.key, range(1, 5), at=float(i)), expected_version=0)
            for i, s in enumerate(sessions)
        )
    )
    assert versions == [1] * 100
    assert await store.count_records() == 400
    for i, s in enumerate(sessions):
        _same(await store.load(s.key), s, 1)
        assert [r.seq for r in await store.records(session=s.key)] == [1, 2, 3, 4]
        assert {r.at for r in await store.records(session=s.key)} == {
            float(i),
            i + 0.5,
            i + 1.0,
            i + 1.5,
        }


async def test_racing_commits_of_one_session_have_one_winner(store: Store) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1]), expected_version=0)
    contenders = [make_session(turn=100 + i) for i in range(20)]
    outcomes = await asyncio.gather(
        *(
            store.commit(c, make_records(c.key, [2, 3], data={"누구": i}), expected_version=1)
            for i, c in enumerate(contenders)
        ),
        return_exceptions=True,
    )
    winners = [i for i, outcome in enumerate(outcomes) if outcome == 2]
    assert len(winners) == 1, outcomes
    assert all(
        isinstance(outcome, ConflictError) for i, outcome in enumerate(outcomes) if i != winners[0]
    ), outcomes
    (winner,) = winners
    loaded = await store.load(session.key)
    assert loaded is not None
    assert (loaded.version, loaded.turn) == (2, 100 + winner)
    later = await store.records(session=session.key)
    assert [(r.seq, r.data) for r in later[1:]] == [(2, {"누구": winner}), (3, {"누구": winner})]


async def test_many_concurrent_loads(store: Store) -> None:
    sessions = [make_session(f"kakao:사용자{i}", turn=i) for i in range(50)]
    for s in sessions:
        await store.commit(s, [], expected_version=0)
    keys = [s.key for s in sessions] * 2 + [f"kakao:없음{i}" for i in range(10)]
    loaded = await asyncio.gather(*(store.load(key) for key in keys))
    for s, first, second in zip(sessions, loaded[:50], loaded[50:100], strict=True):
        _same(first, s, 1)
        _same(second, s, 1)
        assert first is not second
        assert first is not None
        assert second is not None
        assert first.slots is not second.slots
    assert loaded[100:] == [None] * 10


async def test_cancelled_commits_are_all_or_nothing(store: Store) -> None:
    sessions = [make_session(f"kakao:사용자{i}") for i in range(10)]
    tasks = [
        asyncio.create_task(store.commit(s, make_records(s.key, [1, 2, 3]), expected_version=0))
        for s in sessions
    ]
    await asyncio.sleep(0)  # every task submits its commit
    for task in tasks[::2]:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[1::2] == [1] * 5
    for s in sessions:  # a cancelled commit may or may not have happened, but never in part
        loaded = await store.load(s.key)
        seqs = [r.seq for r in await store.records(session=s.key)]
        assert (loaded is not None, seqs) in ((True, [1, 2, 3]), (False, []))
    # and the store goes on working
    extra = make_session("kakao:나중")
    assert await store.commit(extra, make_records(extra.key, [1]), expected_version=0) == 1


async def test_load_returns_an_independent_copy(store: Store) -> None:
    session = make_session()
    await store.commit(session, [], expected_version=0)
    first = await store.load(session.key)
    assert first is not None
    first.slots["옵션"]["시럽"].append("카라멜")
    first.slots["메뉴"] = "녹차"
    assert first.held is not None
    first.held.clear()
    first.version = 77
    second = await store.load(session.key)
    assert second is not first
    _same(second, session, 1)


async def test_commit_keeps_a_snapshot_not_the_callers_object(store: Store) -> None:
    session = make_session()
    records = make_records(session.key, [1])
    await store.commit(session, records, expected_version=0)
    session.slots["옵션"]["샷"] = 5
    session.state = "주문.끝"
    assert records[0].data is not None
    records[0].data["text"] = "바뀜"
    loaded = await store.load(session.key)
    assert loaded is not None
    assert (loaded.state, loaded.slots["옵션"]["샷"]) == ("주문.메뉴_확인", 2)
    (record,) = await store.records()
    assert record.data == {"text": "1번째 메시지: 아메리카노 두 잔이요"}


async def test_returned_records_are_independent(store: Store) -> None:
    session = make_session()
    await store.commit(session, make_records(session.key, [1]), expected_version=0)
    (first,) = await store.records()
    assert first.data is not None
    first.data["text"] = "바뀜"
    (second,) = await store.records()
    assert second.data == {"text": "1번째 메시지: 아메리카노 두 잔이요"}


async def test_a_commit_without_records(store: Store) -> None:
    session = make_session()
    assert await store.commit(session, [], expected_version=0) == 1
    assert await store.count_records() == 0


async def test_count_records(store: Store) -> None:
    assert await store.count_records() == 0
    session = make_session()
    await store.commit(session, make_records(session.key, range(1, 8)), expected_version=0)
    assert await store.count_records() == 7


async def test_open_twice_is_harmless(store: Store) -> None:
    session = make_session()
    await store.commit(session, [], expected_version=0)
    await store.open()
    _same(await store.load(session.key), session, 1)


async def test_ping_and_use_after_close(backend: Backend) -> None:
    store = backend.make()
    assert not await store.ping()
    with pytest.raises(StorageError):
        await store.load("kakao:사용자1")
    await store.open()
    assert await store.ping()
    await store.close()
    await store.close()  # idempotent
    assert not await store.ping()
    session = make_session()
    with pytest.raises(StorageError):
        await store.commit(session, [], expected_version=0)
    with pytest.raises(StorageError):
        await store.load(session.key)
    with pytest.raises(StorageError):
        await store.records()
    with pytest.raises(StorageError):
        await store.count_records()


async def test_close_finishes_commits_already_submitted(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    sessions = [make_session(f"kakao:사용자{i}") for i in range(10)]
    tasks = [
        asyncio.create_task(store.commit(s, make_records(s.key, [1, 2]), expected_version=0))
        for s in sessions
    ]
    await asyncio.sleep(0)  # let every task submit its commit
    await store.close()
    assert [task.result() for task in tasks] == [1] * 10
    if backend.persistent:
        again = backend.make()
        await again.open()
        try:
            assert await again.count_records() == 20
        finally:
            await again.close()


async def test_everything_survives_close_and_reopen(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"{backend.name} keeps nothing after close")
    store = backend.make()
    await store.open()
    session = make_session()
    records = make_records(session.key, range(1, 4))
    await store.commit(session, records, expected_version=0)
    await store.commit(session, [], expected_version=1)
    await store.close()

    again = backend.make()
    await again.open()
    try:
        _same(await again.load(session.key), session, 2)
        assert await again.records() == records
        assert await again.commit(session, [], expected_version=2) == 3
    finally:
        await again.close()


async def test_report_rows_are_the_records_reports_read(store: Store) -> None:
    session = make_session()
    records = make_records(session.key, range(1, 4))
    moved = records[0]._replace(kind="transition", data={"from": None, "to": "주문.시작"})
    said = records[1]._replace(kind="message_in", data={"text": "안녕하세요"})
    out = records[2]._replace(kind="message_out", data={"texts": ["반가워요"]})
    link = {"text": "세일", "buttons": [{"label": "보기", "kind": "url", "value": "https://a.kr"}]}
    picture = {"image": {"url": "https://a.kr/sale.png", "alt": "세일"}}  # a picture, no link
    shown = make_records(session.key, range(4, 5))[0]._replace(
        kind="message_out", data={"texts": ["세일"], "says": [link]}
    )
    pictured = make_records(session.key, range(5, 6))[0]._replace(
        kind="message_out", data={"texts": ["세일"], "says": [picture]}
    )
    await store.commit(session, [moved, said, out, shown, pictured], expected_version=0)
    rows = sorted(await store.report_rows(), key=lambda r: r.seq)
    assert [(r.kind, r.seq, r.data) for r in rows] == [
        ("transition", 1, {"from": None, "to": "주문.시작"}),
        ("message_in", 2, None),  # counted; what was said is not read
        ("message_out", 3, None),  # a bot turn; its words are not read
        ("message_out", 4, {"texts": ["세일"], "says": [link]}),  # a link shown: kept
        ("message_out", 5, None),  # a picture is no link
    ]
    assert rows[0].session == session.key
    assert await store.report_rows(since=records[0].at + 1000) == []


# --- the handoff queue (Store.handoffs) ------------------------------------------------------

T0 = 1_700_000_000.0


async def _asks(
    store: Store,
    key: str,
    status: str,
    asked: list[tuple[float, dict[str, Any] | None]],
) -> Session:
    """A session of ``status`` that asked for a person at each of ``asked`` (time, data)."""
    session = make_session(key, status=status)
    records = [
        make_records(key, [seq], at=at, kind="handoff_requested", data=data)[0]
        for seq, (at, data) in enumerate(asked, start=1)
    ]
    records.append(make_records(key, [len(asked) + 1], at=T0 + 500)[0])  # other kinds: ignored
    await store.commit(session, records, expected_version=0)
    return session


async def test_handoffs_are_the_handed_off_sessions_with_their_latest_reason(
    store: Store,
) -> None:
    waits = await _asks(store, "web:기다림", "handoff_requested", [(T0 + 20, {"reason": "환불"})])
    held = await _asks(
        store,
        "kakao:shop:상담중",  # a Kakao user id has a colon of its own
        "with_agent",
        [(T0 + 10, {"reason": "배송"}), (T0 + 30, {"reason": "다시 요청"})],
    )
    await _asks(store, "web:돌아감", "bot", [(T0 + 5, {"reason": "환불"})])  # back with the bot
    await _asks(store, "web:끝남", "closed", [(T0 + 6, {"reason": "환불"})])
    await _asks(store, "web:이유없음", "handoff_requested", [(T0 + 40, None)])
    await store.commit(
        make_session("web:묻지않음", status="handoff_requested"), [], expected_version=0
    )

    found = await store.handoffs(since=T0)
    # by when each first asked; the latest record's reason; a record without one gives None
    assert [(h.session.key, h.reason) for h in found] == [
        (held.key, "다시 요청"),
        (waits.key, "환불"),
        ("web:이유없음", None),
    ]
    _same(found[0].session, held, 1)
    assert [h.session.status for h in found] == [
        "with_agent",
        "handoff_requested",
        "handoff_requested",
    ]


async def test_handoffs_look_back_only_to_since(store: Store) -> None:
    await _asks(
        store,
        "web:오래전",
        "handoff_requested",
        [(T0, {"reason": "처음"}), (T0 + 100, {"reason": "나중"})],
    )
    await _asks(store, "web:아주오래전", "handoff_requested", [(T0 - 1, {"reason": "옛날"})])
    found = await store.handoffs(since=T0 + 50)  # the first ask is out of the window
    assert [(h.session.key, h.reason) for h in found] == [("web:오래전", "나중")]
    assert await store.handoffs(since=T0 + 1000) == []


async def test_handoffs_that_asked_at_the_same_moment_are_in_key_order(store: Store) -> None:
    for key in ("web:b", "web:a", "web:c"):
        await _asks(store, key, "handoff_requested", [(T0, {"reason": key})])
    found = await store.handoffs(since=T0)
    assert [(h.session.key, h.reason) for h in found] == [
        ("web:a", "web:a"),
        ("web:b", "web:b"),
        ("web:c", "web:c"),
    ]


async def test_handoffs_of_an_empty_store(store: Store) -> None:
    assert await store.handoffs(since=0.0) == []
