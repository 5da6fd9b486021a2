"""The web widget in a real browser against a real ``botkit serve``: what a shopper does.

Open the chat on the demo shop page, press a quick reply, type an order number, read the courier's
answer; reload and find the conversation still there; lose the connection, type, and get exactly
one answer once the widget has reconnected; and the same conversation over the HTTP fallback when
WebSockets are blocked. Also the keyboard: Escape, focus, and Enter while composing Hangul.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

# Without Playwright the tests skip (collecting them must not fail); see conftest.py.
pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import REPO, Server

pytestmark = pytest.mark.browser

# The README shows this picture; BOTKIT_UPDATE_SCREENSHOT=1 writes it there, otherwise the
# test takes it into its temporary folder (a test run must not change tracked files).
README_SCREENSHOT = REPO / "docs" / "widget.png"
ASK_ORDER = "주문번호 10자리를 알려 주세요"
IN_TRANSIT = "주문 1234567890은(는) 지금 '배송중' 상태예요."


def open_chat(page: Page, server: Server) -> Locator:
    """The demo page with the chat window open and the bot's greeting shown; returns the log."""
    page.goto(server.url + "/")
    page.get_by_role("button", name="채팅 열기").click()
    dialog = page.get_by_role("dialog", name="쇼핑몰 도우미")
    expect(dialog).to_be_visible()
    log = dialog.get_by_role("log")
    expect(log.locator(".bk-bot").first).to_be_visible()  # the greeting
    return log


def type_message(page: Page, text: str) -> None:
    page.get_by_label("메시지 입력").fill(text)
    page.get_by_label("메시지 입력").press("Enter")


def session_id(page: Page) -> str:
    sid: str = page.evaluate("localStorage.getItem('botkit.sid')")
    return sid


def test_order_lookup_by_quick_reply_and_typing_then_the_history_survives_a_reload(
    page: Page, server: Server, tmp_path: Path
) -> None:
    log = open_chat(page, server)
    expect(page.get_by_label("메시지 입력")).to_be_focused()  # focus moved into the window
    log.get_by_role("button", name="배송 조회").click()
    expect(log.get_by_text(ASK_ORDER)).to_be_visible()
    expect(log.locator(".bk-user").last).to_have_text("배송 조회")  # the choice's label
    expect(log.get_by_role("button", name="배송 조회")).to_have_count(0)  # choices gone

    type_message(page, "1234-567-890")
    expect(log.get_by_text(IN_TRANSIT)).to_be_visible()
    expect(log.get_by_text(re.compile("CJ대한통운"))).to_be_visible()  # the card's title
    expect(page.locator(".bk-typing")).to_be_hidden()
    shot = README_SCREENSHOT if os.environ.get("BOTKIT_UPDATE_SCREENSHOT") else tmp_path / "w.png"
    page.screenshot(path=shot)
    assert shot.stat().st_size > 10_000

    page.reload()
    page.get_by_role("button", name="채팅 열기").click()
    log = page.get_by_role("dialog", name="쇼핑몰 도우미").get_by_role("log")
    expect(log.get_by_text(IN_TRANSIT)).to_be_visible()
    expect(log.locator(".bk-user", has_text="1234-567-890")).to_have_count(1)
    expect(log.get_by_text(ASK_ORDER)).to_have_count(1)


def test_after_a_reload_a_card_is_a_card_again_and_the_last_quick_replies_are_back(
    page: Page, server: Server
) -> None:
    log = open_chat(page, server)
    log.get_by_role("button", name="배송 조회").click()
    expect(log.get_by_text(ASK_ORDER)).to_be_visible()
    type_message(page, "1234-567-890")
    expect(log.get_by_text(IN_TRANSIT)).to_be_visible()
    expect(log.get_by_role("button", name="다른 주문 조회")).to_be_visible()

    page.reload()
    page.get_by_role("button", name="채팅 열기").click()
    log = page.get_by_role("dialog", name="쇼핑몰 도우미").get_by_role("log")
    expect(log.get_by_text(IN_TRANSIT)).to_be_visible()
    card = log.locator(".bk-card", has_text=re.compile("CJ대한통운 · 도착 예정"))
    expect(card).to_have_count(1)  # drawn as a card, not as its plain-text fallback
    expect(card.get_by_role("link", name="택배사 고객센터")).to_have_attribute(
        "href", "tel:15881255"
    )
    expect(log.get_by_text(re.compile(r"^\[CJ대한통운"))).to_have_count(0)
    expect(log.get_by_role("button", name="배송 조회")).to_have_count(0)  # answered before
    log.get_by_role("button", name="다른 주문 조회").click()  # the last screen's quick replies
    expect(log.get_by_text(ASK_ORDER)).to_have_count(2)
    expect(log.get_by_role("button", name="다른 주문 조회")).to_have_count(0)


