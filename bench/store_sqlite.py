"""Durable turns per second of the SQLite store alone, with N concurrent sessions.

    python -m bench.store_sqlite [--turns 20000] [--concurrency 1,16,64] [--sync FULL,NORMAL]

Each of N tasks owns one session and loops: ``load`` it, change it, ``commit`` it with 4
records (what a turn writes), on a fresh file in WAL mode. Every turn is acknowledged only
after its transaction committed (group commit batches concurrent turns into one transaction).
Prints a table, the command, and a final JSON line with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botkit.engine.session import Session
from botkit.records import Record
from botkit.storage import SQLiteStore

TEXTS = ["안녕하세요", "배송 조회", "1234-567-890", "처음으로"]


def _records(session: Session, now: float) -> list[Record]:
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("message_in", {"text": TEXTS[session.turn % 4], "payload": None}),
        ("transition", {"from": "배송.시작", "to": "배송.번호", "trigger": "조회"}),
        ("slot_filled", {"slot": "주문번호", "attempt": 1}),
        ("message_out", {"text": "주문번호를 알려 주세요. 예: 1234-567-890"}),
    ]
    out = []
    for kind, data in kinds:
        session.seq += 1
        out.append(
            Record(
                kind,
                session.key,
                1,
                session.seq,
                session.turn,
                now,
                "택배봇",
                "배송",
                "v1",
                "",
                session.user,
                session.channel,
                data,
            )
        )
    return out


async def run(sync: str, concurrency: int, turns: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="botkit-store-bench-")
    store = SQLiteStore(str(Path(folder) / "bench.db"), synchronous=sync)
    await store.open()
    per_task = max(1, turns // concurrency)
    latencies: list[float] = []

    async def worker(i: int) -> None:
        key = f"kakao:사용자{i}"
        for _ in range(per_task):
            t0 = time.perf_counter()
            session = await store.load(key) or Session(key, f"사용자{i}", "kakao")
            expected = session.version
            session.turn += 1
            session.state = "배송.번호"
            session.slots["주문번호"] = f"1234-567-{session.turn:03d}"
            session.last_at = time.time()
            records = _records(session, session.last_at)
            await store.commit(session, records, expected_version=expected)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    stats = store.stats()
    persisted = await store.count_records()
    await store.close()
    done = per_task * concurrency
    assert persisted == 4 * done, (persisted, done)
    latencies.sort()
    return {
        "synchronous": sync,
        "concurrency": concurrency,
        "turns": done,
        "turns_per_s": done / elapsed,
        "records_per_s": persisted / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "mean_batch": stats["commits"] / max(1, stats["batches"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--sync", default="FULL,NORMAL")
    args = parser.parse_args()
    results = [
        asyncio.run(run(sync, int(n), args.turns if int(n) > 1 else min(args.turns, 2000)))
        for sync in args.sync.split(",")
        for n in args.concurrency.split(",")
    ]
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"files in {tempfile.gettempdir()}"
    )
    for r in results:
        print(
            f"synchronous={r['synchronous']:<6} {r['concurrency']:>3} sessions: "
            f"{r['turns_per_s']:>8,.0f} turns/s ({r['records_per_s']:,.0f} records/s), "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"{r['mean_batch']:.1f} turns per transaction"
        )
    print(f"command: {' '.join([sys.executable, '-m', 'bench.store_sqlite', *sys.argv[1:]])}")
    print(
        json.dumps(
            {
                "store_sqlite": [
                    {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                    for r in results
                ],
                "targets": {"turns_per_s_at_64": 5000},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
