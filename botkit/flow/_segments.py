"""Compiling bot.yaml's ``segments:``: each ``when:`` read into its tree
(:mod:`botkit.segments.parse`), every name in it checked against what the bot declares, and
``segment.<name>`` references resolved into the tree, so a compiled segment stands alone.

What is checked, each problem pointing at the word inside ``when:``:

* the language itself (BK418), and time windows (BK421);
* goals (BK307), experiments and their variants (BK306), other segments (BK318), segments
  defined through themselves, and ones too large once the segments they use are written out
  in them (BK419);
* profile attributes, once bot.yaml declares ``profile:`` (BK317), and that each is compared
  with a value of its type (BK420: a number with a number, an enum with one of its values);
* event kinds: one the bot neither declares under ``business_events:`` nor records itself is
  most likely a typo, so it is a warning (BK319) that lists the known kinds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from botkit.flow._context import Context
from botkit.flow._node import Node
from botkit.flow._report import Where
from botkit.flow._words import did_you_mean
from botkit.flow.model import EventMeaning, ProfileAttribute
from botkit.problems import Severity
from botkit.segments.model import (
    CHANNEL_KINDS,
    All,
    AnyOf,
    Attr,
    Behaviour,
    Expr,
    GoalReached,
    Not,
    Segment,
    SegmentRef,
    VariantOf,
)
from botkit.segments.parse import SegmentSyntaxError, parse_segment

__all__ = ["compile_condition", "compile_segments"]

_ORDERING = ("<", "<=", ">", ">=")
# A segment's parts once each segment.<name> is written out in it: conditions, and, or, not.
# A segment that uses the one before it twice doubles it, and a chain of them grows beyond
# what a store's query can hold (SQLite: 500 terms to a compound SELECT) or Python recurse.
MAX_PARTS = 200
_EXAMPLE = (
    'segments look like: cart_added within 1h and not purchase within 24h, profile.grade = "VIP", '
    "reached goal order_checked within 30d, variant B of greeting_title"
)


def compile_segments(
    ctx: Context,
    bot: Node,
    events: Mapping[str, EventMeaning],
    profile: Mapping[str, ProfileAttribute],
) -> dict[str, Segment]:
    """The bot's segments, each resolved; a segment with a problem is left out (the problem
    is an error, so there is no bot to use them anyway)."""
    parsed: dict[str, tuple[Node, Expr]] = {}
    for name, node in bot.members("segments", "segment"):
        try:
            parsed[name] = (node, parse_segment(str(node.get("when"))))
        except SegmentSyntaxError as exc:
            ctx.reporter.add(
                "BK421" if exc.kind == "duration" else "BK418",
                node.where_in("when", exc.offset, exc.length),
                f"segment '{name}' cannot be read: {exc.message}",
                expected=exc.expected,
                hint=_EXAMPLE if exc.kind == "syntax" else None,
            )
    kinds = sorted({*events, *CHANNEL_KINDS})
    declared = set(bot.data.get("segments") or ())  # broken ones too: no follow-on BK318
    good: dict[str, Expr] = {}
    for name, (node, expr) in parsed.items():
        before = len(ctx.reporter.problems)
        _check(ctx, _inside(node, "when"), expr, kinds, profile, declared)
        if not any(p.severity is Severity.ERROR for p in ctx.reporter.problems[before:]):
            good[name] = expr
    _cycles(ctx, parsed)
    sizes = _sizes(good)
    out: dict[str, Segment] = {}
    done: dict[str, Expr] = {}
    for name, expr in good.items():
        if sizes[name] > MAX_PARTS:
            if all(sizes.get(ref.name, 0) <= MAX_PARTS for ref in _refs(expr)):  # else: there
                _too_large(ctx, parsed[name][0], name, sizes[name])
            continue
        resolved = _resolve(expr, good, done, (name,))
        if resolved is None:  # it uses a segment with a problem, reported there
            continue
        node = parsed[name][0]
        title = node.get("title")
        where = node.where("when")  # bot.yaml is small: reading its positions costs little
        out[name] = Segment(
            name,
            str(title) if title is not None else name,
            resolved,
            str(node.get("when")),
            where.source.path,
            where.line,
            where.column,
        )
    return out


def _atoms(expr: Expr) -> Iterator[Expr]:
    if isinstance(expr, All | AnyOf):
        for item in expr.items:
            yield from _atoms(item)
    elif isinstance(expr, Not):
        yield from _atoms(expr.inner)
    else:
        yield expr


def compile_condition(
    ctx: Context,
    node: Node,
    steps: tuple[str, ...],
    name: str,
    what: str,
    events: Mapping[str, EventMeaning],
    profile: Mapping[str, ProfileAttribute],
    segments: Mapping[str, Segment],
    declared: set[str],
) -> Segment | None:
    """One condition in the segment language written outside ``segments:`` (a campaign's
    exclusion rule, at ``steps`` under ``node``), compiled as a segment named ``name``: checked
    as bot.yaml's segments are, its ``segment.<name>`` filled in from the bot's compiled
    ``segments`` (``declared``: every segment bot.yaml names, broken ones too, so a broken one
    is not also called undeclared). ``what`` names it in problems. None: it has a problem."""
    key, *more = steps
    text = str(_value(node, steps))
    try:
        expr = parse_segment(text)
    except SegmentSyntaxError as exc:
        ctx.reporter.add(
            "BK421" if exc.kind == "duration" else "BK418",
            node.where_in(key, exc.offset, exc.length, *more),
            f"{what} cannot be read: {exc.message}",
            expected=exc.expected,
            hint=_EXAMPLE if exc.kind == "syntax" else None,
        )
        return None
    before = len(ctx.reporter.problems)
    kinds = sorted({*events, *CHANNEL_KINDS})
    _check(ctx, _inside(node, key, *more), expr, kinds, profile, declared)
    if any(p.severity is Severity.ERROR for p in ctx.reporter.problems[before:]):
        return None
    good = {segment: compiled.expr for segment, compiled in segments.items()}
    resolved = _resolve(expr, good, dict(good), (name,))
    if resolved is None:  # it uses a segment with a problem, reported there
        return None
    where = node.where_path(key, *more)
    return Segment(name, name, resolved, text, where.source.path, where.line, where.column)


def _value(node: Node, steps: tuple[str, ...]) -> object:
    value: object = node.data
    for step in steps:
        value = value[step] if isinstance(value, dict) else None
    return value


_At = Callable[[int, int], Callable[[], Where]]


def _inside(node: Node, key: str, *more: str) -> _At:
    """Where characters of the condition at ``key`` (``*more``) under ``node`` are, worked
    out only when a problem points there."""

    def at(offset: int, length: int) -> Callable[[], Where]:
        return lambda: node.where_in(key, offset, length, *more)

    return at


def _check(
    ctx: Context,
    at: _At,
    expr: Expr,
    kinds: list[str],
    profile: Mapping[str, ProfileAttribute],
    segments: set[str],
) -> None:
    for atom in _atoms(expr):
        if isinstance(atom, Behaviour) and atom.kind not in kinds:
            ctx.reporter.add(
                "BK319",
                at(atom.offset, len(atom.kind))(),
                f"no business event of kind '{atom.kind}' is declared, so this counts nothing"
                " unless the shop sends it",
                expected=_listed(kinds),
                found=f"'{atom.kind}'",
                hint=did_you_mean(atom.kind, kinds)
                or f"declare it under 'business_events:' in bot.yaml: {atom.kind}: {{}}",
            )
        elif isinstance(atom, GoalReached):
            ctx.reference("goals", atom.goal, at(atom.offset, len(atom.goal)), "BK307")
        elif isinstance(atom, VariantOf):
            _variant(ctx, atom, at)
        elif isinstance(atom, SegmentRef) and atom.name not in segments:
            ctx.reporter.add(
                "BK318",
                at(atom.offset + len("segment."), len(atom.name))(),
                f"segment '{atom.name}' is not declared",
                expected=_listed(sorted(segments), "segment"),
                found=f"'{atom.name}'",
                hint=did_you_mean(atom.name, segments)
                or "declare it under 'segments:' in bot.yaml",
            )
        elif isinstance(atom, Attr) and profile:
            _attribute(ctx, atom, profile, at)


def _variant(ctx: Context, atom: VariantOf, at: Callable[[int, int], Callable[[], Where]]) -> None:
    where = at(atom.experiment_offset, len(atom.experiment))
    if not ctx.reference("experiments", atom.experiment, where, "BK306"):
        return
    variants = ctx.experiment_variants.get(atom.experiment, ())
    if atom.variant not in variants:
        ctx.reporter.add(
            "BK306",
            at(atom.offset, len(atom.variant))(),
            f"experiment '{atom.experiment}' has no variant '{atom.variant}'",
            expected=_listed(list(variants), "variant"),
            found=f"'{atom.variant}'",
            hint=did_you_mean(atom.variant, variants),
        )


def _attribute(
    ctx: Context,
    atom: Attr,
    profile: Mapping[str, ProfileAttribute],
    at: Callable[[int, int], Callable[[], Where]],
) -> None:
    name_at = atom.offset + len("profile.")
    declared = profile.get(atom.name)
    if declared is None:  # BK317, as for a condition or a template
        ctx.read_profile(atom.name, at(name_at, len(atom.name)))
        return
    if atom.op in _ORDERING and declared.type in ("enum", "boolean", "list"):
        ctx.reporter.add(
            "BK420",
            at(name_at, len(atom.name))(),
            f"profile.{atom.name} is {_a(declared.type)}, which has no order",
            expected="=, !=, in [...] or is set",
            found=f"'{atom.op}'",
        )
        return
    for i, value in enumerate(atom.values):
        wrong = _mismatch(declared, value)
        if wrong is None:
            continue
        offset = atom.value_offsets[i] if i < len(atom.value_offsets) else atom.offset
        shown = _shown(value)
        ctx.reporter.add(
            "BK420",
            at(offset, len(shown))(),
            f"profile.{atom.name} is {_a(declared.type)}, and {wrong}",
            expected=_expected(declared),
            found=shown,
        )


def _mismatch(declared: ProfileAttribute, value: object) -> str | None:
    """What is wrong with comparing ``declared`` with ``value`` (None: nothing)."""
    kind = declared.type
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "number":
        return None if is_number else f"{_shown(value)} is not a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else f"{_shown(value)} is not true or false"
    if kind == "list":
        return None if is_number or isinstance(value, str) else f"{_shown(value)} is no item"
    if not isinstance(value, str):
        return f"{_shown(value)} is not a text in quotes"
    if kind == "enum" and declared.values and value not in declared.values:
        return f"{_shown(value)} is not one of its values"
    if kind == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"{_shown(value)} is not a day written YYYY-MM-DD"
        if len(value) != len("2026-11-03"):
            return f"{_shown(value)} is not a day written YYYY-MM-DD"
    return None


def _expected(declared: ProfileAttribute) -> str:
    if declared.type == "enum" and declared.values:
        return "one of " + ", ".join(f'"{v}"' for v in declared.values)
    return {
        "number": "a number, e.g. 30",
        "boolean": "true or false",
        "date": 'a day in quotes, e.g. "2026-11-03"',
        "list": 'an item in quotes, e.g. "골프"',
    }.get(declared.type, 'a text in quotes, e.g. "서울"')


def _a(kind: str) -> str:
    return {"enum": "a choice (enum)", "boolean": "true or false", "list": "a list"}.get(
        kind, f"a {kind}"
    )


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _listed(names: list[str], noun: str = "kind") -> str:
    if not names:
        return f"a declared {noun} (none are declared)"
    if len(names) <= 10:
        return "one of " + ", ".join(f"'{n}'" for n in names)
    return f"one of the {len(names)} declared {noun}s"


def _refs(expr: Expr) -> list[SegmentRef]:
    return [a for a in _atoms(expr) if isinstance(a, SegmentRef)]


def _cycles(ctx: Context, parsed: Mapping[str, tuple[Node, Expr]]) -> None:
    """BK419 once per cycle, at the reference that closes it."""
    state: dict[str, int] = {}  # 1: being visited, 2: done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        node, expr = parsed[name]
        for ref in _refs(expr):
            if ref.name not in parsed:
                continue
            if state.get(ref.name) == 1:
                loop = [*path[path.index(ref.name) :], ref.name]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    ctx.reporter.add(
                        "BK419",
                        node.where_in("when", ref.offset + len("segment."), len(ref.name)),
                        f"segment '{ref.name}' is defined through itself: " + " → ".join(loop),
                        hint="a segment may use other segments, but none may come back to it;"
                        " write the shared part out in one of them",
                    )
            elif ref.name not in state:
                visit(ref.name, [*path, ref.name])
        state[name] = 2

    for name in parsed:
        if name not in state:
            visit(name, [name])


def _sizes(good: Mapping[str, Expr]) -> dict[str, int]:
    """How many parts each segment has written out in full (:data:`MAX_PARTS`), counted
    before anything is written out: a ``segment.<name>`` counts that segment's, once worked
    out; a cycle or a segment with a problem counts nothing (reported, and left out, anyway)."""
    sizes: dict[str, int] = {}

    def count(expr: Expr) -> int:
        if isinstance(expr, All | AnyOf):
            return 1 + sum(count(item) for item in expr.items)
        if isinstance(expr, Not):
            return 1 + count(expr.inner)
        if isinstance(expr, SegmentRef):
            if expr.name not in good:
                return 0
            if expr.name not in sizes:
                sizes[expr.name] = 0  # while it is counted: a cycle comes back to nothing
                sizes[expr.name] = count(good[expr.name])
            return sizes[expr.name]
        return 1

    for name, expr in good.items():
        if name not in sizes:
            sizes[name] = 0
            sizes[name] = count(expr)
    return sizes


def _too_large(ctx: Context, node: Node, name: str, size: int) -> None:
    ctx.reporter.add(
        "BK419",
        node.where("when"),
        f"segment '{name}' is too large: written out with the segments it uses, it has {size}"
        f" parts (conditions, and, or, not), more than {MAX_PARTS}",
        hint="each segment.<name> is written out where it is used, so a segment that uses"
        " another twice doubles it; use each segment once, or write the shared part out",
    )


def _resolve(
    expr: Expr, good: Mapping[str, Expr], done: dict[str, Expr], stack: tuple[str, ...]
) -> Expr | None:
    """``expr`` with every ``segment.<name>`` filled in (None: it reaches a segment with a
    problem, or a cycle)."""
    if isinstance(expr, All | AnyOf):
        items = [_resolve(item, good, done, stack) for item in expr.items]
        if any(item is None for item in items):
            return None
        return type(expr)(tuple(i for i in items if i is not None))
    if isinstance(expr, Not):
        inner = _resolve(expr.inner, good, done, stack)
        return None if inner is None else Not(inner)
    if isinstance(expr, SegmentRef):
        name = expr.name
        if name in stack or name not in good:
            return None
        if name not in done:
            resolved = _resolve(good[name], good, done, (*stack, name))
            if resolved is None:
                return None
            done[name] = resolved
        return replace(expr, expr=done[name])
    return expr
