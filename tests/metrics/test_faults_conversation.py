"""Planted traffic for issue 18's faults 2, 4 and 5: what the records say about when a
conversation ended, whether the user was told a handoff timed out, and whether an agent's words
kept a conversation open. Each test drives the reference bot (``flows/``) through the runtime or
the server with a clock it moves, and each failed on the code before the fix.

* Fault 2: a conversation the user abandoned ends at its last activity, even though botkit only
  learns it ended when the user comes back (8 days later here): durations are the planted ones,
  and a purchase 7 days after the last activity is credited to it, one a second later is not.
* Fault 4: when the sweeper finds nobody took a handoff, a KakaoTalk user reads that with the
  answer to their next message, and that message ("여보세요?") is not taken as the phone number
  the timeout state asks for.
* Fault 5: a user who answers an agent 40 minutes after their own last message, 10 after the
  agent's, is still in the same conversation, and their words go to the agent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

import botkit
from botkit.metrics.compute import conversations_of, measure
from botkit.records import BusinessEvent, Record
from botkit.runtime import ActionContext
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore

FLOWS = Path(__file__).resolve().parents[2] / "flows"
MINUTE = 60.0
DAY = 86_400.0
TUESDAY_9AM = 1_795_478_400.0  # 2026-11-24 09:00 in Seoul: the CS team is in until 18:00
NO_AGENT = "기다려 주셔서 감사해요. 지금은 연결할 수 있는 상담원이 없어서 제가 도와드릴게요."
BUSY = "지금은 상담원이 모두 상담 중이에요. 연락처를 남겨 주시면 순서대로 연락드릴게요."
PHONE = "연락 받으실 휴대폰 번호를 알려 주세요. (예: 010-1234-5678)"
OPENERS = ["안녕하세요", "배송 조회", "환불하고 싶어요", "이벤트 뭐 있어요", "자주 묻는 질문"]


def lookup_order(ctx: ActionContext) -> dict[str, Any]:
    return {"status": "배송중", "delivery": {"eta": "11월 27일", "courier": "CJ대한통운"}}


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@asynccontextmanager
async def _running(clock: Clock, store: MemoryStore) -> AsyncIterator[botkit.Runtime]:
    app = botkit.load(FLOWS)
    async with app.run(store=store, clock=clock, stubs={"lookup_order": lookup_order}) as bot:
        yield bot


async def test_an_abandoned_conversation_ends_and_is_credited_from_its_last_activity() -> None:
    rng = random.Random(18)
    clock = Clock(TUESDAY_9AM)
    store = MemoryStore()
    planted: dict[str, tuple[float, float]] = {}  # user → (first message, last activity)
    events: list[BusinessEvent] = []
    async with _running(clock, store) as bot:
        for n in range(30):
            user = f"고객{n:02d}"
            clock.at = TUESDAY_9AM + n * 7 * MINUTE
            first = clock.at
            for _ in range(rng.randint(1, 4)):
                await bot.handle("web", user, rng.choice(OPENERS))
                clock.at += rng.randint(20, 25 * 60)  # within the 30-minute timeout
            last = clock.at  # the user writes once more, then leaves
            await bot.handle("web", user, "잠깐만요")
            planted[user] = (first, last)
            events += [
                BusinessEvent(f"{user}-in", "purchase", user, last + 7 * DAY, 10_000.0),
                BusinessEvent(f"{user}-out", "purchase", user, last + 7 * DAY + 1, 20_000.0),
            ]
        for n in range(30):  # everyone comes back eight days later: botkit learns it ended
            user = f"고객{n:02d}"
            clock.at = planted[user][1] + 8 * DAY
            await bot.handle("web", user, "안녕하세요")
        records: list[Record] = await store.records()

    ends = {r.user: r for r in records if r.kind == "conversation_end"}
    assert {u: (r.conversation, r.at) for u, r in ends.items()} == {
        u: (1, last) for u, (_, last) in planted.items()
    }
    assert all(ends[u].data == {"outcome": "abandoned"} for u in planted)
    first_conversations = {c.user: c for c in conversations_of(records) if c.number == 1}
    assert {u: c.last_at - c.started_at for u, c in first_conversations.items()} == {
        u: last - first for u, (first, last) in planted.items()
    }
    metrics = measure(botkit.load(FLOWS).bot, conversations_of(records), events=events)
    purchases = metrics.business["purchase"]
    assert (purchases["events"], purchases["attributed"]) == (60, 30)  # + 7 d in, + 1 s out
    assert purchases["attributed_amount"] == 30 * 10_000.0


@asynccontextmanager
async def _kakao_server(clock: Clock, store: MemoryStore) -> AsyncIterator[httpx.AsyncClient]:
    """``botkit serve`` on the reference bot, its sweeper looking every 50 ms."""
    app = create_app(
        botkit.load(FLOWS),
        ServerSettings(sweep_s=0.05),
        store=store,
        stubs={"lookup_order": lookup_order},
        clock=clock,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


async def _kakao(client: httpx.AsyncClient, user: str, utterance: str) -> list[str]:
    payload = {
        "userRequest": {"utterance": utterance, "user": {"id": user}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": {}},
    }
    answer = (await client.post("/kakao/skill", json=payload)).json()
    return [o["simpleText"]["text"] for o in answer["template"]["outputs"] if "simpleText" in o]


async def test_a_kakao_user_is_told_nobody_came_and_their_next_words_are_not_a_phone() -> None:
    clock = Clock(TUESDAY_9AM + 2 * 3600)
    store = MemoryStore()
    users = [f"카카오{n}" for n in range(6)]
    async with _kakao_server(clock, store) as client:
        for user in users:
            await _kakao(client, user, "상담원 연결해 주세요")
        clock.at += 11 * MINUTE  # the reference bot waits 10 minutes for an agent
        for _ in range(100):  # the sweeper moves them on in the background
            await asyncio.sleep(0.05)
            timeouts = await store.records(kind="handoff_timeout")
            if len(timeouts) == len(users):
                break
        clock.at += MINUTE
        answers = {user: await _kakao(client, user, "여보세요?") for user in users}
        records = await store.records()

    assert answers == {user: [NO_AGENT, BUSY, PHONE] for user in users}
    last_turns = [r for r in records if r.turn == 2]  # the turn of "여보세요?"
    assert {r.kind for r in last_turns} >= {"message_in", "transition", "message_out"}
    assert not [r for r in records if r.kind in ("slot_rejected", "slot_filled")]
    said = [r.data for r in last_turns if r.kind == "message_in"]
    assert said == [{"text": "여보세요?", "payload": None}] * len(users)  # not masked as a phone


async def test_an_agents_words_keep_the_conversation_open() -> None:
    rng = random.Random(5)
    clock = Clock(TUESDAY_9AM)
    store = MemoryStore()
    users = [f"웹고객{n}" for n in range(12)]
    async with _running(clock, store) as bot:
        for i, user in enumerate(users):
            asked = TUESDAY_9AM + i * 3 * MINUTE
            clock.at = asked
            await bot.handle("web", user, "상담원 연결해 주세요")
            clock.at = asked + rng.randint(1, 9) * MINUTE
            await bot.claim("web", user, agent="하늘")
            clock.at = asked + 30 * MINUTE
            await bot.agent_message("web", user, "주문번호를 알려 주시겠어요?", agent="하늘")
            clock.at = asked + 40 * MINUTE  # 40 min after their own message, 10 after the agent's
            reply = await bot.handle("web", user, "1234-567-890 이에요")
            assert reply.status == "with_agent"
        records = await store.records()

    starts = [r for r in records if r.kind == "conversation_start"]
    assert sorted(r.user for r in starts) == sorted(users)  # one conversation each
    assert not [r for r in records if r.kind == "conversation_end"]
    answered = [
        r for r in records if r.kind == "message_in" and (r.data or {})["text"].endswith("이에요")
    ]
    assert [r.conversation for r in answered] == [1] * len(users)
