"""Structured logs: one JSON object per line, with no secret in it and phone and order numbers
masked.

Operators grep and ship these lines: a token in them is a token in every log store and every
screen share, and customers' phone and order numbers must not end up there either. So every
string a line carries (the message, every extra field, the exception's text) goes through the
server's :class:`~botkit.server.redaction.Redactor` and then :func:`~botkit.masking.mask`,
whoever logged it: botkit, uvicorn or a library.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

from botkit.masking import mask
from botkit.server.config import ServerSettings
from botkit.server.redaction import HIDDEN, Redactor

__all__ = ["JsonFormatter", "mask", "setup_logging"]

# LogRecord's own attributes, and uvicorn's copy of the message with colour escape codes.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"color_message"}

# Loggers that say, below this level, what must not be in a log: aiosqlite every SQL statement
# with its parameters (users' messages and slots); httpcore, h11, hpack and h2 raw headers and
# bytes; httpx every URL it calls at info (Kakao's callback URLs are credentials for a minute);
# uvicorn.error, at debug, the websockets library's trace of handshake headers and frames (the
# widget's messages). Their warnings and errors still come through.
_QUIET_BELOW = {
    "aiosqlite": logging.WARNING,
    "asyncpg": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "h11": logging.WARNING,
    "h2": logging.WARNING,
    "hpack": logging.WARNING,
    "websockets": logging.WARNING,
    "multipart": logging.WARNING,
    "python_multipart": logging.WARNING,
    "uvicorn.asgi": logging.WARNING,
    "uvicorn.error": logging.INFO,
}
_INT_RANGE = (-(2**63), 2**64 - 1)  # what a JSON line's integer may be (orjson's range)


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        # Without the server's settings, secret-shaped text is still hidden (a bearer header,
        # whatever follows the default skill path, ?token=…), only not the configured values.
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self._line(record)
        except Exception:  # a log line never fails, nor falls back to printing the record raw
            entry = {"level": record.levelname.lower(), "logger": record.name}
            return orjson.dumps({**entry, "message": "(a log line could not be written)"}).decode()

    def _line(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self._clean(_message(record)),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = self._field(key, value)
        if record.exc_info:
            # The exception's type and message only: a traceback is for a debugger, not a log
            # line, and it can carry the customer's data in its locals' reprs.
            kind, exc, _ = record.exc_info
            entry["error"] = self._clean(f"{kind.__name__ if kind else 'Error'}: {exc}")
        return orjson.dumps(entry).decode("utf-8")

    def _clean(self, text: str) -> str:
        # Secrets first: masking would change a secret's digits and leave the rest of it.
        return mask(self.redactor.redact(text))

    def _field(self, name: str, value: Any) -> Any:
        """``value`` with every string in it cleaned, as what orjson writes; hidden whole when
        ``name`` says it is a secret."""
        if self.redactor.is_secret_field(name) and value not in (None, ""):
            return HIDDEN
        return self._cleaned(value)

    def _cleaned(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int) and _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return value
        if isinstance(value, Mapping):
            return {self._clean(str(k)): self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._cleaned(v) for v in value]
        if isinstance(value, bytes | bytearray):
            return self._clean(bytes(value).decode("utf-8", errors="replace"))
        return self._clean(str(value))


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # arguments that do not fit the message: logging would print them raw
        return f"{record.msg} (its arguments did not fit)"


class _Handler(logging.StreamHandler[TextIO]):
    def handleError(self, record: logging.LogRecord) -> None:
        # logging's own handleError prints the record's message and arguments to stderr as
        # they are, secrets and all. A line that cannot be written is dropped instead.
        pass


def setup_logging(
    level: str = "info",
    settings: ServerSettings | None = None,
    *,
    stream: TextIO | None = None,
) -> None:
    """JSON lines on ``stream`` (stderr) from ``level`` up, without the secrets of
    ``settings``, for every logger: the root's one handler is the only way out."""
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor.of(settings) if settings else None))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for logger in list(root.manager.loggerDict.values()):
        # A logger with a handler of its own (uvicorn's default set-up gives uvicorn.access
        # one, writing to stdout) would write its lines past the redaction.
        if isinstance(logger, logging.Logger):
            logger.handlers.clear()
            logger.propagate = True
    for name, floor in _QUIET_BELOW.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
