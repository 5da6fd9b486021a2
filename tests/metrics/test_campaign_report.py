"""Campaigns in ``botkit report``: the section is there when the bot has campaigns, read from a
store's sends for the report's period, and the table, CSV, JSON and HTML carry the same
figures (the checks of tests/metrics/test_formats_agree.py, on a report with campaigns), with
the campaign-against-campaign table and the lifts drawn on the page."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import random
import re
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import botkit
from botkit.campaigns.model import Campaign, Trigger, Variant
from botkit.campaigns.port import Send, Sends
from botkit.cli.main import cli
from botkit.engine.session import Session
from botkit.metrics.calendar import Period
from botkit.metrics.campaign_lift import COMPARED, compared
from botkit.metrics.campaign_period import NO_SENDS, load_campaigns
from botkit.metrics.campaigns import campaigns_of, measure_campaigns
from botkit.metrics.compute import Metrics, conversations_of, measure
from botkit.metrics.figures import figures, shown
from botkit.metrics.periods import day_bounds, load_metrics
from botkit.metrics.render import render
from botkit.records import BusinessEvent, Record
from botkit.storage import MemoryStore, open_store
from tests.metrics.test_formats_agree import (
    shop_day,
    test_the_csv_is_every_figure_of_the_json as csv_is_every_figure_of_the_json,
    test_the_page_shows_every_figure_of_the_csv_with_its_value as page_shows_every_figure,
    test_the_terminal_table_shows_every_figure_of_the_csv as table_shows_every_figure,
)

REPO = Path(__file__).resolve().parents[2]
BOT = botkit.load(REPO / "flows").bot
SHOP = botkit.load(Path(__file__).parent / "money_flows").bot  # a bot without campaigns
SEOUL = ZoneInfo("Asia/Seoul")
DAY = 86_400.0
DEC_1 = dt.datetime(2026, 12, 1, tzinfo=SEOUL).timestamp()
DEC_8 = DEC_1 + 7 * DAY


def _campaign(name: str, title: str, variants: tuple[str, ...], window: float) -> Campaign:
    return Campaign(
        name=name,
        title=title,
        kind="advertising",
        trigger=Trigger("event", "1 hour after cart_added", event="cart_added", delay=3600.0),
        variants=tuple(Variant(v, 1.0, ()) for v in variants),
        holdout=0.2,
        window=window,
        cost=15.0,
    )


CAMPAIGNS = {
    "cart": _campaign("cart", "장바구니 <알림> & 쿠폰", ("A", "B"), 3 * DAY),
    "welcome": _campaign("welcome", "가입 환영 쿠폰", ("A",), 7 * DAY),
}
STATUSES = ("delivered", "delivered", "sent", "held_out", "excluded", "capped", "no_consent",
            "failed", "planned", "expired")  # fmt: skip


def key(campaign: str, run: str, member: str) -> str:
    return hashlib.sha256(f"{campaign}\0{run}\0{member}".encode()).hexdigest()[:32]


def outreach(seed: int) -> tuple[list[Send], list[BusinessEvent], list[Record]]:
    """A week of two campaigns in December: members in every state, purchases and refunds of
    some of them within their windows and after, and replies of some of the users sent to."""
    rng = random.Random(seed)
    sends: list[Send] = []
    events: list[BusinessEvent] = []
    records: list[Record] = []
    for i in range(240):
        name = "cart" if i % 3 else "welcome"
        member, user = f"c{i}", f"k{i}"
        status = rng.choice(STATUSES)
        planned = DEC_1 + rng.uniform(0, 7 * DAY)
        variant = rng.choice(CAMPAIGNS[name].variants).name
        sent = status in ("sent", "delivered")
        start = planned + 300 if sent else planned
        drawn = status not in ("held_out", "excluded", "capped", "no_consent")
        sends.append(
            Send(
                key(name, "", member),
                name,
                "",
                member,
                status,
                planned,
                planned,
                planned + DAY,
                variant=variant if drawn else None,
                channel="kakao",
                user=user,
                reason="recent_buyers" if status == "excluded" else None,
                sent_at=start if sent else None,
                delivered_at=start + 2 if status == "delivered" else None,
                cost=15.0 if sent else 0.0,
            )
        )
        if rng.random() < 0.35:
            at = start + rng.uniform(0, 5 * DAY)
            amount = float(rng.choice([19_000, 39_000]))
            events.append(BusinessEvent(f"p{i}", "purchase", "", at, amount, None, member))
            if rng.random() < 0.3:
                events.append(BusinessEvent(f"r{i}", "refund", "", at + 60, 9_000.0, None, member))
        if sent and rng.random() < 0.4:
            records.append(
                Record("message_in", f"kakao:{user}", 1, 1, 1, start + rng.uniform(0, 2 * DAY),
                       BOT.id, "main", "v1", "", user, "kakao", {"text": "쿠폰 주세요"})
            )  # fmt: skip
    return sends, events, records


@pytest.fixture(scope="module", params=[None, "day"])
def metrics(request: pytest.FixtureRequest) -> Metrics:
    talks, purchases = shop_day(7, 60)
    report = measure(BOT, conversations_of(talks), by=request.param, events=purchases)
    sends, events, records = outreach(20)
    report.campaigns = measure_campaigns(BOT, CAMPAIGNS, sends, events, records=records)
    return report


def test_the_formats_carry_the_same_campaign_figures(metrics: Metrics) -> None:
    names = {f.name for f in figures(metrics.to_json()) if f.name.startswith("campaigns:")}
    assert "campaigns:cart:lift:difference" in names
    assert "campaigns:cart:variants:B:lift:p_value" in names
    assert "campaigns:welcome:excluded:recent_buyers" in names
    csv_is_every_figure_of_the_json(metrics)
    page_shows_every_figure(metrics)
    table_shows_every_figure(metrics)


def test_the_csv_and_json_say_the_campaigns_figures_as_measured(metrics: Metrics) -> None:
    assert metrics.campaigns is not None
    cart = metrics.campaigns["cart"]
    report = json.loads(render(metrics, "json"))["campaigns"]["cart"]
    assert report["sent"] == cart.messages.sent > 0
    assert report["lift"]["difference"] == cart.messages.lift.difference
    assert report["lift"]["interval"] == list(cart.messages.lift.interval or ())
    rows = {
        (group, name): value
        for group, name, value in list(csv.reader(io.StringIO(render(metrics, "csv"))))[1:]
    }
    assert rows[("all", "campaigns:cart:converted")] == str(cart.messages.converted)
    assert rows[("all", "campaigns:cart:revenue")] == str(cart.messages.revenue)
    low = cart.messages.lift.interval[0] if cart.messages.lift.interval else None
    assert rows[("all", "campaigns:cart:lift:interval:low")] == str(low)


def test_the_table_sets_campaign_against_campaign(metrics: Metrics) -> None:
    table = render(metrics, "table")
    assert "campaign against campaign · 캠페인 비교" in table
    for name, cells in compared(metrics.to_json()):
        row = next(line for line in table.splitlines() if line.startswith(f"│ {name} "))
        found = [c.strip() for c in row.strip("│").split("│")][1:]
        assert found == [shown(f.name, f.value) for f in cells], name
    assert len(COMPARED) == len(compared(metrics.to_json())[0][1])


def _attrs(page: str, series: str) -> dict[str, dict[str, str]]:
    """Per data-label, the attributes of the page's elements of ``series``."""
    out: dict[str, dict[str, str]] = {}
    for tag in re.findall(r"<[a-z]+ [^>]*>", page):
        attrs = {k: unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag)}
        if attrs.get("data-series") == series:
            out[attrs["data-label"] + attrs.get("data-column", "")] = attrs
    return out


