"""The planner decides each candidate once, in a stated order: exclusions, consent, reach,
caps, holdout, and the quiet window for advertising (botkit.campaigns.plan)."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from botkit.campaigns import Campaign, Caps, Exclusion, Outreach, Trigger, Variant
from botkit.campaigns.clock import in_quiet, quiet_end, runs_between
from botkit.campaigns.model import Schedule
from botkit.campaigns.plan import (
    CampaignPlan,
    Candidate,
    PlanData,
    draw,
    most_active_hours,
    plan,
    send_key,
)
from botkit.campaigns.port import Send, SendStatus
from botkit.segments.model import EVER, Behaviour, Segment

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> float:
    """An instant on Seoul's wall clock: '2026-12-07 10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


def campaign(name: str = "cart_reminder", **changes: object) -> Campaign:
    values: dict[str, object] = {
        "name": name,
        "title": "장바구니 리마인더",
        "kind": "advertising",
        "trigger": Trigger("event", "1 hour after cart_added", event="cart_added", delay=3600),
        "variants": (Variant("A", 1.0, ()),),
        "exclusions": (Exclusion("recent_buyers", Segment("x", "", Behaviour("purchase", EVER))),),
        "expires": 12 * 3600.0,
    }
    values.update(changes)
    return Campaign(**values)  # type: ignore[arg-type]


NO_CAPS = Caps()


def outreach(*campaigns: Campaign, caps: Caps = NO_CAPS) -> Outreach:
    return Outreach(MappingProxyType({c.name: c for c in campaigns}), caps=caps)


def data(now: float, candidates: dict[str, list[Candidate]], **changes: object) -> PlanData:
    members = {c.member for found in candidates.values() for c in found}
    values: dict[str, object] = {
        "at": now,
        "candidates": candidates,
        "excluded": {},
        "marketing": frozenset(members),
        "night": frozenset(),
        "reach": {m: [("kakao", f"shop:{m}")] for m in members},
    }
    values.update(changes)
    return PlanData(**values)  # type: ignore[arg-type]


def decided(plans: list[CampaignPlan], member: str) -> Send:
    return next(d for p in plans for d in p.decisions if d.member == member)


def test_each_rule_decides_in_order_and_the_counts_say_which() -> None:
    now = at("2026-12-07 10:00")
    members = ["C-1", "C-2", "C-3", "C-4"]
    found = {"cart_reminder": [Candidate(m, "", now - 60) for m in members]}
    plans = plan(
        outreach(campaign(channels=("kakao",))),
        data(
            now,
            found,
            excluded={("cart_reminder", "recent_buyers"): frozenset({"C-1"})},
            marketing=frozenset({"C-1", "C-3", "C-4"}),  # C-2 never said yes
            reach={"C-1": [("kakao", "s:1")], "C-2": [("kakao", "s:2")], "C-4": [("web", "v4")]},
        ),
    )
    (result,) = plans
    assert decided(plans, "C-1").status == SendStatus.EXCLUDED
    assert decided(plans, "C-1").reason == "recent_buyers"  # the rule comes before consent
    assert decided(plans, "C-2").status == SendStatus.NO_CONSENT
    assert decided(plans, "C-3").status == SendStatus.UNREACHABLE  # no channel of theirs
    assert decided(plans, "C-4").status == SendStatus.UNREACHABLE  # web is not this campaign's
    assert result.as_json() == {
        "campaign": "cart_reminder",
        "eligible": 4,
        "excluded": {"recent_buyers": 1, "no_marketing_consent": 1, "unreachable": 2},
        "capped": 0,
        "quiet": 0,
        "held_out": 0,
        "to_send": 0,
        "later": 0,
    }


def test_a_send_key_is_the_same_on_every_worker_and_differs_by_run() -> None:
    assert send_key("welcome", "", "C-1") == send_key("welcome", "", "C-1")
    assert send_key("welcome", "", "C-1") != send_key("welcome", "2026-12-07", "C-1")
    assert len(send_key("welcome", "", "C-1")) == 32


