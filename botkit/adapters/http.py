"""What every HTTP endpoint answers with, channels and server alike: JSON, errors as
``{"error": {"code", "message", …}}``, and bearer tokens compared in constant time.

This is the one place an error body is shaped. The channels answer with it and so does the
server around them (its 404/405/413/431/500), so a client reads every refusal the same way.
It lives with the adapters, the lowest floor that speaks HTTP, so that a channel never has to
import the server that mounts it.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from botkit.errors import BadId

__all__ = [
    "RETRY_AFTER_S",
    "UNAVAILABLE",
    "UNAVAILABLE_ERROR",
    "bad_id_response",
    "bad_token",
    "bearer_refusal",
    "bearer_token",
    "error_body",
    "head_too_large_error",
    "json_error",
    "json_response",
    "same_secret",
    "too_large_error",
    "too_large_response",
    "unavailable",
]

# When the store does not answer (a database restarting, a network cut), requests get 503 and
# are told to come back in this many seconds; a restart of PostgreSQL takes a few.
RETRY_AFTER_S = 2
UNAVAILABLE = "the bot's store does not answer right now; nothing was kept, try again shortly"
UNAVAILABLE_ERROR = {"code": "unavailable", "message": UNAVAILABLE, "retry_after": RETRY_AFTER_S}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The body of every refusal: what went wrong (``code``), a sentence, and details."""
    return {"error": {"code": code, "message": message, **extra}}


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def json_error(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response(error_body(code, message, **extra), status)


def too_large_error(limit: int) -> dict[str, Any]:
    """The 413 body, the same from every endpoint."""
    return error_body("body_too_large", f"the body is larger than {limit} bytes", limit=limit)


def too_large_response(limit: int) -> Response:
    return json_response(too_large_error(limit), 413)


def bad_id_response(bad: BadId) -> Response:
    """400 ``bad_id``, naming the field (the checks are :mod:`botkit.adapters.checks`)."""
    return json_error(400, "bad_id", str(bad), path=bad.path)


def head_too_large_error(limit: int) -> dict[str, Any]:
    """The 431 body, the same from the edge and from the WebSocket handshake."""
    message = f"the request line and headers are larger than {limit} bytes"
    return error_body("headers_too_large", message, limit=limit)


def unavailable() -> Response:
    """503 with ``Retry-After``: the store is down, the request was not taken."""
    response = json_response({"error": UNAVAILABLE_ERROR}, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer <token>``, or "" when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in a time that does not tell how much of them is."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def bad_token() -> Response:
    """401 ``bad_token``: the request's bearer token is missing or wrong."""
    return json_error(401, "bad_token", "a valid 'Authorization: Bearer <token>' is needed")


def bearer_refusal(
    request: Request, token: str | None, unset_code: str, unset_message: str
) -> Response | None:
    """Why a request to a door guarded by one bearer ``token`` is refused: 503 ``unset_code``
    while no token is set (the door is off), 401 ``bad_token`` without the right one; None when
    it may come in."""
    if not token:
        return json_error(503, unset_code, unset_message)
    if not same_secret(bearer_token(request), token):
        return bad_token()
    return None
