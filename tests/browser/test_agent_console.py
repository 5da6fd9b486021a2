"""The agent console (``GET /agent/``) in a real browser, next to a shopper in the web widget.

Two browser profiles against one ``botkit serve`` with agent tokens: the shopper asks for a
person, the agent finds the conversation in the queue, takes it, answers (the shopper sees the
answer live), hands the shopper back to the bot, and the bot answers again. The store then holds
every step as a record, in order. Also the one-line errors: a wrong token (401) and a
conversation another agent already holds (409).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest

# Without Playwright the tests skip (collecting them must not fail); see conftest.py.
pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import Browser, Locator, Page, expect

from botkit.records import Record
from botkit.storage import SQLiteStore
from tests.browser.conftest import REPO, TEST_HOOKS, Server, _missing, browser_page
from tests.browser.test_widget import ASK_ORDER, open_chat, session_id, type_message
from tests.server.processes import open_hours_fixtures, serve

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.browser

HANEUL, BADA = "tok-haneul-0123456789", "tok-bada-0123456789ab"
AGENT_TOKENS = f"하늘:{HANEUL},바다:{BADA}"
HELLO = "안녕하세요, 상담원 하늘입니다."
MARKUP = "<img src=x onerror=alert(1)>"


@dataclass
class AgentServer(Server):
    """``botkit serve`` with agent tokens, which a test can stop to read its store."""

    stop: Callable[[], object] = field(repr=False)


@pytest.fixture
def agent_server(tmp_path: Path) -> Iterator[AgentServer]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    env = {**TEST_HOOKS, "BOTKIT_AGENT_TOKENS": AGENT_TOKENS}
    # The shopper asks for a person inside the CS team's hours, whatever the wall clock says.
    with serve(tmp_path, env=env, fixtures=open_hours_fixtures(tmp_path)) as served:
        yield AgentServer(served.url, served.db, served.stop)


def sign_in(console: Page, server: Server, token: str) -> None:
    console.goto(server.url + "/agent/")
    console.get_by_label("상담원 토큰").fill(token)
    console.get_by_role("button", name="시작").click()


def queue_entry(console: Page, user: str) -> Locator:
    queue = console.get_by_role("region", name=re.compile("대기열"))
    return queue.get_by_role("button", name=re.compile(re.escape(user[:8])))


def error_line(console: Page) -> Locator:
    return console.get_by_role("alert")


def read_records(db: Path, session: str) -> list[Record]:
    """The session's records, read with the store itself (in a thread of its own: Playwright's
    sync API owns this thread's event loop)."""

    async def read() -> list[Record]:
        store = SQLiteStore(str(db))
        await store.open()
        try:
            return await store.records(session=session)
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def position(records: list[Record], kind: str, after: int = -1, **data: Any) -> int:
    """Where the first record of ``kind`` after ``after`` is, whose data has ``data``."""
    for index, record in enumerate(records):
        found = record.data or {}
        if (
            index > after
            and record.kind == kind
            and all(found.get(k) == v for k, v in data.items())
        ):
            return index
    kinds = [(r.kind, r.data) for r in records]
    raise AssertionError(f"no {kind} {data} after #{after} in {kinds}")


def test_an_agent_takes_over_answers_and_hands_the_user_back_to_the_bot(
    browser: Browser, agent_server: AgentServer
) -> None:
    with browser_page(browser) as shopper, browser_page(browser) as console:
        log = open_chat(shopper, agent_server)
        sid = session_id(shopper)
        type_message(shopper, "상담원 연결해 주세요")
        expect(log.get_by_text(re.compile("상담원을 연결해 드릴게요"))).to_be_visible()

        sign_in(console, agent_server, HANEUL)
        entry = queue_entry(console, sid)  # polled: it appears without a reload
        expect(entry).to_contain_text("대기 중")
        expect(entry).to_contain_text("고객 요청")
        expect(entry).to_contain_text(re.compile(r"(\d+분|1분 미만) 대기"))
        entry.click()
        transcript = console.get_by_role("log", name="대화 내용")
        expect(transcript).to_contain_text("상담원 연결해 주세요")

        console.get_by_role("button", name="가져오기").click()
        expect(entry).to_contain_text("하늘 상담 중")
        reply = console.get_by_label("답장")
        expect(reply).to_be_focused()
        reply.fill("안녕")  # an Enter that ends a Hangul syllable (IME) does not send
        reply.dispatch_event("keydown", {"key": "Enter", "isComposing": True, "keyCode": 229})
        expect(reply).to_have_value("안녕")
        reply.fill(HELLO)
        reply.press("Enter")
        expect(reply).to_have_value("")
        expect(log.get_by_text(HELLO)).to_be_visible()  # pushed live to the widget
        expect(transcript).to_contain_text(HELLO)

        expect(console.get_by_label("돌아갈 상태")).to_have_value("main.start")
        console.get_by_role("button", name="봇에게 돌려주기").click()
        expect(console.locator("#detail-status")).to_contain_text("봇 응대 중")
        expect(entry).to_have_count(0)  # out of the queue
        expect(error_line(console)).to_be_hidden()

        type_message(shopper, "배송 조회")
        expect(log.get_by_text(ASK_ORDER)).to_be_visible()
        expect(transcript).to_contain_text(ASK_ORDER)  # the open conversation refreshes too

    agent_server.stop()
    records = read_records(agent_server.db, f"web:{sid}")
    asked = position(records, "handoff_requested", reason="user_request")
    claimed = position(records, "handoff_claimed", asked, agent="하늘")
    steps = [(r.kind, r.data) for r in records[claimed : claimed + 4]]
    assert [kind for kind, _ in steps] == [
        "handoff_claimed",
        "agent_message",
        "handoff_released",
        "transition",
    ], steps
    assert steps[1][1] == {"agent": "하늘", "text": HELLO}
    assert steps[2][1] == {"to": "main.start"}
    assert (steps[3][1] or {}).get("to") == "main.start"
    position(records, "message_in", claimed + 3, text="배송 조회")


