"""The opt-out words (bot.yaml ``opt_out:``) withdraw consent to advertising from any state, on
KakaoTalk and on the widget, through ``botkit serve``: the user is told, the conversation goes
on where it was, and the audience keeps the withdrawal (of the customer the user is linked to,
else of the user)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

import botkit
from botkit.audience import ConsentChange
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import on_loopback

WEDNESDAY_MORNING = 1_795_568_400.0
APP = botkit.load("flows")
SID = "수신거부위젯".encode().hex()
CONFIRMED = "광고 메시지 수신을 거부하셨어요. 앞으로 쇼핑몰 도우미의 광고는 보내지 않을게요."


@asynccontextmanager
async def serving() -> AsyncIterator[tuple[httpx.AsyncClient, MemoryStore]]:
    store = MemoryStore()
    app = create_app(APP, ServerSettings(), store=store, stubs={}, clock=lambda: WEDNESDAY_MORNING)
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client, store


def kakao(utterance: str, user: str) -> dict[str, object]:
    return {
        "userRequest": {"utterance": utterance, "user": {"id": user}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": {}},
    }


def said(answer: httpx.Response) -> list[str]:
    outputs = answer.json()["template"]["outputs"]
    return [o["simpleText"]["text"] for o in outputs if "simpleText" in o]


async def test_kakao_mid_question_the_customer_linked_withdraws_and_keeps_their_place() -> None:
    async with serving() as (client, store):
        await store.link("shop:서연", "C-1042", WEDNESDAY_MORNING - 60, "test")
        given = ConsentChange(WEDNESDAY_MORNING - 60, "api", marketing=True, night=True)
        await store.change_consent("C-1042", given)
        await client.post("/kakao/skill", json=kakao("배송 조회", "서연"))
        answer = await client.post("/kakao/skill", json=kakao("광고 그만", "서연"))
        assert answer.status_code == 200
        assert said(answer) == [CONFIRMED]
        consent = await store.consent("C-1042")
        assert (consent["marketing"], consent["night"]) == (False, False)
        assert consent["marketing_source"] == "opt_out_words"
        log = await store.audience_log(member="C-1042")
        assert [e.kind for e in log][-1] == "consent"
        # still asked for the order number: the answer is read as one
        await client.post("/kakao/skill", json=kakao("1234-567-890", "서연"))
        session = await store.load("kakao:shop:서연")
        assert session is not None
        assert session.state != "order_status.ask_order"


async def test_the_widget_an_anonymous_visitor_withdraws_as_themself() -> None:
    async with serving() as (client, store):
        body = {"sid": SID, "id": "m1", "text": "수신거부"}
        answer = await client.post("/web/messages", json=body)
        assert answer.status_code == 200, answer.text
        texts = [m["text"] for m in answer.json()["messages"] if m.get("text")]
        assert texts[0] == CONFIRMED
        consent = await store.consent("user:" + SID)
        assert consent["marketing"] is False
        records = await store.records(kind="consent_withdrawn")
        assert [r.user for r in records] == [SID]


async def test_words_that_merely_contain_the_opt_out_are_not_one() -> None:
    async with serving() as (client, store):
        body = {"sid": SID, "id": "m1", "text": "수신거부 하면 쿠폰도 못 받나요?"}
        await client.post("/web/messages", json=body)
        assert await store.records(kind="consent_withdrawn") == []
        assert (await store.consent("user:" + SID))["marketing"] is None
