"""Conditions: ``if: "score <= 2"``, ``if: "profile.tier == 'gold' and not coupon_used"``.

A small language parsed here into a tree and evaluated by walking it; nothing is ever handed to
``eval``. Names are slots (``score``), profile fields (``profile.tier``), ``channel``,
``locale``, whether a promotion runs at the turn's time (``promotion.winter_sale``: true
between its ``starts`` and ``ends``, so that a state shows an offer only while it runs), or
whether the user was in a segment when the conversation started (``segment.cart_abandoners``).
Operators: ``== != < <= > >=``, ``in [..]``, ``and``, ``or``, ``not``, parentheses.
A name that has no value compares as ``null``; ordering against a missing value is false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from botkit.errors import ConditionError

__all__ = ["Condition", "ConditionError", "Name", "evaluate", "parse_condition"]

MAX_LENGTH = 500
MAX_NESTING = 16

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_CONTEXT = {"channel", "locale"}
_DOTTED = {"profile", "promotion", "segment"}  # the scopes a name may reach into with a '.'


@dataclass(frozen=True, slots=True)
class Name:
    scope: str  # "slot", "profile", "promotion", "segment" or "context"
    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Member:
    left: Operand
    choices: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Not:
    inner: Condition


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


Operand: TypeAlias = Name | Literal
Condition: TypeAlias = Compare | Member | Not | All | AnyOf | Name | Literal


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                bad = len(text) - len(text[pos:].lstrip())
                raise ConditionError(f"unexpected '{text[bad]}'", bad)
            kind = match.lastgroup or ""
            value = match.group(kind)
            start = match.start(kind)
            if kind == "name" and value in _KEYWORDS:
                kind = "keyword"
            self.tokens.append((kind, value, start))
            pos = match.end()
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            expected = f"'{value}'" if value else "more"
            raise ConditionError(
                f"the condition ends where {expected} was expected", len(self.text)
            )
        if value is not None and token[1] != value:
            raise ConditionError(
                f"expected '{value}' but found '{token[1]}'", token[2], len(token[1])
            )
        self.index += 1
        return token

    def parse(self) -> Condition:
        if not self.tokens:
            raise ConditionError("the condition is empty", 0)
        result = self.disjunction()
        rest = self.peek()
        if rest is not None:
            raise ConditionError(f"unexpected '{rest[1]}'", rest[2], len(rest[1]))
        return result

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while (token := self.peek()) is not None and token[1] == "or":
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def conjunction(self) -> Condition:
        items = [self.negation()]
        while (token := self.peek()) is not None and token[1] == "and":
            self.take()
            items.append(self.negation())
        return items[0] if len(items) == 1 else All(tuple(items))

    def negation(self) -> Condition:
        token = self.peek()
        if token is not None and token[1] == "not":
            self.take()
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Condition:
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ConditionError("parentheses are nested too deeply", token[2])
            inner = self.disjunction()
            self.take(")")
            self.depth -= 1
            return inner
        left = self.operand()
        token = self.peek()
        if (
            token is not None
            and token[0] == "op"
            and token[1] in ("==", "!=", "<", "<=", ">", ">=")
        ):
            self.take()
            return Compare(token[1], left, self.operand())
        if token is not None and token[1] == "in":
            self.take()
            self.take("[")
            choices: list[Any] = []
            while True:
                item = self.operand()
                if not isinstance(item, Literal):
                    raise ConditionError("the list after 'in' may hold only values", item.offset)
                choices.append(item.value)
                if self.take()[1] == "]":
                    break
            return Member(left, tuple(choices))
        return left

    def operand(self) -> Operand:
        kind, value, start = self.take()
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        if kind == "string":
            return Literal(value[1:-1])
        if kind == "keyword" and value in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[value])
        if kind == "name":
            if "." in value:
                scope, name = value.split(".", 1)
                if scope not in _DOTTED:
                    raise ConditionError(
                        f"'{value}' reaches into '{scope}'; only profile.<field>, "
                        "promotion.<name> and segment.<name> have a '.'",
                        start,
                        len(value),
                    )
                return Name(scope, name, start)
            if value in _CONTEXT:
                return Name("context", value, start)
            return Name("slot", value, start)
        raise ConditionError(f"expected a name or a value but found '{value}'", start, len(value))


def parse_condition(text: str) -> Condition:
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"a condition may be at most {MAX_LENGTH} characters", 0)
    return _Parser(text).parse()


def names(condition: Condition) -> list[Name]:
    """Every name the condition reads (for reference checks)."""
    if isinstance(condition, Name):
        return [condition]
    if isinstance(condition, Compare):
        return [o for o in (condition.left, condition.right) if isinstance(o, Name)]
    if isinstance(condition, Member):
        return [condition.left] if isinstance(condition.left, Name) else []
    if isinstance(condition, Not):
        return names(condition.inner)
    if isinstance(condition, All | AnyOf):
        return [n for item in condition.items for n in names(item)]
    return []


def _value(operand: Operand, slots: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
    if isinstance(operand, Literal):
        return operand.value
    if operand.scope == "slot":
        return slots.get(operand.name)
    if operand.scope == "profile":
        profile = env.get("profile")
        return profile.get(operand.name) if isinstance(profile, Mapping) else None
    if operand.scope == "promotion":
        # a function, asked only when a condition names a promotion: no cost to the others
        runs = env.get("promotion")
        return bool(runs(operand.name)) if callable(runs) else False
    if operand.scope == "segment":
        segments = env.get("segments")
        return segments is not None and operand.name in segments
    return env.get(operand.name)


def evaluate(condition: Condition, slots: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    """Evaluate against slot values and ``env`` (``profile``, ``channel``, ``locale``,
    ``promotion``: a function telling whether the promotion it is given runs now, and
    ``segments``: the segments the user was in when the conversation started)."""
    if isinstance(condition, All):
        return all(evaluate(c, slots, env) for c in condition.items)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, slots, env) for c in condition.items)
    if isinstance(condition, Not):
        return not evaluate(condition.inner, slots, env)
    if isinstance(condition, Member):
        return _value(condition.left, slots, env) in condition.choices
    if isinstance(condition, Compare):
        left = _value(condition.left, slots, env)
        right = _value(condition.right, slots, env)
        if condition.op == "==":
            return bool(left == right)
        if condition.op == "!=":
            return bool(left != right)
        try:
            if condition.op == "<":
                return bool(left < right)
            if condition.op == "<=":
                return bool(left <= right)
            if condition.op == ">":
                return bool(left > right)
            return bool(left >= right)
        except TypeError:  # a missing value, or text against a number: not ordered
            return False
    return bool(_value(condition, slots, env))
