"""The flow language: reading, validating and compiling flow files (design time, no I/O but
reading the files themselves)."""

from __future__ import annotations

from botkit.flow._schema import schema, schema_text
from botkit.flow.compiler import CompileResult, compile_bot, compile_texts, flow_files
from botkit.flow.model import Bot, Flow, State, StateKind, Target

__all__ = [
    "Bot",
    "CompileResult",
    "Flow",
    "State",
    "StateKind",
    "Target",
    "compile_bot",
    "compile_texts",
    "flow_files",
    "schema",
    "schema_text",
]
