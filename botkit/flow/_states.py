"""Compiling states and their transitions."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from types import MappingProxyType
from typing import Any

from botkit.errors import ConditionError, PatternError
from botkit.flow._context import Context
from botkit.flow._locales import compile_phrases, compile_switch
from botkit.flow._messages import compile_message_list, compile_messages
from botkit.flow._node import Node
from botkit.flow._slot_updates import compile_update
from botkit.flow._words import all_of, did_you_mean, one_of
from botkit.flow.conditions import Condition, names, parse_condition
from botkit.flow.durations import seconds
from botkit.flow.model import (
    NO_WORDS,
    Branch,
    Fallback,
    HandoffSpec,
    State,
    StateKind,
    Target,
    Transition,
    Variant,
)
from botkit.flow.patterns import SafePattern, compile_pattern

__all__ = ["compile_fallback", "compile_flow_states", "compile_transitions"]

TRIGGERS = ("payload", "keywords", "regex", "intent", "examples", "result", "any")
_KINDS = ("collect", "call", "handoff", "end")


def compile_flow_states(ctx: Context, flow_node: Node, flow: str) -> dict[str, State]:
    start = flow_node.get("start")
    if start not in ctx.declared.states.get(flow, {}):
        states = ctx.declared.states.get(flow, {})
        ctx.reporter.add(
            "BK301",
            flow_node.where("start"),
            f"flow '{flow}' starts in '{start}', which is not one of its states",
            expected=one_of(f"'{s}'" for s in sorted(states)[:8]),
            found=f"'{start}'",
            hint=did_you_mean(str(start), states),
        )
    out: dict[str, State] = {}
    for state_id, node in flow_node.members("states", "state"):
        out[state_id] = _state(ctx, node, flow, state_id)
    return out


def _state(ctx: Context, node: Node, flow: str, state_id: str) -> State:
    kind = _kind(ctx, node, state_id)
    in_call = str(node.get("call")) if kind is StateKind.CALL else None
    if kind is StateKind.CALL:
        ctx.reference("actions", node.get("call"), lambda: node.where("call"), "BK303")
    collect = _collect(ctx, node)
    _check_ways_out(ctx, node, state_id, kind)
    goals = _goals(ctx, node)
    if node.has("promotion"):
        ctx.reference(
            "promotions", node.get("promotion"), lambda: node.where("promotion"), "BK311"
        )
    variants = _variants(ctx, node, flow, state_id, in_call)
    return State(
        flow=flow,
        id=state_id,
        kind=kind,
        title=str(node.get("title") or ""),
        description=str(node.get("description") or ""),
        say=compile_messages(ctx, node, "say", flow),
        collect=collect,
        call=in_call,
        handoff=_handoff(ctx, node.node("handoff", "handoff"), flow, state_id),
        end=node.get("end"),
        goals=goals,
        promotion=node.get("promotion"),
        experiment=node.get("experiment"),
        variants=variants,
        on=compile_transitions(ctx, node, "on", flow, in_call=in_call),
        next=_branches(ctx, node, "next", flow),
        fallback=compile_fallback(ctx, node.node("fallback", "fallback"), flow),
    )


def _kind(ctx: Context, node: Node, state_id: str) -> StateKind:
    """What the state does besides speaking; a state does at most one such thing."""
    kinds = node.present(_KINDS)
    if len(kinds) > 1:
        ctx.reporter.add(
            "BK208",
            node.where(kinds[1], at_key=True),
            f"state '{state_id}' can do one of collect, call, handoff or end, but has "
            f"{all_of(repr(k) for k in kinds)}",
            hint="split it into two states, the first going to the second with 'next:'",
        )
    return StateKind(kinds[0]) if kinds else StateKind.MESSAGE


def _check_ways_out(ctx: Context, node: Node, state_id: str, kind: StateKind) -> None:
    """End and handoff states have no ways out of their own; a call state routes only on its
    action's result."""
    for way_out in ("on", "next"):
        if node.has(way_out) and kind in (StateKind.END, StateKind.HANDOFF):
            ctx.reporter.add(
                "BK208",
                node.where(way_out, at_key=True),
                f"state '{state_id}' is {'an end' if kind is StateKind.END else 'a handoff'} "
                f"state and cannot have '{way_out}'",
                hint="an end state ends the conversation"
                if kind is StateKind.END
                else "the agent decides where the user goes back to: see 'resume'",
            )
    if node.has("next") and kind is StateKind.CALL:
        ctx.reporter.add(
            "BK208",
            node.where("next", at_key=True),
            f"state '{state_id}' runs an action; it routes on the action's result",
            hint="write the routes under 'on:' as '- result: ok' / '- result: error'",
        )


