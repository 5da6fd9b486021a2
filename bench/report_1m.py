"""How long `botkit report` takes over a million records in SQLite.

    python -m bench.report_1m [--records 1000000]

Random users talk to the reference bot through the engine (the records are real records of
real conversations: greetings, lookups, refunds, handoffs, fallbacks, silences); the records
are written straight into a fresh SQLite store (the bench measures reading and counting, not
writing), then `botkit report --format json` runs as a separate process, timed end to end.
Prints a table and a final JSON line. Target (issue #8): <= 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.calibrate import calibrate
from botkit.app import load
from botkit.effects import Call
from botkit.events import ActionResult, UserMessage
from botkit.records import Record
from botkit.storage import SQLiteStore
from botkit.storage.sql import record_row

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "안녕하세요",
    "배송 조회",
    "12-34",
    "1234-567-890",
    "처음으로",
    "환불",
    "상담원",
    "음",
    "고마워요",
]
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ대한통운"}}


def generate(target: int, seed: int = 7) -> list[Record]:
    app = load(ROOT / "flows")
    engine = app.engine
    rng = random.Random(seed)
    out: list[Record] = []
    at = 1_795_000_000.0
    user = 0
    while len(out) < target:
        user += 1
        session = engine.new_session(f"web:u{user}", f"u{user}", "web")
        for _ in range(rng.randint(1, 8)):
            at += rng.choice([3, 5, 8, 60])
            turn = engine.handle(session, UserMessage(rng.choice(WORDS), at))
            out += turn.records
            if turn.effects and isinstance(turn.effects[-1], Call):
                out += engine.handle(
                    session, ActionResult("lookup_order", "ok", at, LOOKUP)
                ).records
    return out[:target]


async def write(path: Path, records: list[Record]) -> None:
    store = SQLiteStore(str(path), synchronous="OFF")
    await store.open()
    await store.close()
    import sqlite3

    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO records (kind, session, conversation, seq, turn, at, bot, flow,"
            " flow_version, variant, user, channel, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [record_row(r) for r in records],
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    speed_before = calibrate()
    started = time.perf_counter()
    records = generate(args.records)
    generated = time.perf_counter() - started
    folder = Path(tempfile.mkdtemp(prefix="botkit-report-"))
    db = folder / "bot.db"
    asyncio.run(write(db, records))
    command = [
        sys.executable, "-m", "botkit.cli.main", "report", "--store", f"sqlite:///{db}",
        "--bot", str(ROOT / "flows"), "--format", "json", "--out", str(folder / "report.json"),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    speed_after = calibrate()
    if done.returncode != 0:
        sys.exit(f"botkit report failed:\n{done.stderr[-2000:]}")
    report = json.loads((folder / "report.json").read_text("utf-8"))
    print(f"calibration: {speed_before:.1f} ms before, {speed_after:.1f} ms after")
    print(f"records generated: {len(records):,} in {generated:.1f} s")
    print(f"conversations in the report: {report['conversations']:,}")
    print(f"botkit report over {len(records):,} records: {seconds:.2f} s (target 10 s)")
    print(f"command: {' '.join(command)}")
    print(
        json.dumps(
            {
                "calibration_ms": [round(speed_before, 1), round(speed_after, 1)],
                "records": len(records),
                "conversations": report["conversations"],
                "report_s": round(seconds, 2),
                "target_s": 10,
                "met": seconds <= 10,
            }
        )
    )


if __name__ == "__main__":
    main()
