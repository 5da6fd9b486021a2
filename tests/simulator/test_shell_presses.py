"""`botkit shell` presses only what the bot drew, so every press it sends is taken: by number,
by label, on a slot question, after a /goto and after a fallback; none is rejected."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from rich.console import Console

import botkit
from botkit.simulator.console_render import Screen
from botkit.simulator.fixtures import SteppedClock
from botkit.simulator.shell import Shell
from botkit.simulator.testfile import Fixtures
from botkit.storage import MemoryStore
from tests.engine.conftest import REPO


class Typist:
    def __init__(self, shell: Shell, output: io.StringIO, store: MemoryStore) -> None:
        self.shell, self.output, self.store = shell, output, store
        self.read_up_to = 0

    async def type(self, line: str) -> str:
        assert await self.shell.enter(line)
        text = self.output.getvalue()[self.read_up_to :]
        self.read_up_to += len(text)
        return text

    async def state(self) -> str | None:
        session = await self.shell.runtime.session("console", "tester")
        return None if session is None else session.state


@pytest.fixture
async def typist() -> AsyncIterator[Typist]:
    app = botkit.load(REPO / "flows")
    store = MemoryStore()
    await store.open()
    clock = SteppedClock(Fixtures().start_time("Asia/Seoul"))
    runtime = app.runtime(store, clock=clock, stubs={"lookup_order": lambda ctx: {}})
    output = io.StringIO()
    screen = Screen(Console(file=output, width=100, color_system=None), plain=True)
    shell = Shell(app, runtime, screen, channel="console", fixtures=Fixtures(), clock=clock)
    await shell.open()
    yield Typist(shell, output, store)
    await runtime.aclose()
    await store.close()


async def test_every_press_the_shell_sends_was_drawn_and_is_taken(typist: Typist) -> None:
    assert "주문번호 10자리를 알려 주세요" in await typist.type("1")  # 배송 조회, by number
    assert "주문번호는 여기에 있어요" in await typist.type("주문번호 찾는 법")  # by label
    assert await typist.state() == "order_status.ask_order"  # asked again after the card
    await typist.type("취소")
    assert await typist.state() == "main.start"
    await typist.type("/goto faq.opening_hours")
    await typist.type("1")  # 다른 질문
    assert await typist.state() == "faq.start"
    await typist.type("/goto refund.ask_order")
    await typist.type("1234567890")
    await typist.type("2")  # 상품 불량, a slot question's choice
    assert "환불 사유를 '상품 불량'(으)로 접수할까요?" in typist.output.getvalue()
    await typist.type("1")  # 예
    session = await typist.shell.runtime.session("console", "tester")
    assert session is not None
    assert session.slots["refund_reason"] == "defect"
    assert await typist.store.records(kind="payload_rejected") == []
    pressed = [r.data for r in await typist.store.records(kind="message_in")]
    assert {"text": "다른 질문", "payload": "@faq.start"} in pressed