def _goals(ctx: Context, node: Node) -> tuple[str, ...]:
    """The goals reached on entering the state (``goal:`` is one id or a list of them)."""
    goals = node.get("goal")
    goal_list = [goals] if isinstance(goals, str) else list(goals or ())
    for i, goal in enumerate(goal_list):
        steps: tuple[str | int, ...] = ("goal",) if isinstance(goals, str) else ("goal", i)
        ctx.reference("goals", goal, partial(node.where_path, *steps), "BK307")
    return tuple(str(g) for g in goal_list)


def _collect(ctx: Context, node: Node) -> tuple[str, ...]:
    value = node.get("collect")
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for i, slot in enumerate(items):
        steps: tuple[str | int, ...] = ("collect",) if isinstance(value, str) else ("collect", i)
        if not ctx.reference("slots", slot, partial(node.where_path, *steps), "BK302"):
            continue
        if not ctx.slot_prompts.get(str(slot), True):
            ctx.reporter.add(
                "BK404",
                node.where_path(*steps),
                f"slot '{slot}' is collected here but has no prompt to ask for it",
                expected=f"a 'prompt:' in the declaration of slot '{slot}'",
                hint='add e.g. prompt: "주문번호를 알려 주세요." to the slot',
            )
        out.append(str(slot))
    return tuple(out)


def _variants(
    ctx: Context, node: Node, flow: str, state_id: str, in_call: str | None
) -> MappingProxyType[str, Variant] | None:
    experiment = node.get("experiment")
    overrides = list(node.members("variants", "variant"))
    if experiment is not None and not ctx.reference(
        "experiments", experiment, lambda: node.where("experiment"), "BK306"
    ):
        return None
    if overrides and experiment is None:
        ctx.reporter.add(
            "BK208",
            node.where("variants", at_key=True),
            f"state '{state_id}' has variants but runs no experiment",
            hint="add 'experiment: <id>' naming the experiment these variants belong to",
        )
        return None
    if experiment is None:
        return None
    known = ctx.experiment_variants.get(str(experiment), ())
    out: dict[str, Variant] = {}
    for name, v in overrides:
        if name not in known:
            ctx.reporter.add(
                "BK306",
                node.where_path("variants", name, at_key=True),
                f"experiment '{experiment}' has no variant '{name}'",
                expected=one_of(f"'{k}'" for k in known),
                found=f"'{name}'",
                hint=did_you_mean(name, known),
            )
            continue
        out[name] = Variant(
            say=compile_messages(ctx, v, "say", flow) if v.has("say") else None,
            on=compile_transitions(ctx, v, "on", flow, in_call=in_call) if v.has("on") else None,
            next=_branches(ctx, v, "next", flow) if v.has("next") else None,
        )
    return MappingProxyType(out)


def compile_transitions(
    ctx: Context, owner: Node, key: str, flow: str | None, *, in_call: str | None
) -> tuple[Transition, ...]:
    out: list[Transition] = []
    for t in owner.nodes(key, "transition"):
        transition = _transition(ctx, t, flow, in_call, is_global=key == "global")
        if transition is not None:
            out.append(transition)
    return tuple(out)


def _transition(
    ctx: Context, t: Node, flow: str | None, in_call: str | None, *, is_global: bool
) -> Transition | None:
    trigger = _trigger(ctx, t)
    if trigger is None:
        return None
    value = t.get(trigger)
    if not _routes_as_its_state_can(ctx, t, trigger, value, in_call):
        return None
    pattern: SafePattern | None = None
    if trigger == "regex":
        pattern = _regex(ctx, t, value)
        if pattern is None:
            return None
    if trigger == "intent" and not ctx.reference(
        "intents", value, lambda: t.where("intent"), "BK304"
    ):
        return None
    condition, condition_source = _condition(ctx, t)
    target = ctx.target(t, "to", flow)
    say = compile_messages(ctx, t, "say", flow)
    if target is None:
        return None
    words, other_words = (
        compile_phrases(ctx, t, trigger, "", check=not t.has("locale"))
        if trigger in ("keywords", "examples")
        else ((), NO_WORDS)
    )
    label = _label(trigger, value)
    if condition_source:
        label += f" if {condition_source}"
    return Transition(
        trigger=trigger,
        target=target,
        payload=str(value) if trigger == "payload" else None,
        keywords=words if trigger == "keywords" else (),
        pattern=pattern,
        intent=str(value) if trigger == "intent" else None,
        examples=words if trigger == "examples" else (),
        result=str(value) if trigger == "result" else None,
        condition=condition,
        condition_source=condition_source,
        say=say,
        label=("global " if is_global else "") + label,
        update=compile_update(ctx, t),
        keywords_by_locale=other_words if trigger == "keywords" else NO_WORDS,
        examples_by_locale=other_words if trigger == "examples" else NO_WORDS,
        locale=compile_switch(ctx, t),
    )