def test_a_message_typed_during_an_outage_is_answered_exactly_once(
    page: Page, server: Server
) -> None:
    sent: list[dict[str, str]] = []  # every frame the page sends, on any of its sockets
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(json.loads(f))))
    log = open_chat(page, server)
    sid = session_id(page)
    page.context.set_offline(True)  # reconnects fail until the network is back
    assert server.drop_sockets() >= 1
    type_message(page, "배송 조회")
    pending = log.locator(".bk-user", has_text="배송 조회")
    expect(pending).to_contain_text("보내는 중…")  # shown at once, queued

    page.context.set_offline(False)
    expect(log.get_by_text(ASK_ORDER)).to_be_visible()
    expect(pending).not_to_contain_text("보내는 중…")
    page.wait_for_timeout(1000)  # room for a second answer, were there one
    expect(log.get_by_text(ASK_ORDER)).to_have_count(1)
    assert server.messages_in(sid, "배송 조회") == 1
    # It was sent once, on the new socket after its hello: the outbox is flushed on welcome.
    kinds = [(f["type"], f.get("text")) for f in sent if f["type"] != "ping"]
    assert kinds == [("hello", None), ("message", ""), ("hello", None), ("message", "배송 조회")]


def test_the_http_fallback_when_websockets_never_connect(page: Page, server: Server) -> None:
    # A proxy that blocks WebSockets: every socket fails before it opens.
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    log = open_chat(page, server)
    log.get_by_role("button", name="배송 조회").click()
    expect(log.get_by_text(ASK_ORDER)).to_be_visible()
    type_message(page, "1234-567-890")
    expect(log.get_by_text(IN_TRANSIT)).to_be_visible()
    assert server.messages_in(session_id(page), "1234-567-890") == 1


def test_keyboard_escape_focus_hangul_composition_and_the_unread_badge(
    page: Page, server: Server
) -> None:
    log = open_chat(page, server)
    launcher = page.locator(".bk-launcher")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()  # focus back where it was

    page.keyboard.press("Enter")  # the launcher is a real button: the keyboard opens it
    field = page.get_by_label("메시지 입력")
    expect(field).to_be_focused()
    # Enter that ends a Hangul syllable (IME composing) must not send the half-typed word.
    field.fill("배송")
    field.dispatch_event("keydown", {"key": "Enter", "isComposing": True, "keyCode": 229})
    expect(field).to_have_value("배송")
    expect(log.locator(".bk-user")).to_have_count(0)

    # A reply that arrives while the window is closed counts on the badge.
    page.evaluate("document.querySelector('.bk-choice').click(); BotkitWidget.close();")
    expect(page.locator(".bk-badge")).to_have_text("1")
    expect(launcher).to_have_attribute("aria-label", re.compile("새 메시지 1"))
    launcher.click()
    expect(page.locator(".bk-badge")).to_be_hidden()


def test_links_are_safe_and_bot_text_is_never_markup(page: Page, server: Server) -> None:
    log = open_chat(page, server)
    type_message(page, "<img src=x onerror=alert(1)>")
    expect(log.locator(".bk-user").last).to_have_text("<img src=x onerror=alert(1)>")
    assert log.locator("img[src='x']").count() == 0
    log.get_by_role("button", name="배송 조회").click()
    log.get_by_role("button", name="주문번호 찾는 법").click()
    link = log.get_by_role("link", name="주문 내역 열기")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(log.get_by_role("img", name="주문 내역 화면에서 주문번호 위치")).to_have_count(1)


def test_a_page_for_nobody_or_for_another_customer_starts_a_new_visitor(
    page: Page, server: Server
) -> None:
    """A shared computer: the visitor id opens the conversation, so once the customer the
    widget spoke for logs out, or someone else logs in, the next one starts afresh."""
    # The shop's page names its logged-in customer (here: the one in the address).
    page.add_init_script(
        "const who = new URLSearchParams(location.search).get('customer');"
        "if (who) window.BotkitWidget = {customer: who, token: 'token-made-by-the-shop'};"
    )

    def visitor_on(customer: str | None) -> str:
        page.goto(server.url + "/" + (f"?customer={customer}" if customer else ""))
        expect(page.locator(".bk-launcher")).to_be_visible()
        return session_id(page)

    anonymous = visitor_on(None)
    assert visitor_on("C-1042") == anonymous  # logging in keeps the conversation
    assert visitor_on("C-1042") == anonymous
    logged_out = visitor_on(None)
    assert logged_out != anonymous  # 지아 logged out: her chat is not the next person's
    assert visitor_on("C-2000") == logged_out
    assert visitor_on("C-1042") not in (anonymous, logged_out)  # another customer: afresh
