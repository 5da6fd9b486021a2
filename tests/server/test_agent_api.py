"""The agent API: tokens, the queue, one agent per conversation, and agents' words reaching the
user on their channel (live on the web widget, with the next answer on KakaoTalk)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

import botkit
from botkit.events import ChannelMessage, Claim
from botkit.keys import SessionKey
from botkit.server import AgentSettings, ServerSettings, create_app
from botkit.storage import MemoryStore, SQLiteStore
from tests.server.conftest import on_loopback
from tests.storage.test_handoff_queries import counting

HANEUL = "tok-haneul-0123456789"
BADA = "tok-bada-9876543210xx"
WEDNESDAY_MORNING = 1_795_568_400.0  # 2026-11-25 10:00 KST: the agents are in
SID = "agentapitest-0001"


@asynccontextmanager
async def serving(
    tokens: tuple[str, ...] = (f"하늘:{HANEUL}", f"바다:{BADA}"),
) -> AsyncIterator[tuple[str, MemoryStore]]:
    store = MemoryStore()
    app = create_app(
        botkit.load("flows"),
        ServerSettings(agent=AgentSettings(tokens=tokens)),
        store=store,
        stubs={"lookup_order": lambda ctx: {}},
        clock=lambda: WEDNESDAY_MORNING,
    )
    async with on_loopback(app) as port:
        yield f"127.0.0.1:{port}", store


def agent(host: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://{host}/agent/api", headers={"Authorization": f"Bearer {token}"}
    )


async def widget_asks_for_a_person(host: str) -> Any:
    socket = await connect(f"ws://{host}/web/ws")
    await socket.send(json.dumps({"type": "hello", "sid": SID}))
    await socket.recv()
    await socket.send(json.dumps({"type": "message", "id": "m1", "text": "상담원 연결해 주세요"}))
    while json.loads(await socket.recv())["type"] != "reply":
        pass
    return socket


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer", 401), ("Bearer wrong-token-000000000", 401), ("Basic x", 401)],
)
async def test_missing_and_wrong_tokens_are_refused(header: str | None, status: int) -> None:
    async with serving() as (host, _), httpx.AsyncClient(base_url=f"http://{host}") as client:
        headers = {"Authorization": header} if header else {}
        response = await client.get("/agent/api/queue", headers=headers)
        assert response.status_code == status
        assert response.json()["error"]["code"] == "bad_token"


async def test_without_configured_tokens_the_api_is_closed() -> None:
    async with serving(tokens=()) as (host, _), agent(host, HANEUL) as client:
        response = await client.get("/queue")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "no_agents"


async def test_queue_claim_message_note_and_release_with_the_user_on_the_widget() -> None:
    async with (
        serving() as (host, store),
        agent(host, HANEUL) as haneul,
        agent(host, BADA) as bada,
    ):
        socket = await widget_asks_for_a_person(host)
        queue = (await haneul.get("/queue")).json()["conversations"]
        assert [(c["channel"], c["user"], c["status"], c["reason"]) for c in queue] == [
            ("web", SID, "handoff_requested", "user_request")
        ]
        claims = await asyncio.gather(
            haneul.post(f"/conversations/web/{SID}/claim"),
            bada.post(f"/conversations/web/{SID}/claim"),
        )
        assert sorted(c.status_code for c in claims) == [200, 409]
        holder, other = (haneul, bada) if claims[0].status_code == 200 else (bada, haneul)

        refused = await other.post(
            f"/conversations/web/{SID}/message", json={"text": "안녕하세요"}
        )
        assert refused.status_code == 409
        sent = await holder.post(
            f"/conversations/web/{SID}/message",
            json={"text": "상담원입니다. 무엇을 도와드릴까요?"},
        )
        assert sent.status_code == 200
        pushed = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        assert pushed["type"] == "agent"
        assert pushed["messages"][0]["text"] == "상담원입니다. 무엇을 도와드릴까요?"

        await holder.post(f"/conversations/web/{SID}/note", json={"text": "사이즈 교환 문의"})
        view = (await holder.get(f"/conversations/web/{SID}")).json()
        assert [t["from"] for t in view["transcript"]][-2:] == ["agent", "note"]
        assert (await holder.post(f"/conversations/web/{SID}/message", json={})).status_code == 400

        released = await holder.post(
            f"/conversations/web/{SID}/release", json={"state": "main.start"}
        )
        assert released.json() == {"status": "bot", "state": "main.start"}
        back = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        assert back["type"] == "bot"  # the bot greets again: not labelled as the agent
        assert back["messages"][0]["choices"]
        assert (await holder.get("/queue")).json()["conversations"] == []
        await socket.close()
        kinds = [r.kind for r in await store.records(session=f"web:{SID}")]
        handoff = kinds[kinds.index("handoff_requested") :]
        assert [k for k in handoff if k.startswith(("handoff", "agent"))] == [
            "handoff_requested",
            "handoff_queued",
            "handoff_claimed",
            "agent_message",
            "agent_note",
            "handoff_released",
        ]


async def test_an_agent_reply_reaches_a_kakao_user_with_their_next_answer() -> None:
    async with (
        serving() as (host, _),
        agent(host, HANEUL) as haneul,
        httpx.AsyncClient(base_url=f"http://{host}") as kakao,
    ):

        async def say(text: str) -> list[str]:
            payload = {
                "userRequest": {"utterance": text, "user": {"id": "카카오유저"}},
                "bot": {"id": "shop"},
                "action": {"clientExtra": {}},
            }
            answer = (await kakao.post("/kakao/skill", json=payload)).json()
            outputs = answer["template"]["outputs"]
            return [o["simpleText"]["text"] for o in outputs if "simpleText" in o]

        await say("상담원 연결해 주세요")
        user = "shop:카카오유저"
        assert (await haneul.post(f"/conversations/kakao/{user}/claim")).status_code == 200
        await haneul.post(f"/conversations/kakao/{user}/message", json={"text": "확인해 볼게요."})
        assert await say("언제 답해 주시나요?") == ["[상담원] 확인해 볼게요."]


async def test_the_server_moves_on_a_handoff_nobody_took_even_if_the_user_is_silent() -> None:
    now = [WEDNESDAY_MORNING]
    store = MemoryStore()
    app = create_app(
        botkit.load("flows"),
        ServerSettings(sweep_s=0.05),
        store=store,
        stubs={},
        clock=lambda: now[0],
    )
    async with on_loopback(app):
        runtime = app.runtime
        key = SessionKey("web", SID)
        await runtime.apply(key, ChannelMessage("상담원 연결해 주세요"))
        await asyncio.sleep(0.2)
        assert (await runtime.conversations.existing(key)).status == "handoff_requested"
        now[0] += 11 * 60  # the reference bot waits 10 minutes for an agent
        for _ in range(50):
            await asyncio.sleep(0.05)
            if (await runtime.conversations.existing(key)).state == "support.no_agent":
                break
        session = await runtime.conversations.existing(key)
        # placed at the timeout state, entered with the user's next message (test_sweeper.py)
        assert (session.state, session.status) == ("support.no_agent", "bot")
        assert [r.kind for r in await store.records(kind="handoff_timeout")] == ["handoff_timeout"]


async def test_the_dashboard_shows_today_to_agents_only() -> None:
    async with serving() as (host, _), httpx.AsyncClient(base_url=f"http://{host}") as client:
        await widget_asks_for_a_person(host)
        assert (await client.get("/dashboard")).status_code == 401
        assert (await client.get("/dashboard", params={"token": "nope"})).status_code == 401
        page = await client.get("/dashboard", params={"token": HANEUL})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<meta http-equiv="refresh" content="60">' in page.text
        assert "2026-11-25" in page.text  # today, by the server's clock
        assert 'data-series="handoff"' in page.text  # the handoff just asked for is counted


async def test_the_queue_is_one_query_however_many_wait(tmp_path: Path) -> None:
    """Acceptance item 5 of issue 15, seen from an agent's console: the queue of a dozen
    conversations (some with an agent) costs the store one query, not one per conversation."""
    store = SQLiteStore(str(tmp_path / "bot.db"))
    app = create_app(
        botkit.load("flows"),
        ServerSettings(agent=AgentSettings(tokens=(f"하늘:{HANEUL}",))),
        store=store,
        stubs={"lookup_order": lambda ctx: {}},
        clock=lambda: WEDNESDAY_MORNING,
    )
    async with on_loopback(app) as port, agent(f"127.0.0.1:{port}", HANEUL) as haneul:
        for i in range(12):
            await app.runtime.apply(SessionKey("web", f"sid-{i}"), ChannelMessage("상담원"))
        await app.runtime.apply(SessionKey("web", "sid-0"), Claim("하늘"))
        async with counting(store) as statements:
            queue = (await haneul.get("/queue")).json()["conversations"]
        assert len(queue) == 12
        assert len(statements) == 1, statements


async def test_the_states_an_agent_may_hand_back_to_are_the_bots_designed_states() -> None:
    async with serving() as (host, _), agent(host, HANEUL) as client:
        response = await client.get("/states")
        assert response.status_code == 200
        body = response.json()
        app = botkit.load("flows")
        designed = [
            f"{flow.id}.{state}" for flow in app.bot.flows.values() for state in flow.states
        ]
        assert sorted(s["id"] for s in body["states"]) == sorted(designed)
        assert body["default"] == "main.start"
        first = next(s for s in body["states"] if s["id"] == "main.start")
        assert first["flow"] == "main"
        assert set(first) == {"id", "flow", "flow_title", "title"}
    async with serving() as (host, _), agent(host, "tok-wrong-0123456789") as client:
        assert (await client.get("/states")).status_code == 401


@pytest.mark.parametrize(
    ("tokens", "said"),
    [
        ("하늘:short", "entry 1 (하늘) has a token of 5 characters; a token needs at least 16"),
        (
            f"하늘:{HANEUL},{BADA}",
            "entry 2 is not 'name:token': it has no ':' between a name and a token",
        ),
        (f":{HANEUL}", "entry 1 is not 'name:token': the name before ':' is empty"),
        (
            f"하늘:{HANEUL},바다:{HANEUL}",
            "entry 2 (바다) has the same token as entry 1; each agent needs a token of its own",
        ),
    ],
)
def test_malformed_agent_tokens_stop_the_server_from_starting(tokens: str, said: str) -> None:
    from botkit.errors import ConfigurationError
    from botkit.server.config import load_settings

    with pytest.raises(ConfigurationError) as caught:
        load_settings(env={"BOTKIT_AGENT_TOKENS": tokens})
    message = str(caught.value)
    assert message == f"the environment, agent: 'tokens' {said}", message
    assert HANEUL not in message
    assert BADA not in message


def test_botkit_serve_prints_the_token_problem_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    import botkit.server.run
    from botkit.cli.main import cli

    def must_not_start(*args: object) -> None:
        raise AssertionError("the server started")

    monkeypatch.setattr(botkit.server.run, "serve", must_not_start)
    monkeypatch.setenv("BOTKIT_AGENT_TOKENS", "하늘:short")
    result = CliRunner().invoke(cli, ["serve", "flows"])
    assert result.exit_code == 1
    assert "entry 1 (하늘) has a token of 5 characters" in result.output
