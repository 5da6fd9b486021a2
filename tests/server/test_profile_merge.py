"""The shop's profile of a customer reaches the conversations of the users linked to them.

The shop's server sends a customer's grade (``PUT /customers/{id}``), the widget links a visitor
with a good identity token, and the visitor's next turn reads ``profile.grade`` in a condition
and a template; ``PATCH`` and ``PUT`` change what the conversation sees, unlinking and linking
to another customer take the attributes away, and a sensitive attribute the flow shows the user
never reaches a record nor the agent console. Through the real ASGI app with the small bot of
``tests/bots/audience``, over a MemoryStore the test reads, on a clock the test moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

import botkit
from botkit.audience.identity import web_token
from botkit.server import Server, ServerSettings, create_app
from botkit.server.config import AgentSettings
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, WEDNESDAY_MORNING, skill_payload

SECRET = "shop-identity-secret-0123"
TOKEN = "shop-customers-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AGENT = "agent-haneul-token-0001"
BOT = botkit.load(REPO / "tests" / "bots" / "audience")
NOW = int(WEDNESDAY_MORNING)
SID = "profile-merge-sid-0001"
KAKAO_USER = "shop:사용자1"  # the bot id and the botUserKey of skill_payload
PHONE = "010-2345-6789"
_MESSAGE_IDS = itertools.count(1)  # the widget's own id of each message, never repeated


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def served(
    store: MemoryStore, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Server]]:
    settings = ServerSettings(
        customers_token=TOKEN,
        identity_secret=SECRET,
        agent=AgentSettings(tokens=(f"haneul:{AGENT}",)),
    )
    app = create_app(BOT, settings, store=store, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client, app


def identity(customer: str = "C-1042", nonce: int = 1) -> dict[str, str]:
    """What the shop's page gives the widget for its logged-in customer."""
    return {"customer": customer, "token": web_token(SECRET, customer, NOW, f"{nonce:032x}")}


async def says(client: httpx.AsyncClient, text: str, **page: Any) -> list[str]:
    """What the bot answers the widget's ``text`` over HTTP (with the page's identity)."""
    sent = next(_MESSAGE_IDS)
    body = {"sid": SID, "id": f"m-{sent}", "text": text, **page}
    response = await client.post("/web/messages", json=body)
    assert response.status_code == 200, response.text
    return [m.get("text", "") for m in response.json()["messages"]]


async def answers(client: httpx.AsyncClient, text: str, **page: Any) -> str:
    """The bot's last bubble (a message after a finished conversation is greeted first)."""
    return (await says(client, text, **page))[-1]


async def put(client: httpx.AsyncClient, customer: str, profile: dict[str, Any]) -> None:
    response = await client.put(f"/customers/{customer}", json=profile, headers=AUTH)
    assert response.status_code == 200, response.text


async def patch(client: httpx.AsyncClient, customer: str, profile: dict[str, Any]) -> None:
    response = await client.patch(f"/customers/{customer}", json=profile, headers=AUTH)
    assert response.status_code == 200, response.text


async def profile_of(app: Server, channel: str, user: str) -> dict[str, Any] | None:
    session = await app.runtime.session(channel, user)
    return None if session is None else dict(session.profile or {})


async def test_a_linked_visitor_sees_the_customers_grade_as_the_shop_changes_it() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "GOLD", "region": "서울"})
        assert await says(client, "안녕하세요") == ["무엇을 도와드릴까요?"]
        assert await answers(client, "등급 혜택") == "로그인하시면 등급 혜택을 볼 수 있어요."

        # The visitor logs in on the shop's page: the widget sends the identity token.
        clock.now += 60
        assert await says(client, "안녕하세요", **identity()) == ["무엇을 도와드릴까요?"]
        assert (
            await answers(client, "등급 혜택") == "GOLD 등급 고객님, 이번 달 혜택을 확인해 보세요."
        )

        # The customer became VIP: the condition sends them to the VIP desk.
        clock.now += 60
        await patch(client, "C-1042", {"grade": "VIP"})
        assert (
            await answers(client, "등급 혜택") == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
        )
        assert await profile_of(app, "web", SID) == {"grade": "VIP", "region": "서울"}

        # PATCH with null removes the grade from the conversation too, not just from the CRM.
        clock.now += 60
        await patch(client, "C-1042", {"grade": None})
        assert await answers(client, "등급 혜택") == "로그인하시면 등급 혜택을 볼 수 있어요."
        assert await profile_of(app, "web", SID) == {"region": "서울"}

        # PUT replaces the whole profile: the region it no longer names is gone.
        clock.now += 60
        await put(client, "C-1042", {"grade": "SILVER"})
        assert (
            await answers(client, "등급 혜택")
            == "SILVER 등급 고객님, 이번 달 혜택을 확인해 보세요."
        )
        assert await profile_of(app, "web", SID) == {"grade": "SILVER"}


async def test_a_visitor_who_logs_in_before_their_first_message_is_greeted_by_grade() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "VIP"})
        # The page's first message carries the token: the link comes before the turn.
        said = await says(client, "등급 혜택", **identity())
        assert said[-1] == "VIP 고객님, 전용 상담 창구로 안내해 드릴게요."
        assert await store.customer_of(SID) == "C-1042"
        assert await profile_of(app, "web", SID) == {"grade": "VIP"}


