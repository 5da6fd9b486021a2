"""Regular expressions from flow files: compiled on RE2, refused when they nest repetition.

RE2 matches in time linear in the input, whatever the pattern, so no pattern a designer writes
can hang the process. On top of that, a pattern that repeats a group which itself repeats
(``(a+)+``, ``(\\d*)*``) is refused: it is the classic catastrophic pattern of every backtracking
engine (Python's ``re``, JavaScript, Java), and the same pattern is often copied from a flow into
other tools; it is also never needed (``(a+)+`` matches exactly what ``a+`` does). Other nested
repetition that cannot be shown safe (``(x+x+)+y``, ``(a+b?)+$``) is kept with a warning, BK414
(see ``_backtracking``).
"""

from __future__ import annotations

from typing import Any

import re2

from botkit.errors import PatternError
from botkit.flow._backtracking import shape_of

__all__ = ["PatternError", "SafePattern", "compile_pattern"]

MAX_PATTERN = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr; we report them instead


class SafePattern:
    """A compiled RE2 pattern with the source kept for display, and the warning (BK414) the
    compiler reports about it, if any."""

    __slots__ = ("_compiled", "doubt", "source")

    def __init__(self, source: str, compiled: Any, doubt: PatternError | None = None) -> None:
        self.source = source
        self._compiled = compiled
        self.doubt = doubt

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
    doubt = _doubt(source)
    if doubt is not None and doubt.code == "BK407":
        raise doubt
    return SafePattern(source, compiled, doubt)


_REPEATED_GROUP = re2.compile(r"\)[*+{]", options=_OPTIONS)


def _doubt(source: str) -> PatternError | None:
    """BK407 when the pattern certainly nests repetition, BK414 when it may; else None."""
    if not _REPEATED_GROUP.search(source):  # no group is repeated: nothing can nest
        return None
    shape = shape_of(source)
    if shape.catastrophic:
        return PatternError(
            "BK407",
            "the regular expression repeats a group that itself repeats; backtracking engines "
            "take exponential time on such patterns",
            "repeat only once: '(a+)+' matches exactly what 'a+' matches",
        )
    if shape.unproven:
        return PatternError(
            "BK414",
            "the regular expression repeats a group that holds a repetition, and both can match "
            "the same characters: botkit runs it safely, but a copy in a tool that backtracks "
            "(Python, JavaScript, Java) can take exponential time",
            "end each repeated part with a character it cannot match, as in '(\\d+-)+' or "
            "'([^,]+,)*', or repeat only once: '(x+x+)+' matches what 'xx+' does",
        )
    return None
