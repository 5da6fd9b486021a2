"""``sensitive: true`` slots: the bot keeps the answer in the session, where it needs it; the
records (and the transcripts and agent views read from them) hold the mask instead — the
user's message, the bot's words that show the value, a confirmation, an invalid attempt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botkit.effects import Say
from botkit.engine import Awaiting, Engine
from botkit.records import MASK, Record, transcript
from tests.engine.conftest import WEDNESDAY_10AM, Conversation

Build = Callable[..., Engine]
PHONE = "010-2345-6789"
EMAIL = "minji.kim@example.com"
DECEMBER = WEDNESDAY_10AM + 7 * 86_400  # 2026-12-02 10:00 KST: the winter sale's offer is shown


def leaks(records: list[Record], *secrets: str) -> list[Record]:
    """The records in which any spelling of a secret can be read."""
    spellings = {s for secret in secrets for s in (secret, secret.replace("-", ""))}
    return [r for r in records if any(s in repr(r.data) for s in spellings)]


def booked_visit(talk: Callable[..., Conversation]) -> Conversation:
    c = talk(at=DECEMBER)
    c.engine.force_variant(c.session, "A")  # the full menu, with 이벤트
    c.say("안녕하세요").press("이벤트")
    cards = [card for e in c.effects if isinstance(e, Say) for card in e.cards]
    (visit,) = [b for card in cards for b in card.buttons if b.label == "방문 예약"]
    c.say(visit.label, payload=visit.value)
    assert c.session.awaiting == Awaiting("slot", "visit_date")
    return c.say("내일")


def test_a_phone_number_is_kept_for_the_bot_and_masked_in_the_records(
    talk: Callable[..., Conversation],
) -> None:
    c = booked_visit(talk)
    assert c.session.awaiting == Awaiting("slot", "phone")
    c.say(f"제 번호는 {PHONE}")  # not only a number: an invalid attempt, still masked
    assert c.kinds().count("slot_rejected") == 1
    c.say(PHONE.replace("-", " "))

    assert c.slots["phone"] == PHONE  # what the bot needs
    assert any(PHONE in text for text in c.texts)  # and the user reads it back
    heard = [r.data for r in c.all_records if r.kind == "message_in"][-2:]
    assert heard == [
        {"text": MASK, "payload": None, "masked": "phone"},
        {"text": MASK, "payload": None, "masked": "phone"},
    ]
    (filled,) = [
        r.data
        for r in c.all_records
        if r.kind == "slot_filled" and r.data and r.data["slot"] == "phone"
    ]
    assert filled == {"slot": "phone", "attempt": 2}
    said = [t for r in c.all_records if r.kind == "message_out" for t in (r.data or {})["texts"]]
    assert f"예약 확인 문자를 {MASK}(으)로 보내 드렸어요." in " ".join(said)
    assert leaks(c.all_records, PHONE) == []
    assert all(PHONE not in entry["text"] for entry in transcript(c.all_records))
    assert c.engine.masked(c.slots)["phone"] == MASK


def test_an_email_for_the_coupon_is_masked_where_the_bot_repeats_it(
    talk: Callable[..., Conversation],
) -> None:
    c = talk(actions={"issue_coupon": ("ok", {"code": "WINTER20"})}, at=DECEMBER)
    c.engine.force_variant(c.session, "A")
    c.say("안녕하세요").press("이벤트").press("쿠폰 받기")
    c.say("AB123456")
    assert c.session.awaiting == Awaiting("slot", "email")
    c.say(EMAIL)
    assert f"쿠폰 WINTER20을(를) {EMAIL}(으)로 보내 드렸어요." in c.texts
    assert c.slots["email"] == EMAIL
    assert leaks(c.all_records, EMAIL) == []
    member = next(r.data for r in c.all_records if r.kind == "slot_filled")
    assert member == {"slot": "member_code", "attempt": 1, "value": "AB123456"}  # not sensitive


def test_a_late_answer_after_the_conversation_ended_is_still_masked(
    talk: Callable[..., Conversation],
) -> None:
    c = booked_visit(talk)
    c.at += 31 * 60  # the reference bot ends a conversation after 30 minutes of silence
    c.say(PHONE)
    assert c.kinds()[0] == "conversation_end"
    assert leaks(c.records, PHONE) == []


SENSITIVE_FLOW = """
flow: demo
start: menu
slots:
  phone:
    type: phone
    prompt: "번호를 알려 주세요."
    confirm: "{{phone}} 맞나요?"
    sensitive: true
global:
  - regex: "번호는 (?P<phone>01[0-9]-?[0-9]{4}-?[0-9]{4})"
    to: saved
