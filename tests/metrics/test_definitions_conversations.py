"""Each conversation figure of botkit/metrics/definitions.py on hand-written records
(tests/metrics/talks.py), one case a line: containment and who was served, completion, drop-off
per prompt, handoff cause, the experiment's unit, open against abandoned conversations, and
which conversations a period holds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import botkit
from botkit.flow.model import Bot
from botkit.metrics.compute import Metrics, conversations_of, measure
from botkit.metrics.experiments import DEFAULT_WINDOW_S
from botkit.metrics.periods import load_metrics
from botkit.records import BusinessEvent, ReportRow
from botkit.storage.base import report_row
from tests.metrics.talks import DAY, MINUTE, Talk

REPO = Path(__file__).resolve().parents[2]
SHOP = botkit.load(REPO / "flows").bot  # the reference bot: 30 minutes of silence end a talk
SIGNUP = botkit.load(Path(__file__).parent / "flows").bot  # experiment copy → signed_up
T0 = 1_795_568_400.0  # 2026-11-25 10:00 in Seoul


def measured(
    bot: Bot, *talks: Talk, now: float | None = None, experiment_window_s: float = 7 * DAY
) -> Metrics:
    records = [r for talk in talks for r in talk.records]
    conversations = conversations_of(records)
    return measure(bot, conversations, now=now, experiment_window_s=experiment_window_s)


def after_hours() -> Talk:
    """Asked for a person at night: nobody to queue it for, sent to the after-hours state."""
    talk = Talk("지아").start(T0, "main.start").says(T0 + 10, "상담원")
    talk.asks_for_person(T0 + 10, open_=False)
    return talk.to(T0 + 10, "support.after_hours", "outside business hours")


def queued_not_taken() -> Talk:
    """Queued in business hours; nobody came within the wait, the bot took the user back."""
    talk = Talk("민준").start(T0, "main.start").says(T0 + 10, "상담원").asks_for_person(T0 + 10)
    talk.to(T0 + 10, "support.agent", "keywords: 상담원")
    talk.record("handoff_timeout", T0 + 610, waited_s=600)
    return talk.to(T0 + 610, "support.no_agent", "no agent in time")


def served() -> Talk:
    """An agent took the conversation, answered, and closed it."""
    talk = Talk("서연").start(T0, "main.start").says(T0 + 10, "상담원").asks_for_person(T0 + 10)
    talk.to(T0 + 10, "support.agent", "keywords: 상담원")
    talk.record("handoff_claimed", T0 + 60, agent="하늘", waited_s=50)
    talk.record("agent_message", T0 + 70, agent="하늘", text="네, 도와드릴게요.")
    talk.record("handoff_closed", T0 + 300)
    return talk.end(T0 + 300, "handed_off")


def goal_without_thanks() -> Talk:
    """Looked up an order (the goal) and left without saying thanks: no end record."""
    talk = Talk("하준").start(T0, "main.start").says(T0 + 5, "배송 조회")
    talk.to(T0 + 5, "order_status.ask_order", "choice: 배송 조회").says(T0 + 20, "1234567890")
    talk.filled(T0 + 20, "order_no").to(T0 + 20, "order_status.lookup", "next")
    return talk.to(T0 + 21, "order_status.in_transit", "result: ok").goal(T0 + 21, "order_checked")


@pytest.mark.defines("containment")
def test_containment_is_no_request_for_a_person_at_all() -> None:
    m = measured(SHOP, after_hours(), queued_not_taken(), served(), goal_without_thanks())
    # Only 하준 never asked for a person. (Counted by handoff_queued, as before issue 18, the
    # after-hours request would have been "contained" and containment 50%.)
    assert m.containment_rate == 0.25
    assert m.handoff_rate == 0.75
    assert m.served_rate == 0.25  # 서연: an agent took it
    assert m.unserved_rate == 0.5  # 지아 and 민준 asked and nobody came
    assert m.unserved_by_why == {"after_hours": 0.25, "timed_out": 0.25}


@pytest.mark.defines("containment")
def test_asked_and_not_served_says_why() -> None:
    left = Talk("도윤").start(T0, "main.start").says(T0 + 10, "상담원").asks_for_person(T0 + 10)
    left.to(T0 + 10, "support.agent", "keywords: 상담원")
    left.record("handoff_left", T0 + 40, queue="cs", to="main.start", trigger="처음으로")
    waiting = Talk("예준").start(T0, "main.start").says(T0 + 10, "상담원")
    waiting.asks_for_person(T0 + 10).to(T0 + 10, "support.agent", "keywords: 상담원")
    m = measured(SHOP, left, waiting)  # 예준 waited, and nobody took it or closed it
    assert m.unserved_by_why == {"left_queue": 0.5, "no_answer": 0.5}
    assert m.served_rate == 0.0
    # Read while 예준 is still in the queue (the dashboard, ten minutes later): waiting, not
    # given up.
    live = measured(SHOP, left, waiting, now=T0 + 10 * MINUTE)
    assert live.unserved_by_why == {"left_queue": 0.5, "waiting": 0.5}


@pytest.mark.defines("completion")
def test_completion_counts_goals_and_agents_and_neither_is_a_drop_off() -> None:
    nothing = Talk("라희").start(T0, "main.start")  # said hello and left
    m = measured(SHOP, goal_without_thanks(), served(), nothing)
    assert m.completion_rate == pytest.approx(2 / 3)
    assert m.drop_off == {"main.start": 1}
    assert m.drop_off_rate == pytest.approx(1 / 3)
    funnels = {f.flow: f for f in m.funnels}
    assert funnels["support"].dropped["support.agent"] == 0  # the agent resolved it
    assert funnels["order_status"].dropped["order_status.in_transit"] == 0  # its goal: done


@pytest.mark.defines("drop_off")
def test_drop_off_names_the_prompt_a_collect_state_was_asking() -> None:
    def at_refund(user: str, *filled: str, earlier: str | None = None) -> Talk:
        talk = Talk(user).start(T0, "main.start")
        if earlier is not None:  # filled before the state: the state asks for it again
            talk.filled(T0 + 5, earlier)
        talk.says(T0 + 60, "환불")
        for slot in filled[:1]:  # "환불 1234567890": the number comes with the words
            talk.filled(T0 + 60, slot)
        talk.to(T0 + 60, "refund.ask_order", "keywords: 환불")
        for i, slot in enumerate(filled[1:], start=1):
            talk.says(T0 + 60 + 30 * i).filled(T0 + 60 + 30 * i, slot)
        return talk

    m = measured(
        SHOP,
        at_refund("가"),
        at_refund("나", "order_no"),
        at_refund("다", "order_no", "refund_reason"),
        at_refund("라", "order_no", "refund_reason"),
        at_refund("사", "order_no", "refund_reason"),
        at_refund("마", earlier="order_no"),
        Talk("바").start(T0, "main.start"),
    )
    assert m.drop_off == {
        "refund.ask_order · phone": 3,
        "main.start": 1,
        "refund.ask_order · order_no": 2,
        "refund.ask_order · refund_reason": 1,
    }
    assert next(iter(m.drop_off)) == "refund.ask_order · phone"  # most first
    refund = next(f for f in m.funnels if f.flow == "refund")
    assert refund.dropped["refund.ask_order"] == 6  # the state, all its prompts together
    assert refund.ranking()[0] == ("refund.ask_order · phone", 3)


@pytest.mark.defines("handoff_cause")
def test_handoff_cause_names_what_happened() -> None:
    def handed(user: str, cause: str | None, trigger: str | None) -> Talk:
        talk = Talk(user).start(T0, "main.start")
        return talk.asks_for_person(T0 + 10, cause=cause, trigger=trigger)

    m = measured(
        SHOP,
        handed("가", "action_result", "lookup_order: error"),
        handed("나", "condition", "score == 1"),
        handed("다", "user_request", "keywords: 상담원, 상담사"),
        handed("라", None, None),  # recorded before causes: its reason says user_request
    )
    assert m.handoff_by_reason == {"user_request": 1.0}  # what every one of them was called
    assert m.handoff_by_cause == {
        "action_result": 0.25,
        "condition": 0.25,
        "unrecorded": 0.25,
        "user_request": 0.25,
    }
    assert m.handoff_by_trigger == {
        "action_result · lookup_order: error": 0.25,
        "condition · score == 1": 0.25,
        "unrecorded": 0.25,
        "user_request · keywords: 상담원, 상담사": 0.25,
    }


@pytest.mark.defines("experiment")
def test_an_experiment_counts_users_converted_within_the_window_of_their_first_exposure() -> None:
    def visit(talk: Talk, day: float, variant: str, *, joins: bool) -> None:
        at = T0 + day * DAY
        talk.start(at, "signup.start").exposed(at, "copy", variant)
        if joins:
            talk.says(at + 20, "가입할게요").to(at + 20, "signup.joined", "payload: join")
            talk.goal(at + 20, "signed_up").end(at + 20)

    returning = Talk("가", bot="signup")  # three visits in A, joins on the third (day 5)
    for day, joins in ((0, False), (2, False), (5, True)):
        visit(returning, day, "A", joins=joins)
    late = Talk("나", bot="signup")  # A, joins 8 days after first seeing it: too late
    visit(late, 0, "A", joins=False)
    visit(late, 8, "A", joins=True)
    once = Talk("다", bot="signup")  # B, joins at once
    visit(once, 1, "B", joins=True)
    before = Talk("라", bot="signup")  # B: the goal came before the variant was shown
    before.start(T0, "signup.joined").goal(T0, "signed_up").end(T0)
    visit(before, 1, "B", joins=False)

    result = measured(SIGNUP, returning, late, once, before).experiments["copy"]
    counts = {v.name: (v.conversions, v.users) for v in result.variants}
    assert counts == {"A": (1, 2), "B": (1, 2)}  # users; conversations would say A 2 of 5
    longer = measured(SIGNUP, returning, late, once, before, experiment_window_s=9 * DAY)
    assert longer.experiments["copy"].variant("A").conversions == 2
    assert DEFAULT_WINDOW_S == 7 * DAY


@pytest.mark.defines("conversation_end")
def test_open_until_the_inactivity_timeout_then_abandoned() -> None:
    now = T0 + 2 * 3600
    recent = Talk("가").start(now - 20 * MINUTE, "main.start").says(now - 10 * MINUTE)
    silent = Talk("나").start(now - 40 * MINUTE, "main.start").says(now - 31 * MINUTE)
    with_agent = Talk("다").start(T0, "main.start").asks_for_person(T0 + 10)
    with_agent.to(T0 + 10, "support.agent").record("handoff_claimed", T0 + 20, agent="하늘")
    m = measured(SHOP, recent, silent, with_agent, now=now)
    assert (m.open_conversations, m.abandoned_conversations) == (2, 1)
    assert m.drop_off == {"main.start": 1}  # 나; 가 may still answer, 다 is with an agent
    later = measured(SHOP, recent, silent, with_agent)  # no clock: long after
    assert (later.open_conversations, later.abandoned_conversations) == (1, 2)
    assert sum(later.drop_off.values()) == 2


class Kept:
    """What a report asks of a store, over hand-written records: those with at in the span."""

    def __init__(self, *talks: Talk, events: tuple[BusinessEvent, ...] = ()) -> None:
        self.rows = [report_row(r) for talk in talks for r in talk.records]
        self.kept = events

    async def report_rows(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[ReportRow]:
        return [r for r in self.rows if _within(r.at, since, until)]

    async def events(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[BusinessEvent]:
        return [e for e in self.kept if _within(e.at, since, until)]


def _within(at: float, since: float | None, until: float | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


@pytest.mark.defines("conversation")
def test_a_period_holds_the_conversations_that_started_in_it_whole() -> None:
    midnight = T0 + 14 * 3600  # 2026-11-26 00:00 in Seoul
    night = Talk("가").start(midnight - 10 * MINUTE, "main.start").says(midnight + 5 * MINUTE)
    night.to(midnight + 5 * MINUTE, "order_status.ask_order", "keywords: 배송 조회")
    morning = Talk("나").start(midnight + 9 * 3600, "main.start")
    earlier = Talk("다").start(midnight - 3 * DAY, "main.start").goal(midnight - 3 * DAY, "x")
    bought = BusinessEvent("p1", "purchase", "다", midnight + 3600, 10_000.0)
    store: Any = Kept(night, morning, earlier, events=(bought,))

    def day(since: float) -> Metrics:
        until = since + DAY
        return asyncio.run(load_metrics(store, SHOP, since=since, until=until, now=until))

    before, after = day(midnight - DAY), day(midnight)
    assert (before.conversations, after.conversations) == (1, 1)  # 가 on the 25th, 나 the 26th
    reached = {f.flow: f.reached for f in before.funnels}["order_status"]
    assert reached["order_status.ask_order"] == 1  # 가's talk went on past midnight: all of it
    assert after.business["purchase"]["attributed"] == 1  # to 다's talk of three days before
    assert "purchase" not in before.business


@pytest.mark.defines("fallback_rate")
def test_fallback_rate_is_per_message_the_bot_did_not_understand() -> None:
    puzzled = Talk("가").start(T0, "main.start").says(T0 + 5, "음")
    puzzled.record("fallback", T0 + 5, miss=1).says(T0 + 9, "그거요")
    puzzled.record("fallback", T0 + 9, miss=2)
    clear = Talk("나").start(T0, "main.start").says(T0 + 5, "배송 조회")
    m = measured(SHOP, puzzled, clear)
    assert m.fallback_rate == 2 / 5  # 2 misses of 5 messages (each start has one)


@pytest.mark.defines("goal_conversion")
def test_goal_conversion_counts_conversations_per_goal_once() -> None:
    twice = Talk("가").start(T0, "main.start").goal(T0 + 5, "order_checked")
    twice.goal(T0 + 50, "order_checked")  # the same goal again: one conversation
    refund = Talk("나").start(T0, "main.start").goal(T0 + 5, "refund_requested")
    m = measured(SHOP, twice, refund, Talk("다").start(T0, "main.start"))
    assert m.goal_conversion == {"order_checked": 1 / 3, "refund_requested": 1 / 3}
