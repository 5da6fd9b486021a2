"""Naming a state for an operator's step, and a confirmation that survives a new version.

``Engine.target`` reads a state's name the way ``Prepared.target_named`` does (a bare name is a
state of the start flow). A conversation brought over from another version while its value
waits for a yes goes on waiting for it, on the engine's own shared ``Awaiting``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from botkit.engine import Engine, StepRefused
from botkit.engine.session import Awaiting
from tests.engine.conftest import Conversation
from tests.engine.test_sensitive import SENSITIVE_FLOW

Build = Callable[..., Engine]
PHONE = "010-1234-5678"


def test_a_state_is_named_as_flow_state_or_by_its_bare_name_in_the_start_flow(
    inline: Build,
) -> None:
    engine = inline(SENSITIVE_FLOW)
    assert engine.target("demo.ask") == ("demo", "ask")
    assert engine.target("saved") == ("demo", "saved")
    for unknown in ("nowhere", "demo.nowhere", "elsewhere.ask"):
        with pytest.raises(StepRefused, match=f"there is no state '{unknown}'"):
            engine.target(unknown)


def test_a_confirmation_brought_over_from_another_version_still_waits_for_the_yes(
    inline: Build,
) -> None:
    engine = inline(SENSITIVE_FLOW)
    c = Conversation(engine).say("안녕").press("연락처 남기기").say(PHONE)
    assert c.session.awaiting == Awaiting("confirm", "phone")
    c.session.bot_version = "an earlier version"
    note = engine.note(c.session, "확인 중", "agent", c.at + 1)  # brought over quietly
    assert [r.kind for r in note.records] == ["version_migrated", "agent_note"]
    migrated = note.records[0].data
    assert migrated is not None
    assert migrated["how"] == "kept"
    assert c.session.awaiting is engine.prepared.confirming["phone"]
    c.press("예")
    assert c.slots["phone"] == PHONE
    assert c.state == "demo.saved"