def test_a_wrong_token_and_a_taken_conversation_show_an_error_line(
    browser: Browser, agent_server: AgentServer
) -> None:
    with browser_page(browser) as console:
        console.clock.install()  # the console's polls run only when the test lets time pass
        sign_in(console, agent_server, "tok-wrong-0123456789")
        expect(error_line(console)).to_contain_text("토큰이 올바르지 않아요")
        expect(error_line(console)).to_contain_text("401")
        expect(console.get_by_label("상담원 토큰")).to_be_focused()  # asked again
        assert console.evaluate("sessionStorage.getItem('botkit.agentToken')") is None

        sid = "taken-by-bada-0123456789"
        message = {"sid": sid, "id": "1", "text": f"상담원 연결해 주세요 {MARKUP}"}
        httpx.post(f"{agent_server.url}/web/messages", json=message, timeout=5).raise_for_status()
        sign_in(console, agent_server, HANEUL)
        expect(error_line(console)).to_be_hidden()
        entry = queue_entry(console, sid)
        expect(entry).to_contain_text("대기 중")
        entry.click()
        transcript = console.get_by_role("log", name="대화 내용")
        expect(transcript).to_contain_text(MARKUP)  # what users write is text, never markup
        assert transcript.locator("img").count() == 0

        # 바다 takes it (over the API) before the console's next poll; 하늘 then tries to.
        claim = f"{agent_server.url}/agent/api/conversations/web/{sid}/claim"
        headers = {"Authorization": f"Bearer {BADA}"}
        httpx.post(claim, headers=headers, timeout=5).raise_for_status()
        console.get_by_role("button", name="가져오기").click()
        expect(error_line(console)).to_contain_text("409")
        expect(error_line(console)).to_contain_text("바다")
        console.clock.run_for(2_000)  # the next poll shows who holds it
        expect(entry).to_contain_text("바다 상담 중")
        expect(console.get_by_role("button", name="가져오기")).to_be_disabled()

        console.reload()  # the token is kept for the tab: not asked again
        expect(queue_entry(console, sid)).to_contain_text("바다 상담 중")
        expect(console.get_by_label("상담원 토큰")).to_be_hidden()


def test_signing_in_after_a_wrong_token_clears_the_error_and_release_offers_the_states(
    browser: Browser, agent_server: AgentServer
) -> None:
    import botkit

    bot = botkit.load(REPO / "flows").bot
    designed = [f"{f.id}.{s}" for f in bot.flows.values() for s in f.states]
    with browser_page(browser) as console:
        sign_in(console, agent_server, "tok-wrong-0123456789")
        expect(error_line(console)).to_contain_text("401")
        token = console.get_by_label("상담원 토큰")
        expect(token).to_be_focused()
        token.fill(HANEUL)  # the same page: no reload clears the banner for us
        console.get_by_role("button", name="시작").click()
        expect(console.get_by_role("region", name=re.compile("대기열"))).to_be_visible()
        expect(error_line(console)).to_be_hidden()

        sid = "back-to-faq-0123456789"
        message = {"sid": sid, "id": "1", "text": "상담원 연결해 주세요"}
        httpx.post(f"{agent_server.url}/web/messages", json=message, timeout=5).raise_for_status()
        queue_entry(console, sid).click()
        back = console.get_by_label("돌아갈 상태")
        expect(back).to_have_value("main.start")
        options = back.locator("option")
        expect(options).to_have_count(len(designed))
        assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == sorted(designed)
        expect(back.locator("optgroup[label='자주 묻는 질문 (faq)']")).to_have_count(1)
        console.get_by_role("button", name="가져오기").click()
        back.select_option("faq.shipping_fee")
        console.get_by_role("button", name="봇에게 돌려주기").click()
        expect(console.locator("#detail-status")).to_contain_text("흐름 faq.shipping_fee")
        expect(error_line(console)).to_be_hidden()
