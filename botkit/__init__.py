"""botkit: scenario-driven chatbots from YAML flows.

The public API is what ``__all__`` lists; everything else may change between versions.
"""

from __future__ import annotations

from botkit.app import BotApp, FlowError, load
from botkit.effects import Button, Call, Card, Choice, End, HandOff, Image, ListItem, Say
from botkit.engine import Classifier, ConfigurationError, Engine, Session, Turn
from botkit.events import ActionResult, AgentRelease, UserMessage
from botkit.flow import Bot, CompileResult, Flow, compile_bot, compile_texts, flow_files
from botkit.problems import Problem, Severity
from botkit.records import Record
from botkit.runtime import ActionContext, Outcome, Reply, Runtime
from botkit.storage import (
    ConflictError,
    MemoryStore,
    SQLiteStore,
    StorageError,
    Store,
    open_store,
)

__all__ = [
    "ActionContext",
    "ActionResult",
    "AgentRelease",
    "Bot",
    "BotApp",
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
    "Outcome",
    "Problem",
    "Record",
    "Reply",
    "Runtime",
    "SQLiteStore",
    "Say",
    "Session",
    "Severity",
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
