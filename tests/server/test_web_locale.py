"""The widget's language (the page's ``data-locale`` or the browser's, sent as ``locale``) is
the conversation's, until the user switches. Over the ASGI app, speaking the protocol of
adapters/web/PROTOCOL.md as tests/server/test_web_protocol.py does, with the small bot in
Korean and English, ``tests/bots/multilingual``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import botkit
from tests.server.conftest import multilingual

SID = "웹언어테스트".encode().hex()  # a valid session id
WIDGET = Path(botkit.__file__).parent / "adapters" / "web" / "static" / "widget.js"

Say = Callable[..., Coroutine[Any, Any, list[str]]]


@contextlib.asynccontextmanager
async def widget() -> AsyncIterator[Say]:
    async with multilingual() as client:
        sent = 0

        async def say(text: str, locale: str | None, payload: str | None = None) -> list[str]:
            nonlocal sent
            sent += 1
            body: dict[str, Any] = {"sid": SID, "id": f"m{sent}", "text": text}
            if locale is not None:
                body["locale"] = locale
            if payload is not None:
                body["payload"] = payload
            reply = await client.post("/web/messages", json=body)
            assert reply.status_code == 200, reply.text
            return [m["text"] for m in reply.json()["messages"] if m.get("text")]

        yield say


async def test_the_pages_language_is_the_language_of_the_answer() -> None:
    async with widget() as say:
        assert await say("", "en-US") == ["How can I help you?"]
        assert await say("my parcel", "en-US") == ["You can track your delivery in My Page."]


async def test_a_page_in_korean_is_answered_in_korean() -> None:
    async with widget() as say:
        assert await say("", "ko") == ["무엇을 도와드릴까요?"]
        assert await say("parcel", "ko") == ["잘 이해하지 못했어요."]


async def test_a_switch_to_english_sticks_though_the_page_is_korean() -> None:
    async with widget() as say:
        assert await say("안녕하세요", "ko") == ["무엇을 도와드릴까요?"]
        switched = await say("English", "ko")
        assert switched == ["OK, I'll continue in English.", "How can I help you?"]
        assert await say("Refund", "ko", payload="refund") == ["I'll help you with a refund."]
        assert await say("hi", "ko") == ["How can I help you?"]


def test_the_widget_sends_the_browsers_language_when_the_page_names_none() -> None:
    source = WIDGET.read_text(encoding="utf-8")
    assert 'locale: ""' in source
    assert "conf.locale = conf.locale || navigator.language" in source
