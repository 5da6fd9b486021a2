"""The schema, the compiler and the example flows agree on every key of the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from botkit.flow import compile_bot, flow_files, schema
from botkit.flow._node import VOCABULARY

# The schema definitions that are objects with named keys, and the compiler kind reading them.
_DEF_OF_KIND = {kind: kind for kind in VOCABULARY}
_DEF_OF_KIND["image"] = "image"  # the object form of an image (the other form is a URL)


def _properties(definition: dict[str, Any]) -> set[str]:
    if "properties" in definition:
        return set(definition["properties"])
    for branch in definition.get("anyOf", ()):
        if "properties" in branch:
            return set(branch["properties"])
    raise AssertionError(f"no properties in {definition}")


@pytest.mark.parametrize("kind", sorted(VOCABULARY))
def test_schema_properties_equal_compiler_vocabulary(kind: str) -> None:
    definition = schema()["$defs"][_DEF_OF_KIND[kind]]
    assert _properties(definition) == set(VOCABULARY[kind])


def test_every_object_definition_in_the_schema_is_compiled() -> None:
    objects = {
        name
        for name, d in schema()["$defs"].items()
        if "properties" in d or any("properties" in b for b in d.get("anyOf", ()))
    }
    assert objects == set(VOCABULARY)


def test_example_flows_read_every_key_of_the_format(repo: Path) -> None:
    result = compile_bot(flow_files(repo / "flows"))
    assert result.problems == []
    unread = {
        (kind, key)
        for kind, keys in VOCABULARY.items()
        for key in keys
        if (kind, key) not in result.keys_read
    }
    assert unread == set()


def test_example_flows_use_every_slot_type_trigger_and_state_kind(repo: Path) -> None:
    bot = compile_bot(flow_files(repo / "flows")).bot
    assert bot is not None
    slot_types = schema()["$defs"]["slot"]["properties"]["type"]["enum"]
    assert {s.type for s in bot.slots.values()} == set(slot_types)
    states = [s for f in bot.flows.values() for s in f.states.values()]
    assert {str(s.kind) for s in states} == {"message", "collect", "call", "handoff", "end"}
    triggers = {t.trigger for s in states for t in s.on} | {t.trigger for t in bot.global_on}
    assert triggers == {"payload", "keywords", "regex", "intent", "examples", "result", "any"}
    messages = [m for s in states for m in s.say]
    cards = [c for m in messages for c in ([m.card] if m.card else []) + list(m.cards)]
    buttons = {b.kind for m in messages for b in m.buttons} | {
        b.kind for c in cards for b in c.buttons
    }
    assert buttons == {"url", "phone", "payload", "to", "agent"}
    assert len(bot.flows) >= 2
    assert any(len(e.variants) >= 3 for e in bot.experiments.values())


def test_fast_validator_rejects_every_file_the_reference_validator_rejects(repo: Path) -> None:
    """Valid files skip the reference validator, so the fast one must never pass a file the
    reference one would fail."""
    from botkit.flow import _schema
    from botkit.flow._report import Reporter
    from botkit.flow._yaml import read_file

    checked = 0
    for path in sorted((repo / "tests" / "flow" / "broken").glob("*.yaml")):
        doc = read_file(path, Reporter())
        if not doc.usable or not isinstance(doc.data, dict):
            continue
        reference_errors = list(_schema._validator().iter_errors(doc.data))
        assert _schema._fast().is_valid(doc.data) == (not reference_errors), path.name
        checked += 1
    assert checked >= 30
