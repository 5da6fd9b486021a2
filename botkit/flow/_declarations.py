"""Compiling what a bot declares once and uses everywhere: slots, intents, actions, goals,
experiments, promotions and business hours. Ids are bot-wide whichever file declares them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from botkit.errors import PatternError
from botkit.flow import _yaml
from botkit.flow._context import Context, Spot
from botkit.flow._locales import compile_intent
from botkit.flow._messages import compile_message_list, compile_messages, compile_text
from botkit.flow._node import Node
from botkit.flow._profile import compile_profile
from botkit.flow._report import Where
from botkit.flow._slot_updates import compile_require
from botkit.flow.durations import seconds
from botkit.flow.model import (
    Action,
    Experiment,
    Goal,
    Hours,
    HttpCall,
    Intent,
    ProfileAttribute,
    Promotion,
    Slot,
)
from botkit.flow.patterns import SafePattern, compile_pattern
from botkit.flow.templates import Template
from botkit.text import squash

__all__ = ["Declarations", "compile_declarations"]

_KINDS = ("slots", "intents", "actions", "goals", "experiments", "promotions", "business_hours")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DEADLINE = 3.0
ORDER_NUMBER_DIGITS = 10  # an order number's length unless the slot says: 1234-567-890


@dataclass(slots=True)
class Declarations:
    slots: dict[str, Slot] = field(default_factory=dict)
    intents: dict[str, Intent] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    promotions: dict[str, Promotion] = field(default_factory=dict)
    hours: dict[str, Hours] = field(default_factory=dict)
    profile: dict[str, ProfileAttribute] | None = None  # None: bot.yaml declares none


def compile_declarations(
    ctx: Context,
    bot: Node | None,
    flows: list[Node],
    broken: list[_yaml.Document],
) -> Declarations:
    owners = ([bot] if bot is not None else []) + flows
    _declare_ids(ctx, owners, broken)
    _note_what_states_check(ctx, owners)
    out = Declarations()
    if bot is not None:  # before any template or condition, which are checked against it
        out.profile = compile_profile(ctx, bot)
    for owner in owners:
        _compile_owner(ctx, owner, out)
    return out


def _declare_ids(ctx: Context, owners: list[Node], broken: list[_yaml.Document]) -> None:
    """Phase 3: every id, from every file (also broken ones, so references to them resolve)."""
    for doc in [o.doc for o in owners] + broken:
        data = doc.data if isinstance(doc.data, dict) else {}
        for kind in _KINDS:
            table = getattr(ctx.declared, "hours" if kind == "business_hours" else kind)
            members = data.get(kind)
            if not isinstance(members, dict):
                continue
            for name in members:
                spot = Spot(doc, (kind, name))
                if name in table:
                    _duplicate(ctx, kind, name, spot.where, table[name].where)
                else:
                    table[name] = spot


def _note_what_states_check(ctx: Context, owners: list[Node]) -> None:
    """What compiling a state checks against, before any declaration is compiled: which slots
    can be asked for, each experiment's variants, each action's results."""
    for owner in owners:
        for name, node in owner.members("slots", "slot"):
            ctx.slot_prompts[name] = node.data.get("prompt") is not None
        for name, node in owner.members("experiments", "experiment"):
            variants = node.get("variants") or {}
            ctx.experiment_variants[name] = tuple(variants)
        for name, node in owner.members("actions", "action"):
            ctx.action_results[name] = _results_of(node)
        for _name, node in owner.members("slots", "slot"):
            node.get("title")  # titles are for people (reports, diagrams); read to stay in step


def _compile_owner(ctx: Context, owner: Node, out: Declarations) -> None:
    """Compile what one file (the bot settings or a flow) declares into ``out``."""
    flow = str(owner.get("flow")) if owner.kind == "flow" else None
    for name, node in owner.members("slots", "slot"):
        out.slots[name] = _slot(ctx, name, node, flow)
    for name, node in owner.members("intents", "intent"):
        out.intents[name] = compile_intent(ctx, name, node)
    for name, node in owner.members("actions", "action"):
        action = _action(ctx, name, node)
        if action is not None:
            out.actions[name] = action
    for name, node in owner.members("goals", "goal"):
        value = node.get("value")
        out.goals[name] = Goal(name, str(node.get("title")), value)
    for name, node in owner.members("experiments", "experiment"):
        out.experiments[name] = _experiment(ctx, name, node)
    for name, node in owner.members("promotions", "promotion"):
        out.promotions[name] = _promotion(ctx, name, node, flow)
    if owner.kind == "bot":
        for name, node in owner.members("business_hours", "hours"):
            out.hours[name] = _hours(name, node)


def _promotion(ctx: Context, name: str, node: Node, flow: str | None) -> Promotion:
    """A promotion: its dates must be days of the calendar, the last not before the first;
    the states its ``offer`` names must exist (a bare name there is a payload)."""
    days: dict[str, dt.date] = {}
    for key in ("starts", "ends"):
        value = node.get(key)
        if isinstance(value, str):
            try:
                days[key] = dt.date.fromisoformat(value)
            except ValueError:
                ctx.reporter.add(
                    "BK316",
                    node.where(key),
                    f"promotion '{name}' {key} on '{value}', which is not a day of the calendar",
                    expected="a date as YYYY-MM-DD",
                    found=f"'{value}'",
                    hint="check the month and the day",
                )
    if "starts" in days and "ends" in days and days["ends"] < days["starts"]:
        ctx.reporter.add(
            "BK316",
            node.where("ends"),
            f"promotion '{name}' ends on {days['ends']}, before it starts ({days['starts']})",
            expected=f"a last day on or after {days['starts']}",
            found=str(days["ends"]),
            hint="'ends' is the last day the promotion runs, inclusive",
        )
    offer: list[str] = []
    entries = node.get("offer")
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        entry = str(entry)
        if "." in entry and ctx.resolve(entry, node.where_path("offer", i), flow) is None:
            continue
        offer.append(entry)
    return Promotion(
        name,
        str(node.get("title")),
        node.get("cost"),
        node.get("starts"),
        node.get("ends"),
        tuple(offer),
    )


def _duplicate(ctx: Context, kind: str, name: str, where: Where, first: Where) -> None:
    noun = {"business_hours": "business hours", "slots": "slot"}.get(kind, kind.rstrip("s"))
    ctx.reporter.add(
        "BK308",
        where,
        f"{noun} '{name}' is declared twice",
        found=f"first declared at {first.source.path}:{first.line}",
        hint=f"ids of {kind.replace('_', ' ')} are shared by the whole bot; rename one, or keep "
        "one declaration (shared ones belong in bot.yaml)",
    )


def _results_of(node: Node) -> frozenset[str]:
    results = {"ok", "error", "timeout"}
    results.update(str(r) for r in node.get("results") or ())
    on_status = node.get("on_status")
    if isinstance(on_status, dict):
        results.update(str(v) for v in on_status.values())
    return frozenset(results)


def _slot(ctx: Context, name: str, node: Node, flow: str | None) -> Slot:
    kind = str(node.get("type"))
    pattern = _slot_pattern(ctx, name, node, kind)
    values = _slot_values(ctx, name, node, kind)
    low, high, low_len, high_len = _slot_bounds(ctx, name, node)
    if kind == "order_number":  # never any number of digits: the schema shows these defaults
        if low_len is None:
            low_len = min(ORDER_NUMBER_DIGITS, high_len or ORDER_NUMBER_DIGITS)
        if high_len is None:
            high_len = max(ORDER_NUMBER_DIGITS, low_len)
    exhausted = ctx.target(node, "on_exhausted", flow) if node.has("on_exhausted") else None
    reprompt = node.get("reprompt")
    reprompts = (
        compile_messages(ctx, node, "reprompt", flow)
        if isinstance(reprompt, str)
        else compile_message_list(ctx, node, "reprompt", flow)
    )
    return Slot(
        name=name,
        title=str(node.get("title") or name),
        type=kind,
        prompt=compile_messages(ctx, node, "prompt", flow),
        reprompts=reprompts,
        max_attempts=int(node.get("max_attempts", 3)),
        on_exhausted=exhausted,
        confirm=compile_text(ctx, node, "confirm") if node.has("confirm") else None,
        validator=node.get("validator"),
        values=MappingProxyType(values),
        pattern=pattern,
        min=low,
        max=high,
        min_length=low_len,
        max_length=high_len,
        sensitive=bool(node.get("sensitive", False)),
    )


def _slot_pattern(ctx: Context, name: str, node: Node, kind: str) -> SafePattern | None:
    """The slot's ``pattern``, compiled; a regex slot must have one."""
    pattern = None
    if node.has("pattern"):
        try:
            pattern = compile_pattern(str(node.get("pattern")))
        except PatternError as exc:
            ctx.reporter.add(exc.code, node.where("pattern"), exc.message, hint=exc.hint)
        if pattern is not None and pattern.doubt is not None:  # BK414, a warning
            d = pattern.doubt
            ctx.reporter.add(d.code, node.where("pattern"), d.message, hint=d.hint)
    elif kind == "regex":
        ctx.reporter.add(
            "BK203",
            node.where(),
            f"slot '{name}' of type regex is missing 'pattern'",
            expected="a 'pattern:' key with the regular expression answers must match",
        )
    return pattern


