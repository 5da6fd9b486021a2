"""A campaign on KakaoTalk over real HTTP: the sender calls the Event API, Kakao's event block
calls the skill back, the skill's answer is the campaign's message, and the customer's reply
is read at the state the campaign opened.

The server runs on loopback in the test's event loop (uvicorn, as ``botkit serve``) with the
reference bot plus a cart reminder (``tests/campaigns/test_sending.py``) on a SQLite store, its
sender ticking every 50 ms on a clock the test moves; the Event API is the loopback stand-in
(:mod:`botkit.adapters.outbound.standin`), named by the settings as Kakao's would be. Kakao
itself is played by the test: the skill requests it would send, before and after the event.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import botkit
from botkit.adapters.outbound.standin import DEFAULT_REST_KEY, KakaoStandIn, serving
from botkit.campaigns.port import Send as CampaignSend, SendStatus
from botkit.server import KakaoSettings, ServerSettings, create_app
from botkit.storage import SQLiteStore
from tests.campaigns.test_sending import CAMPAIGNS, Clock, at
from tests.server.conftest import (
    MAX_RESPONSE_BYTES,
    SHOP_BOT_ID,
    SKILL_PATH,
    on_loopback,
    quick_reply,
    session_key,
    skill_payload,
    texts,
)
from tests.server.test_kakao_responses import GREETING

REPO = Path(__file__).resolve().parents[2]
EVENTS_TOKEN = "shop-events-token-0123"
CUSTOMERS_TOKEN = "shop-customers-token-0123"
CUSTOMER = "지훈"
USER = "kakao-user-지훈"  # the botUserKey; botkit's user is "shop:<it>"
STRANGER = "kakao-user-someone-else"
REMINDER = "(광고) 장바구니에 담은 패딩, 아직 고민 중이세요?"
ASK_MEMBER_CODE = "회원 코드(영문 2자 + 숫자 6자리)를 입력해 주세요."  # promotion.ask_member
HOLDING = KakaoSettings().holding_text
EVENT_BLOCK = "botkit_campaign 이벤트 블록"


class Recorded:
    """The stand-in's app, with the body of every request it was sent kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        await self.app(scope, reading, send)
        self.bodies.append((scope["path"], orjson.loads(b"".join(chunks))))


