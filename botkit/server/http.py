"""What every HTTP endpoint of ``botkit serve`` answers with: JSON, errors as
``{"error": {"code", "message", …}}``, and bearer tokens compared in constant time."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["bearer_token", "json_error", "json_response", "same_secret"]


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
