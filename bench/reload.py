"""Reloading the bot under load: ``POST /admin/reload`` while the Kakao bench's users talk to
``botkit serve --workers 2`` on PostgreSQL.

    python -m bench.reload [--users 64] [--workers 2] [--reloads 5] [--every 2.0]
                           [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

``flows/`` is copied (without its tests; ``actions.py`` kept) to a temporary folder, and
``botkit serve`` serves the copy on a fresh schema of the PostgreSQL database, with ``--workers``
processes, an admin token (``BOTKIT_ADMIN_TOKEN``) and ``flows/tests/demo.fixtures.yaml``
answering the courier. Once it is ready, ``GET /admin/version`` is polled over new connections
(the kernel spreads them over the workers) until every worker's pid has answered. Then the
users of ``bench.http_kakao`` (one raw keep-alive connection each) run the reference
conversation, each conversation as a new user, for the whole run, and meanwhile:

* ``--reloads`` reloads in a row, one every ``--every`` seconds: each edits the greeting of the
  copy (``main.yaml``'s "안녕하세요! …" gets " (v2)", " (v3)" …) and POSTs ``/admin/reload``
  to whichever worker takes the connection; then ``GET /admin/version`` is polled over new
  connections (two every 20 ms) until every worker reports the new version. The time from the
  reload's answer (and from its request) to the answer of the first poll that saw the last
  worker on it is an upper bound of when that worker switched (the resolution is the poll's).
* one reload with a broken flow (a transition to a state that does not exist): it must answer
  422 with the problems as JSON, and every worker must stay on the previous version (polled for
  1.5 s).

Then the server gets SIGTERM and the store is read back: every acknowledged turn (a 200) must
have written exactly one ``message_in`` record, and the ``conversation_start`` records say on
which version each conversation ran (``data.version``): each version must have some.

Prints a table and a final JSON line. Targets: no errors, persisted == acknowledged, every
worker on the new version within 1 s of each reload's answer, the broken flow refused with its
problems and no worker switching.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.calibrate import calibrate
from bench.http_kakao import LOCAL_POSTGRES, SKILL_PATH, RawClient, Tally, conversation
from bench.served import (
    FLOWS,
    Latency,
    Served,
    cpu_s,
    drop_schema,
    free_port,
    print_table,
    process_cpu_s,
    run_server,
    server_command,
    server_json,
    server_rows,
    tail,
)
from botkit.storage.postgres import PostgresStore

GREETING = "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?"  # main.yaml, main.start
BROKEN = ("to: order_status.ask_order", "to: order_status.no_such_state")  # main.yaml, once
SUFFIX = re.compile(r" \(v(\d+)\)$")
POLL_EVERY_S = 0.02
POLLS_PER_TICK = 2  # new connections per tick: the kernel gives each to one of the workers
SWITCH_TARGET_S = 1.0
SWITCH_WAIT_S = 10.0  # give up on a worker that has not switched after this long
BROKEN_WATCH_S = 1.5
PIDS_WAIT_S = 15.0
ADMIN_TIMEOUT_S = 30.0  # a reload compiles the flows: seconds on a busy machine at worst


@dataclass
class Seen:
    """One answer of ``GET /admin/version``: which worker, which version, when (perf_counter)
    the request was sent and when it was answered."""

    pid: int
    version: str
    sent: float
    answered: float


@dataclass
class Reload:
    """One reload and what the workers said afterwards."""

    label: str  # "v2", …; "broken"
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    requested: float = 0.0
    answered: float = 0.0
    version: str = ""  # the version the answer names (the live one, after it)
    previous: str = ""
    switched: dict[int, float] = field(default_factory=dict)  # pid → first seen on version
    seen: list[Seen] = field(default_factory=list)
    unknown_pids: set[int] = field(default_factory=set)  # workers not seen at the start

    @property
    def answer_s(self) -> float:
        return self.answered - self.requested

    def last_switch(self, pids: set[int]) -> float | None:
        """When the last worker was first seen on the new version; None if one never was."""
        if not pids <= set(self.switched):
            return None
        return max(self.switched[pid] for pid in pids)

    def wrong(self) -> list[Seen]:
        """For a refused reload: answers on another version than the one live before."""
        return [s for s in self.seen if s.version != self.previous]


@dataclass
class Run:
    """Everything the load generator saw."""

    tally: Tally = field(default_factory=Tally)
    pids: set[int] = field(default_factory=set)
    first_version: str = ""
    reloads: list[Reload] = field(default_factory=list)
    # the greeting's suffix users saw: "v1", "v2" …; "C": experiment variant C's own greeting
    greetings: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    poll_errors: Counter[str] = field(default_factory=Counter)
    stopping: bool = False


async def admin(host: str, port: int, method: str, path: str, token: str) -> tuple[int, Any]:
    """One admin request over a connection of its own (closed after): status, JSON."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nAccept: application/json\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            ).encode("ascii")
        )
        async with asyncio.timeout(ADMIN_TIMEOUT_S):
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            content = await reader.readexactly(length)
        return int(header[9:12]), orjson.loads(content)
    finally:
        writer.close()


