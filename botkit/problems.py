"""Problems found in a designer's files, and how they are shown.

A :class:`Problem` is data: a stable code, a severity, where it is (file, line, column, width) and
what was expected, found and how to fix it. Rendering is separate so that the same problem can be
printed for a terminal (source line with a caret under the exact key or value) or as JSON for
editors and CI annotations.

Lines and columns are 1-based and count characters, the way editors do. The caret line counts
*display* cells instead: Hangul and other East Asian wide characters take two cells in a terminal,
so a caret placed by character count would drift left of the word it points at.
"""

from __future__ import annotations

import enum
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Problem",
    "Severity",
    "SourceText",
    "cells",
    "plural",
    "render_json",
    "render_problem",
    "render_problems",
]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourceText:
    """The text of one file, kept so that problems can quote the line they point at."""

    path: str
    lines: tuple[str, ...] = field(repr=False)

    @classmethod
    def of(cls, path: str, text: str) -> SourceText:
        return cls(path, tuple(text.splitlines()))

    def line(self, number: int) -> str:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in a flow file."""

    code: str
    severity: Severity
    message: str
    path: str
    line: int = 1
    column: int = 1
    width: int = 1
    excerpt: str = ""
    expected: str | None = None
    found: str | None = None
    hint: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
        }


_CLIP = 100  # characters of a source line shown around a problem


def cells(text: str) -> int:
    """Terminal cells that ``text`` takes: two for wide East Asian characters, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def render_problem(problem: Problem) -> str:
    """Render one problem for a terminal, the way compilers people trust do it."""
    head = (
        f"{problem.path}:{problem.line}:{problem.column}: "
        f"{problem.severity}[{problem.code}]: {problem.message}"
    )
    out = [head]
    if problem.excerpt:
        gutter = " " * len(str(problem.line))
        excerpt = problem.excerpt.expandtabs(1)
        column = problem.column
        if len(excerpt) > _CLIP:  # show the part of a very long line around the spot
            left = max(0, column - 1 - _CLIP // 2)
            excerpt = ("…" if left else "") + excerpt[left : left + _CLIP] + "…"
            column = column - left + (1 if left else 0)
        before = excerpt[: column - 1]
        marked = excerpt[column - 1 : column - 1 + max(problem.width, 1)]
        carets = "^" * max(cells(marked), 1)
        out.append(f"{gutter} |")
        out.append(f"{problem.line} | {excerpt}")
        out.append(f"{gutter} | {' ' * cells(before)}{carets}")
    for label, value in (
        ("expected", problem.expected),
        ("found", problem.found),
        ("hint", problem.hint),
    ):
        if value:
            out.append(f"  = {label}: {value}")
    return "\n".join(out)


def render_problems(problems: Sequence[Problem], *, limit: int = 50) -> str:
    """Render problems in order, with a count at the end and "… and N more" past ``limit``."""
    shown = [render_problem(p) for p in problems[:limit]]
    if len(problems) > limit:
        shown.append(f"… and {len(problems) - limit} more")
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    shown.append(f"{plural(errors, 'error')}, {plural(warnings, 'warning')}")
    return "\n\n".join(shown)


def render_json(problems: Iterable[Problem]) -> str:
    return json.dumps([p.to_json() for p in problems], ensure_ascii=False, indent=2)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
