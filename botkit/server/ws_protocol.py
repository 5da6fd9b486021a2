"""The WebSocket protocol ``botkit serve`` gives uvicorn: uvicorn's own, with a JSON refusal.

A handshake whose request line or one header line is over websockets' line limit (8 KiB by
default), or that has too many headers, never reaches botkit: websockets refuses it while it
parses the request, with a plain-text 414 or 431. Every other 4xx of the server says why in
JSON (``{"error": {"code", "message", …}}``, :mod:`botkit.adapters.http`), so this protocol
answers those refusals the same way: same status, botkit's JSON body.

It is a subclass of uvicorn's sans-I/O websockets protocol (uvicorn's default when websockets
is installed) that overrides one hook, ``handle_handshake_exception``. If the installed uvicorn
or websockets lacks what it relies on, :func:`ws_protocol` gives uvicorn's default instead: the
refusal is plain text again, and nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from botkit.adapters.http import error_body

__all__ = ["json_refusal", "ws_protocol"]

log = logging.getLogger("botkit.server")
DEFAULT = "auto"  # uvicorn's own choice: its websockets protocol


def json_refusal(exc: BaseException | None) -> tuple[int, dict[str, Any]] | None:
    """The status and JSON body for a handshake websockets could not read because of its size,
    or None for any other failure (uvicorn answers those itself)."""
    try:
        from websockets import http11
        from websockets.exceptions import HeaderLineTooLong, RequestLineTooLong, TooManyHeaders
    except ImportError:  # an older websockets, that has no such errors: uvicorn answers
        return None
    line = getattr(http11, "MAX_LINE_LENGTH", 8192)
    if isinstance(exc, HeaderLineTooLong):
        message = f"a header line is longer than {line} bytes"
        return 431, error_body("headers_too_large", message, limit=line)
    if isinstance(exc, TooManyHeaders):
        count = getattr(http11, "MAX_NUM_HEADERS", 128)
        message = f"the request has more than {count} headers"
        return 431, error_body("headers_too_large", message, limit=count)
    if isinstance(exc, RequestLineTooLong):
        message = f"the request line is longer than {line} bytes"
        return 414, error_body("uri_too_long", message, limit=line)
    return None


def _json_protocol() -> type[asyncio.Protocol] | None:
    """uvicorn's sans-I/O protocol with botkit's refusal, or None when this uvicorn has not
    the hook it overrides."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
        from websockets.http11 import Response  # noqa: F401 (the refusal is built as one)
    except ImportError:
        return None
    if not callable(getattr(WebSocketsSansIOProtocol, "handle_handshake_exception", None)):
        return None

    class JsonRefusalProtocol(WebSocketsSansIOProtocol):
        def handle_handshake_exception(self) -> None:
            conn = getattr(self, "conn", None)
            refusal = json_refusal(getattr(conn, "handshake_exc", None))
            if conn is None or refusal is None:
                super().handle_handshake_exception()
                return
            status, body = refusal
            # websockets has queued its plain-text refusal; it is dropped for botkit's, built
            # by websockets' own reject() so that the status line and headers stay its own.
            conn.data_to_send()
            response = conn.reject(status, "")
            response.body = orjson.dumps(body)
            del response.headers["Content-Type"]
            del response.headers["Content-Length"]
            response.headers["Content-Type"] = "application/json"
            response.headers["Content-Length"] = str(len(response.body))
            # As uvicorn's own handler: no ASGI app runs for this connection, it is closed.
            self.handshake_complete = True
            self.close_sent = True
            self.transport.write(response.serialize())
            self.transport.close()

    JsonRefusalProtocol.__qualname__ = JsonRefusalProtocol.__name__  # picklable for workers
    return JsonRefusalProtocol


JsonRefusalProtocol = _json_protocol()


def ws_protocol() -> type[asyncio.Protocol] | str:
    """What ``botkit serve`` passes as uvicorn's ``ws=``: the JSON-refusing protocol, or
    uvicorn's default when the installed versions do not have what it needs."""
    if JsonRefusalProtocol is None:
        log.warning("the WebSocket handshake's size refusals will be plain text (uvicorn's)")
        return DEFAULT
    return JsonRefusalProtocol
