"""`botkit graph`: Mermaid and DOT diagrams agree with the compiled flow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botkit.flow import Bot, compile_bot, flow_files
from botkit.flow.checks import edges
from botkit.flow.graph import ANYWHERE, to_dot, to_mermaid

_EDGE = re.compile(r'^  (n_\S+) -->\|"(.*)"\| (n_\S+)$')
_NODE = re.compile(r"^  (n_[A-Za-z0-9_]+)[\[\(\{>]")


def _bot(repo: Path) -> Bot:
    bot = compile_bot(flow_files(repo / "flows")).bot
    assert bot is not None
    return bot


def _mid(flow: str, target: tuple[str, str]) -> str:
    name = target[1] if target[0] == flow else f"{target[0]}__{target[1]}"
    return "n_" + name


def _expected(bot: Bot, flow_id: str) -> tuple[set[str], set[tuple[str, str]]]:
    flow = bot.flows[flow_id]
    nodes = {"n_" + s for s in flow.states}
    pairs: set[tuple[str, str]] = set()
    for state in flow.states.values():
        for _, target in edges(bot, state):
            pairs.add(("n_" + state.id, _mid(flow_id, target)))
            nodes.add(_mid(flow_id, target))
    for t in (*flow.global_on, *bot.global_on):
        pairs.add(("n_" + ANYWHERE, _mid(flow_id, t.target)))
        nodes.update({"n_" + ANYWHERE, _mid(flow_id, t.target)})
    return nodes, pairs


@pytest.mark.parametrize(
    "flow_id", ["faq", "main", "order_status", "promotion", "refund", "support"]
)
def test_mermaid_nodes_and_edges_match_the_compiled_flow(repo: Path, flow_id: str) -> None:
    bot = _bot(repo)
    text = to_mermaid(bot, flow_id)
    nodes = {m.group(1) for line in text.splitlines() if (m := _NODE.match(line))}
    pairs = {(m.group(1), m.group(3)) for line in text.splitlines() if (m := _EDGE.match(line))}
    want_nodes, want_pairs = _expected(bot, flow_id)
    assert nodes == want_nodes
    assert pairs == want_pairs
    assert text.startswith("flowchart TD\n")


def test_mermaid_draws_each_kind_of_state_in_its_own_shape(repo: Path) -> None:
    text = to_mermaid(_bot(repo), "order_status")
    assert 'n_ask_order[/"ask_order<br/>collect: order_no"/]' in text
    assert 'n_lookup[["lookup<br/>call: lookup_order"]]' in text
    assert 'n_thanks(["thanks<br/>end: resolved"])' in text
    assert 'n_support__agent>"support.agent"]' in text
    assert '{{"agent<br/>handoff"}}' in to_mermaid(_bot(repo), "support")


def test_mermaid_labels_transitions_with_their_trigger(repo: Path) -> None:
    text = to_mermaid(_bot(repo), "order_status")
    assert "n_lookup -->|\"result: ok if delivery_status == 'delivered'\"|" not in text
    assert "  n_lookup -->|\"result: ok if delivery_status == '배송완료'\"| n_delivered" in text
    assert '  n_ask_order -->|"order_no attempts exhausted"| n_support__agent' in text


def test_dot_output_is_a_digraph_with_every_state(repo: Path) -> None:
    bot = _bot(repo)
    text = to_dot(bot, "refund")
    assert text.startswith('digraph "refund" {')
    for state in bot.flows["refund"].states:
        assert f'  "{state}" [label=' in text
    assert '"submit" -> "done" [label="result: ok"];' in text


# Words Mermaid 11 reads as its own keywords wherever an id or a class name is expected.
MERMAID_WORDS = {"end", "call", "class", "classDef", "click", "style", "default", "subgraph"}


@pytest.mark.parametrize(
    "flow_id", ["faq", "main", "order_status", "promotion", "refund", "support"]
)
def test_mermaid_never_uses_its_keywords_as_names(repo: Path, flow_id: str) -> None:
    text = to_mermaid(_bot(repo), flow_id)
    names = set()
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["classDef"]:
            names.add(words[1])
        elif words[:1] == ["class"]:
            names.update(words[1].split(","))
            names.add(words[2])
    assert names
    assert not names & MERMAID_WORDS
    assert all(n.startswith(("n_", "kind_")) for n in names)


def test_mermaid_labels_spell_out_what_mermaid_would_read(repo: Path) -> None:
    text = to_mermaid(_bot(repo), "main")
    # the regex transition: <order_no> would be an HTML tag, and '#' starts an entity
    assert '-->|"regex: (?P#lt;order_no#gt;[0-9０-９]{4}' in text
    assert "<order_no>" not in text
