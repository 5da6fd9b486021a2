"""The customers API: the shop's server sends profiles, consent and links, and reads them back.

Through the real ASGI app with its lifespan, over a MemoryStore the test reads, for a small bot
(``tests/bots/audience``) whose profile schema marks ``phone`` sensitive; the clock stands
where the test puts it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import botkit
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, WEDNESDAY_MORNING

TOKEN = "shop-customers-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BOT = botkit.load(REPO / "tests" / "bots" / "audience")
PHONE = "010-2345-6789"
PROFILE = {
    "grade": "VIP",
    "age": 27,
    "region": "서울",
    "joined": "2026-03-02",
    "interests": ["패딩", "운동화"],
    "phone": PHONE,
}


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def served(
    store: MemoryStore | None = None, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    options = {"customers_token": TOKEN, **settings}
    app = create_app(
        BOT, ServerSettings(**options), store=store or MemoryStore(), clock=clock or Clock()
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


async def test_a_profile_is_stored_whole_read_back_masked_and_patched() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        put = await client.put("/customers/C-1042", json=PROFILE, headers=AUTH)
        assert put.status_code == 200, put.text
        assert put.json() == {"id": "C-1042", "profile": {**PROFILE, "phone": "***"}}

        got = (await client.get("/customers/C-1042", headers=AUTH)).json()
        assert got["profile"] == {**PROFILE, "phone": "***"}  # sensitive: never shown
        assert got["users"] == []
        assert got["updated_at"] == WEDNESDAY_MORNING
        assert got["consent"]["marketing"] is None  # never asked

        # The customer moved to 부산 and asked the shop to forget their phone number.
        clock.now += 60
        patch = {"region": "부산", "phone": None}
        patched = await client.patch("/customers/C-1042", json=patch, headers=AUTH)
        assert patched.status_code == 200, patched.text
        expected = {k: v for k, v in PROFILE.items() if k != "phone"} | {"region": "부산"}
        assert patched.json()["profile"] == expected
        stored = await store.customer("C-1042")
        assert stored is not None
        assert dict(stored.profile) == expected

        # PUT replaces: what it does not name is gone.
        await client.put("/customers/C-1042", json={"grade": "GOLD"}, headers=AUTH)
        got = (await client.get("/customers/C-1042", headers=AUTH)).json()
        assert got["profile"] == {"grade": "GOLD"}
        assert got["updated_at"] == clock.now


async def test_a_wrong_profile_is_refused_naming_the_attribute_never_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    async with served(store) as client:
        typo = await client.put("/customers/C-7", json={"grde": "VIP"}, headers=AUTH)
        assert typo.status_code == 400
        assert error(typo)["code"] == "bad_profile"
        assert error(typo)["errors"][0]["attribute"] == "grde"
        assert "grade" in error(typo)["errors"][0]["message"]  # did you mean 'grade'?

        secret_number = 1_023_456_789
        wrong = {"phone": secret_number, "age": "스물일곱", "grade": "VVIP"}
        refused = await client.put("/customers/C-7", json=wrong, headers=AUTH)
        assert refused.status_code == 400
        named = {e["attribute"] for e in error(refused)["errors"]}
        assert named == {"phone", "age", "grade"}
        assert str(secret_number) not in refused.text
        assert "스물일곱" not in refused.text

        # Nothing of a refused profile is kept, not even the customer.
        assert await store.customer("C-7") is None
        assert (await client.get("/customers/C-7", headers=AUTH)).status_code == 404

        # A good profile goes through, and no value of it reaches the log at any level.
        await client.put("/customers/C-7", json=PROFILE, headers=AUTH)
        await client.get("/customers/C-7", headers=AUTH)
    for value in (PHONE, "서울", str(secret_number), "스물일곱", "패딩"):
        assert value not in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("put", "/customers/C-1", b"{not json", 400, "bad_json"),
        ("put", "/customers/C-1", b'["VIP"]', 400, "bad_profile"),
        ("patch", "/customers/C-1", b'"VIP"', 400, "bad_profile"),
        ("put", "/customers/user:abc", b"{}", 400, "bad_id"),  # the anonymous members' prefix
        ("put", "/customers/C%001", b"{}", 400, "bad_id"),  # a control character
        ("put", "/customers/" + "C" * 257, b"{}", 400, "bad_id"),
        ("get", "/customers/C-unknown", None, 404, "unknown_customer"),
        ("put", "/customers/C-1/consent", b"{}", 400, "bad_consent"),
        ("put", "/customers/C-1/consent", b'{"marketing": "yes"}', 400, "bad_consent"),
        ("put", "/customers/C-1/consent", b'{"email": true}', 400, "bad_consent"),
        ("post", "/customers/C-1/identities", b"{}", 400, "bad_id"),
        ("post", "/customers/C-1/identities", b"[]", 400, "bad_link"),
        ("delete", "/customers/C-1/links/shop:nobody", None, 404, "not_linked"),
    ],
)
async def test_bad_requests_are_refused_with_a_json_reason(
    method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    store = MemoryStore()
    async with served(store) as client:
        response = await client.request(method, path, content=body, headers=AUTH)
        assert await store.audience_log() == []  # nothing was changed
    assert response.status_code == status, response.text
    assert error(response)["code"] == code


async def test_the_api_needs_its_token() -> None:
    async with served() as client:
        missing = await client.get("/customers/C-1042")
        wrong = await client.put(
            "/customers/C-1042", json=PROFILE, headers={"Authorization": "Bearer nope"}
        )
        other_scheme = await client.get(
            "/customers/C-1042", headers={"Authorization": f"Basic {TOKEN}"}
        )
    for refused in (missing, wrong, other_scheme):
        assert refused.status_code == 401
        assert error(refused)["code"] == "bad_token"

    async with served(customers_token=None) as client:
        off = await client.get("/customers/C-1042", headers=AUTH)
    assert off.status_code == 503
    assert error(off)["code"] == "no_customers_token"


async def test_consent_is_recorded_with_its_time_and_source() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        await client.put("/customers/C-1042", json={"grade": "VIP"}, headers=AUTH)
        said = await client.put(
            "/customers/C-1042/consent",
            json={"marketing": True, "source": "회원가입"},
            headers=AUTH,
        )
        assert said.status_code == 200, said.text
        assert said.json()["consent"]["marketing"] is True
        assert said.json()["consent"]["marketing_source"] == "회원가입"

        clock.now += 3600
        await client.put("/customers/C-1042/consent", json={"night": False}, headers=AUTH)
        consent = (await client.get("/customers/C-1042", headers=AUTH)).json()["consent"]
        log = await store.audience_log(member="C-1042")
    assert consent == {
        "marketing": True,
        "marketing_at": WEDNESDAY_MORNING,
        "marketing_source": "회원가입",
        "night": False,
        "night_at": WEDNESDAY_MORNING + 3600,
        "night_source": "api",
    }
    assert [(e.kind, e.source) for e in log] == [("consent", "회원가입"), ("consent", "api")]


async def test_a_channel_user_is_linked_and_unlinked_with_a_record_of_each() -> None:
    store, clock = MemoryStore(), Clock()
    async with served(store, clock) as client:
        user = {"user": "kakao_app:4012345678"}
        first = await client.post("/customers/C-1042/identities", json=user, headers=AUTH)
        again = await client.post("/customers/C-1042/identities", json=user, headers=AUTH)
        assert first.json() == {"id": "C-1042", "user": "kakao_app:4012345678", "linked": True}
        assert again.json()["linked"] is False  # already linked: nothing new

        got = (await client.get("/customers/C-1042", headers=AUTH)).json()
        assert got["users"] == ["kakao_app:4012345678"]

        clock.now += 60
        gone = await client.delete("/customers/C-1042/links/kakao_app:4012345678", headers=AUTH)
        assert gone.status_code == 200, gone.text
        assert gone.json()["unlinked"] is True
        twice = await client.delete("/customers/C-1042/links/kakao_app:4012345678", headers=AUTH)
        assert twice.status_code == 404
        assert error(twice)["code"] == "not_linked"
        assert await store.customer_of("kakao_app:4012345678") is None
        log = await store.audience_log(member="C-1042")
    assert [(e.kind, e.user, e.source, e.at) for e in log] == [
        ("linked", "kakao_app:4012345678", "api", WEDNESDAY_MORNING),
        ("unlinked", "kakao_app:4012345678", "api", WEDNESDAY_MORNING + 60),
    ]


async def test_a_user_of_another_customer_is_not_unlinked_through_this_one() -> None:
    store = MemoryStore()
    async with served(store) as client:
        await client.post("/customers/C-1/identities", json={"user": "shop:지아"}, headers=AUTH)
        refused = await client.delete("/customers/C-2/links/shop:지아", headers=AUTH)
        assert await store.customer_of("shop:지아") == "C-1"
    assert refused.status_code == 404


async def test_a_purchase_may_name_the_customer_instead_of_the_user() -> None:
    store = MemoryStore()
    events = {"Authorization": "Bearer shop-events-token-0123"}
    by_customer = {"id": "order-1", "kind": "purchase", "customer": "C-1042", "amount": 89_000}
    both = {"id": "order-2", "kind": "purchase", "customer": "C-1042", "user": "shop:지아"}
    neither = {"id": "order-3", "kind": "purchase", "amount": 10_000}
    async with served(store, events_token="shop-events-token-0123") as client:
        taken = await client.post("/events", json={"events": [by_customer, both]}, headers=events)
        refused = await client.post("/events", json={"events": [neither]}, headers=events)
        bad = await client.post(
            "/events", json={"events": [{**by_customer, "customer": ""}]}, headers=events
        )
        stored = await store.events()
    assert taken.json() == {"received": 2, "added": 2}
    assert [(e.id, e.user, e.customer) for e in stored] == [
        ("order-1", "", "C-1042"),
        ("order-2", "shop:지아", "C-1042"),
    ]
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "bad_event",
        "message": "an event names its 'user', its 'customer', or both",
        "path": "events[0]",
    }
    assert bad.status_code == 400
    assert bad.json()["error"]["path"] == "events[0].customer"


async def test_a_web_visitors_id_is_never_shown_to_the_shop() -> None:
    """A visitor's id opens their conversation: the API shows a mask of it, Kakao ids as is."""
    store = MemoryStore()
    visitor = "a1b2c3d4e5f6a7b8c9d0e1f2"  # the widget's id in 지아's browser
    async with served(store) as client:
        linked = await client.post(
            "/customers/C-1042/identities", json={"user": visitor}, headers=AUTH
        )
        await client.post(
            "/customers/C-1042/identities", json={"user": "shop:사용자1"}, headers=AUTH
        )
        got = await client.get("/customers/C-1042", headers=AUTH)
        assert linked.json() == {"id": "C-1042", "user": "web:a1b2…", "linked": True}
        assert got.json()["users"] == ["web:a1b2…", "shop:사용자1"]
        assert visitor not in linked.text + got.text

        # The shop unlinks the visitor as it was shown them.
        gone = await client.delete("/customers/C-1042/links/web:a1b2…", headers=AUTH)
        assert gone.status_code == 200, gone.text
        assert gone.json() == {"id": "C-1042", "user": "web:a1b2…", "unlinked": True}
        assert await store.customer_of(visitor) is None
        assert await store.customer_of("shop:사용자1") == "C-1042"
        again = await client.delete("/customers/C-1042/links/web:a1b2…", headers=AUTH)
        assert again.status_code == 404


