"""A real ``botkit serve`` and a real headless Chromium, for the web widget's browser tests.

The server is the command a user runs (``python -m botkit.cli.main serve``), on a free loopback
port with the reference bot, fixtures (the courier lookup answers 배송중; the server's clock starts
on a Wednesday morning, so the CS team is in whatever the hour, weekday or time zone) and a
SQLite store the tests read to count turns. ``BOTKIT_WEB_TEST_HOOKS=1`` adds
``POST /web/_drop``, which closes every open socket as a server restart would.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (no downloaded browsers, so
``playwright install`` is never needed). Without either, the tests skip and say why.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.server.processes import open_hours_fixtures, serve

TEST_HOOKS = {"BOTKIT_WEB_TEST_HOOKS": "1"}  # POST /web/_drop closes every widget socket

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Quiet, reproducible Chromium: no sandbox (containers run as root), no network of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return "Debian's chromium is missing: apt-get install -y chromium (see .ci/run)"
    return None


@dataclass
class Server:
    url: str
    db: Path

    def drop_sockets(self) -> int:
        """Close every open widget socket from the server side, as a restart does."""
        dropped: int = httpx.post(f"{self.url}/web/_drop", timeout=5).json()["dropped"]
        return dropped

    def messages_in(self, sid: str, text: str) -> int:
        """How many turns the store holds for ``text`` from the widget session ``sid``."""
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            rows = db.execute(
                "SELECT data FROM records WHERE kind = 'message_in' AND session = ?",
                (f"web:{sid}",),
            ).fetchall()
        return sum(1 for (data,) in rows if json.loads(data or "{}").get("text") == text)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("web")
    with serve(folder, env=TEST_HOOKS, fixtures=open_hours_fixtures(folder)) as served:
        yield Server(served.url, served.db)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless and quiet; the test skips, saying why, without it."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps its event
    loop running in this thread until it stops, and the async tests after these need it gone."""
    with chromium() as launched:
        yield launched


@contextlib.contextmanager
def browser_page(browser: Browser) -> Iterator[Page]:
    """A page in a browser profile of its own (its own localStorage, so its own session),
    failing the test if the page throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh browser profile on the demo page."""
    with browser_page(browser) as fresh:
        yield fresh
