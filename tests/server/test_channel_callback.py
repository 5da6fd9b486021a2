"""Kakao's channel webhook (``POST /kakao/channel``): a friend who adds or blocks the channel
becomes a business event segments can count, stored once however often Kakao sends it, and a
call without the app's admin key is refused. Bodies as Kakao Developers documents them
(카카오톡 채널 웹훅): ``event``, ``id``, ``id_type``, ``channel_public_id``, ``channel_uuid``,
``updated_at`` in UTC; the header ``Authorization: KakaoAK <admin key>``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

import botkit
from botkit.records import BusinessEvent
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, WEDNESDAY_MORNING

ADMIN_KEY = "kakao-app-admin-key-0123456789"
KAKAO = {"Authorization": f"KakaoAK {ADMIN_KEY}", "User-Agent": "KakaoOpenAPI/1.0"}
CUSTOMERS_TOKEN = "shop-customers-token-0123"
BOT = botkit.load(REPO / "tests" / "bots" / "audience")
# Monday 23 November 2026, 09:30 in Seoul, as Kakao writes it: in UTC.
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Asia/Seoul"))
ADDED = {
    "event": "added",
    "id": "4012345678",
    "id_type": "app_user_id",
    "channel_public_id": "_ZeUTxl",
    "channel_uuid": "@쇼핑몰",
    "updated_at": "2026-11-23T00:30:00Z",
}


@contextlib.asynccontextmanager
async def served(store: MemoryStore, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    options = {"channel_token": ADMIN_KEY, "customers_token": CUSTOMERS_TOKEN, **settings}
    app = create_app(BOT, ServerSettings(**options), store=store, clock=lambda: WEDNESDAY_MORNING)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


async def test_joins_and_blocks_are_recorded_once_each() -> None:
    store = MemoryStore()
    async with served(store) as client:
        joined = await client.post("/kakao/channel", json=ADDED, headers=KAKAO)
        again = await client.post("/kakao/channel", json=ADDED, headers=KAKAO)  # Kakao retries
        blocked = {**ADDED, "event": "blocked", "updated_at": "2026-11-24T12:00:00+00:00"}
        left = await client.post("/kakao/channel", json=blocked, headers=KAKAO)
        stranger = {**ADDED, "id": "opaque-77", "id_type": "open_id"}
        other = await client.post("/kakao/channel", json=stranger, headers=KAKAO)
        events = await store.events()

    assert joined.status_code == 200, joined.text
    assert joined.json() == {"received": 1, "added": 1}
    assert again.json() == {"received": 1, "added": 0}
    assert left.json()["added"] == other.json()["added"] == 1
    data = {"id_type": "app_user_id", "channel_public_id": "_ZeUTxl"}
    assert events == [
        BusinessEvent(
            "added:kakao_app:4012345678:1795393800000",
            "channel_added",
            "kakao_app:4012345678",
            MONDAY.timestamp(),
            None,
            data,
        ),
        BusinessEvent(
            "added:kakao_open:opaque-77:1795393800000",
            "channel_added",
            "kakao_open:opaque-77",
            MONDAY.timestamp(),
            None,
            {**data, "id_type": "open_id"},
        ),
        BusinessEvent(
            "blocked:kakao_app:4012345678:1795521600000",
            "channel_blocked",
            "kakao_app:4012345678",
            datetime(2026, 11, 24, 21, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp(),
            None,
            data,
        ),
    ]


async def test_a_join_counts_for_the_customer_the_shop_links_the_kakao_login_id_to() -> None:
    store = MemoryStore()
    async with served(store) as client:
        await client.post("/kakao/channel", json=ADDED, headers=KAKAO)
        linked = await client.post(
            "/customers/C-1042/identities",
            json={"user": "kakao_app:4012345678"},
            headers={"Authorization": f"Bearer {CUSTOMERS_TOKEN}"},
        )
        assert linked.status_code == 200, linked.text
        (event,) = await store.events(user="kakao_app:4012345678")
        assert await store.customer_of(event.user) == "C-1042"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "bad_token"),
        ({"Authorization": "KakaoAK wrong-admin-key-0123456789"}, 401, "bad_token"),
        ({"Authorization": ADMIN_KEY}, 401, "bad_token"),  # no scheme
        ({"Authorization": f"Basic {ADMIN_KEY}"}, 401, "bad_token"),
        ({"Authorization": "KakaoAK "}, 401, "bad_token"),
    ],
    ids=["unsigned", "another key", "no scheme", "basic", "empty key"],
)
async def test_a_call_without_the_admin_key_is_refused(
    headers: dict[str, str], status: int, code: str
) -> None:
    store = MemoryStore()
    async with served(store) as client:
        refused = await client.post("/kakao/channel", json=ADDED, headers=headers)
        assert await store.events() == []
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code


async def test_a_bearer_key_is_taken_too_and_no_key_set_turns_the_door_off() -> None:
    store = MemoryStore()
    async with served(store) as client:
        bearer = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert (await client.post("/kakao/channel", json=ADDED, headers=bearer)).status_code == 200
    async with served(MemoryStore(), channel_token=None) as client:
        off = await client.post("/kakao/channel", json=ADDED, headers=KAKAO)
    assert off.status_code == 503
    assert off.json()["error"]["code"] == "no_channel_token"


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({**ADDED, "event": "deleted"}, "bad_channel_event", "event"),
        ({**ADDED, "id_type": "user_id"}, "bad_channel_event", "id_type"),
        ({**ADDED, "updated_at": "2026년 11월 23일"}, "bad_channel_event", "updated_at"),
        ({**ADDED, "updated_at": "2026-11-23T00:30:00"}, "bad_channel_event", "updated_at"),
        ({k: v for k, v in ADDED.items() if k != "updated_at"}, "bad_channel_event", "updated_at"),
        ({**ADDED, "id": ""}, "bad_id", "id"),
        ({**ADDED, "id": "4012\x00345678"}, "bad_id", "id"),
        (["added"], "bad_channel_event", ""),
    ],
    ids=["event", "id type", "korean date", "no time zone", "no time", "empty id", "nul", "list"],
)
async def test_a_body_kakao_would_not_send_is_refused_and_nothing_stored(
    body: Any, code: str, path: str
) -> None:
    store = MemoryStore()
    async with served(store) as client:
        refused = await client.post("/kakao/channel", json=body, headers=KAKAO)
        assert await store.events() == []
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == code
    assert refused.json()["error"]["path"] == path


async def test_a_numeric_id_reads_as_the_same_user() -> None:
    store = MemoryStore()
    async with served(store) as client:
        await client.post("/kakao/channel", json={**ADDED, "id": 4012345678}, headers=KAKAO)
        (event,) = await store.events()
    assert event.user == "kakao_app:4012345678"


async def test_the_same_moment_written_another_way_is_the_same_event() -> None:
    store = MemoryStore()
    async with served(store) as client:
        first = await client.post("/kakao/channel", json=ADDED, headers=KAKAO)
        written = ["2026-11-23T00:30:00+00:00", "2026-11-23T09:30:00+09:00", "2026-11-23T00:30Z"]
        again = [
            await client.post("/kakao/channel", json={**ADDED, "updated_at": at}, headers=KAKAO)
            for at in written
        ]
        a_second_later = {**ADDED, "updated_at": "2026-11-23T00:30:01Z"}
        later = await client.post("/kakao/channel", json=a_second_later, headers=KAKAO)
        events = await store.events()
    assert first.json()["added"] == 1
    assert [response.json()["added"] for response in again] == [0, 0, 0]
    assert later.json()["added"] == 1
    assert [e.at - MONDAY.timestamp() for e in events] == [0.0, 1.0]


async def test_an_id_as_long_as_ids_may_be_keeps_the_event_id_within_256() -> None:
    store = MemoryStore()
    long_id = "오픈아이디" * 51 + "끝"  # 256 characters: the longest id botkit takes
    other = "오픈아이디" * 51 + "다"
    async with served(store) as client:
        for user_id in (long_id, other, long_id):
            body = {**ADDED, "id": user_id, "id_type": "open_id"}
            stored = await client.post("/kakao/channel", json=body, headers=KAKAO)
            assert stored.status_code == 200, stored.text
        events = await store.events()
    assert [e.user for e in events] == [f"kakao_open:{long_id}", f"kakao_open:{other}"]
    assert all(len(e.id) <= 256 for e in events)
    assert events[0].id != events[1].id
    assert long_id not in events[0].id
