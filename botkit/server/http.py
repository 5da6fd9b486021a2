"""What every HTTP endpoint of ``botkit serve`` answers with: JSON, errors as
``{"error": {"code", "message", …}}``, and bearer tokens compared in constant time."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "RETRY_AFTER_S",
    "UNAVAILABLE",
    "UNAVAILABLE_ERROR",
    "bearer_token",
    "json_error",
    "json_response",
    "same_secret",
    "unavailable",
]

# When the store does not answer (a database restarting, a network cut), requests get 503 and
# are told to come back in this many seconds; a restart of PostgreSQL takes a few.
RETRY_AFTER_S = 2
UNAVAILABLE = "the bot's store does not answer right now; nothing was kept, try again shortly"
UNAVAILABLE_ERROR = {"code": "unavailable", "message": UNAVAILABLE, "retry_after": RETRY_AFTER_S}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def json_error(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status)


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``, or "" when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in a time that does not tell how much of them is."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def unavailable() -> Response:
    """503 with ``Retry-After``: the store is down, the request was not taken."""
    response = json_response({"error": UNAVAILABLE_ERROR}, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
