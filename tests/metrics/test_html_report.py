"""`botkit report --format html`: one self-contained page whose charts carry the same numbers as
the JSON report, checked in a real headless Chromium (Debian's, driven by Playwright).

With ``BOTKIT_UPDATE_SCREENSHOT=1`` the test also saves the page's screenshot as
``docs/report.png`` (the README shows it); otherwise the screenshot goes to a temporary folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import botkit
from botkit.cli.main import cli
from botkit.metrics.compute import Metrics
from botkit.metrics.html import to_html
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _missing

REPO = Path(__file__).resolve().parents[2]
APP = botkit.load(REPO / "flows")
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ"}}
REFUND = {"refund_id": "R-0001"}
ORDER = ("안녕하세요", "배송 조회", "1234-567-890", "고마워요")
# u2, u5, u6 see refund_copy variant A; u1, u3, u4 see B (the variant is a hash of the user).
REFUND_DONE = ("환불", "네, 신청할게요", "1234-567-890", "불량", "네", "010-1234-5678")
DAYS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "2026-11-02": [
        ("web", "가", ORDER),
        ("web", "나", ORDER),
        ("web", "다", ("안녕하세요", "상담원")),
        ("web", "u1", REFUND_DONE),
    ],
    "2026-11-03": [
        ("kakao", "라", ("안녕하세요",)),
        ("web", "u2", REFUND_DONE),
        ("web", "u3", REFUND_DONE[:3]),
    ],
    "2026-11-04": [
        ("web", "마", ORDER[:3]),
        ("web", "u5", REFUND_DONE[:2]),
        ("web", "u4", REFUND_DONE),
        ("web", "u6", REFUND_DONE[:4]),
    ],
}


def talk(db: Path) -> None:
    """The conversations of ``DAYS``, each day from 10:00 in Seoul, 10 seconds per message."""
    now = [0.0]

    async def run() -> None:
        stubs = {"lookup_order": lambda c: LOOKUP, "request_refund": lambda c: REFUND}
        async with APP.run(store=f"sqlite:///{db}", clock=lambda: now[0], stubs=stubs) as bot:
            for day, conversations in DAYS.items():
                start = dt.datetime.combine(
                    dt.date.fromisoformat(day), dt.time(10), ZoneInfo("Asia/Seoul")
                )
                now[0] = start.timestamp()
                for channel, user, texts in conversations:
                    for text in texts:
                        await bot.handle(channel, user, text)
                        now[0] += 10

    asyncio.run(run())


def report(db: Path, *args: str) -> str:
    command = ["report", "--store", f"sqlite:///{db}", "--bot", str(REPO / "flows"), *args]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    return result.output


def data_points(page: Any, series: str) -> list[dict[str, str]]:
    """The data attributes of every element of one series, in document order."""
    points: list[dict[str, str]] = page.eval_on_selector_all(
        f'[data-series="{series}"]', "els => els.map(e => ({...e.dataset, tag: e.tagName}))"
    )
    return points


def test_html_report_charts_carry_the_json_numbers(tmp_path: Path) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    db, page_file = tmp_path / "bot.db", tmp_path / "report.html"
    talk(db)
    as_json = json.loads(report(db, "--format", "json", "--by", "day"))
    assert list(as_json["groups"]) == list(DAYS)
    assert report(db, "--format", "html", "--out", str(page_file)) == ""
    text = page_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text
    assert "http" not in text  # no resource from anywhere: not even a namespace URL
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", text)
    check_in_browser(page_file, as_json, tmp_path)


def check_in_browser(page_file: Path, as_json: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            check_charts(page, as_json)
            screenshot = (
                REPO / "docs" / "report.png"
                if os.environ.get("BOTKIT_UPDATE_SCREENSHOT") == "1"
                else tmp_path / "report.png"
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert requests == [page_file.as_uri()]  # the page itself, nothing else
    assert screenshot.stat().st_size > 10_000


def check_charts(page: Any, as_json: dict[str, Any]) -> None:
    funnel = {f["flow"]: f for f in as_json["funnels"]}["order_status"]
    reached = data_points(page, "funnel:order_status")
    assert [p["tag"] for p in reached] == ["rect"] * len(funnel["states"])
    assert [(p["label"], int(p["value"])) for p in reached] == [
        (s["state"], s["reached"]) for s in funnel["states"]
    ]
    dropped = data_points(page, "dropoff:order_status")
    assert [int(p["value"]) for p in dropped] == [s["dropped"] for s in funnel["states"]]
    ranking = data_points(page, "dropoff")
    assert ranking, "some conversations were lost"
    assert [int(p["value"]) for p in ranking] == sorted(
        (int(p["value"]) for p in ranking), reverse=True
    )

    days = as_json["groups"]
    per_day = data_points(page, "daily:conversations")
    assert [(p["label"], int(p["value"])) for p in per_day] == [
        (d, g["conversations"]) for d, g in days.items()
    ]
    completion = data_points(page, "daily:completion_rate")
    assert [p["tag"] for p in completion] == ["circle"] * len(days)
    assert [float(p["value"]) for p in completion] == [g["completion_rate"] for g in days.values()]

    experiment = as_json["experiments"]["refund_copy"]
    bars = data_points(page, "ab:refund_copy")
    intervals = data_points(page, "ab-interval:refund_copy")
    assert (
        [p["label"] for p in bars] == [v["variant"] for v in experiment["variants"]] == ["A", "B"]
    )
    for bar, interval, variant in zip(bars, intervals, experiment["variants"], strict=True):
        assert float(bar["value"]) == variant["rate"]
        assert int(bar["users"]) == variant["users"]
        assert [float(interval["low"]), float(interval["high"])] == variant["interval"]
    notes = page.inner_text("#ab-refund_copy")
    assert "p = " in notes
    assert "warning:" in notes  # a handful of users: far too few for the designed effect

    handoff = data_points(page, "handoff")
    assert {p["label"]: float(p["value"]) for p in handoff} == as_json["handoff_by_cause"]

    figures = page.eval_on_selector_all(
        "figure",
        """els => els.map(f => ({
            caption: f.querySelector(':scope > figcaption')?.textContent ?? '',
            title: f.querySelector('svg > title')?.textContent ?? '',
            labelled: f.querySelector('svg')?.getAttribute('aria-labelledby') ?? '',
        }))""",
    )
    assert len(figures) >= 5  # daily, a funnel per used flow, ranking, A/B, handoffs
    for figure in figures:
        assert figure["caption"]
        assert figure["title"] == figure["caption"]
        assert figure["labelled"]


def test_every_text_is_escaped() -> None:
    metrics = Metrics(
        conversations=1,
        completion_rate=None,
        containment_rate=1.0,
        handoff_rate=1.0,
        handoff_by_reason={"<script>alert(1)</script>": 1.0},
        handoff_by_cause={"<script>alert(1)</script>": 1.0},
        fallback_rate=None,
        turns_median=1.0,
        turns_p90=1.0,
        duration_median_s=0.0,
        duration_p90_s=0.0,
        slot_failure_rate={},
        goal_conversion={'"onload="x': 1.0},
        funnels=[],
    )
    page = to_html(metrics, title="<b>bot</b> & co", period="<i>")
    assert "<script>" not in page
    assert "<b>bot" not in page
    assert "&lt;b&gt;bot&lt;/b&gt; &amp; co" in page
    assert '"onload="x' not in page
    assert "<i>" not in page
