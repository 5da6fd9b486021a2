"""Campaign messages planned and handed to KakaoTalk per second, for 100,000 customers on one
worker (issue #20, acceptance 7).

    python -m bench.campaigns [--customers 100000] [--keep DIR] [--profile FILE]

The crowd of ``tests/campaigns/crowd.py`` (customers each linked to a Kakao user who talked to
the bot and agreed to advertising; the bot's one campaign a broadcast to all of them) is
planted in a SQLite store through the store's own methods, or taken from ``--keep DIR`` when an
earlier run planted it there (planting 100,000 takes a while; the run works on a copy). The Kakao
Event API stand-in runs as a process of its own on loopback. Then one sender tick runs in this
process as ``botkit campaigns run --once`` runs it (the store opened from its URL, as the CLI
opens it: synchronous FULL; the providers from the settings; the clock standing a minute into
the broadcast): it plans every customer, then claims, hands over and marks each send, 100 users
per Event API request.

The tick is timed in two parts: planning (from the tick's start to its first claim) and
sending (from the first claim to its end). Prints both rates, the whole tick's, the machine's
calibration figure before and after (``bench/calibrate.py``: compare figures only between runs
whose calibration is alike), the stand-in's counts, and a final JSON line. ``--profile FILE``
runs the tick under cProfile, writes the stats to FILE and prints where the time went (the
SQLite work runs on aiosqlite's threads: in this thread's profile it shows as waiting in
``select``/``epoll``). Target (issue #20): 100,000 planned and handed over in under 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.calibrate import calibrate
from botkit.adapters.outbound.standin import StandInProcess, spawn
from botkit.app import load
from botkit.campaigns.port import Send, SendStatus
from botkit.server.config import load_settings
from botkit.server.outreach import providers
from botkit.server.sender import Sender, TickResult
from botkit.storage import SQLiteStore, open_store
from tests.campaigns.crowd import CAMPAIGN, START, bot_folder, plant

TARGET_S = 60.0
TARGET_CUSTOMERS = 100_000  # the target's crowd: fewer say nothing about it
REST_KEY = "bench-rest-key"
AT = START + 60.0  # a minute into the broadcast's run


@dataclass
class Timings:
    """When the tick's parts began and ended (perf_counter seconds)."""

    started: float = 0.0
    first_claim: float | None = None
    ended: float = 0.0
    plan_write_s: float = 0.0  # the plan_sends call (inside planning)
    claims: list[float] = field(default_factory=list)  # seconds each claim took


async def planted(path: Path, customers: int) -> float:
    """Plant the crowd into a new store at ``path``; seconds it took."""
    started = time.perf_counter()
    store = SQLiteStore(str(path), synchronous="OFF")  # the bench measures sending, not this
    await store.open()
    try:
        await plant(store, customers)
    finally:
        await store.close()
    return time.perf_counter() - started


def crowd(keep: Path | None, folder: Path, customers: int) -> tuple[Path, float | None]:
    """A planted store for the run to work on (a copy when it was kept), and the seconds
    planting took (None when a kept store was reused)."""
    run = folder / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run}{suffix}").unlink(missing_ok=True)
    if keep is None:
        return run, asyncio.run(planted(run, customers))
    kept = keep / f"crowd-{customers}.db"
    seconds = None
    if not kept.exists():
        partial = keep / f"crowd-{customers}.db.partial"
        partial.unlink(missing_ok=True)
        seconds = asyncio.run(planted(partial, customers))
        partial.rename(kept)
    shutil.copyfile(kept, run)
    return run, seconds


def timed(store: Any, timings: Timings) -> None:
    """Note, on ``store``'s own methods, when the tick claims first and how long its plan's
    write and each claim take."""
    plan_sends, claim_sends = store.plan_sends, store.claim_sends

    async def timed_plan(sends: list[Send]) -> int:
        started = time.perf_counter()
        try:
            return int(await plan_sends(sends))
        finally:
            timings.plan_write_s += time.perf_counter() - started

    async def timed_claim(worker: str, at: float, *, lease: float, limit: int) -> list[Send]:
        started = time.perf_counter()
        if timings.first_claim is None:
            timings.first_claim = started
        try:
            return list(await claim_sends(worker, at, lease=lease, limit=limit))
        finally:
            timings.claims.append(time.perf_counter() - started)

    setattr(store, "plan_sends", timed_plan)  # noqa: B010 (mypy: no assigning to a method)
    setattr(store, "claim_sends", timed_claim)  # noqa: B010


