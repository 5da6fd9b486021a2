"""A payload is a contract between what botkit drew and what comes back.

A press is taken only if the bot drew it on that session's current screen (its quick replies,
buttons, cards and list items, a slot question's choices) or if it is a designed global entry.
Anything else — a forged ``@flow.state``, a press replayed from another session or from an
earlier screen — is recorded as ``payload_rejected`` and the message is read as the text it
carries: the turn is exactly the turn of that text typed, with nothing run and no goal reached.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from botkit.effects import Call, Effect, Say
from botkit.engine import Awaiting, Engine, Session
from botkit.events import UserMessage
from botkit.flow import Bot, compile_bot, flow_files
from botkit.records import Record
from tests.engine.conftest import REPO, WEDNESDAY_10AM, Conversation


def _reference_bot() -> Bot:
    bot = compile_bot(flow_files(REPO / "flows")).bot
    assert bot is not None
    return bot


BOT = _reference_bot()
STATES = sorted(f"{flow.id}.{state}" for flow in BOT.flows.values() for state in flow.states)
GLOBAL_ENTRIES = {t.payload for t in BOT.global_on if t.trigger == "payload"}


def engine() -> Engine:
    return Engine(BOT, validators={"known_order_prefix": lambda value, slots: True})


def on_screen(effects: Iterable[Effect]) -> set[str]:
    """What a user can press in these bubbles, read as a channel draws them."""
    out: set[str] = set()
    for say in effects:
        if not isinstance(say, Say):
            continue
        out |= {c.payload for c in say.choices}
        cards = [say.card, *say.cards] if say.card else list(say.cards)
        for button in [*say.buttons, *(b for card in cards for b in card.buttons)]:
            if button.kind in ("payload", "to", "agent"):
                out.add(button.value)
        out |= {item.payload for item in say.items if item.payload}
    return out


def standing_at(engine: Engine, state: str, user: str) -> tuple[Session, set[str]]:
    """A session whose conversation was put at ``state``, and the payloads on its screen."""
    session = engine.new_session(f"test:{user}", user, "test")
    turn = engine.goto(session, engine.target(state), WEDNESDAY_10AM)
    return session, on_screen(turn.effects)


def pressed_and_typed(
    engine: Engine, session: Session, payload: str, text: str = ""
) -> tuple[Session, list[Effect], list[Record], Session, list[Effect], list[Record]]:
    """The same message from two copies of a session: once carrying ``payload``, once not."""
    twin = session.copy()
    at = WEDNESDAY_10AM + 5
    pressed = engine.handle(session, UserMessage(text, at, payload))
    typed = engine.handle(twin, UserMessage(text, at))
    return session, pressed.effects, pressed.records, twin, typed.effects, typed.records


def what_happened(records: list[Record]) -> list[tuple[str, object]]:
    """Records as (kind, data), without the rejection and the payload a message carried."""
    out: list[tuple[str, object]] = []
    for r in records:
        if r.kind == "payload_rejected":
            continue
        data = r.data
        if r.kind == "message_in":
            data = {k: v for k, v in (data or {}).items() if k != "payload"}
        out.append((r.kind, data))
    return out


def assert_read_as_text(engine: Engine, session: Session, payload: str, where: str) -> None:
    pressed_session, pressed, records, typed_session, typed, typed_records = pressed_and_typed(
        engine, session, payload
    )
    context = f"{payload!r} pressed at {where}"
    rejected = [r.data for r in records if r.kind == "payload_rejected"]
    assert rejected == [{"payload": payload}], context
    assert not any(isinstance(e, Call) for e in pressed), context
    assert not any(r.kind == "goal" for r in records), context
    assert pressed == typed, context
    assert what_happened(records) == what_happened(typed_records), context
    moved, stayed = pressed_session.to_dict(), typed_session.to_dict()
    assert moved.pop("seq") == stayed.pop("seq") + 1, context  # the payload_rejected record
    assert moved == stayed, context


@pytest.mark.parametrize("target", STATES)
def test_a_forged_press_of_any_state_is_read_as_text_from_every_other_screen(target: str) -> None:
    forged = f"@{target}"
    bot = engine()
    checked = 0
    for i, place in enumerate(STATES):
        session, screen = standing_at(bot, place, f"민지{i}")
        if forged in screen:
            continue  # drawn there: a real press, not a forged one
        assert_read_as_text(bot, session, forged, place)
        checked += 1
    assert checked >= len(STATES) - 6


def _every_drawn_payload() -> list[str]:
    bot = engine()
    drawn: set[str] = set()
    for i, place in enumerate(STATES):
        drawn |= standing_at(bot, place, f"수집{i}")[1]
    for slot in BOT.slots.values():
        drawn |= {q.payload for m in slot.prompt + slot.reprompts for q in m.quick_replies}
    # The designed global entries (취소) are pressable on every screen.
    return sorted((drawn | {"yes", "no"}) - GLOBAL_ENTRIES)


@pytest.mark.parametrize("payload", _every_drawn_payload())
def test_a_press_drawn_for_another_session_is_rejected_where_it_was_not_drawn(
    payload: str,
) -> None:
    bot = engine()
    for i, place in enumerate(STATES):
        session, screen = standing_at(bot, place, f"서준{i}")
        if payload not in screen:
            assert_read_as_text(bot, session, payload, place)


@pytest.mark.parametrize("place", STATES)
def test_every_press_the_bot_drew_is_taken(place: str) -> None:
    bot = engine()
    session, screen = standing_at(bot, place, "도윤")
    for payload in sorted(screen):
        twin = session.copy()
        turn = bot.handle(twin, UserMessage("", WEDNESDAY_10AM + 5, payload))
        assert not any(r.kind == "payload_rejected" for r in turn.records), payload
        if payload.startswith("@") and session.status == "bot":
            moves = [r.data for r in turn.records if r.kind == "transition"]
            choice = payload[1:]
            assert moves[0] == {
                "from": session.state,
                "to": choice,
                "trigger": f"choice: {choice}",
            }


def greeted(user: str = "민지", at: float = WEDNESDAY_10AM) -> Conversation:
    """A user in the A copy of every experiment (the full menu), greeted."""
    c = Conversation(engine(), user=user, at=at)
    c.engine.force_variant(c.session, "A")
    return c.say("안녕하세요")


def test_forged_submit_posts_no_refund_and_reaches_no_goal() -> None:
    c = greeted()
    c.say("환불 접수", payload="@refund.submit")
    assert [r.data for r in c.records if r.kind == "payload_rejected"] == [
        {"payload": "@refund.submit"}
    ]
    assert not c.state.startswith("refund.submit")
    assert "refund.done" not in [(r.data or {}).get("to") for r in c.all_records]
    assert not any(r.kind in ("goal", "action") for r in c.all_records)


def test_a_press_from_an_earlier_screen_is_rejected() -> None:
    c = greeted(at=WEDNESDAY_10AM + 7 * 86_400).press("이벤트")  # December: the sale runs
    assert c.state == "promotion.offer"
    visit = "@promotion.book_visit"  # the card button "방문 예약" on this screen
    c.press("다음에요")
    assert c.state == "promotion.survey"
    c.say("방문 예약", payload=visit)
    assert [r.data for r in c.records if r.kind == "payload_rejected"] == [{"payload": visit}]
    assert c.state == "promotion.survey"  # still asked for a score
    assert c.texts == ["1부터 5까지의 숫자로 답해 주세요."]


def test_a_press_is_kept_until_a_new_screen_is_drawn() -> None:
    c = greeted().press("자주 묻는 질문")
    assert c.state == "faq.start"
    c.say("음")  # a fallback: the same screen, its list still there
    assert c.state == "faq.start"
    c.say("배송비는 얼마인가요?", payload="shipping_fee")  # a list item of the first bubble
    assert c.state == "faq.shipping_fee"
    assert not any(r.kind == "payload_rejected" for r in c.records)


def test_the_designed_global_entries_are_pressable_on_every_screen() -> None:
    c = greeted().press("배송 조회")
    assert c.state == "order_status.ask_order"
    c.say("x", payload="cancel")  # 취소, offered here; and from any screen as a global entry
    assert c.state == "main.start"
    c.say("그만", payload="cancel")  # not drawn on the menu, but a global transition
    assert c.texts[0] == "진행 중인 내용을 취소했어요."
    assert not any(r.kind == "payload_rejected" for r in c.all_records)


def test_a_slot_questions_choices_and_the_confirmation_are_pressable() -> None:
    c = greeted().press("환불")
    assert c.session.awaiting == Awaiting("slot", "order_no")  # the A copy asks at once
    c.say("1234567890")
    c.press("상품 불량")
    assert c.session.awaiting == Awaiting("confirm", "refund_reason")
    c.say("네", payload="yes")
    assert c.slots["refund_reason"] == "defect"
    assert c.session.awaiting == Awaiting("slot", "phone")
    c.say("네", payload="yes")  # the confirmation is gone from the screen
    assert [r.data for r in c.records if r.kind == "payload_rejected"] == [{"payload": "yes"}]


@pytest.mark.parametrize(("variant", "taken"), [("A", False), ("C", True)])
def test_a_typed_label_counts_as_a_press_only_while_its_choice_is_on_screen(
    inline: object, variant: str, taken: bool
) -> None:
    flow = """
    flow: demo
    start: menu
    experiments:
      copy:
        variants: {A: 50, C: 50}
    states:
      menu:
        experiment: copy
        say:
          text: "메뉴예요"
          quick_replies:
            - {label: 처음, to: menu}
        variants:
          C:
            say:
              text: "특별 메뉴예요"
              quick_replies:
                - {label: 비밀 특가, to: deal}
      deal:
        say: "특가예요"
        end: resolved
    """
    assert callable(inline)
    bot = inline(flow)
    c = Conversation(bot)
    bot.force_variant(c.session, variant)
    c.say("안녕").say("비밀 특가")
    assert (c.state == "demo.deal") is taken
    assert not any(r.kind == "payload_rejected" for r in c.all_records)  # typing forges nothing


def test_a_rejected_payload_is_recorded_cut_short() -> None:
    c = greeted()
    c.say("", payload="@" + "가" * 5000)
    (rejected,) = [r.data for r in c.records if r.kind == "payload_rejected"]
    assert rejected == {"payload": "@" + "가" * 99}
    (heard,) = [r.data for r in c.records if r.kind == "message_in"]
    assert heard == {"text": "", "payload": "@" + "가" * 99}


def test_the_screen_stays_small_in_the_session() -> None:
    bot = engine()
    session, screen = standing_at(bot, "promotion.offer", "하은")
    assert session.offered is not None
    assert set(session.offered) == screen  # cards, list and quick replies: each once
    assert len(session.offered) == len(screen)
    stored = Session.from_dict(session.to_dict() | {"offered": list(session.offered)})
    assert stored.offered == session.offered


def test_a_session_kept_before_screens_were_recorded_accepts_what_its_place_draws() -> None:
    """After an upgrade, a live user's next press is not refused for want of a kept screen:
    the place they are at (its state, and the question it asks) says what could be drawn."""
    c = greeted()
    assert c.state == "main.start"
    stored = c.session.to_dict()
    del stored["offered"]  # as a botkit from before this contract kept it
    c.session = Session.from_dict(stored)
    assert c.session.offered is None
    c.press("배송 조회")
    assert c.state == "order_status.ask_order"
    assert not any(r.kind == "payload_rejected" for r in c.all_records)
    assert c.session.offered is not None  # from here on the screen is the one drawn


def test_a_session_kept_before_screens_were_recorded_still_refuses_forged_presses() -> None:
    c = greeted()
    stored = c.session.to_dict()
    del stored["offered"]
    c.session = Session.from_dict(stored)
    c.say("", payload="@refund.submit")  # the press alone, with no words to read
    assert [r.data for r in c.records if r.kind == "payload_rejected"] == [
        {"payload": "@refund.submit"}
    ]
    assert c.state == "main.start"
