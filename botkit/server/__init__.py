"""``botkit serve``: one ASGI application for every channel, on uvicorn."""

from __future__ import annotations

from botkit.server.app import create_app
from botkit.server.config import (
    AgentSettings,
    ConfigError,
    HelpdeskSettings,
    KakaoSettings,
    ServerSettings,
    WebSettings,
    load_settings,
)

__all__ = [
    "AgentSettings",
    "ConfigError",
    "HelpdeskSettings",
    "KakaoSettings",
    "ServerSettings",
    "WebSettings",
    "create_app",
    "load_settings",
]
