"""Reloading the bot while it serves: ``POST /admin/reload``, SIGHUP, and the other workers.

A reload compiles the flow folder ``botkit serve`` was started with, again, in a thread (a big
bot takes a second or two to compile; the event loop keeps answering meanwhile). A version with
problems is refused: the version live before keeps serving, and the problems are logged and
answered as JSON, each with its ``file:line:col``. A good one goes live
(:meth:`~botkit.runtime.Runtime.go_live`): kept in the store, new conversations start on it,
running ones finish on the version they started on, and a turn already running finishes on its
own.

With several workers, the worker that reloaded tells the others through the store (PostgreSQL's
NOTIFY, :class:`~botkit.storage.Broadcast`); each takes the live version from the store, so all
of them answer the next turn on it. SIGHUP reaches every worker (``botkit.server.run`` passes it
on instead of restarting them), and each reloads the same files: the first makes the version
live, the others find it live already.

``actions.py`` is not imported again: a version that calls a Python function this process does
not have is refused, and needs a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from botkit.adapters.http import bearer_refusal, error_body, json_response
from botkit.app import BotApp
from botkit.errors import ConfigurationError
from botkit.flow import CompileResult, compile_bot, flow_files
from botkit.problems import Problem, render_problem
from botkit.runtime import Runtime
from botkit.storage import Broadcast, StorageError

__all__ = ["Outcome", "Reloader"]

log = logging.getLogger("botkit.server")
VERSIONS = "botkit_versions"  # the broadcast topic: a version went live


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reload did: the live ``version`` after it, the one before, and, when it was
    refused, why (``problems`` of the flows, or a ``refusal`` such as a missing function)."""

    version: str
    previous: str
    problems: list[Problem] = field(default_factory=list)
    refusal: str | None = None

    @property
    def refused(self) -> bool:
        return bool(self.problems) or self.refusal is not None

    def to_json(self) -> dict[str, Any]:
        if not self.refused:
            changed = self.version != self.previous
            return {"version": self.version, "previous": self.previous, "changed": changed}
        if self.problems:
            return error_body(
                "flow_problems",
                f"the flows have {len(self.problems)} problem(s); version {self.version} stays"
                " live",
                version=self.version,
                problems=[p.to_json() for p in self.problems],
            )
        return error_body("cannot_run", str(self.refusal), version=self.version)


class Reloader:
    """Reloads the folder ``bot`` was loaded from into ``runtime``; ``token`` guards the HTTP
    door (None: it is off); ``signals``: SIGHUP reloads too (``botkit serve``, not a test)."""

    def __init__(
        self,
        runtime: Runtime,
        bot: BotApp,
        token: str | None,
        broadcast: Broadcast | None,
        *,
        signals: bool = False,
    ) -> None:
        self.runtime = runtime
        self.folder = bot.path
        self.sources = bot.sources
        self.token = token
        self.broadcast = broadcast
        self.signals = signals
        self._lock = asyncio.Lock()  # one reload at a time in this process
        self._signals = False
        self._tasks: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/admin/reload", self.reload_endpoint, methods=["POST"]),
            Route("/admin/version", self.version_endpoint, methods=["GET"]),
        ]

    async def start(self) -> None:
        """Make the bot this process started with live (the store must be open), hear the
        other workers' reloads, and, with ``signals``, reload on SIGHUP."""
        await self.runtime.go_live(self.runtime.bot, self.sources)
        if self.broadcast is not None:
            await self.broadcast.subscribe(VERSIONS, self._heard)
        if self.signals:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self._on_hup)
            self._signals = True

    def stop(self) -> None:
        if self._signals:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signals = False

    async def reload(self) -> Outcome:
        """Compile the folder again; make the result live unless it has problems."""
        async with self._lock:
            previous = self.runtime.bot.version
            if self.folder is None:
                return Outcome(previous, previous, refusal="this bot was not loaded from a folder")
            result = await asyncio.to_thread(_compile, self.folder)
            errors = result.errors
            if result.bot is None or errors:
                for problem in errors:
                    log.error("reload refused: %s", render_problem(problem))
                return Outcome(previous, previous, problems=errors or result.problems)
            try:
                await self.runtime.go_live(result.bot, result.sources)
            except ConfigurationError as exc:
                log.error("reload refused: %s", exc)
                return Outcome(previous, previous, refusal=f"{exc} (a restart loads actions.py)")
            self.sources = result.sources
            version = self.runtime.bot.version
            log.info("reloaded", extra={"version": version, "previous": previous})
            await self._tell_others(version)
            return Outcome(version, previous)

    async def reload_endpoint(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        outcome = await self.reload()
        return json_response(outcome.to_json(), 422 if outcome.refused else 200)

    async def version_endpoint(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        return json_response({"version": self.runtime.bot.version, "pid": os.getpid()})

    def _refuse(self, request: Request) -> Response | None:
        return bearer_refusal(
            request, self.token, "no_admin_token", "set an admin token (BOTKIT_ADMIN_TOKEN)"
        )

    async def _tell_others(self, version: str) -> None:
        if self.broadcast is None:
            return
        try:
            await self.broadcast.publish(VERSIONS, {"version": version})
        except StorageError as exc:  # they still find it in the store at their next reload
            log.warning("reload not broadcast", extra={"error": str(exc)})

    async def _heard(self, message: dict[str, Any]) -> None:
        """Another worker (or this one) made a version live, or the broadcast reconnected
        (``{}``: a reload may have been missed): take the live version from the store."""
        if message.get("version") == self.runtime.bot.version:
            return
        async with self._lock:
            try:
                await self.runtime.sync_versions()
            except StorageError as exc:
                log.warning("could not take the live version", extra={"error": str(exc)})

    def _on_hup(self) -> None:
        log.info("SIGHUP: reloading the flows")
        task = asyncio.ensure_future(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _compile(folder: Path) -> CompileResult:
    return compile_bot(flow_files(folder), display_root=Path.cwd())
