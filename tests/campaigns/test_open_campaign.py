"""The engine's side of a campaign message (Engine.open_campaign): said, recorded, and the user
put where their reply is read; never into a conversation with a person."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from botkit.app import BotApp, load
from botkit.effects import Say
from botkit.engine import Engine
from botkit.engine.session import Status
from botkit.errors import StepRefused
from botkit.events import UserMessage
from botkit.records import RecordKind
from tests.campaigns.test_sending import CAMPAIGNS, at

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bot(tmp_path: Path) -> BotApp:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    (folder / "campaigns.yaml").write_text(CAMPAIGNS, encoding="utf-8")
    return load(folder)


def test_a_first_message_from_the_bot_starts_a_conversation_at_the_opened_state(
    bot: BotApp,
) -> None:
    engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    turn = engine.open_campaign(
        session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:00")
    )
    kinds = [r.kind for r in turn.records]
    assert kinds[:3] == [
        RecordKind.CONVERSATION_START,
        RecordKind.TRANSITION,
        RecordKind.CAMPAIGN_MESSAGE,
    ]
    assert RecordKind.MESSAGE_OUT in kinds
    transition = turn.records[1].data
    assert transition == {
        "from": "main.start",
        "to": "promotion.offer",
        "trigger": "campaign:cart_reminder",
    }
    said = [e for e in turn.effects if isinstance(e, Say)]
    assert len(said) == 1
    assert said[0].text is not None
    assert said[0].text.startswith("(광고)")
    assert session.state == "promotion.offer"


def test_a_conversation_silent_past_the_timeout_ends_at_its_last_activity(bot: BotApp) -> None:
    engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    engine.handle(session, UserMessage("안녕하세요", at("2026-12-07 09:00")))
    turn = engine.open_campaign(
        session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:00")
    )
    end = turn.records[0]
    assert end.kind == RecordKind.CONVERSATION_END
    assert end.data == {"outcome": "abandoned"}
    assert end.at == at("2026-12-07 09:00")
    assert session.conversation == 2


def test_a_conversation_going_on_continues_with_the_campaign(bot: BotApp) -> None:
    engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    engine.handle(session, UserMessage("안녕하세요", at("2026-12-07 09:50")))
    turn = engine.open_campaign(
        session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:00")
    )
    assert RecordKind.CONVERSATION_START not in [r.kind for r in turn.records]
    assert session.conversation == 1


def test_nobody_is_interrupted_while_waiting_for_or_talking_with_a_person(bot: BotApp) -> None:
    engine: Engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    engine.handle(session, UserMessage("상담원", at("2026-12-07 10:00")))
    assert session.status == Status.HANDOFF_REQUESTED  # the reference bot's global keyword
    with pytest.raises(StepRefused):
        engine.open_campaign(session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:01"))


def test_a_campaign_or_variant_this_version_lacks_is_refused(bot: BotApp) -> None:
    engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    with pytest.raises(StepRefused):
        engine.open_campaign(session, "gone", "default", "k" * 32, at("2026-12-07 10:00"))
    with pytest.raises(StepRefused):
        engine.open_campaign(session, "cart_reminder", "Z", "k" * 32, at("2026-12-07 10:00"))
    assert session.conversation == 0  # nothing happened


def test_a_send_taken_again_after_a_crash_is_said_once(bot: BotApp) -> None:
    engine = bot.engine
    session = engine.new_session("web:v1", "v1", "web")
    first = engine.open_campaign(
        session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:00")
    )
    again = engine.open_campaign(
        session, "cart_reminder", "default", "k" * 32, at("2026-12-07 10:02")
    )
    assert [r.kind for r in first.records].count(RecordKind.CAMPAIGN_MESSAGE) == 1
    assert (again.effects, again.records) == ([], [])
    other = engine.open_campaign(
        session, "cart_reminder", "default", "m" * 32, at("2026-12-07 10:03")
    )
    assert RecordKind.CAMPAIGN_MESSAGE in [r.kind for r in other.records]  # another send is said
