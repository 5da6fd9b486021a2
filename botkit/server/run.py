"""Starting ``botkit serve``: settings, logs, the bot, the app, and uvicorn.

With ``workers`` above 1, uvicorn's supervisor starts that many processes on one listening
socket (the kernel spreads connections among them) and restarts any that dies. Each process
builds its own app from the same flows and settings, handed over in ``BOTKIT_SERVE_SPEC``, and
they share the store, which must be one that several processes can share (PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from botkit.app import BotApp, FlowError, SetupError, load
from botkit.runtime import ActionFunction
from botkit.server.app import create_app
from botkit.server.config import ServerSettings, load_settings
from botkit.server.logs import setup_logging
from botkit.storage import SharedStore, open_store

__all__ = ["ServeError", "serve", "worker_app"]

log = logging.getLogger("botkit.server")
_SPEC = "BOTKIT_SERVE_SPEC"  # the flows' path and the settings, for worker processes


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


def _bot(path: Path, settings: ServerSettings) -> tuple[BotApp, dict[str, ActionFunction] | None]:
    """The bot and its fixtures' stubs: everything that can be wrong with what was given."""
    try:
        bot = load(path)
    except (FlowError, SetupError) as exc:
        raise ServeError(str(exc)) from exc
    return bot, _stubs(bot, settings.fixtures)


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory; the parent checked everything)."""
    spec = orjson.loads(os.environ[_SPEC])
    settings = load_settings(None, env={}, overrides=spec["settings"])
    setup_logging(settings.log_level)
    bot, stubs = _bot(Path(spec["path"]), settings)
    return create_app(bot, settings, stubs=stubs)


def serve(path: Path, settings: ServerSettings) -> None:
    """Run the server until SIGINT/SIGTERM; turns in flight finish and commit first."""
    setup_logging(settings.log_level)
    if settings.workers < 1:
        raise ServeError(f"--workers must be 1 or more, not {settings.workers}")
    try:
        shared = isinstance(open_store(settings.store), SharedStore)  # nothing connects yet
    except ValueError as exc:
        raise ServeError(str(exc)) from exc
    if settings.workers > 1 and not shared:
        raise ServeError(
            f"{settings.workers} workers need a store they all share, such as"
            " --store postgresql://user@host/db; the store is"
            f" {settings.store.split('?')[0]!r}, which only one process may use"
        )
    bot, stubs = _bot(path, settings)  # the flows and fixtures are checked before anything starts
    log.info(
        "starting",
        extra={"host": settings.host, "port": settings.port, "workers": settings.workers},
    )
    if settings.workers == 1:
        uvicorn.Server(_uvicorn(create_app(bot, settings, stubs=stubs), settings)).run()
        return
    os.environ[_SPEC] = orjson.dumps(
        {"path": str(path.resolve()), "settings": dataclasses.asdict(settings)}
    ).decode()
    config = _uvicorn("botkit.server.run:worker_app", settings)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def _uvicorn(app: Starlette | str, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        factory=isinstance(app, str),  # workers build their own app: worker_app()
        loop="uvloop",
        http="httptools",
        log_config=None,  # our JSON lines (botkit.server.logs), not uvicorn's format
        access_log=False,  # one structured line per turn is logged by the endpoint instead
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        lifespan="on",
        server_header=False,
    )
