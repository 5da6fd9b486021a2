"""The runtime's one door (``Runtime.apply``) and its read side (``runtime.conversations``):
user messages and operator steps are events with a ``SessionKey``; the handed-off queue is one
store call and one query however many conversations wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import botkit
from botkit.effects import Say
from botkit.errors import NotWithAgent, StepRefused, StorageError
from botkit.events import AgentMessage, ChannelMessage, Claim, Expire, Goto, Keep, Note, Release
from botkit.keys import SessionKey
from botkit.runtime import Failure, Reply, Runtime, kept
from botkit.storage import SQLiteStore, Store
from tests.storage.test_handoff_queries import counting

WEDNESDAY_10AM = 1_795_568_400.0  # the reference bot's agents are in
ASK = "상담원 연결해 주세요"


class CountingStore:
    """A store that notes every call made to it (by method name)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def counted(*args: Any, **options: Any) -> Any:
            self.calls.append(name)
            return attribute(*args, **options)

        return counted


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(str(tmp_path / "bot.db"))
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def runtime(sqlite: SQLiteStore) -> AsyncIterator[Runtime]:
    bot = botkit.load("flows").runtime(sqlite, clock=lambda: WEDNESDAY_10AM)
    yield bot
    await bot.aclose()


def test_a_session_key_is_the_text_the_stores_keep() -> None:
    key = SessionKey("kakao", "shop:카카오유저")  # a Kakao user id has a colon of its own
    assert str(key) == "kakao:shop:카카오유저"
    assert SessionKey.parse(str(key)) == key  # split at the first colon
    assert SessionKey.parse("web:") == SessionKey("web", "")
    with pytest.raises(ValueError, match="<channel>:<user>"):
        SessionKey.parse("no-colon")
    assert len({key, SessionKey("kakao", "shop:카카오유저")}) == 1  # a value: equal, hashable


def test_a_reply_is_a_value_and_kept_is_its_accessor() -> None:
    done = Reply()
    failed = Reply(failure=Failure.ERROR)
    away = Reply(failure=Failure.UNAVAILABLE)
    assert [(r.ok, r.unavailable) for r in (done, failed, away)] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert kept(done) is done
    assert kept(failed) is failed  # the flow's error message is an answer
    with pytest.raises(StorageError, match="nothing of the turn was kept"):
        kept(away)


async def test_messages_and_operator_steps_go_through_one_door(runtime: Runtime) -> None:
    key = SessionKey("kakao", "shop:지우")
    asked = await runtime.apply(key, ChannelMessage(ASK))
    assert asked.status == "handoff_requested"
    (waiting,) = await runtime.conversations.handed_off()
    assert (waiting.session.key, waiting.session.status) == (str(key), "handoff_requested")
    assert await runtime.conversations.waiting() == [key]

    with pytest.raises(StepRefused):
        await runtime.apply(key, Goto("어디에도.없는상태"))  # refused before anything runs
    assert (await runtime.apply(key, Claim("하늘"))).status == "with_agent"
    with pytest.raises(StepRefused):
        await runtime.apply(key, Claim("바다"))  # one agent holds it
    said = await runtime.apply(key, AgentMessage("확인해 볼게요.", "하늘"))
    assert said.texts == ["확인해 볼게요."]
    await runtime.apply(key, Note("주문번호 확인 필요", "하늘"))
    assert await runtime.conversations.waiting() == []  # with an agent, not waiting
    (held,) = await runtime.conversations.handed_off()
    assert held.session.agent == "하늘"

    back = await runtime.apply(key, Release())
    assert back.status == "bot"
    assert await runtime.conversations.handed_off() == []
    with pytest.raises(NotWithAgent):
        await runtime.apply(key, Claim("하늘"))

    session = await runtime.conversations.existing(key)
    said_to = await runtime.conversations.transcript(key, conversation=session.conversation)
    assert {"from": "agent", "agent": "하늘", "text": "확인해 볼게요.", "at": WEDNESDAY_10AM} in (
        said_to
    )
    assert not [e for e in said_to if e["from"] == "note"]  # notes only when asked for
    noted = await runtime.conversations.transcript(key, notes=True)
    assert [e["text"] for e in noted if e["from"] == "note"] == ["주문번호 확인 필요"]


async def test_the_verbs_are_the_same_events(runtime: Runtime) -> None:
    """The old verbs stay, as thin wrappers: the same turn as the event through the door."""
    await runtime.handle("web", "민지", ASK)
    await runtime.claim("web", "민지", agent="하늘")
    assert (await runtime.session("web", "민지")) == (
        await runtime.conversations.session(SessionKey("web", "민지"))
    )
    assert (await runtime.expire("web", "민지")).status == "with_agent"  # taken: nothing expires
    assert (await runtime.apply(SessionKey("web", "민지"), Expire())).status == "with_agent"


async def test_words_kept_for_later_are_said_with_the_next_answer(runtime: Runtime) -> None:
    key = SessionKey("kakao", "shop:하린")
    await runtime.apply(key, ChannelMessage("안녕하세요"))
    nothing = await runtime.apply(key, Keep(()))
    assert nothing == Reply()  # no turn at all
    await runtime.apply(key, Keep((Say(text="늦은 답장"),)))
    answer = await runtime.apply(key, ChannelMessage("배송 조회", with_kept=True))
    assert answer.texts[0] == "늦은 답장"
    again = await runtime.apply(key, ChannelMessage("처음으로", with_kept=True))
    assert "늦은 답장" not in again.texts  # said once


async def test_a_step_for_nobody_creates_no_session(runtime: Runtime) -> None:
    key = SessionKey("web", "아무도아님")
    with pytest.raises(StepRefused):
        await runtime.conversations.existing(key)
    with pytest.raises(StepRefused):
        await runtime.conversations.handed_off_one(key)
    assert await runtime.conversations.session(key) is None


@pytest.mark.parametrize("how_many", [1, 6])
async def test_the_handoff_queue_is_one_store_call_and_one_query(
    sqlite: SQLiteStore, how_many: int
) -> None:
    store = CountingStore(sqlite)
    bot = botkit.load("flows").runtime(store, clock=lambda: WEDNESDAY_10AM)
    for i in range(how_many):
        await bot.handle("web", f"손님{i}", ASK)
        await bot.handle("kakao", f"shop:손님{i}", ASK)
    await bot.claim("web", "손님0", agent="하늘")
    store.calls.clear()
    async with counting(sqlite) as statements:
        queue = await bot.conversations.handed_off()
        waiting = await bot.conversations.waiting()
    assert len(queue) == 2 * how_many
    assert len(waiting) == 2 * how_many - 1
    assert store.calls == ["handoffs", "handoffs"]  # no load per conversation
    assert len(statements) == 2, statements
    await bot.aclose()