class Poller:
    """``GET /admin/version`` over new connections, POLLS_PER_TICK every POLL_EVERY_S, each in
    a task of its own (a worker that is slow to answer does not hold up the others)."""

    def __init__(self, host: str, port: int, token: str, run: Run) -> None:
        self.host, self.port, self.token, self.run = host, port, token, run

    async def _one(self, into: list[Seen]) -> None:
        sent = time.perf_counter()
        try:
            status, body = await admin(self.host, self.port, "GET", "/admin/version", self.token)
        except Exception as exc:  # counted: a poll that fails is no observation
            self.run.poll_errors[type(exc).__name__] += 1
            return
        finally:
            self.run.polls += 1
        if status != 200:
            self.run.poll_errors[f"http_{status}"] += 1
            return
        into.append(Seen(int(body["pid"]), str(body["version"]), sent, time.perf_counter()))

    async def until(self, done: Any, seconds: float) -> list[Seen]:
        """Poll until ``done(seen)`` is true or ``seconds`` have passed; every answer."""
        seen: list[Seen] = []
        tasks: set[asyncio.Task[None]] = set()
        deadline = time.perf_counter() + seconds
        tick = time.perf_counter()
        while time.perf_counter() < deadline and not done(seen):
            for _ in range(POLLS_PER_TICK):
                task = asyncio.ensure_future(self._one(seen))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += POLL_EVERY_S
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
        if tasks:
            await asyncio.wait(tasks, timeout=ADMIN_TIMEOUT_S)
        return seen


def greeting_label(answer: dict[str, Any]) -> str | None:
    """The version suffix of the greeting a user was shown ("v1" without one)."""
    outputs = (answer.get("template") or {}).get("outputs") or []
    for output in outputs:
        for body in output.values() if isinstance(output, dict) else []:
            text = body.get("text") if isinstance(body, dict) else None
            if isinstance(text, str) and text.startswith(GREETING):
                found = SUFFIX.search(text)
                return f"v{found.group(1)}" if found else "v1"
    return None


async def user_loop(number: int, client: RawClient, run: Run) -> None:
    """One simulated user (as bench.http_kakao's), conversation after conversation, each as a
    new Kakao user, until the run stops."""

    def going() -> bool:
        return not run.stopping

    def greeted(answer: dict[str, Any]) -> None:
        run.greetings[greeting_label(answer) or "C"] += 1  # variant C greets otherwise

    n = 0
    while going():
        run.tally.started += 1
        user = f"reload-{number}-{n}"
        n += 1
        if await conversation(client, SKILL_PATH, user, run.tally, going, greeted):
            run.tally.completed += 1


def edit_greeting(main_yaml: Path, label: str) -> None:
    text = main_yaml.read_text("utf-8")
    edited = re.sub(
        re.escape(GREETING) + r"(?: \(v\d+\))?", f"{GREETING} ({label})", text, count=1
    )
    if edited == text:
        raise SystemExit(f"the greeting {GREETING!r} is not in {main_yaml}")
    main_yaml.write_text(edited, "utf-8")


