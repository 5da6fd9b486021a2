"""The async runtime around the engine: locks, actions, one-transaction commits."""

from __future__ import annotations

from botkit.runtime.actions import ActionContext, ActionFunction, Outcome
from botkit.runtime.runtime import Reply, Runtime

__all__ = ["ActionContext", "ActionFunction", "Outcome", "Reply", "Runtime"]