async def test_a_sensitive_attribute_is_the_flows_but_never_in_records_nor_the_console() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "GOLD", "phone": PHONE})
        await says(client, "안녕하세요", **identity())
        # The flow may show the customer their own number: the session holds it.
        assert await answers(client, "연락처") == f"등록된 연락처는 {PHONE} 입니다."
        assert (await profile_of(app, "web", SID) or {})["phone"] == PHONE

        records = await store.records(session=f"web:{SID}")
        assert any(r.kind == "message_out" for r in records)
        assert PHONE not in json.dumps([r.to_row() for r in records], ensure_ascii=False)

        console = await client.get(
            f"/agent/api/conversations/web/{SID}",
            headers={"Authorization": f"Bearer {AGENT}"},
        )
        assert console.status_code == 200, console.text
        assert console.json()["profile"] == {"grade": "GOLD", "phone": "***"}
        assert PHONE not in console.text


async def test_a_kakao_user_linked_by_the_shop_and_then_unlinked() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "GOLD", "phone": PHONE})
        said = await client.post("/kakao/skill", json=skill_payload("안녕하세요"))
        assert said.status_code == 200, said.text
        kakao_own = await profile_of(app, "kakao", KAKAO_USER)
        assert kakao_own is not None
        assert "plusfriendUserKey" in kakao_own  # what Kakao sends with each message

        linked = await client.post(
            "/customers/C-1042/identities", json={"user": KAKAO_USER}, headers=AUTH
        )
        assert linked.status_code == 200, linked.text
        assert await profile_of(app, "kakao", KAKAO_USER) == {
            **kakao_own,
            "grade": "GOLD",
            "phone": PHONE,
        }
        # No web conversation was made for a Kakao user.
        assert await app.runtime.session("web", KAKAO_USER) is None

        # Unlinked: the customer's attributes leave; Kakao's own properties stay.
        clock.now += 60
        gone = await client.delete(f"/customers/C-1042/links/{KAKAO_USER}", headers=AUTH)
        assert gone.status_code == 200, gone.text
        assert await profile_of(app, "kakao", KAKAO_USER) == kakao_own


async def test_a_user_who_never_talked_gets_no_conversation_from_a_profile_change() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        for user in ("shop:사용자9", "kakao_app:4000123"):
            linked = await client.post(
                "/customers/C-1042/identities", json={"user": user}, headers=AUTH
            )
            assert linked.status_code == 200, linked.text
        await put(client, "C-1042", {"grade": "VIP"})
        await patch(client, "C-1042", {"region": "부산"})
        for channel in ("kakao", "web"):
            for user in ("shop:사용자9", "kakao_app:4000123"):
                assert await app.runtime.session(channel, user) is None
        assert await store.records() == []


async def test_the_next_shopper_at_a_shared_computer_does_not_inherit_the_last_ones() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "VIP", "phone": PHONE, "region": "서울"})
        await put(client, "C-2000", {"grade": "SILVER"})
        await says(client, "안녕하세요", **identity("C-1042"))
        assert await profile_of(app, "web", SID) == {
            "grade": "VIP",
            "phone": PHONE,
            "region": "서울",
        }

        # Another customer logs in on the same browser: the visitor is theirs now.
        clock.now += 60
        await says(client, "안녕하세요", **identity("C-2000", nonce=2))
        assert await store.customer_of(SID) == "C-2000"
        assert await profile_of(app, "web", SID) == {"grade": "SILVER"}
        assert (
            await answers(client, "등급 혜택")
            == "SILVER 등급 고객님, 이번 달 혜택을 확인해 보세요."
        )


async def test_a_customer_who_logs_out_takes_their_profile_out_of_the_conversation() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "VIP", "phone": PHONE})
        await says(client, "안녕하세요", **identity())
        assert await profile_of(app, "web", SID) == {"grade": "VIP", "phone": PHONE}

        # 지아 logs out: the page names nobody, and its first message says so.
        clock.now += 60
        await says(client, "안녕하세요", customer=None)
        assert await store.customer_of(SID) is None
        assert await profile_of(app, "web", SID) == {}
        assert await answers(client, "등급 혜택") == "로그인하시면 등급 혜택을 볼 수 있어요."


class HeldStore(MemoryStore):
    """A MemoryStore whose next profile write waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.hold: asyncio.Event | None = None
        self.held = asyncio.Event()

    async def put_profile(
        self, customer: str, profile: Mapping[str, Any], at: float, *, merge: bool
    ) -> dict[str, Any]:
        hold, self.hold = self.hold, None
        if hold is not None:
            self.held.set()
            await hold.wait()
        return await super().put_profile(customer, profile, at, merge=merge)


async def test_two_profile_writes_at_once_leave_the_conversation_as_the_store() -> None:
    store, clock = HeldStore(), Clock()
    async with served(store, clock) as (client, app):
        await put(client, "C-1042", {"grade": "VIP"})
        await says(client, "안녕하세요", **identity())

        # The CRM replaces the profile while another of its jobs adds the region: the PUT has
        # read the profile it replaces, and is held before its write.
        gate = store.hold = asyncio.Event()
        replacing = asyncio.create_task(put(client, "C-1042", {"grade": "VIP"}))
        await asyncio.wait_for(store.held.wait(), timeout=5)
        adding = asyncio.create_task(patch(client, "C-1042", {"region": "부산"}))
        await asyncio.wait({adding}, timeout=1)  # the PATCH would be done by now, were it let
        gate.set()
        await asyncio.gather(replacing, adding)

        stored = await store.customer("C-1042")
        assert stored is not None
        # Whichever came last, the conversation holds what the store holds: nothing removed
        # lingers, nothing added is lost.
        assert await profile_of(app, "web", SID) == dict(stored.profile)
