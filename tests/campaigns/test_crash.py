"""kill -9 of the sender at random points, ten times over: in the end every planned message was
handed to KakaoTalk once (issue #20, acceptance 2).

A broadcast to 2,000 customers who agreed to advertising is sent by ``botkit campaigns run
--once`` processes over one SQLite file, through the Kakao Event API stand-in running as a
process of its own (it outlives the senders and counts what reached it, by send key). Ten
senders are killed with SIGKILL, each at a seeded-random point: some a moment after they start
(importing, opening the store, planning), the others once the stand-in has received a
seeded-random number of further messages (waiting for the provider's answer, writing down what
it answered, or claiming the next batch). A last sender then runs to its end.

Each run's clock stands at an instant one lease later than the one before (``--at``), so the
sends a killed sender held are claimable again by the next, as they would be in production once
the lease runs out. A send handed over just before a kill, whose ``sent`` was not yet
committed, is handed over again (Kakao has no idempotency key): the stand-in counts it as a
duplicate, which botkit's skill endpoint drops by the send key the event carries. So the
assertion is on what users see: each send's key reached the stand-in, each counted once, and
the store holds every send as sent, none left planned, claimed, failed or parked.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from botkit.adapters.outbound.standin import StandInProcess, StandInUnavailable, spawn
from botkit.campaigns.port import Send, SendStatus
from botkit.server.sender import Sender
from botkit.storage import SQLiteStore
from tests.campaigns.crowd import CAMPAIGN, START, bot_folder, plant, shown

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = 2_000
RUNS = 10
SEED = 20
REST_KEY = "crash-test-rest-key"
# The sender's lease on what it claims (botkit campaigns run keeps Sender's default): each run
# stands a second past the lease of the one before, so what a killed run held is free again.
LEASE_S = float(inspect.signature(Sender).parameters["lease_s"].default)
STEP_S = LEASE_S + 1.0
FIRST = START + 60.0  # 10:01, a minute into the broadcast's run
RUN_TIMEOUT_S = 120.0  # a sender that takes longer has hung


@dataclass
class Run:
    """One sender: where it was stopped, and what the stand-in had received by then."""

    at: float
    how: str  # "starting": killed after a short pause; "sending": after more messages arrived
    killed: bool = False  # still running when SIGKILL came (not finished already)
    received_before: int = 0  # raw messages at the stand-in when it started
    received_at_kill: int = 0


@pytest.fixture
def standin() -> Iterator[StandInProcess]:
    try:
        process = spawn("kakao", rest_key=REST_KEY)
    except StandInUnavailable as exc:
        pytest.skip(f"the Kakao stand-in process did not start: {exc}")
    with process:
        yield process


def raw_received(standin: StandInProcess) -> int:
    """Messages the stand-in was handed, each copy counted."""
    stats = standin.stats(keys=False)
    return int(stats["messages"]) + int(stats["duplicates"])


def sender(flows: Path, db: Path, at: float, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        BOTKIT_KAKAO_EVENT_API_URL=url,
        BOTKIT_KAKAO_REST_API_KEY=REST_KEY,
    )
    command = [
        sys.executable, "-m", "botkit.cli.main", "campaigns", "run", str(flows),
        "--store", f"sqlite:///{db}", "--once", "--at", shown(at),
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def kill_at_random(
    process: subprocess.Popen[bytes], run: Run, rng: random.Random, standin: StandInProcess
) -> None:
    """SIGKILL ``process`` at the point ``run.how`` and ``rng`` pick (unless it ended first):
    a moment after it started ("starting": importing, opening the store, planning), or once
    the stand-in received between one message and half of those still unsent ("sending")."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    if run.how == "starting":
        until = time.monotonic() + rng.uniform(0.05, 0.8)
        while time.monotonic() < until and process.poll() is None:
            time.sleep(0.005)
    else:
        unsent = CUSTOMERS - int(standin.stats(keys=False)["messages"])
        target = run.received_before + rng.randint(1, max(1, unsent // 2))
        while process.poll() is None and time.monotonic() < deadline:
            if raw_received(standin) >= target:
                break
            time.sleep(0.005)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        run.killed = True
    process.wait(timeout=RUN_TIMEOUT_S)
    run.received_at_kill = raw_received(standin)


async def planted(db: Path) -> None:
    store = SQLiteStore(str(db), synchronous="OFF")  # planting: the senders write with FULL
    await store.open()
    try:
        await plant(store, CUSTOMERS)
    finally:
        await store.close()


async def kept_sends(db: Path) -> list[Send]:
    store = SQLiteStore(str(db))
    await store.open()
    try:
        return await store.sends(campaign=CAMPAIGN)
    finally:
        await store.close()


def test_every_planned_message_reaches_kakao_once_through_ten_kill_9s(
    tmp_path: Path, standin: StandInProcess
) -> None:
    db = tmp_path / "shop.db"
    flows = bot_folder(tmp_path / "flows")
    asyncio.run(planted(db))
    rng = random.Random(SEED)
    runs: list[Run] = []
    for i in range(RUNS):
        run = Run(FIRST + i * STEP_S, rng.choice(("starting", "sending")))
        run.received_before = raw_received(standin)
        process = sender(flows, db, run.at, standin.url, tmp_path / f"run-{i}.log")
        kill_at_random(process, run, rng, standin)
        runs.append(run)
    last = sender(flows, db, FIRST + RUNS * STEP_S, standin.url, tmp_path / "last.log")
    assert last.wait(timeout=RUN_TIMEOUT_S) == 0, (tmp_path / "last.log").read_text()
    stats = standin.stats()
    sends = asyncio.run(kept_sends(db))

    summary = ", ".join(
        f"{r.how} {'killed' if r.killed else 'ended'} {r.received_before}→{r.received_at_kill}"
        for r in runs
    )
    duplicates = int(stats["duplicates"])
    said = f"runs: {summary}; raw duplicates (resent after a kill): {duplicates}"
    print(said)
    assert any(r.killed for r in runs if r.how == "starting"), said  # the kills did happen
    assert any(r.killed for r in runs if r.how == "sending"), said
    assert len(sends) == CUSTOMERS, said  # each customer decided about once
    assert Counter(s.status for s in sends) == {SendStatus.SENT: CUSTOMERS}, said
    received: dict[str, int] = stats["received"]
    assert set(received) == {s.key for s in sends}, said  # every send reached the provider
    assert stats["messages"] == CUSTOMERS, said  # each once, as users see it
    assert sum(received.values()) == CUSTOMERS + duplicates, said
    assert stats["refused"] == 0, said
