"""Diagrams of a flow, as Mermaid or Graphviz DOT text.

Shapes say what a state does: a rectangle says something and waits, a parallelogram fills slots,
a double-bordered box runs an action, a hexagon hands over to a person, a stadium ends the
conversation. States of other flows are drawn dashed; transitions available everywhere come from
a circle labelled "anywhere".
"""

from __future__ import annotations

from dataclasses import dataclass

from botkit.flow.checks import edges
from botkit.flow.model import Bot, State, StateKind, Target

__all__ = ["Edge", "Node", "flow_graph", "to_dot", "to_mermaid"]

ANYWHERE = "anywhere"


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    label: str
    kind: str  # a StateKind value, "external" or "anywhere"


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str


def _node_id(flow: str, target: Target) -> str:
    return target[1] if target[0] == flow else f"{target[0]}.{target[1]}"


def _label(state: State) -> str:
    if state.kind is StateKind.COLLECT:
        return f"{state.id}\ncollect: {', '.join(state.collect)}"
    if state.kind is StateKind.CALL:
        return f"{state.id}\ncall: {state.call}"
    if state.kind is StateKind.HANDOFF:
        return f"{state.id}\nhandoff"
    if state.kind is StateKind.END:
        return f"{state.id}\nend: {state.end}"
    return state.id


def flow_graph(bot: Bot, flow_id: str) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges of one flow, in a stable order."""
    flow = bot.flows[flow_id]
    nodes: dict[str, Node] = {}
    out: list[Edge] = []
    for state in flow.states.values():
        nodes[state.id] = Node(state.id, _label(state), str(state.kind))
    seen: set[tuple[str, str, str]] = set()

    def add(source: str, target: Target, label: str) -> None:
        dst = _node_id(flow_id, target)
        if dst not in nodes:
            nodes[dst] = Node(dst, dst, "external")
        key = (source, dst, label)
        if key not in seen:
            seen.add(key)
            out.append(Edge(source, dst, label))

    for state in flow.states.values():
        for label, target in edges(bot, state):
            add(state.id, target, label)
    globals_ = [*flow.global_on, *bot.global_on]
    if globals_:
        nodes[ANYWHERE] = Node(ANYWHERE, ANYWHERE, "anywhere")
        for t in globals_:
            add(ANYWHERE, t.target, t.label)
    return list(nodes.values()), out


_MERMAID_SHAPES = {
    "message": ('["', '"]'),
    "collect": ('[/"', '"/]'),
    "call": ('[["', '"]]'),
    "handoff": ('{{"', '"}}'),
    "end": ('(["', '"])'),
    "external": ('>"', '"]'),
    "anywhere": ('(("', '"))'),
}


# Mermaid keeps words for itself (`end` closes a subgraph, `call` binds a click callback, and
# more: `class`, `style`, `default`, ...). Nothing a designer names reaches the diagram bare:
# state ids become `n_<id>`, class names `kind_<kind>`, and every label is quoted.
_MERMAID_START = "start_"


def _mermaid_id(node_id: str) -> str:
    return "n_" + node_id.replace(".", "__")


def _mermaid_class(kind: str) -> str:
    return "kind_" + kind


# Inside a quoted label Mermaid reads entities as #name; and HTML as HTML: spell out what could
# be read as either ('#' first, so that the entities written here stay as written).
_MERMAID_ESCAPES = str.maketrans(
    {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
)


def _mermaid_text(text: str) -> str:
    return text.translate(_MERMAID_ESCAPES).replace("\n", "<br/>")


def to_mermaid(bot: Bot, flow_id: str) -> str:
    nodes, edge_list = flow_graph(bot, flow_id)
    flow = bot.flows[flow_id]
    lines = ["flowchart TD", f"  %% flow {flow_id} version {flow.version}"]
    for node in nodes:
        left, right = _MERMAID_SHAPES[node.kind]
        lines.append(f"  {_mermaid_id(node.id)}{left}{_mermaid_text(node.label)}{right}")
    lines.append(f'  {_MERMAID_START}((" ")) --> {_mermaid_id(flow.start)}')
    for edge in edge_list:
        lines.append(
            f'  {_mermaid_id(edge.source)} -->|"{_mermaid_text(edge.label)}"| '
            f"{_mermaid_id(edge.target)}"
        )
    for kind, style in (
        ("end", "fill:#e8f5e9,stroke:#2e7d32"),
        ("handoff", "fill:#fff3e0,stroke:#ef6c00"),
        ("collect", "fill:#e3f2fd,stroke:#1565c0"),
        ("call", "fill:#f3e5f5,stroke:#6a1b9a"),
        ("external", "stroke-dasharray:4 3"),
    ):
        members = [_mermaid_id(n.id) for n in nodes if n.kind == kind]
        if members:
            lines.append(f"  classDef {_mermaid_class(kind)} {style}")
            lines.append(f"  class {','.join(members)} {_mermaid_class(kind)}")
    return "\n".join(lines) + "\n"


_DOT_SHAPES = {
    "message": "shape=box",
    "collect": 'shape=parallelogram, style=filled, fillcolor="#e3f2fd"',
    "call": 'shape=box, peripheries=2, style=filled, fillcolor="#f3e5f5"',
    "handoff": 'shape=hexagon, style=filled, fillcolor="#fff3e0"',
    "end": 'shape=box, style="rounded,filled", fillcolor="#e8f5e9"',
    "external": "shape=box, style=dashed",
    "anywhere": "shape=circle",
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(bot: Bot, flow_id: str) -> str:
    nodes, edge_list = flow_graph(bot, flow_id)
    flow = bot.flows[flow_id]
    lines = [f'digraph "{_dot_text(flow_id)}" {{', "  rankdir=TB;", '  node [fontname="sans"];']
    lines.append('  "__start" [shape=point];')
    for node in nodes:
        lines.append(
            f'  "{_dot_text(node.id)}" [label="{_dot_text(node.label)}", '
            f"{_DOT_SHAPES[node.kind]}];"
        )
    lines.append(f'  "__start" -> "{_dot_text(flow.start)}";')
    for edge in edge_list:
        lines.append(
            f'  "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}" '
            f'[label="{_dot_text(edge.label)}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
