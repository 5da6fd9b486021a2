"""Two senders on one PostgreSQL store share a campaign's sends: each message is handed to
KakaoTalk once, none is left behind, and both did some of the work (issue #20, acceptance 3).

Two ``botkit campaigns run --once`` processes start together over the same schema, with their
clocks standing at the same instant, and send a broadcast to 3,000 customers through the Kakao
Event API stand-in (a process of its own, counting every copy it receives). Both plan: the
sends' keys make the second plan insert nothing the first kept. Both claim: ``FOR UPDATE SKIP
LOCKED`` gives each send to one of them. The stand-in answers each request after a short delay,
as a provider across the internet does, so that the two overlap for a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.adapters.outbound.standin import StandInProcess, StandInUnavailable, spawn
from botkit.campaigns.port import Send, SendStatus
from botkit.storage.postgres import PostgresStore
from tests.campaigns.crowd import CAMPAIGN, START, bot_folder, plant, shown
from tests.postgres import POSTGRES_MARKS, postgres_url

pytestmark = POSTGRES_MARKS

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = 3_000
REST_KEY = "two-workers-rest-key"
ANSWER_DELAY_S = 0.2  # before each answer: 30 requests, 6 s of sending for one worker alone
RUN_TIMEOUT_S = 180.0


@pytest.fixture
def standin() -> Iterator[StandInProcess]:
    try:
        process = spawn("kakao", rest_key=REST_KEY)
    except StandInUnavailable as exc:
        pytest.skip(f"the Kakao stand-in process did not start: {exc}")
    with process:
        yield process


async def planted(url: str) -> None:
    store = PostgresStore(url)
    await store.open()
    try:
        await plant(store, CUSTOMERS)
    finally:
        await store.close()


async def kept_sends(url: str) -> list[Send]:
    store = PostgresStore(url)
    await store.open()
    try:
        return await store.sends(campaign=CAMPAIGN)
    finally:
        await store.close()


def sender(flows: Path, url: str, standin: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        BOTKIT_KAKAO_EVENT_API_URL=standin,
        BOTKIT_KAKAO_REST_API_KEY=REST_KEY,
    )
    command = [
        sys.executable, "-m", "botkit.cli.main", "campaigns", "run", str(flows),
        "--store", url, "--once", "--at", shown(START + 60.0),
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_two_workers_send_each_message_once_and_leave_none_behind(
    tmp_path: Path, postgres_schema: str, standin: StandInProcess
) -> None:
    url = postgres_url(postgres_schema)
    flows = bot_folder(tmp_path / "flows")
    asyncio.run(planted(url))
    standin.faults(delay=ANSWER_DELAY_S)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [sender(flows, url, standin.url, log) for log in logs]
    codes = [worker.wait(timeout=RUN_TIMEOUT_S) for worker in workers]
    said = "\n".join(log.read_text(errors="replace") for log in logs)
    assert codes == [0, 0], said
    stats = standin.stats()
    sends = asyncio.run(kept_sends(url))

    assert len(sends) == CUSTOMERS, said  # each customer decided about once
    assert Counter(s.status for s in sends) == {SendStatus.SENT: CUSTOMERS}, said
    received: dict[str, int] = stats["received"]
    assert received == {s.key: 1 for s in sends}, said  # each handed over once, no copy
    assert (stats["messages"], stats["duplicates"]) == (CUSTOMERS, 0), said
    said_sent = [int(m.replace(",", "")) for m in re.findall(r"· sent ([\d,]+)", said)]
    assert len(said_sent) == 2, said
    assert sum(said_sent) == CUSTOMERS, said  # as each worker counted what it handed over
    by_worker = Counter(s.claimed_by for s in sends)
    pids = {f":{worker.pid}" for worker in workers}
    assert {str(w)[str(w).rindex(":") :] for w in by_worker} == pids, by_worker
    assert all(count > 0 for count in by_worker.values()), by_worker
    print(f"sends per worker: {sorted(by_worker.values())}")
