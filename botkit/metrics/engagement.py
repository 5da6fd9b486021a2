"""Engagement: do users open the links the bot shows, answer what it says, and keep coming?

Three figures, from records alone (:class:`~botkit.records.Record` or the reports' lighter
:class:`~botkit.records.ReportRow`), each with its definition here:

* **link click-through**, per link: of the conversations in which the bot showed the link (a
  ``message_out`` whose ``says`` holds it: a ``url`` button on a bubble, a card or a list, or a
  list item's ``url``), the share with a ``link_clicked`` record for it; with its Wilson 95%
  interval. Clicks are recorded only when the server signs its links (``link_secret``;
  ``server/links.py``); a link with a template in its URL is never tracked and not listed.
* **response rate**: of the bot's turns, the share the user answered. A *bot turn* is what the
  bot says between two messages of the user in one conversation (one or more ``message_out``
  records: an action's answer or an agent's hand-back are part of the turn before them). It is
  *answered* when the user writes again (a ``message_in`` with text or a pressed choice; the
  widget's empty opening message is not one) in the same conversation. A turn in which the
  conversation ended (the bot's goodbye, an agent closing it, an operator's reset) expects no
  answer and is not counted; one followed only by the silence that ends a conversation
  (outcome ``abandoned``) is counted, as unanswered. Given ``still_open_after``, an
  unanswered turn from then on is not counted either: the user may still answer. Opening a
  link is not an answer.
* **conversations per day**: ``conversation_start`` records by their day in the bot's time
  zone, every day of the period listed (zeros included); the trend is the least-squares slope
  in conversations per day, and the last 7 days against the 7 before (their totals and the
  change, ``(last − before) ÷ before``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from botkit.metrics.ab import proportion_interval
from botkit.records import Record, RecordKind, ReportRow

__all__ = [
    "DailyConversations",
    "Engagement",
    "LinkClickThrough",
    "Rate",
    "ResponseRate",
    "click_through",
    "conversations_per_day",
    "engagement",
    "engagement_of",
    "response_rate",
]

Row = Record | ReportRow

# Plain strings, bound once: compared for every record (see metrics/fold.py on why).
_START = RecordKind.CONVERSATION_START.value
_END = RecordKind.CONVERSATION_END.value
_IN = RecordKind.MESSAGE_IN.value
_OUT = RecordKind.MESSAGE_OUT.value
_CLICKED = RecordKind.LINK_CLICKED.value
_READ = frozenset({_END, _IN, _OUT, _CLICKED})  # what the per-conversation figures read
_SILENCE = "abandoned"  # the outcome of a conversation the user stopped answering
TREND_DAYS = 7


@dataclass(frozen=True, slots=True)
class Rate:
    """``part`` of ``whole``, with its Wilson 95% interval; ``value`` and the interval are None
    when ``whole`` is 0 (nothing to measure is not 0%)."""

    part: int
    whole: int
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, part: int, whole: int) -> Rate:
        if not whole:
            return cls(part, whole, None, None, None)
        low, high = proportion_interval(part, whole)
        return cls(part, whole, part / whole, low, high)

    def to_json(self) -> dict[str, Any]:
        # The JSON shape of every share in a report (conversion.Share): figures.py names the
        # interval's ends after the interval, so the table shows them as percentages too.
        interval = None if self.low is None or self.high is None else [self.low, self.high]
        return {"count": self.part, "of": self.whole, "rate": self.value, "interval": interval}


@dataclass(frozen=True, slots=True)
class LinkClickThrough:
    """One link: ``rate`` = conversations that clicked it ÷ conversations that showed it;
    ``clicks`` counts every recorded click (a user may open it twice)."""

    url: str
    rate: Rate
    clicks: int

    @property
    def shown(self) -> int:
        return self.rate.whole

    @property
    def clicked(self) -> int:
        return self.rate.part


@dataclass(frozen=True, slots=True)
class ResponseRate:
    """Bot turns answered ÷ bot turns counted, overall and by the flow the turn ended in."""

    overall: Rate
    by_flow: dict[str, Rate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DailyConversations:
    """Conversations started each day (in ``zone``) and their trend."""

    zone: str
    days: tuple[tuple[dt.date, int], ...]
    slope_per_day: float | None  # None with fewer than two days
    last_7: int | None  # None with fewer than 14 days
    previous_7: int | None
    change: float | None  # (last_7 − previous_7) ÷ previous_7; None when previous_7 is 0

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)


@dataclass(frozen=True, slots=True)
class Engagement:
    """The three engagement figures of a period (what reports show)."""

    links: list[LinkClickThrough]
    responses: ResponseRate
    daily: DailyConversations

    def to_json(self) -> dict[str, Any]:
        d = self.daily
        return {
            "links": [{"url": x.url, **x.rate.to_json(), "clicks": x.clicks} for x in self.links],
            "response_rate": {
                **self.responses.overall.to_json(),
                "by_flow": {f: r.to_json() for f, r in self.responses.by_flow.items()},
            },
            "conversations_per_day": {
                "zone": d.zone,
                "days": [{"date": day.isoformat(), "conversations": n} for day, n in d.days],
                "slope_per_day": d.slope_per_day,
                "last_7": d.last_7,
                "previous_7": d.previous_7,
                "change": d.change,
            },
        }


def engagement(
    records: Iterable[Row],
    zone: str,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    still_open_after: float | None = None,
) -> Engagement:
    """All three figures in one pass over ``records`` (any order). ``zone``: the bot's time
    zone (a ZoneInfo name, e.g. ``Asia/Seoul``); ``first``/``last``: the period's days (by
    default the first and last day a conversation started); ``still_open_after``: see
    :func:`response_rate`."""
    starts: list[Row] = []
    tally = _tally(_conversations(records, starts), still_open_after)
    return Engagement(
        tally.links(),
        tally.responses(),
        conversations_per_day(starts, zone, first=first, last=last),
    )


def engagement_of(
    conversations: Sequence[Sequence[Row]],
    zone: str,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    still_open_after: float | None = None,
) -> Engagement:
    """:func:`engagement` of records already grouped by conversation, each in the order they
    happened (``fold.by_conversation``: a report groups its records once)."""
    starts = [rows[0] for rows in conversations if rows and rows[0].kind == _START]
    tally = _tally(conversations, still_open_after)
    return Engagement(
        tally.links(),
        tally.responses(),
        conversations_per_day(starts, zone, first=first, last=last),
    )


# -- link click-through ------------------------------------------------------------------------


def click_through(records: Iterable[Row]) -> list[LinkClickThrough]:
    """Per link the bot showed: its click-through, most shown first."""
    return _tally(_conversations(records), None).links()


def shown_links(say: dict[str, Any]) -> Iterator[str]:
    """The links a bubble (as ``effects.say_to_data`` records it) shows: its ``url`` buttons,
    its cards', and its list items' URLs; not those with a template in them (never tracked)."""
    cards = [say["card"]] if isinstance(say.get("card"), dict) else []
    cards += [c for c in say.get("cards") or () if isinstance(c, dict)]
    for buttons in (say.get("buttons"), *(c.get("buttons") for c in cards)):
        for button in buttons or ():
            if isinstance(button, dict) and button.get("kind") == "url":
                yield from _tracked(button.get("value"))
    for item in say.get("items") or ():
        if isinstance(item, dict):
            yield from _tracked(item.get("url"))


def _tracked(url: Any) -> Iterator[str]:
    web = isinstance(url, str) and url.lower().startswith(("https://", "http://"))
    if web and "{{" not in url:
        yield url


# -- response rate -----------------------------------------------------------------------------


def response_rate(
    records: Iterable[Row], *, still_open_after: float | None = None
) -> ResponseRate:
    """The share of the bot's turns the user answered (the module's docstring defines it).
    ``still_open_after``: a time (seconds since the epoch), usually the period's end less the
    bot's inactivity timeout; an unanswered turn at or after it is not counted."""
    return _tally(_conversations(records), still_open_after).responses()


