"""Several `botkit serve` workers on one PostgreSQL, as an operator deploys them behind a load
balancer, and what they promise: a user's messages may reach any worker, alternately or at the
same moment, and none is lost, doubled or reordered; the database may restart under load, and
the workers answer 503 with Retry-After meanwhile, recover by themselves, and lose no turn they
acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from botkit.storage.postgres import PostgresStore
from tests.outage import cuttable_proxy
from tests.postgres import POSTGRES_MARKS, POSTGRES_URL, postgres_url
from tests.server.processes import (
    REPO,
    SLOW_COURIER,
    Served,
    kakao,
    open_hours_fixtures,
    serve,
)

pytestmark = POSTGRES_MARKS

# One round of the reference bot's order-status conversation, as KakaoTalk sends it.
ROUND: list[tuple[str, dict[str, Any] | None]] = [
    ("안녕하세요", None),
    ("배송 조회", {"botkit": "order_status"}),
    ("1234-567-890", None),
    ("처음으로", None),
]


@dataclass
class Sent:
    """What the load generator sent and what was acknowledged (200), per user, in order."""

    acknowledged: dict[str, list[str]] = field(default_factory=dict)
    # of those, the ones sent only once the user's previous message was answered: their order
    # is the user's order, which the store must keep (two sent at once have none)
    in_order: dict[str, list[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0

    def ack(self, user: str, text: str, *, in_order: bool) -> None:
        self.acknowledged.setdefault(user, []).append(text)
        if in_order:
            self.in_order.setdefault(user, []).append(text)


async def _send(
    client: httpx.AsyncClient,
    base: str,
    user: str,
    text: str,
    extra: Any,
    sent: Sent,
    *,
    in_order: bool = True,
) -> None:
    try:
        response = await client.post(f"{base}/kakao/skill", json=kakao(text, user, extra))
    except httpx.TransportError:
        sent.statuses[0] += 1  # never answered: not acknowledged
        return
    sent.statuses[response.status_code] += 1
    if response.status_code == 200:
        sent.ack(user, text, in_order=in_order)
    elif response.status_code == 503 and "retry-after" not in response.headers:
        sent.unavailable_without_retry_after += 1


async def _check_store(schema: str, sent: Sent) -> dict[str, int]:
    """Every acknowledged message is in the store, in order, once; sequences have no gap."""
    store = PostgresStore(postgres_url(schema))
    await store.open()
    figures = {"lost": 0, "gaps": 0, "duplicates": 0, "lost_updates": 0, "out_of_order": 0}
    try:
        for user, acknowledged in sent.acknowledged.items():
            key = f"kakao:shop:{user}"
            records = await store.records(session=key)
            seqs = [r.seq for r in records]
            figures["duplicates"] += len(seqs) - len(set(seqs))
            figures["gaps"] += int(sorted(set(seqs)) != list(range(1, len(set(seqs)) + 1)))
            said = [str((r.data or {}).get("text")) for r in records if r.kind == "message_in"]
            missing = Counter(acknowledged) - Counter(said)
            figures["lost"] += sum(missing.values())
            kept = iter(said)  # a subsequence: in the user's order, others in between
            in_order = sent.in_order.get(user, [])
            figures["out_of_order"] += int(not all(text in kept for text in in_order))
            session = await store.load(key)
            turns = 0 if session is None else session.turn
            figures["lost_updates"] += int(turns != len(said))
    finally:
        await store.close()
    return figures


@contextlib.asynccontextmanager
async def workers(
    tmp_path: Path, store: str, *args: str, count: int = 2, **options: Any
) -> AsyncIterator[list[Served]]:
    """``count`` `botkit serve` processes sharing the database ``store``, as behind a load
    balancer (``args`` and ``options`` as for :func:`serve`)."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(serve(tmp_path, *args, store=store, **options))
            for _ in range(count)
        ]


