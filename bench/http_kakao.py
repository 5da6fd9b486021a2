"""Kakao skill calls per second through ``botkit serve``, over HTTP, durable on SQLite.

    python -m bench.http_kakao [--users 64] [--conversations 2000] [--seconds 60]
                               [--store sqlite|postgresql] [--workers 1] [--timeout 10]
                               [--pool raw|per-user|shared]
                               [--upstream fixtures|http|404|refused] [--profile OUT.prof]

``botkit serve flows/`` runs as a separate process on loopback, on a fresh SQLite file (or, with
``--store postgresql``, a fresh schema of the PostgreSQL database in ``--postgres-url``, with
``--workers`` processes), with
``flows/tests/demo.fixtures.yaml`` answering the courier lookup (no courier server). This
process waits for ``GET /readyz``, then N simulated users (on uvloop, one HTTP/1.1 keep-alive
connection each) each run the reference conversation as Kakao sends it, one SkillPayload per
turn:

  "안녕하세요" → press "배송 조회" (``action.clientExtra`` = the quick reply's ``extra``, as Kakao
  echoes it) → "12-34" (invalid) → "1234-567-890" (+ lookup) → "처음으로"

each conversation for a new user id, until ``--conversations`` are done or ``--seconds`` have
passed. Every answer must be a 200 with a SkillResponse (``version`` "2.0"); anything else
(another status, not JSON, a timeout, a connection error) is counted as an error, never raised.

Then the server gets SIGTERM (turns in flight finish and commit) and the store is read back:
every acknowledged turn (a 200) must have written exactly one ``message_in`` record.

Measures requests per second and latency (p50/p95/p99, every request, errors included) as the
client sees them. The load generator shares the machine with the server (a 2-core VM), so the
CPU time of each over the run is printed too: a reader can tell a slow server from a saturated
client. By default each user has a minimal HTTP/1.1 connection (``--pool raw``): httpx costs
about 1 ms of CPU per request in the load generator, which on this machine is more than the
server's own cost per turn. ``--pool per-user`` (an httpx client per user) and ``--pool
shared`` (one httpx client for all; httpcore's pool then checks every idle connection on every
request) are kept for comparison.

``--upstream http|404|refused`` (bench._upstream): the lookup over HTTP to a loopback upstream
(answering at once, or 404) or a closed port, after the echo ceiling (same stack, same load).

Prints a table, the server's command, and a final JSON line with the figures.
Targets (issue #5): >= 2000 req/s, p99 <= 50 ms, no errors, persisted == acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import ssl
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._upstream import UPSTREAM_MODES, run_upstream
from bench.calibrate import calibrate
from bench.served import (
    Latency,
    Served,
    cpu_s,
    print_table,
    process_cpu_s,
    serve_and_load,
    server_json,
    server_rows,
)

if importlib.util.find_spec("sniffio") is None:
    # httpcore imports sniffio on every lock and event it sets up; since anyio 4.11 stopped
    # installing it, each such import fails, and Python does not cache a failed import: it
    # searches sys.path again, ~0.15 ms, several times per request (encode/httpcore#1103).
    # A None entry makes the import fail at once: the load generator measures the server,
    # not its own import machinery.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
FIXTURES = FLOWS / "tests" / "demo.fixtures.yaml"
SKILL_PATH = "/kakao/skill"
BOT = {"id": "bench-bot", "name": "botkit bench"}
PRESS = "배송 조회"  # the quick reply pressed on the second turn
SCRIPT = ["안녕하세요", PRESS, "12-34", "1234-567-890", "처음으로"]
TARGETS = {"req_per_s": 2000, "p99_ms": 50}
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"  # the development machine's
READY_WAIT_S = 30.0
STOP_WAIT_S = 30.0  # the server's own shutdown grace is 10 s


@dataclass
class Tally:
    """What the simulated users saw; shared by all of them (one event loop, no locks)."""

    started: int = 0  # conversations begun
    completed: int = 0  # conversations whose five turns were all answered as expected
    acknowledged: int = 0  # requests answered 200: turns the server took
    latencies: list[float] = field(default_factory=list)  # seconds, every request
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    seconds: float = 0.0  # from the first request sent to the last answer
    client_cpu_s: float = 0.0  # this process, over those seconds
    server_cpu_s: float | None = None  # the server process, same window (Linux /proc)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.last_error = f"{kind}: {detail}"[:300]

    def traffic_rows(self) -> list[tuple[str, str]]:
        """The table's rows of what the users saw: requests, rate, latency, errors, acks."""
        requests = len(self.latencies)
        rate = requests / self.seconds if self.seconds > 0 else 0.0
        errors = sum(self.errors.values())
        return [
            ("requests", str(requests)),
            ("seconds", f"{self.seconds:.2f}"),
            ("req/s", f"{rate:.0f}"),
            *Latency.of(self.latencies).rows(),
            ("errors", f"{errors} {self.errors or ''}".strip()),
            ("turns acknowledged (HTTP 200)", str(self.acknowledged)),
        ]


