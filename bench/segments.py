"""How long `botkit segments` takes to list every segment of the reference bot over a shop of
10,000 customers in SQLite.

    python -m bench.segments [--customers 10000] [--keep DIR]

The planted audience of the acceptance test (tests/segments/planted.py: profiles, channel
links, consent, a week of business events and the month before it, goal and experiment
records) is written into a fresh SQLite store through the store's own methods, then
`botkit segments flows --store ... --at ...` runs as a separate process, timed end to end, at
each of the test's five instants. Prints a table and a final JSON line. Target (issue #19):
under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.calibrate import calibrate
from botkit.storage import SQLiteStore
from tests.segments.planted import INSTANTS, SEOUL, load, plant

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0


async def write(path: Path, customers: int) -> tuple[int, int]:
    planted = plant(customers=customers)
    store = SQLiteStore(str(path), synchronous="OFF")  # the bench measures reading, not writing
    await store.open()
    try:
        await load(store, planted)
    finally:
        await store.close()
    return len(planted.events), len(planted.records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the store in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="botkit-segments-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "shop.db"
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    events, records = asyncio.run(write(db, args.customers))
    written = time.perf_counter() - started
    speed_before = calibrate()
    runs: list[tuple[str, float, dict[str, int]]] = []
    for at in INSTANTS:
        shown = dt.datetime.fromtimestamp(at, SEOUL).isoformat()
        command = [
            sys.executable, "-m", "botkit.cli.main", "segments", str(ROOT / "flows"),
            "--store", f"sqlite:///{db}", "--at", shown, "--format", "json",
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"botkit segments failed:\n{done.stderr[-2000:]}")
        sizes = {s["name"]: s["size"] for s in json.loads(done.stdout)["segments"]}
        runs.append((shown, seconds, sizes))
    speed_after = calibrate()
    worst = max(seconds for _, seconds, _ in runs)
    print(f"calibration: {speed_before:.1f} ms before, {speed_after:.1f} ms after")
    print(
        f"store: {args.customers:,} customers, {events:,} events, {records:,} records,"
        f" written in {written:.1f} s ({db})"
    )
    print(f"{'instant':<28} {'seconds':>8}  sizes")
    for shown, seconds, sizes in runs:
        listed = ", ".join(f"{name} {size:,}" for name, size in sizes.items())
        print(f"{shown:<28} {seconds:>8.2f}  {listed}")
    print(f"botkit segments, slowest of {len(runs)}: {worst:.2f} s (target {TARGET_S:.0f} s)")
    print(
        json.dumps(
            {
                "calibration_ms": [round(speed_before, 1), round(speed_after, 1)],
                "customers": args.customers,
                "events": events,
                "records": records,
                "segments_s": [round(seconds, 2) for _, seconds, _ in runs],
                "target_s": TARGET_S,
                "met": worst < TARGET_S,
            }
        )
    )


if __name__ == "__main__":
    main()
