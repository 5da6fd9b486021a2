"""Campaign measurement on hand-built sends, events, links and records, with every figure known
in advance (definitions: campaign, campaign_lift; botkit/metrics/campaigns.py).

The shop is tests/metrics/money_flows: a purchase adds and converts, a refund subtracts, a gift
card adds money but converts nobody. The campaign ``cart`` (a reminder to whoever left a cart)
has a 3-day window, so its boundary is not the 7-day default's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import botkit
from botkit.campaigns.model import Campaign, Trigger, Variant
from botkit.campaigns.port import Send
from botkit.metrics.ab import difference_interval, two_proportion_test
from botkit.metrics.calendar import Period
from botkit.metrics.campaigns import CampaignResult, lift, lifts, measure_campaigns
from botkit.records import BusinessEvent, Record, ReportRow

SHOP = botkit.load(Path(__file__).parent / "money_flows").bot
SEOUL = ZoneInfo("Asia/Seoul")
DAY = 86_400.0
WINDOW = 3 * DAY
PLANNED = dt.datetime(2026, 12, 1, 10, tzinfo=SEOUL).timestamp()
SENT_AT = PLANNED + 120  # the sender took it two minutes after the plan


def campaign(
    name: str = "cart", *, variants: tuple[str, ...] = ("A",), window: float = WINDOW
) -> Campaign:
    return Campaign(
        name=name,
        title="장바구니 알림",
        kind="advertising",
        trigger=Trigger("event", "1 hour after cart_added", event="cart_added", delay=3600.0),
        variants=tuple(Variant(v, 1.0, ()) for v in variants),
        holdout=0.1,
        window=window,
        cost=15.0,
    )


CART = {"cart": campaign()}


def send(
    member: str,
    status: str,
    *,
    name: str = "cart",
    run: str = "",
    variant: str | None = None,
    user: str | None = None,
    reason: str | None = None,
    planned: float = PLANNED,
    sent_at: float | None = None,
    cost: float = 0.0,
) -> Send:
    if status in ("sent", "delivered"):
        sent_at = SENT_AT + (planned - PLANNED) if sent_at is None else sent_at
        variant = variant or "A"
        user = user or member.removeprefix("user:")
        cost = cost or 15.0
    return Send(
        key=f"{name}|{run}|{member}",
        campaign=name,
        run=run,
        member=member,
        status=status,
        planned_at=planned,
        due=planned,
        expires=planned + DAY,
        variant=variant,
        channel="kakao" if user else None,
        user=user,
        reason=reason,
        sent_at=sent_at,
        delivered_at=None if sent_at is None or status != "delivered" else sent_at + 1,
        cost=cost,
    )


def bought(
    id: str, at: float, amount: float, *, user: str = "", customer: str | None = None
) -> BusinessEvent:
    return BusinessEvent(id, "purchase", user, at, amount, None, customer)


def event(id: str, kind: str, at: float, amount: float, *, customer: str) -> BusinessEvent:
    return BusinessEvent(id, kind, "", at, amount, None, customer)


def said(user: str, at: float, text: str = "네 살게요", *, payload: str | None = None) -> Record:
    data: dict[str, object] = {"text": text}
    if payload is not None:
        data["payload"] = payload
    return Record("message_in", f"kakao:{user}", 1, 1, 1, at, "winter_shop", "shop", "v1", "",
                  user, "kakao", data)  # fmt: skip


def clicked(user: str, at: float) -> Record:
    data = {"url": "https://shop.example/cart", "state": "shop.menu"}
    return Record("link_clicked", f"kakao:{user}", 1, 2, 1, at, "winter_shop", "shop", "v1", "",
                  user, "kakao", data)  # fmt: skip


def one(
    sends: list[Send],
    events: list[BusinessEvent] | None = None,
    **more: object,
) -> CampaignResult:
    results = measure_campaigns(SHOP, CART, sends, events or [], **more)  # type: ignore[arg-type]
    return results["cart"]


# ---- the funnel ------------------------------------------------------------------------------


@pytest.mark.defines("campaign")
def test_every_decision_is_counted_once_and_the_funnel_adds_up() -> None:
    sends = [
        send("c1", "delivered", variant="A", user="u1"),
        send("c2", "sent", variant="A", user="u2"),
        send("c3", "sent", variant="B", user="u3"),
        send("c4", "held_out"),
        send("c5", "held_out"),
        send("c6", "excluded", reason="recent_buyers"),
        send("c7", "excluded", reason="recent_buyers"),
        send("c8", "excluded", reason="vip_only"),
        send("c9", "no_consent"),
        send("c10", "capped"),
        send("c11", "unreachable"),
        send("c12", "planned", variant="B", user="u12"),
        send("c13", "claimed", variant="A", user="u13"),
        send("c14", "failed", variant="B", user="u14", cost=0.0),
        send("c15", "parked", variant="A", user="u15"),
        send("c16", "expired", variant="A", user="u16"),
        send("c17", "withdrawn", variant="B", user="u17"),
    ]
    result = one(sends)
    assert result.title == "장바구니 알림"
    assert result.eligible == 17
    assert result.excluded == {"recent_buyers": 2, "vip_only": 1}  # most first
    assert (result.no_consent, result.capped, result.unreachable) == (1, 1, 1)
    assert result.held_out == 2
    assert result.waiting == 2  # planned, claimed
    assert (result.failed, result.parked, result.expired, result.withdrawn) == (1, 1, 1, 1)
    whole = result.messages
    assert (whole.sent, whole.delivered) == (3, 1)
    assert whole.cost == 45.0  # three messages at 15 won
    parts = (
        sum(result.excluded.values())
        + result.no_consent
        + result.capped
        + result.unreachable
        + result.held_out
        + result.waiting
        + result.failed
        + result.parked
        + result.expired
        + result.withdrawn
        + whole.sent
    )
    assert parts == result.eligible
    assert whole.assigned == 9  # drawn a variant: sent, waiting, failed, parked, ...
    assert {v: r.assigned for v, r in result.variants.items()} == {"A": 5, "B": 4}
    assert {v: r.sent for v, r in result.variants.items()} == {"A": 2, "B": 1}
    report = result.to_json()
    assert report["excluded"] == {"recent_buyers": 2, "vip_only": 1}
    assert report["variants"]["B"]["sent"] == 1
    assert "assigned" not in report  # the campaign's is eligible less the decisions


@pytest.mark.defines("campaign")
def test_engaged_means_the_user_wrote_or_opened_a_link_within_the_window_after_it_left() -> None:
    sends = [send(f"user:u{i}", "sent", user=f"u{i}") for i in range(1, 8)]
    records: list[Record | ReportRow] = [
        said("u1", SENT_AT + 60),  # answered a minute later
        said("u2", SENT_AT - 1),  # wrote before the message left: not an answer to it
        said("u3", SENT_AT + 60, text=""),  # the widget's empty opening: nobody wrote
        said("u4", SENT_AT + WINDOW, text="", payload="get_coupon"),  # a press, last second
        clicked("u5", SENT_AT + WINDOW + 1),  # a second too late
        clicked("u6", SENT_AT + 5),  # opened the link in it
        said("u9", SENT_AT + 60),  # somebody else
        ReportRow("message_in", "kakao:u7", 1, 3, SENT_AT + 30, "u7", "kakao", "shop", None),
    ]
    result = one(sends, records=records)
    assert result.messages.engaged == 4  # u1, u4, u6, u7
    assert result.messages.engaged_rate == pytest.approx(4 / 7)


# ---- conversions and money --------------------------------------------------------------------


@pytest.mark.defines("campaign")
def test_a_purchase_converts_within_the_window_both_ends_included() -> None:
    sends = [
        send("c1", "sent", user="u1"),
        send("c2", "sent", user="u2"),
        send("c3", "sent", user="u3"),
        send("c4", "held_out"),
        send("c5", "held_out"),
    ]
    events = [
        bought("p1", SENT_AT + WINDOW, 50_000, customer="c1"),  # the window's last second
        bought("p2", SENT_AT + WINDOW + 1, 50_000, customer="c2"),  # a second after it
        bought("p3", SENT_AT - 1, 50_000, customer="c3"),  # before the message left
        bought("p4", PLANNED, 30_000, customer="c4"),  # held out: from when it was decided
        bought("p5", PLANNED + WINDOW + 1, 30_000, customer="c5"),
        bought("p6", SENT_AT + 10, 99_000, customer="c99"),  # nobody the campaign decided about
    ]
    result = one(sends, events)
    assert result.messages.converted == 1
    assert result.messages.revenue == 50_000
    assert result.held_out_converted == 1
    assert result.held_out_revenue == 30_000
    assert result.messages.conversion_rate == pytest.approx(1 / 3)
    assert result.held_out_conversion_rate == pytest.approx(1 / 2)


@pytest.mark.defines("campaign")
def test_revenue_is_net_of_refunds_and_counts_money_that_converts_nobody() -> None:
    sends = [send("c1", "sent", user="u1"), send("c2", "sent", user="u2")]
    events = [
        bought("p1", SENT_AT + DAY, 50_000, customer="c1"),
        event("r1", "refund", SENT_AT + 2 * DAY, 20_000, customer="c1"),
        event("r1b", "refund", SENT_AT + WINDOW + 60, 30_000, customer="c1"),  # after it
        event("g2", "gift_card", SENT_AT + DAY, 10_000, customer="c2"),  # money, no conversion
    ]
    result = one(sends, events)
    assert result.messages.revenue == 50_000 - 20_000 + 10_000
    assert result.messages.converted == 1  # c1; a gift card converts nobody
    assert result.messages.cost == 30.0
    assert result.messages.roi == pytest.approx((40_000 - 30) / 30)


@pytest.mark.defines("campaign")
def test_an_event_is_the_members_however_the_shop_names_them() -> None:
    sends = [
        send("c1", "sent", user="u1"),  # the shop names the customer
        send("c2", "sent", user="u2"),  # bought on the web, as a user linked to c2
        send("user:u3", "sent", user="u3"),  # nobody linked: the member is the user
        send("c4", "sent", user="u4"),  # the shop names only the user it was sent to
        send("c5", "held_out"),
    ]
    links = {"web:w2": "c2", "web:w5": "c5"}
    events = [
        bought("p1", SENT_AT + 60, 10_000, customer="c1"),
        bought("p2", SENT_AT + 60, 20_000, user="web:w2"),
        bought("p3", SENT_AT + 60, 30_000, user="u3"),
        bought("p4", SENT_AT + 60, 40_000, user="u4"),
        bought("p5", PLANNED + 60, 50_000, user="web:w5"),
        bought("p6", SENT_AT + 60, 60_000, user="web:w6"),  # linked to nobody the plan knew
    ]
    result = one(sends, events, links=links)
    assert result.messages.converted == 4
    assert result.messages.revenue == 100_000
    assert (result.held_out_converted, result.held_out_revenue) == (1, 50_000)


@pytest.mark.defines("campaign")
def test_a_purchase_counts_once_in_a_campaign_for_the_latest_run_whose_window_holds_it() -> None:
    weekly = {"weekly": campaign("weekly", window=7 * DAY)}
    sends = [
        send("c1", "sent", name="weekly", run="2026-12-01", user="u1"),
        send("c1", "sent", name="weekly", run="2026-12-03", user="u1", planned=PLANNED + 2 * DAY),
    ]
    events = [
        bought("p1", SENT_AT + DAY, 10_000, customer="c1"),  # run 1 only
        bought("p2", SENT_AT + 3 * DAY, 20_000, customer="c1"),  # both windows: run 2's
    ]
    result = measure_campaigns(SHOP, weekly, sends, events)["weekly"]
    assert result.messages.sent == 2
    assert result.messages.converted == 2  # each run converted once
    assert result.messages.revenue == 30_000  # not 50,000: p2 counted once


@pytest.mark.defines("campaign")
def test_a_period_holds_the_sends_planned_in_it_each_followed_to_its_windows_end() -> None:
    since, until = PLANNED - DAY, PLANNED + 60
    sends = [
        send("c1", "sent", user="u1"),  # planned in the period
        send("c0", "sent", user="u0", planned=since - 1),  # the day before: not this report's
        send("c2", "held_out", planned=until),  # the period's end is not in it
    ]
    events = [
        bought("p1", SENT_AT + 2 * DAY, 10_000, customer="c1"),  # after the period: still its
        bought("p0", since + 60, 10_000, customer="c0"),
    ]
    result = one(sends, events, period=Period(since, until), now=SENT_AT + DAY)
    assert result.eligible == 1
    assert (result.messages.converted, result.messages.revenue) == (1, 10_000)
    assert result.still_measuring == 1  # its window is not over at the report's now
    assert any("may still come" in note for note in result.notes)
    over = one(sends, events, period=Period(since, until), now=SENT_AT + WINDOW)
    assert over.still_measuring == 0


def test_a_campaign_no_longer_written_is_still_measured_after_the_written_ones() -> None:
    sends = [send("c1", "sent", name="old_coupon", user="u1"), send("c2", "sent", user="u2")]
    events = [bought("p1", SENT_AT + 6 * DAY, 10_000, customer="c1")]  # inside 7 days
    results = measure_campaigns(SHOP, CART, sends, events)
    assert list(results) == ["cart", "old_coupon"]
    assert results["old_coupon"].messages.converted == 1
    assert any("no longer in campaigns.yaml" in n for n in results["old_coupon"].notes)


def test_every_campaign_is_listed_even_with_nothing_decided() -> None:
    results = measure_campaigns(SHOP, {**CART, "welcome": campaign("welcome")}, [])
    assert list(results) == ["cart", "welcome"]
    assert results["welcome"].eligible == 0
    assert results["welcome"].messages.lift.difference is None
    assert results["welcome"].messages.conversion_rate is None  # unknown, not zero
    assert results["welcome"].messages.roi is None


# ---- the lift ---------------------------------------------------------------------------------


def _population(
    name: str, held: tuple[int, int], by_variant: dict[str, tuple[int, int]]
) -> tuple[list[Send], list[BusinessEvent]]:
    """``held`` = (converted, held out) and per variant (converted, sent), as sends and
    purchases a day after each window opens."""
    sends: list[Send] = []
    events: list[BusinessEvent] = []
    converted, n = held
    for i in range(n):
        sends.append(send(f"h{i}", "held_out", name=name))
        if i < converted:
            events.append(bought(f"ph{i}", PLANNED + DAY, 10_000, customer=f"h{i}"))
    for variant, (converted, n) in by_variant.items():
        for i in range(n):
            member = f"{variant}{i}"
            sends.append(send(member, "sent", name=name, variant=variant, user=member))
            if i < converted:
                events.append(bought(f"p{member}", SENT_AT + DAY, 10_000, customer=member))
    return sends, events


@pytest.mark.defines("campaign_lift")
def test_the_lift_is_the_sent_rate_minus_the_held_out_rate_with_newcombes_interval() -> None:
    sends, events = _population("cart", (20, 200), {"A": (270, 1800)})
    result = one(sends, events)
    found = result.messages.lift
    assert found.difference == pytest.approx(270 / 1800 - 20 / 200)  # 15% − 10% = 5 points
    assert found.interval == pytest.approx(difference_interval(20, 200, 270, 1800))
    assert found.p_value == pytest.approx(two_proportion_test(20, 200, 270, 1800))
    assert found.significant == (found.p_value is not None and found.p_value < 0.05)
    assert found == lift(20, 200, 270, 1800)  # the function the acceptance test calls
    assert result.variants["A"].lift == found  # one variant: the campaign's own
    # Incremental revenue: the sent's revenue less what as many held-out members brought in.
    assert result.messages.revenue == 270 * 10_000
    per_held_out = 20 * 10_000 / 200
    assert result.messages.incremental_revenue == pytest.approx(270 * 10_000 - 1800 * per_held_out)


@pytest.mark.defines("campaign_lift")
def test_variant_lifts_are_against_the_same_holdout_holm_adjusted() -> None:
    two = {"cart": campaign(variants=("A", "B"))}
    sends, events = _population("cart", (30, 300), {"A": (60, 400), "B": (45, 300)})
    result = measure_campaigns(SHOP, two, sends, events)["cart"]
    raw = {
        "A": two_proportion_test(30, 300, 60, 400),
        "B": two_proportion_test(30, 300, 45, 300),
    }
    low, high = sorted(raw, key=raw.__getitem__)
    holm = {low: min(1.0, 2 * raw[low])}
    holm[high] = max(holm[low], raw[high])
    for variant, (converted, n) in {"A": (60, 400), "B": (45, 300)}.items():
        found = result.variants[variant].lift
        assert found.difference == pytest.approx(converted / n - 0.1)
        assert found.interval == pytest.approx(difference_interval(30, 300, converted, n))
        assert found.p_value == pytest.approx(holm[variant])
    assert result.messages.lift == lift(30, 300, 105, 700)  # the campaign: not adjusted
    assert lifts((30, 300), {"A": (60, 400), "B": (45, 300)}) == {
        v: r.lift for v, r in result.variants.items()
    }
    assert any("Holm" in note for note in result.notes)


@pytest.mark.defines("campaign_lift")
def test_without_a_holdout_there_is_no_lift_and_the_report_says_why() -> None:
    sends, events = _population("cart", (0, 0), {"A": (5, 50)})
    result = one(sends, events)
    assert result.messages.lift.difference is None
    assert result.messages.lift.interval is None
    assert result.messages.lift.significant is False
    assert result.messages.incremental_revenue is None
    assert any("held out" in note for note in result.notes)
    report = result.to_json()
    assert report["lift"] == {
        "difference": None,
        "interval": None,
        "p_value": None,
        "significant": False,
    }
