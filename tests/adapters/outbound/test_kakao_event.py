"""The Kakao Event API provider against the Kakao stand-in, over HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from botkit.adapters.outbound import KakaoEventAPI, Outgoing, Provider, send_key_of, task_of
from botkit.adapters.outbound.kakao_event import MAX_USERS, task_fates, user_tag
from tests.adapters.outbound.conftest import (
    BOT,
    REST_KEY,
    Running,
    bot_user_key,
    closed_port,
    kakao_messages,
    logged,
)

Make = Callable[..., KakaoEventAPI]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """Providers of the test's bot, closed after the test."""
    made: list[KakaoEventAPI] = []

    def provider(
        url: str, *, bot: str = BOT, rest_key: str = REST_KEY, **options: Any
    ) -> KakaoEventAPI:
        made.append(KakaoEventAPI(url, bot, rest_key, **options))
        return made[-1]

    yield provider
    for api in made:
        await api.aclose()


async def test_250_users_go_in_3_requests_of_at_most_100(make: Make, kakao: Running) -> None:
    api = make(kakao.url)
    assert isinstance(api, Provider)
    batch = kakao_messages(range(250))
    outcomes = await api.send(batch)
    await api.aclose()

    assert [o.key for o in outcomes] == [m.key for m in batch]
    assert {o.status for o in outcomes} == {"sent"}
    assert all(o.cost == 15.0 for o in outcomes)
    tasks = Counter(task_of(o.provider_id or "") for o in outcomes)
    assert sorted(tasks.values()) == [50, 100, 100]
    assert kakao.standin.requests == 3
    assert kakao.standin.refused == 0
    assert kakao.standin.messages == 250
    assert kakao.standin.received == Counter({m.key: 1 for m in batch})
    assert kakao.standin.events == Counter({"botkit_campaign": 250})


async def test_a_user_named_twice_goes_into_two_requests(make: Make, kakao: Running) -> None:
    # Kakao refuses a request that names a user twice; the stand-in does too (below)
    first = kakao_messages(range(3), campaign="welcome")
    again = [replace(first[1], key="f" * 32)]  # the same user, another send of the campaign
    outcomes = await make(kakao.url).send([*first, *again])

    assert [o.status for o in outcomes] == ["sent"] * 4
    assert kakao.standin.requests == 2
    assert kakao.standin.refused == 0
    assert kakao.standin.messages == 4
    assert task_of(outcomes[1].provider_id or "") != task_of(outcomes[3].provider_id or "")


async def test_the_stand_in_refuses_what_kakao_refuses(kakao: Running) -> None:
    talk = f"{kakao.url}/v2/bots/{BOT}/talk"
    user = {"type": "botUserKey", "id": bot_user_key(1)}
    event = {"name": "botkit_campaign", "data": {}}
    auth = {"Authorization": f"KakaoAK {REST_KEY}"}
    async with httpx.AsyncClient() as client:
        twice = await client.post(talk, json={"event": event, "user": [user, user]}, headers=auth)
        many = [{"type": "botUserKey", "id": bot_user_key(n)} for n in range(MAX_USERS + 1)]
        too_many = await client.post(talk, json={"event": event, "user": many}, headers=auth)
        no_key = await client.post(talk, json={"event": event, "user": [user]})
        bearer = {"Authorization": f"Bearer {REST_KEY}"}
        wrong_scheme = await client.post(
            talk, json={"event": event, "user": [user]}, headers=bearer
        )
        other_bot = await client.post(
            f"{kakao.url}/v2/bots/someone-else/talk",
            json={"event": event, "user": [user]},
            headers=auth,
        )
    assert (twice.status_code, too_many.status_code) == (400, 400)
    assert (no_key.status_code, wrong_scheme.status_code) == (401, 401)
    assert other_bot.status_code == 404
    assert (kakao.standin.requests, kakao.standin.refused, kakao.standin.messages) == (5, 5, 0)


async def test_campaigns_and_variants_go_in_requests_of_their_own(
    make: Make, kakao: Running
) -> None:
    batch = [
        *kakao_messages(range(3), campaign="welcome", variant="A"),
        *kakao_messages(range(3, 5), campaign="welcome", variant="B"),
        *kakao_messages(range(5, 6), campaign="cart_reminder", variant="A"),
    ]
    outcomes = await make(kakao.url).send(batch)

    tasks = [task_of(o.provider_id or "") for o in outcomes]
    assert len(set(tasks)) == 3
    assert tasks[0] == tasks[1] == tasks[2] != tasks[3] == tasks[4] != tasks[5]
    assert kakao.standin.requests == 3


