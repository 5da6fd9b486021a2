"""Checks of the whole conversation graph, run on the compiled bot.

Each check is a small function with one code. They see the bot as the engine will run it, so
what they find is what users would run into: a state nobody can reach (BK401), a state that is
not an end but that no one can leave (BK402), an agent button that leads nowhere near an agent
(BK413), a quick reply whose payload nothing handles (BK411), an action without an error route
(BK410), a loop of ``next:`` steps that never waits for the user (BK415) and a chain that
says too many bubbles at once (BK416; both in ``_chains``).
"""

from __future__ import annotations

from collections.abc import Iterator

from botkit.flow._chains import check_chains
from botkit.flow._context import Context
from botkit.flow.model import Bot, Message, State, StateKind, Target, Transition

__all__ = ["check_bot", "edges"]


def check_bot(bot: Bot, ctx: Context) -> None:
    _unreachable(bot, ctx)
    _dead_ends(bot, ctx)
    _agent_buttons(bot, ctx)
    _unhandled_choices(bot, ctx)
    _error_routes(bot, ctx)
    check_chains(bot, ctx)


def _message_targets(messages: tuple[Message, ...]) -> Iterator[tuple[str, Target]]:
    for m in messages:
        for q in m.quick_replies:
            if q.target:
                yield f"quick reply: {q.label.template(q.label.default_locale).source}", q.target
        cards = ([m.card] if m.card else []) + list(m.cards)
        buttons = list(m.buttons) + [b for c in cards for b in c.buttons]
        if m.list:
            buttons += list(m.list.buttons)
            for item in m.list.items:
                if item.target:
                    yield "list item", item.target
        for b in buttons:
            if b.target:
                yield f"button: {b.label.template(b.label.default_locale).source}", b.target


def edges(bot: Bot, state: State) -> Iterator[tuple[str, Target]]:
    """Every way out of ``state``: (label, target). Global transitions are not included."""
    yield from _message_targets(state.say)
    for t in state.on:
        yield t.label, t.target
        yield from _message_targets(t.say)
    for b in state.next:
        yield ("next if " + b.condition_source) if b.condition_source else "next", b.target
        yield from _message_targets(b.say)
    for variant_name, v in (state.variants or {}).items():
        yield from _message_targets(v.say or ())
        for t in v.on or ():
            yield f"[{variant_name}] {t.label}", t.target
        for b in v.next or ():
            yield f"[{variant_name}] next", b.target
    for slot_name in state.collect:
        slot = bot.slots.get(slot_name)
        if slot is not None:
            yield from _message_targets(slot.prompt + slot.reprompts)
            if slot.on_exhausted:
                yield f"{slot_name} attempts exhausted", slot.on_exhausted
    if state.fallback and state.fallback.escalate_to:
        yield "fallback escalation", state.fallback.escalate_to
    if state.handoff:
        h = state.handoff
        if h.resume != state.target:
            yield "agent releases", h.resume
        if h.on_timeout:
            yield "no agent in time", h.on_timeout
        if h.outside_hours:
            yield "outside business hours", h.outside_hours
        yield from _message_targets(h.message + h.while_waiting)
        for t in h.leave:
            yield t.label, t.target


def _globals(bot: Bot) -> Iterator[tuple[str, Transition]]:
    for t in bot.global_on:
        yield "", t
    for flow in bot.flows.values():
        for t in flow.global_on:
            yield flow.id, t


def _unreachable(bot: Bot, ctx: Context) -> None:
    roots: list[Target] = [(f.id, f.start) for f in bot.flows.values()]
    roots += [t.target for _, t in _globals(bot)]
    for fallback in [bot.fallback] + [f.fallback for f in bot.flows.values() if f.fallback]:
        if fallback.escalate_to:
            roots.append(fallback.escalate_to)
    seen: set[Target] = set()
    todo = [r for r in roots if r[0] in bot.flows and r[1] in bot.flows[r[0]].states]
    while todo:
        target = todo.pop()
        if target in seen:
            continue
        seen.add(target)
        state = bot.state(target)
        todo.extend(t for _, t in edges(bot, state) if t not in seen)
    for flow in bot.flows.values():
        for state in flow.states.values():
            if state.target not in seen:
                ctx.reporter.add(
                    "BK401",
                    ctx.declared.states[flow.id][state.id].where,
                    f"no transition leads to state '{state.id}'",
                    hint="add a transition to it, or remove it if it is no longer used",
                )


