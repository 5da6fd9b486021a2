"""Kakao's ``userRequest.lang`` is the conversation's language, until the user switches.

Through the real ASGI app (in the test's event loop) with the small bot in Korean and English,
``tests/bots/multilingual``; payloads as KakaoTalk sends them (``skill_payload``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from botkit.records import RecordKind
from botkit.storage import MemoryStore
from tests.server.conftest import SKILL_PATH, multilingual, session_key, skill_payload, texts

Say = Callable[..., Coroutine[Any, Any, list[str]]]


@contextlib.asynccontextmanager
async def kakao() -> AsyncIterator[tuple[Say, MemoryStore]]:
    store = MemoryStore()
    async with multilingual(store) as client:

        async def say(text: str, lang: str | None = "ko") -> list[str]:
            body = skill_payload(text)
            if lang is None:
                del body["userRequest"]["lang"]
            else:
                body["userRequest"]["lang"] = lang
            answer = await client.post(SKILL_PATH, json=body)
            assert answer.status_code == 200, answer.text
            return texts(answer.json())

        yield say, store


async def test_kakaos_lang_is_the_language_of_the_answer() -> None:
    async with kakao() as (say, store):
        assert await say("hello", lang="en") == ["How can I help you?"]
        assert await say("I want a refund", lang="en") == ["I'll help you with a refund."]
        session = await store.load(session_key())
        assert session is not None
        assert session.locale == "en"


async def test_a_lang_the_bot_does_not_speak_gets_the_default_language() -> None:
    async with kakao() as (say, _):
        assert await say("안녕하세요", lang="ja") == ["무엇을 도와드릴까요?"]
        assert await say("처음으로", lang=None) == ["무엇을 도와드릴까요?"]


async def test_a_switch_to_english_sticks_though_kakao_keeps_saying_ko() -> None:
    async with kakao() as (say, store):
        assert await say("안녕하세요") == ["무엇을 도와드릴까요?"]
        assert await say("영어로") == ["OK, I'll continue in English.", "How can I help you?"]
        assert await say("I want a refund") == ["I'll help you with a refund."]
        assert await say("menu") == ["How can I help you?"]
        changes = [r.data for r in await store.records() if r.kind == RecordKind.LOCALE_CHANGED]
        assert changes == [{"from": "ko", "locale": "en", "source": "user"}]
