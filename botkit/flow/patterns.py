"""Regular expressions from flow files: compiled on RE2, refused when they nest repetition.

RE2 matches in time linear in the input, whatever the pattern, so no pattern a designer writes
can hang the process. On top of that, a pattern that repeats a group which itself repeats
(``(a+)+``, ``(\\d*)*``) is refused: it is the classic catastrophic pattern of every backtracking
engine (Python's ``re``, JavaScript, Java), and the same pattern is often copied from a flow into
other tools; it is also never needed (``(a+)+`` matches exactly what ``a+`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

try:  # the parser behind `re`; used only to *inspect* a pattern's structure, never to run it
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older or other Pythons
    import sre_parse as _sre_parse

__all__ = ["PatternError", "SafePattern", "compile_pattern"]

MAX_PATTERN = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr; we report them instead


@dataclass(frozen=True, slots=True)
class PatternError(Exception):
    code: str  # BK406 or BK407
    message: str
    hint: str | None = None


class SafePattern:
    """A compiled RE2 pattern with the source kept for display."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str, compiled: Any) -> None:
        self.source = source
        self._compiled = compiled

    def search(self, text: str) -> dict[str, str] | None:
        """Search ``text``; on a match return the named groups (possibly empty)."""
        match = self._compiled.search(text)
        if match is None:
            return None
        return {k: v for k, v in match.groupdict().items() if v is not None}

    def fullmatch(self, text: str) -> bool:
        return self._compiled.fullmatch(text) is not None

    def __repr__(self) -> str:
        return f"SafePattern({self.source!r})"


def compile_pattern(source: str) -> SafePattern:
    if len(source) > MAX_PATTERN:
        raise PatternError("BK406", f"the pattern is longer than {MAX_PATTERN} characters")
    try:
        compiled = re2.compile(source, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        hint = None
        text = str(reason)
        if "\\1" in source or "invalid escape sequence: \\" in text:
            hint = "back-references (\\1) are not supported; match the text again explicitly"
        elif "(?=" in source or "(?!" in source or "(?<" in source or "perl operator" in text:
            hint = "look-ahead and look-behind are not supported; match the text itself"
        raise PatternError(
            "BK406", f"the regular expression does not compile: {text}", hint
        ) from None
    if _nested_repeat(source):
        raise PatternError(
            "BK407",
            "the regular expression repeats a group that itself repeats; backtracking engines "
            "take exponential time on such patterns",
            "repeat only once: '(a+)+' matches exactly what 'a+' matches",
        )
    return SafePattern(source, compiled)


_REPEATED_GROUP = re2.compile(r"\)[*+{]", options=_OPTIONS)


def _nested_repeat(source: str) -> bool:
    if not _REPEATED_GROUP.search(source):  # no group is repeated: nothing can nest
        return False
    try:
        parsed = _sre_parse.parse(source)
    except Exception:  # RE2 syntax that `re` does not know; RE2 already guarantees linear time
        return False
    return _scan(list(parsed))


def _is_repeat(op: Any, arg: Any) -> bool:
    return str(op) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and (
        arg[1] == _sre_parse.MAXREPEAT
    )


def _only_repeat(items: list[Any]) -> bool:
    """True when a body is nothing but an unbounded repetition (through groups and branches),
    so that an outer repetition can split the same text in exponentially many ways."""
    if len(items) != 1:
        return False
    op, arg = items[0]
    if _is_repeat(op, arg):
        return True
    if str(op) == "SUBPATTERN":
        return _only_repeat(list(arg[-1]))
    if str(op) == "BRANCH":
        return any(_only_repeat(list(branch)) for branch in arg[1])
    return False


def _scan(items: list[Any]) -> bool:
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            body = list(arg[2])
            if _is_repeat(op, arg) and _only_repeat(body):
                return True
            if _scan(body):
                return True
        elif name == "SUBPATTERN":
            if _scan(list(arg[-1])):
                return True
        elif name == "BRANCH" and any(_scan(list(b)) for b in arg[1]):
            return True
    return False
