"""Message templates: ``{{ order_no }}``, ``{{ profile.name }}`` and, in HTTP calls only,
``{{ env.API_TOKEN }}``.

A template can only *name a value*. There are no filters, calls, indexing or attribute chains,
and no name may start with ``_``, so a template can never reach a Python attribute such as
``__class__``; and what the user typed is only ever a value substituted into a template, never
read as one. Rendering is a join over pre-parsed parts, so it costs next to nothing per turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Ref", "Template", "TemplateError", "parse_template"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_OPEN, _CLOSE = "{{", "}}"
SCOPES = ("profile", "env")


@dataclass(frozen=True, slots=True)
class Ref:
    """A value a template names: a slot, a profile field or (HTTP calls only) an env variable."""

    scope: str  # "slot", "profile" or "env"
    name: str

    def __str__(self) -> str:
        return self.name if self.scope == "slot" else f"{self.scope}.{self.name}"


@dataclass(frozen=True, slots=True)
class TemplateError:
    """Why a template was refused; ``offset``/``length`` locate it inside the text."""

    code: str  # BK409 (unbalanced) or BK310 (forbidden)
    message: str
    offset: int
    length: int
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    parts: tuple[str | Ref, ...]

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(p for p in self.parts if isinstance(p, Ref))

    @property
    def is_plain(self) -> bool:
        return not self.refs

    def render(
        self,
        slots: Mapping[str, Any],
        profile: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
    ) -> str:
        if len(self.parts) == 1 and isinstance(self.parts[0], str):
            return self.parts[0]
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if part.scope == "env":
                out.append((env or {}).get(part.name, ""))
                continue
            scope = slots if part.scope == "slot" else profile
            value = scope.get(part.name)
            out.append("" if value is None else str(value))
        return "".join(out)


def parse_template(
    text: str, *, allow_env: bool = False
) -> tuple[Template, list[tuple[TemplateError, Ref | None]]]:
    """Split ``text`` into literal parts and references.

    Returns the template and the problems found; a reference that was refused is left out of the
    template (it renders as nothing), so a caller may still use the rest.
    """
    parts: list[str | Ref] = []
    errors: list[tuple[TemplateError, Ref | None]] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        stray_close = text.find(_CLOSE, pos)
        if stray_close != -1 and (start == -1 or stray_close < start):
            errors.append((_stray_close(stray_close), None))
            parts.append(text[pos : stray_close + 2])
            pos = stray_close + 2
            continue
        if start == -1:
            if pos < len(text):
                parts.append(text[pos:])
            break
        if start > pos:
            parts.append(text[pos:start])
        end = text.find(_CLOSE, start + 2)
        if end == -1:
            errors.append((_never_closed(start), None))
            break
        inner = text[start + 2 : end]
        ref, error = _reference(inner.strip(), start, end + 2 - start, allow_env)
        if error is not None:
            errors.append((error, ref))
        elif ref is not None:
            parts.append(ref)
        pos = end + 2
    return Template(text, _merged(parts)), errors


def _stray_close(offset: int) -> TemplateError:
    return TemplateError(
        "BK409",
        "'}}' without a matching '{{'",
        offset,
        2,
        "remove the '}}' or add '{{' before the name",
    )


def _never_closed(offset: int) -> TemplateError:
    return TemplateError(
        "BK409",
        "'{{' is never closed",
        offset,
        2,
        "close it with '}}', e.g. {{ order_no }}",
    )


def _merged(parts: list[str | Ref]) -> tuple[str | Ref, ...]:
    """Neighbouring literal parts as one, so rendering joins as few pieces as it can."""
    merged: list[str | Ref] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return tuple(merged)


def _reference(
    inner: str, offset: int, length: int, allow_env: bool
) -> tuple[Ref | None, TemplateError | None]:
    pieces = inner.split(".")
    if not inner or not all(_NAME.fullmatch(p) for p in pieces) or len(pieces) > 2:
        return None, TemplateError(
            "BK310",
            f"'{{{{{inner}}}}}' is not a value a template may show",
            offset,
            length,
            "a template shows a slot ({{ order_no }}) or a profile field ({{ profile.name }}); "
            "it cannot call, filter, index or reach attributes",
        )
    if len(pieces) == 1:
        return Ref("slot", pieces[0]), None
    scope, name = pieces
    if scope == "env" and not allow_env:
        return None, TemplateError(
            "BK310",
            f"'{{{{{inner}}}}}' would show a server secret to the user",
            offset,
            length,
            "environment values ({{ env.NAME }}) may only be used in the url, headers, query "
            "or body of an HTTP call",
        )
    if scope not in SCOPES:
        return None, TemplateError(
            "BK310",
            f"'{{{{{inner}}}}}' reaches into '{scope}'",
            offset,
            length,
            "slot values have no fields; use {{ slot }} or {{ profile.field }}",
        )
    return Ref(scope, name), None
