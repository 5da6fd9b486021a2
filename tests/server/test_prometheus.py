"""`GET /metrics`: live counters from committed turns, in Prometheus' text format."""

from __future__ import annotations

import httpx

import botkit
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import on_loopback


async def test_turns_handoffs_fallbacks_and_actions_are_counted() -> None:
    app = create_app(
        botkit.load("flows"),
        ServerSettings(),
        store=MemoryStore(),
        stubs={"lookup_order": lambda ctx: {"status": "배송중", "delivery": {"eta": "내일"}}},
        clock=lambda: 1_795_568_400.0,  # Wednesday 10:00: agents are in
    )

    def kakao(text: str) -> dict[str, object]:
        return {
            "userRequest": {"utterance": text, "user": {"id": "수민"}},
            "bot": {"id": "shop"},
            "action": {"clientExtra": {}},
        }

    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c,
    ):
        for text in ("안녕하세요", "배송 조회", "1234-567-890", "음...", "상담원"):
            await c.post("/kakao/skill", json=kakao(text))
        page = await c.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    lines = set(page.text.splitlines())
    assert 'botkit_turns_total{channel="kakao",ok="true"} 5.0' in lines
    assert 'botkit_turn_seconds_count{channel="kakao"} 5.0' in lines
    assert 'botkit_actions_total{action="lookup_order",result="ok"} 1.0' in lines
    assert 'botkit_handoffs_total{reason="user_request"} 1.0' in lines
    assert "botkit_fallbacks_total 1.0" in lines
    assert "botkit_active_sessions 1.0" in lines