def test_advertising_in_the_quiet_window_waits_for_its_end_unless_night_consent() -> None:
    now = at("2026-12-07 22:30")  # 22:30: inside 20:50-08:00
    found = {"cart_reminder": [Candidate("C-1", "", now), Candidate("C-2", "", now)]}
    plans = plan(outreach(campaign()), data(now, found, night=frozenset({"C-2"})))
    waiting = decided(plans, "C-1")
    assert waiting.status == SendStatus.PLANNED
    assert waiting.due == at("2026-12-08 08:00")
    assert decided(plans, "C-2").due == now  # said yes to night-time messages
    assert plans[0].quiet == 1
    assert plans[0].to_send == 1


def test_informational_messages_ignore_consent_and_the_quiet_window() -> None:
    now = at("2026-12-07 23:00")
    found = {"order_update": [Candidate("C-1", "", now)]}
    info = campaign("order_update", kind="informational", exclusions=())
    plans = plan(outreach(info), data(now, found, marketing=frozenset()))
    assert decided(plans, "C-1").status == SendStatus.PLANNED
    assert decided(plans, "C-1").due == now


def test_a_quiet_window_that_outlasts_the_expiry_drops_the_message() -> None:
    now = at("2026-12-07 21:00")
    found = {"flash": [Candidate("C-1", "", now)]}
    flash = campaign("flash", exclusions=(), expires=3600.0)
    plans = plan(outreach(flash), data(now, found))
    assert decided(plans, "C-1").status == SendStatus.EXPIRED
    assert decided(plans, "C-1").reason == "quiet_hours"


def test_caps_across_campaigns_count_the_day_and_a_rolling_week() -> None:
    now = at("2026-12-07 10:00")
    earlier = Send(
        key="k",
        campaign="welcome",
        run="",
        member="C-1",
        status=SendStatus.SENT,
        planned_at=now - 3600,
        due=now - 3600,
        expires=now,
    )
    found = {"cart_reminder": [Candidate("C-1", "", now), Candidate("C-2", "", now)]}
    rules = outreach(campaign(exclusions=()), caps=Caps(per_day=1))
    plans = plan(rules, data(now, found, history=[earlier]))
    assert decided(plans, "C-1").status == SendStatus.CAPPED
    assert decided(plans, "C-2").status == SendStatus.PLANNED
    week = outreach(campaign(exclusions=()), caps=Caps(per_week=1))
    six_days_on = data(at("2026-12-13 09:59"), found, history=[earlier])
    assert decided(plan(week, six_days_on), "C-1").status == SendStatus.CAPPED
    seven_days_on = data(at("2026-12-14 09:00"), found, history=[earlier])
    assert decided(plan(week, seven_days_on), "C-1").status == SendStatus.PLANNED


def test_caps_count_what_this_plan_already_gave_the_member() -> None:
    now = at("2026-12-07 10:00")
    first, second = campaign("a_first", exclusions=()), campaign("b_second", exclusions=())
    found = {"a_first": [Candidate("C-1", "", now)], "b_second": [Candidate("C-1", "", now)]}
    plans = plan(outreach(first, second, caps=Caps(per_day=1)), data(now, found))
    assert [d.status for p in plans for d in p.decisions] == [
        SendStatus.PLANNED,
        SendStatus.CAPPED,
    ]


def test_the_holdout_is_a_stable_share_and_gets_nothing() -> None:
    now = at("2026-12-07 10:00")
    members = [f"C-{i}" for i in range(4000)]
    held = campaign(exclusions=(), holdout=0.25, kind="informational")
    found = {held.name: [Candidate(m, "", now) for m in members]}
    plans = plan(outreach(held), data(now, found))
    out = [d for d in plans[0].decisions if d.status == SendStatus.HELD_OUT]
    assert 900 < len(out) < 1100  # 25% of 4,000, give or take chance
    assert all(d.variant is None for d in out)
    assert {d.member for d in out} == {m for m in members if draw(held.name, m) < 0.25}
    again = plan(outreach(held), data(now, found))
    assert [d.status for d in again[0].decisions] == [d.status for d in plans[0].decisions]