class RawClient:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer, and no more.

    httpx spends about 1 ms of CPU per request in this process; on a 2-core machine shared with
    the server that is what limits the figure. A load generator needs none of httpx's generality
    (``wrk`` does the same in C): this costs a few tens of microseconds, so the figure measures
    the server.
    """

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json;charset=UTF-8\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        try:
            self.writer.write(head + body)
            async with asyncio.timeout(self.timeout):
                header = await self.reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                for line in header.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                content = await self.reader.readexactly(length)
        except BaseException:
            self.close()  # the connection's state is unknown: the next request opens a new one
            raise
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpxClient:
    """The same interface over httpx (``--client httpx``), to compare."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        answer = await self.client.post(path, content=body)
        return answer.status_code, answer.content

    def close(self) -> None:
        pass


def skill_payload(user: str, utterance: str, client_extra: dict[str, Any] | None) -> bytes:
    """A SkillPayload as Kakao i Open Builder sends it (reference/kakao-skill.md §1)."""
    body = {
        "intent": {
            "id": "bench-fallback-block",
            "name": "폴백 블록",
            "extra": {"reason": {"code": 1, "message": "OK"}},
        },
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"surface": "Kakaotalk.plusfriend"},
            "block": {"id": "bench-fallback-block", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {
                "id": user,
                "type": "botUserKey",
                "properties": {"plusfriendUserKey": f"pf-{user}", "isFriend": True},
            },
        },
        "bot": BOT,
        "action": {
            "name": "botkit",
            "clientExtra": client_extra or {},
            "params": {},
            "id": "bench-skill",
            "detailParams": {},
        },
        "contexts": [],
    }
    return orjson.dumps(body)


