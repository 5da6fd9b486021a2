"""The dashboard of `botkit serve` (today's report page) opens in headless chromium, and its
charts carry today's numbers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import botkit
from botkit.server import AgentSettings, ServerSettings, create_app
from botkit.storage import MemoryStore
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _missing
from tests.metrics.test_html_report import data_points

REPO = Path(__file__).resolve().parents[2]
TOKEN = "dashboard-token-0123456789"


@pytest.fixture
def server() -> Iterator[str]:
    app = create_app(
        botkit.load(REPO / "flows"),
        ServerSettings(agent=AgentSettings(tokens=(f"하늘:{TOKEN}",))),
        store=MemoryStore(),
        stubs={"lookup_order": lambda ctx: {"status": "배송중", "delivery": {"eta": "내일"}}},
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def kakao(text: str, user: str) -> dict[str, Any]:
    return {
        "userRequest": {"utterance": text, "user": {"id": user}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": {}},
    }


def test_the_dashboard_shows_todays_charts(server: str) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with httpx.Client(base_url=server) as client:
        for user in ("하나", "두리", "세찬"):
            for text in ("안녕하세요", "배송 조회", "1234-567-890"):
                client.post("/kakao/skill", json=kakao(text, user))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.goto(f"{server}/dashboard?token={TOKEN}")
            funnel = {p["label"]: p["value"] for p in data_points(page, "funnel:order_status")}
            assert funnel["order_status.ask_order"] == "3"
            assert funnel["order_status.in_transit"] == "3"
            assert len(data_points(page, "daily:conversations")) == 1  # today only
            assert "today" in page.title()
        finally:
            browser.close()
