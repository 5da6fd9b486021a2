"""Planted traffic for issue 18's fault 2 (the report's side) and fault 3; each failed on the
code before the fix.

* Fault 2: records kept before the engine learnt better close an abandoned conversation when the
  user comes back (8 days later here). The report still measures it to its last activity: its
  duration is what the user spent, and a purchase 7 days after the last activity is credited to
  it, one a second later is not.
* Fault 3: a period holds the conversations that started in it, whole, and the purchases made
  in it. The reference bot runs with a clock: 지아 talks on Nov 28 and buys on Dec 2; 민준 talks
  across midnight from Nov 30 to Dec 1; 서연 talks on Dec 3. December counts one conversation
  (as many as its ``conversation_start`` records) and 지아's purchase, credited to her November
  conversation; November counts two conversations, 민준's whole, and no purchase. The
  dashboard's "today" (Dec 1) has 하늘's conversation of the morning, not 민준's of the night.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner

import botkit
from botkit.cli.main import cli
from botkit.metrics.compute import conversations_of, measure
from botkit.metrics.periods import day_bounds, load_metrics
from botkit.records import BusinessEvent
from botkit.server import AgentSettings, ServerSettings, create_app
from botkit.storage import MemoryStore, open_store
from tests.metrics.talks import DAY, Talk

REPO = Path(__file__).resolve().parents[2]
APP = botkit.load(REPO / "flows")
SEOUL = ZoneInfo("Asia/Seoul")
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ"}}


def seoul(day: str, hour: int, minute: int = 0) -> float:
    return dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time(hour, minute), SEOUL
    ).timestamp()


@pytest.mark.defines("conversation_end")
@pytest.mark.defines("attribution")
def test_an_abandoned_conversation_is_measured_to_its_last_activity_in_old_records() -> None:
    start = seoul("2026-11-24", 9)
    last = start + 145  # the user's last words
    back = last + 8 * DAY  # they come back: the old engine wrote the end now, in the old talk

    def abandoned(user: str) -> Talk:
        talk = Talk(user).start(start, "main.start").says(last, "배송 조회")
        talk.to(last, "order_status.ask_order", "keywords: 배송 조회")
        talk.end(back, "abandoned")
        return talk.start(back, "main.start")  # the conversation their return began

    records = [*abandoned("지아").records, *abandoned("민준").records]
    events = [
        BusinessEvent("in", "purchase", "지아", last + 7 * DAY, 30_000.0),
        BusinessEvent("out", "purchase", "민준", last + 7 * DAY + 1, 30_000.0),
    ]
    conversations = conversations_of(records)
    first = [c for c in conversations if c.number == 1]
    assert [c.last_at - c.started_at for c in first] == [145.0, 145.0]
    metrics = measure(APP.bot, first, events=events, now=back + DAY)
    assert metrics.duration_p90_s == 145.0
    assert metrics.business["purchase"]["events"] == 2
    assert metrics.business["purchase"]["attributed"] == 1  # 지아's; 민준's came a second late
    assert metrics.abandoned_conversations == 2
    assert metrics.drop_off == {"order_status.ask_order · order_no": 2}


async def plant(store_url: str) -> None:
    class Clock:
        at = 0.0

        def __call__(self) -> float:
            return self.at

    clock = Clock()
    async with APP.run(
        store=store_url, clock=clock, stubs={"lookup_order": lambda c: LOOKUP}
    ) as bot:

        async def say(user: str, at: float, text: str) -> None:
            clock.at = at
            await bot.handle("web", user, text)

        await say("지아", seoul("2026-11-28", 10), "안녕하세요")
        await say("지아", seoul("2026-11-28", 10, 1), "처음으로")
        await say("민준", seoul("2026-11-30", 23, 50), "안녕하세요")
        await say("민준", seoul("2026-12-01", 0, 5), "배송 조회")
        await say("민준", seoul("2026-12-01", 0, 6), "1234-567-890")
        await say("서연", seoul("2026-12-03", 11), "안녕하세요")
        purchase = BusinessEvent("order-7", "purchase", "지아", seoul("2026-12-02", 12), 60_000.0)
        await bot.add_events([purchase])


async def period_report(store_url: str, first: str, last: str) -> tuple[int, dict[str, object]]:
    """(conversation_start records in the period, the period's report as JSON)."""
    store = open_store(store_url)
    await store.open()
    try:
        since, until = day_bounds(first, last, APP.bot.timezone)
        starts = await store.records(kind="conversation_start", since=since, until=until)
        now = seoul("2026-12-05", 9)
        metrics = await load_metrics(store, APP.bot, since=since, until=until, now=now)
    finally:
        await store.close()
    return len(starts), metrics.to_json()


def test_a_period_holds_the_conversations_that_started_in_it_and_the_purchases_made_in_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    asyncio.run(plant(url))

    starts, december = asyncio.run(period_report(url, "2026-12-01", "2026-12-31"))
    assert starts == december["conversations"] == 1  # 서연's; 민준's began in November
    purchase = december["business"]["purchase"]  # type: ignore[index]
    assert (purchase["events"], purchase["attributed"]) == (1, 1)  # to 지아's Nov 28 talk

    starts, november = asyncio.run(period_report(url, "2026-11-01", "2026-11-30"))
    assert starts == november["conversations"] == 2
    assert "purchase" not in november["business"]  # type: ignore[operator]
    funnels = {f["flow"]: f for f in november["funnels"]}  # type: ignore[attr-defined]
    reached = {s["state"]: s["reached"] for s in funnels["order_status"]["states"]}
    assert reached["order_status.in_transit"] == 1  # 민준's talk, whole: after midnight too

    for day, expected in (("2026-11-30", 1), ("2026-12-01", 0)):  # a day, as the dashboard
        starts, report = asyncio.run(period_report(url, day, day))
        assert starts == report["conversations"] == expected, day

    base = ["report", "--store", url, "--bot", str(REPO / "flows"), "--format", "json"]
    side_by_side = CliRunner().invoke(
        cli, [*base, "--from", "2026-12-01", "--to", "2026-12-31", "--vs", "2026-11-01:2026-11-30"]
    )
    assert side_by_side.exit_code == 0, side_by_side.output
    columns = json.loads(side_by_side.output)["groups"]
    assert {name: g["conversations"] for name, g in columns.items()} == {
        "2026-12-01 – 2026-12-31": 1,
        "2026-11-01 – 2026-11-30": 2,
    }
    assert columns["2026-12-01 – 2026-12-31"]["business"]["purchase"]["attributed"] == 1


def kakao(text: str, user: str) -> dict[str, Any]:
    return {
        "userRequest": {"utterance": text, "user": {"id": user}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": {}},
    }


def test_the_dashboards_today_holds_the_conversations_that_started_today() -> None:
    clock = [seoul("2026-11-30", 23, 50)]
    token = "dashboard-token-0123456789"
    app = create_app(
        APP,
        ServerSettings(agent=AgentSettings(tokens=(f"하늘:{token}",))),
        store=MemoryStore(),
        stubs={"lookup_order": lambda c: LOOKUP},
        clock=lambda: clock[0],
    )

    async def visit() -> str:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
        ):
            for at, user, text in (
                (seoul("2026-11-30", 23, 50), "민준", "안녕하세요"),
                (seoul("2026-12-01", 0, 5), "민준", "배송 조회"),  # the same talk, past midnight
                (seoul("2026-12-01", 10), "하늘", "안녕하세요"),
            ):
                clock[0] = at
                answer = await client.post("/kakao/skill", json=kakao(text, user))
                assert answer.status_code == 200
            clock[0] = seoul("2026-12-01", 10, 5)
            return (await client.get(f"/dashboard?token={token}")).text

    page = asyncio.run(visit())
    series = r'data-series="daily:conversations" data-label="([^"]+)" data-value="(\d+)"'
    assert re.findall(series, page) == [("2026-12-01", "1")]  # 하늘's; 민준's began Nov 30
