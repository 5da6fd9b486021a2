"""Starting ``botkit serve``: settings, logs, the bot, the app, and uvicorn.

With ``workers`` above 1, uvicorn's supervisor starts that many processes on one listening
socket (the kernel spreads connections among them) and restarts any that dies. Each process
builds its own app from the same flows and settings, handed over in ``BOTKIT_SERVE_SPEC``, and
they share the store, which must be one that several processes can share (PostgreSQL).

A ``--fixtures`` file that sets ``clock:`` moves the server's clock: it starts at that instant
and runs on at the wall clock's pace, so a demo or a browser test meets the same business hours
whatever the hour, the weekday or the machine's time zone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import uvicorn
from uvicorn.supervisors import Multiprocess

from botkit.app import BotApp, load
from botkit.errors import ConfigurationError, FlowError
from botkit.runtime import ActionFunction
from botkit.server.app import Server, create_app
from botkit.server.config import ServerSettings, load_settings
from botkit.server.logs import setup_logging
from botkit.server.ws_protocol import ws_protocol
from botkit.storage import SharedStore, open_store

__all__ = ["ConfigurationError", "serve", "worker_app"]

log = logging.getLogger("botkit.server")
_SPEC = "BOTKIT_SERVE_SPEC"  # the flows' path and the settings, for worker processes


_Stubs = dict[str, ActionFunction] | None


def _fixtures(bot: BotApp, fixtures: str | None) -> tuple[_Stubs, float | None]:
    """The fixtures' stubs, and the instant their ``clock:`` names (None: the wall clock)."""
    if fixtures is None:
        return None, None
    from botkit.simulator.fixtures import stubs_for
    from botkit.simulator.recording import FixtureFileError, read_fixtures

    try:
        read = read_fixtures(Path(fixtures), bot)
    except FixtureFileError as exc:
        raise ConfigurationError(str(exc)) from exc
    start = read.fixtures.start_time(bot.bot.timezone) if "clock" in read.raw else None
    return stubs_for(read.fixtures.actions), start


def _bot(path: Path, settings: ServerSettings) -> tuple[BotApp, _Stubs, float | None]:
    """The bot, its fixtures' stubs and clock: everything that can be wrong with what was given."""
    try:
        bot = load(path)
    except FlowError as exc:  # a ConfigurationError (actions.py) is one already
        raise ConfigurationError(str(exc)) from exc
    return (bot, *_fixtures(bot, settings.fixtures))


def _clock(offset: float | None) -> Callable[[], float]:
    """The wall clock, or the wall clock moved by ``offset`` seconds (a fixtures' ``clock:``)."""
    if offset is None:
        return time.time
    return lambda: time.time() + offset


def worker_app() -> Server:
    """The app of one worker process (uvicorn's factory; the parent checked everything)."""
    spec = orjson.loads(os.environ[_SPEC])
    settings = load_settings(None, env={}, overrides=spec["settings"])
    setup_logging(settings.log_level, settings)
    bot, stubs, _ = _bot(Path(spec["path"]), settings)
    # The parent's offset, so that every worker's clock reads the same.
    return create_app(bot, settings, stubs=stubs, clock=_clock(spec["clock_offset"]), signals=True)


def serve(path: Path, settings: ServerSettings) -> None:
    """Run the server until SIGINT/SIGTERM; turns in flight finish and commit first."""
    setup_logging(settings.log_level, settings)
    if settings.workers < 1:
        raise ConfigurationError(f"--workers must be 1 or more, not {settings.workers}")
    try:
        shared = isinstance(open_store(settings.store), SharedStore)  # nothing connects yet
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    if settings.workers > 1 and not shared:
        raise ConfigurationError(
            f"{settings.workers} workers need a store they all share, such as"
            " --store postgresql://user@host/db; the store is"
            f" {settings.store.split('?')[0]!r}, which only one process may use"
        )
    bot, stubs, start = _bot(path, settings)  # flows and fixtures are checked before anything
    offset = None if start is None else start - time.time()
    log.info(
        "starting",
        extra={"host": settings.host, "port": settings.port, "workers": settings.workers},
    )
    if settings.workers == 1:
        app = create_app(bot, settings, stubs=stubs, clock=_clock(offset), signals=True)
        uvicorn.Server(_uvicorn(app, settings)).run()
        return
    os.environ[_SPEC] = orjson.dumps(
        {
            "path": str(path.resolve()),
            "settings": dataclasses.asdict(settings),
            "clock_offset": offset,
        }
    ).decode()
    config = _uvicorn("botkit.server.run:worker_app", settings)
    _Supervisor(config, sockets=[config.bind_socket()]).run()


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, except that SIGHUP reloads the flows in every worker (each
    reloads on its own SIGHUP: botkit.server.reload) instead of restarting them, which would
    cut the turns and sockets they hold."""

    def handle_hup(self) -> None:
        log.info("SIGHUP: the workers reload the flows")
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)


def _uvicorn(app: Server | str, settings: ServerSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        factory=isinstance(app, str),  # workers build their own app: worker_app()
        loop="uvloop",
        http="httptools",
        ws=ws_protocol(),  # uvicorn's, answering a handshake too large to read in JSON
        log_config=None,  # our JSON lines (botkit.server.logs), not uvicorn's format
        access_log=False,  # one structured line per turn is logged by the endpoint instead
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        lifespan="on",
        server_header=False,
        ws_max_size=settings.web.max_socket_bytes,  # uvicorn's default lets a socket hold 16 MiB
    )
