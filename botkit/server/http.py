"""The JSON answers of the server's own endpoints: those of :mod:`botkit.adapters.http`.

One module shapes every JSON answer and error, and it lives with the adapters so that a channel
never imports the server; this name stays for the server's endpoints that import it here.
"""

from __future__ import annotations

from botkit.adapters.http import (
    RETRY_AFTER_S,
    UNAVAILABLE,
    UNAVAILABLE_ERROR,
    bearer_token,
    error_body,
    json_error,
    json_response,
    same_secret,
    unavailable,
)

__all__ = [
    "RETRY_AFTER_S",
    "UNAVAILABLE",
    "UNAVAILABLE_ERROR",
    "bearer_token",
    "error_body",
    "json_error",
    "json_response",
    "same_secret",
    "unavailable",
]
