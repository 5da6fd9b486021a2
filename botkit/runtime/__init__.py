"""The async runtime around the engine: locks, actions, one-transaction commits."""

from __future__ import annotations

from botkit.runtime.actions import ActionContext, ActionFunction, Outcome
from botkit.runtime.conversations import Conversations, HandedOff
from botkit.runtime.reply import Failure, Reply, kept
from botkit.runtime.runtime import Runtime

__all__ = [
    "ActionContext",
    "ActionFunction",
    "Conversations",
    "Failure",
    "HandedOff",
    "Outcome",
    "Reply",
    "Runtime",
    "kept",
]
