"""How a regular expression would backtrack, read from its structure (it is never run here).

RE2 runs every pattern in linear time, so nothing found here can slow botkit down. But a
pattern in a flow file is often copied into other tools (a form's validation, a spreadsheet, a
log search) whose engines backtrack, and there a repetition inside a repetition can take
exponential time: the text can be split between the two in exponentially many ways.

* :func:`certainly_catastrophic`: an unbounded repetition of a body that is nothing but an
  unbounded repetition (``(a+)+``, ``(\\d*)*``). Never needed: it matches what ``a+`` does.
* :func:`nested_and_unproven`: an unbounded repetition whose body holds another unbounded
  repetition that cannot be shown to end where the body's next part begins. The proof accepted
  is the classic safe shape: each inner repetition repeats one character class and is followed
  by a required character it cannot match (``(\\d+-)+``, ``([^,]+,)*``, ``(a+b+)+``). Anything
  else nested (``(x+x+)+y``, ``(a+b?)+$``, ``(\\w+\\s?)+``) is reported as not proven safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

try:  # the parser behind `re`; used only to *inspect* a pattern's structure, never to run it
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older or other Pythons
    import sre_parse as _sre_parse

__all__ = ["Shape", "shape_of"]

_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_FINITE = 256  # characters a class may have to be compared one by one
_SCANNED = 0x3000  # characters of a range tested against \d, \w, \s (Hangul syllables fit)
# \d, \w, \s and their negations as sets of four disjoint kinds of character: Digits, other
# Letters of \w, Spaces and Others (\d is part of \w; \s is apart from \w).
_KINDS = {
    "CATEGORY_DIGIT": frozenset("D"),
    "CATEGORY_NOT_DIGIT": frozenset("LSO"),
    "CATEGORY_WORD": frozenset("DL"),
    "CATEGORY_NOT_WORD": frozenset("SO"),
    "CATEGORY_SPACE": frozenset("S"),
    "CATEGORY_NOT_SPACE": frozenset("DLO"),
}
_CATEGORY_TEST = {
    "CATEGORY_DIGIT": re.compile(r"\d").fullmatch,
    "CATEGORY_NOT_DIGIT": re.compile(r"\D").fullmatch,
    "CATEGORY_WORD": re.compile(r"\w").fullmatch,
    "CATEGORY_NOT_WORD": re.compile(r"\W").fullmatch,
    "CATEGORY_SPACE": re.compile(r"\s").fullmatch,
    "CATEGORY_NOT_SPACE": re.compile(r"\S").fullmatch,
}


@dataclass(frozen=True, slots=True)
class Shape:
    catastrophic: bool  # certainly: a repetition of nothing but a repetition
    unproven: bool  # a repetition inside a repetition that is not shown to be safe


def shape_of(source: str) -> Shape:
    """What the structure of ``source`` (a pattern RE2 accepted) says about backtracking."""
    try:
        parsed = _sre_parse.parse(source)
    except Exception:  # RE2 syntax that `re` does not know: nothing to say about it
        return Shape(False, False)
    items = list(parsed)
    flags = parsed.state.flags
    ignore_case = bool(flags & re.IGNORECASE) or any(
        str(op) == "SUBPATTERN" and arg[1] & re.IGNORECASE for op, arg in _walk(items)
    )
    chars = _Chars(ignore_case, bool(flags & re.DOTALL))
    catastrophic = unproven = False
    for op, arg in _walk(items):
        if not _is_unbounded(op, arg):
            continue
        body = list(arg[2])
        if _only_repeat(body):
            catastrophic = True
        elif any(_is_unbounded(o, a) for o, a in _walk(body)) and not _proven(body, chars):
            unproven = True
    return Shape(catastrophic, unproven)


def _walk(items: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Every node of a parsed pattern, outer before inner."""
    todo = list(reversed(items))
    while todo:
        op, arg = todo.pop()
        yield op, arg
        name = str(op)
        if name in _REPEATS:
            todo.extend(reversed(list(arg[2])))
        elif name == "SUBPATTERN":
            todo.extend(reversed(list(arg[-1])))
        elif name == "BRANCH":
            for branch in reversed(arg[1]):
                todo.extend(reversed(list(branch)))
        elif name == "ATOMIC_GROUP":
            todo.extend(reversed(list(arg)))


def _is_unbounded(op: Any, arg: Any) -> bool:
    return str(op) in _REPEATS and arg[1] == _sre_parse.MAXREPEAT


def _only_repeat(items: list[Any]) -> bool:
    """True when a body is nothing but an unbounded repetition (through groups and branches),
    so that an outer repetition can split the same text in exponentially many ways."""
    if len(items) != 1:
        return False
    op, arg = items[0]
    if _is_unbounded(op, arg):
        return True
    if str(op) == "SUBPATTERN":
        return _only_repeat(list(arg[-1]))
    if str(op) == "BRANCH":
        return any(_only_repeat(list(branch)) for branch in arg[1])
    return False


# -- the proof ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of a repeated body: a character class, repeated ``least``..``most`` times."""

    cls: list[tuple[Any, Any]]  # the class as parsed: LITERAL, NOT_LITERAL, IN or ANY
    least: int
    unbounded: bool