async def test_the_request_carries_the_key_of_each_user_and_an_idempotency_key(
    make: Make,
    kakao: Running,
) -> None:
    seen: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        seen.append(request)

    batch = kakao_messages(range(2))
    async with httpx.AsyncClient(event_hooks={"request": [keep]}) as client:
        api = make(kakao.url, client=client)
        await api.send(batch)
        await api.send(batch)  # a resend: the same request again
        await api.aclose()  # not its own client: left open
        assert not client.is_closed

    request = seen[0]
    assert request.url.path == f"/v2/bots/{BOT}/talk"
    assert request.headers["authorization"] == f"KakaoAK {REST_KEY}"
    assert len(request.headers["idempotency-key"]) == 32
    assert request.headers["idempotency-key"] == seen[1].headers["idempotency-key"]
    body = httpx.Response(200, content=request.content).json()
    assert body["user"] == [{"type": "botUserKey", "id": bot_user_key(n)} for n in range(2)]
    data = body["event"]["data"]
    assert (body["event"]["name"], data["campaign"], data["variant"]) == (
        "botkit_campaign",
        "welcome",
        "A",
    )
    assert [send_key_of(data, bot_user_key(n)) for n in range(3)] == [
        batch[0].key,
        batch[1].key,
        None,  # not in this request
    ]
    assert bot_user_key(0) not in str(data)  # the data names no user: each sees its own tag
    # the resend reached the stand-in; it counted the pairs once
    assert kakao.standin.messages == 2
    assert kakao.standin.duplicates == 2
    assert kakao.standin.repeated_requests == 1
    assert kakao.standin.received[batch[0].key] == 2


async def test_users_it_cannot_address_are_parked_and_the_rest_sent(
    make: Make, kakao: Running
) -> None:
    good = kakao_messages(range(2))
    batch = [
        good[0],
        replace(good[1], key="a" * 32, user="web-visitor-7"),
        replace(good[1], key="b" * 32, user=f"another-bot:{bot_user_key(9)}"),
        replace(good[1], key="c" * 32, user=f"{BOT}:"),
        good[1],
    ]
    outcomes = await make(kakao.url).send(batch)

    assert [o.status for o in outcomes] == ["sent", "parked", "parked", "parked", "sent"]
    assert outcomes[1].reason == "not a Kakao user (<botId>:<botUserKey>)"
    assert outcomes[2].reason == "a user of bot 'another-bot', not of this bot"
    assert all(o.cost == 0 for o in outcomes[1:4])
    assert kakao.standin.messages == 2


async def test_a_development_channels_bot_id_takes_its_users(make: Make, kakao: Running) -> None:
    outcomes = await make(kakao.url, bot=BOT + "!").send(kakao_messages([1]))
    assert outcomes[0].status == "sent"


@pytest.mark.parametrize(
    ("status", "retry_after", "expected", "wait"),
    [
        (400, None, "parked", None),
        (401, None, "parked", None),
        (403, None, "parked", None),
        (404, None, "parked", None),
        (408, None, "failed", None),
        (429, 7, "failed", 7.0),
        (500, None, "failed", None),
        (503, 2.5, "failed", 2.5),
    ],
)
async def test_what_each_answer_means(
    make: Make,
    kakao: Running,
    status: int,
    retry_after: float | None,
    expected: str,
    wait: float | None,
) -> None:
    kakao.standin.update({"fail_next": 1, "status": status, "retry_after": retry_after})
    batch = kakao_messages(range(3))
    outcomes = await make(kakao.url).send(batch)

    assert [o.status for o in outcomes] == [expected] * 3
    assert {o.reason for o in outcomes} == {f"kakao answered {status} (code -{status})"}
    assert {o.retry_after for o in outcomes} == {wait}
    assert {o.cost for o in outcomes} == {0.0}
    assert {o.provider_id for o in outcomes} == {None}
    # the next try goes through
    assert {o.status for o in await make(kakao.url).send(batch)} == {"sent"}


async def test_a_wrong_rest_key_parks_the_batch(make: Make, kakao: Running) -> None:
    outcomes = await make(kakao.url, rest_key="not-the-key").send(kakao_messages(range(2)))
    assert [(o.status, o.reason) for o in outcomes] == [
        ("parked", "kakao answered 401 (code -401)")
    ] * 2
    assert kakao.standin.refused == 1


async def test_a_refused_connection_and_a_timeout_are_tried_again(
    make: Make, kakao: Running
) -> None:
    batch = kakao_messages(range(2))
    refused = await make(f"http://127.0.0.1:{closed_port()}").send(batch)
    assert [(o.status, o.reason) for o in refused] == [("failed", "connection refused")] * 2

    kakao.standin.update({"delay": 1.0})
    slow = await make(kakao.url, timeout=0.1).send(batch)
    assert [(o.status, o.reason) for o in slow] == [("failed", "timeout")] * 2