def test_variants_split_the_rest_by_weight() -> None:
    now = at("2026-12-07 10:00")
    split = campaign(
        exclusions=(),
        kind="informational",
        holdout=0.1,
        variants=(Variant("A", 3.0, ()), Variant("B", 1.0, ())),
    )
    found = {split.name: [Candidate(f"C-{i}", "", now) for i in range(8000)]}
    sent = [d for d in plan(outreach(split), data(now, found))[0].decisions if d.variant]
    share_a = sum(1 for d in sent if d.variant == "A") / len(sent)
    assert 0.72 < share_a < 0.78


def test_best_hour_puts_the_send_at_that_hour_of_the_day() -> None:
    now = at("2026-12-07 10:00")
    best = campaign(exclusions=(), kind="informational", send_at="best_hour")
    found = {best.name: [Candidate("C-1", "d", now), Candidate("C-2", "d", now)]}
    plans = plan(outreach(best), data(now, found, best_hour={"C-1": 19, "C-2": 7}))
    assert decided(plans, "C-1").due == at("2026-12-07 19:00")
    assert decided(plans, "C-2").due == now  # its hour has passed today: at once
    assert plans[0].later == 1
    assert plans[0].to_send == 1


def test_most_active_hours_fall_back_to_the_audience_with_too_little_history() -> None:
    from collections import Counter

    hours = {
        "C-1": Counter({20: 5, 9: 1}),
        "C-2": Counter({9: 1}),  # one message: too little of their own
        "C-3": Counter({9: 2, 21: 2}),  # a tie: the earlier hour
    }
    # everyone together wrote most at 20 (5 of 11): C-2 gets that
    assert most_active_hours(hours, minimum=3) == {"C-1": 20, "C-2": 20, "C-3": 9}


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [("20:49", False), ("20:50", True), ("23:59", True), ("07:59", True), ("08:00", False)],
)
def test_the_default_quiet_window_is_20_50_to_08_00(clock: str, quiet: bool) -> None:
    assert in_quiet(at(f"2026-12-07 {clock}"), (20 * 60 + 50, 8 * 60), "Asia/Seoul") is quiet


def test_the_quiet_window_ends_the_next_morning_before_midnight_and_the_same_after() -> None:
    window = (20 * 60 + 50, 8 * 60)
    assert quiet_end(at("2026-12-07 22:00"), window, "Asia/Seoul") == at("2026-12-08 08:00")
    assert quiet_end(at("2026-12-08 03:00"), window, "Asia/Seoul") == at("2026-12-08 08:00")
    assert quiet_end(at("2026-12-08 12:00"), window, "Asia/Seoul") == at("2026-12-08 12:00")


def test_schedules_name_their_runs_by_day() -> None:
    daily = Schedule(10, 0)
    runs = runs_between(daily, "Asia/Seoul", at("2026-12-07 09:00"), at("2026-12-09 10:00"))
    assert runs == [
        ("2026-12-07", at("2026-12-07 10:00")),
        ("2026-12-08", at("2026-12-08 10:00")),
        ("2026-12-09", at("2026-12-09 10:00")),
    ]
    mondays = Schedule(10, 0, weekdays=frozenset({0}))
    assert [
        r
        for r, _ in runs_between(
            mondays, "Asia/Seoul", at("2026-12-01 00:00"), at("2026-12-15 00:00")
        )
    ] == [
        "2026-12-07",
        "2026-12-14",
    ]
    once = Schedule(10, 0, once="2026-12-10")
    assert runs_between(once, "Asia/Seoul", at("2026-12-10 09:00"), at("2026-12-10 11:00")) == [
        ("2026-12-10", at("2026-12-10 10:00"))
    ]