def _parts(items: list[Any]) -> list[_Part] | None:
    """The body as a flat sequence of parts, or None when it is not that simple."""
    out: list[_Part] = []
    for op, arg in items:
        name = str(op)
        if name in ("LITERAL", "NOT_LITERAL", "IN", "ANY"):
            out.append(_Part([(op, arg)], 1, False))
        elif name == "AT":
            continue  # anchors match no character
        elif name == "SUBPATTERN":
            inner = _parts(list(arg[-1]))
            if inner is None:
                return None
            out.extend(inner)
        elif name in _REPEATS:
            body = list(arg[2])
            if len(body) != 1 or str(body[0][0]) not in ("LITERAL", "NOT_LITERAL", "IN", "ANY"):
                return None
            out.append(_Part(body, arg[0], arg[1] == _sre_parse.MAXREPEAT))
        else:
            return None
    return out


def _proven(body: list[Any], chars: _Chars) -> bool:
    """Each unbounded part is followed, inside the body or in its next round, by characters it
    cannot match before anything required comes: where it stops is then never in doubt."""
    parts = _parts(body)
    if parts is None:
        return False
    for i, part in enumerate(parts):
        if not part.unbounded:
            continue
        for step in range(1, len(parts) + 1):
            j = (i + step) % len(parts)
            after = parts[j]
            if j == i or not chars.disjoint(part.cls, after.cls):
                return False
            if after.least > 0:
                break
    return True


class _Chars:
    """Whether two character classes can match the same character, as `re` would read them."""

    def __init__(self, ignore_case: bool, dot_all: bool) -> None:
        self.ignore_case = ignore_case
        self.dot_all = dot_all

    def disjoint(self, a: list[Any], b: list[Any]) -> bool:
        for one, other in ((a, b), (b, a)):
            members = self._enumerate(one)
            if members is not None:
                test = self._test(other)
                return not any(test(ch) for ch in members)
        parts_a, parts_b = self._union(a), self._union(b)
        if parts_a is None or parts_b is None:
            return False  # a negated class or '.', against something large: not provable
        return all(self._apart(x, y) for x in parts_a for y in parts_b)

    def _cased(self, ch: str) -> set[str]:
        if not self.ignore_case:
            return {ch}
        return {ch, ch.lower(), ch.upper(), ch.swapcase(), ch.casefold()} - {""}

    def _enumerate(self, cls: list[Any]) -> set[str] | None:
        """The characters of a small class of literals and ranges; None for anything else."""
        (op, arg) = cls[0]
        entries = [(op, arg)] if str(op) == "LITERAL" else arg if str(op) == "IN" else None
        if entries is None:
            return None
        out: set[str] = set()
        for e_op, e_arg in entries:
            name = str(e_op)
            if name == "LITERAL":
                out |= self._cased(chr(e_arg))
            elif name == "RANGE" and e_arg[1] - e_arg[0] < _FINITE:
                for code in range(e_arg[0], e_arg[1] + 1):
                    out |= self._cased(chr(code))
            else:
                return None
            if len(out) > _FINITE * 4:
                return None
        return out

    def _test(self, cls: list[Any]) -> Callable[[str], bool]:
        (op, arg) = cls[0]
        name = str(op)
        if name == "ANY":
            return lambda ch: self.dot_all or ch != "\n"
        if name == "LITERAL":
            return lambda ch: any(ord(c) == arg for c in self._cased(ch))
        if name == "NOT_LITERAL":
            return lambda ch: all(ord(c) != arg for c in self._cased(ch))
        entries = list(arg)
        negate = bool(entries) and str(entries[0][0]) == "NEGATE"
        if negate:
            entries = entries[1:]

        def test(ch: str) -> bool:
            hit = any(
                _entry_has(e_op, e_arg, c) for c in self._cased(ch) for e_op, e_arg in entries
            )
            return hit != negate

        return test

    def _union(self, cls: list[Any]) -> list[tuple[str, Any]] | None:
        """A class as a union of ranges and categories; None if negated or '.'."""
        (op, arg) = cls[0]
        if str(op) == "LITERAL":
            return [("RANGE", (arg, arg))]
        if str(op) != "IN":
            return None
        out: list[tuple[str, Any]] = []
        for e_op, e_arg in arg:
            name = str(e_op)
            if name == "LITERAL":
                out.append(("RANGE", (e_arg, e_arg)))
            elif name == "RANGE" or (name == "CATEGORY" and str(e_arg) in _KINDS):
                out.append((name, e_arg))
            else:
                return None
        return out

    def _apart(self, x: tuple[str, Any], y: tuple[str, Any]) -> bool:
        if x[0] == "CATEGORY" and y[0] == "CATEGORY":
            return not _KINDS[str(x[1])] & _KINDS[str(y[1])]
        if x[0] == "RANGE" and y[0] == "RANGE":
            if self.ignore_case:
                return False
            return bool(x[1][1] < y[1][0] or y[1][1] < x[1][0])
        rng, cat = (x[1], y[1]) if x[0] == "RANGE" else (y[1], x[1])
        if rng[1] - rng[0] >= _SCANNED:
            return False
        test = _CATEGORY_TEST[str(cat)]
        return not any(
            test(c) for code in range(rng[0], rng[1] + 1) for c in self._cased(chr(code))
        )


def _entry_has(op: Any, arg: Any, ch: str) -> bool:
    name = str(op)
    if name == "LITERAL":
        return bool(ord(ch) == arg)
    if name == "RANGE":
        return bool(arg[0] <= ord(ch) <= arg[1])
    if name == "CATEGORY":
        test = _CATEGORY_TEST.get(str(arg))
        return test is None or test(ch) is not None  # an unknown category: assume it matches
    return True  # anything else: assume it matches (never claims two classes apart wrongly)
