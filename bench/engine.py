"""Turns per second of the reference conversation, engine only and through the full runtime.

    python -m bench.engine [--sessions 2000] [--runtime-sessions 2000] [--concurrency 64,256]
                           [--memory 1000,100000]

The conversation (per session, interleaved round-robin across sessions):
  "안녕하세요" → "배송 조회" → "12-34" (invalid) → "1234-567-890" (+ lookup) → "처음으로"

(a) engine only, in memory: the lookup result is fed straight back, as the runtime would.
    Interleaved with it in rounds (botkit, dict FSM, transitions, botkit, ...), two floors on
    the same moves, sessions and interleaving (bench/_baselines.py): a hand-written dict FSM,
    and the ``transitions`` library used directly (one shared stock Machine, no ``add_model``).
    botkit's ratio to each is its turns/s over theirs; botkit matches, fills slots, renders
    and writes records on top of moving the state.
(b) the full runtime on a durable SQLiteStore (WAL, synchronous=FULL, group commit), with 64 and
    with 256 turns in flight (a batch commits everything that queued while the previous one was
    written, so more in flight means fewer fsyncs per turn); each with the lookup answered
    in-process (a stub returning the order, as the peer harness of
    shared/reference/perf-peers.md does) and with the lookup made as the declared HTTP call
    through httpx, answered by httpx's in-process MockTransport (the difference is httpx's own
    client cost; a real server adds the network on top).
(c) memory per live session: sessions held after their conversation, at 1,000 and 100,000.

Prints a table, the command, and a final JSON line with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from bench._baselines import dict_fsm, shared_machine, transitions_shared
from bench.calibrate import calibrate
from botkit.app import BotApp, load
from botkit.engine import Engine, Session
from botkit.events import ActionResult, UserMessage
from botkit.runtime import ActionContext
from botkit.storage import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ["안녕하세요", "배송 조회", "12-34", "1234-567-890", "처음으로"]
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ대한통운"}}


def _app() -> BotApp:
    app = load(ROOT / "flows")
    app.validator("known_order_prefix")(lambda value, slots: True)

    @app.action("issue_coupon")
    def issue_coupon(ctx: ActionContext) -> dict[str, str]:
        return {"code": "X"}

    return app


def engine_only(engine: Engine, sessions: int) -> tuple[float, int]:
    live = [engine.new_session(f"bench:{i}", f"u{i}", "bench") for i in range(sessions)]
    turns = 0
    now = 1_800_000_000.0
    gc.collect()
    start = time.perf_counter()
    for text in SCRIPT:
        for session in live:
            now += 0.001
            turn = engine.handle(session, UserMessage(text, now))
            turns += 1
            if turn.effects and type(turn.effects[-1]).__name__ == "Call":
                engine.handle(session, ActionResult("lookup_order", "ok", now, LOOKUP))
    elapsed = time.perf_counter() - start
    assert all(s.state == "main.start" for s in live), "every conversation must end at start"
    return elapsed, turns


def memory_per_session(engine: Engine, count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    live: list[Session] = []
    now = 1_800_000_000.0
    for i in range(count):
        session = engine.new_session(f"bench:{i}", f"u{i}", "bench")
        for text in SCRIPT[:4]:  # stop with a filled slot: a session mid-conversation
            turn = engine.handle(session, UserMessage(text, now))
            if turn.effects and type(turn.effects[-1]).__name__ == "Call":
                engine.handle(session, ActionResult("lookup_order", "ok", now, LOOKUP))
        live.append(session)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


async def full_runtime(
    app: BotApp, sessions: int, concurrency: int, *, http: bool
) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="botkit-bench-")
    store = SQLiteStore(str(Path(folder) / "bench.db"), synchronous="FULL")

    await store.open()
    # The lookup is a declared HTTP action; it runs through httpx as in production, answered
    # in-process (no network hop) so that the figure is the runtime's, not a mock server's.
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=LOOKUP))
    )
    stubs = None if http else {"lookup_order": lambda ctx: LOOKUP}
    runtime = app.runtime(store, http=client, stubs=stubs)
    latencies: list[float] = []
    turns = 0
    queue = [f"u{i}" for i in range(sessions)]

    async def worker(users: list[str]) -> None:
        nonlocal turns
        for user in users:
            for text in SCRIPT:
                t0 = time.perf_counter()
                reply = await runtime.handle("bench", user, text)
                latencies.append(time.perf_counter() - t0)
                assert reply.ok
                turns += 1

    chunks = [queue[i::concurrency] for i in range(concurrency)]
    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in chunks))
    elapsed = time.perf_counter() - start
    persisted = await store.count_records()
    await client.aclose()
    await store.close()
    latencies.sort()
    return {
        "turns": turns,
        "seconds": elapsed,
        "turns_per_s": turns / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "records_persisted": persisted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runtime-sessions", type=int, default=2000)
    parser.add_argument(
        "--concurrency",
        default="64,256",
        help="turns in flight for the runtime runs (the first one is the headline figure)",
    )
    parser.add_argument("--memory", default="1000,100000")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    speed_before = calibrate()
    app = _app()
    engine = app.engine
    # As `botkit serve` will: once the bot is loaded, move everything alive to the permanent
    # generation, so that the cyclic GC does not rescan the compiled bot on every collection.
    gc.collect()
    gc.freeze()
    machine = shared_machine()
    rounds: dict[str, list[float]] = {"botkit": [], "dict_fsm": [], "transitions": []}
    for _ in range(args.reps):  # interleaved, so that a slow minute of the VM hits all three
        elapsed, turns = engine_only(engine, args.sessions)
        rounds["botkit"].append(turns / elapsed)
        elapsed, turns = dict_fsm(SCRIPT, args.sessions)
        rounds["dict_fsm"].append(turns / elapsed)
        elapsed, turns = transitions_shared(machine, SCRIPT, args.sessions)
        rounds["transitions"].append(turns / elapsed)
    medians = {name: statistics.median(rates) for name, rates in rounds.items()}
    engine_rate = medians["botkit"]
    memory = {int(n): memory_per_session(engine, int(n)) for n in args.memory.split(",")}
    runs: dict[str, dict[int, dict[str, Any]]] = {"in_process": {}, "httpx": {}}
    for level in levels:
        for lookup in runs:
            runs[lookup][level] = asyncio.run(
                full_runtime(app, args.runtime_sessions, level, http=lookup == "httpx")
            )
    headline = runs["in_process"][levels[0]]
    speed_after = calibrate()
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(
        f"calibration (bench.calibrate, lower is a faster machine): "
        f"{speed_before:.1f} ms before, {speed_after:.1f} ms after"
    )
    print(
        f"engine only: {engine_rate:,.0f} turns/s ({1e6 / engine_rate:.1f} µs/turn), "
        f"median of {args.reps} runs of {args.sessions} sessions x {len(SCRIPT)} turns"
    )
    for name in ("dict_fsm", "transitions"):
        print(
            f"  {name:11} (same moves, interleaved rounds): {medians[name]:12,.0f} turns/s "
            f"({1e6 / medians[name]:.2f} µs/turn); botkit / {name} = "
            f"{engine_rate / medians[name]:.3f}"
        )
    for n, size in memory.items():
        print(f"memory per live session at {n:,}: {size / 1024:.2f} KiB")
    print(f"runtime + SQLite (FULL, WAL), {args.runtime_sessions} sessions x {len(SCRIPT)} turns:")
    for lookup, by_level in runs.items():
        for level, r in by_level.items():
            print(
                f"  lookup {lookup:10} {level:4} in flight: {r['turns_per_s']:7,.0f} turns/s, "
                f"p50 {r['p50_ms']:6.2f} ms, p99 {r['p99_ms']:6.2f} ms, "
                f"records persisted {r['records_persisted']}"
            )
    print(f"command: {' '.join([sys.executable, '-m', 'bench.engine', *sys.argv[1:]])}")
    print(
        json.dumps(
            {
                "calibration_ms": [round(speed_before, 1), round(speed_after, 1)],
                "engine_turns_per_s": round(engine_rate),
                "engine_us_per_turn": round(1e6 / engine_rate, 2),
                "baselines_turns_per_s": {
                    name: round(medians[name]) for name in ("dict_fsm", "transitions")
                },
                "engine_ratio_to": {
                    name: round(engine_rate / medians[name], 3)
                    for name in ("dict_fsm", "transitions")
                },
                "engine_rounds_turns_per_s": {
                    name: [round(r) for r in rates] for name, rates in rounds.items()
                },
                "memory_kib_per_session": {str(n): round(v / 1024, 3) for n, v in memory.items()},
                "runtime_turns_per_s": round(headline["turns_per_s"]),
                "runtime_p99_ms": round(headline["p99_ms"], 3),
                "runtime": {
                    lookup: {
                        str(level): {
                            "turns_per_s": round(r["turns_per_s"]),
                            "p50_ms": round(r["p50_ms"], 3),
                            "p99_ms": round(r["p99_ms"], 3),
                        }
                        for level, r in by_level.items()
                    }
                    for lookup, by_level in runs.items()
                },
                "targets": {
                    "engine_turns_per_s": 50000,
                    "engine_ratio_to_transitions": 1.0,
                    "runtime_turns_per_s": 5000,
                    "memory_kib_per_session": 2,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
