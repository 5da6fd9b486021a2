"""Kakao's five seconds: the answer leaves within the budget whatever the actions do.

A flow whose lookup sleeps 10 s, served by a real uvicorn on loopback. Without callback the
user is asked to try again at once and the late reply comes with their next answer; with
Kakao's callback the answer is `useCallback: true` and the real one is POSTed, once, to a
callback receiver on loopback when the lookup is done.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

import botkit
from botkit.server import KakaoSettings, ServerSettings, create_app
from botkit.storage import MemoryStore

SLOW_FLOW = """
flow: slow
start: ask
actions:
  lookup:
    function: lookup
    deadline: 15s
    save: {status: status}
slots:
  status: {type: text}
states:
  ask:
    say: "무엇을 도와드릴까요?"
    on:
      - keywords: [조회]
        to: lookup
  lookup:
    call: lookup
    on:
      - result: ok
        to: found
      - result: error
        to: ask
  found:
    say: "조회 결과: {{status}}"
    next: ask
"""


def payload(text: str, user: str, callback: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "utterance": text,
        "user": {"id": user, "type": "botUserKey", "properties": {}},
    }
    if callback:
        request["callbackUrl"] = callback
    return {"userRequest": request, "bot": {"id": "shop"}, "action": {"clientExtra": {}}}


@dataclass
class Receiver:
    """Kakao's side of the callback: records every POST it gets."""

    url: str = ""
    bodies: list[Any] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        self.bodies.append(json.loads(await reader.readexactly(length)))
        self.arrived.set()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()


@asynccontextmanager
async def serving(tmp_path: Path, kakao: KakaoSettings, *, sleep: float) -> AsyncIterator[str]:
    (tmp_path / "slow.yaml").write_text(textwrap.dedent(SLOW_FLOW), "utf-8")
    bot = botkit.load(tmp_path / "slow.yaml")

    @bot.action("lookup")
    async def lookup(ctx: botkit.ActionContext) -> dict[str, str]:
        await asyncio.sleep(sleep)
        return {"status": "배송중"}

    app = create_app(bot, ServerSettings(kakao=kakao), store=MemoryStore())
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/kakao/skill"
    finally:
        server.should_exit = True
        await task


async def post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.post(url, json=body)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started, response.json()


def texts(response: Any) -> list[str]:
    return [o["simpleText"]["text"] for o in response["template"]["outputs"] if "simpleText" in o]


async def test_a_lookup_that_sleeps_10s_is_answered_within_the_budget(tmp_path: Path) -> None:
    receiver = Receiver()
    listener = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    callback = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/callback/once"
    kakao = KakaoSettings(callback=True, callback_hosts=("127.0.0.1",))
    async with (
        listener,
        serving(tmp_path, kakao, sleep=10) as url,
        httpx.AsyncClient(timeout=30) as client,
    ):
        await post(client, url, payload("안녕하세요", "지훈"))
        await post(client, url, payload("안녕하세요", "서윤"))
        # 지훈's block has no callback (no callbackUrl); 서윤's has. Both ask at the same time.
        (late, retry), (early, waiting) = await asyncio.gather(
            post(client, url, payload("조회해 주세요", "지훈")),
            post(client, url, payload("조회", "서윤", callback=callback)),
        )
        assert late <= 4.6
        assert texts(retry) == ["응답이 늦어지고 있어요. 잠시 후 다시 말씀해 주세요."]
        assert early <= 4.6
        assert waiting == {
            "version": "2.0",
            "useCallback": True,
            "data": {"text": "답변을 준비하고 있어요. 잠시만 기다려 주세요."},
        }
        await asyncio.wait_for(receiver.arrived.wait(), timeout=15)
        await asyncio.sleep(0.3)  # a second POST would have arrived by now
        assert len(receiver.bodies) == 1
        final = receiver.bodies[0]
        assert final["version"] == "2.0"
        assert texts(final)[0] == "조회 결과: 배송중"

        # 지훈 writes again once the lookup is done: the reply he missed comes first.
        _, answer = await post(client, url, payload("고마워요", "지훈"))
        assert texts(answer)[0] == "조회 결과: 배송중"


async def test_a_callback_url_outside_the_allowed_hosts_is_never_called(tmp_path: Path) -> None:
    receiver = Receiver()
    listener = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    callback = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/callback"
    kakao = KakaoSettings(callback=True, budget_s=0.3)  # Kakao's hosts only (the default)
    async with (
        listener,
        serving(tmp_path, kakao, sleep=1) as url,
        httpx.AsyncClient(timeout=30) as client,
    ):
        _, answer = await post(client, url, payload("조회", "민준", callback=callback))
        assert texts(answer) == ["응답이 늦어지고 있어요. 잠시 후 다시 말씀해 주세요."]
    assert receiver.bodies == []
