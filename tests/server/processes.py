"""``botkit serve`` processes on loopback, as an operator starts them, for every test that
needs a real server process (workers, shutdown, the browser tests): started, waited for until
ready, stopped with SIGTERM, their logs kept."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "flows" / "tests" / "demo.fixtures.yaml"
# The courier takes 1.5 s: longer than a short Kakao budget, or than a shutdown's first moments.
SLOW_COURIER = """
fixtures:
  actions:
    lookup_order:
      delay: 1500ms
      data: {status: 배송중, delivery: {eta: 11월 27일, courier: CJ대한통운}}
"""
# flows/tests/demo.fixtures.yaml's courier, on the clock `botkit test` starts at: Wednesday
# 2026-11-25 10:00 in the bot's time zone, inside cs_team's hours (mon-fri 09:00-18:00): a
# server started with it answers alike at any hour, on any weekday, in any time zone.
OPEN_HOURS_FIXTURES = """\
fixtures:
  clock: "2026-11-25 10:00"
  actions:
    lookup_order:
      data:
        status: 배송중
        delivery: {eta: 11월 27일, courier: CJ대한통운}
"""


def open_hours_fixtures(folder: Path) -> Path:
    """A --fixtures file in ``folder``: the demo's courier, and a clock inside business hours."""
    path = folder / "open-hours.fixtures.yaml"
    path.write_text(OPEN_HOURS_FIXTURES, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kakao(text: str, user: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A minimal SkillPayload of the shop bot's user ``user``."""
    return {
        "userRequest": {"utterance": text, "user": {"id": user, "properties": {}}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": extra or {}},
    }


@dataclass
class Served:
    """One ``botkit serve`` process: where it answers, its SQLite file (when it uses the
    default store), and its log."""

    process: subprocess.Popen[bytes]
    url: str
    db: Path
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it (turns in flight finish); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def serve(
    tmp: Path,
    *args: str,
    store: str | None = None,
    flows: Path = REPO / "flows",
    fixtures: Path = FIXTURES,
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """``botkit serve <flows> --port <free> <args>`` in a process of its own, once it answers
    ``/readyz``: on a fresh SQLite file in ``tmp`` (or ``store``), the courier answered by
    ``fixtures``, with ``env`` added to the environment. Stopped with SIGTERM afterwards."""
    port = free_port()
    db, log = tmp / f"bot-{port}.db", tmp / f"serve-{port}.log"
    command = [
        sys.executable, "-m", "botkit.cli.main", "serve", str(flows), "--port", str(port),
        "--store", store or f"sqlite:///{db}", "--fixtures", str(fixtures), *args,
    ]  # fmt: skip
    full_env = {**os.environ, "BOTKIT_LOG_LEVEL": "info", **(env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=out, stderr=out)
    served = Served(process, f"http://127.0.0.1:{port}", db, log)
    try:
        _wait_ready(served)
        yield served
    finally:
        served.stop()


def _wait_ready(served: Served, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"botkit serve exited early:\n{served.log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"botkit serve did not get ready:\n{served.log}")
