"""Reading a campaign's ``trigger:`` line: when someone becomes a candidate for it.

The language, one line, case-sensitive keywords::

    trigger := EVENT                          cart_added
             | N UNIT 'after' EVENT           1 hour after cart_added, 3d after channel_added
             | 'entering segment' NAME        entering segment vip_dormant
             | 'at' DATE TIME                 at 2026-12-10 10:00
             | 'every' DAYS 'at' TIME         every day at 10:00, every mon,thu at 19:30
    UNIT    := minute(s) | hour(s) | day(s) | week(s) | m | h | d | w    (glued or spaced: 1h, 1 h)
    DAYS    := 'day' | DAY (',' DAY)*         DAY := mon .. sun, or a range: mon-fri
    DATE    := YYYY-MM-DD                     TIME := HH:MM, 24-hour

Whether the event kind and the segment exist is the compiler's concern (it knows the bot);
this module knows only the language, and says where in the line each name is, so a problem
about it points at the name. Nothing is ever handed to ``eval``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# The module, not its names: botkit.campaigns.model imports botkit.flow (messages, targets),
# which imports this module, so when the campaigns are imported first their model is still
# empty here; its names are read only once a trigger is parsed.
from botkit.campaigns import model as campaign
from botkit.errors import ExpressionError

__all__ = ["EXAMPLES", "ParsedTrigger", "TriggerSyntaxError", "parse_trigger"]

EXAMPLES = (
    "triggers look like: cart_added, 1 hour after cart_added, 3 days after channel_added, "
    "entering segment vip_dormant, at 2026-12-10 10:00, every day at 10:00, "
    "every mon,thu at 19:30"
)
_TOKEN = re.compile(
    r"\s*(?:(?P<date>\d{4}-\d{2}-\d{2})|(?P<time>\d{1,2}:\d{2})|(?P<number>\d+)"
    r"|(?P<word>[^\W\d]\w*)|(?P<mark>\S))"
)
_UNITS = {
    **dict.fromkeys(("m", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400.0),
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"[a-z][a-z0-9_]*")
_EVENT = "an event kind, e.g. cart_added"
_TIME = "a time HH:MM (24-hour), e.g. 10:00"


@dataclass(frozen=True, slots=True)
class TriggerSyntaxError(ExpressionError):
    """A ``trigger:`` that cannot be read, ``offset`` characters into it, ``length`` long."""

    message: str
    offset: int
    length: int = 1
    expected: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedTrigger:
    """The trigger, and where the name it uses (an event kind or a segment) is in the line."""

    trigger: campaign.Trigger
    name_offset: int = 0


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # date, time, number, word, mark
    text: str
    offset: int


def parse_trigger(text: str) -> ParsedTrigger:
    """The trigger ``text`` says; :class:`TriggerSyntaxError` when it cannot be read."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [
            _Token(kind, m.group(kind), m.start(kind))
            for m in _TOKEN.finditer(text)
            if (kind := m.lastgroup) is not None
        ]
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str, after: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            end = len(self.text.rstrip())
            what = f"the trigger ends after {after}" if after else "the trigger is empty"
            raise TriggerSyntaxError(what, end, 1, expected)
        self.i += 1
        return token

    def word(self, word: str, after: str) -> None:
        token = self.take(f"'{word}'", after)
        if token.text != word:
            raise TriggerSyntaxError(
                f"'{word}' must follow {after}, not '{token.text}'",
                token.offset,
                len(token.text),
                f"'{word}'",
            )

    def end(self, after: str) -> None:
        token = self.peek()
        if token is not None:
            raise TriggerSyntaxError(
                f"the trigger should end after {after}, but '{token.text}' follows",
                token.offset,
                len(self.text.rstrip()) - token.offset,
                "nothing more",
            )

    def parse(self) -> ParsedTrigger:
        first = self.take("a trigger")
        if first.kind == "number":
            return self.delayed(first)
        if first.text == "entering":
            self.word("segment", "'entering'")
            name = self.name("a segment name, e.g. vip_dormant", "'entering segment'")
            self.end(f"the segment '{name.text}'")
            trigger = campaign.Trigger("segment", self.text, segment=name.text)
            return ParsedTrigger(trigger, name.offset)
        if first.text == "at":
            return self.once()
        if first.text == "every":
            return self.every()
        if first.kind == "word" and _ID.fullmatch(first.text):
            self.end(f"the event kind '{first.text}'")
            return ParsedTrigger(
                campaign.Trigger("event", self.text, event=first.text), first.offset
            )
        if first.kind == "word":  # an event kind in capitals, or with a hyphen
            raise TriggerSyntaxError(
                f"'{first.text}' is not an event kind: lowercase letters, digits and '_'",
                first.offset,
                len(first.text),
                _EVENT,
            )
        raise TriggerSyntaxError(
            f"a trigger cannot start with '{first.text}'",
            first.offset,
            len(first.text),
            "an event kind (cart_added), '<n> hours after <event kind>', "
            "'entering segment <name>', 'at <day> <time>' or 'every <days> at <time>'",
        )

    def name(self, expected: str, after: str) -> _Token:
        token = self.take(expected, after)
        if token.kind != "word" or not _ID.fullmatch(token.text):
            raise TriggerSyntaxError(
                f"'{token.text}' is not a name: lowercase letters, digits and '_'",
                token.offset,
                len(token.text),
                expected,
            )
        return token

    def delayed(self, number: _Token) -> ParsedTrigger:
        unit = self.take("a unit: minutes, hours, days or weeks", f"'{number.text}'")
        if unit.text not in _UNITS:
            raise TriggerSyntaxError(
                f"'{unit.text}' is not a unit of time",
                unit.offset,
                len(unit.text),
                "minutes, hours, days or weeks (or m, h, d, w)",
            )
        self.word("after", f"'{number.text} {unit.text}'")
        kind = self.name(_EVENT, "'after'")
        self.end(f"the event kind '{kind.text}'")
        delay = int(number.text) * _UNITS[unit.text]
        trigger = campaign.Trigger("event", self.text, event=kind.text, delay=delay)
        return ParsedTrigger(trigger, kind.offset)

    def once(self) -> ParsedTrigger:
        day = self.take("a day YYYY-MM-DD, e.g. 2026-12-10", "'at'")
        if day.kind != "date" or not _is_day(day.text):
            raise TriggerSyntaxError(
                f"'{day.text}' is not a day of the calendar",
                day.offset,
                len(day.text),
                "a day YYYY-MM-DD, e.g. 2026-12-10",
            )
        hour, minute = self.time(f"the day '{day.text}'")
        self.end("the time")
        schedule = campaign.Schedule(hour, minute, once=day.text)
        return ParsedTrigger(campaign.Trigger("schedule", self.text, schedule=schedule))

    def every(self) -> ParsedTrigger:
        first = self.peek()
        if first is not None and first.text == "day":
            self.i += 1
            weekdays = frozenset(range(7))
        else:
            weekdays = self.days()
        self.word("at", "the days")
        hour, minute = self.time("'at'")
        self.end("the time")
        schedule = campaign.Schedule(hour, minute, weekdays=weekdays)
        return ParsedTrigger(campaign.Trigger("schedule", self.text, schedule=schedule))

    def days(self) -> frozenset[int]:
        expected = "'day', or days of the week: mon, tue, wed, thu, fri, sat, sun (mon-fri)"
        out: set[int] = set()
        while True:
            first = self.day(expected)
            last = first
            dash = self.peek()
            if dash is not None and dash.text == "-":
                self.i += 1
                last = self.day(expected)
            span = (
                range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
            )
            out.update(span)
            comma = self.peek()
            if comma is None or comma.text != ",":
                return frozenset(out)
            self.i += 1

    def day(self, expected: str) -> int:
        token = self.take(expected, "'every'")
        if token.text not in _DAYS:
            raise TriggerSyntaxError(
                f"'{token.text}' is not a day of the week", token.offset, len(token.text), expected
            )
        return _DAYS.index(token.text)

    def time(self, after: str) -> tuple[int, int]:
        token = self.take(_TIME, after)
        if token.kind != "time":
            raise TriggerSyntaxError(
                f"'{token.text}' is not a time", token.offset, len(token.text), _TIME
            )
        hour, minute = (int(part) for part in token.text.split(":"))
        if hour > 23 or minute > 59:
            raise TriggerSyntaxError(
                f"'{token.text}' is not a time of day", token.offset, len(token.text), _TIME
            )
        return hour, minute


def _is_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