async def test_one_customer_id_check_for_the_api_the_import_and_events() -> None:
    """A customer id /customers/{id} could not address is refused wherever it comes in."""
    from zoneinfo import ZoneInfo

    from botkit.cli.customers import Refused, read_jsonl

    events = {"Authorization": "Bearer shop-events-token-0123"}
    bad_ids = ["user:shop:사용자1", "C/1042"]
    async with served(events_token="shop-events-token-0123") as client:
        api = await client.put("/customers/user:shop:사용자1", json={}, headers=AUTH)
        posted = [
            await client.post(
                "/events",
                json={"events": [{"id": f"o-{n}", "kind": "purchase", "customer": customer}]},
                headers=events,
            )
            for n, customer in enumerate(bad_ids)
        ]
    assert api.status_code == 400
    assert error(api)["code"] == "bad_id"
    assert [(p.status_code, error(p)["code"], error(p)["path"]) for p in posted] == [
        (400, "bad_id", "events[0].customer"),
        (400, "bad_id", "events[0].customer"),
    ]
    assert "may not contain '/'" in error(posted[1])["message"]

    lines = "\n".join(json.dumps({"id": customer, "grade": "VIP"}) for customer in bad_ids)
    read = list(read_jsonl(lines, {}, ZoneInfo("Asia/Seoul"), WEDNESDAY_MORNING))
    assert [
        (r.line, "the customer id may" in r.reason) for r in read if isinstance(r, Refused)
    ] == [
        (1, True),
        (2, True),
    ]
