"""A real ``botkit serve`` on a free loopback port, and SkillPayloads as KakaoTalk sends them.

Each test gets its own uvicorn server, started in the test's event loop on ``127.0.0.1:0`` with
the reference bot (``flows/``), a MemoryStore the test can inspect, and the courier lookup
stubbed. The runtime's clock stands on a Wednesday morning in Seoul, inside the CS team's hours
(``flows/bot.yaml``), so that "상담원 연결" is answered by a handoff whatever the time the tests
run at. Payloads follow §1 of the research note ``reference/kakao-skill.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from jsonschema import Draft202012Validator
from starlette.types import ASGIApp

import botkit
from botkit.app import BotApp
from botkit.runtime import ActionContext, ActionFunction
from botkit.server import KakaoSettings, Server, ServerSettings, create_app
from botkit.storage import MemoryStore

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("skill-response.schema.json")
MULTILINGUAL = REPO / "tests" / "bots" / "multilingual"

SKILL_PATH = "/kakao/skill"
SHOP_BOT_ID = "shop"
# Wednesday 25 November 2026, 10:00 in Seoul: the CS team is in (mon-fri 09:00-18:00).
WEDNESDAY_MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()
# "최대 말풍선 사이즈" (§2): Kakao shows nothing for a larger response.
MAX_RESPONSE_BYTES = 30_000


def lookup_order(ctx: ActionContext) -> dict[str, Any]:
    """The courier API, as flows/tests/demo.fixtures.yaml answers it: the parcel is on its way."""
    return {"status": "배송중", "delivery": {"eta": "11월 27일", "courier": "CJ대한통운"}}


def skill_payload(
    utterance: str,
    *,
    user: str = "사용자1",
    bot: str = SHOP_BOT_ID,
    extra: Mapping[str, Any] | None = None,
    callback_url: str | None = None,
    block: str = "폴백 블록",
) -> dict[str, Any]:
    """A SkillPayload as Kakao posts it to a skill on ``block`` (§1, §6).

    ``extra`` is what KakaoTalk sends back as ``action.clientExtra`` when a quick reply or a
    button carrying it is pressed (§1.5); ``callback_url`` appears only on blocks with the
    AI-chatbot callback enabled (§1.2, §3).
    """
    block_id = hashlib.sha1(block.encode()).hexdigest()[:24]
    request: dict[str, Any] = {
        "timezone": "Asia/Seoul",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "block": {"id": block_id, "name": block},
        "utterance": utterance,
        "lang": "ko",
        "user": {
            "id": user,
            "type": "botUserKey",
            "properties": {
                "plusfriendUserKey": "ck" + hashlib.sha1(user.encode()).hexdigest()[:10],
                "isFriend": True,
            },
        },
    }
    if callback_url is not None:
        request["callbackUrl"] = callback_url
    return {
        "intent": {
            "id": block_id,
            "name": block,
            "extra": {"reason": {"code": 1, "message": "OK"}},
        },
        "userRequest": request,
        "bot": {"id": bot, "name": "쇼핑몰 도우미"},
        "action": {
            "name": "botkit",
            "clientExtra": dict(extra) if extra is not None else {},
            "params": {},
            "id": hashlib.sha1(f"{bot}:botkit".encode()).hexdigest()[:24],
            "detailParams": {},
        },
        "contexts": [],
    }


def session_key(user: str = "사용자1", bot: str = SHOP_BOT_ID) -> str:
    """Where the endpoint keeps a Kakao user's session: ``kakao:{bot.id}:{user.id}``."""
    return f"kakao:{bot}:{user}"


@pytest.fixture(scope="session")
def shop_bot() -> BotApp:
    return botkit.load(REPO / "flows")


@pytest.fixture(scope="session")
def skill_response_schema() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@dataclass
class RunningServer:
    """One ``botkit serve`` on loopback: its app, its store, and a client pointed at it."""

    app: Server
    store: MemoryStore
    client: httpx.AsyncClient
    settings: ServerSettings


StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start_server(shop_bot: BotApp) -> AsyncIterator[StartServer]:
    """Start servers with the given settings; all of them stop when the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            kakao: KakaoSettings | None = None,
            *,
            stubs: Mapping[str, ActionFunction] | None = None,
            http: httpx.AsyncClient | None = None,
        ) -> RunningServer:
            settings = ServerSettings(store="memory://", kakao=kakao or KakaoSettings())
            store = MemoryStore()
            app = create_app(
                shop_bot,
                settings,
                store=store,
                stubs=dict(stubs or {"lookup_order": lookup_order}),
                http=http,
                clock=lambda: WEDNESDAY_MORNING,  # inside the CS team's hours
            )
            port = await stack.enter_async_context(on_loopback(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
            )
            return RunningServer(app, store, client, settings)

        yield start


@contextlib.asynccontextmanager
async def on_loopback(app: ASGIApp) -> AsyncIterator[int]:
    """Serve ``app`` with uvicorn as ``botkit serve`` does, on a free port; yield the port."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # the startup's own error, if it raised one
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.005)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await serving


@contextlib.asynccontextmanager
async def multilingual(store: MemoryStore | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the small bot in Korean and English (``tests/bots/multilingual``), served by
    the real ASGI app in the test's own event loop, its lifespan run."""
    store = MemoryStore() if store is None else store
    app = create_app(botkit.load(MULTILINGUAL), ServerSettings(), store=store)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client,
    ):
        yield client


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    """A server with the default settings: no secret, any bot id, no callback."""
    return await start_server()


@dataclass
class KakaoChat:
    """One KakaoTalk user talking to the skill: what they type or press goes out as a
    SkillPayload, and every answer is checked against the SkillResponse 2.0 schema (and
    Kakao's 30 KB bubble size) before the test sees it."""

    server: RunningServer
    schema: Draft202012Validator
    user: str = "사용자1"
    bot: str = SHOP_BOT_ID

    async def say(
        self,
        utterance: str,
        *,
        extra: Mapping[str, Any] | None = None,
        callback_url: str | None = None,
    ) -> dict[str, Any]:
        payload = skill_payload(
            utterance, user=self.user, bot=self.bot, extra=extra, callback_url=callback_url
        )
        response = await self.server.client.post(SKILL_PATH, json=payload)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert len(response.content) <= MAX_RESPONSE_BYTES
        answer: dict[str, Any] = response.json()
        self.schema.validate(answer)
        return answer

    async def press(self, quick_reply: Mapping[str, Any]) -> dict[str, Any]:
        """Press a quick reply: KakaoTalk sends its ``messageText`` as the utterance and its
        ``extra`` as ``action.clientExtra`` (§1.5, §2.3)."""
        return await self.say(quick_reply["messageText"], extra=quick_reply.get("extra"))

    async def session_state(self) -> str | None:
        session = await self.server.store.load(session_key(self.user, self.bot))
        return None if session is None else session.state


@pytest.fixture
def kakao(server: RunningServer, skill_response_schema: Draft202012Validator) -> KakaoChat:
    """사용자1 of the shop bot, on KakaoTalk."""
    return KakaoChat(server, skill_response_schema)


def _cards(answer: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The answer's bubbles, a carousel's cards one by one."""
    for output in answer["template"]["outputs"]:
        ((kind, body),) = output.items()
        yield from body["items"] if kind == "carousel" else [body]


def texts(answer: Mapping[str, Any]) -> list[str]:
    """What the user reads in the answer's bubbles: texts, card titles and descriptions."""
    return [
        card[key]
        for card in _cards(answer)
        for key in ("text", "title", "description")
        if key in card
    ]


def buttons(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every button on the answer's cards."""
    return [button for card in _cards(answer) for button in card.get("buttons", ())]


def quick_reply(answer: Mapping[str, Any], label: str) -> dict[str, Any]:
    """The quick reply labelled ``label``; the test fails if there is none."""
    offered = answer["template"].get("quickReplies", [])
    for reply in offered:
        if reply["label"] == label:
            return dict(reply)
    raise AssertionError(f"no quick reply {label!r} in {[r['label'] for r in offered]}")
