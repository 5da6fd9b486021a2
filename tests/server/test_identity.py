"""Linking a channel user to the shop's customer: the widget's identity token, and KakaoTalk's
account-link button with its one-time code.

A forged, missing, expired, replayed or another customer's token leaves the visitor anonymous:
the conversation goes on as if none was given, no link is recorded, and the log says why
without the token. A link code works once, expires, and is refused (4xx JSON, a code for
each reason) when reused, expired or forged. Through the real ASGI app (its socket through
uvicorn on loopback) with the small bot of ``tests/bots/audience``, on a clock the test moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect

import botkit
from botkit.audience.identity import new_link_code, web_token
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, WEDNESDAY_MORNING, on_loopback, skill_payload

SECRET = "shop-identity-secret-0123"
TOKEN = "shop-customers-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOGIN = "https://shop.example.com/login/kakao"
PUBLIC = "https://bot.shop.example.com"
BOT = botkit.load(REPO / "tests" / "bots" / "audience")
NOW = int(WEDNESDAY_MORNING)
NONCE = "nonce-지아-0000000001".encode().hex()[:32]
SID = "identity-test-sid-0001"
OTHER_SID = "identity-test-sid-0002"
KAKAO_USER = "shop:사용자1"  # the bot id and the botUserKey of skill_payload


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


def settings(**changes: Any) -> ServerSettings:
    options = {
        "customers_token": TOKEN,
        "identity_secret": SECRET,
        "account_link_url": LOGIN,
        "public_url": PUBLIC,
        **changes,
    }
    return ServerSettings(**options)


@contextlib.asynccontextmanager
async def served(
    store: MemoryStore, clock: Clock, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(BOT, settings(**changes), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


def good_token(customer: str = "C-1042", *, at: int = NOW, nonce: str = NONCE) -> str:
    return web_token(SECRET, customer, at, nonce)


async def says(client: httpx.AsyncClient, sid: str, text: str, **identity: Any) -> list[str]:
    """What the bot answers the widget's ``text`` over HTTP (with the page's identity)."""
    body = {"sid": sid, "id": f"m-{len(text)}", "text": text, **identity}
    response = await client.post("/web/messages", json=body)
    assert response.status_code == 200, response.text
    return [m.get("text", "") for m in response.json()["messages"]]


async def links_of(store: MemoryStore, user: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.member, e.source) for e in await store.audience_log() if e.user == user]


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the server logged, with each line's fields (not the test's own HTTP client's)."""
    lines = [f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name.startswith("botkit")]
    return "\n".join(lines)


# -- the widget's identity token ------------------------------------------------------------


async def test_a_good_token_links_the_visitor_and_the_conversation_goes_on() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        said = await says(client, SID, "안녕하세요", customer="C-1042", token=good_token())
        assert said == ["무엇을 도와드릴까요?"]
        assert await store.customer_of(SID) == "C-1042"
        assert await links_of(store, SID) == [("linked", "C-1042", "web_identity")]


def _forged() -> dict[str, Any]:
    return {"customer": "C-1042", "token": web_token("another-secret-98765", "C-1042", NOW, NONCE)}


REFUSED = {
    "forged": _forged(),
    "missing token": {"customer": "C-1042"},
    "missing customer": {"token": good_token()},
    "expired": {"customer": "C-1042", "token": good_token(at=NOW - 601)},
    "issued in the future": {"customer": "C-1042", "token": good_token(at=NOW + 120)},
    "another customer's": {"customer": "C-1042", "token": good_token("C-2")},
    "not a token": {"customer": "C-1042", "token": "지아의 토큰"},
    "a tampered customer": {
        "customer": "C-1042",
        "token": good_token().replace(good_token()[:4], good_token("C-9999")[:4], 1),
    },
}


