"""Flow coverage: which states and transitions the conversation tests reached.

Read from the records the tests produced, against the compiled bot:

* a state is visited when a conversation entered it (a ``transition`` record leads to it);
* a transition is one designed way out of a state to another (``on``, ``next``, quick replies
  and buttons with ``to``, slot escalations, handoff exits; see ``flow.checks.edges``), visited
  when a ``transition`` record went from that state to that target;
* a global transition (the bot's or a flow's) is one transition, visited when it was taken
  from any state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from botkit.flow.checks import edges
from botkit.flow.model import Bot, Transition
from botkit.records import Record, RecordKind

__all__ = ["FlowCoverage", "coverage", "format_coverage"]


@dataclass(slots=True)
class FlowCoverage:
    flow: str
    states: list[str] = field(default_factory=list)  # "flow.state", in file order
    visited_states: set[str] = field(default_factory=set)
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, label)
    visited_transitions: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def state_share(self) -> float:
        return len(self.visited_states) / len(self.states) if self.states else 1.0

    @property
    def transition_share(self) -> float:
        if not self.transitions:
            return 1.0
        return len(self.visited_transitions) / len(self.transitions)

    @property
    def unvisited_states(self) -> list[str]:
        return [s for s in self.states if s not in self.visited_states]

    @property
    def unvisited_transitions(self) -> list[tuple[str, str, str]]:
        return [t for t in self.transitions if t not in self.visited_transitions]


def _name(target: tuple[str, str]) -> str:
    return f"{target[0]}.{target[1]}"


def coverage(bot: Bot, records: Iterable[Record]) -> list[FlowCoverage]:
    """Coverage per flow, in the bot's flow order."""
    taken: set[tuple[str | None, str]] = set()
    labels: set[str] = set()
    for record in records:
        if record.kind == RecordKind.TRANSITION and record.data:
            taken.add((record.data.get("from"), record.data["to"]))
            labels.add(str(record.data.get("trigger", "")))
    entered = {to for _, to in taken}
    out: list[FlowCoverage] = []
    for flow in bot.flows.values():
        report = FlowCoverage(flow.id)
        for state in flow.states.values():
            here = _name(state.target)
            report.states.append(here)
            if here in entered:
                report.visited_states.add(here)
            seen_targets: set[str] = set()
            for label, target in edges(bot, state):
                to = _name(target)
                if to in seen_targets:  # two ways to the same state count as one transition
                    continue
                seen_targets.add(to)
                edge = (here, to, label)
                report.transitions.append(edge)
                if (here, to) in taken:
                    report.visited_transitions.add(edge)
        _add_globals(report, flow.global_on, labels)
        out.append(report)
    if bot.global_on:
        shared = FlowCoverage("(bot-wide)")
        _add_globals(shared, bot.global_on, labels)
        out.append(shared)
    return out


def _add_globals(report: FlowCoverage, globals_: Iterable[Transition], labels: set[str]) -> None:
    for t in globals_:
        edge = ("*", _name(t.target), t.label)
        report.transitions.append(edge)
        if t.label in labels:
            report.visited_transitions.add(edge)


def format_coverage(reports: Iterable[FlowCoverage]) -> str:
    lines = ["coverage (states, transitions):"]
    for r in reports:
        states = (
            f"{len(r.visited_states)}/{len(r.states)} states ({r.state_share:.0%})"
            if r.states
            else "global transitions"
        )
        lines.append(
            f"  {r.flow:20} {states:28} "
            f"{len(r.visited_transitions)}/{len(r.transitions)} transitions "
            f"({r.transition_share:.0%})"
        )
        for state in r.unvisited_states:
            lines.append(f"      never visited: state {state}")
        for source, target, label in r.unvisited_transitions:
            lines.append(f"      never taken:   {source} → {target} ({label})")
    return "\n".join(lines)
