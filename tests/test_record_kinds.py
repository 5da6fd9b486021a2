"""Every record kind botkit writes is a RecordKind, and the records' docstring describes each."""

from __future__ import annotations

import re
from pathlib import Path

import botkit.records
from botkit.records import RecordKind

REPO = Path(__file__).resolve().parents[1]


def test_a_kind_is_the_plain_string_the_stores_keep() -> None:
    goal: str = RecordKind.GOAL
    assert goal == "goal"
    assert f"{RecordKind.MESSAGE_IN}" == "message_in"


def test_every_kind_is_described_in_the_records_docstring() -> None:
    doc = botkit.records.__doc__ or ""
    for kind in RecordKind:
        assert f"``{kind.value}``" in doc, kind


def test_every_kind_the_engine_records_is_a_record_kind() -> None:
    written: set[str] = set()
    for path in (REPO / "botkit" / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'record\(\s*"([a-z_]+)"', text))
        written |= {k.lower() for k in re.findall(r"RecordKind\.([A-Z]{2}[A-Z_]*)", text)}
    assert written, "the engine writes records"
    assert written <= {k.value for k in RecordKind}
