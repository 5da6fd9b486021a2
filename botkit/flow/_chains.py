"""What the bot says and does without waiting for the user: loops of ``next:`` (BK415) and
chains that say too many bubbles at once (BK416).

After a user's message the engine follows ``next:`` steps (and a handoff's ``outside_hours``)
at once, saying each state's messages, until it reaches a state that waits: for the user's
answer, for an action's result, or for an agent. A loop of such steps never waits; the engine
stops it after ``MAX_HOPS`` (64) steps, by which time one message has produced 65 bubbles.

A collect state waits only for a slot that was not answered in this same message: after the
user answers ``answer``, a ``next:`` back to the state that asks for ``answer`` finds it filled
and goes on. So a loop waits only if it asks for a slot other than the one just answered.
Conditions (``next: - if:``) are not evaluated: nothing the user says can change them during
the loop, so a loop that is taken once is taken again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botkit.flow._context import Context
from botkit.flow._report import Where
from botkit.flow._yaml import JSONPath
from botkit.flow.model import Bot, Branch, State, StateKind, Target

__all__ = ["MAX_BUBBLES", "check_chains"]

# Kakao shows at most 3 outputs per answer (botkit joins adjacent texts to fit); the web widget
# shows them all. More than 10 bubbles in answer to one message is a wall of text nobody
# reads, and almost always a loop unrolled by hand.
MAX_BUBBLES = 10


@dataclass(frozen=True, slots=True)
class _Step:
    """A step the engine takes on its own, out of a state to ``target``."""

    target: Target
    said: int  # bubbles said on the way (a branch's own 'say')
    path: JSONPath  # where the step is written, under the state's declaration


def check_chains(bot: Bot, ctx: Context) -> None:
    order = {s.target: i for i, s in enumerate(_states(bot))}
    steps = {t: list(_steps(bot.state(t))) for t in order}
    if not _report_loops(bot, ctx, order, steps):
        # Only a bot without loops has a longest chain to measure.
        _report_long_chains(bot, ctx, order, steps)


def _states(bot: Bot) -> Iterator[State]:
    for flow in bot.flows.values():
        yield from flow.states.values()


def _branch_steps(branches: Iterable[Branch], prefix: JSONPath) -> Iterator[_Step]:
    for i, b in enumerate(branches):
        yield _Step(b.target, len(b.say), (*prefix, "next", i, "to"))


def _steps(state: State) -> Iterator[_Step]:
    if state.kind is StateKind.MESSAGE:
        yield from _branch_steps(state.next, ())
        for name, v in (state.variants or {}).items():
            yield from _branch_steps(v.next or (), ("variants", name))
    elif state.kind is StateKind.COLLECT:
        # Taken when every slot it asks for was answered in this same message.
        yield from _branch_steps(state.next, ())
    elif state.kind is StateKind.HANDOFF and state.handoff is not None:
        h = state.handoff
        if h.hours and h.outside_hours:
            yield _Step(h.outside_hours, 0, ("handoff", "outside_hours"))


# -- loops ------------------------------------------------------------------------------------


def _report_loops(
    bot: Bot, ctx: Context, order: dict[Target, int], steps: dict[Target, list[_Step]]
) -> bool:
    found = False
    for component in _cycles(list(order), lambda t: [s.target for s in steps[t]]):
        loop = _endless_loop(bot, component, order, steps)
        if loop is None:
            continue
        cycle, slot = loop
        found = True
        start = cycle[0]
        step = next(s for s in steps[start] if s.target == cycle[1])
        shown = _way(start[0], cycle)
        where = _where(ctx, start, step.path)
        if slot is None:
            message = f"the 'next:' steps from state '{start[1]}' come back to it without "
            message += f"waiting for the user: {shown}"
        else:
            asking = [t[1] for t in cycle[:-1] if bot.state(t).kind is StateKind.COLLECT]
            message = f"the 'next:' steps from state '{start[1]}' come back to it without "
            message += f"waiting for the user: {shown} ('{asking[0]}' does not ask for "
            message += f"'{slot}' again: the answer just given fills it)"
        ctx.reporter.add(
            "BK415",
            where,
            message,
            expected="a state in the loop that waits for an answer",
            hint="let one of these states wait ('on:' or quick replies instead of 'next:'), or "
            "send 'next:' out of the loop; the bot would say all of it again and again, "
            "up to 64 times, in answer to one message",
        )
    return found


def _endless_loop(
    bot: Bot, component: list[Target], order: dict[Target, int], steps: dict[Target, list[_Step]]
) -> tuple[list[Target], str | None] | None:
    """A loop inside ``component`` that never waits, and the slot it re-asks (if any)."""
    states = {t: bot.state(t) for t in component}
    plain = {t for t, s in states.items() if s.kind is not StateKind.COLLECT}
    options: list[tuple[set[Target], str | None]] = [(plain, None)]
    asked_alone = {s.collect[0] for s in states.values() if len(s.collect) == 1}
    for name in sorted(asked_alone):
        asking = {t for t, s in states.items() if s.collect == (name,)}
        options.append((plain | asking, name))
    for allowed, slot in options:
        inner = sorted(allowed, key=order.__getitem__)
        for sub in _cycles(inner, lambda t: [s.target for s in steps[t]]):
            return _shortest_cycle(sub[0], set(sub), steps), slot
    return None


def _shortest_cycle(
    start: Target, members: set[Target], steps: dict[Target, list[_Step]]
) -> list[Target]:
    """The shortest way from ``start`` back to itself inside ``members`` (one exists)."""
    came_from: dict[Target, Target] = {}
    frontier = [start]
    while frontier:
        after: list[Target] = []
        for node in frontier:
            for s in steps[node]:
                if s.target not in members:
                    continue
                if s.target == start:
                    path = [start]
                    while node != start:
                        path.append(node)
                        node = came_from[node]
                    return [start, *reversed(path[1:]), start]
                if s.target not in came_from:
                    came_from[s.target] = node
                    after.append(s.target)
        frontier = after
    raise AssertionError("a strongly connected component always has a cycle")  # pragma: no cover


def _cycles(nodes: list[Target], succ: Callable[[Target], list[Target]]) -> Iterator[list[Target]]:
    """The strongly connected components of the steps between ``nodes`` that hold a cycle,
    each in the order of ``nodes``, the first first (Tarjan's algorithm, iterative: a long
    chain must not exhaust the stack)."""
    among = set(nodes)

    def succ_among(node: Target) -> list[Target]:
        return [t for t in succ(node) if t in among]

    index: dict[Target, int] = {}
    low: dict[Target, int] = {}
    on_stack: set[Target] = set()
    stack: list[Target] = []
    found: list[list[Target]] = []
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[Target, Iterator[Target]]] = [(root, iter(succ_among(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ_among(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[Target] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in succ_among(node):
                    found.append(component)
    position = {n: i for i, n in enumerate(nodes)}
    for component in sorted(found, key=lambda c: min(position[n] for n in c)):
        yield sorted(component, key=position.__getitem__)


# -- long chains ------------------------------------------------------------------------------


def _said_on_entry(state: State) -> int:
    """Bubbles said on entering ``state`` (its longest variant), before it waits or steps on."""
    variants = (state.variants or {}).values()
    return max([len(state.say), *(len(v.say) for v in variants if v.say is not None)])


def _said_when_waiting(bot: Bot, state: State) -> int:
    """Bubbles said when ``state`` stops to wait: its question, or the handoff's message."""
    if state.kind is StateKind.COLLECT:
        return max((len(bot.slots[n].prompt) for n in state.collect), default=0)
    if state.kind is StateKind.HANDOFF and state.handoff is not None:
        return len(state.handoff.message)
    return 0