@pytest.mark.parametrize("identity", REFUSED.values(), ids=REFUSED.keys())
async def test_a_token_that_proves_nothing_leaves_the_visitor_anonymous(
    identity: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        said = await says(client, SID, "안녕하세요", **identity)
        assert said == ["무엇을 도와드릴까요?"]  # as if the page had given nothing
        assert await store.customer_of(SID) is None
        assert await links_of(store, SID) == []
    assert "web identity refused" in server_log(caplog)
    if "token" in identity:
        assert identity["token"] not in server_log(caplog)


async def test_a_replayed_token_links_nobody_else(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store, clock = MemoryStore(), Clock()
    token = good_token()
    async with served(store, clock) as client:
        await says(client, SID, "안녕하세요", customer="C-1042", token=token)
        # Someone copied the token out of the customer's page and opens the chat with it.
        clock.now += 30
        said = await says(client, OTHER_SID, "안녕하세요", customer="C-1042", token=token)
        assert said == ["무엇을 도와드릴까요?"]
        assert await store.customer_of(SID) == "C-1042"
        assert await store.customer_of(OTHER_SID) is None
        assert await links_of(store, OTHER_SID) == []
    replays = [r for r in caplog.records if getattr(r, "reason", None) == "replayed"]
    assert len(replays) == 1
    assert token not in server_log(caplog)


async def test_the_socket_links_on_hello_and_a_reconnection_is_no_replay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    token = good_token()
    app = create_app(BOT, settings(), store=store, clock=Clock())
    async with on_loopback(app) as port:
        for sid in (SID, SID, OTHER_SID):  # the tab, its reconnection, then a stranger
            async with connect(f"ws://127.0.0.1:{port}/web/ws") as socket:
                hello = {"type": "hello", "sid": sid, "customer": "C-1042", "token": token}
                await socket.send(json.dumps(hello))
                welcome = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
                assert welcome == {"type": "welcome", "sid": sid}  # the same, linked or not
        assert await store.customer_of(SID) == "C-1042"
        assert await store.customer_of(OTHER_SID) is None
        assert await links_of(store, SID) == [("linked", "C-1042", "web_identity")]
    reasons = [getattr(r, "reason", None) for r in caplog.records]
    assert reasons.count("replayed") == 1  # the stranger; the reconnection was not refused


async def test_a_reconnection_after_the_token_expired_is_no_refusal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store, clock = MemoryStore(), Clock()
    page = {"customer": "C-1042", "token": good_token()}
    app = create_app(BOT, settings(), store=store, clock=clock)
    async with on_loopback(app) as port:
        for later in (0, 3600, 7200):  # the tab stays open; its socket reconnects hours later
            clock.now = WEDNESDAY_MORNING + later
            async with connect(f"ws://127.0.0.1:{port}/web/ws") as socket:
                await socket.send(json.dumps({"type": "hello", "sid": SID, **page}))
                assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5))["type"] == (
                    "welcome"
                )
        # Another visitor with the same, now old token is refused as expired.
        async with connect(f"ws://127.0.0.1:{port}/web/ws") as socket:
            await socket.send(json.dumps({"type": "hello", "sid": OTHER_SID, **page}))
            await asyncio.wait_for(socket.recv(), timeout=5)
        assert await store.customer_of(SID) == "C-1042"
        assert await store.customer_of(OTHER_SID) is None
        assert await links_of(store, SID) == [("linked", "C-1042", "web_identity")]
    reasons = [getattr(r, "reason", None) for r in caplog.records if hasattr(r, "reason")]
    assert reasons == ["expired"]  # the stranger only: the reconnections were no refusal


# -- logging out -----------------------------------------------------------------------------


async def test_a_page_that_names_no_customer_unlinks_the_visitor_its_token_linked() -> None:
    store, clock = MemoryStore(), Clock()
    app = create_app(BOT, settings(), store=store, clock=clock)
    async with on_loopback(app) as port:

        async def hello(sid: str, **page: Any) -> None:
            async with connect(f"ws://127.0.0.1:{port}/web/ws") as socket:
                await socket.send(json.dumps({"type": "hello", "sid": sid, **page}))
                assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5)) == {
                    "type": "welcome",
                    "sid": sid,
                }

        await hello(SID, customer="C-1042", token=good_token())
        assert await store.customer_of(SID) == "C-1042"
        # 지아 logged out; the shop's page no longer names her, and the widget connects again.
        clock.now += 300
        await hello(SID)
        assert await store.customer_of(SID) is None
        assert await links_of(store, SID) == [
            ("linked", "C-1042", "web_identity"),
            ("unlinked", "C-1042", "web_logout"),
        ]
        # A visitor the shop linked itself stays linked: a page without a token never made it.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            shop = await client.post(
                "/customers/C-2000/identities", json={"user": OTHER_SID}, headers=AUTH
            )
            assert shop.status_code == 200, shop.text
        await hello(OTHER_SID)
        assert await store.customer_of(OTHER_SID) == "C-2000"


