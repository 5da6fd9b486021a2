"""The storage contract for the bot's versions (``add_version``, ``versions``) and the states
conversations stand at (``live_states``): every backend in ``conftest.BACKENDS`` must pass."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botkit.engine.session import Status
from botkit.errors import StorageError
from botkit.storage import Store
from botkit.storage.base import BotVersion, LiveState
from tests.storage import make_session
from tests.storage.conftest import Backend

T0 = 1_700_000_000.0

# What compile_texts reads: flow file names to their YAML, with Hangul, emoji and the
# characters JSON escapes (quotes, backslashes, newlines, tabs).
FIRST = {
    "주문.yaml": 'flow: 주문\nstates:\n  메뉴_확인:\n    say: "어떤 메뉴로 드릴까요? ☕"\n',
    "인사.yaml": "flow: 인사\nstates:\n  시작:\n    say: '안녕하세요\\n\t반가워요 🙏'\n",
}
SECOND = {"주문.yaml": "flow: 주문\nstates:\n  결제:\n    say: 결제할게요\n"}


async def _commit(store: Store, key: str, version: str, state: str, **changes: Any) -> None:
    """A session of ``key`` at ``state`` of ``version``: in a conversation, heard from at
    ``T0`` and talking to the bot, unless ``changes`` say otherwise."""
    fields = {"conversation": 1, "status": Status.BOT, "last_at": T0} | changes
    session = make_session(key, bot_version=version, state=state, **fields)
    await store.commit(session, [], expected_version=0)


# --- add_version and versions ----------------------------------------------------------------


async def test_no_version_is_kept_at_first(store: Store) -> None:
    assert await store.versions() == []


async def test_a_first_version_is_live(store: Store) -> None:
    await store.add_version("v1", FIRST, T0)
    assert await store.versions() == [BotVersion("v1", FIRST, T0, None)]


async def test_a_second_version_replaces_the_first(store: Store) -> None:
    await store.add_version("v1", FIRST, T0)
    await store.add_version("v2", SECOND, T0 + 60)
    assert await store.versions() == [
        BotVersion("v2", SECOND, T0 + 60, None),
        BotVersion("v1", FIRST, T0, T0 + 60),
    ]


async def test_a_rollback_makes_an_old_version_live_again_with_its_own_sources(
    store: Store,
) -> None:
    await store.add_version("v1", FIRST, T0)
    await store.add_version("v2", SECOND, T0 + 60)
    await store.add_version(
        "v1", {"주문.yaml": "다른 내용"}, T0 + 120
    )  # sources kept as they were
    assert await store.versions() == [
        BotVersion("v1", FIRST, T0 + 120, None),
        BotVersion("v2", SECOND, T0 + 60, T0 + 120),
    ]


async def test_a_replaced_version_keeps_when_it_was_first_replaced(store: Store) -> None:
    await store.add_version("v1", FIRST, T0)
    await store.add_version("v2", SECOND, T0 + 60)
    await store.add_version("v3", {}, T0 + 120)
    kept = {v.version: v for v in await store.versions()}
    assert kept["v1"].replaced_at == T0 + 60  # only versions still live get the new time
    assert kept["v2"].replaced_at == T0 + 120


async def test_adding_the_live_version_again_only_moves_its_live_at(store: Store) -> None:
    await store.add_version("v1", FIRST, T0)
    await store.add_version("v2", SECOND, T0 + 60)
    await store.add_version("v2", SECOND, T0 + 90)
    assert await store.versions() == [
        BotVersion("v2", SECOND, T0 + 90, None),
        BotVersion("v1", FIRST, T0, T0 + 60),
    ]


async def test_versions_are_the_live_one_first_then_newest_first(store: Store) -> None:
    for i, version in enumerate(["v1", "v2", "v3", "v4"]):
        await store.add_version(version, {}, T0 + 60 * i)
    await store.add_version("v2", {}, T0 + 600)  # a rollback: the oldest live_at is now newest
    await store.add_version("v5", {}, T0 + 300)  # a clock behind: still the live one
    versions = await store.versions()
    assert [v.version for v in versions] == ["v5", "v2", "v4", "v3", "v1"]
    assert [v.replaced_at is None for v in versions] == [True] + [False] * 4


async def test_versions_live_from_the_same_moment_come_in_version_order(store: Store) -> None:
    for version in ["나", "b", "가", "a"]:
        await store.add_version(version, {}, T0)
    await store.add_version("live", {}, T0 + 1)
    assert [v.version for v in await store.versions()] == ["live", "a", "b", "가", "나"]


async def test_sources_round_trip_with_korean_text(store: Store) -> None:
    sources = {**FIRST, "빈 파일.yaml": "", '따옴표"와\\역슬래시.yaml': "키: '값'\r\n"}
    await store.add_version("2024.06.01-한글", sources, T0)
    (kept,) = await store.versions()
    assert kept.version == "2024.06.01-한글"
    assert dict(kept.sources) == sources
    assert list(kept.sources) == list(sources)  # file order kept too


async def test_many_deploys_at_once_leave_one_live_version(store: Store) -> None:
    await asyncio.gather(*(store.add_version(f"v{i}", {}, T0 + i) for i in range(12)))
    versions = await store.versions()
    assert len(versions) == 12
    assert [v.replaced_at is None for v in versions] == [True] + [False] * 11


@pytest.mark.parametrize(
    ("version", "sources", "at"),
    [
        ("v2", {"주문.yaml": 1}, T0 + 60),  # sources are texts
        ("v2", {}, float("nan")),
        ("v2", {}, float("inf")),
        ("", {}, T0 + 60),
    ],
)
async def test_a_version_that_cannot_be_kept_is_refused_and_changes_nothing(
    store: Store, version: str, sources: Any, at: float
) -> None:
    await store.add_version("v1", FIRST, T0)
    with pytest.raises(StorageError):
        await store.add_version(version, sources, at)
    assert await store.versions() == [BotVersion("v1", FIRST, T0, None)]


async def test_versions_survive_close_and_reopen(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"{backend.name} keeps nothing after close")
    store = backend.make()
    await store.open()
    await store.add_version("v1", FIRST, T0)
    await store.add_version("v2", SECOND, T0 + 60)
    await store.close()

    again = backend.make()
    await again.open()
    try:
        assert await again.versions() == [
            BotVersion("v2", SECOND, T0 + 60, None),
            BotVersion("v1", FIRST, T0, T0 + 60),
        ]
        await again.add_version("v1", SECOND, T0 + 120)
        assert [(v.version, v.replaced_at) for v in await again.versions()] == [
            ("v1", None),
            ("v2", T0 + 120),
        ]
    finally:
        await again.close()


# --- live_states -----------------------------------------------------------------------------


async def test_live_states_count_conversations_per_version_and_state(store: Store) -> None:
    await _commit(store, "kakao:가", "v1", "주문.메뉴_확인")
    await _commit(store, "kakao:나", "v1", "주문.메뉴_확인", last_at=T0 + 5)
    await _commit(store, "web:다", "v1", "주문.결제")
    await _commit(store, "kakao:라", "v2", "주문.결제", status=Status.WITH_AGENT)
    await _commit(store, "kakao:마", "v2", "인사.시작", status=Status.HANDOFF_REQUESTED)
    await _commit(store, "kakao:바", "v2", "인사.시작", conversation=3)
    # not counted: no conversation yet, a closed one, one last heard from before ``since``
    await _commit(store, "kakao:사", "v1", "주문.결제", conversation=0)
    await _commit(store, "kakao:아", "v1", "주문.결제", status=Status.CLOSED)
    await _commit(store, "kakao:자", "v1", "주문.결제", last_at=T0 - 0.5)

    assert await store.live_states(since=T0) == [  # last_at == since counts
        LiveState("v1", "주문.결제", 1),
        LiveState("v1", "주문.메뉴_확인", 2),
        LiveState("v2", "인사.시작", 2),
        LiveState("v2", "주문.결제", 1),
    ]
    assert await store.live_states(since=T0 + 1) == [LiveState("v1", "주문.메뉴_확인", 1)]
    assert sum(s.sessions for s in await store.live_states(since=0)) == 7


async def test_live_states_follow_each_sessions_latest_commit(store: Store) -> None:
    session = make_session("kakao:가", bot_version="v1", state="주문.메뉴_확인", last_at=T0)
    assert await store.commit(session, [], expected_version=0) == 1
    assert await store.live_states(since=T0) == [LiveState("v1", "주문.메뉴_확인", 1)]
    session.bot_version, session.state = "v2", "주문.결제"  # moved to the live version
    assert await store.commit(session, [], expected_version=1) == 2
    assert await store.live_states(since=T0) == [LiveState("v2", "주문.결제", 1)]
    session.status = Status.CLOSED
    assert await store.commit(session, [], expected_version=2) == 3
    assert await store.live_states(since=T0) == []


async def test_live_states_are_ordered_by_code_point_everywhere(store: Store) -> None:
    # Orders a database's collation might change: case, punctuation, digits, Hangul.
    pairs = [("v10", "b"), ("v2", "a_b"), ("v2", "a.c"), ("V3", "가"), ("v2", "B"), ("v2", "ab")]
    for i, (version, state) in enumerate(pairs):
        await _commit(store, f"kakao:{i}", version, state)
    assert [(s.version, s.state) for s in await store.live_states(since=T0)] == sorted(pairs)


async def test_live_states_of_an_empty_store(store: Store) -> None:
    assert await store.live_states(since=0) == []


# --- lifecycle -------------------------------------------------------------------------------


async def _refused(store: Store) -> None:
    with pytest.raises(StorageError):
        await store.add_version("v2", SECOND, T0 + 60)
    with pytest.raises(StorageError):
        await store.versions()
    with pytest.raises(StorageError):
        await store.live_states(since=T0)


async def test_versions_and_live_states_before_open_and_after_close(backend: Backend) -> None:
    store = backend.make()
    await _refused(store)
    await store.open()
    await store.add_version("v1", FIRST, T0)
    await store.close()
    await _refused(store)