def test_the_page_draws_each_lift_with_its_interval_and_the_comparison(metrics: Metrics) -> None:
    page = render(metrics, "html")
    assert metrics.campaigns is not None
    lifts = _attrs(page, "campaign-lift")
    intervals = _attrs(page, "campaign-lift-interval")
    for name, result in metrics.campaigns.items():
        measured = result.messages.lift
        assert measured.difference is not None
        assert measured.interval is not None
        assert float(lifts[name]["data-value"]) == measured.difference
        assert float(intervals[name]["data-low"]) == measured.interval[0]
        assert float(intervals[name]["data-high"]) == measured.interval[1]
        funnel = _attrs(page, f"campaign:{name}")
        assert int(funnel["eligible · 대상"]["data-value"]) == result.eligible
        assert int(funnel["converted · 구매"]["data-value"]) == result.messages.converted
    table = _attrs(page, "campaign-comparison")
    for name, cells in compared(metrics.to_json()):
        for (column, _), cell in zip(COMPARED, cells, strict=True):
            value = "" if cell.value is None else str(cell.value)
            assert table[name + column]["data-value"] == value, (name, column)
    assert "장바구니 &lt;알림&gt; &amp; 쿠폰" in page  # the title, escaped
    assert "장바구니 <알림>" not in page


def test_a_report_of_a_bot_without_campaigns_has_no_campaign_section() -> None:
    talks, purchases = shop_day(7, 10)
    report = measure(BOT, conversations_of(talks), events=purchases)
    assert "campaigns" not in report.to_json()
    assert "campaign" not in render(report, "table")
    assert "Campaigns · 캠페인" not in render(report, "html")