async def test_the_first_message_over_http_without_a_customer_unlinks_too() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        await says(client, SID, "안녕하세요", customer="C-1042", token=good_token())
        assert await store.customer_of(SID) == "C-1042"
        # The widget's next messages carry nothing (it sent the token once): nothing changes.
        await says(client, SID, "배송 조회")
        assert await store.customer_of(SID) == "C-1042"
        # A page that names nobody says so with its first message.
        clock.now += 300
        await says(client, SID, "안녕", customer=None)
        assert await store.customer_of(SID) is None


# -- KakaoTalk's account-link button --------------------------------------------------------


def web_links(answer: Any) -> Iterator[str]:
    """Every address KakaoTalk would open from a skill response."""
    if isinstance(answer, dict):
        if "webLinkUrl" in answer:
            yield answer["webLinkUrl"]
        for value in answer.values():
            yield from web_links(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from web_links(value)


async def account_link_button(client: httpx.AsyncClient, user: str = "사용자1") -> str:
    """The account-link button's address in the card the bot shows on KakaoTalk, as a path."""
    answer = await client.post("/kakao/skill", json=skill_payload("계정 연결", user=user))
    assert answer.status_code == 200, answer.text
    found = [u for u in web_links(answer.json()) if u.startswith(f"{PUBLIC}/account-link?")]
    assert len(found) == 1, list(web_links(answer.json()))
    parts = urlsplit(found[0])
    return f"{parts.path}?{parts.query}"


async def press(client: httpx.AsyncClient, address: str) -> str:
    """Open the button's address as the user's browser does: the code the login page gets."""
    opened = await client.get(address)
    assert opened.status_code == 302, opened.text
    location = opened.headers["location"]
    assert location.startswith(LOGIN + "?code=")
    return parse_qs(urlsplit(location).query)["code"][0]


async def test_a_link_code_works_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        address = await account_link_button(client)
        code = await press(client, address)
        clock.now += 120  # the customer logs in on the shop's page
        linked = await client.post("/customers/C-1042/links", json={"code": code}, headers=AUTH)
        assert linked.status_code == 200, linked.text
        assert linked.json() == {"id": "C-1042", "user": KAKAO_USER, "linked": True}
        assert await store.customer_of(KAKAO_USER) == "C-1042"
        assert await links_of(store, KAKAO_USER) == [("linked", "C-1042", "account_link")]

        reused = await client.post("/customers/C-9/links", json={"code": code}, headers=AUTH)
        assert reused.status_code == 409
        assert reused.json()["error"]["code"] == "link_code_used"
        assert await store.customer_of(KAKAO_USER) == "C-1042"  # still the first customer's
    for secret in (code, code.split(".")[0], parse_qs(address.partition("?")[2])["token"][0]):
        assert secret not in server_log(caplog)


async def test_two_shops_servers_racing_with_one_code_link_one_customer() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        code = await press(client, await account_link_button(client))
        answers = await asyncio.gather(
            client.post("/customers/C-1/links", json={"code": code}, headers=AUTH),
            client.post("/customers/C-2/links", json={"code": code}, headers=AUTH),
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        winner = next(a for a in answers if a.status_code == 200).json()["id"]
        assert await store.customer_of(KAKAO_USER) == winner


async def test_an_expired_link_code_is_refused() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        code = await press(client, await account_link_button(client))
        clock.now += 600  # ten minutes: the customer went away from the login page
        late = await client.post("/customers/C-1042/links", json={"code": code}, headers=AUTH)
        assert late.status_code == 410
        assert late.json()["error"]["code"] == "link_code_expired"
        assert await store.customer_of(KAKAO_USER) is None
        assert code not in late.text


def _tampered(code: str) -> str:
    random, expires, tag = code.split(".")
    return f"{random}.{int(expires) + 86_400}.{tag}"  # a day more, with botkit's signature


@pytest.mark.parametrize(
    ("forge", "status", "reason"),
    [
        (lambda code: code[:-1] + ("0" if code[-1] != "0" else "1"), 400, "link_code_forged"),
        (_tampered, 400, "link_code_forged"),
        (lambda code: new_link_code("another-secret-98765", WEDNESDAY_MORNING).code, 400,
         "link_code_forged"),
        (lambda code: "지아가-만든-코드", 400, "link_code_forged"),
        (lambda code: 1234, 400, "bad_link_code"),
        (lambda code: None, 400, "bad_link_code"),
    ],
    ids=["altered tag", "later expiry", "another secret", "made up", "a number", "none"],
)  # fmt: skip
async def test_a_forged_link_code_is_refused(forge: Any, status: int, reason: str) -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        code = await press(client, await account_link_button(client))
        forged = await client.post(
            "/customers/C-1042/links", json={"code": forge(code)}, headers=AUTH
        )
        assert forged.status_code == status, forged.text
        assert forged.json()["error"]["code"] == reason
        assert await store.customer_of(KAKAO_USER) is None
        # The real code still works: a forgery spends nothing.
        real = await client.post("/customers/C-1042/links", json={"code": code}, headers=AUTH)
        assert real.status_code == 200


async def test_a_button_works_once_so_a_button_sent_to_someone_else_is_spent() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        address = await account_link_button(client)
        # KakaoTalk's preview of the link spends nothing.
        preview = await client.get(address, headers={"User-Agent": "KakaoTalk-Scrap/1.0"})
        assert preview.status_code == 302
        code = await press(client, address)
        # The address again (a second tab, or someone the user sent it to): no second code.
        again = await client.get(address)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "account_link_used"
        assert "location" not in again.headers
        answer = await client.post("/customers/C-1042/links", json={"code": code}, headers=AUTH)
        assert answer.status_code == 200
        # Asking the bot again gives a button of its own.
        assert await press(client, await account_link_button(client)) != code


async def test_an_old_or_forged_button_makes_no_code_and_a_robot_gets_none() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        address = await account_link_button(client)
        path, _, query = address.partition("?")
        token = parse_qs(query)["token"][0]
        altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
        forged = await client.get(f"{path}?token={altered}")
        assert forged.status_code == 400
        assert forged.json()["error"]["code"] == "account_link_forged"

        preview = await client.get(address, headers={"User-Agent": "KakaoTalk-Scrap/1.0"})
        assert preview.status_code == 302
        assert preview.headers["location"] == LOGIN  # a preview robot: no code

        clock.now += 600  # ten minutes later the card is still in the chat room
        old = await client.get(address)
        assert old.status_code == 410
        assert old.json()["error"]["code"] == "account_link_expired"
        # Asking the bot again gives a button that works.
        assert await press(client, await account_link_button(client))


async def test_the_widget_gets_the_button_relative_to_the_server() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        body = {"sid": SID, "id": "m-1", "text": "계정 연결"}
        reply = (await client.post("/web/messages", json=body)).json()
        buttons = next(m["card"]["buttons"] for m in reply["messages"] if "card" in m)
        assert [b["label"] for b in buttons] == ["계정 연결하기", "쇼핑몰 가기"]
        assert buttons[0]["value"].startswith("account-link?token=")
        code = await press(client, "/" + buttons[0]["value"])
        linked = await client.post("/customers/C-1042/links", json={"code": code}, headers=AUTH)
        assert await store.customer_of(SID) == "C-1042"
        # The visitor's id opens their conversation: the shop's server is shown a mask of it.
        assert linked.json() == {"id": "C-1042", "user": f"web:{SID[:4]}…", "linked": True}
        assert SID not in linked.text


async def test_without_the_settings_the_button_is_left_out() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock, account_link_url=None) as client:
        answer = await client.post("/kakao/skill", json=skill_payload("계정 연결"))
        assert list(web_links(answer.json())) == ["https://shop.example.com/"]
        off = await client.get("/account-link?token=abc")
        assert off.status_code == 404
        assert off.json()["error"]["code"] == "no_account_link"
    async with served(MemoryStore(), clock, identity_secret=None) as client:
        no_secret = await client.post(
            "/customers/C-1042/links", json={"code": "a.1.b"}, headers=AUTH
        )
        assert no_secret.status_code == 503
        assert no_secret.json()["error"]["code"] == "no_identity_secret"