def _pressed_extra(answer: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The ``extra`` of the quick reply called ``label``: what Kakao echoes as clientExtra."""
    template = answer.get("template")
    replies = template.get("quickReplies") if isinstance(template, dict) else None
    for reply in replies if isinstance(replies, list) else []:
        if isinstance(reply, dict) and reply.get("label") == label:
            extra = reply.get("extra")
            return extra if isinstance(extra, dict) else {}
    return None


async def turn(
    client: RawClient | HttpxClient, url: str, body: bytes, tally: Tally
) -> dict[str, Any] | None:
    """One skill call; the SkillResponse, or None (counted as an error)."""
    started = time.perf_counter()
    try:
        status, content = await client.post(url, body)
    except (httpx.TimeoutException, TimeoutError) as exc:
        tally.latencies.append(time.perf_counter() - started)
        tally.error("timeout", repr(exc))
        return None
    except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
        tally.latencies.append(time.perf_counter() - started)
        tally.error("connection", repr(exc))
        return None
    except Exception as exc:  # counted, never raised: one odd answer must not end the run
        tally.latencies.append(time.perf_counter() - started)
        tally.error("client", repr(exc))
        return None
    tally.latencies.append(time.perf_counter() - started)
    if status != 200:
        tally.error(f"http_{status}", content[:200].decode("utf-8", "replace"))
        return None
    tally.acknowledged += 1
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        tally.error("invalid_json", str(exc))
        return None
    if not isinstance(data, dict) or data.get("version") != "2.0":
        tally.error("not_a_skill_response", content[:200].decode("utf-8", "replace"))
        return None
    return data


async def conversation(
    client: RawClient | HttpxClient,
    url: str,
    user: str,
    tally: Tally,
    going: Callable[[], bool],
    greeted: Callable[[dict[str, Any]], None] = lambda answer: None,
) -> bool:
    """The reference conversation (SCRIPT) as the Kakao user ``user``, a turn at a time while
    ``going()``; ``greeted`` sees the answer to the first turn. True if every turn was answered
    as expected."""
    extra: dict[str, Any] | None = None
    for step, text in enumerate(SCRIPT):
        if not going():
            return False
        answer = await turn(client, url, skill_payload(user, text, extra), tally)
        if answer is None:
            return False  # the conversation cannot go on from an unknown state
        extra = None
        if step == 0:
            greeted(answer)
            extra = _pressed_extra(answer, PRESS)
            if extra is None:
                tally.error("unexpected_answer", f"no '{PRESS}' quick reply: {answer}")
                return False
    return True


async def user_loop(
    worker: int,
    client: RawClient | HttpxClient,
    url: str,
    tally: Tally,
    conversations: int,
    deadline: float,
) -> None:
    """One simulated user: conversation after conversation, each as a new Kakao user."""

    def going() -> bool:
        return time.perf_counter() < deadline

    n = 0
    while tally.started < conversations and going():
        tally.started += 1
        user = f"bench-{worker}-{n}"
        n += 1
        if await conversation(client, url, user, tally, going):
            tally.completed += 1


async def load(
    base: str,
    users: int,
    conversations: int,
    seconds: float,
    timeout: float,
    pool: str,
    server_pid: int,
) -> Tally:
    """Run the users. ``pool`` "raw" (the default): one :class:`RawClient` connection per user;
    "per-user": one httpx client with one keep-alive connection per user; "shared": one httpx
    client whose pool holds ``users``."""
    tally = Tally()
    headers = {"Content-Type": "application/json;charset=UTF-8", "Accept": "application/json"}

    def client(connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(
            base_url=base,
            limits=limits,
            timeout=httpx.Timeout(timeout),
            headers=headers,
            verify=tls,  # plain HTTP on loopback: one unused context, not one per client
        )

    tls = ssl.create_default_context()

    async with contextlib.AsyncExitStack() as stack:
        clients: list[RawClient | HttpxClient]
        if pool == "raw":
            url = httpx.URL(base)
            clients = [RawClient(url.host, url.port or 80, timeout) for _ in range(users)]
        elif pool == "shared":
            shared = HttpxClient(await stack.enter_async_context(client(users)))
            clients = [shared] * users
        else:
            clients = [
                HttpxClient(await stack.enter_async_context(client(1))) for _ in range(users)
            ]
        client_cpu, server_cpu = cpu_s(), process_cpu_s(server_pid)
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(
                user_loop(worker, clients[worker], SKILL_PATH, tally, conversations, deadline)
                for worker in range(users)
            )
        )
        tally.seconds = time.perf_counter() - started
        for each in clients:
            each.close()
        tally.client_cpu_s = cpu_s() - client_cpu
        server_after = process_cpu_s(server_pid)
        if server_cpu is not None and server_after is not None:
            tally.server_cpu_s = server_after - server_cpu
    return tally


def arguments(doc: str | None = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=64, help="concurrent simulated users")
    parser.add_argument("--conversations", type=int, default=2000, help="in total (5 turns each)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop starting turns after")
    parser.add_argument(
        "--store", choices=["sqlite", "postgresql"], default="sqlite", help="the server's store"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BOTKIT_BENCH_POSTGRES_URL", LOCAL_POSTGRES),
        help="with --store postgresql: the database (a schema of its own is made and dropped)",
    )
    parser.add_argument("--workers", type=int, default=1, help="botkit serve --workers")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument(
        "--pool",
        choices=["raw", "per-user", "shared"],
        default="raw",
        help="raw: a minimal HTTP/1.1 connection per user (default); per-user: an httpx client "
        "per user; shared: one httpx client whose pool holds them all",
    )
    parser.add_argument(
        "--upstream",
        choices=["fixtures", *UPSTREAM_MODES],
        default="fixtures",
        help="lookup_order answered by the demo fixtures (default), or over HTTP by a loopback "
        "upstream process: http (answers at once), 404 (answers 404), refused (a closed port); "
        "then the echo ceiling runs first in the same run and the ratio is printed",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="with --upstream: run the server under cProfile, its statistics into this file",
    )
    return parser


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    if args.users < 1 or args.conversations < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--users, --conversations, --seconds and --workers must be positive")
    if args.upstream != "fixtures" and (args.store != "sqlite" or args.workers != 1):
        parser.error("--upstream runs one worker on SQLite")
    if args.upstream == "fixtures":
        figures = run(args)
    else:
        figures = run_upstream(
            args,
            lambda base, pid: load_at(args, base, pid),
            lambda tally, served, calibration: outcome(args, tally, served, calibration),
        )
    print(json.dumps(figures))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Serve (the lookup answered by the fixtures), load, print the table; the final JSON."""
    speed_before = calibrate()
    tally, served = serve_and_load(
        "botkit-bench-http-",
        lambda port, pid: load_at(args, f"http://127.0.0.1:{port}", pid),
        postgres=args.postgres_url if args.store == "postgresql" else None,
        workers=args.workers,
    )
    calibration = (speed_before, calibrate())
    rows, notes, figures = outcome(args, tally, served, calibration)
    print_table(rows, calibration, notes, served)
    return figures


def load_at(args: argparse.Namespace, base: str, pid: int) -> Coroutine[Any, Any, Tally]:
    """The load of ``args`` on the server at ``base`` (its process: ``pid``)."""
    return load(base, args.users, args.conversations, args.seconds, args.timeout, args.pool, pid)


def outcome(
    args: argparse.Namespace, tally: Tally, served: Served, calibration: tuple[float, float]
) -> tuple[list[tuple[str, str]], list[str], dict[str, Any]]:
    """The table's rows, its notes, and the final JSON line's figures of a botkit run."""
    requests = len(tally.latencies)
    latency = Latency.of(tally.latencies)
    rate = requests / tally.seconds if tally.seconds > 0 else 0.0
    errors = sum(tally.errors.values())
    persisted = served.message_in
    rows: list[tuple[str, str]] = [
        ("store / workers", f"{args.store} / {args.workers}"),
        ("users (keep-alive connections)", f"{args.users} ({args.pool} pool)"),
        ("conversations started / completed", f"{tally.started} / {tally.completed}"),
        *tally.traffic_rows(),
        *server_rows(served, tally.client_cpu_s, tally.server_cpu_s, requests, "request"),
    ]
    notes = [f"last error: {tally.last_error}"] if tally.last_error else []
    if persisted != tally.acknowledged:
        notes.append(
            "persisted != acknowledged: a turn whose request timed out or lost its connection "
            "may still have been committed; a turn acknowledged but not persisted is data loss"
        )
    sound = latency.p99 <= TARGETS["p99_ms"] and errors == 0 and persisted == tally.acknowledged
    return (
        rows,
        notes,
        {
            "store": args.store,
            "workers": args.workers,
            "users": args.users,
            "pool": args.pool,
            "conversations": tally.started,
            "conversations_completed": tally.completed,
            "requests": requests,
            "seconds": round(tally.seconds, 3),
            "req_per_s": round(rate, 1),
            "errors": errors,
            "errors_by_kind": tally.errors,
            "turns_acknowledged": tally.acknowledged,
            "message_in_persisted": persisted,
            **server_json(served, calibration, latency, tally.client_cpu_s, tally.server_cpu_s),
            "targets": TARGETS,
            "met": rate >= TARGETS["req_per_s"] and sound,
            "met_p99_errors_persisted": sound,
        },
    )


if __name__ == "__main__":
    main()