@dataclass(slots=True)
class _Tally:
    """Link click-through and response rate, counted in one pass over each conversation."""

    shown: Counter[str] = field(default_factory=Counter)  # link → conversations that showed it
    clicked: Counter[str] = field(default_factory=Counter)  # … and of those, opened it
    clicks: Counter[str] = field(default_factory=Counter)  # link → every opening
    counted: Counter[str] = field(default_factory=Counter)  # flow → bot turns counted
    answered: Counter[str] = field(default_factory=Counter)  # flow → … that the user answered

    def links(self) -> list[LinkClickThrough]:
        out = [
            LinkClickThrough(url, Rate.of(self.clicked[url], n), self.clicks[url])
            for url, n in self.shown.items()
        ]
        return sorted(out, key=lambda x: (-x.shown, x.url))

    def responses(self) -> ResponseRate:
        answered, counted = self.answered, self.counted
        by_flow = {flow: Rate.of(answered[flow], counted[flow]) for flow in sorted(counted)}
        return ResponseRate(Rate.of(sum(answered.values()), sum(counted.values())), by_flow)


def _tally(conversations: Iterable[Sequence[Row]], still_open_after: float | None) -> _Tally:
    """Each conversation's records once, in order. A bot turn is what the bot said between two
    messages of the user (its last ``message_out`` stands for it); it is answered when the user
    writes next, not counted when the conversation ended in it (not by the user's silence), and
    a trailing unanswered one at or after ``still_open_after`` may yet be answered."""
    tally = _Tally()
    for rows in conversations:
        seen: set[str] = set()
        opened: set[str] = set()
        turn: Row | None = None  # the bot turn's last message_out, while it waits for the user
        ended = False  # the conversation ended in the turn
        for r in rows:
            kind = r.kind
            if kind == _OUT:
                turn = r
                if r.data is not None:  # a store blanks the bubbles that show no link
                    for say in r.data.get("says") or ():
                        if isinstance(say, dict):
                            seen.update(shown_links(say))
            elif kind == _IN:
                if _wrote(r):
                    if turn is not None and not ended:
                        tally.counted[turn.flow] += 1
                        tally.answered[turn.flow] += 1
                    turn, ended = None, False
            elif kind == _END:
                if (r.data or {}).get("outcome") != _SILENCE:
                    ended = True
            elif kind == _CLICKED:
                url = (r.data or {}).get("url")
                if isinstance(url, str):
                    tally.clicks[url] += 1
                    opened.add(url)
        if turn is not None and not ended:
            recent = still_open_after is not None and turn.at >= still_open_after
            if not recent:  # a recent one may yet be answered
                tally.counted[turn.flow] += 1
        if seen:
            tally.shown.update(seen)
            tally.clicked.update(seen & opened)
    return tally


