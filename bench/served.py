"""`botkit serve` as the HTTP benches run it: a separate process on loopback, on a fresh SQLite
file, its courier answered by the demo fixtures; started, waited for, loaded, stopped with
SIGTERM, and its store read back. Also the small figures both benches print (percentiles, CPU).
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

from botkit.storage import SQLiteStore

__all__ = [
    "ROOT",
    "Served",
    "cpu_s",
    "exit_text",
    "or_na",
    "per_request",
    "percentile",
    "process_cpu_s",
    "serve_and_load",
]

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
FIXTURES = FLOWS / "tests" / "demo.fixtures.yaml"
READY_WAIT_S = 30.0
STOP_WAIT_S = 30.0  # the server's own shutdown grace is 10 s

T = TypeVar("T")


@dataclass(frozen=True)
class Served:
    """How the server ran: its command, how long it took to get ready and to stop, how it
    ended, and what its store holds afterwards."""

    command: list[str]
    ready_s: float
    stop_s: float
    exit_code: int | None
    killed: bool
    records: int  # all records the server wrote
    message_in: int  # one per acknowledged turn
    log_tail: str  # the end of its log when it did not stop cleanly

    @property
    def clean_exit(self) -> bool:
        return not self.killed and self.exit_code in (0, -signal.SIGTERM)

    @property
    def shown_command(self) -> str:
        return " ".join(self.command).replace(str(ROOT) + "/", "")


def serve_and_load(
    prefix: str, load: Callable[[int, int], Coroutine[Any, Any, T]]
) -> tuple[T, Served]:
    """Start `botkit serve`, run ``load(port, server_pid)`` on uvloop against it, stop it, and
    read its store back."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        db = Path(tmp) / "bench.db"
        log = Path(tmp) / "server.log"
        port = free_port()
        command = server_command(port, f"sqlite:///{db}")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            try:
                ready_s = wait_ready(server, f"http://127.0.0.1:{port}", log)
                with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                    result = runner.run(load(port, server.pid))
            finally:
                exit_code, stop_s, killed = stop_server(server)
        records, message_in = asyncio.run(read_back(db))
        clean = not killed and exit_code in (0, -signal.SIGTERM)
        served = Served(
            command, ready_s, stop_s, exit_code, killed, records, message_in,
            "" if clean else tail(log, 5),
        )  # fmt: skip
    return result, served


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(port: int, store_url: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "botkit.cli.main",
        "serve",
        str(FLOWS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store_url,
        "--fixtures",
        str(FIXTURES),
    ]


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> float:
    """Poll ``GET /readyz`` until it answers 200; seconds it took. Raises SystemExit if the
    server exits or does not get ready within READY_WAIT_S."""
    started = time.perf_counter()
    deadline = started + READY_WAIT_S
    last = "no answer yet"
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise SystemExit(
                    f"the server exited with code {server.returncode} before it was ready; "
                    f"its log ends with:\n{tail(log)}"
                )
            try:
                answer = client.get(f"{base}/readyz")
                if answer.status_code == 200:
                    return time.perf_counter() - started
                last = f"HTTP {answer.status_code}: {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
    stop_server(server)
    raise SystemExit(
        f"GET {base}/readyz did not answer 200 within {READY_WAIT_S:.0f} s (last: {last}); "
        f"the server log ends with:\n{tail(log)}"
    )


def stop_server(server: subprocess.Popen[bytes]) -> tuple[int | None, float, bool]:
    """SIGTERM, then wait (bounded), then SIGKILL. (exit code, seconds to stop, killed).

    After its graceful shutdown uvicorn re-raises the signal it caught, so a server stopped
    cleanly exits with -SIGTERM, not 0."""
    started = time.perf_counter()
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    killed = False
    try:
        server.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        killed = True
    return server.returncode, time.perf_counter() - started, killed


async def read_back(path: Path) -> tuple[int, int]:
    """(records in total, message_in records) in the store the server wrote."""
    store = SQLiteStore(str(path))
    await store.open()
    try:
        return await store.count_records(), len(await store.records(kind="message_in"))
    finally:
        await store.close()


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[round(p * 10) - 1]


def or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def per_request(cpu_s: float | None, requests: int) -> str:
    return "n/a" if cpu_s is None or not requests else f"{cpu_s * 1000 / requests:.2f}"


def exit_text(code: int | None, killed: bool) -> str:
    if killed:
        return f"killed after {STOP_WAIT_S:.0f} s (code {code})"
    if code == -signal.SIGTERM:
        return "SIGTERM, after its graceful shutdown"
    return f"code {code}"


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) of another process so far; None where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; utime is field 14
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