def _slot_values(ctx: Context, name: str, node: Node, kind: str) -> dict[str, tuple[str, ...]]:
    """Each allowed value with the words that mean it (itself first); an enum slot needs some."""
    values: dict[str, tuple[str, ...]] = {}
    raw_values = node.get("values")
    if isinstance(raw_values, list):
        values = {str(v): (squash(str(v)),) for v in raw_values}
    elif isinstance(raw_values, dict):
        values = {
            str(v): (squash(str(v)), *(squash(s) for s in syns or ()))
            for v, syns in raw_values.items()
        }
    if kind == "enum" and not values:
        ctx.reporter.add(
            "BK203",
            node.where(),
            f"slot '{name}' of type enum is missing 'values'",
            expected="a 'values:' list of the allowed answers",
        )
    return values


def _slot_bounds(ctx: Context, name: str, node: Node) -> tuple[Any, Any, Any, Any]:
    """``min``, ``max``, ``min_length`` and ``max_length`` as written; a max below its min is
    reported (the schema has already checked each one's type)."""
    low, high = node.get("min"), node.get("max")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        ctx.reporter.add(
            "BK207",
            node.where("max"),
            f"slot '{name}' has max {high} below min {low}",
            expected=f"a max of at least {low}",
            found=f"the number {high}",
        )
    low_len, high_len = node.get("min_length"), node.get("max_length")
    if isinstance(low_len, int) and isinstance(high_len, int) and low_len > high_len:
        ctx.reporter.add(
            "BK207",
            node.where("max_length"),
            f"slot '{name}' has max_length {high_len} below min_length {low_len}",
            expected=f"a max_length of at least {low_len}",
            found=f"the number {high_len}",
        )
    return low, high, low_len, high_len