async def test_an_answer_that_is_not_an_acceptance_is_tried_again(make: Make) -> None:
    answers = iter(
        [
            httpx.Response(200, json={"taskId": "t-1", "status": "FAIL", "message": "no wallet"}),
            httpx.Response(200, text="<html>proxy</html>"),
            httpx.Response(200, json={"status": "SUCCESS"}),  # accepted, no task to read
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    async with httpx.AsyncClient(transport=transport) as client:
        api = make("http://kakao.test", client=client)
        batch = kakao_messages([1])
        fail, unreadable, no_task = [(await api.send(batch))[0] for _ in range(3)]
    assert (fail.status, fail.reason) == ("failed", "kakao answered FAIL")
    assert (unreadable.status, unreadable.reason) == ("failed", "kakao's answer is unreadable")
    assert (no_task.status, no_task.provider_id, no_task.cost) == ("sent", None, 15.0)


async def test_results_say_who_got_it_from_the_task_api(make: Make, kakao: Running) -> None:
    kakao.standin.update({"fail_users": [bot_user_key(2), bot_user_key(150)]})
    api = make(kakao.url, cost_per_message=13.5)
    batch = kakao_messages(range(200))
    outcomes = await api.send(batch)
    ids = [o.provider_id for o in outcomes if o.provider_id]
    assert len(ids) == 200
    assert {o.cost for o in outcomes} == {13.5}

    kakao.standin.update({"pending_tasks": True})
    assert await api.results(ids) == {}  # still running: nothing known yet
    kakao.standin.update({"pending_tasks": False})
    # another provider (a restarted sender) reads the same from the provider ids alone
    fates = await make(kakao.url).results([*ids, "not-ours", "x:y:z"])
    assert fates == {
        m.key: "failed" if n in (2, 150) else "delivered" for n, m in enumerate(batch)
    }
    assert kakao.standin.messages == 198


async def test_results_of_a_task_that_cannot_be_read_are_left_for_later(
    make: Make, kakao: Running
) -> None:
    outcomes = await make(kakao.url).send(kakao_messages(range(2)))
    ids = [o.provider_id or "" for o in outcomes]
    kakao.standin.update({"fail_next": 1, "status": 500})
    assert await make(kakao.url).results(ids) == {}
    assert await make(kakao.url, rest_key="not-the-key").results(ids) == {}
    assert await make(f"http://127.0.0.1:{closed_port()}").results(ids) == {}
    assert len(await make(kakao.url).results(ids)) == 2


def test_task_answers_are_read_defensively() -> None:
    failed = {"userID": "u-2", "errorMsg": "blocked"}
    done = task_fates(
        {
            "taskId": "t",
            "status": "PARTIAL SUCCESS",
            "allRequestCount": 3,
            "successCount": 2,
            "fail": {"count": 1, "list": [failed]},
        }
    )
    assert done is not None
    assert (done.everyone_failed, done.failed_tags, done.list_whole) == (
        False,
        frozenset({user_tag("u-2")}),
        True,
    )
    # counts that add up finish a task whatever its status says
    counted = task_fates({"status": "?", "allRequestCount": 2, "successCount": 2})
    assert counted is not None
    assert not counted.everyone_failed
    # ALL FAIL fails everyone, listed or not
    everyone = task_fates({"status": "ALL_FAIL", "fail": {"count": 5, "list": []}})
    assert everyone is not None
    assert everyone.everyone_failed
    # a list shorter than its count: the unlisted users are not known to have it
    short = task_fates(
        {
            "status": "PARTIAL SUCCESS",
            "allRequestCount": 3,
            "successCount": 1,
            "fail": {"count": 2, "list": [failed]},
        }
    )
    assert short is not None
    assert not short.list_whole
    running: list[Any] = [
        {"status": "PROCESSING", "allRequestCount": 3, "successCount": 1},
        {"status": "SUCCESS"},  # the send's word: accepted, not done
        {"allRequestCount": "3", "successCount": True},
        {"status": 7, "fail": "none"},
        [],
        None,
        "ALL SUCCESS",
    ]
    for answer in running:
        assert task_fates(answer) is None, answer


async def test_nothing_personal_or_secret_is_logged(
    make: Make, kakao: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    batch = kakao_messages(range(3))
    kakao.standin.update({"fail_next": 1, "status": 400})
    await make(kakao.url).send(batch)
    ids = [o.provider_id or "" for o in await make(kakao.url).send(batch)]
    await make(f"http://127.0.0.1:{closed_port()}").send(batch)
    await make(kakao.url).results(ids)
    await make(kakao.url).send([Outgoing("k" * 32, "welcome", "A", "web-visitor-7")])

    text = logged(caplog.records)
    assert "kakao event api refused" in text  # the test can see what is logged
    for secret in (REST_KEY, *(bot_user_key(n) for n in range(3)), "웰컴", "web-visitor-7"):
        assert secret not in text
    assert REST_KEY not in repr(make(kakao.url))
