"""Reading a segment's ``when:`` into its tree (:mod:`botkit.segments.model`).

The language, case-sensitive keywords, Korean welcome in texts and names::

    expr      := term ('or' term)*
    term      := factor ('and' factor)*
    factor    := 'not' factor | '(' expr ')' | atom
    atom      := behaviour | goal | variant | attr | 'segment.' NAME
               | 'consent.marketing' | 'consent.night'
    behaviour := EVENT_KIND ['where' FIELD '=' VALUE] [count] window
    count     := 'at least' INT 'times' | 'at most' INT 'times'
    window    := 'within' DURATION | DURATION 'ago' | 'ever'
    goal      := 'reached goal' NAME [window]
    variant   := 'variant' NAME 'of' EXPERIMENT
    attr      := 'profile.' ATTR OP VALUE | 'profile.' ATTR 'in' '[' VALUE, ... ']'
               | 'profile.' ATTR 'is set'

A DURATION is ``30m``, ``1h``, ``3d``, ``2w`` or ``3 days``. ``N days ago`` is the N-th
day-long window back (``3d ago``: more than 3 and at most 4 days before); ``2h ago`` the same
with hours. A hand-written tokenizer and a recursive-descent parser, so every problem names the
token it is about and what was expected there; nothing is ever handed to ``eval``.

Whether the names are declared (goals, experiments, other segments, profile attributes) is the
flow compiler's concern (it knows the bot); this module knows only the language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal as Lit

from botkit.errors import ExpressionError
from botkit.segments.model import (
    DAY,
    EVER,
    All,
    AnyOf,
    Attr,
    AttrOp,
    Behaviour,
    ConsentIs,
    Expr,
    GoalReached,
    Not,
    Scalar,
    SegmentRef,
    VariantOf,
    Window,
)

__all__ = ["MAX_LENGTH", "MAX_NESTING", "SegmentSyntaxError", "parse_segment"]

MAX_LENGTH = 1000
MAX_NESTING = 16

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<duration>\d+[^\W\d_]+)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"[^"]*"|'[^']*')
      | (?P<op>==|!=|<=|>=|=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[^\W\d]\w*(?:\.[^\W\d]\w*)*)
    )""",
    re.VERBOSE,
)
_KEYWORD_WORDS = (
    "and or not where at least most times time within ago ever reached goal variant of in is "
    "set true false"
)
_KEYWORDS = frozenset(_KEYWORD_WORDS.split())
_COMPARISONS = {"=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_UNITS = {"m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_UNIT_WORDS = {
    **dict.fromkeys(("minute", "minutes"), 60.0),
    **dict.fromkeys(("hour", "hours"), 3600.0),
    **dict.fromkeys(("day", "days"), DAY),
    **dict.fromkeys(("week", "weeks"), 7 * DAY),
}
_WINDOW = "a time window: within 24h, 3 days ago or ever"
_DURATION = "a whole number and a unit: 30m, 1h, 3d, 2w or 3 days"
_ATOM = (
    "a condition: an event kind (cart_added within 1h), reached goal <goal>, variant <variant> "
    "of <experiment>, profile.<attribute>, segment.<name>, consent.marketing or consent.night"
)


@dataclass(frozen=True, slots=True)
class SegmentSyntaxError(ExpressionError):
    """A ``when:`` that cannot be read, ``offset`` characters into it, ``length`` long.
    ``kind`` is ``duration`` when what is wrong is a time window's length, else ``syntax``."""

    message: str
    offset: int
    length: int = 1
    expected: str | None = None
    kind: Lit["syntax", "duration"] = "syntax"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # duration, number, string, op, name, keyword
    text: str
    offset: int


def parse_segment(text: str) -> Expr:
    """The tree of a segment's condition; :class:`SegmentSyntaxError` when it cannot be read."""
    if len(text) > MAX_LENGTH:
        raise SegmentSyntaxError(
            f"a segment's condition may be at most {MAX_LENGTH} characters", 0
        )
    return _Parser(text).parse()


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text) and text[pos:].strip():
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            bad = len(text) - len(text[pos:].lstrip())
            if text[bad] in "\"'":
                raise SegmentSyntaxError(
                    f"the text that starts here has no closing {text[bad]}",
                    bad,
                    expected=f"{text[bad]} at the end of the text",
                )
            raise SegmentSyntaxError(f"'{text[bad]}' has no meaning in a segment", bad)
        kind = match.lastgroup or ""
        value, start = match.group(kind), match.start(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "keyword"
        out.append(_Token(kind, value, start))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    # --- tokens --------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token | None:
        at = self.index + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def at(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("keyword", "op") and token.text == word

    def take(self, expected: str) -> _Token:
        """The next token; at the end of the text, a problem saying what was ``expected``."""
        token = self.peek()
        if token is None:
            short = expected if len(expected) <= 40 else "more"
            raise SegmentSyntaxError(
                f"the condition ends where {short} was expected", len(self.text), expected=expected
            )
        self.index += 1
        return token

    def expect(self, word: str, after: str) -> _Token:
        token = self.take(f"'{word}'")
        if token.text != word:
            raise self.unexpected(token, f"'{word}'", f"{after} comes '{word}'")
        return token

    def unexpected(self, token: _Token, expected: str, why: str | None = None) -> Exception:
        message = f"{why}, not '{token.text}'" if why else f"unexpected '{token.text}'"
        return SegmentSyntaxError(message, token.offset, len(token.text), expected)

    # --- expressions ---------------------------------------------------------------------

    def parse(self) -> Expr:
        if not self.tokens:
            raise SegmentSyntaxError("the segment's condition is empty", 0, expected=_ATOM)
        result = self.disjunction()
        rest = self.peek()
        if rest is not None:
            raise self.unexpected(rest, "'and', 'or' or the end of the condition")
        return result

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while self.at("or"):
            self.index += 1
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def conjunction(self) -> Expr:
        items = [self.factor()]
        while self.at("and"):
            self.index += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else All(tuple(items))

    def factor(self) -> Expr:
        if self.at("not"):
            self.index += 1
            return Not(self.factor())
        if self.at("("):
            opening = self.take("'('")
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise SegmentSyntaxError("parentheses are nested too deeply", opening.offset)
            inner = self.disjunction()
            closing = self.take("')'")
            if closing.text != ")":
                raise self.unexpected(closing, "')', 'and' or 'or'", "the '(' is closed by ')'")
            self.depth -= 1
            return inner
        return self.atom()

    def atom(self) -> Expr:
        token = self.take(_ATOM)
        if token.kind == "keyword" and token.text == "reached":
            return self.goal(token)
        if token.kind == "keyword" and token.text == "variant":
            return self.variant(token)
        if token.kind != "name":
            raise self.unexpected(token, _ATOM, "a condition starts here")
        if "." not in token.text:
            return self.behaviour(token)
        scope, name = token.text.split(".", 1)
        if scope == "profile" and "." not in name:
            return self.attr(token, name)
        if scope == "segment" and "." not in name:
            return SegmentRef(name, token.offset)
        if scope == "consent" and name in ("marketing", "night"):
            return ConsentIs("marketing" if name == "marketing" else "night", token.offset)
        if scope == "consent":
            raise SegmentSyntaxError(
                f"there is no consent '{name}'",
                token.offset,
                len(token.text),
                expected="consent.marketing or consent.night",
            )
        raise SegmentSyntaxError(
            f"'{token.text}' reaches into '{scope}'",
            token.offset,
            len(token.text),
            expected="profile.<attribute>, segment.<name> or consent.<marketing|night>",
        )

    # --- atoms ---------------------------------------------------------------------------

    def behaviour(self, kind: _Token) -> Behaviour:
        field: str | None = None
        value: Scalar | None = None
        if self.at("where"):
            self.index += 1
            name = self.take("the event's field after 'where'")
            if name.kind != "name" or "." in name.text:
                raise self.unexpected(name, "a field of the event's data, e.g. product")
            field = name.text
            equals = self.take("'='")
            if equals.text not in ("=", "=="):
                raise self.unexpected(equals, "'='", f"after 'where {field}' comes '='")
            value = self.value()
        at_least: int | None = 1
        at_most: int | None = None
        if self.at("at"):
            self.index += 1
            bound = self.take("'least' or 'most'")
            if bound.text not in ("least", "most"):
                raise self.unexpected(
                    bound, "'least' or 'most'", "after 'at' comes 'least' or 'most'"
                )
            count = self.count()
            times = self.take("'times'")
            if times.text not in ("times", "time"):
                raise self.unexpected(
                    times, "'times'", f"after 'at {bound.text} {count}' comes 'times'"
                )
            if bound.text == "least":
                at_least = count
            else:
                at_least, at_most = None, count
        window = self.window(required=True, after=f"the event kind '{kind.text}'")
        assert window is not None
        return Behaviour(kind.text, window, at_least, at_most, field, value, kind.offset)

    def goal(self, reached: _Token) -> GoalReached:
        self.expect("goal", "after 'reached'")
        name = self.take("the goal's name")
        if name.kind != "name" or "." in name.text:
            raise self.unexpected(name, "a goal's name, e.g. reached goal order_checked")
        window = self.window(required=False, after=f"goal '{name.text}'")
        return GoalReached(name.text, window or EVER, name.offset)

    def variant(self, word: _Token) -> VariantOf:
        name = self.take("the variant's name")
        if name.kind != "name" or "." in name.text:
            raise self.unexpected(name, "a variant's name, e.g. variant B of greeting_title")
        self.expect("of", f"after 'variant {name.text}'")
        experiment = self.take("the experiment's name")
        if experiment.kind != "name" or "." in experiment.text:
            raise self.unexpected(experiment, "an experiment's name")
        return VariantOf(name.text, experiment.text, name.offset, experiment.offset)

    def attr(self, token: _Token, name: str) -> Attr:
        ops = "=, !=, <, <=, >, >=, in [...] or is set"
        op_token = self.take(ops)
        if op_token.text in _COMPARISONS:
            op: AttrOp = _COMPARISONS[op_token.text]  # type: ignore[assignment]
            at = self.peek()
            value = self.value()
            return Attr(name, op, (value,), token.offset, (at.offset,) if at else ())
        if op_token.text == "in":
            opening = self.take("'['")
            if opening.text != "[":
                raise self.unexpected(opening, "'['", "after 'in' comes a list in [ ]")
            values: list[Scalar] = []
            offsets: list[int] = []
            while True:
                at = self.peek()
                offsets.append(at.offset if at else len(self.text))
                values.append(self.value())
                sep = self.take("',' or ']'")
                if sep.text == "]":
                    return Attr(name, "in", tuple(values), token.offset, tuple(offsets))
                if sep.text != ",":
                    raise self.unexpected(sep, "',' or ']'")
        if op_token.text == "is":
            self.expect("set", "after 'is'")
            return Attr(name, "set", (), token.offset)
        raise self.unexpected(op_token, ops, f"after '{token.text}' comes a comparison")

    # --- values, counts, windows ----------------------------------------------------------

    def value(self) -> Scalar:
        token = self.take('a value: "text", a number, true or false')
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return token.text == "true"
        raise self.unexpected(
            token,
            'a value: "text" in quotes, a number, true or false',
            "a value comes here",
        )

    def count(self) -> int:
        token = self.take("a number of times")
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token, "a whole number of times, e.g. at least 3 times")
        return int(token.text)

    def window(self, *, required: bool, after: str) -> Window | None:
        token = self.peek()
        if token is None or token.kind not in ("keyword", "duration", "number"):
            if not required:
                return None
            if token is None:
                raise SegmentSyntaxError(
                    f"after {after} comes {_WINDOW}", len(self.text), expected=_WINDOW
                )
            raise self.unexpected(token, _WINDOW, f"after {after} comes {_WINDOW}")
        if token.text == "ever":
            self.index += 1
            return EVER
        if token.text == "within":
            self.index += 1
            start = self.peek()
            amount, unit, text = self.duration()
            if amount == 0:
                assert start is not None
                raise SegmentSyntaxError(
                    f"a window of {text} holds nothing",
                    start.offset,
                    len(text),
                    expected=_DURATION,
                    kind="duration",
                )
            return Window(amount * unit, 0.0, f"within {text}")
        after_it = self.peek(1)
        if token.kind == "number" and after_it is not None and after_it.text in ("times", "time"):
            raise SegmentSyntaxError(
                f"a count is written 'at least {token.text} times'"
                f" or 'at most {token.text} times'",
                token.offset,
                len(token.text),
                expected=f"at least {token.text} times or at most {token.text} times",
            )
        if token.kind in ("duration", "number"):
            amount, unit, text = self.duration()
            self.expect("ago", f"after '{text}'")
            return Window((amount + 1) * unit, amount * unit, f"{text} ago")
        if not required:
            return None
        raise self.unexpected(token, _WINDOW, f"after {after} comes {_WINDOW}")

    def duration(self) -> tuple[int, float, str]:
        """A duration's amount, its unit in seconds, and the text it was written as."""
        token = self.take(_DURATION)
        if token.kind == "duration":
            digits = re.match(r"\d+", token.text)
            assert digits is not None
            unit = token.text[digits.end() :]
            if unit in _UNIT_WORDS:  # 3days, as it is sometimes written
                return int(digits.group()), _UNIT_WORDS[unit], token.text
            if unit not in _UNITS:
                raise SegmentSyntaxError(
                    f"'{token.text}' is not a duration: '{unit}' is not a unit",
                    token.offset,
                    len(token.text),
                    expected=_DURATION,
                    kind="duration",
                )
            return int(digits.group()), _UNITS[unit], token.text
        if token.kind == "number":
            word = self.peek()
            if word is None or word.kind != "name" or word.text not in _UNIT_WORDS:
                raise SegmentSyntaxError(
                    f"'{token.text}' has no unit",
                    token.offset,
                    len(token.text),
                    expected=_DURATION,
                    kind="duration",
                )
            if not token.text.isdigit():
                raise SegmentSyntaxError(
                    f"'{token.text} {word.text}' is not a whole number of {word.text}",
                    token.offset,
                    len(token.text),
                    expected=_DURATION,
                    kind="duration",
                )
            self.index += 1
            return int(token.text), _UNIT_WORDS[word.text], f"{token.text} {word.text}"
        raise SegmentSyntaxError(
            f"'{token.text}' is not a duration",
            token.offset,
            len(token.text),
            expected=_DURATION,
            kind="duration",
        )