def _action(ctx: Context, name: str, node: Node) -> Action | None:
    has_function, has_http = node.has("function"), node.has("http")
    if has_function and has_http:
        ctx.reporter.add(
            "BK208",
            node.where("http", at_key=True),
            f"action '{name}' is either a function or an HTTP call, not both",
            hint="split it into two actions",
        )
        return None
    if not has_function and not has_http:
        ctx.reporter.add(
            "BK203",
            node.where(),
            f"action '{name}' says neither what function to run nor what to call",
            expected="'function: <registered name>' or 'http:' with a url",
        )
        return None
    for slot in node.get("save") or {}:
        ctx.reference("slots", slot, partial(node.where_path, "save", slot, at_key=True), "BK302")
    http = _http(ctx, node.node("http", "http")) if has_http else None
    on_status = {int(k): str(v) for k, v in (node.get("on_status") or {}).items()}
    return Action(
        name=name,
        title=str(node.get("title") or name),
        function=node.get("function"),
        http=http,
        deadline=seconds(str(node.get("deadline"))) if node.has("deadline") else DEFAULT_DEADLINE,
        save=MappingProxyType(
            {str(k): tuple(str(v).split(".")) for k, v in (node.get("save") or {}).items()}
        ),
        results=ctx.action_results.get(name, frozenset()),
        on_status=MappingProxyType(on_status),
        require=compile_require(ctx, name, node),
    )


def _http(ctx: Context, node: Node | None) -> HttpCall | None:
    if node is None:
        return None

    def templates(key: str) -> dict[str, Template]:
        return {
            str(k): ctx.template(node, key, str(v), k, allow_env=True)
            for k, v in (node.get(key) or {}).items()
        }

    body = node.get("body")
    return HttpCall(
        method=str(node.get("method") or "GET"),
        url=ctx.template(node, "url", str(node.get("url")), allow_env=True),
        headers=MappingProxyType(templates("headers")),
        query=MappingProxyType(templates("query")),
        body=MappingProxyType(_body(ctx, node, body, ("body",)))
        if isinstance(body, dict)
        else None,
    )


def _body(ctx: Context, node: Node, value: Any, steps: tuple[str | int, ...]) -> Any:
    if isinstance(value, str):
        return ctx.template(node, steps[0], value, *steps[1:], allow_env=True)
    if isinstance(value, dict):
        return {k: _body(ctx, node, v, (*steps, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(ctx, node, v, (*steps, i)) for i, v in enumerate(value)]
    return value


def _experiment(ctx: Context, name: str, node: Node) -> Experiment:
    variants = node.get("variants") or {}
    total = sum(float(w) for w in variants.values())
    if abs(total - 100.0) > 1e-9:
        shown = " + ".join(f"{k} {w:g}" for k, w in variants.items())
        ctx.reporter.add(
            "BK405",
            node.where("variants", at_key=True),
            f"the weights of experiment '{name}' add up to {total:g}, not 100",
            expected="weights that add up to 100 (they are percentages of users)",
            found=shown,
            hint="e.g. 50 and 50 for two variants, or 34, 33 and 33 for three",
        )
    goal = node.get("goal")
    if goal is not None:
        ctx.reference("goals", goal, lambda: node.where("goal"), "BK307")
    return Experiment(
        name,
        str(node.get("title") or name),
        tuple((str(k), float(w)) for k, w in variants.items()),
        goal,
        node.get("min_effect"),
    )


def _hours(name: str, node: Node) -> Hours:
    days: dict[int, list[tuple[int, int]]] = {}
    for spec, span in (node.get("days") or {}).items():
        first, _, last = spec.partition("-")
        lo, hi = _DAYS.index(first), _DAYS.index(last or first)
        covered = range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)]
        for day in covered:
            if span == "closed":
                days[day] = []
                continue
            start, end = span.split("-")
            days.setdefault(day, []).append((_minutes(start), _minutes(end)))
    return Hours(
        name,
        str(node.get("timezone")),
        MappingProxyType({d: tuple(v) for d, v in days.items()}),
        frozenset(str(h) for h in node.get("holidays") or ()),
    )


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)
