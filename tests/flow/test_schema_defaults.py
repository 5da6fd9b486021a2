"""The defaults the schema shows an editor are the ones the compiler applies, and the schema
says which keys are required where the compiler requires them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

from botkit.engine.slots import extract
from botkit.flow import Bot, _yaml, compile_texts, schema
from botkit.flow._report import Reporter
from botkit.flow.durations import seconds

BOT = """
bot: tiny
start: main
fallback:
  messages: ["잘 이해하지 못했어요."]
"""

FLOW = """
flow: main
start: ask
slots:
  order_no:
    type: order_number
    prompt: "주문번호를 알려 주세요."
  memo:
    type: text
    prompt: "메모를 남겨 주세요."
actions:
  lookup:
    http:
      url: "https://shop.example.com/orders/{{order_no}}"
states:
  ask:
    collect: [order_no, memo]
    next: lookup
  lookup:
    call: lookup
    on:
      - result: ok
        to: agent
      - result: error
        to: agent
  agent:
    handoff:
      resume: ask
"""


def _bot() -> Bot:
    result = compile_texts([("bot.yaml", BOT), ("main.yaml", FLOW)])
    assert result.bot is not None, [p.message for p in result.problems]
    return result.bot


# (definition, key) → what the compiler made of the key left out. A definition may also be a
# slot type, for a default that applies to slots of that type only.
_COMPILED: dict[tuple[str, str], Callable[[Bot], Any]] = {
    ("bot", "inactivity_timeout"): lambda b: b.inactivity_timeout,
    ("bot", "keep_versions"): lambda b: b.keep_versions,
    ("fallback", "max_misses"): lambda b: b.fallback.max_misses,
    ("slot", "max_attempts"): lambda b: b.slots["memo"].max_attempts,
    ("slot", "sensitive"): lambda b: b.slots["memo"].sensitive,
    ("order_number", "min_length"): lambda b: b.slots["order_no"].min_length,
    ("order_number", "max_length"): lambda b: b.slots["order_no"].max_length,
    ("action", "deadline"): lambda b: b.actions["lookup"].deadline,
    ("http", "method"): lambda b: b.actions["lookup"].http.method,  # type: ignore[union-attr]
    ("handoff", "reason"): lambda b: b.state(("main", "agent")).handoff.reason,  # type: ignore[union-attr]
}


def _schema_defaults() -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    """Each key with a ``default`` in the schema, with its property schema."""
    for name, definition in schema()["$defs"].items():
        for key, prop in definition.get("properties", {}).items():
            if "default" in prop:
                yield (name, key), prop
        for rule in definition.get("allOf", ()):
            kind = rule["if"]["properties"]["type"]["const"]
            for key, prop in rule["then"]["properties"].items():
                yield (kind, key), prop


def test_every_compiler_default_is_written_in_the_schema() -> None:
    assert {key for key, _ in _schema_defaults()} == set(_COMPILED)


@pytest.mark.parametrize("key", sorted(_COMPILED), ids="/".join)
def test_the_schema_default_is_what_the_compiler_applies(key: tuple[str, str]) -> None:
    prop = dict(_schema_defaults())[key]
    written = prop["default"]
    if prop.get("$ref") == "#/$defs/duration":
        written = seconds(written)
    assert _COMPILED[key](_bot()) == written


def test_an_order_number_without_length_keys_takes_ten_digits() -> None:
    slot = _bot().slots["order_no"]
    assert extract(slot, "1234-567-890", None, 0.0) == "1234567890"
    assert extract(slot, "123-456-789", None, 0.0) is None  # 9 digits
    assert extract(slot, "1234-567-8901", None, 0.0) is None  # 11 digits


def test_one_written_length_of_an_order_number_widens_the_other_default() -> None:
    written = '    prompt: "주문번호"\n    max_length: 8'
    flow = FLOW.replace('    prompt: "주문번호를 알려 주세요."', written, 1)
    result = compile_texts([("bot.yaml", BOT), ("main.yaml", flow)])
    assert result.bot is not None, [p.message for p in result.problems]
    slot = result.bot.slots["order_no"]
    assert (slot.min_length, slot.max_length) == (8, 8)


def test_a_handoff_requires_resume_in_the_schema_an_editor_reads() -> None:
    assert "resume" in schema()["$defs"]["handoff"]["required"]
    flow = FLOW.replace("      resume: ask\n", "      reason: user_request\n")
    data = _yaml.read_text(flow, "main.yaml", Reporter()).data
    with pytest.raises(jsonschema.ValidationError, match="'resume' is a required property"):
        jsonschema.validate(data, schema())


def test_botkit_still_words_a_missing_resume_itself() -> None:
    flow = FLOW.replace("      resume: ask\n", "      reason: user_request\n")
    problems = compile_texts([("bot.yaml", BOT), ("main.yaml", flow)]).problems
    assert [(p.code, p.message) for p in problems] == [
        ("BK403", "handoff state 'agent' never gives the user back to the bot")
    ]
