"""Reloading a real ``botkit serve`` process without restarting it: SIGHUP to the process an
operator started (one worker on SQLite, or the parent of two workers on PostgreSQL), and
``POST /admin/reload`` to one of two workers, which the other follows through the store.

Each test serves a copy of the reference bot (``flows/``), changes its greeting, reloads, and
asks ``GET /admin/version`` over new connections (the kernel gives each to one of the workers)
until every worker's pid has answered with the new version, within a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres import POSTGRES_MARKS, postgres_url
from tests.server.processes import REPO, Served, kakao, serve

ADMIN = "reload-admin-token-0123456789"
ADMIN_ENV = {"BOTKIT_ADMIN_TOKEN": ADMIN}
BEARER = {"Authorization": f"Bearer {ADMIN}"}
# main.yaml's greetings: the menu's, and experiment variant C's (a user meets one of them)
GREETINGS = (
    "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?",
    "반가워요! 주문, 배송, 환불 무엇이든 물어보세요.",
)
POLL_S = 0.02
SWITCH_WITHIN_S = 1.0


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A copy of the reference bot to edit (its tests left out; actions.py kept)."""
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return folder


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """No keep-alive: every request on a new connection, so each may reach another worker."""
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=10, limits=limits) as each:
        yield each


def mark_greetings(flows: Path, mark: str) -> None:
    """Every greeting of main.yaml ends with `` (mark)`` (instead of an earlier mark)."""
    path = flows / "main.yaml"
    text = path.read_text("utf-8")
    for greeting in GREETINGS:
        text, found = re.subn(
            re.escape(greeting) + r"(?: \([^)\"]*\))?", f"{greeting} ({mark})", text
        )
        assert found == 1, greeting
    path.write_text(text, "utf-8")


def greeting(client: httpx.Client, served: Served, user: str) -> str:
    """What a new user ``user`` is greeted with."""
    answer = client.post(f"{served.url}/kakao/skill", json=kakao("안녕하세요", user))
    assert answer.status_code == 200, answer.text
    texts: list[str] = [
        body["text"]
        for output in answer.json()["template"]["outputs"]
        for body in output.values()
        if "text" in body
    ]
    said = [t for t in texts if t.startswith(GREETINGS)]
    assert len(said) == 1, texts
    return said[0]


def version(client: httpx.Client, served: Served) -> tuple[int, str]:
    """(pid, version) of the worker that took this connection."""
    answer = client.get(f"{served.url}/admin/version", headers=BEARER)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return int(body["pid"]), str(body["version"])


def poll(
    client: httpx.Client,
    served: Served,
    done: Callable[[dict[int, str]], bool],
    seconds: float,
) -> tuple[dict[int, str], dict[int, float]]:
    """Ask ``/admin/version`` every POLL_S until ``done(latest version by pid)`` or ``seconds``
    have passed: the latest version of each pid seen, and when (time.monotonic()) each pid was
    first seen on the version it has now."""
    latest: dict[int, str] = {}
    since: dict[int, float] = {}
    deadline = time.monotonic() + seconds
    while not done(latest) and time.monotonic() < deadline:
        assert served.process.poll() is None, served.log
        pid, live = version(client, served)
        if latest.get(pid) != live:
            latest[pid], since[pid] = live, time.monotonic()
        time.sleep(POLL_S)
    return latest, since


def test_sighup_reloads_one_worker_in_place(
    tmp_path: Path, flows: Path, client: httpx.Client
) -> None:
    with serve(tmp_path, flows=flows, env=ADMIN_ENV) as served:
        pid, before = version(client, served)
        assert pid == served.process.pid  # one worker: the process itself
        first = greeting(client, served, "먼저온손님")
        assert first in GREETINGS

        mark_greetings(flows, "새 버전")
        os.kill(served.process.pid, signal.SIGHUP)
        latest, _ = poll(client, served, lambda seen: seen.get(pid, before) != before, 10)
        assert latest.get(pid, before) != before, served.log
        assert version(client, served) == (pid, latest[pid])  # the same process, no restart
        assert greeting(client, served, "나중온손님").endswith(" (새 버전)")

        # the first user's conversation goes on (on the version it started on)
        pressed = client.post(
            f"{served.url}/kakao/skill",
            json=kakao("배송 조회", "먼저온손님", {"botkit": "order_status"}),
        )
        assert pressed.status_code == 200, pressed.text
        assert "주문번호 10자리를 알려 주세요." in pressed.text
        assert served.process.poll() is None
    assert "Traceback" not in served.log
    assert "SIGHUP" in served.log


@POSTGRES_MARKS[0]
@POSTGRES_MARKS[1]
def test_two_workers_on_postgres_follow_a_reload_and_a_sighup(
    tmp_path: Path, flows: Path, client: httpx.Client, postgres_schema: str
) -> None:
    store = postgres_url(postgres_schema)
    with serve(tmp_path, "--workers=2", store=store, flows=flows, env=ADMIN_ENV) as served:
        workers, _seen = poll(client, served, lambda seen: len(seen) >= 2, 10)
        assert len(workers) == 2, f"one worker answered every connection: {workers}"
        (v1,) = set(workers.values())
        pids = set(workers)

        def all_on(expected: str) -> Callable[[dict[int, str]], bool]:
            return lambda seen: set(seen) >= pids and set(seen.values()) == {expected}

        # POST /admin/reload reaches one worker; the other takes the version from the store
        mark_greetings(flows, "v2")
        reloaded = client.post(f"{served.url}/admin/reload", headers=BEARER)
        answered = time.monotonic()
        assert reloaded.status_code == 200, reloaded.text
        body = reloaded.json()
        assert body["previous"] == v1
        assert body["changed"] is True
        v2 = body["version"]
        latest, since = poll(client, served, all_on(v2), 5)
        assert latest == dict.fromkeys(pids, v2), served.log
        assert max(since.values()) - answered <= SWITCH_WITHIN_S

        # SIGHUP to the parent: every worker reloads the files itself, none restarts
        mark_greetings(flows, "v3")
        os.kill(served.process.pid, signal.SIGHUP)
        latest, _since = poll(
            client, served, lambda seen: set(seen) >= pids and v2 not in seen.values(), 10
        )
        assert set(latest) == pids, latest  # the same workers
        assert len(set(latest.values())) == 1, latest
        assert v2 not in latest.values(), served.log
        assert greeting(client, served, "새손님").endswith(" (v3)")
    assert served.log.count("Started server process") == 2
    assert "Traceback" not in served.log