def _onward(
    bot: Bot, order: dict[Target, int], steps: dict[Target, list[_Step]]
) -> dict[Target, list[_Step]]:
    """The steps a chain can take in answer to one message. In a loop that waits (one that does
    not is BK415), a state on the loop that asks for a slot asks each time round: its step back
    into the loop is left out, and no loop is left to go round."""
    loop_of: dict[Target, int] = {}
    for n, loop in enumerate(_cycles(list(order), lambda t: [s.target for s in steps[t]])):
        loop_of.update((t, n) for t in loop)
    onward: dict[Target, list[_Step]] = {}
    for target, out in steps.items():
        if target in loop_of and bot.state(target).kind is StateKind.COLLECT:
            out = [s for s in out if loop_of.get(s.target) != loop_of[target]]
        onward[target] = out
    return onward


def _report_long_chains(
    bot: Bot, ctx: Context, order: dict[Target, int], every_step: dict[Target, list[_Step]]
) -> None:
    steps = _onward(bot, order, every_step)
    bubbles: dict[Target, int] = {}  # the most a state's chain can say, itself included
    longest: dict[Target, _Step | None] = {}  # the step that says the most (None: it waits)
    started: set[Target] = set()
    for target in order:
        todo = [(target, False)]
        while todo:  # depth first: a state is counted after the states its steps lead to
            node, ready = todo.pop()
            if not ready:
                if node not in started:
                    started.add(node)
                    todo.append((node, True))
                    todo.extend((s.target, False) for s in steps[node] if s.target not in started)
                continue
            state = bot.state(node)
            best: _Step | None = None
            most = _said_when_waiting(bot, state)
            for s in steps[node]:
                # a step to a state not counted yet would close a loop: there are none left
                if s.target in bubbles and s.said + bubbles[s.target] > most:
                    best, most = s, s.said + bubbles[s.target]
            bubbles[node] = _said_on_entry(state) + most
            longest[node] = best
    too_long = sorted((t for t, n in bubbles.items() if n > MAX_BUBBLES), key=order.__getitem__)
    inside = {s.target for t in too_long for s in steps[t]}
    for target in too_long:
        if target in inside:
            continue  # part of a longer chain, reported where that one starts
        chain = [target]
        while (step := longest[chain[-1]]) is not None:
            chain.append(step.target)
        shown = _way(target[0], chain)
        ctx.reporter.add(
            "BK416",
            ctx.declared.states[target[0]][target[1]].where,
            f"from state '{target[1]}' the bot can say {bubbles[target]} bubbles before it waits "
            f"for the user: {shown}",
            expected=f"at most {MAX_BUBBLES} bubbles in answer to one message",
            found=f"{bubbles[target]} bubbles",
            hint="say less, or let a state on the way wait for the user ('on:' or quick "
            "replies instead of 'next:'); Kakao shows only 3 bubbles at a time",
        )


def _name(flow: str, target: Target) -> str:
    return target[1] if target[0] == flow else f"{target[0]}.{target[1]}"


def _way(flow: str, states: list[Target], shown: int = 8) -> str:
    """``a → b → c``, as seen from ``flow``; a long way by its ends and its length."""
    names = [_name(flow, t) for t in states]
    if len(names) <= shown:
        return " → ".join(names)
    half = shown // 2
    return " → ".join([*names[:half], "…", *names[-half:]]) + f" ({len(set(states))} states)"


def _where(ctx: Context, state: Target, path: JSONPath) -> Where:
    """Where a step is written (``next: <state>`` as plain text has no list to index)."""
    spot = ctx.declared.states[state[0]][state[1]]
    value: Any = spot.doc.data
    for step in spot.path:
        value = value[step]
    full = spot.path
    for step in path:
        if not isinstance(value, dict | list):
            break
        value = value[step]  # type: ignore[index]
        full = (*full, step)
    return spot.doc.where(full)
