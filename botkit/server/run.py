"""Starting ``botkit serve``: settings, logs, the bot, the app, and uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from botkit.app import BotApp, FlowError, SetupError, load
from botkit.runtime import ActionFunction
from botkit.server.app import create_app
from botkit.server.config import ServerSettings
from botkit.server.logs import setup_logging

__all__ = ["ServeError", "serve"]

log = logging.getLogger("botkit.server")


class ServeError(Exception):
    """The server cannot start; ``str()`` is what to print."""


def _stubs(bot: BotApp, fixtures: str | None) -> dict[str, ActionFunction] | None:
    if fixtures is None:
        return None
    from botkit.simulator.fixtures import stubs_for
    from botkit.simulator.recording import FixtureFileError, read_fixtures

    try:
        return stubs_for(read_fixtures(Path(fixtures), bot).fixtures.actions)
    except FixtureFileError as exc:
        raise ServeError(str(exc)) from exc


def serve(path: Path, settings: ServerSettings) -> None:
    """Run the server until SIGINT/SIGTERM; turns in flight finish and commit first."""
    setup_logging(settings.log_level)
    try:
        bot = load(path)
    except (FlowError, SetupError) as exc:
        raise ServeError(str(exc)) from exc
    app = create_app(bot, settings, stubs=_stubs(bot, settings.fixtures))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,  # our JSON lines (botkit.server.logs), not uvicorn's format
        access_log=False,  # one structured line per turn is logged by the endpoint instead
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        lifespan="on",
        server_header=False,
    )
    log.info("starting", extra={"host": settings.host, "port": settings.port})
    uvicorn.Server(config).run()
