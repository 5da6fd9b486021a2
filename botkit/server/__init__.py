"""``botkit serve``: one ASGI application for every channel, on uvicorn."""

from __future__ import annotations

from botkit.errors import ConfigurationError
from botkit.server.app import Server, create_app
from botkit.server.config import (
    AgentSettings,
    HelpdeskSettings,
    KakaoSettings,
    ServerSettings,
    WebSettings,
    load_settings,
)

__all__ = [
    "AgentSettings",
    "ConfigurationError",
    "HelpdeskSettings",
    "KakaoSettings",
    "Server",
    "ServerSettings",
    "WebSettings",
    "create_app",
    "load_settings",
]
