"""What a session waits for is a typed pair; sessions stored as strings still load and go on.

And the other half of the engine's honesty: the machine does not refuse a move the payload
contract allowed (``botkit/engine/_machine.py`` says why), shown on the reference bot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from botkit.engine import Awaiting, Engine
from botkit.engine.session import INPUT, Session
from botkit.storage.base import decode_session, encode_session
from tests.engine.conftest import WEDNESDAY_10AM, Conversation

Talk = Callable[..., Conversation]

# A session as botkit stored it before ``awaiting`` was a pair: the order number is being
# asked for (the shape of ``Session.to_dict`` then, written as JSON by the store).
OLD_SNAPSHOT: dict[str, Any] = {
    "key": "test:민지",
    "user": "민지",
    "channel": "test",
    "bot_version": "",
    "state": "order_status.ask_order",
    "status": "bot",
    "conversation": 1,
    "turn": 2,
    "seq": 9,
    "version": 3,
    "started_at": WEDNESDAY_10AM,
    "last_at": WEDNESDAY_10AM + 5,
    "locale": "ko",
    "slots": {},
    "profile": None,
    "variants": {"greeting_title": "A"},
    "variant": "greeting_title:A",
    "awaiting": "slot:order_no",
    "attempts": 0,
    "misses": 0,
    "pending": None,
    "held": None,
    "since": 0.0,
    "agent": None,
    "outbox": None,
    "offered": ["order_no_help", "cancel"],
}


def test_an_old_snapshot_waiting_for_a_slot_loads_and_the_conversation_goes_on(
    talk: Talk,
) -> None:
    stored = json.dumps(OLD_SNAPSHOT, ensure_ascii=False)
    session = decode_session(stored, version=3)
    assert session.awaiting == Awaiting("slot", "order_no")

    c = talk()
    c.session = session
    c.at = WEDNESDAY_10AM + 10
    c.say("1234-567-890")
    assert c.slots["order_no"] == "1234567890"
    assert c.state == "order_status.in_transit"
    assert [(r.data or {})["slot"] for r in c.records if r.kind == "slot_filled"] == ["order_no"]

    # Written again, it is the pair; and it reads back as the same pair.
    again = decode_session(encode_session(c.session, 4), 4)
    assert json.loads(encode_session(c.session, 4))["awaiting"] == {"kind": "input", "name": ""}
    assert again.awaiting is INPUT


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", None),
        (None, None),
        ("input", INPUT),
        ("slot:order_no", Awaiting("slot", "order_no")),
        ("confirm:refund_reason", Awaiting("confirm", "refund_reason")),
        ("result:lookup_order", Awaiting("result", "lookup_order")),
        ({"kind": "slot", "name": "phone"}, Awaiting("slot", "phone")),
    ],
)
def test_every_stored_form_is_read_into_the_pair(old: object, new: Awaiting | None) -> None:
    session = Session.from_dict({"key": "k", "user": "u", "channel": "c", "awaiting": old})
    assert session.awaiting == new
    if new is not None:
        assert str(new) == (old if isinstance(old, str) else "slot:phone")


@pytest.mark.parametrize("bad", ["later:x", {"kind": "slot", "name": 3}, 7])
def test_a_stored_value_that_names_no_kind_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="awaits"):
        Session.from_dict({"key": "k", "user": "u", "channel": "c", "awaiting": bad})


def test_a_button_drawn_before_next_moves_where_no_edge_leads(talk: Talk) -> None:
    """``where_is_order_no`` draws "다시 입력하기 → ask_order" and moves on to ``ask_order`` by
    ``next``: the button is on screen at ``ask_order``, and pressing it there is a move no
    designed edge names. The payload contract accepted it, so the machine takes it."""
    c = talk()
    c.say("배송 조회")
    c.say("주문번호가 어디 있나요", payload="order_no_help")
    assert c.state == "order_status.ask_order"
    engine: Engine = c.engine
    assert "order_status.ask_order" not in _sources_of(engine, "order_status.ask_order")
    c.say("다시 입력하기", payload="@order_status.ask_order")
    moves = [r.data for r in c.records if r.kind == "transition"]
    assert moves == [
        {
            "from": "order_status.ask_order",
            "to": "order_status.ask_order",
            "trigger": "choice: order_status.ask_order",
        }
    ]
    assert c.session.awaiting == Awaiting("slot", "order_no")
    assert not any(r.kind == "error" for r in c.all_records)


def _sources_of(engine: Engine, dest: str) -> set[str]:
    """The states a designed edge into ``dest`` leaves from."""
    event = engine.machine.machine.events[f"to {dest}"]
    return {source for source, edges in event.transitions.items() if edges}
