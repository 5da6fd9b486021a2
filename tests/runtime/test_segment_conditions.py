"""A flow reads ``segment.<name>``: the segments the user was in when the conversation started,
looked up by the runtime from the store (their links, profile, events and records) and recorded
on ``conversation_start`` for the reports. tests/bots/segment_greeting greets whoever left
something in the cart in the last hour differently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import botkit
from botkit.effects import Say
from botkit.records import BusinessEvent
from botkit.storage import MemoryStore, SQLiteStore, Store

BOT = botkit.load(Path(__file__).parents[1] / "bots" / "segment_greeting")
NOW = 1_795_568_400.0  # Wednesday 2026-11-25 10:00 in Seoul
MINUTE = 60.0


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    kept: Store = (
        MemoryStore() if request.param == "memory" else SQLiteStore(str(tmp_path / "s.db"))
    )
    await kept.open()
    yield kept
    await kept.close()


async def greeting(store: Store, user: str, at: float = NOW) -> list[str]:
    runtime = BOT.runtime(store, clock=lambda: at)
    reply = await runtime.handle("web", user, "안녕하세요")
    return [e.text for e in reply.effects if isinstance(e, Say) and e.text]


async def test_a_user_who_left_the_cart_an_hour_ago_is_greeted_about_it(store: Store) -> None:
    await store.add_events(
        [BusinessEvent("cart-1", "cart_added", "지민", NOW - 20 * MINUTE, data={"sku": "패딩"})]
    )
    assert await greeting(store, "지민") == [
        "장바구니에 담아 두신 상품이 아직 기다리고 있어요. 지금 주문하시면 무료배송이에요."
    ]
    (start,) = await store.records(kind="conversation_start")
    assert start.data is not None
    assert start.data["segments"] == ["cart_abandoners"]


async def test_one_who_bought_since_or_whose_cart_is_older_is_not(store: Store) -> None:
    await store.add_events(
        [
            BusinessEvent("cart-1", "cart_added", "지민", NOW - 20 * MINUTE),
            BusinessEvent("order-1", "purchase", "지민", NOW - 5 * MINUTE, 59_000.0),
            BusinessEvent("cart-2", "cart_added", "도윤", NOW - 61 * MINUTE),
        ]
    )
    assert await greeting(store, "지민") == ["무엇을 도와드릴까요?"]
    assert await greeting(store, "도윤") == ["무엇을 도와드릴까요?"]


async def test_the_shops_customer_brings_their_profile_and_their_other_channels(
    store: Store,
) -> None:
    """서연 is the shop's VIP customer C-7, linked on the widget; the cart she left was
    posted under her customer id."""
    from botkit.audience import Audience

    assert isinstance(store, Audience)
    await store.put_profile("C-7", {"grade": "VIP"}, NOW - 3600, merge=False)
    await store.link("서연", "C-7", NOW - 3600, "test")
    assert await greeting(store, "서연") == ["VIP 고객님, 다시 찾아 주셔서 감사해요."]
    event = BusinessEvent("cart-9", "cart_added", "", NOW + 60 * MINUTE, customer="C-7")
    await store.add_events([event])
    # a new conversation a day later: her cart, posted by customer id, now comes first
    later = NOW + 24 * 3600
    await store.add_events(
        [BusinessEvent("cart-10", "cart_added", "", later - 10 * MINUTE, customer="C-7")]
    )
    assert await greeting(store, "서연", later) == [
        "장바구니에 담아 두신 상품이 아직 기다리고 있어요. 지금 주문하시면 무료배송이에요."
    ]


async def test_segments_are_looked_up_once_as_the_conversation_starts(store: Store) -> None:
    runtime = BOT.runtime(store, clock=lambda: NOW)
    await runtime.handle("web", "하늘", "안녕하세요")
    await store.add_events([BusinessEvent("cart-1", "cart_added", "하늘", NOW)])
    await runtime.handle("web", "하늘", "또 왔어요")  # the same conversation: not looked up
    session = await store.load("web:하늘")
    assert session is not None
    assert session.segments == []


async def test_a_report_cuts_conversations_by_a_segment_as_they_began(store: Store) -> None:
    from botkit.metrics.report import load_metrics

    await store.add_events([BusinessEvent("cart-1", "cart_added", "지민", NOW - 20 * MINUTE)])
    await greeting(store, "지민")
    await greeting(store, "도윤")
    await greeting(store, "하늘")
    metrics = await load_metrics(store, BOT.bot, by="segment:cart_abandoners", now=NOW + 60)
    sizes = {name: group.conversations for name, group in metrics.groups.items()}
    assert sizes == {"cart_abandoners=yes": 1, "cart_abandoners=no": 2}