def _trigger(ctx: Context, t: Node) -> str | None:
    """The one thing that takes the transition (None, reported, when it has none or several)."""
    triggers = t.present(TRIGGERS)
    if len(triggers) > 1:
        ctx.reporter.add(
            "BK208",
            t.where(triggers[1], at_key=True),
            f"a transition has one trigger, but this one has {all_of(repr(k) for k in triggers)}",
            hint="write one transition per trigger, each with its own 'to'",
        )
        return None
    if not triggers:
        hint = (
            "for a condition checked without waiting for the user, use 'next:' with 'if'"
            if t.has("if")
            else "say when it is taken: payload, keywords, regex, intent, examples, result or any"
        )
        ctx.reporter.add(
            "BK210",
            t.where(),
            "this transition does not say when it is taken",
            expected="one of 'payload', 'keywords', 'regex', 'intent', 'examples', 'result' "
            "or 'any'",
            hint=hint,
        )
        return None
    return triggers[0]


def _routes_as_its_state_can(
    ctx: Context, t: Node, trigger: str, value: Any, in_call: str | None
) -> bool:
    """A state that runs an action goes on by the action's results, and only such a state has
    ``result`` routes, each a result the action can return."""
    if in_call is not None and trigger != "result":
        ctx.reporter.add(
            "BK208",
            t.where(trigger, at_key=True),
            f"this state runs action '{in_call}' and goes on by its result, not by '{trigger}'",
            hint="write '- result: ok' / '- result: error' routes",
        )
        return False
    if trigger != "result":
        return True
    if in_call is None:
        ctx.reporter.add(
            "BK314",
            t.where("result", at_key=True),
            "'result' routes belong to a state that runs an action ('call:')",
            hint="use payload, keywords, intent, examples, regex or any here",
        )
        return False
    results = ctx.action_results.get(in_call)
    if results is not None and value not in results:
        ctx.reporter.add(
            "BK314",
            t.where("result"),
            f"action '{in_call}' never returns '{value}'",
            expected=one_of(f"'{r}'" for r in sorted(results)),
            found=f"'{value}'",
            hint=did_you_mean(str(value), results)
            or f"declare it in 'results:' (or 'on_status:') of action '{in_call}'",
        )
        return False
    return True


def _regex(ctx: Context, t: Node, value: Any) -> SafePattern | None:
    """A ``regex`` trigger's pattern, compiled (None, reported, when it cannot be used)."""
    try:
        pattern = compile_pattern(str(value))
    except PatternError as exc:
        ctx.reporter.add(exc.code, t.where("regex"), exc.message, hint=exc.hint)
        return None
    if pattern.doubt is not None:  # BK414, a warning
        d = pattern.doubt
        ctx.reporter.add(d.code, t.where("regex"), d.message, hint=d.hint)
    return pattern


def _label(trigger: str, value: Any) -> str:
    if trigger in ("keywords", "examples"):
        if isinstance(value, dict):  # per locale: named by the words of its first locale
            value = next(iter(value.values()), None) or []
        shown = ", ".join(str(v) for v in value[:3]) + (", …" if len(value) > 3 else "")
        return f"{trigger}: {shown}"
    if trigger == "any":
        return "any text"
    return f"{trigger}: {value}"


def _condition(ctx: Context, node: Node) -> tuple[Condition | None, str | None]:
    source = node.get("if")
    if source is None:
        return None, None
    text = str(source)
    try:
        condition = parse_condition(text)
    except ConditionError as exc:
        ctx.reporter.add(
            "BK408",
            node.where_in("if", exc.offset, exc.length),
            f"the condition cannot be read: {exc.message}",
            hint="conditions look like: score <= 2, profile.tier == 'gold', "
            "category in ['refund', 'exchange']",
        )
        return None, text
    for name in names(condition):
        if name.scope == "slot" and name.name not in ctx.declared.slots:
            ctx.reporter.add(
                "BK302",
                node.where_in("if", name.offset, len(name.name)),
                f"the condition reads '{name.name}', which is not a slot",
                expected="a slot, profile.<field>, promotion.<name>, segment.<name>, channel or "
                "locale",
                found=f"'{name.name}'",
                hint=did_you_mean(name.name, ctx.declared.slots),
            )
        elif name.scope == "promotion":  # pointed at after "promotion."
            at = name.offset + len("promotion.")
            where = partial(node.where_in, "if", at, len(name.name))
            ctx.reference("promotions", name.name, where, "BK311")
        elif name.scope == "segment":  # pointed at after "segment."
            at = name.offset + len("segment.")
            where = partial(node.where_in, "if", at, len(name.name))
            ctx.reference("segments", name.name, where, "BK318")
        elif name.scope == "profile":  # pointed at after "profile."
            at = name.offset + len("profile.")
            ctx.read_profile(name.name, partial(node.where_in, "if", at, len(name.name)))
    return condition, text


