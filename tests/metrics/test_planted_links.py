"""Planted link clicks (issue 18, acceptance 3): on 10,000 synthetic users whose true
click-through is known per link, each link's click-through lies within its 95% interval of the
planted probability, and its shown, clicked and clicks counts equal a brute-force recount of the
raw records written here, apart from the code under test.

The users talk to the reference bot (flows/), whose records are written directly, as in
test_planted_marketing.py; the screens with links are the bot's own, rendered as the engine
renders them: the winter sale's offer (``promotion.offer``: 패딩 점퍼's page and 전체 보기, the
sale) and the FAQ (``faq.start``: 교환은 어떻게 하나요?). The offer is shown only while the sale
runs, so every conversation is in December: each user has 1–3 conversations 1–6 days apart, the
first between 1 and 19 December. In each, the offer is shown with probability 60% and the FAQ
with 50% (the FAQ when neither), and a screen is shown a second time with probability 25% (the
user asks again). A conversation that was shown a link opens it with its planted probability,
however often it saw it: the sale 35%, the jacket 20%, the exchange guide 8%; one that opens it
opens it again with probability 30% (and a third time 10%): one click-through, several clicks.
The images on the offer screen have URLs too, but no user opens them through botkit: they are
never counted.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import botkit
from botkit.effects import is_plain, say_to_data
from botkit.engine.render import render
from botkit.engine.session import Session
from botkit.metrics.ab import proportion_interval
from botkit.metrics.conversion import Share
from botkit.metrics.engagement import LinkClickThrough, engagement
from botkit.metrics.periods import load_metrics
from botkit.records import Record
from botkit.storage import MemoryStore
from tests.metrics.test_planted_marketing import check

REFERENCE = botkit.load(Path(__file__).parents[2] / "flows").bot
SEOUL = ZoneInfo("Asia/Seoul")
HOUR, DAY = 3600.0, 86_400.0
USERS, SEED = 10_000, 18

SALE = "https://shop.example.com/sale"
JACKET = "https://shop.example.com/items/padding"
EXCHANGE = "https://shop.example.com/help/exchange"
OPENS = {SALE: 0.35, JACKET: 0.20, EXCHANGE: 0.08}  # planted: per conversation shown the link

SALE_STARTS = dt.datetime(2026, 12, 1, tzinfo=SEOUL).timestamp()
SALE_ENDS = dt.datetime(2027, 1, 1, tzinfo=SEOUL).timestamp()  # the report's period too


@dataclass(frozen=True)
class Screen:
    """A state with links, what the user says to get there, and what the bot shows there."""

    state: str
    asked: str
    texts: list[str]
    says: list[dict[str, Any] | None]
    links: tuple[str, ...]  # what the user can open on it (the planted truth's keys)


def screen(state: str, asked: str, links: tuple[str, ...]) -> Screen:
    flow, _, name = state.partition(".")
    bubbles = [render(m, "ko", {}, {}) for m in REFERENCE.flows[flow].states[name].say]
    says = [None if is_plain(b) else say_to_data(b) for b in bubbles]
    return Screen(state, asked, [b.text or "" for b in bubbles], says, links)


OFFER = screen("promotion.offer", "이벤트 있어요?", (JACKET, SALE))
FAQ = screen("faq.start", "자주 묻는 질문", (EXCHANGE,))


# ---- the planted traffic -----------------------------------------------------------------------


@dataclass
class Ledger:
    """What the planting did, per link: conversations shown it, those that opened it, clicks."""

    shown: Counter[str] = field(default_factory=Counter)
    clicked: Counter[str] = field(default_factory=Counter)
    clicks: Counter[str] = field(default_factory=Counter)


@dataclass
class Traffic:
    sessions: dict[str, list[Record]] = field(default_factory=dict)  # session → its records
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def records(self) -> list[Record]:
        return [r for rows in self.sessions.values() for r in rows]


def plant(seed: int) -> Traffic:
    rng = random.Random(seed)
    out = Traffic()
    for i in range(USERS):
        user = f"u{i:05d}"
        channel = "kakao" if rng.random() < 0.6 else "web"
        session = f"{channel}:{user}"
        rows = out.sessions[session] = []
        # At most two gaps of 6 days + 2 h after 19 December, 20:00: still in December.
        start = SALE_STARTS + rng.randrange(19) * DAY + rng.uniform(9 * HOUR, 20 * HOUR)
        for number in range(1, 2 + (rng.random() < 0.4) + (rng.random() < 0.2)):
            screens = [s for s, p in ((OFFER, 0.6), (FAQ, 0.5)) if rng.random() < p] or [FAQ]
            shown = [s for s in screens for _ in range(1 + (rng.random() < 0.25))]
            rng.shuffle(shown)
            opened: list[tuple[str, int]] = []  # (link, times)
            for link in dict.fromkeys(x for s in shown for x in s.links):
                out.ledger.shown[link] += 1
                if rng.random() < OPENS[link]:
                    times = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
                    opened.append((link, times))
                    out.ledger.clicked[link] += 1
                    out.ledger.clicks[link] += times
            rows += conversation(session, user, channel, number, start, shown, opened, len(rows))
            start += rng.randint(1, 6) * DAY + rng.uniform(-2 * HOUR, 2 * HOUR)
    return out


def conversation(
    session: str,
    user: str,
    channel: str,
    number: int,
    start: float,
    shown: list[Screen],
    opened: list[tuple[str, int]],
    seq: int,
) -> list[Record]:
    """The records the engine writes for one conversation (kinds and data as botkit.records
    says): the greeting, each screen in turn, then the clicks on the links it showed, each a
    minute apart after the screens, and the silence that ended it at its last activity."""
    out: list[Record] = []
    at, turn, here = start, 0, "main.start"

    def add(kind: str, where: str, **data: Any) -> None:  # where: the flow it happened in
        out.append(
            Record(kind, session, number, seq + len(out) + 1, turn, at, REFERENCE.id, where,
                   "v1", "", user, channel, data)
        )  # fmt: skip

    add("conversation_start", "main", flow="main", segment={}, locale="ko")
    add("message_in", "main", text="안녕하세요", payload=None)
    add("transition", "main", **{"from": None, "to": here, "trigger": "start"})
    add("message_out", "main", texts=["안녕하세요! 무엇을 도와드릴까요?"])
    for s in shown:
        at, turn = at + 20, turn + 1
        flow = s.state.partition(".")[0]
        add("message_in", flow, text=s.asked, payload=None)
        if s.state != here:
            add("transition", flow, **{"from": here, "to": s.state, "trigger": "intent"})
            here = s.state
            if s is OFFER:  # entered while the sale runs
                add("promotion", flow, promotion="winter_sale")
        add("message_out", flow, texts=s.texts, says=s.says)
    last_activity = at
    for link, times in opened:
        for _ in range(times):
            at += 60
            add("link_clicked", here.partition(".")[0], url=link, state=here)
    at = last_activity  # a click is no activity: the conversation ended at the last screen
    add("conversation_end", here.partition(".")[0], outcome="abandoned")
    return out


# ---- the brute-force recount, from the raw records ---------------------------------------------


def openable(value: Any, within: str = "") -> Iterator[str]:
    """Every URL a user can open in a ``says`` entry: a button of kind ``url`` anywhere in it,
    or a list item's ``url``; never an image's, nor one with a template still in it."""
    if isinstance(value, list):
        for v in value:
            yield from openable(v, within)
    elif isinstance(value, dict):
        url = None
        if value.get("kind") == "url":
            url = value.get("value")
        elif within == "items":
            url = value.get("url")
        if isinstance(url, str) and url.startswith("http") and "{{" not in url:
            yield url
        for key, v in value.items():
            if key != "image":
                yield from openable(v, key)


@dataclass
class Recount:
    showings: Counter[str] = field(default_factory=Counter)  # messages that showed the link
    shown: Counter[str] = field(default_factory=Counter)
    clicked: Counter[str] = field(default_factory=Counter)
    clicks: Counter[str] = field(default_factory=Counter)


def recount(records: Iterable[Record]) -> Recount:
    showed: dict[tuple[str, int], set[str]] = defaultdict(set)
    opened: dict[tuple[str, int], set[str]] = defaultdict(set)
    out = Recount()
    for r in records:
        key = (r.session, r.conversation)
        if r.kind == "message_out":
            links = set(openable((r.data or {}).get("says") or []))
            out.showings.update(links)
            showed[key].update(links)
        elif r.kind == "link_clicked":
            opened[key].add((r.data or {})["url"])
            out.clicks[(r.data or {})["url"]] += 1
    for key, links in showed.items():
        out.shown.update(links)
        out.clicked.update(links & opened[key])
    return out


# ---- the figure --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return plant(SEED)


def assert_planted(links: list[LinkClickThrough], traffic: Traffic) -> None:
    """Counts equal the recount, and each rate holds its planted probability in its 95%
    interval at this seed (and no more of them miss than chance allows at any seed)."""
    truth = recount(traffic.records)
    assert (truth.shown, truth.clicked, truth.clicks) == (
        traffic.ledger.shown,
        traffic.ledger.clicked,
        traffic.ledger.clicks,
    )  # the recount reads the records as the planting wrote them
    assert sorted(x.url for x in links) == sorted(OPENS)  # the images are never listed
    assert [x.shown for x in links] == sorted((x.shown for x in links), reverse=True)
    cases: list[tuple[str, Share, float]] = []
    for x in links:
        assert (x.shown, x.clicked, x.clicks) == (
            truth.shown[x.url],
            truth.clicked[x.url],
            truth.clicks[x.url],
        ), x.url
        assert truth.showings[x.url] > x.shown  # some saw it twice, and count once
        assert x.clicks > x.clicked  # some opened it more than once
        interval = proportion_interval(x.clicked, x.shown)
        assert (x.rate.low, x.rate.high) == interval
        share = Share(x.clicked, x.shown, x.rate.value, interval)
        cases.append((x.url, share, OPENS[x.url]))
    check(cases)
    misses = [(url, share.rate, p, z(share, p)) for url, share, p in cases if not inside(share, p)]
    assert not misses, f"seed {SEED}: a link's 95% interval misses its planted probability"


def inside(share: Share, truth: float) -> bool:
    low, high = share.interval or (math.nan, math.nan)
    return low <= truth <= high


def z(share: Share, truth: float) -> float:
    """How many standard errors the measured rate lies from the planted probability."""
    return ((share.rate or 0.0) - truth) / math.sqrt(truth * (1 - truth) / share.of)


def test_link_click_through_from_the_records(traffic: Traffic) -> None:
    assert all(SALE_STARTS <= r.at < SALE_ENDS for r in traffic.records)  # the offer's dates
    figures = engagement(traffic.records, REFERENCE.timezone)
    assert_planted(figures.links, traffic)


async def test_link_click_through_in_the_report(traffic: Traffic) -> None:
    store = MemoryStore()
    await store.open()
    for session, rows in traffic.sessions.items():
        user = rows[0].user
        await store.commit(
            Session(key=session, user=user, channel=rows[0].channel), rows, expected_version=0
        )
    metrics = await load_metrics(
        store, REFERENCE, since=SALE_STARTS, until=SALE_ENDS, now=SALE_ENDS + 7 * DAY
    )
    assert metrics.engagement is not None
    assert_planted(metrics.engagement.links, traffic)
