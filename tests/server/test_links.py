"""Links the bot shows are opened through botkit: ``GET /link/{id}`` records the click in the
user's conversation and sends them on with a 302, and nobody can make it send anyone anywhere
else or record clicks for someone else. Through the real ASGI app, a Kakao user and a widget
user talking to a small shop bot, on a clock the test moves."""

from __future__ import annotations

import base64
import contextlib
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from jsonschema import Draft202012Validator

from botkit.app import BotApp
from botkit.errors import ConfigurationError
from botkit.flow import compile_texts
from botkit.records import RecordKind
from botkit.server import ServerSettings, create_app
from botkit.server.links import link_id
from botkit.server.redaction import Redactor
from botkit.storage import MemoryStore
from tests.server.conftest import WEDNESDAY_MORNING, session_key, skill_payload

SALE = "https://shop.example.com/sale"
PADDING = "https://shop.example.com/items/padding"
ORDER = "https://shop.example.com/orders/{{order_no}}"
SECRET = "link-secret-0123456789"
PUBLIC = "https://bot.shop.example.com"
SID = "links-test-sid-0001"

FLOW = textwrap.dedent(
    """
    flow: shop
    start: welcome
    slots:
      order_no:
        type: text
    states:
      welcome:
        say:
          - card:
              title: 겨울 세일
              description: 전 상품 20% 할인
              buttons:
                - label: 세일 보기
                  url: "https://shop.example.com/sale"
                - label: 내 주문
                  url: "https://shop.example.com/orders/{{order_no}}"
          - list:
              header: 인기 상품
              items:
                - title: 패딩 점퍼
                  url: "https://shop.example.com/items/padding"
                - title: 그만 볼게요
                  to: bye
        on:
          - keywords: [그만]
            to: bye
      bye:
        say: 안녕히 가세요
        end: resolved
    """
).lstrip()


