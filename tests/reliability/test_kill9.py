"""kill -9 in the middle of a burst: no turn answered 200 is lost, none is stored twice, and the
SQLite file is sound when the server comes back.

Several KakaoTalk users talk at once to a ``botkit serve`` on its default, durable SQLite store,
each sending the next message as soon as the last is answered; after a set number of answers
the process is killed with SIGKILL (no shutdown, no flush). Then the file is checked
(``PRAGMA integrity_check``) and read back: every acknowledged message must be stored, once,
in the order it was sent (the one in flight at the kill may or may not be). The server is
started again on the same file and must answer every user.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from tests.reliability import figures
from tests.reliability.stores import integrity, said
from tests.server.processes import Served, kakao, serve

SECTION = figures.Section("kill -9 mid-burst (SQLite)")
RUNS = figures.scaled(1, 12)
USERS = figures.scaled(4, 8)
MESSAGES_PER_USER = 300  # a bound: the kill comes long before
JSON = {"Content-Type": "application/json"}


def message(n: int) -> str:
    """The user's n-th message: the menu, or an order number that makes the bot look it up
    (an action, then a commit of several records). Unique, so each is counted exactly."""
    if n % 2:
        return f"주문번호 1234-567-890 배송 확인해 주세요 ({n})"
    return f"처음으로 {n}"


@dataclass
class Burst:
    sent: dict[str, list[str]] = field(default_factory=dict)
    acknowledged: dict[str, int] = field(default_factory=dict)
    other_answers: Counter[int] = field(default_factory=Counter)


async def burst(served: Served, users: list[str], kill_after: int) -> Burst:
    """Every user talks until the server dies, which it does after ``kill_after`` answers."""
    tally = Burst({u: [] for u in users}, {u: 0 for u in users})
    answered = itertools.count(1)

    async def talk(client: httpx.AsyncClient, user: str) -> None:
        for n in range(MESSAGES_PER_USER):
            text = message(n)
            tally.sent[user].append(text)
            try:
                answer = await client.post(
                    "/kakao/skill", content=orjson.dumps(kakao(text, user)), headers=JSON
                )
            except httpx.TransportError:
                return  # the server is gone: this message was in flight
            if answer.status_code != 200:
                tally.other_answers[answer.status_code] += 1
                return
            tally.acknowledged[user] += 1
            if next(answered) == kill_after:
                served.process.kill()

    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        await asyncio.wait_for(asyncio.gather(*(talk(client, u) for u in users)), 120)
    return tally


@dataclass(frozen=True)
class Damage:
    lost: int  # answered 200, not stored
    duplicated: int  # stored more than once
    misordered: int  # users whose stored messages are not what they sent, in that order


def damage(tally: Burst, stored: dict[str, list[str]]) -> Damage:
    lost = duplicated = misordered = 0
    for user, sent in tally.sent.items():
        kept = stored[f"kakao:shop:{user}"]
        acknowledged = sent[: tally.acknowledged[user]]
        lost += sum((Counter(acknowledged) - Counter(kept)).values())
        duplicated += sum(n - 1 for n in Counter(kept).values() if n > 1)
        # Stored: the acknowledged messages, plus perhaps the one in flight at the kill.
        done = len(acknowledged)
        misordered += int(kept not in (sent[:done], sent[: done + 1]))
    return Damage(lost, duplicated, misordered)


async def test_kill_9_mid_burst_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    users = [f"고객{i}" for i in range(USERS)]
    sessions = [f"kakao:shop:{u}" for u in users]
    for run in range(RUNS):
        db = tmp_path / f"kill-{run}.db"
        store = f"sqlite:///{db}"
        with serve(tmp_path, store=store) as served:
            tally = await burst(served, users, kill_after=12 + 9 * run)
            killed = served.process.wait(timeout=30)
        sound = integrity(db)
        found = damage(tally, await said(store, sessions))
        with serve(tmp_path, store=store) as again:
            async with httpx.AsyncClient(base_url=again.url, timeout=10) as client:
                back = [
                    await client.post(
                        "/kakao/skill", content=orjson.dumps(kakao("처음으로", u)), headers=JSON
                    )
                    for u in users
                ]

        SECTION.add("kill -9 runs")
        SECTION.add("turns acknowledged (200) before the kill", sum(tally.acknowledged.values()))
        in_flight = sum(len(tally.sent[u]) - tally.acknowledged[u] for u in users)
        SECTION.add("messages in flight at the kill (may be kept or not)", in_flight)
        SECTION.add("acked-but-lost", found.lost)
        SECTION.add("duplicated turns", found.duplicated)
        SECTION.add("users whose turns are out of order", found.misordered)
        SECTION.add("integrity_check not ok", int(sound != "ok"))
        SECTION.add("answers other than 200 before the kill", sum(tally.other_answers.values()))
        SECTION.add(
            "users not answered after the restart", sum(a.status_code != 200 for a in back)
        )
        if sound != "ok":
            SECTION.note(f"run {run}: integrity_check: {sound}")

        assert killed == -9, "the server was not killed by SIGKILL"
        assert sum(tally.acknowledged.values()) >= 12 + 9 * run
        assert found == Damage(lost=0, duplicated=0, misordered=0), f"run {run}"
        assert sound == "ok", f"run {run}"
        assert not tally.other_answers, tally.other_answers
        assert [a.status_code for a in back] == [200] * len(users), f"run {run}"


def test_the_count_sees_a_lost_a_doubled_and_a_misordered_turn() -> None:
    tally = Burst({"a": ["1", "2", "3"], "b": ["1", "2"]}, {"a": 3, "b": 1})
    stored = {"kakao:shop:a": ["1", "3", "3"], "kakao:shop:b": ["2", "1"]}
    assert damage(tally, stored) == Damage(lost=1, duplicated=1, misordered=2)
    kept_in_flight = {"kakao:shop:a": ["1", "2", "3"], "kakao:shop:b": ["1", "2"]}
    assert damage(tally, kept_in_flight) == Damage(lost=0, duplicated=0, misordered=0)