def _branches(ctx: Context, node: Node, key: str, flow: str) -> tuple[Branch, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        target = ctx.target(node, key, flow)
        return (Branch(target),) if target else ()
    out: list[Branch] = []
    for b in node.nodes(key, "branch"):
        condition, source = _condition(ctx, b)
        target = ctx.target(b, "to", flow)
        say = compile_messages(ctx, b, "say", flow)
        update = compile_update(ctx, b)
        if target is not None:
            out.append(Branch(target, condition, source, say, update))
    return tuple(out)


def compile_fallback(ctx: Context, node: Node | None, flow: str | None) -> Fallback | None:
    if node is None:
        return None
    escalate = ctx.target(node, "escalate_to", flow) if node.has("escalate_to") else None
    return Fallback(
        messages=compile_message_list(ctx, node, "messages", flow),
        max_misses=int(node.get("max_misses", 3)),
        escalate_to=escalate,
    )


def _handoff(ctx: Context, node: Node | None, flow: str, state_id: str) -> HandoffSpec | None:
    if node is None:
        return None
    if node.has("hours"):
        ctx.reference("hours", node.get("hours"), lambda: node.where("hours"), "BK312")

    def target(key: str) -> Target | None:
        return ctx.target(node, key, flow) if node.has(key) else None

    resume = target("resume")
    if not node.has("resume"):
        ctx.reporter.add(
            "BK403",
            node.where(),
            f"handoff state '{state_id}' never gives the user back to the bot",
            expected="'resume: <state>' for when the agent releases the user",
            hint="e.g. 'resume: start'; the agent can still pick another state",
        )
    elif resume == (flow, state_id):
        ctx.reporter.add(
            "BK403",
            node.where("resume"),
            f"handoff state '{state_id}' resumes in itself, so the user never gets back",
            hint="resume in the state the user should return to, e.g. the menu",
        )
    wait = node.get("wait_timeout")
    if wait is not None and not node.has("on_timeout"):
        ctx.reporter.add(
            "BK203",
            node.where("wait_timeout", at_key=True),
            f"handoff state '{state_id}' waits {wait} for an agent but says nothing of what "
            "happens then",
            expected="'on_timeout: <state>'",
            hint="e.g. a state that takes a phone number for a call-back",
        )
    if node.has("hours") and not node.has("outside_hours"):
        ctx.reporter.add(
            "BK203",
            node.where("hours", at_key=True),
            f"handoff state '{state_id}' has business hours but no 'outside_hours' state",
            expected="'outside_hours: <state>'",
        )
    return HandoffSpec(
        reason=str(node.get("reason") or "user_request"),
        message=compile_messages(ctx, node, "message", flow),
        queue=node.get("queue"),
        wait_timeout=seconds(str(wait)) if wait is not None else None,
        on_timeout=target("on_timeout"),
        hours=node.get("hours"),
        outside_hours=target("outside_hours"),
        resume=resume or (flow, state_id),
        while_waiting=compile_messages(ctx, node, "while_waiting", flow),
        leave=_ways_out_of_the_queue(ctx, node, flow, state_id),
    )


_LEAVE_TRIGGERS = ("payload", "keywords", "regex", "intent")


def _ways_out_of_the_queue(
    ctx: Context, node: Node, flow: str, state_id: str
) -> tuple[Transition, ...]:
    """``leave:`` of a handoff: transitions a waiting user takes out of the queue, matched on
    exactly what they say or press (an example phrase or 'any' would take ordinary words for
    the agent out of the queue)."""
    out: list[Transition] = []
    for entry in node.nodes("leave", "transition"):
        triggers = entry.present(TRIGGERS)
        if len(triggers) == 1 and triggers[0] not in _LEAVE_TRIGGERS:
            ctx.reporter.add(
                "BK208",
                entry.where(triggers[0], at_key=True),
                f"handoff state '{state_id}' lets the user leave the queue on "
                f"'{triggers[0]}', which would also take words meant for the agent",
                expected=one_of(f"'{k}'" for k in _LEAVE_TRIGGERS),
                found=f"'{triggers[0]}'",
                hint="name the words or the button that leave: keywords: [대기 취소] or "
                "payload: leave_queue",
            )
            continue
        t = _transition(ctx, entry, flow, None, is_global=False)
        if t is not None:
            out.append(replace(t, label=f"leave {t.label}"))
    return tuple(out)
