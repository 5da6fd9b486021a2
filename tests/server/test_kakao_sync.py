"""Kakao Sync: a KakaoTalk user whose ``appUserId`` the shop linked is linked with it.

The shop links ``kakao_app:<appUserId>`` to its customer (``POST /customers/{id}/identities``);
the user's next message, which carries the same ``appUserId``, links the Kakao user
(``<bot id>:<botUserKey>``) to that customer, source ``kakao_sync``, and the turn already reads
the customer's profile. A user costs one look-up per process once linked (the messages after
it read nothing from the store's audience), one per five minutes while unlinked. Through the
real ASGI app with the small bot of ``tests/bots/audience``, over a MemoryStore that counts
what is asked of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

import botkit
from botkit.audience import Customer
from botkit.server import ServerSettings, create_app
from botkit.server.identities import KakaoSync
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, WEDNESDAY_MORNING, skill_payload

TOKEN = "shop-customers-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BOT = botkit.load(REPO / "tests" / "bots" / "audience")
KAKAO_USER = "shop:사용자1"  # the bot id and the botUserKey of skill_payload
APP_USER = "4000123"  # 지아's Kakao Login id, as the shop's Kakao Sync signup gave it


class CountingStore(MemoryStore):
    """A MemoryStore that counts the audience reads a message may cost."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def customer_of(self, user: str) -> str | None:
        self.reads.append(user)
        return await super().customer_of(user)

    async def customer(self, customer: str) -> Customer | None:
        self.reads.append(customer)
        return await super().customer(customer)


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def served(store: MemoryStore, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(BOT, ServerSettings(customers_token=TOKEN), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


async def kakao_says(
    client: httpx.AsyncClient, text: str, *, app_user: str | None = APP_USER, user: str = "사용자1"
) -> str:
    """The last bubble the bot answers ``text`` on KakaoTalk, from a channel with Kakao Sync
    (``app_user``: the appUserId in the user's properties; None: a channel without it)."""
    payload = skill_payload(text, user=user)
    if app_user is not None:
        payload["userRequest"]["user"]["properties"]["appUserId"] = app_user
    answer = await client.post("/kakao/skill", json=payload)
    assert answer.status_code == 200, answer.text
    outputs: list[dict[str, Any]] = answer.json()["template"]["outputs"]
    return str(outputs[-1]["simpleText"]["text"])


async def link(client: httpx.AsyncClient, customer: str, user: str) -> None:
    linked = await client.post(
        f"/customers/{customer}/identities", json={"user": user}, headers=AUTH
    )
    assert linked.status_code == 200, linked.text


async def sources(store: MemoryStore, user: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.member, e.source) for e in await store.audience_log() if e.user == user]


async def test_the_shops_kakao_sync_link_links_the_kakao_user_at_their_first_message() -> None:
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await client.put("/customers/C-1042", json={"grade": "VIP"}, headers=AUTH)
        await link(client, "C-1042", f"kakao_app:{APP_USER}")

        clock.now += 60
        store.reads.clear()
        # The first message is greeted by grade: linked, and the profile read, before the turn.
        said = await kakao_says(client, "등급 혜택")
        assert said == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
        assert await store.customer_of(KAKAO_USER) == "C-1042"
        assert await sources(store, KAKAO_USER) == [("linked", "C-1042", "kakao_sync")]
        assert f"kakao_app:{APP_USER}" in store.reads

        # The messages after it read nothing: this process has checked the user.
        store.reads.clear()
        for text in ("안녕하세요", "등급 혜택", "연락처"):
            clock.now += 60
            await kakao_says(client, text)
        assert store.reads == []
        assert await sources(store, KAKAO_USER) == [("linked", "C-1042", "kakao_sync")]


async def test_an_unknown_app_user_links_nobody_and_is_looked_up_once() -> None:
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await client.put("/customers/C-1042", json={"grade": "VIP"}, headers=AUTH)
        store.reads.clear()
        for text in ("안녕하세요", "등급 혜택", "등급 혜택"):
            clock.now += 60
            said = await kakao_says(client, text)
        assert said == "로그인하시면 등급 혜택을 볼 수 있어요."
        assert store.reads == [f"kakao_app:{APP_USER}"]  # once, for three messages
        assert await store.customer_of(KAKAO_USER) is None
        assert await sources(store, KAKAO_USER) == []

        # The shop links the appUserId afterwards: the user's next message links them.
        await link(client, "C-1042", f"kakao_app:{APP_USER}")
        clock.now += 60
        assert (
            await kakao_says(client, "등급 혜택")
            == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
        )
        assert await sources(store, KAKAO_USER) == [("linked", "C-1042", "kakao_sync")]


async def test_a_message_without_an_app_user_costs_no_look_up() -> None:
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await link(client, "C-1042", f"kakao_app:{APP_USER}")
        store.reads.clear()
        await kakao_says(client, "안녕하세요", app_user=None)
        assert store.reads == []
        assert await store.customer_of(KAKAO_USER) is None


async def test_an_account_link_the_user_made_stays() -> None:
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await link(client, "C-2000", KAKAO_USER)  # e.g. through the account-link button
        await link(client, "C-1042", f"kakao_app:{APP_USER}")
        clock.now += 60
        await kakao_says(client, "안녕하세요")
        assert await store.customer_of(KAKAO_USER) == "C-2000"
        assert await sources(store, KAKAO_USER) == [("linked", "C-2000", "api")]


async def test_the_memory_of_users_checked_is_bounded() -> None:
    store = CountingStore()
    await store.open()
    sync = KakaoSync(store, lambda: WEDNESDAY_MORNING, capacity=2)
    for number in (1, 2, 3):
        assert not await sync.identify(f"shop:사용자{number}", f"400000{number}")
    assert len(store.reads) == 3
    await sync.identify("shop:사용자3", "4000003")  # remembered
    await sync.identify("shop:사용자1", "4000001")  # the oldest, forgotten: looked up again
    assert store.reads[3:] == ["kakao_app:4000001"]
    await store.close()


async def test_a_user_found_unlinked_is_looked_up_again_five_minutes_later() -> None:
    """The shop linked the appUserId through another worker: this one never heard of it."""
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await client.put("/customers/C-1042", json={"grade": "VIP"}, headers=AUTH)
        said = await kakao_says(client, "등급 혜택")
        assert said == "로그인하시면 등급 혜택을 볼 수 있어요."
        await store.link(f"kakao_app:{APP_USER}", "C-1042", clock.now, "api")  # elsewhere

        clock.now += 240  # four minutes: still believed unlinked, nothing read
        store.reads.clear()
        assert await kakao_says(client, "등급 혜택") == "로그인하시면 등급 혜택을 볼 수 있어요."
        assert store.reads == []

        clock.now += 60  # five minutes after the look-up: looked up again, and linked
        assert (
            await kakao_says(client, "등급 혜택")
            == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
        )
        assert await sources(store, KAKAO_USER) == [("linked", "C-1042", "kakao_sync")]

        # Linked, the user costs no more look-ups, however long after.
        store.reads.clear()
        clock.now += 3600
        await kakao_says(client, "안녕하세요")
        assert store.reads == []


async def test_an_app_user_id_sent_as_a_number_links_too() -> None:
    store, clock = CountingStore(), Clock()
    async with served(store, clock) as client:
        await client.put("/customers/C-1042", json={"grade": "VIP"}, headers=AUTH)
        await link(client, "C-1042", f"kakao_app:{APP_USER}")
        payload = skill_payload("등급 혜택")
        payload["userRequest"]["user"]["properties"]["appUserId"] = int(APP_USER)
        answer = await client.post("/kakao/skill", json=payload)
        assert answer.status_code == 200, answer.text
        assert await store.customer_of(KAKAO_USER) == "C-1042"
        said = answer.json()["template"]["outputs"][-1]["simpleText"]["text"]
        assert said == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