async def tick(
    db: Path, flows: Path, standin: StandInProcess, profile: Path | None
) -> tuple[TickResult, Timings, dict[str, int]]:
    """One sender tick over ``db``, as ``botkit campaigns run --once`` runs it."""
    env = {"BOTKIT_KAKAO_EVENT_API_URL": standin.url, "BOTKIT_KAKAO_REST_API_KEY": REST_KEY}
    settings = load_settings(None, env=env, overrides={"store": f"sqlite:///{db}"})
    app = load(flows)
    store: Any = open_store(f"sqlite:///{db}")
    await store.open()
    timings = Timings()
    timed(store, timings)
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    runtime = app.runtime(store, clock=lambda: AT, http=client)
    sender = Sender(
        store, runtime, lambda: runtime.bot, providers=providers(settings, client), now=lambda: AT
    )
    profiler = cProfile.Profile() if profile is not None else None
    try:
        timings.started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = await sender.tick()
        if profiler is not None:
            profiler.disable()
        timings.ended = time.perf_counter()
        sends = await store.sends(campaign=CAMPAIGN)
    finally:
        for provider in sender.providers.values():
            await provider.aclose()
        await runtime.aclose()
        await client.aclose()
        await store.close()
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    statuses: dict[str, int] = {}
    for send in sends:
        statuses[send.status] = statuses.get(send.status, 0) + 1
    return result, timings, statuses


def profile_summary(path: Path, lines: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="plant the crowd in this folder once, reuse it")
    parser.add_argument("--profile", type=Path, help="run the tick under cProfile, stats here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="botkit-campaigns-"))
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    try:
        db, planting_s = crowd(args.keep, folder, args.customers)
        flows = bot_folder(folder / "flows")
        with spawn("kakao", rest_key=REST_KEY) as standin:
            speed_before = calibrate()
            result, timings, statuses = asyncio.run(tick(db, flows, standin, args.profile))
            speed_after = calibrate()
            stats = standin.stats(keys=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    first_claim = timings.first_claim if timings.first_claim is not None else timings.ended
    planning_s = first_claim - timings.started
    sending_s = timings.ended - first_claim
    total_s = timings.ended - timings.started
    sent = statuses.get(SendStatus.SENT, 0)
    right = (
        result.planned == args.customers
        and sent == args.customers
        and stats["messages"] == args.customers
        and stats["duplicates"] == 0
    )
    print(f"calibration: {speed_before:.1f} ms before, {speed_after:.1f} ms after")
    planted_how = "reused" if planting_s is None else f"planted in {planting_s:.1f} s"
    print(f"store: {args.customers:,} customers, SQLite ({planted_how})")
    print(
        f"planning: {result.planned:,} planned in {planning_s:.2f} s"
        f" ({result.planned / planning_s:,.0f}/s; writing them {timings.plan_write_s:.2f} s)"
    )
    claims = sum(timings.claims)
    print(
        f"sending:  {result.sent:,} handed to the provider in {sending_s:.2f} s"
        f" ({result.sent / max(sending_s, 1e-9):,.0f}/s; {len(timings.claims)} claims,"
        f" {claims:.2f} s in them)"
    )
    met = right and total_s < TARGET_S if args.customers >= TARGET_CUSTOMERS else None
    verdict = {True: "met", False: "NOT met", None: f"the target is for {TARGET_CUSTOMERS:,}"}
    print(
        f"tick:     {total_s:.2f} s for {args.customers:,} planned and handed over"
        f" (target {TARGET_S:.0f} s): {verdict[met]}"
    )
    print(
        f"stand-in: {stats['requests']:,} requests, {stats['messages']:,} messages,"
        f" {stats['duplicates']:,} duplicates, {stats['refused']:,} refused"
    )
    print(f"store after: {', '.join(f'{k} {v:,}' for k, v in sorted(statuses.items()))}")
    if not right:
        print("WRONG: not every customer was planned and handed over exactly once")
    if args.profile is not None:
        print(profile_summary(args.profile))
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(
        json.dumps(
            {
                "calibration_ms": [round(speed_before, 1), round(speed_after, 1)],
                "customers": args.customers,
                "planned": result.planned,
                "sent": result.sent,
                "planning_s": round(planning_s, 2),
                "plan_write_s": round(timings.plan_write_s, 2),
                "sending_s": round(sending_s, 2),
                "total_s": round(total_s, 2),
                "planned_per_s": round(result.planned / planning_s),
                "sent_per_s": round(result.sent / max(sending_s, 1e-9)),
                "standin": {k: stats[k] for k in ("requests", "messages", "duplicates")},
                "right": right,
                "target_s": TARGET_S,
                "met": met,
            }
        )
    )
    if not right:
        sys.exit(1)


if __name__ == "__main__":
    main()