async def learn_pids(poller: Poller, workers: int, run: Run) -> None:
    seen = await poller.until(lambda seen: len({s.pid for s in seen}) >= workers, PIDS_WAIT_S)
    run.pids = {s.pid for s in seen}
    versions = {s.version for s in seen}
    if len(run.pids) < workers or len(versions) != 1:
        raise RuntimeError(
            f"after {PIDS_WAIT_S:.0f} s of polling /admin/version: pids {sorted(run.pids)},"
            f" versions {sorted(versions)}; {workers} workers on one version were expected"
        )
    run.first_version = versions.pop()


async def reload_once(
    poller: Poller, host: str, port: int, token: str, reload: Reload, run: Run, *, good: bool
) -> None:
    reload.requested = time.perf_counter()
    try:
        reload.status, reload.body = await admin(host, port, "POST", "/admin/reload", token)
    except Exception as exc:
        reload.status, reload.body = 0, {"exception": repr(exc)}
    reload.answered = time.perf_counter()
    if good:
        reload.version = str(reload.body.get("version", ""))
        reload.previous = str(reload.body.get("previous", ""))
        if reload.status != 200 or not reload.version:
            return

        def all_switched(seen: list[Seen]) -> bool:
            for s in seen:
                if s.version == reload.version and s.pid not in reload.switched:
                    reload.switched[s.pid] = s.answered
            return run.pids <= set(reload.switched)

        reload.seen = await poller.until(all_switched, SWITCH_WAIT_S)
        all_switched(reload.seen)  # answers that came in after the last check
    else:
        error = reload.body.get("error") or {}
        reload.version = reload.previous = str(error.get("version", ""))
        reload.seen = await poller.until(lambda seen: False, BROKEN_WATCH_S)
    reload.unknown_pids = {s.pid for s in reload.seen} - run.pids


async def drive(
    host: str, port: int, token: str, folder: Path, args: argparse.Namespace, run: Run
) -> None:
    """The reloads, while the users run: a warm-up interval, the good reloads one every
    ``args.every`` seconds, the broken one, and an interval more."""
    poller = Poller(host, port, token, run)
    main_yaml = folder / "main.yaml"
    await asyncio.sleep(args.every)
    next_at = time.perf_counter()
    for n in range(2, args.reloads + 2):
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        next_at = time.perf_counter() + args.every
        edit_greeting(main_yaml, f"v{n}")
        reload = Reload(f"v{n}")
        run.reloads.append(reload)
        await reload_once(poller, host, port, token, reload, run, good=True)
    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    good = main_yaml.read_text("utf-8")
    if BROKEN[0] not in good:
        raise SystemExit(f"{BROKEN[0]!r} is not in {main_yaml}")
    main_yaml.write_text(good.replace(*BROKEN, 1), "utf-8")
    broken = Reload("broken")
    run.reloads.append(broken)
    await reload_once(poller, host, port, token, broken, run, good=False)
    main_yaml.write_text(good, "utf-8")
    await asyncio.sleep(1.0)


async def load(
    port: int, server_pid: int, token: str, folder: Path, args: argparse.Namespace
) -> Run:
    host = "127.0.0.1"
    run = Run()
    await learn_pids(Poller(host, port, token, run), args.workers, run)
    clients = [RawClient(host, port, args.timeout) for _ in range(args.users)]
    client_cpu, server_cpu = cpu_s(), process_cpu_s(server_pid)
    started = time.perf_counter()
    users = [asyncio.ensure_future(user_loop(n, clients[n], run)) for n in range(args.users)]
    try:
        await drive(host, port, token, folder, args, run)
    finally:
        run.stopping = True
        await asyncio.gather(*users)
    run.tally.seconds = time.perf_counter() - started
    for client in clients:
        client.close()
    run.tally.client_cpu_s = cpu_s() - client_cpu
    server_after = process_cpu_s(server_pid)
    if server_cpu is not None and server_after is not None:
        run.tally.server_cpu_s = server_after - server_cpu
    return run


