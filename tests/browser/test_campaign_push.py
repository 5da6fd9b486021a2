"""A campaign message pushed into a widget that is open, and the visitor's answer read at the
state the campaign opened: the whole way through a real server and a real Chromium.

The server is the app ``botkit serve`` runs (uvicorn on a free loopback port, in a thread of its
own: Playwright's sync API holds this thread's event loop), with the reference bot plus a cart
reminder (``tests/campaigns/test_sending.py``), a SQLite store, its campaign sender ticking
every 0.2 s, and a clock the test moves: an hour after the cart passes in an instant, and the
sale the offer belongs to is always on, whatever the wall clock says. The shop's side talks to
it as a shop does: the customers API links the visitor to a customer and records their consent,
``POST /events`` reports the cart.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

# Without Playwright the tests skip (collecting them must not fail); see conftest.py.
pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import Browser, WebSocket, expect

import botkit
from botkit.campaigns.port import Send, SendStatus
from botkit.server import ServerSettings, create_app
from botkit.storage import SQLiteStore
from tests.browser.conftest import Server, _missing, browser_page
from tests.browser.test_widget import open_chat, session_id, type_message
from tests.campaigns.test_sending import CAMPAIGNS, Clock, at
from tests.postgres import run_apart

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
EVENTS_TOKEN = "shop-events-token-0123"
CUSTOMERS_TOKEN = "shop-customers-token-0123"
CUSTOMER = "민지"
REMINDER = "(광고) 장바구니에 담은 패딩, 아직 고민 중이세요?"
ASK_MEMBER_CODE = "회원 코드(영문 2자 + 숫자 6자리)를 입력해 주세요."  # promotion.ask_member


@dataclass
class CampaignServer(Server):
    clock: Clock

    def shop(self, method: str, path: str, token: str, body: object) -> httpx.Response:
        """A call of the shop's server to botkit, with its bearer token."""
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.request(method, self.url + path, json=body, headers=headers, timeout=5)
        assert answer.is_success, answer.text
        return answer


@pytest.fixture
def campaign_server(tmp_path: Path) -> Iterator[CampaignServer]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    (folder / "campaigns.yaml").write_text(CAMPAIGNS, encoding="utf-8")
    db = tmp_path / "botkit.db"
    clock = Clock(at("2026-12-07 09:00"))  # a Monday morning of the winter sale
    settings = ServerSettings(
        store=f"sqlite:///{db}",
        send_every_s=0.2,
        events_token=EVENTS_TOKEN,
        customers_token=CUSTOMERS_TOKEN,
    )
    app = create_app(botkit.load(folder), settings, clock=clock)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.started, "the server did not start"
    port = running.servers[0].sockets[0].getsockname()[1]
    try:
        yield CampaignServer(f"http://127.0.0.1:{port}", db, clock)
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def test_a_cart_reminder_arrives_in_the_open_widget_and_the_reply_continues_the_offer(
    browser: Browser, campaign_server: CampaignServer, tmp_path: Path
) -> None:
    server = campaign_server
    sockets: list[WebSocket] = []
    with browser_page(browser) as page:
        page.on("websocket", lambda socket: sockets.append(socket))
        log = open_chat(page, server)
        type_message(page, "안녕하세요")  # the visitor talked to the bot: it may write first
        expect(log.locator(".bk-user", has_text="안녕하세요")).not_to_contain_text("보내는 중…")
        sid = session_id(page)
        page.evaluate("window.sameDocument = true")  # gone after any reload

        # The shop: this visitor is its customer 민지, who agreed to advertising, and put a
        # padded jacket in the cart five minutes later.
        server.shop("POST", f"/customers/{CUSTOMER}/identities", CUSTOMERS_TOKEN, {"user": sid})
        server.shop("PUT", f"/customers/{CUSTOMER}/consent", CUSTOMERS_TOKEN, {"marketing": True})
        server.clock.now = at("2026-12-07 09:05")
        cart = {"id": "cart-1", "kind": "cart_added", "customer": CUSTOMER}
        server.shop("POST", "/events", EVENTS_TOKEN, {"events": [cart]})

        server.clock.now = at("2026-12-07 09:55")  # not an hour yet: nothing comes
        page.wait_for_timeout(600)  # three of the sender's ticks
        expect(log.get_by_text(REMINDER, exact=False)).to_have_count(0)

        server.clock.now = at("2026-12-07 10:06")
        reminder = log.locator(".bk-bot", has_text=REMINDER)
        expect(reminder).to_have_count(1)  # pushed: nobody typed, nothing was reloaded
        expect(reminder).to_contain_text("수신거부")
        assert page.evaluate("window.sameDocument") is True
        assert len(sockets) == 1  # on the socket the widget opened with
        page.screenshot(path=tmp_path / "campaign-push.png")

        log.get_by_role("button", name="쿠폰 받기").click()
        expect(log.get_by_text(ASK_MEMBER_CODE)).to_be_visible()  # promotion.ask_member
        expect(log.locator(".bk-user").last).to_have_text("쿠폰 받기")
        page.wait_for_timeout(600)  # three more ticks: the reminder does not come again
        expect(log.locator(".bk-bot", has_text=REMINDER)).to_have_count(1)
    (send,) = run_apart(sends_in(server.db))
    assert (send.member, send.channel, send.user) == (CUSTOMER, "web", sid)
    assert send.status == SendStatus.DELIVERED


async def sends_in(db: Path) -> list[Send]:
    """The cart reminder's sends, read with the store itself."""
    store = SQLiteStore(str(db))
    await store.open()
    try:
        return await store.sends(campaign="cart_reminder")
    finally:
        await store.close()