def _wrote(r: Row) -> bool:
    if r.data is None:  # a store's report row: the words are not read (storage REPORT_BLANKS),
        return True  # and the widget's empty opening comes before the bot says anything
    return bool(r.data.get("text") or r.data.get("payload"))


# -- conversations per day ---------------------------------------------------------------------


def conversations_per_day(
    records: Iterable[Row],
    zone: str,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> DailyConversations:
    """Conversations started per day in ``zone`` from ``first`` to ``last`` (by default the
    first and the last day one started), with the trend."""
    tz = ZoneInfo(zone)
    started: dict[tuple[str, int], float] = {}
    for r in records:
        if r.kind == _START and r.conversation:
            started.setdefault((r.session, r.conversation), r.at)
    per_day = Counter(dt.datetime.fromtimestamp(at, tz).date() for at in started.values())
    if first is None:
        first = min(per_day, default=last)
    if last is None:
        last = max(per_day, default=first)
    if first is None or last is None or last < first:
        return DailyConversations(zone, (), None, None, None, None)
    days = tuple(
        (day, per_day[day])
        for day in (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    )
    counts = [n for _, n in days]
    slope = None
    if len(counts) >= 2:
        slope = statistics.linear_regression(range(len(counts)), counts).slope
    last_7 = previous_7 = None
    change = None
    if len(counts) >= 2 * TREND_DAYS:
        last_7 = sum(counts[-TREND_DAYS:])
        previous_7 = sum(counts[-2 * TREND_DAYS : -TREND_DAYS])
        change = (last_7 - previous_7) / previous_7 if previous_7 else None
    return DailyConversations(zone, days, slope, last_7, previous_7, change)


# -- helpers -----------------------------------------------------------------------------------


def _conversations(records: Iterable[Row], starts: list[Row] | None = None) -> list[list[Row]]:
    """The records the per-conversation figures read, by conversation, in the order they
    happened; the ``conversation_start`` records go to ``starts`` when it is given."""
    grouped: dict[tuple[str, int], list[Row]] = {}
    for r in records:
        kind = r.kind
        if kind in _READ:
            if r.conversation:
                grouped.setdefault((r.session, r.conversation), []).append(r)
        elif kind == _START and starts is not None:
            starts.append(r)
    return [sorted(rows, key=_seq) for rows in grouped.values()]


def _seq(r: Row) -> int:
    return r.seq