async def test_the_report_reads_the_periods_sends_from_the_store() -> None:
    sends, events, records = outreach(21)
    earlier = Send(key("cart", "", "old"), "cart", "", "old", "delivered", DEC_1 - 60,
                   DEC_1 - 60, DEC_1 + DAY, "A", "kakao", "k-old", sent_at=DEC_1 - 30,
                   cost=15.0)  # fmt: skip
    # A member sent the cart reminder buys on the web, as a user linked to them.
    buyer = next(s for s in sends if s.campaign == "cart" and s.sent_at is not None)
    assert buyer.sent_at is not None
    events.append(BusinessEvent("w1", "purchase", "web:w1", buyer.sent_at + 60, 77_000.0))
    links = {"web:w1": buyer.member}
    store = MemoryStore()
    await store.open()
    await store.plan_sends([*sends, earlier])
    await store.add_events(events)
    await store.link("web:w1", buyer.member, DEC_1 - DAY, "shop")
    for r in records:
        await store.commit(Session(key=r.session, user=r.user, channel=r.channel), [r],
                           expected_version=0)  # fmt: skip
    now = DEC_8 + 10 * DAY
    metrics = await load_metrics(
        store, BOT, since=DEC_1, until=DEC_8, now=now, campaigns=CAMPAIGNS
    )
    expected = measure_campaigns(
        BOT, CAMPAIGNS, sends, events, links=links, records=records, now=now
    )
    unlinked = measure_campaigns(BOT, CAMPAIGNS, sends, events, records=records, now=now)
    assert expected["cart"].messages.revenue == unlinked["cart"].messages.revenue + 77_000
    assert metrics.campaigns is not None
    assert {n: c.to_json() for n, c in metrics.campaigns.items()} == {
        n: c.to_json() for n, c in expected.items()
    }
    assert metrics.campaigns["cart"].messages.engaged > 0  # the replies were read
    assert metrics.campaigns["cart"].eligible == sum(s.campaign == "cart" for s in sends)
    # A bot without campaigns: no section (and no query).
    assert await load_campaigns(MemoryStore(), SHOP) is None


async def test_a_store_that_keeps_no_sends_lists_the_campaigns_and_says_why() -> None:
    class NoSends:  # the least a store without Sends is, for load_campaigns
        pass

    results = await load_campaigns(NoSends(), SHOP, campaigns=CAMPAIGNS)  # type: ignore[arg-type]
    assert results is not None
    assert list(results) == ["cart", "welcome"]
    assert all(r.eligible == 0 and NO_SENDS in r.notes for r in results.values())
    assert await load_campaigns(NoSends(), SHOP) is None  # type: ignore[arg-type]


def test_botkit_report_shows_the_reference_bots_campaigns_in_every_format(tmp_path: Path) -> None:
    """End to end: a SQLite store's sends of the reference bot's winter_padding campaign (10%
    held out, variants A and B), read by ``botkit report`` for the first week of December."""
    padding = botkit.load(REPO / "flows").bot
    rng = random.Random(5)
    sends: list[Send] = []
    events: list[BusinessEvent] = []
    for i in range(400):
        run = f"2026-12-0{1 + i % 9}"  # runs of the 1st to the 9th: the 8th and 9th are later
        planned = dt.datetime.fromisoformat(run).replace(hour=10, tzinfo=SEOUL).timestamp()
        held = rng.random() < 0.1
        member = f"m{i}"
        at = planned + 600
        sends.append(
            Send(
                key("winter_padding", run, member),
                "winter_padding",
                run,
                member,
                "held_out" if held else "delivered",
                planned,
                planned,
                planned + DAY,
                None if held else rng.choice(("A", "B")),
                None if held else "kakao",
                None if held else f"k{i}",
                sent_at=None if held else at,
                delivered_at=None if held else at + 1,
                cost=0.0 if held else 15.0,
            )
        )
        if rng.random() < 0.3:
            events.append(BusinessEvent(f"p{i}", "purchase", "", at + DAY, 89_000.0, None, member))

    async def keep() -> None:
        store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
        await store.open()
        try:
            assert isinstance(store, Sends)
            await store.plan_sends(sends)
            await store.add_events(events)
        finally:
            await store.close()

    asyncio.run(keep())
    args = ["report", "--store", f"sqlite:///{tmp_path / 'shop.db'}", "--bot", str(REPO / "flows")]
    week = ["--from", "2026-12-01", "--to", "2026-12-07"]
    result = CliRunner().invoke(cli, [*args, *week, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown_json = json.loads(result.output)["campaigns"]
    first_week = Period(*day_bounds("2026-12-01", "2026-12-07", padding.timezone))
    expected = measure_campaigns(padding, campaigns_of(padding), sends, events, period=first_week)
    # (still_measuring depends on the report's own clock, which no test sets: left out)
    for name, result_ in expected.items():
        body = result_.to_json()
        body.pop("still_measuring")
        body["notes"] = [n for n in body["notes"] if "may still come" not in n]
        found = dict(shown_json[name])
        found.pop("still_measuring")
        found["notes"] = [n for n in found["notes"] if "may still come" not in n]
        assert found == json.loads(json.dumps(body)), name
    padding_figures = shown_json["winter_padding"]
    assert padding_figures["eligible"] == sum(s.run <= "2026-12-07" for s in sends)
    assert padding_figures["held_out"] > 0
    assert set(padding_figures["variants"]) == {"A", "B"}
    table = CliRunner().invoke(cli, [*args, *week])
    assert table.exit_code == 0, table.output
    assert "campaign against campaign · 캠페인 비교" in table.output
    assert "│ winter_padding " in table.output
    page = CliRunner().invoke(cli, [*args, *week, "--format", "html"])
    assert page.exit_code == 0, page.output
    assert 'data-series="campaign-lift" data-label="winter_padding"' in page.output
