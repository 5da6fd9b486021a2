"""Metrics from records: the funnel equals a brute-force recount over random traffic, and
`botkit report` shows the figures of real conversations as a table, CSV and JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import botkit
from botkit.cli.main import cli
from botkit.effects import Call
from botkit.events import ActionResult, UserMessage
from botkit.metrics.compute import conversations_of, measure
from botkit.records import Record

REPO = Path(__file__).resolve().parents[2]
APP = botkit.load(REPO / "flows")
WORDS = [
    "안녕하세요",
    "배송 조회",
    "12-34",
    "1234-567-890",
    "처음으로",
    "환불",
    "상담원",
    "음",
    "FAQ",
]
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ"}}
WEDNESDAY_10AM = 1_795_568_400.0  # 2026-11-25 10:00 KST, inside the reference bot's hours


def traffic(seed: int, users: int) -> list[Record]:
    """Random users saying random things to the reference bot, through the engine."""
    rng = random.Random(seed)
    engine = APP.engine
    records: list[Record] = []
    at = WEDNESDAY_10AM
    for u in range(users):
        session = engine.new_session(f"test:u{u}", f"u{u}", "test")
        for _ in range(rng.randint(1, 8)):
            at += rng.choice([5, 5, 60, 3600])  # now and then, a silence long enough to end it
            turn = engine.handle(session, UserMessage(rng.choice(WORDS), at))
            records += turn.records
            if turn.effects and isinstance(turn.effects[-1], Call):
                done = engine.handle(session, ActionResult("lookup_order", "ok", at, LOOKUP))
                records += done.records
    return records


def recount(records: list[Record], state: str) -> tuple[int, int]:
    """(reached, dropped) for one state, straight from the records."""
    reached = {
        (r.session, r.conversation)
        for r in records
        if r.kind == "transition" and r.data and r.data["to"] == state
    }
    dropped = 0
    keys = {(r.session, r.conversation) for r in records if r.conversation}
    for key in keys:
        own = sorted(
            (r for r in records if (r.session, r.conversation) == key), key=lambda r: r.seq
        )
        moves = [r for r in own if r.kind == "transition"]
        completed = any(  # a goal, a resolved end, or an agent's close (definitions)
            r.kind in ("goal", "handoff_closed")
            or (r.kind == "conversation_end" and (r.data or {}).get("outcome") == "resolved")
            for r in own
        )
        # Read with no clock (measure's now=None): every conversation has had its time.
        if moves and (moves[-1].data or {})["to"] == state and not completed:
            dropped += 1
    return len(reached), dropped


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), users=st.integers(1, 40))
def test_funnel_and_drop_off_equal_a_recount_of_the_raw_records(seed: int, users: int) -> None:
    records = traffic(seed, users)
    metrics = measure(APP.bot, conversations_of(records))
    assert metrics.conversations == sum(1 for r in records if r.kind == "conversation_start")
    for funnel in metrics.funnels:
        for state in funnel.states:
            assert (funnel.reached[state], funnel.dropped[state]) == recount(records, state)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), users=st.integers(0, 12))
def test_an_experiment_without_a_result_says_why(seed: int, users: int) -> None:
    conversations = conversations_of(traffic(seed, users))
    metrics = measure(APP.bot, conversations)
    seen = {name for c in conversations for name in c.variants}
    for name, experiment in APP.bot.experiments.items():
        if experiment.goal is None:
            assert metrics.unmeasured[name] == "it has no goal (add 'goal:' to the experiment)"
        elif name in seen:
            assert name in metrics.experiments
            assert name not in metrics.unmeasured
        else:
            assert metrics.unmeasured[name] == "no conversation was in it yet"
            assert name not in metrics.experiments


def test_rates_of_a_known_set_of_conversations(tmp_path: Path) -> None:
    # Wednesday 2026-11-25 10:00 KST and on, 5 s a turn: the CS team is in when 다 asks for one.
    ticks = iter(WEDNESDAY_10AM + i * 5 for i in range(1000))

    async def talk() -> None:
        async with APP.run(
            store=f"sqlite:///{tmp_path}/bot.db",
            stubs={"lookup_order": lambda c: LOOKUP},
            clock=ticks.__next__,
        ) as bot:
            for user in ("가", "나"):  # two look up an order and say thanks: resolved
                for text in ("안녕하세요", "배송 조회", "1234-567-890", "고마워요"):
                    await bot.handle("web", user, text)
            await bot.handle("web", "다", "안녕하세요")  # one asks for a person
            await bot.handle("web", "다", "상담원")
            await bot.handle("kakao", "라", "안녕하세요")  # one says hello and leaves
            await bot.handle("web", "마", "환불")  # one starts a refund (experiment refund_copy)

    asyncio.run(talk())
    runner = CliRunner()
    store = f"sqlite:///{tmp_path}/bot.db"
    bot = str(REPO / "flows")
    as_json = json.loads(
        runner.invoke(cli, ["report", "--store", store, "--bot", bot, "--format", "json"]).output
    )
    assert as_json["conversations"] == 5
    assert as_json["completion_rate"] == 0.4
    assert as_json["containment_rate"] == 0.8
    assert as_json["handoff_rate"] == 0.2
    assert as_json["handoff_by_reason"] == {"user_request": 0.2}
    assert as_json["goal_conversion"]["order_checked"] == 0.4
    refund = as_json["experiments"]["refund_copy"]  # greeting_title has no goal: not compared
    assert list(as_json["experiments"]) == ["refund_copy"]
    assert sum(v["users"] for v in refund["variants"]) == 1
    assert refund["warnings"]  # one user: far too few to tell the variants apart
    funnel = {f["flow"]: f for f in as_json["funnels"]}["order_status"]
    reached = {s["state"]: s["reached"] for s in funnel["states"]}
    assert reached["order_status.in_transit"] == 2

    by_channel = runner.invoke(
        cli, ["report", "--store", store, "--bot", bot, "--format", "csv", "--by", "channel"]
    ).output
    rows = list(csv.DictReader(io.StringIO(by_channel)))
    assert {"group": "kakao", "metric": "conversations", "value": "1"} in rows
    assert {"group": "web", "metric": "conversations", "value": "4"} in rows

    table = runner.invoke(cli, ["report", "--store", store, "--bot", bot]).output
    lines = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    assert "40.0%" in lines["completion_rate"]
    assert "A/B 실험" in table
    assert "refund_copy:variants:A:users" in lines
    assert "퍼널" in table
    assert "order_status:states:order_status.ask_order:reached" in lines

    empty = runner.invoke(
        cli,
        [
            "report",
            "--store",
            store,
            "--bot",
            bot,
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-02",
            "--format",
            "json",
        ],
    )
    assert json.loads(empty.output)["completion_rate"] is None  # nothing to divide: unknown
    bad = runner.invoke(cli, ["report", "--store", store, "--bot", bot, "--flow", "nowhere"])
    assert bad.exit_code == 2
    assert "no flow 'nowhere'" in bad.output


def test_segments_by_acquisition_source_and_two_periods_side_by_side(tmp_path: Path) -> None:
    days = iter([WEDNESDAY_10AM, WEDNESDAY_10AM + 2 * 86_400])  # Nov 25 and Nov 27

    async def talk() -> None:
        for at in days:
            ticks = iter(at + i * 5 for i in range(1000))
            clock = ticks.__next__  # bound now: each day's run has its own
            async with APP.run(store=f"sqlite:///{tmp_path}/bot.db", clock=clock) as bot:
                await bot.handle(
                    "web", f"insta-{at}", "안녕하세요", profile={"source": "instagram"}
                )
                await bot.handle("web", f"naver-{at}", "안녕하세요", profile={"source": "naver"})
                await bot.handle("web", f"plain-{at}", "안녕하세요")

    asyncio.run(talk())
    runner = CliRunner()
    base = ["report", "--store", f"sqlite:///{tmp_path}/bot.db", "--bot", str(REPO / "flows")]
    by_source = json.loads(
        runner.invoke(cli, [*base, "--by", "segment:source", "--format", "json"]).output
    )
    assert {name: g["conversations"] for name, g in by_source["groups"].items()} == {
        "source=instagram": 2,
        "source=naver": 2,
        "source=(none)": 2,
    }
    side_by_side = runner.invoke(
        cli,
        [*base, "--from", "2026-11-27", "--to", "2026-11-27", "--vs", "2026-11-25:2026-11-25"],
    ).output
    assert "2026-11-27 – 2026-11-27" in side_by_side
    assert "2026-11-25 – 2026-11-25" in side_by_side
    bad = runner.invoke(cli, [*base, "--by", "colour"])
    assert bad.exit_code == 2
    assert "segment:<segment name or profile key>" in bad.output


def test_the_promotion_funnel_with_its_money_and_the_attribution_window(tmp_path: Path) -> None:
    start = WEDNESDAY_10AM + 7 * 86_400  # 2026-12-02 10:00 KST: the winter sale is on
    ticks = iter(start + i * 5 for i in range(100))

    async def talk() -> None:
        async with APP.run(store=f"sqlite:///{tmp_path}/bot.db", clock=ticks.__next__) as bot:
            await bot.handle("web", "지아", "안녕하세요")  # the greeting shows new_member
            await bot.handle("web", "지아", "이벤트")  # the offer screen shows winter_sale
            await bot.handle("web", "지아", "쿠폰 받기", payload="get_coupon")  # its offer
            await bot.add_events(
                [botkit.BusinessEvent("order-7", "purchase", "지아", start + 3 * 86_400, 60_000.0)]
            )

    asyncio.run(talk())
    runner = CliRunner()
    base = ["report", "--store", f"sqlite:///{tmp_path}/bot.db", "--bot", str(REPO / "flows")]
    week = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    assert week["promotions"]["winter_sale"] == {
        "exposed": 1,
        "engaged": 1,
        "clicked": 1,
        "converted": 1,
        "revenue": 60_000.0,
        "cost": 500_000.0,  # all of its 31 days are in a report of everything
        "roi": -0.88,
        "outside_dates": 0,
        "notes": [],
    }
    welcome = week["promotions"]["new_member"]  # on the greeting, with no offer named
    assert (welcome["exposed"], welcome["clicked"], welcome["converted"]) == (1, None, None)
    assert "names no offer" in " ".join(welcome["notes"])
    december_week = ["--from", "2026-12-01", "--to", "2026-12-07", "--format", "json"]
    charged = json.loads(runner.invoke(cli, [*base, *december_week]).output)
    assert charged["promotions"]["winter_sale"]["cost"] == 500_000.0 * 7 / 31
    one_day = json.loads(runner.invoke(cli, [*base, "--format", "json", "--window", "1"]).output)
    assert one_day["promotions"]["winter_sale"]["converted"] == 0  # three days later: too late
    # The table and the page show the same figures (tests/metrics/test_formats_agree.py).
    assert "winter_sale" in runner.invoke(cli, base).output
    assert "winter_sale" in runner.invoke(cli, [*base, "--format", "html"]).output
