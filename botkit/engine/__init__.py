"""The sans-IO engine: a session and an event in, effects and records out."""

from __future__ import annotations

from botkit.engine.engine import Engine, Turn, Validator, variant_for
from botkit.engine.matching import Classifier
from botkit.engine.session import Awaiting, Session, Status
from botkit.errors import ConfigurationError, NotWithAgent, StepRefused

__all__ = [
    "Awaiting",
    "Classifier",
    "ConfigurationError",
    "Engine",
    "NotWithAgent",
    "Session",
    "Status",
    "StepRefused",
    "Turn",
    "Validator",
    "variant_for",
]