@dataclass
class Shop:
    """The server, its store, the Event API stand-in, and the shop's and Kakao's side."""

    client: httpx.AsyncClient
    store: SQLiteStore
    clock: Clock
    standin: KakaoStandIn
    recorded: Recorded
    schema: Draft202012Validator

    async def call(self, method: str, path: str, token: str, body: object) -> None:
        """A call of the shop's server to botkit, with its bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        answer = await self.client.request(method, path, json=body, headers=headers)
        assert answer.is_success, answer.text

    async def skill(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A skill request as Kakao posts it; the answer, checked as Kakao would take it."""
        response = await self.client.post(SKILL_PATH, json=payload)
        assert response.status_code == 200, response.text
        assert len(response.content) <= MAX_RESPONSE_BYTES
        answer: dict[str, Any] = response.json()
        self.schema.validate(answer)
        return answer

    async def event_callback(self, user: str) -> dict[str, Any]:
        """What Kakao's event block sends the skill for ``user`` when the Event API named
        them: no words of the user's, and the event's data as the block's parameters."""
        payload = skill_payload("", user=user, block=EVENT_BLOCK)
        payload["action"]["params"] = {"campaign": "cart_reminder", "variant": "default"}
        payload["action"]["detailParams"] = {
            name: {"origin": value, "value": value, "groupName": ""}
            for name, value in payload["action"]["params"].items()
        }
        return await self.skill(payload)

    async def state_of(self, user: str) -> str | None:
        session = await self.store.load(session_key(user))
        return None if session is None else session.state

    async def reminder(self) -> CampaignSend:
        (send,) = await self.store.sends(campaign="cart_reminder")
        return send


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for the sender's background ticks to have done ``what``."""
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def shop(tmp_path: Path, skill_response_schema: Draft202012Validator) -> AsyncIterator[Shop]:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    (folder / "campaigns.yaml").write_text(CAMPAIGNS, encoding="utf-8")
    clock = Clock(at("2026-12-07 09:00"))  # a Monday morning of the winter sale
    standin = KakaoStandIn(DEFAULT_REST_KEY, bot_ids=[SHOP_BOT_ID], clock=clock)
    recorded = Recorded(standin.app)
    db = tmp_path / "botkit.db"
    async with contextlib.AsyncExitStack() as stack:
        event_api = await stack.enter_async_context(serving(recorded))
        settings = ServerSettings(
            store=f"sqlite:///{db}",
            send_every_s=0.05,
            events_token=EVENTS_TOKEN,
            customers_token=CUSTOMERS_TOKEN,
            kakao=KakaoSettings(event_api_url=event_api, rest_api_key=DEFAULT_REST_KEY),
        )
        store = SQLiteStore(str(db))
        app = create_app(botkit.load(folder), settings, store=store, clock=clock)
        port = await stack.enter_async_context(on_loopback(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
        )
        yield Shop(client, store, clock, standin, recorded, skill_response_schema)


async def test_a_reply_to_a_cart_reminder_on_kakao_continues_where_the_campaign_opened(
    shop: Shop,
) -> None:
    user = f"{SHOP_BOT_ID}:{USER}"
    greeting = await shop.skill(skill_payload("안녕하세요", user=USER))  # reachable from now
    assert texts(greeting)
    await shop.call("POST", f"/customers/{CUSTOMER}/identities", CUSTOMERS_TOKEN, {"user": user})
    await shop.call("PUT", f"/customers/{CUSTOMER}/consent", CUSTOMERS_TOKEN, {"marketing": True})
    shop.clock.now = at("2026-12-07 09:10")
    cart = {"id": "cart-1", "kind": "cart_added", "customer": CUSTOMER}
    await shop.call("POST", "/events", EVENTS_TOKEN, {"events": [cart]})

    shop.clock.now = at("2026-12-07 10:11")  # an hour after the cart: the sender calls Kakao

    async def handed_over() -> bool:
        sends = await shop.store.sends(campaign="cart_reminder")
        return any(s.status in (SendStatus.SENT, SendStatus.DELIVERED) for s in sends)

    await until(handed_over, "the reminder handed to the Event API")
    send = await shop.reminder()
    assert (send.member, send.channel, send.user) == (CUSTOMER, "kakao", user)
    assert send.cost == 15.0
    ((path, body),) = shop.recorded.bodies  # one request, naming the user
    assert path == f"/v2/bots/{SHOP_BOT_ID}/talk"
    assert body["user"] == [{"type": "botUserKey", "id": USER}]
    assert body["event"]["name"] == "botkit_campaign"
    assert body["event"]["data"]["campaign"] == "cart_reminder"
    assert shop.standin.received == {send.key: 1}
    assert USER not in orjson.dumps(body["event"]).decode()  # no user's id in the data

    # Kakao runs the event block, which calls the skill: its answer is the message.
    answer = await shop.event_callback(USER)
    said = texts(answer)
    assert said[0].startswith(REMINDER)
    assert quick_reply(answer, "쿠폰 받기")["extra"] == {"botkit": "get_coupon"}
    assert await shop.state_of(USER) == "promotion.offer"
    assert (await shop.reminder()).status == SendStatus.DELIVERED

    # The customer presses the message's quick reply: read at the state the campaign opened.
    reply = await shop.skill(
        skill_payload("쿠폰 받기", user=USER, extra=quick_reply(answer, "쿠폰 받기")["extra"])
    )
    assert ASK_MEMBER_CODE in texts(reply)
    assert await shop.state_of(USER) == "promotion.ask_member"

    # The Event API's callback again (a resend around a crash): the message is not said twice,
    # and the conversation stays where the customer took it.
    again = await shop.event_callback(USER)
    assert texts(again) == [KakaoSettings().said_text]
    assert await shop.state_of(USER) == "promotion.ask_member"

    # Someone else forges the callback: no campaign was sent to them, so it is an ordinary
    # message (the greeting of a first talk), and nobody's send changes.
    forged = await shop.event_callback(STRANGER)
    assert texts(forged) == [GREETING]
    assert await shop.state_of(STRANGER) == "main.start"
    assert (await shop.reminder()).status == SendStatus.DELIVERED
    await asyncio.sleep(0.2)  # four more ticks: the stand-in hears nothing more
    assert len(shop.recorded.bodies) == 1
