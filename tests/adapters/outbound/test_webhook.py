"""The signed webhook provider against the webhook stand-in, over HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from botkit.adapters.outbound import Outgoing, Provider, WebhookProvider, sign, verify_signature
from tests.adapters.outbound.conftest import AT, SECRET, RunningHook, closed_port, logged

Make = Callable[..., WebhookProvider]
PHONE = "010-2345-6789"


def message(n: int = 1, **changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "key": f"{n:032x}",
        "campaign": "cart_reminder",
        "variant": "B",
        "user": f"customer-{n}",
        "says": (
            {"text": "(광고) 장바구니에 담은 상품이 곧 품절돼요"},
            {"text": f"수신거부: 080-000-0000, 문의 {PHONE}"},
        ),
        "advertising": True,
    }
    return Outgoing(**(fields | changes))


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[WebhookProvider] = []

    def provider(url: str, secret: str = SECRET, **options: Any) -> WebhookProvider:
        made.append(WebhookProvider(url, secret, clock=lambda: AT, **options))
        return made[-1]

    yield provider
    for hook in made:
        await hook.aclose()


async def test_a_signed_message_is_taken_once(make: Make, hook: RunningHook) -> None:
    provider = make(hook.url, max_batch=10)
    assert isinstance(provider, Provider)
    assert provider.max_batch == 10
    batch = [message(1), message(2)]
    outcomes = await provider.send(batch)

    assert [(o.key, o.status, o.provider_id) for o in outcomes] == [
        (batch[0].key, "sent", "msg-1"),
        (batch[1].key, "sent", "msg-2"),
    ]
    assert {o.cost for o in outcomes} == {0.0}
    assert hook.standin.bodies[batch[0].key] == {
        "key": batch[0].key,
        "campaign": "cart_reminder",
        "variant": "B",
        "user": "customer-1",
        "says": [
            {"text": "(광고) 장바구니에 담은 상품이 곧 품절돼요"},
            {"text": f"수신거부: 080-000-0000, 문의 {PHONE}"},
        ],
        "advertising": True,
        "sent_at": "2026-03-02T00:00:00Z",
    }
    assert await provider.results(["msg-1"]) == {}  # a dealer reports no delivery


async def test_a_resent_key_is_dropped_by_the_dealer(make: Make, hook: RunningHook) -> None:
    first = await make(hook.url).send([message(7)])
    again = await make(hook.url).send([message(7)])

    assert first == again  # the same id: the dealer knew the key
    assert hook.standin.messages == 1
    assert hook.standin.duplicates == 1
    assert hook.standin.received[message(7).key] == 2


async def test_the_headers_sign_the_exact_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": 42})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        provider = WebhookProvider(
            "http://dealer.test/hook", SECRET, client=client, clock=lambda: AT + 0.9
        )
        (outcome,) = await provider.send([message(3)])
    request = seen[0]
    assert (outcome.status, outcome.provider_id) == ("sent", "42")
    assert request.headers["idempotency-key"] == message(3).key
    assert request.headers["x-botkit-timestamp"] == str(int(AT))
    signature = request.headers["x-botkit-signature"]
    assert signature == sign(SECRET, str(int(AT)), request.content)
    assert signature.startswith("v1=")
    assert len(signature) == 3 + 64
    assert orjson.loads(request.content)["key"] == message(3).key


def test_verify_signature_refuses_tampering() -> None:
    body = orjson.dumps({"key": "k", "says": [{"text": "안녕하세요"}]})
    stamp = str(int(AT))
    good = sign(SECRET, stamp, body)
    assert verify_signature(SECRET, stamp, body, good, now=AT)
    assert verify_signature(SECRET, stamp, body, good, now=AT + 300)
    assert verify_signature(SECRET, stamp, body, f"v0=abc, {good}", now=AT)  # a rotation list

    assert not verify_signature(SECRET, stamp, body + b" ", good, now=AT)  # the body changed
    assert not verify_signature(SECRET, str(int(AT) + 1), body, good, now=AT)  # the timestamp
    assert not verify_signature("another-secret", stamp, body, good, now=AT)
    assert not verify_signature(SECRET, stamp, body, good, now=AT + 301)  # a replay, later
    assert not verify_signature(SECRET, stamp, body, good, now=AT - 301)
    assert not verify_signature(SECRET, stamp, body, good.replace("v1=", "v2="), now=AT)
    assert not verify_signature(SECRET, stamp, body, good.removeprefix("v1="), now=AT)
    assert not verify_signature(SECRET, stamp, body, "", now=AT)
    assert not verify_signature("", stamp, body, sign("", stamp, body), now=AT)
    for broken in ("", "-1", "1e9", "１７７２４０９６００", "9" * 13, f"{stamp}.0"):
        assert not verify_signature(SECRET, broken, body, sign(SECRET, broken, body), now=AT)


async def test_the_stand_in_refuses_a_bad_signature(make: Make, hook: RunningHook) -> None:
    wrong = await make(hook.url, secret="not-the-secret").send([message(1)])
    assert [(o.status, o.reason) for o in wrong] == [("parked", "webhook answered 401")]

    late = WebhookProvider(hook.url, SECRET, clock=lambda: AT + 3600)
    assert [o.status for o in await late.send([message(1)])] == ["parked"]
    await late.aclose()

    body = orjson.dumps({"key": message(2).key})
    stamp = str(int(AT))
    headers = {
        "Idempotency-Key": message(2).key,
        "X-Botkit-Timestamp": stamp,
        "X-Botkit-Signature": sign(SECRET, stamp, body),
    }
    async with httpx.AsyncClient() as client:
        tampered = await client.post(hook.url, content=body + b" ", headers=headers)
        other_key = await client.post(
            hook.url, content=body, headers=headers | {"Idempotency-Key": message(3).key}
        )
        good = await client.post(hook.url, content=body, headers=headers)
    assert tampered.status_code == 401
    assert other_key.status_code == 400  # the key signed is not the key claimed
    assert good.status_code == 200
    assert hook.standin.bad_signatures == 3
    assert hook.standin.messages == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "expected", "wait"),
    [
        (400, None, "parked", None),
        (403, None, "parked", None),
        (404, None, "parked", None),
        (409, None, "parked", None),
        (422, None, "parked", None),
        (408, None, "failed", None),
        (429, 30, "failed", 30.0),
        (500, None, "failed", None),
        (502, None, "failed", None),
        (503, 1.5, "failed", 1.5),
    ],
)
async def test_what_each_answer_means(
    make: Make,
    hook: RunningHook,
    status: int,
    retry_after: float | None,
    expected: str,
    wait: float | None,
) -> None:
    hook.standin.update({"fail_next": 1, "status": status, "retry_after": retry_after})
    (outcome,) = await make(hook.url).send([message(1)])
    assert (outcome.status, outcome.reason, outcome.retry_after) == (
        expected,
        f"webhook answered {status}",
        wait,
    )
    assert outcome.provider_id is None
    (retried,) = await make(hook.url).send([message(1)])
    assert retried.status == "sent"
    assert hook.standin.messages == 1


async def test_a_refused_connection_and_a_timeout_are_tried_again(
    make: Make, hook: RunningHook
) -> None:
    (refused,) = await make(f"http://127.0.0.1:{closed_port()}/").send([message(1)])
    assert (refused.status, refused.reason) == ("failed", "connection refused")

    hook.standin.update({"delay": 1.0})
    (slow,) = await make(hook.url, timeout=0.1).send([message(1)])
    assert (slow.status, slow.reason) == ("failed", "timeout")


async def test_a_dealer_id_is_kept_only_when_it_is_an_id() -> None:
    answers = iter(
        [
            httpx.Response(200, json={"id": "dealer-77"}),
            httpx.Response(200, json={"id": "a\x00b"}),
            httpx.Response(200, json={"id": True}),
            httpx.Response(200, json=["dealer-77"]),
            httpx.Response(204),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    async with httpx.AsyncClient(transport=transport) as client:
        provider = WebhookProvider("http://dealer.test/", SECRET, client=client)
        ids = [(await provider.send([message(1)]))[0].provider_id for _ in range(5)]
    assert ids == ["dealer-77", None, None, None, None]


async def test_nothing_personal_or_secret_is_logged(
    make: Make, hook: RunningHook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.standin.update({"fail_next": 2, "status": 500})
    await make(hook.url).send([message(1), message(2)])
    await make(hook.url, secret="not-the-secret").send([message(3)])
    await make(f"http://127.0.0.1:{closed_port()}/").send([message(4)])
    await make(hook.url).send([message(5)])

    text = logged(caplog.records)
    assert "webhook refused" in text  # the test can see what is logged
    for secret in (SECRET, PHONE, "customer-1", "customer-3", "장바구니"):
        assert secret not in text
    assert SECRET not in repr(make(hook.url))
