"""`botkit serve` as the HTTP benches run it: a separate process on loopback, on a fresh SQLite
file or a fresh schema of a PostgreSQL database (with one or more workers), its courier answered
by the demo fixtures; started, waited for, loaded, stopped with SIGTERM, and its store read back
(a PostgreSQL schema is dropped afterwards). Also what the benches print: the latency and CPU
figures, the table with its header and footer, and the server's part of the final JSON line.
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

from botkit.storage import SQLiteStore, Store
from botkit.storage.postgres import PostgresStore

__all__ = [
    "ROOT",
    "Latency",
    "Served",
    "cpu_s",
    "print_table",
    "process_cpu_s",
    "serve_and_load",
    "server_json",
    "server_rows",
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
    prefix: str,
    load: Callable[[int, int], Coroutine[Any, Any, T]],
    *,
    postgres: str | None = None,
    workers: int = 1,
) -> tuple[T, Served]:
    """Start `botkit serve` (on SQLite, or on a new schema of the ``postgres`` database URL,
    with ``workers`` processes), run ``load(port, server_pid)`` on uvloop against it, stop it,
    and read its store back."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        db = Path(tmp) / "bench.db"
        log = Path(tmp) / "server.log"
        port = free_port()
        if postgres is None:
            store_url = f"sqlite:///{db}"
        else:
            joiner = "&" if "?" in postgres else "?"
            store_url = f"{postgres}{joiner}schema=bench_{uuid.uuid4().hex[:12]}"
        command = server_command(port, store_url, workers)
        result, ready_s, (exit_code, stop_s, killed) = run_server(
            command, port, log, {}, lambda pid: load(port, pid)
        )
        records, message_in = asyncio.run(read_back(store_url, drop=postgres is not None))
        clean = not killed and exit_code in (0, -signal.SIGTERM)
        served = Served(
            command, ready_s, stop_s, exit_code, killed, records, message_in,
            "" if clean else tail(log, 5),
        )  # fmt: skip
    return result, served


def run_server(
    command: list[str],
    port: int,
    log: Path,
    env: dict[str, str],
    load: Callable[[int], Coroutine[Any, Any, T]],
) -> tuple[T, float, tuple[int | None, float, bool]]:
    """Start ``command`` (a `botkit serve`, its output to ``log``, ``env`` added to this
    process's), wait until it is ready, run ``load(server_pid)`` on uvloop, then stop it.
    Returns what ``load`` returned, the seconds to ready, and how it stopped
    (:func:`stop_server`)."""
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            ready_s = wait_ready(server, f"http://127.0.0.1:{port}", log)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                result = runner.run(load(server.pid))
        finally:
            stopped = stop_server(server)
    return result, ready_s, stopped


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(port: int, store_url: str, workers: int = 1) -> list[str]:
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
        *(["--workers", str(workers)] if workers != 1 else []),
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


async def read_back(store_url: str, *, drop: bool) -> tuple[int, int]:
    """(records in total, message_in records) in the store the server wrote; a PostgreSQL
    schema is dropped afterwards (``drop``)."""
    store: Store
    if store_url.startswith("sqlite:///"):
        store = SQLiteStore(store_url.removeprefix("sqlite:///"))
    else:
        store = PostgresStore(store_url)
    await store.open()
    try:
        return await store.count_records(), len(await store.records(kind="message_in"))
    finally:
        await store.close()
        if drop and isinstance(store, PostgresStore):
            await drop_schema(store)


async def drop_schema(store: PostgresStore) -> None:
    import asyncpg

    conn = await asyncpg.connect(store.dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE')
    finally:
        await conn.close()


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[round(p * 10) - 1]


@dataclass(frozen=True)
class Latency:
    """Percentiles of a bench's latencies, in milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ordered = sorted(seconds)
        p50, p95, p99 = (percentile(ordered, p) * 1000 for p in (50, 95, 99))
        return cls(p50, p95, p99, ordered[-1] * 1000 if ordered else float("nan"))

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("latency p50 / p95 / p99 (ms)", f"{self.p50:.1f} / {self.p95:.1f} / {self.p99:.1f}"),
            ("latency max (ms)", f"{self.max:.1f}"),
        ]


def server_rows(
    served: Served, client_cpu: float, server_cpu: float | None, count: int, unit: str
) -> list[tuple[str, str]]:
    """The rows both tables end with: what was persisted, CPU, and how the server ran."""
    return [
        ("message_in records persisted", str(served.message_in)),
        ("records persisted (all kinds)", str(served.records)),
        ("CPU s: load generator / server", f"{client_cpu:.1f} / {or_na(server_cpu)}"),
        (
            f"CPU ms per {unit}: load gen / server",
            f"{per_request(client_cpu, count)} / {per_request(server_cpu, count)}",
        ),
        ("server ready after / stopped after (s)", f"{served.ready_s:.2f} / {served.stop_s:.2f}"),
        ("server exit", exit_text(served.exit_code, served.killed)),
    ]


def print_table(
    rows: list[tuple[str, str]],
    calibration: tuple[float, float],
    notes: list[str],
    served: Served,
) -> None:
    """The machine and its calibration, the rows, any notes, then how to run it again."""
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(
        f"calibration (bench.calibrate, lower is a faster machine): "
        f"{calibration[0]:.1f} ms before, {calibration[1]:.1f} ms after"
    )
    for name, value in rows:
        print(f"{name:40} {value}")
    for note in notes:
        print(note)
    if served.log_tail:
        print(f"server log ends with:\n{served.log_tail}")
    print(f"server: {served.shown_command}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")


def server_json(
    served: Served,
    calibration: tuple[float, float],
    latency: Latency,
    client_cpu: float,
    server_cpu: float | None,
) -> dict[str, Any]:
    """The fields both final JSON lines share."""
    return {
        "calibration_ms": [round(calibration[0], 1), round(calibration[1], 1)],
        "p50_ms": round(latency.p50, 2),
        "p95_ms": round(latency.p95, 2),
        "p99_ms": round(latency.p99, 2),
        "records_persisted": served.records,
        "client_cpu_s": round(client_cpu, 2),
        "server_cpu_s": None if server_cpu is None else round(server_cpu, 2),
        "server_exit_code": served.exit_code,
        "server_killed": served.killed,
        "server_clean_exit": served.clean_exit,
        "server_command": served.shown_command,
        "python": platform.python_version(),
    }


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
    """CPU seconds (user + system) of another process and its live children (the workers of
    `botkit serve --workers N`) so far; None where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; utime is field 14
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_s(int(child)) or 0.0 for child in children)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
