"""Collecting problems while reading, validating and compiling flow files."""

from __future__ import annotations

from dataclasses import dataclass

from botkit.flow.codes import CODES
from botkit.problems import Problem, Severity, SourceText

__all__ = ["Reporter", "Where"]


@dataclass(frozen=True, slots=True)
class Where:
    """A span in a source file: 1-based line and column, width in characters."""

    source: SourceText
    line: int
    column: int
    width: int = 1


class Reporter:
    """Accumulates problems so that a designer sees all of them in one pass."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(
        self,
        code: str,
        where: Where,
        message: str,
        *,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        excerpt = where.source.line(where.line)
        width = max(1, min(where.width, len(excerpt) - where.column + 1))
        self.problems.append(
            Problem(
                code=code,
                severity=severity or CODES[code].severity,
                message=message,
                path=where.source.path,
                line=where.line,
                column=where.column,
                width=width,
                excerpt=excerpt,
                expected=expected,
                found=found,
                hint=hint,
            )
        )

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    def sorted(self) -> list[Problem]:
        unique = {(p.sort_key, p.width, p.hint): p for p in self.problems}
        return sorted(unique.values(), key=lambda p: p.sort_key)