def shop_bot() -> BotApp:
    result = compile_texts([("shop.yaml", FLOW)])
    assert result.bot is not None, [p.message for p in result.problems]
    return BotApp(result.bot, sources={"shop.yaml": FLOW})


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def served(
    store: MemoryStore, clock: Clock, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    options = {"link_secret": SECRET, "public_url": PUBLIC, **settings}
    app = create_app(shop_bot(), ServerSettings(**options), store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


async def kakao_says(client: httpx.AsyncClient, text: str, user: str = "사용자1") -> Any:
    response = await client.post("/kakao/skill", json=skill_payload(text, user=user))
    assert response.status_code == 200, response.text
    return response.json()


def kakao_links(answer: Any) -> Iterator[str]:
    """Every address KakaoTalk would open from ``answer``: buttons' and list items' links."""
    if isinstance(answer, dict):
        if "webLinkUrl" in answer:
            yield answer["webLinkUrl"]
        if isinstance(answer.get("link"), dict):
            yield answer["link"]["web"]
        for value in answer.values():
            yield from kakao_links(value)
    elif isinstance(answer, list):
        for value in answer:
            yield from kakao_links(value)


def on_server(address: str) -> str:
    """The path and query the server is asked for when ``address`` is opened."""
    parts = urlsplit(address)
    return f"{parts.path}?{parts.query}"


def forged(address: str) -> str:
    """``address`` with its token altered: what someone without the secret can make."""
    path, _, query = on_server(address).partition("?")
    token = parse_qs(query)["token"][0]
    altered = "B" if token[16] == "A" else "A"  # a middle character: six bits of the seal
    return f"{path}?token={token[:16]}{altered}{token[17:]}"


async def clicks(store: MemoryStore) -> list[dict[str, Any]]:
    return [r.data or {} for r in await store.records(kind=RecordKind.LINK_CLICKED)]


async def test_a_kakao_link_goes_through_botkit_and_its_click_is_recorded(
    skill_response_schema: Draft202012Validator,
) -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        answer = await kakao_says(client, "안녕하세요")
        skill_response_schema.validate(answer)  # still a SkillResponse Kakao takes
        links = list(kakao_links(answer))
        assert len(links) == 3  # 세일 보기, 내 주문, 패딩 점퍼
        sale, order, padding = links
        assert sale.startswith(f"{PUBLIC}/link/{link_id(SALE)}?token=")
        assert padding.startswith(f"{PUBLIC}/link/{link_id(PADDING)}?token=")
        assert order == ORDER  # templated: cannot be checked against the flows, left alone
        # The user's id is not in clear, nor percent-encoded.
        assert "kakao" not in sale
        assert "사용자1" not in sale
        assert quote("사용자1") not in sale

        clock.now += 60
        response = await client.get(on_server(sale))
        assert response.status_code == 302
        assert response.headers["location"] == SALE
        assert response.headers["cache-control"] == "no-store"
        assert await clicks(store) == [{"url": SALE, "state": "shop.welcome"}]
        (record,) = await store.records(kind=RecordKind.LINK_CLICKED)
        assert (record.session, record.conversation, record.at) == (
            session_key(),
            1,
            WEDNESDAY_MORNING + 60,
        )
        session = await store.load(session_key())
        assert session is not None
        assert session.last_at == WEDNESDAY_MORNING  # a click is not a word to the bot
        assert session.state == "shop.welcome"  # nobody moved

        response = await client.get(on_server(padding))
        assert (response.status_code, response.headers["location"]) == (302, PADDING)
        assert [c["url"] for c in await clicks(store)] == [SALE, PADDING]


async def test_a_forged_or_missing_signature_still_redirects_but_records_nothing() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        sale, _, padding = kakao_links(await kakao_says(client, "안녕하세요"))
        path = on_server(sale).partition("?")[0]
        another_links_token = on_server(padding).partition("?")[2]
        for address in (forged(sale), path, f"{path}?token=", f"{path}?{another_links_token}"):
            response = await client.get(address)
            assert (response.status_code, response.headers["location"]) == (302, SALE), address
        # Someone else's session, signed with a guess: still nobody's click.
        who = base64.urlsafe_b64encode(b"1:kakao:shop:other").rstrip(b"=").decode()
        response = await client.get(f"{path}?token={who}.{'A' * 22}")
        assert response.status_code == 302
        assert await clicks(store) == []


async def test_a_link_preview_robot_and_a_head_request_are_not_clicks() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        sale = next(kakao_links(await kakao_says(client, "안녕하세요")))
        scraper = {"User-Agent": "facebookexternalhit/1.1; kakaotalk-scrap/1.0"}
        assert (await client.get(on_server(sale), headers=scraper)).status_code == 302
        assert (await client.head(on_server(sale))).status_code == 302
        assert await clicks(store) == []


async def test_an_unknown_id_is_a_json_404_and_never_a_redirect() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        sale = next(kakao_links(await kakao_says(client, "안녕하세요")))
        token = on_server(sale).partition("?")[2]
        off_site = [
            (f"/link/{link_id('https://evil.example.com/')}", "unknown_link"),  # in no flow
            (f"/link/{link_id('https://evil.example.com/')}?{token}", "unknown_link"),
            (f"/link/{link_id(ORDER)}", "unknown_link"),  # the templated one is no target
            (f"/link/{link_id(SALE)}0", "unknown_link"),  # an id one character longer
            (f"/link/{link_id(SALE)[:-1]}?url=https://evil.example.com", "unknown_link"),
            ("/link/https:%2F%2Fevil.example.com", "not_found"),  # no such route at all
        ]
        for address, code in off_site:
            response = await client.get(address)
            assert response.status_code == 404, address
            assert "location" not in response.headers
            assert response.json()["error"]["code"] == code
            assert response.json()["error"]["message"]
        # Whatever the query says, a known id goes where the flows say, nowhere else.
        response = await client.get(f"{on_server(sale)}&url=https://evil.example.com")
        assert response.headers["location"] == SALE
        assert [c["url"] for c in await clicks(store)] == [SALE]


async def test_a_click_on_an_ended_conversation_counts_there_until_the_next_one_begins() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        sale = next(kakao_links(await kakao_says(client, "안녕하세요")))
        await kakao_says(client, "그만")  # 안녕히 가세요: the conversation ends
        assert (await client.get(on_server(sale))).status_code == 302
        assert [(r.conversation, r.kind) for r in (await store.records())[-2:]] == [
            (1, RecordKind.MESSAGE_OUT),
            (1, RecordKind.LINK_CLICKED),
        ]
        await kakao_says(client, "다시 왔어요")  # a second conversation begins
        response = await client.get(on_server(sale))
        assert (response.status_code, response.headers["location"]) == (302, SALE)
        assert len(await clicks(store)) == 1  # the first conversation's link: not this one's


async def test_a_click_of_a_user_the_store_never_saw_creates_no_session() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        sale = next(kakao_links(await kakao_says(client, "안녕하세요", user="사용자2")))
    other = MemoryStore()  # the same server secret, a store without that user
    async with served(other, clock) as client:
        assert (await client.get(on_server(sale))).status_code == 302
        assert await other.load(session_key("사용자2")) is None
        assert await other.records() == []


async def test_a_new_versions_links_are_tracked_and_the_earlier_ones_still_open() -> None:
    store, clock = MemoryStore(), Clock()
    app = create_app(
        shop_bot(),
        ServerSettings(link_secret=SECRET, public_url=PUBLIC),
        store=store,
        clock=clock,
    )
    winter = "https://shop.example.com/winter"
    flow = FLOW.replace(SALE, winter)  # the sale page moved
    reloaded = compile_texts([("shop.yaml", flow)]).bot
    assert reloaded is not None
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        sale = next(kakao_links(await kakao_says(client, "안녕하세요", user="사용자1")))
        await app.runtime.go_live(reloaded, {"shop.yaml": flow})
        moved = next(kakao_links(await kakao_says(client, "안녕하세요", user="사용자2")))
        assert moved.startswith(f"{PUBLIC}/link/{link_id(winter)}?token=")
        assert (await client.get(on_server(moved))).headers["location"] == winter
        # 사용자1's conversation runs on the earlier version, whose link still opens.
        assert (await client.get(on_server(sale))).headers["location"] == SALE
        assert sorted(c["url"] for c in await clicks(store)) == [SALE, winter]


async def test_the_widget_gets_addresses_relative_to_the_server() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock, public_url=None) as client:
        body = {"sid": SID, "id": "m1", "text": "안녕하세요"}
        reply = (await client.post("/web/messages", json=body)).json()
        card, listing = reply["messages"]
        sale = card["card"]["buttons"][0]["value"]
        assert sale.startswith(f"link/{link_id(SALE)}?token=")
        # The widget's session id opens its user's history: no decoding of the address shows it.
        token = parse_qs(urlsplit(sale).query)["token"][0]
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert SID.encode() not in decoded
        assert SID not in sale
        assert card["card"]["buttons"][1]["value"] == ORDER
        assert listing["list"]["items"][0]["url"].startswith(f"link/{link_id(PADDING)}?")
        response = await client.get("/" + sale)
        assert (response.status_code, response.headers["location"]) == (302, SALE)
        (record,) = await store.records(kind=RecordKind.LINK_CLICKED)
        assert record.session == f"web:{SID}"
        # KakaoTalk opens only absolute links: without a public URL its links stay the shop's.
        assert list(kakao_links(await kakao_says(client, "안녕하세요"))) == [SALE, ORDER, PADDING]


async def test_without_a_link_secret_links_go_straight_to_the_shop() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock, link_secret=None) as client:
        assert list(kakao_links(await kakao_says(client, "안녕하세요"))) == [SALE, ORDER, PADDING]
        body = {"sid": SID, "id": "m1", "text": "안녕하세요"}
        reply = (await client.post("/web/messages", json=body)).json()
        assert reply["messages"][0]["card"]["buttons"][0]["value"] == SALE
        # The flows' links still redirect (an address given out earlier keeps working).
        response = await client.get(f"/link/{link_id(SALE)}")
        assert (response.status_code, response.headers["location"]) == (302, SALE)
        assert await clicks(store) == []


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("link_secret", "short", "'link_secret' has 5 characters"),
        ("public_url", "bot.shop.example.com", "'public_url' must be"),
        ("public_url", "javascript:alert(1)", "'public_url' must be"),
    ],
)
def test_a_bad_link_setting_stops_the_server_from_starting(
    setting: str, value: str, named: str
) -> None:
    changed: dict[str, Any] = {setting: value}
    settings = replace(ServerSettings(link_secret=SECRET), **changed)
    with pytest.raises(ConfigurationError, match=named):
        create_app(shop_bot(), settings, store=MemoryStore())


def test_the_link_secret_never_reaches_a_log_line() -> None:
    redactor = Redactor.of(ServerSettings(link_secret=SECRET))
    assert SECRET not in redactor.redact(f"signing with {SECRET}")
    # The token names the user's session: hidden wherever an address is logged.
    assert "MTpr" not in redactor.redact("GET /link/abc?token=MTpr.sig HTTP/1.1")
