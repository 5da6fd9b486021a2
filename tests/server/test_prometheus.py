"""`GET /metrics`: live counters from committed turns, in Prometheus' text format."""

from __future__ import annotations

import httpx

import botkit
from botkit.audience.identity import web_token
from botkit.server import ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.server.conftest import REPO, on_loopback


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


async def test_web_identity_tokens_refused_are_counted_by_reason() -> None:
    """A forged token, a replayed one and a page that sent no token leave each visitor
    anonymous, and /metrics counts each by why; the good token is no refusal."""
    secret, now = "shop-identity-secret-0123", 1_795_568_400
    app = create_app(
        botkit.load(REPO / "tests" / "bots" / "audience"),
        ServerSettings(identity_secret=secret),
        store=MemoryStore(),
        clock=lambda: float(now),
    )
    good = web_token(secret, "C-1042", now, "identity-nonce-000000001")
    pages = [  # (the visitor, what their page gave the widget)
        ("visitor-0000000001", {"customer": "C-1042", "token": good}),
        ("visitor-0000000002", {"customer": "C-1042", "token": good}),  # copied: replayed
        ("visitor-0000000003", {"customer": "C-1042", "token": good[:-1] + "0"}),  # forged
        ("visitor-0000000004", {"customer": "C-1042"}),  # no token
    ]
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c,
    ):
        before = set((await c.get("/metrics")).text.splitlines())
        for sid, identity in pages:
            body = {"sid": sid, "id": "m1", "text": "안녕하세요", **identity}
            assert (await c.post("/web/messages", json=body)).status_code == 200
        after = set((await c.get("/metrics")).text.splitlines())
    assert "# TYPE botkit_identity_refused_total counter" in before
    assert not [line for line in before if line.startswith("botkit_identity_refused_total")]
    assert {line for line in after if line.startswith("botkit_identity_refused_total")} == {
        'botkit_identity_refused_total{reason="forged"} 1.0',
        'botkit_identity_refused_total{reason="missing"} 1.0',
        'botkit_identity_refused_total{reason="replayed"} 1.0',
    }
