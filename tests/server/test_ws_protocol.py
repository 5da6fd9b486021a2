"""botkit serve's WebSocket protocol: uvicorn's own, answering a handshake too large to read
with botkit's JSON error; uvicorn's default whenever the installed versions differ."""

from __future__ import annotations

import pickle

import pytest
from websockets.exceptions import (
    HeaderLineTooLong,
    InvalidMessage,
    RequestLineTooLong,
    TooManyHeaders,
)

import botkit.server.ws_protocol as module
from botkit.server import ServerSettings
from botkit.server.run import _uvicorn
from botkit.server.ws_protocol import json_refusal


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (HeaderLineTooLong(), 431, "headers_too_large"),
        (TooManyHeaders(), 431, "headers_too_large"),
        (RequestLineTooLong(), 414, "uri_too_long"),
    ],
)
def test_a_handshake_too_large_to_read_is_refused_in_botkits_shape(
    exc: Exception, status: int, code: str
) -> None:
    refusal = json_refusal(exc)
    assert refusal is not None
    got_status, body = refusal
    assert got_status == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["limit"], int)


@pytest.mark.parametrize("exc", [InvalidMessage("did not receive a valid HTTP request"), None])
def test_other_handshake_failures_are_left_to_uvicorn(exc: Exception | None) -> None:
    assert json_refusal(exc) is None


def test_botkit_serve_gives_uvicorn_the_json_protocol() -> None:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    protocol = _uvicorn("botkit.server.run:worker_app", ServerSettings()).ws
    assert isinstance(protocol, type)
    assert issubclass(protocol, WebSocketsSansIOProtocol)
    # Workers receive uvicorn's config pickled: the class must be found again by its name.
    assert pickle.loads(pickle.dumps(protocol)) is protocol


def test_without_the_hook_it_overrides_uvicorns_default_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "JsonRefusalProtocol", None)
    assert module.ws_protocol() == "auto"
    assert _uvicorn("botkit.server.run:worker_app", ServerSettings()).ws == "auto"
