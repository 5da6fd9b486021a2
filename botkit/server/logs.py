"""Structured logs: one JSON object per line, with phone and order numbers masked.

Operators grep and ship these lines; customers' phone numbers and order numbers must not end up
in a log store, so every message and every extra field is masked before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

__all__ = ["JsonFormatter", "mask", "setup_logging"]

# 010-1234-5678, 01012345678, 02-123-4567, +82 10 1234 5678: keep the first and last digits.
_PHONE = re.compile(
    r"(?<!\d)(\+?82[- ]?)?(0?1[016789]|0\d{1,2})[- .]?(\d{3,4})[- .]?(\d{4})(?!\d)"
)
# Order numbers: 10 digits, maybe grouped 4-3-3 (full-width digits are normalized before).
_ORDER = re.compile(r"(?<!\d)(\d{4})[- ]?(\d{3})[- ]?(\d{3})(?!\d)")

# LogRecord's own attributes, and uvicorn's copy of the message with colour escape codes.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"color_message"}


def mask(text: str) -> str:
    """``010-1234-5678`` → ``010-****-5678``; ``1234-567-890`` → ``1234-***-***``."""
    text = _PHONE.sub(lambda m: f"{m.group(2)}-****-{m.group(4)}", text)
    return _ORDER.sub(lambda m: f"{m.group(1)}-***-***", text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _masked(value)
        if record.exc_info:
            # The exception's type and message only: a traceback is for a debugger, not a log
            # line, and it can carry the customer's data in its locals' reprs.
            kind, exc, _ = record.exc_info
            entry["error"] = mask(f"{kind.__name__ if kind else 'Error'}: {exc}")
        return orjson.dumps(entry, default=str).decode("utf-8")


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