@dataclass
class ReadBack:
    records: int
    message_in: int
    started_on: Counter[str]  # conversation_start records per data.version
    kept: list[str]  # the versions the store keeps, the live one first


async def read_back(store_url: str) -> ReadBack:
    store = PostgresStore(store_url)
    await store.open()
    try:
        starts = await store.records(kind="conversation_start")
        return ReadBack(
            await store.count_records(),
            len(await store.records(kind="message_in")),
            Counter(str((r.data or {}).get("version")) for r in starts),
            [v.version for v in await store.versions()],
        )
    finally:
        await store.close()
        await drop_schema(store)


def serve_and_load(args: argparse.Namespace) -> tuple[Run, Served, ReadBack]:
    """bench.served's serve_and_load, on a copy of flows/ and with an admin token."""
    token = f"bench-admin-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix="botkit-bench-reload-") as tmp:
        folder = Path(tmp) / "flows"
        shutil.copytree(FLOWS, folder, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        log = Path(tmp) / "server.log"
        port = free_port()
        joiner = "&" if "?" in args.postgres_url else "?"
        store_url = f"{args.postgres_url}{joiner}schema=bench_{uuid.uuid4().hex[:12]}"
        command = [
            str(folder) if part == str(FLOWS) else part
            for part in server_command(port, store_url, args.workers)
        ]
        run, ready_s, (exit_code, stop_s, killed) = run_server(
            command,
            port,
            log,
            {"BOTKIT_ADMIN_TOKEN": token},
            lambda pid: load(port, pid, token, folder, args),
        )
        back = asyncio.run(read_back(store_url))
        clean = not killed and exit_code in (0, -signal.SIGTERM)
        log_text = log.read_text("utf-8", errors="replace")
        served = Served(
            command, ready_s, stop_s, exit_code, killed, back.records, back.message_in,
            "" if clean and "Traceback" not in log_text else tail(log, 8),
        )  # fmt: skip
    shown = [part.replace(str(folder), "<copy of flows/>") for part in served.command]
    return run, dataclasses.replace(served, command=shown), back


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=64, help="concurrent simulated users")
    parser.add_argument("--workers", type=int, default=2, help="botkit serve --workers")
    parser.add_argument("--reloads", type=int, default=5, help="good reloads in a row")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between reloads")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BOTKIT_BENCH_POSTGRES_URL", LOCAL_POSTGRES),
        help="the database (a schema of its own is made and dropped)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    return parser


def ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f}"


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    if args.users < 1 or args.workers < 1 or args.reloads < 1 or args.every <= 0:
        parser.error("--users, --workers, --reloads and --every must be positive")
    speed_before = calibrate()
    run, served, back = serve_and_load(args)
    calibration = (speed_before, calibrate())
    tally = run.tally

    good = [r for r in run.reloads if r.label != "broken"]
    broken = next((r for r in run.reloads if r.label == "broken"), None)
    labels = {run.first_version: "v1"} | {r.version: r.label for r in good if r.version}
    rows: list[tuple[str, str]] = [
        ("store / workers", f"postgresql / {args.workers} (pids {sorted(run.pids)})"),
        ("users (keep-alive connections)", f"{args.users} (raw)"),
        ("", ""),
        ("reload: status, answer ms, last worker", "ms after the answer / after the request"),
    ]
    switch_s: list[float | None] = []
    for r in good:
        last = r.last_switch(run.pids)
        after_answer = None if last is None else last - r.answered
        switch_s.append(after_answer)
        rows.append(
            (
                f"  {r.label} {r.version[:12] or '?'}",
                f"{r.status}, {r.answer_s * 1000:.0f} ms, "
                f"{ms(after_answer)} / {ms(None if last is None else last - r.requested)}"
                + (f"  (new pids {sorted(r.unknown_pids)})" if r.unknown_pids else ""),
            )
        )
    problems: list[dict[str, Any]] = []
    stayed = False
    if broken is not None:
        error = broken.body.get("error") or {}
        problems = error.get("problems") or []
        observed = Counter(s.pid for s in broken.seen)
        stayed = (
            not broken.wrong()
            and run.pids <= set(observed)
            and broken.previous == (good[-1].version if good else run.first_version)
        )
        rows += [
            (
                "  broken: status, answer ms",
                f"{broken.status}, {broken.answer_s * 1000:.0f} ms,"
                f" code {error.get('code')!r}, {len(problems)} problem(s)",
            ),
            *(
                (
                    "    problem",
                    f"{p.get('path')}:{p.get('line')}:{p.get('column')} {p.get('code')}"
                    f" {str(p.get('message'))[:70]}",
                )
                for p in problems[:3]
            ),
            (
                f"    workers on {broken.previous[:12]} for {BROKEN_WATCH_S} s",
                f"{'yes' if stayed else 'NO'}: {dict(observed)} answers,"
                f" {len(broken.wrong())} on another version",
            ),
        ]
    rows += [
        ("admin polls (new connections) / failed", f"{run.polls} / {dict(run.poll_errors)}"),
        ("", ""),
    ]
    requests = len(tally.latencies)
    latency = Latency.of(tally.latencies)
    rate = requests / tally.seconds if tally.seconds > 0 else 0.0
    errors = sum(tally.errors.values())
    started_on = dict(sorted((labels.get(v, v[:12]), n) for v, n in back.started_on.items()))
    rows += [
        ("conversations started / completed", f"{tally.started} / {tally.completed}"),
        ("  greeting seen, by version", str(dict(sorted(run.greetings.items())))),
        ("  conversation_start, by version", str(started_on)),
        (
            "versions the store keeps",
            f"{len(back.kept)}, live: {labels.get(next(iter(back.kept), ''), '?')}",
        ),
        *tally.traffic_rows(),
        *server_rows(served, tally.client_cpu_s, tally.server_cpu_s, requests, "request"),
    ]
    notes = [f"last error: {tally.last_error}"] if tally.last_error else []
    lost = tally.acknowledged - served.message_in
    if lost:
        notes.append(f"persisted != acknowledged: {served.message_in} vs {tally.acknowledged}")
    print_table(rows, calibration, notes, served)

    every_version_used = all(labels.get(v) for v in back.started_on) and set(labels) <= set(
        back.started_on
    )
    met = (
        errors == 0
        and lost == 0
        and len(good) == args.reloads
        and all(r.status == 200 for r in good)
        and all(s is not None and s <= SWITCH_TARGET_S for s in switch_s)
        and broken is not None
        and broken.status == 422
        and bool(problems)
        and stayed
        and every_version_used
    )
    result = {
        "bench": "reload",
        "store": "postgresql",
        "workers": args.workers,
        "users": args.users,
        "reloads": len(good),
        "reload_status": [r.status for r in good],
        "reload_answer_s": [round(r.answer_s, 3) for r in good],
        "switch_s": [None if s is None else round(s, 3) for s in switch_s],
        "switch_from_request_s": [
            None if (last := r.last_switch(run.pids)) is None else round(last - r.requested, 3)
            for r in good
        ],
        "max_switch_s": max((s for s in switch_s if s is not None), default=None),
        "broken_status": None if broken is None else broken.status,
        "broken_problems": len(problems),
        "broken_codes": sorted({str(p.get("code")) for p in problems}),
        "broken_stayed": stayed,
        "conversations_by_version": started_on,
        "every_version_used": every_version_used,
        "versions_kept": len(back.kept),
        "conversations": tally.started,
        "requests": requests,
        "seconds": round(tally.seconds, 3),
        "req_per_s": round(rate, 1),
        "errors": errors,
        "errors_by_kind": tally.errors,
        "turns_acknowledged": tally.acknowledged,
        "message_in_persisted": served.message_in,
        "lost_turns": max(lost, 0),
        **server_json(served, calibration, latency, tally.client_cpu_s, tally.server_cpu_s),
        "targets": {"errors": 0, "lost_turns": 0, "switch_s": SWITCH_TARGET_S},
        "met": met,
    }
    if result["max_switch_s"] is not None:
        result["max_switch_s"] = round(result["max_switch_s"], 3)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
