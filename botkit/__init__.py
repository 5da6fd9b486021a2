"""botkit: scenario-driven chatbots from YAML flows.

The public API is what ``__all__`` lists; everything else may change between versions.
"""

from __future__ import annotations

from botkit.flow import Bot, CompileResult, Flow, compile_bot, compile_texts, flow_files
from botkit.problems import Problem, Severity

__all__ = [
    "Bot",
    "CompileResult",
    "Flow",
    "Problem",
    "Severity",
    "compile_bot",
    "compile_texts",
    "flow_files",
]

__version__ = "0.1.0"
