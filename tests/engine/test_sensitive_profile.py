"""A profile attribute bot.yaml marks ``sensitive`` (a phone number the CRM sent): the user
reads it where a message shows it; the records, the reports' segments and the agent console
hold the mask or nothing."""

from __future__ import annotations

from collections.abc import Callable

from botkit.engine import Engine
from botkit.records import MASK
from tests.engine.conftest import Conversation

BOT = """
bot: shop
start: main
profile:
  grade: { type: enum, values: [VIP, GOLD] }
  phone: { type: text, sensitive: true }
"""

FLOW = """
flow: main
start: hello
states:
  hello:
    say: "{{ profile.grade }} 고객님, 주문 알림을 {{ profile.phone }}(으)로 보내 드릴게요."
    end: resolved
"""

PHONE = "010-3141-5926"


def _talk(inline: Callable[..., Engine]) -> Conversation:
    c = Conversation(inline(BOT, FLOW))
    c.session.profile = {"grade": "VIP", "phone": PHONE, "plusfriendUserKey": "kakao-7"}
    return c.say("안녕하세요")


def test_the_user_reads_the_phone_number_and_the_records_hold_the_mask(
    inline: Callable[..., Engine],
) -> None:
    c = _talk(inline)
    assert c.texts == [f"VIP 고객님, 주문 알림을 {PHONE}(으)로 보내 드릴게요."]
    said = [t for r in c.all_records if r.kind == "message_out" for t in (r.data or {})["texts"]]
    assert said == [f"VIP 고객님, 주문 알림을 {MASK}(으)로 보내 드릴게요."]
    assert [r for r in c.all_records if PHONE in repr(r.data)] == []


def test_a_conversation_s_segment_leaves_out_the_sensitive_attribute(
    inline: Callable[..., Engine],
) -> None:
    c = _talk(inline)
    [start] = [r.data for r in c.all_records if r.kind == "conversation_start"]
    assert start is not None
    assert start["segment"] == {"grade": "VIP", "plusfriendUserKey": "kakao-7"}


def test_the_agent_console_reads_the_profile_masked(inline: Callable[..., Engine]) -> None:
    engine = inline(BOT, FLOW)
    profile = {"grade": "VIP", "phone": PHONE}
    assert engine.masked_profile(profile) == {"grade": "VIP", "phone": MASK}
    assert engine.masked_profile({"grade": "GOLD"}) == {"grade": "GOLD"}
