"""PostgreSQL restarted under load: two `botkit serve` workers keep answering (issue #9).

    python -m bench.pg_restart [--users 16] [--seconds 12] [--down-at 3] [--down-for 2]
                               [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

RESTARTS THE MACHINE'S POSTGRESQL (``pg_ctlcluster <version> main stop -m fast``, then
``start``): run it on a development machine, never next to data that matters. Everything stays on
loopback.

Two ``botkit serve`` processes share one fresh schema of the database. ``--users`` simulated
KakaoTalk users each run the reference order-status conversation over and over, sending each
message to the other worker than the last. ``--down-at`` seconds in, PostgreSQL is stopped;
``--down-for`` seconds later it is started again. Every answer is classified, and afterwards the
store is read back:

* during the outage requests must get 503 with ``Retry-After`` (no other error, no traceback
  in the workers' logs);
* the workers must recover by themselves: the first 200 after PostgreSQL is back is timed;
* no acknowledged turn may be lost: every message answered 200 is in the store, in the order the
  user sent it, and sequence numbers have no gaps or duplicates.

Prints a table and a final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.calibrate import calibrate
from bench.http_kakao import BOT, LOCAL_POSTGRES, skill_payload
from bench.served import (
    ROOT,
    drop_schema,
    free_port,
    server_command,
    stop_server,
    tail,
    wait_ready,
)
from botkit.storage.postgres import PostgresStore

JSON = {"Content-Type": "application/json"}
ROUND: list[tuple[str, dict[str, Any] | None]] = [
    ("안녕하세요", None),
    ("배송 조회", {"botkit": "order_status"}),
    ("1234-567-890", None),
    ("처음으로", None),
]


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: dict[str, list[str]] = field(default_factory=dict)
    without_retry_after: int = 0
    first_503: float | None = None
    last_503: float | None = None
    down_at: float | None = None  # `stop` issued (seconds into the run)
    start_at: float | None = None  # `start` issued
    resumed_at: float | None = None  # the first 200 after `start` was issued


def cluster() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    if not versions:
        raise SystemExit("no PostgreSQL cluster in /etc/postgresql")
    return versions[-1]


def pg_ctl(action: str, *extra: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster(), "main", action, *extra],
        check=True,
        capture_output=True,
    )


def ensure_running() -> None:
    status = ["pg_ctlcluster", cluster(), "main", "status"]
    if subprocess.run(status, capture_output=True).returncode != 0:
        pg_ctl("start")


async def user(n: int, bases: list[str], tally: Tally, stop: float, started: float) -> None:
    name = f"bench-restart-{n}"
    worker = itertools.cycle(bases if n % 2 else bases[::-1])
    async with httpx.AsyncClient(timeout=10) as client:
        for text, extra in itertools.cycle(ROUND):
            if time.monotonic() > stop:
                return
            body = skill_payload(name, text, extra)
            try:
                answer = await client.post(
                    f"{next(worker)}/kakao/skill", content=body, headers=JSON
                )
            except httpx.TransportError as exc:
                tally.statuses[type(exc).__name__] += 1
                continue
            now = time.monotonic() - started
            tally.statuses[str(answer.status_code)] += 1
            if answer.status_code == 200:
                tally.acknowledged.setdefault(name, []).append(text)
                if tally.start_at is not None and tally.resumed_at is None:
                    tally.resumed_at = now  # the first 200 once PostgreSQL is starting again
            elif answer.status_code == 503:
                tally.first_503 = tally.first_503 if tally.first_503 is not None else now
                tally.last_503 = now
                if "retry-after" not in answer.headers:
                    tally.without_retry_after += 1
                await asyncio.sleep(float(answer.headers.get("retry-after", "1")) / 4)
            await asyncio.sleep(0.01)


async def outage(tally: Tally, started: float, down_at: float, down_for: float) -> None:
    await asyncio.sleep(down_at)
    tally.down_at = time.monotonic() - started
    await asyncio.to_thread(pg_ctl, "stop", "-m", "fast")
    await asyncio.sleep(down_for)
    tally.start_at = time.monotonic() - started
    await asyncio.to_thread(pg_ctl, "start")


async def check_store(url: str, tally: Tally) -> dict[str, int]:
    store = PostgresStore(url)
    await store.open()
    figures = {"lost": 0, "out_of_order": 0, "gaps": 0, "duplicates": 0}
    try:
        for name, acknowledged in tally.acknowledged.items():
            records = await store.records(session=f"kakao:{BOT['id']}:{name}")
            seqs = [r.seq for r in records]
            figures["duplicates"] += len(seqs) - len(set(seqs))
            figures["gaps"] += int(sorted(seqs) != list(range(1, len(seqs) + 1)))
            said = [str((r.data or {}).get("text")) for r in records if r.kind == "message_in"]
            figures["lost"] += sum((Counter(acknowledged) - Counter(said)).values())
            kept = iter(said)
            figures["out_of_order"] += int(not all(text in kept for text in acknowledged))
    finally:
        await store.close()
        await drop_schema(store)
    return figures


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--down-at", type=float, default=3.0)
    parser.add_argument("--down-for", type=float, default=2.0)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BOTKIT_BENCH_POSTGRES_URL", LOCAL_POSTGRES)
    )
    args = parser.parse_args()
    speed_before = calibrate()
    schema = f"bench_restart_{int(time.time())}"
    url = f"{args.postgres_url}{'&' if '?' in args.postgres_url else '?'}schema={schema}"
    tally = Tally()
    servers: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="botkit-bench-restart-") as tmp:
        try:
            bases = []
            for i in range(2):
                port = free_port()
                logs.append(Path(tmp) / f"worker{i}.log")
                with logs[-1].open("wb") as log:
                    servers.append(
                        subprocess.Popen(
                            server_command(port, url), cwd=ROOT, stdout=log, stderr=log
                        )
                    )
                bases.append(f"http://127.0.0.1:{port}")
                wait_ready(servers[-1], bases[-1], logs[-1])
            started = time.monotonic()
            stop = started + args.seconds

            async def load() -> None:
                await asyncio.gather(
                    outage(tally, started, args.down_at, args.down_for),
                    *(user(n, bases, tally, stop, started) for n in range(args.users)),
                )

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(load())
        finally:
            ensure_running()  # whatever happened, PostgreSQL is left running
            exits = [stop_server(server) for server in servers]
        text = "".join(log.read_text("utf-8", errors="replace") for log in logs)
        tracebacks = text.count("Traceback")
        failed = [line for line in text.splitlines() if '"message":"request failed"' in line]
        log_tail = tail(logs[0], 5)
    figures = asyncio.run(check_store(url, tally))
    calibration = (speed_before, calibrate())
    nan = float("nan")
    recovered_at = nan if tally.resumed_at is None else tally.resumed_at
    recovery = recovered_at - (nan if tally.start_at is None else tally.start_at)
    other_errors = sum(v for k, v in tally.statuses.items() if k not in ("200", "503"))
    rows = [
        ("users / seconds", f"{args.users} / {args.seconds:.0f}"),
        ("PostgreSQL down at / for (s)", f"{args.down_at:.1f} / {args.down_for:.1f}"),
        ("answers by status", dict(sorted(tally.statuses.items()))),
        ("503 without Retry-After", tally.without_retry_after),
        (
            "503s seen from / to (s)",
            f"{tally.first_503 or float('nan'):.2f} / {tally.last_503 or float('nan'):.2f}",
        ),
        (
            "stop / start issued at (s)",
            f"{tally.down_at or float('nan'):.2f} / {tally.start_at or float('nan'):.2f}",
        ),
        ("answers 200 again at (s)", f"{recovered_at:.2f}"),
        ("of which after start was issued (s)", f"{recovery:.2f}"),
        ("acknowledged turns", sum(len(v) for v in tally.acknowledged.values())),
        (
            "lost / out of order / seq gaps / dups",
            "{lost} / {out_of_order} / {gaps} / {duplicates}".format(**figures),
        ),
        ("tracebacks in the workers' logs", tracebacks),
        ("workers' exits", [code for code, _, _ in exits]),
    ]
    print(
        f"calibration (bench.calibrate): {calibration[0]:.1f} ms before,"
        f" {calibration[1]:.1f} ms after"
    )
    for name, value in rows:
        print(f"{name:40} {value}")
    if tracebacks:
        print(f"worker log ends with:\n{log_tail}")
    for line in failed[:5]:  # what the workers logged for requests answered 500
        print(f"worker: {line}")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    ok = (
        tally.statuses["503"] > 0
        and tally.without_retry_after == 0
        and other_errors == 0
        and tally.resumed_at is not None
        and tracebacks == 0
        and not any(figures.values())
    )
    print(
        json.dumps(
            {
                "statuses": dict(tally.statuses),
                "unavailable_503": tally.statuses["503"],
                "without_retry_after": tally.without_retry_after,
                "other_errors": other_errors,
                "stop_issued_s": _round(tally.down_at),
                "start_issued_s": _round(tally.start_at),
                "answering_200_again_s": _round(tally.resumed_at),
                "recovery_after_start_s": None if tally.resumed_at is None else round(recovery, 3),
                "acknowledged": sum(len(v) for v in tally.acknowledged.values()),
                **figures,
                "tracebacks": tracebacks,
                "calibration_ms": [round(c, 1) for c in calibration],
                "ok": ok,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
