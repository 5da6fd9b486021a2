"""Running a stand-in on 127.0.0.1 and a free port: in the test's own event loop
(:func:`serving`), or as a process of its own (:func:`spawn`) that outlives a sender killed
with ``kill -9`` and is read and steered over HTTP.

The process is ``python -m botkit.adapters.outbound.standin kakao|webhook --port 0``: it prints
the port it listens on as its first line of output, then serves until SIGTERM or SIGINT. The
REST key and the webhook secret come from ``--rest-key`` / ``--secret`` or, so that they stay out
of the process list, from ``BOTKIT_STANDIN_REST_KEY`` / ``BOTKIT_STANDIN_SECRET``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any, Literal

import httpx
import uvicorn
from starlette.types import ASGIApp

from botkit.errors import BotkitError

__all__ = ["StandInProcess", "StandInUnavailable", "serving", "spawn", "uvicorn_config"]

Kind = Literal["kakao", "webhook"]
MODULE = "botkit.adapters.outbound.standin"


class StandInUnavailable(BotkitError):
    """A stand-in process that did not start, or stopped."""


def uvicorn_config(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> uvicorn.Config:
    """How a stand-in is served: no access log (its lines would name users), no lifespan."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
    )


async def started(server: uvicorn.Server, serving: asyncio.Task[None]) -> int:
    """Wait until ``server`` listens; its port."""
    while not server.started:
        if serving.done():
            serving.result()  # the startup's own error, if it raised one
            raise StandInUnavailable("the stand-in stopped before it started")
        await asyncio.sleep(0.005)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` in this event loop on a free port of ``host``; yield its base URL."""
    server = uvicorn.Server(uvicorn_config(app, host))
    task = asyncio.create_task(server.serve())
    port = await started(server, task)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class StandInProcess:
    """A stand-in running as its own process: its ``url``, its counters (:meth:`stats`), its
    failures (:meth:`faults`). :meth:`stop` (or leaving the ``with`` block) ends it."""

    process: subprocess.Popen[bytes]
    url: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            answer = httpx.request(method, self.url + path, json=body, timeout=10.0)
        except httpx.HTTPError as exc:
            raise StandInUnavailable(f"the stand-in at {self.url} does not answer") from exc
        answer.raise_for_status()
        return answer.json()

    def stats(self, keys: bool = True) -> dict[str, Any]:
        stats: dict[str, Any] = self._call("GET", "/_standin/stats" + ("" if keys else "?keys=0"))
        return stats

    def faults(self, **changes: Any) -> None:
        self._call("POST", "/_standin/faults", changes)

    def reset(self) -> None:
        self._call("POST", "/_standin/reset")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> StandInProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn(
    kind: Kind,
    *,
    rest_key: str | None = None,
    secret: str | None = None,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
) -> StandInProcess:
    """Start a stand-in process on a free port of ``host`` and wait until it listens."""
    env = dict(os.environ)
    if rest_key is not None:
        env["BOTKIT_STANDIN_REST_KEY"] = rest_key
    if secret is not None:
        env["BOTKIT_STANDIN_SECRET"] = secret
    process = subprocess.Popen(
        [sys.executable, "-m", MODULE, kind, "--host", host, "--port", "0"],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    line = _first_line(process.stdout, time.monotonic() + timeout)
    if not line.strip().isdigit():
        process.kill()
        process.wait()
        process.stdout.close()
        raise StandInUnavailable(f"the {kind} stand-in did not start (it said {line!r})")
    return StandInProcess(process, f"http://{host}:{int(line)}")


def _first_line(stream: IO[bytes], deadline: float) -> str:
    """The first line a process writes, or "" when it wrote none before ``deadline``."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return ""
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            return stream.readline().decode(errors="replace")
