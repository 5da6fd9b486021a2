"""Table, CSV, JSON and HTML carry the same figures, every --by group's money included.

The CSV is the list of figures read off the JSON (botkit/metrics/figures.py); the terminal table
and the page's figures table show that list. Here each format is read back as a reader would
(the CSV with csv, the JSON with json, the page with an HTML parser, the table by its rows) and
compared with the others, figure by figure, on conversations of the reference bot with
purchases and refunds attributed to them.
"""

from __future__ import annotations

import csv
import io
import json
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

import botkit
from botkit.effects import Call
from botkit.events import ActionResult, UserMessage
from botkit.metrics.compute import Metrics, conversations_of, measure
from botkit.metrics.figures import figures, label as figure_label, sections, shown
from botkit.metrics.render import render
from botkit.records import BusinessEvent, Record

REPO = Path(__file__).resolve().parents[2]
APP = botkit.load(REPO / "flows")
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ"}}
WEDNESDAY_10AM = 1_795_568_400.0  # 2026-11-25 10:00 KST, inside the reference bot's hours
SAYS = ["안녕하세요", "배송 조회", "1234-567-890", "처음으로", "환불", "이벤트", "쿠폰 받기", "음"]


def shop_day(seed: int, users: int) -> tuple[list[Record], list[BusinessEvent]]:
    """Users talking to the reference bot, some of whom buy afterwards and some of whom get
    part of their money back."""
    rng = random.Random(seed)
    engine = APP.engine
    records: list[Record] = []
    events: list[BusinessEvent] = []
    for u in range(users):
        at = WEDNESDAY_10AM + (u % 3) * 86_400 + u * 90  # three days of traffic
        session = engine.new_session(f"kakao:u{u}", f"u{u}", "kakao" if u % 3 else "web")
        for _ in range(rng.randint(1, 5)):
            at += rng.choice([5, 20, 60])
            turn = engine.handle(session, UserMessage(rng.choice(SAYS), at))
            records += turn.records
            if turn.effects and isinstance(turn.effects[-1], Call):
                records += engine.handle(session, ActionResult("lookup_order", "ok", at)).records
        if rng.random() < 0.4:
            amount = float(rng.choice([19_000, 39_000, 52_000]))
            events.append(BusinessEvent(f"p{u}", "purchase", f"u{u}", at + 600, amount))
            if rng.random() < 0.3:
                events.append(BusinessEvent(f"r{u}", "refund", f"u{u}", at + 7200, amount / 2))
    return records, events


@pytest.fixture(scope="module", params=["variant", "channel", "day"])
def metrics(request: pytest.FixtureRequest) -> Metrics:
    records, events = shop_day(7, 120)
    return measure(APP.bot, conversations_of(records), by=request.param, events=events)


def test_the_csv_is_every_figure_of_the_json(metrics: Metrics) -> None:
    from_json = {
        (f.group, f.name): "" if f.value is None else str(f.value)
        for f in figures(json.loads(render(metrics, "json")))
    }
    rows = list(csv.reader(io.StringIO(render(metrics, "csv"))))
    assert rows[0] == ["group", "metric", "value"]
    from_csv = {(group, name): value for group, name, value in rows[1:]}
    assert len(from_csv) == len(rows) - 1  # no figure twice
    assert from_csv == from_json


class _FigureCells(HTMLParser):
    """The cells of the page's figures table: (group, figure) → (data-value, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self._open: tuple[str, str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "td" and "data-figure" in found:
            self._open = (
                found["data-group"] or "",
                found["data-figure"] or "",
                found["data-value"] or "",
            )
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._open is not None:
            group, name, value = self._open
            self.cells[(group, name)] = (value, "".join(self._text))
            self._open = None


def test_the_page_shows_every_figure_of_the_csv_with_its_value(metrics: Metrics) -> None:
    page = _FigureCells()
    page.feed(render(metrics, "html"))
    rows = list(csv.reader(io.StringIO(render(metrics, "csv"))))[1:]
    assert len(page.cells) == len(rows)
    for group, name, value in rows:
        shown_value, text = page.cells[(group, name)]
        assert shown_value == value, (group, name)
        expected = shown(name, None if value == "" else _number(value))
        assert text == expected, (group, name)


def test_the_terminal_table_shows_every_figure_of_the_csv(metrics: Metrics) -> None:
    table = render(metrics, "table")
    rows: list[list[str]] = []
    for line in table.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:  # a long text (a warning) wrapped onto the next line
            rows[-1] = [a + b for a, b in zip(rows[-1], cells, strict=True)]
    shown_rows: dict[str, list[str]] = {}
    for cells in rows:
        shown_rows.setdefault(cells[0], []).append("│".join(c.replace(" ", "") for c in cells[1:]))
    parts = sections(metrics.to_json())
    checked = 0
    for section, (names, groups, by) in parts.items():
        for name in names:
            label = figure_label(section, name)
            expected = "│".join(
                shown(name, by[(g, name)].value).replace(" ", "") if (g, name) in by else "—"
                for g in groups
            )
            assert expected in shown_rows.get(label, []), (section, name)
            checked += 1
    assert checked == len({f.name for f in figures(metrics.to_json())})


def test_every_group_carries_its_money(metrics: Metrics) -> None:
    """Fault 11 of issue 18: --by groups had no business, revenue or promotion figures."""
    all_figures = figures(metrics.to_json())
    groups = set(metrics.groups)
    assert len(groups) >= 2
    with_revenue = {f.group for f in all_figures if f.name.endswith("revenue") and f.value}
    assert groups <= with_revenue
    revenue = {
        f.group: f.value for f in all_figures if f.name == "money:revenue" and f.value is not None
    }
    assert set(revenue) == {"all", *groups}
    # The groups of one cut share out the whole's money, none of it twice: a channel's or a
    # day's groups split it; by variant, each experiment's variants split what was credited
    # to conversations in that experiment.
    cuts: dict[str, float] = {}
    for group, value in revenue.items():
        if group != "all":
            cut = group.partition(":")[0] if ":" in group else "one cut"
            cuts[cut] = cuts.get(cut, 0.0) + float(value)
    for cut, total in cuts.items():
        assert total <= float(revenue["all"]) + 1e-6, cut
    # And none of it is lost: the days split the whole's money (a purchase belongs to the day it
    # happened), the channels split the money credited to conversations.
    whole = {f.name: f.value for f in all_figures if f.group == "all"}
    if set(groups) <= {"kakao", "web"}:
        assert cuts["one cut"] == pytest.approx(float(whole["money:attributed_revenue"] or 0))
    elif all(len(g) == 10 and g[4] == "-" for g in groups):  # days
        assert cuts["one cut"] == pytest.approx(float(revenue["all"]))


def _number(text: str) -> float | int | str | bool:
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
