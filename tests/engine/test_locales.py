"""The conversation's language: from the channel, the profile or a switch the user takes; words
matched in the session's language and the default one; every change recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.effects import Say
from botkit.engine import Engine, Session
from botkit.events import UserMessage
from botkit.flow import Bot, compile_bot, flow_files
from botkit.records import Record, RecordKind
from tests.engine.conftest import WEDNESDAY_10AM

BOT_DIR = Path(__file__).resolve().parents[1] / "bots" / "multilingual"


@pytest.fixture(scope="module")
def bot() -> Bot:
    result = compile_bot(flow_files(BOT_DIR))
    assert result.problems == []
    assert result.bot is not None
    return result.bot


class Chat:
    """One user of the multilingual bot; ``lang`` is what the channel says the user speaks."""

    def __init__(self, bot: Bot, lang: str | None = None) -> None:
        self.engine = Engine(bot)
        self.session: Session = self.engine.new_session("test:민지", "민지", "test")
        self.lang = lang
        self.at = WEDNESDAY_10AM
        self.records: list[Record] = []

    def say(self, text: str, payload: str | None = None) -> list[str]:
        self.at += 5
        turn = self.engine.handle(self.session, UserMessage(text, self.at, payload, self.lang))
        self.records.extend(turn.records)
        return [e.text or "" for e in turn.effects if isinstance(e, Say)]

    def kinds(self, kind: str) -> list[dict[str, object]]:
        return [r.data or {} for r in self.records if r.kind == kind]


def test_the_channels_language_is_the_sessions_when_the_bot_has_it(bot: Bot) -> None:
    chat = Chat(bot, lang="en")
    assert chat.say("hello") == ["How can I help you?"]
    assert chat.session.locale == "en"
    assert chat.kinds(RecordKind.CONVERSATION_START)[0]["locale"] == "en"


@pytest.mark.parametrize(("lang", "locale"), [("en-US", "en"), ("en_gb", "en"), ("fr", "ko")])
def test_a_regional_language_is_its_language_and_an_unknown_one_the_default(
    bot: Bot, lang: str, locale: str
) -> None:
    chat = Chat(bot, lang=lang)
    chat.say("hello")
    assert chat.session.locale == locale


def test_english_keywords_match_in_an_english_conversation(bot: Bot) -> None:
    chat = Chat(bot, lang="en")
    chat.say("hi")
    assert chat.say("I want a refund") == ["I'll help you with a refund."]
    chat.say("menu")
    assert chat.say("my parcel") == ["You can track your delivery in My Page."]


def test_english_example_phrases_of_an_intent_match(bot: Bot) -> None:
    chat = Chat(bot, lang="en")
    chat.say("hi")
    assert chat.say("can I get the money back") == ["I'll help you with a refund."]


def test_the_default_languages_words_still_match_in_english(bot: Bot) -> None:
    chat = Chat(bot, lang="en")
    chat.say("hi")
    assert chat.say("환불하고 싶어요") == ["I'll help you with a refund."]


def test_english_words_do_not_match_in_a_korean_conversation(bot: Bot) -> None:
    chat = Chat(bot, lang="ko")
    chat.say("안녕하세요")
    assert chat.say("my parcel") == ["잘 이해하지 못했어요."]


def test_a_switch_answers_in_english_from_then_on_whatever_the_channel_says(bot: Bot) -> None:
    chat = Chat(bot, lang="ko")
    assert chat.say("안녕하세요") == ["무엇을 도와드릴까요?"]
    assert chat.say("English") == ["OK, I'll continue in English.", "How can I help you?"]
    assert chat.session.locale_source == "user"
    assert chat.say("한국어") == ["이제 한국어로 안내할게요.", "무엇을 도와드릴까요?"]
    assert chat.say("영어로") == ["OK, I'll continue in English.", "How can I help you?"]
    assert chat.say("refund") == ["I'll help you with a refund."]  # Kakao still says lang=ko
    assert chat.say("menu") == ["How can I help you?"]  # a new conversation, still in English
    assert chat.session.locale == "en"
    assert chat.kinds(RecordKind.LOCALE_CHANGED) == [
        {"from": "ko", "locale": "en", "source": "user"},
        {"from": "en", "locale": "ko", "source": "user"},
        {"from": "ko", "locale": "en", "source": "user"},
    ]


def test_a_switch_as_the_first_message_greets_in_that_language(bot: Bot) -> None:
    chat = Chat(bot, lang="ko")
    assert chat.say("English") == ["How can I help you?"]
    assert chat.session.locale_source == "user"


def test_the_profiles_language_beats_the_channels(bot: Bot) -> None:
    chat = Chat(bot, lang="ko")
    chat.say("안녕하세요")
    chat.session.profile = {"locale": "en"}
    assert chat.say("처음으로") == ["How can I help you?"]
    assert chat.kinds(RecordKind.LOCALE_CHANGED) == [
        {"from": "ko", "locale": "en", "source": "profile"}
    ]


def test_the_channels_language_changing_mid_conversation_is_recorded(bot: Bot) -> None:
    chat = Chat(bot, lang="ko")
    chat.say("안녕하세요")
    chat.lang = "en"
    assert chat.say("menu") == ["How can I help you?"]
    assert chat.kinds(RecordKind.LOCALE_CHANGED) == [
        {"from": "ko", "locale": "en", "source": "channel"}
    ]


def test_the_labels_of_the_choices_on_screen_are_in_the_sessions_language(bot: Bot) -> None:
    chat = Chat(bot, lang="en")
    chat.say("hi")
    turn = chat.engine.handle(chat.session, UserMessage("Refund", chat.at + 5, None, "en"))
    assert [e.text for e in turn.effects if isinstance(e, Say)] == ["I'll help you with a refund."]


def test_botkits_own_words_follow_the_conversations_language() -> None:
    """The yes/no of a confirmation and the error bubble are in the session's language; the
    default language's 네 is still understood in English."""
    from botkit.app import load
    from botkit.flow.defaults import KOREAN

    app = load(Path(__file__).resolve().parents[2] / "flows")
    app.validator("known_order_prefix")(lambda value, slots: True)
    prepared = app.engine.prepared
    english = prepared.wording_of("en")
    assert (english.yes_label, english.no_label) == ("Yes", "No")
    assert {"yeah", "네"} <= english.yes
    assert prepared.wording_of("ko") is KOREAN
    said = {locale: prepared.error_effects(locale)[0].text for locale in ("ko", "en")}
    assert said == {
        "ko": "일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요.",
        "en": "Something went wrong on our side. Please try again in a moment.",
    }
