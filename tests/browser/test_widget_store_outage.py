"""The widget while the bot's database restarts: the shopper's message waits, marked "보내는
중…", the widget sends it again by itself when the server says to retry, and it is answered
once when the database is back. The server is `botkit serve` on PostgreSQL behind a proxy that
the test cuts, as a restart cuts connections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import Browser, expect

from botkit.storage.postgres import PostgresStore
from tests.browser.conftest import TEST_HOOKS, Server, browser_page
from tests.browser.test_widget import ASK_ORDER, open_chat, session_id, type_message
from tests.outage import CuttableProxy, cuttable_proxy
from tests.postgres import POSTGRES_MARKS, POSTGRES_URL, postgres_url, run_apart
from tests.server.processes import serve

pytestmark = [pytest.mark.browser, *POSTGRES_MARKS]


@pytest.fixture
def on_postgres(
    tmp_path: Path, postgres_schema: str, server: Server
) -> Iterator[tuple[Server, CuttableProxy, str]]:
    """`botkit serve` on PostgreSQL through a cuttable proxy (``server`` only makes sure the
    browser tests can run here)."""
    with cuttable_proxy(POSTGRES_URL) as proxy:
        store = proxy.url(postgres_url(postgres_schema, connect_timeout=1))
        with serve(tmp_path, store=store, env=TEST_HOOKS) as served:
            yield Server(served.url, served.db), proxy, postgres_url(postgres_schema)


async def _messages_in(url: str, sid: str, text: str) -> int:
    store = PostgresStore(url)
    await store.open()
    try:
        records = await store.records(session=f"web:{sid}", kind="message_in")
    finally:
        await store.close()
    return sum(1 for r in records if (r.data or {}).get("text") == text)


def test_a_message_sent_while_the_database_restarts_is_answered_once_it_is_back(
    browser: Browser, on_postgres: tuple[Server, CuttableProxy, str]
) -> None:
    server, proxy, store = on_postgres
    with browser_page(browser) as page:
        log = open_chat(page, server)
        sid = session_id(page)
        proxy.cut()  # the database goes away
        type_message(page, "배송 조회")
        pending = log.locator(".bk-user", has_text="배송 조회")
        expect(pending).to_contain_text("보내는 중…")  # told "unavailable": kept, not failed
        page.wait_for_timeout(2500)  # the widget has tried again at least once meanwhile
        expect(pending).to_contain_text("보내는 중…")
        proxy.restore()  # and comes back
        expect(log.get_by_text(ASK_ORDER)).to_be_visible(timeout=15_000)
        expect(pending).not_to_contain_text("보내는 중…")
        page.wait_for_timeout(1000)  # room for a second answer, were there one
        expect(log.get_by_text(ASK_ORDER)).to_have_count(1)
    assert run_apart(_messages_in(store, sid, "배송 조회")) == 1