def _dead_ends(bot: Bot, ctx: Context) -> None:
    """States users cannot leave. A state that waits for the user can be left by a transition
    that works from anywhere (``global:`` of the bot or of its flow), unless it leads back to
    the state itself; a state that runs an action cannot: it waits for the action."""
    for flow in bot.flows.values():
        anywhere = [t.target for t in (*flow.global_on, *bot.global_on)]
        for state in flow.states.values():
            if state.kind in (StateKind.END, StateKind.HANDOFF):
                continue
            if any(True for _ in edges(bot, state)):
                continue
            if state.kind is not StateKind.CALL and any(t != state.target for t in anywhere):
                continue
            what = {
                StateKind.COLLECT: "it fills its slots but has no 'next' or global transition",
                StateKind.CALL: "it runs an action but has no 'on' routes for the result",
                StateKind.MESSAGE: "it has no 'on', 'next', quick reply with 'to' or global "
                "transition",
            }[state.kind]
            ctx.reporter.add(
                "BK402",
                ctx.declared.states[flow.id][state.id].where,
                f"state '{state.id}' is a dead end: {what}",
                hint="add a way out ('next: <state>' or 'on:'), or one that works from anywhere "
                "in bot.yaml ('global:' with keywords: [처음으로]); or end the conversation here "
                "with 'end: resolved', and the user's next message starts a new conversation",
            )


def _agent_buttons(bot: Bot, ctx: Context) -> None:
    for where, target in ctx.agent_targets:
        state = bot.state(target)
        if state.kind is not StateKind.HANDOFF:
            ctx.reporter.add(
                "BK413",
                where,
                f"an agent button must lead to a handoff state, but '{target[1]}' is "
                f"{'an' if str(state.kind)[0] in 'aeiou' else 'a'} {state.kind} state",
                hint="point it at the state with 'handoff:', or use 'to:' for an ordinary button",
            )


def _payloads(messages: tuple[Message, ...]) -> Iterator[str]:
    for m in messages:
        for q in m.quick_replies:
            if q.target is None and q.payload:
                yield q.payload


def _unhandled_choices(bot: Bot, ctx: Context) -> None:
    global_payloads = {t.payload for _, t in _globals(bot) if t.payload}
    for flow in bot.flows.values():
        for state in flow.states.values():
            handled = {t.payload for t in state.on if t.payload} | global_payloads
            for v in (state.variants or {}).values():
                handled |= {t.payload for t in v.on or () if t.payload}
            offered = list(_payloads(state.say))
            for v in (state.variants or {}).values():
                offered += list(_payloads(v.say or ()))
            if state.handoff:  # what a waiting user can press: the ways out of the queue
                h = state.handoff
                handled |= {t.payload for t in h.leave if t.payload}
                offered += list(_payloads(h.message + h.while_waiting))
            for payload in offered:
                if payload not in handled:
                    ctx.reporter.add(
                        "BK411",
                        ctx.declared.states[flow.id][state.id].where,
                        f"state '{state.id}' offers a quick reply with payload '{payload}' but "
                        "no transition handles it",
                        hint=f"add '- payload: {payload}' with a 'to' under 'on:', or give the "
                        "quick reply a 'to'",
                    )


def _error_routes(bot: Bot, ctx: Context) -> None:
    for flow in bot.flows.values():
        for state in flow.states.values():
            if state.kind is not StateKind.CALL:
                continue
            results = {t.result for t in state.on}
            if not results & {"error", "timeout"} or "error" not in results:
                ctx.reporter.add(
                    "BK410",
                    ctx.declared.states[flow.id][state.id].where,
                    f"state '{state.id}' calls '{state.call}' but has no route for 'error'",
                    hint="add '- result: error' with a state that apologizes or offers an agent; "
                    "without it the user gets the bot's error message",
                )