async def test_two_workers_receiving_the_same_users_alternately_lose_nothing(
    tmp_path: Path, postgres_schema: str
) -> None:
    sent = Sent()
    async with (
        workers(tmp_path, postgres_url(postgres_schema)) as (first, second),
        httpx.AsyncClient(timeout=10) as client,
    ):
        bases = (first.url, second.url)

        async def user(n: int) -> None:
            name = f"사용자{n}"
            worker = itertools.cycle(bases[n % 2 :] + bases[: n % 2])
            for text, extra in ROUND * 5:  # one after another, each to the other worker
                await _send(client, next(worker), name, text, extra, sent)
            for text, extra in ROUND:  # and at the same moment, on both workers
                await asyncio.gather(
                    _send(client, bases[0], name, text, extra, sent, in_order=False),
                    _send(client, bases[1], name, f"{text} ", extra, sent, in_order=False),
                )

        await asyncio.gather(*(user(n) for n in range(16)))
    assert sent.statuses == Counter({200: 16 * (20 + 8)})
    assert await _check_store(postgres_schema, sent) == {
        "lost": 0,
        "gaps": 0,
        "duplicates": 0,
        "lost_updates": 0,
        "out_of_order": 0,
    }
    assert "Traceback" not in first.log + second.log


async def test_one_serve_with_two_workers_shares_the_store(
    tmp_path: Path, postgres_schema: str
) -> None:
    sent = Sent()
    async with (
        workers(tmp_path, postgres_url(postgres_schema), "--workers=2", count=1) as (served,),
        httpx.AsyncClient(timeout=10) as client,
    ):
        for text, extra in ROUND:  # eight users at once, turn by turn
            await asyncio.gather(
                *(_send(client, served.url, f"손님{n}", text, extra, sent) for n in range(8))
            )
    assert sent.statuses == Counter({200: 8 * len(ROUND)})
    figures = await _check_store(postgres_schema, sent)
    assert figures == dict.fromkeys(figures, 0)
    assert served.log.count("Started server process") == 2
    assert "Traceback" not in served.log


async def test_a_database_restart_under_load_is_503_then_recovery_and_no_acknowledged_turn_lost(
    tmp_path: Path, postgres_schema: str
) -> None:
    sent = Sent()
    with cuttable_proxy(POSTGRES_URL) as proxy:
        url = proxy.url(postgres_url(postgres_schema, connect_timeout=1))
        # Inside the CS team's hours, whatever the wall clock says: a user the outage sends
        # through three fallbacks is handed to a person. Outside them the bot asks for a phone
        # number, and the next message is stored masked ('***'), which would count as lost.
        fixtures = open_hours_fixtures(tmp_path)
        async with workers(tmp_path, url, fixtures=fixtures) as (first, second):
            bases = (first.url, second.url)
            stop = time.monotonic() + 6.0
            recovered_at: list[float] = []
            restored_at = 0.0

            async def user(n: int, client: httpx.AsyncClient) -> None:
                for i, (text, extra) in enumerate(itertools.cycle(ROUND)):
                    if time.monotonic() > stop:
                        return
                    before = sent.statuses[200]
                    await _send(client, bases[i % 2], f"고객{n}", text, extra, sent)
                    if restored_at and sent.statuses[200] > before and not recovered_at:
                        recovered_at.append(time.monotonic() - restored_at)
                    await asyncio.sleep(0.02)

            async def restart() -> None:
                nonlocal restored_at
                await asyncio.sleep(1.5)
                proxy.cut()  # PostgreSQL goes down: connections dropped, new ones refused
                await asyncio.sleep(2.0)
                proxy.restore()  # and comes back
                restored_at = time.monotonic()

            async with httpx.AsyncClient(timeout=10) as client:
                await asyncio.gather(restart(), *(user(n, client) for n in range(8)))
    failures = [
        line
        for line in (first.log + second.log).splitlines()
        if '"message":"request failed"' in line
    ]
    assert set(sent.statuses) <= {200, 503}, (sent.statuses, failures[:1])
    assert failures == []
    assert sent.statuses[503] > 0  # the outage was seen ...
    assert sent.unavailable_without_retry_after == 0  # ... and answered as such
    assert recovered_at, "no request succeeded after the database came back"
    assert recovered_at[0] < 3.0  # by itself, within seconds
    figures = await _check_store(postgres_schema, sent)
    assert figures["lost"] == 0
    assert figures["gaps"] == figures["duplicates"] == 0
    for log in (first.log, second.log):
        assert "Traceback" not in log
        assert "store unavailable" in log or "failed" in log


AGENT_TOKEN = "h" * 24
AGENT_ENV = {"BOTKIT_AGENT_TOKENS": f"하늘:{AGENT_TOKEN}"}
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}


async def _agent_says(client: httpx.AsyncClient, worker: Served, who: str, text: str) -> str:
    """Agent 하늘 claims the conversation of ``who`` ("channel/user") through ``worker``'s
    API and writes ``text`` to the user; the conversation's API address."""
    conversation = f"{worker.url}/agent/api/conversations/{who}"
    assert (await client.post(conversation + "/claim", headers=AGENT)).status_code == 200
    written = await client.post(conversation + "/message", headers=AGENT, json={"text": text})
    assert written.status_code == 200, written.text
    return conversation


