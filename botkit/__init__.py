"""botkit: scenario-driven chatbots from YAML flows.

The public API is what ``__all__`` lists; everything else may change between versions.

Names are imported on first use (PEP 562), so that ``botkit check`` loads the flow compiler and
nothing else: not the runtime, the HTTP client or the database drivers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botkit.app import BotApp, load
    from botkit.effects import Button, Call, Card, Choice, End, HandOff, Image, ListItem, Say
    from botkit.engine import Classifier, Engine, Session, Turn
    from botkit.errors import (
        BadPayload,
        BotkitError,
        ConfigurationError,
        ConflictError,
        FlowError,
        NotWithAgent,
        StepRefused,
        StorageError,
    )
    from botkit.events import ActionResult, AgentRelease, UserMessage
    from botkit.flow import Bot, CompileResult, Flow, compile_bot, compile_texts, flow_files
    from botkit.problems import Problem, Severity
    from botkit.records import BusinessEvent, Record
    from botkit.runtime import ActionContext, Outcome, Reply, Runtime
    from botkit.storage import MemoryStore, SQLiteStore, Store, open_store

_MODULE_OF = {
    **dict.fromkeys(("BotApp", "load"), "botkit.app"),
    **dict.fromkeys(
        ("Button", "Call", "Card", "Choice", "End", "HandOff", "Image", "ListItem", "Say"),
        "botkit.effects",
    ),
    **dict.fromkeys(
        ("Classifier", "Engine", "Session", "Turn"),
        "botkit.engine",
    ),
    **dict.fromkeys(("ActionResult", "AgentRelease", "UserMessage"), "botkit.events"),
    **dict.fromkeys(
        ("Bot", "CompileResult", "Flow", "compile_bot", "compile_texts", "flow_files"),
        "botkit.flow",
    ),
    **dict.fromkeys(("Problem", "Severity"), "botkit.problems"),
    **dict.fromkeys(("BusinessEvent", "Record"), "botkit.records"),
    **dict.fromkeys(("ActionContext", "Outcome", "Reply", "Runtime"), "botkit.runtime"),
    **dict.fromkeys(
        ("MemoryStore", "SQLiteStore", "Store", "open_store"),
        "botkit.storage",
    ),
    **dict.fromkeys(
        (
            "BadPayload",
            "BotkitError",
            "ConfigurationError",
            "ConflictError",
            "FlowError",
            "NotWithAgent",
            "StepRefused",
            "StorageError",
        ),
        "botkit.errors",
    ),
}

__all__ = [
    "ActionContext",
    "ActionResult",
    "AgentRelease",
    "BadPayload",
    "Bot",
    "BotApp",
    "BotkitError",
    "BusinessEvent",
    "Button",
    "Call",
    "Card",
    "Choice",
    "Classifier",
    "CompileResult",
    "ConfigurationError",
    "ConflictError",
    "End",
    "Engine",
    "Flow",
    "FlowError",
    "HandOff",
    "Image",
    "ListItem",
    "MemoryStore",
    "NotWithAgent",
    "Outcome",
    "Problem",
    "Record",
    "Reply",
    "Runtime",
    "SQLiteStore",
    "Say",
    "Session",
    "Severity",
    "StepRefused",
    "StorageError",
    "Store",
    "Turn",
    "UserMessage",
    "compile_bot",
    "compile_texts",
    "flow_files",
    "load",
    "open_store",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'botkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