states:
  menu:
    say:
      text: "메뉴예요"
      quick_replies:
        - {label: 연락처 남기기, to: ask}
  ask:
    collect: phone
    next: saved
  saved:
    say: "{{phone}}로 연락드릴게요."
    end: resolved
"""


def test_a_confirmation_shows_the_value_to_the_user_only(inline: Build) -> None:
    c = Conversation(inline(SENSITIVE_FLOW)).say("안녕").press("연락처 남기기")
    c.say(PHONE)
    assert c.texts == [f"{PHONE} 맞나요?"]
    (said,) = [r.data for r in c.records if r.kind == "message_out"]
    assert said is not None
    assert said["texts"] == [f"{MASK} 맞나요?"]
    assert [bubble["text"] for bubble in said["says"]] == [f"{MASK} 맞나요?"]  # with its 예/아니요
    c.press("예")
    assert c.texts == [f"{PHONE}로 연락드릴게요."]
    assert c.slots["phone"] == PHONE
    assert leaks(c.all_records, PHONE) == []


def test_a_value_read_out_of_a_message_by_a_pattern_is_masked_too(inline: Build) -> None:
    c = Conversation(inline(SENSITIVE_FLOW)).say("안녕")
    c.say(f"제 번호는 {PHONE} 입니다")
    assert c.state == "demo.saved"
    assert c.slots["phone"] == PHONE
    (heard,) = [r.data for r in c.records if r.kind == "message_in"]
    assert heard == {"text": MASK, "payload": None, "masked": "phone"}
    assert leaks(c.all_records, PHONE) == []


def test_other_answers_are_recorded_as_typed(inline: Build) -> None:
    c = Conversation(inline(SENSITIVE_FLOW)).say("안녕")
    c.say("메뉴 보여 주세요")
    assert [r.data for r in c.records if r.kind == "message_in"] == [
        {"text": "메뉴 보여 주세요", "payload": None}
    ]


def test_masked_leaves_other_slots_alone(inline: Build) -> None:
    engine = inline(SENSITIVE_FLOW)
    values: dict[str, Any] = {"phone": PHONE, "order_no": "1234567890"}
    assert engine.masked(values) == {"phone": MASK, "order_no": "1234567890"}
    assert values["phone"] == PHONE  # the session's own values are not touched


CARD_FLOW = """
flow: demo
start: menu
slots:
  phone:
    type: phone
    prompt: "번호를 알려 주세요."
    sensitive: true
states:
  menu:
    say:
      text: "메뉴예요"
      quick_replies:
        - {label: 연락처 남기기, to: ask}
  ask:
    collect: phone
    next: saved
  saved:
    say:
      - card:
          title: "연락처 {{phone}}"
          description: "{{phone}}로 연락드릴게요."
          buttons:
            - {label: "{{phone}} 고치기", payload: change}
        quick_replies:
          - {label: "{{phone}} 맞아요", payload: fine}
      - list:
          header: 남기신 연락처
          items:
            - {title: "{{phone}}", description: 휴대폰, payload: phone}
    on:
      - payload: change
        to: ask
"""


def test_a_card_and_a_list_that_show_the_value_are_recorded_masked(inline: Build) -> None:
    c = Conversation(inline(CARD_FLOW)).say("안녕").press("연락처 남기기")
    (asked,) = [r.data for r in c.records if r.kind == "message_out"]
    assert asked == {"texts": ["번호를 알려 주세요."]}  # plain text: the texts say it all
    c.say(PHONE)
    card, listed = [e for e in c.effects if isinstance(e, Say)]
    assert card.card is not None
    assert card.card.title == f"연락처 {PHONE}"  # the user reads it
    assert listed.items[0].title == PHONE
    (said,) = [r.data for r in c.records if r.kind == "message_out"]
    assert said is not None
    recorded_card, recorded_list = said["says"]
    assert recorded_card["card"]["title"] == f"연락처 {MASK}"
    assert recorded_card["card"]["description"] == f"{MASK}로 연락드릴게요."
    assert recorded_card["card"]["buttons"][0]["label"] == f"{MASK} 고치기"
    assert recorded_card["choices"] == [{"label": f"{MASK} 맞아요", "payload": "fine"}]
    assert recorded_list["items"][0]["title"] == MASK
    assert leaks(c.all_records, PHONE) == []
    bubbles = [e["say"] for e in transcript(c.all_records) if "say" in e]
    assert bubbles[-2:] == [recorded_card, recorded_list]
    assert all(PHONE not in repr(e) for e in transcript(c.all_records))