def _always_open(tmp_path: Path) -> Path:
    """The reference bot with its CS team in at any hour, so a handoff reaches a person
    whenever the test runs."""
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    bot = flows / "bot.yaml"
    text = bot.read_text(encoding="utf-8")
    hours = text[text.index("    days:") : text.index("\n", text.index("    holidays:")) + 1]
    bot.write_text(text.replace(hours, '    days:\n      mon-sun: "00:00-24:00"\n'), "utf-8")
    return flows


def _texts(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    outputs = answer.json()["template"]["outputs"]
    return [
        body.get("text") or body.get("description") or body.get("title", "")
        for output in outputs
        for body in output.values()
    ]


async def test_what_waits_for_a_kakao_users_next_message_reaches_them_on_any_worker(
    tmp_path: Path, postgres_schema: str
) -> None:
    """An agent's words and a reply that missed Kakao's deadline wait in the database, not in
    the memory of the worker that had them: the next message, on the other worker, says them."""
    fixtures = tmp_path / "slow.fixtures.yaml"
    fixtures.write_text(SLOW_COURIER, encoding="utf-8")
    setup: dict[str, Any] = {
        "flows": _always_open(tmp_path),
        "fixtures": fixtures,
        "env": {**AGENT_ENV, "BOTKIT_KAKAO_BUDGET_S": "0.5"},
    }
    async with (
        workers(tmp_path, postgres_url(postgres_schema), **setup) as (a, b),
        httpx.AsyncClient(timeout=10) as client,
    ):
        skill = "/kakao/skill"
        # a late reply: worker A runs out of Kakao's budget, worker B says the reply
        await client.post(a.url + skill, json=kakao("안녕하세요", "민지"))
        await client.post(
            a.url + skill, json=kakao("배송 조회", "민지", {"botkit": "order_status"})
        )
        waited = await client.post(a.url + skill, json=kakao("1234-567-890", "민지"))
        assert _texts(waited) == ["응답이 늦어지고 있어요. 잠시 후 다시 말씀해 주세요."]
        await asyncio.sleep(2.0)  # the lookup finishes on A and its reply is kept
        later = await client.post(b.url + skill, json=kakao("처음으로", "민지"))
        assert "주문 1234567890은(는) 지금 '배송중' 상태예요." in " ".join(_texts(later))

        # an agent's words: the user asks on A, the agent answers through B's API
        await client.post(a.url + skill, json=kakao("상담원 연결해 주세요", "서준"))
        await _agent_says(client, b, "kakao/shop:서준", "안녕하세요, 하늘입니다.")
        answer = await client.post(a.url + skill, json=kakao("네 안녕하세요", "서준"))
        assert "안녕하세요, 하늘입니다." in " ".join(_texts(answer))
        again = await client.post(b.url + skill, json=kakao("여보세요?", "서준"))
        assert "안녕하세요, 하늘입니다." not in " ".join(_texts(again))  # said once
    assert "Traceback" not in a.log + b.log


async def test_an_agent_on_one_worker_reaches_a_web_user_whose_socket_another_worker_holds(
    tmp_path: Path, postgres_schema: str
) -> None:
    setup: dict[str, Any] = {"flows": _always_open(tmp_path), "env": AGENT_ENV}
    sid = "웹사용자".encode().hex()
    async with (
        workers(tmp_path, postgres_url(postgres_schema), **setup) as (a, b),
        httpx.AsyncClient(timeout=10) as client,
        connect(a.url.replace("http", "ws") + "/web/ws") as socket,
    ):
        await socket.send(json.dumps({"type": "hello", "sid": sid}))
        await socket.send(json.dumps({"type": "message", "id": "m1", "text": "상담원 연결"}))
        while json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] != "reply":
            pass
        conversation = await _agent_says(client, b, f"web/{sid}", "하늘입니다, 말씀하세요.")
        pushed = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert pushed["type"] == "agent"
        assert pushed["messages"][0]["text"] == "하늘입니다, 말씀하세요."
        released = await client.post(
            conversation + "/release", headers=AGENT, json={"state": "main.start"}
        )
        assert released.status_code == 200, released.text
        back = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert back["type"] == "bot"  # the bot takes the user back, on the same socket
    assert "Traceback" not in a.log + b.log
