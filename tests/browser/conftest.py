"""A real ``botkit serve`` and a real headless Chromium, for the web widget's browser tests.

The server is the command a user runs (``python -m botkit.cli.main serve``), on a free loopback
port with the reference bot, the demo fixtures (the courier lookup answers 배송중) and a SQLite
store the tests read to count turns. ``BOTKIT_WEB_TEST_HOOKS=1`` adds ``POST /web/_drop``, which
closes every open socket as a server restart would.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (no downloaded browsers, so
``playwright install`` is never needed). Without either, the tests skip and say why.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.server.processes import free_port

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


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"botkit serve exited early:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"botkit serve did not get ready:\n{log.read_text(errors='replace')}")


@contextlib.contextmanager
def serve(
    tmp: Path, env: dict[str, str] | None = None, store: str | None = None
) -> Iterator[tuple[str, Path, Callable[[], None]]]:
    """``botkit serve`` on the reference bot in a process of its own, on a fresh SQLite file in
    ``tmp`` (or ``store``), with the widget's test hooks and ``env`` on top: (url, database,
    stop)."""
    db, log = tmp / "bot.db", tmp / "serve.log"
    port = free_port()
    command = [
        sys.executable, "-m", "botkit.cli.main", "serve", "flows/", "--port", str(port),
        "--store", store or f"sqlite:///{db}", "--fixtures", "flows/tests/demo.fixtures.yaml",
    ]  # fmt: skip
    full_env = {**os.environ, "BOTKIT_WEB_TEST_HOOKS": "1", **(env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=out, stderr=out)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url, db, stop
    finally:
        stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    with serve(tmp_path_factory.mktemp("web")) as (url, db, _stop):
        yield Server(url, db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps its event
    loop running in this thread until it stops, and the async tests after these need it gone."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


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
