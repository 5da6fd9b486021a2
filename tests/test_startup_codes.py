"""BK5xx: what the flows name and the program does not register is reported when the bot starts,
with its code; and every BK code that botkit prints anywhere is in the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botkit import load
from botkit.engine import Engine
from botkit.errors import ConfigurationError
from botkit.flow.codes import CODES
from botkit.runtime import Runtime
from botkit.storage import MemoryStore

REPO = Path(__file__).resolve().parents[1]
BOT = load(REPO / "flows", actions=False).bot  # the reference bot, without its actions.py
VALIDATORS = {"known_order_prefix": lambda value, slots: True}


def test_a_validator_the_program_lacks_is_bk501() -> None:
    with pytest.raises(ConfigurationError, match=r"^error\[BK501\]: .*'known_order_prefix'"):
        Engine(BOT)


def test_a_function_the_program_lacks_is_bk502() -> None:
    with pytest.raises(ConfigurationError, match=r"^error\[BK502\]: .*'issue_coupon'"):
        Runtime(Engine(BOT, validators=VALIDATORS), MemoryStore())


def test_a_stub_for_an_action_no_flow_declares_is_bk503() -> None:
    with pytest.raises(ConfigurationError, match=r"^error\[BK503\]: .*'lookup_ordr'"):
        Runtime(
            Engine(BOT, validators=VALIDATORS),
            MemoryStore(),
            functions={"issue_coupon": lambda ctx: {}},
            stubs={"lookup_ordr": lambda ctx: {}},
        )


def test_every_code_botkit_prints_is_in_the_catalogue() -> None:
    used: dict[str, str] = {}
    for folder in ("botkit",):
        for path in sorted((REPO / folder).rglob("*.py")):
            for code in re.findall(r"\bBK[0-9]{3}\b", path.read_text(encoding="utf-8")):
                used.setdefault(code, str(path.relative_to(REPO)))
    assert {"BK101", "BK501", "BK502", "BK503"} <= set(used)
    unknown = {code: where for code, where in used.items() if code not in CODES}
    assert not unknown, f"codes used but not in botkit/flow/codes.py: {unknown}"
