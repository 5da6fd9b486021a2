"""Web widget messages per second through ``botkit serve``, over WebSockets, durable on SQLite.

    python -m bench.ws_widget [--clients 200] [--conversations 1000] [--seconds 60]
                              [--timeout 10]

``botkit serve flows/`` runs as a separate process on loopback, on a fresh SQLite file, with
``flows/tests/demo.fixtures.yaml`` answering the courier lookup (as ``bench.http_kakao`` does;
its helpers are reused). This process waits for ``GET /readyz``, then N clients (on uvloop,
the ``websockets`` library) each run conversation after conversation of the widget protocol
(``adapters/web/PROTOCOL.md``), each on a new connection with a fresh random ``sid`` (a
``hello`` is the first frame of a connection):

  "안녕하세요" → press "배송 조회" (``payload`` = that choice's payload) → "12-34" (invalid)
  → "1234-567-890" (+ lookup) → "처음으로"

every ``message`` with its own id, waiting for the ``reply`` whose ``reply_to`` is that id
(``typing`` frames are ignored), until ``--conversations`` are done or ``--seconds`` have
passed. Before closing, each connection sends a protocol ``ping`` and waits for its ``pong``:
the server answers a connection's frames in order, so any second reply to an id it sent has
been seen by then.

Counted, never raised: messages sent, replies received, lost (no reply within ``--timeout``),
duplicated (a second reply to one id), errors (``error`` frames, and connections that failed or
closed under a conversation), unexpected answers (a reply that is not the reference
conversation's next step, or a frame for an id never sent).

Then the server gets SIGTERM (turns in flight finish and commit) and the store is read back:
every acknowledged message (a reply received) must have written exactly one ``message_in``
record. Measures messages per second (replies received over the run) and reply latency
(``message`` sent → its ``reply``; p50/p95/p99), with the CPU time of this process and of the
server over the run (they share a 2-core VM).

Prints a table, the server's command, and a final JSON line with the figures.
Acceptance (issue #6): no message lost, duplicated or refused, persisted == acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench.calibrate import calibrate
from bench.served import (
    Latency,
    cpu_s,
    print_table,
    process_cpu_s,
    serve_and_load,
    server_json,
    server_rows,
)

WS_PATH = "/web/ws"
PRESS = "배송 조회"  # the choice pressed on the second message
SCRIPT = ["안녕하세요", PRESS, "12-34", "1234-567-890", "처음으로"]
# What each reply of the reference conversation says (with fixtures): a piece of its text, or
# None for the main menu (its greeting is an A/B/C experiment; it always offers PRESS).
EXPECT: list[str | None] = [None, "주문번호 10자리", "다시 입력", "'배송중'", None]
MAX_FRAME = 64 * 1024  # what this client accepts; the server sends at most a few KiB


@dataclass
class Tally:
    """What the clients saw; shared by all of them (one event loop, no locks)."""

    started: int = 0  # conversations begun
    completed: int = 0  # conversations whose five messages were all answered as expected
    sent: int = 0  # message frames sent
    replies: int = 0  # first replies received: messages acknowledged
    lost: int = 0  # messages with no reply within the timeout
    duplicated: int = 0  # a further reply to an id already answered
    unexpected: int = 0  # a reply that is not the conversation's next step, or for no sent id
    latencies: list[float] = field(default_factory=list)  # seconds, send → reply
    errors: dict[str, int] = field(default_factory=dict)  # error frames by code; connections
    last_problem: str = ""
    seconds: float = 0.0  # from the first connection to the last close
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.last_problem = f"{kind}: {detail}"[:300]

    def odd(self, detail: str) -> None:
        self.unexpected += 1
        self.last_problem = f"unexpected: {detail}"[:300]


class Conversation:
    """One connection: reads every frame the server sends, matching replies to sent ids."""

    def __init__(self, socket: ClientConnection, tally: Tally) -> None:
        self.socket = socket
        self.tally = tally
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}  # id → its reply
        self.answered: set[str] = set()
        self.sent_ids: set[str] = set()
        self.welcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pong: asyncio.Future[None] | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                self._frame(raw)
        except (WebSocketException, OSError):
            pass  # closed under us; whoever waits for a frame times out or sees it closed

    def _frame(self, raw: str | bytes) -> None:
        tally = self.tally
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            tally.odd(f"not JSON: {raw[:100]!r}")
            return
        if not isinstance(frame, dict):
            tally.odd(f"not an object: {frame!r}")
            return
        kind = frame.get("type")
        reply_to = frame.get("reply_to")
        if kind == "typing":
            return
        if kind == "reply" and isinstance(reply_to, str):
            if reply_to in self.answered:
                tally.duplicated += 1
                tally.last_problem = f"duplicated reply to {reply_to}"
            elif reply_to in self.waiting:
                self.answered.add(reply_to)
                future = self.waiting.pop(reply_to)
                if not future.done():
                    future.set_result(frame)
            elif reply_to in self.sent_ids:  # answered after its timeout: already counted lost
                self.answered.add(reply_to)
            else:
                tally.odd(f"a reply to an id never sent: {reply_to!r}")
        elif kind == "welcome":
            if not self.welcome.done():
                self.welcome.set_result(None)
        elif kind == "pong":
            if self.pong is not None and not self.pong.done():
                self.pong.set_result(None)
        elif kind == "error":
            code = frame.get("code")
            self.tally.error(f"error_frame:{code}", str(frame.get("message")))
            refused = self.waiting.pop(reply_to, None) if isinstance(reply_to, str) else None
            if refused is not None and not refused.done():
                refused.set_result(frame)  # the message was refused: no reply will come
        else:
            tally.odd(f"frame {str(frame)[:200]}")

    async def hello(self, sid: str, timeout: float) -> bool:
        await self.socket.send(orjson.dumps({"type": "hello", "sid": sid}).decode())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self.welcome)
        except TimeoutError:
            self.tally.error("no_welcome", f"no welcome for {sid} within {timeout} s")
            return False
        return True

    async def message(
        self, message_id: str, text: str, payload: str | None, timeout: float
    ) -> dict[str, Any] | None:
        """Send one message; its reply, or None (lost, refused, or the connection failed)."""
        tally = self.tally
        frame: dict[str, Any] = {"type": "message", "id": message_id, "text": text}
        if payload is not None:
            frame["payload"] = payload
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = future
        self.sent_ids.add(message_id)
        started = time.perf_counter()
        try:
            await self.socket.send(orjson.dumps(frame).decode())
            tally.sent += 1
            async with asyncio.timeout(timeout):
                answer = await asyncio.shield(future)
        except TimeoutError:
            self.waiting.pop(message_id, None)
            tally.lost += 1
            tally.last_problem = f"lost: no reply to {message_id} within {timeout} s"
            return None
        except (WebSocketException, OSError) as exc:
            self.waiting.pop(message_id, None)
            tally.error("connection", repr(exc))
            return None
        if answer.get("type") != "reply":
            return None  # an error frame, counted when read
        tally.latencies.append(time.perf_counter() - started)
        tally.replies += 1
        return answer

    async def drain(self, timeout: float) -> None:
        """Ping and wait for the pong: every frame the server sent before it has been read."""
        self.pong = asyncio.get_running_loop().create_future()
        try:
            await self.socket.send('{"type":"ping"}')
            async with asyncio.timeout(timeout):
                await asyncio.shield(self.pong)
        except TimeoutError:
            self.tally.error("no_pong", f"no pong within {timeout} s")
        except (WebSocketException, OSError) as exc:
            self.tally.error("connection", repr(exc))

    async def close(self) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            await self.socket.close()
        await self.reader


def _texts(reply: dict[str, Any]) -> str:
    messages = reply.get("messages")
    return (
        " ".join(str(m.get("text", "")) for m in messages if isinstance(m, dict))
        if isinstance(messages, list)
        else ""
    )


def _choice_payload(reply: dict[str, Any], label: str) -> str | None:
    """The payload of the choice called ``label`` in a reply, as the widget sends it."""
    messages = reply.get("messages")
    for message in messages if isinstance(messages, list) else []:
        choices = message.get("choices") if isinstance(message, dict) else None
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and choice.get("label") == label:
                payload = choice.get("payload")
                return payload if isinstance(payload, str) else None
    return None


async def conversation(url: str, worker: int, n: int, tally: Tally, timeout: float) -> None:
    """One reference conversation on a new connection, as a new widget session."""
    sid = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]
    try:
        async with asyncio.timeout(timeout):
            socket = await connect(url, max_size=MAX_FRAME, compression=None, open_timeout=None)
    except (WebSocketException, OSError, TimeoutError) as exc:
        tally.error("connect", repr(exc))
        return
    talk = Conversation(socket, tally)
    try:
        if not await talk.hello(sid, timeout):
            return
        payload: str | None = None
        for step, text in enumerate(SCRIPT):
            reply = await talk.message(f"c{worker}-{n}-m{step}", text, payload, timeout)
            if reply is None:
                return  # the conversation cannot go on from an unknown state
            payload = None
            expected = EXPECT[step]
            if expected is None:
                payload = _choice_payload(reply, PRESS)
                if payload is None:
                    tally.odd(f"step {step} ({text!r}): no '{PRESS}' choice: {str(reply)[:200]}")
                    return
            elif expected not in _texts(reply):
                tally.odd(f"step {step} ({text!r}) answered {str(reply)[:200]}")
                return
            if step != 0:
                payload = None  # only the second message presses a choice
        await talk.drain(timeout)
        tally.completed += 1
    except (WebSocketException, OSError) as exc:
        tally.error("connection", repr(exc))
    finally:
        await talk.close()


async def client_loop(
    worker: int, url: str, tally: Tally, conversations: int, deadline: float, timeout: float
) -> None:
    n = 0
    while tally.started < conversations and time.perf_counter() < deadline:
        tally.started += 1
        await conversation(url, worker, n, tally, timeout)
        n += 1


async def load(
    url: str, clients: int, conversations: int, seconds: float, timeout: float, server_pid: int
) -> Tally:
    tally = Tally()
    client_cpu, server_cpu = cpu_s(), process_cpu_s(server_pid)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            client_loop(worker, url, tally, conversations, deadline, timeout)
            for worker in range(clients)
        )
    )
    tally.seconds = time.perf_counter() - started
    tally.client_cpu_s = cpu_s() - client_cpu
    server_after = process_cpu_s(server_pid)
    if server_cpu is not None and server_after is not None:
        tally.server_cpu_s = server_after - server_cpu
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200, help="concurrent WebSocket clients")
    parser.add_argument(
        "--conversations", type=int, default=1000, help="in total (5 messages each)"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="stop starting them after")
    parser.add_argument("--timeout", type=float, default=10.0, help="per reply, seconds")
    args = parser.parse_args()
    if args.clients < 1 or args.conversations < 1 or args.seconds <= 0 or args.timeout <= 0:
        parser.error("--clients, --conversations, --seconds and --timeout must be positive")

    speed_before = calibrate()

    def load_server(port: int, pid: int) -> Coroutine[Any, Any, Tally]:
        url = f"ws://127.0.0.1:{port}{WS_PATH}"
        return load(url, args.clients, args.conversations, args.seconds, args.timeout, pid)

    tally, served = serve_and_load("botkit-bench-ws-", load_server)
    calibration = (speed_before, calibrate())

    latency = Latency.of(tally.latencies)
    rate = tally.replies / tally.seconds if tally.seconds > 0 else 0.0
    errors = sum(tally.errors.values())
    persisted = served.message_in
    met = (
        tally.lost == 0
        and tally.duplicated == 0
        and errors == 0
        and tally.unexpected == 0
        and persisted == tally.replies
    )
    rows: list[tuple[str, str]] = [
        ("clients (WebSocket connections)", str(args.clients)),
        ("conversations started / completed", f"{tally.started} / {tally.completed}"),
        ("messages sent / replies received", f"{tally.sent} / {tally.replies}"),
        (
            "lost / duplicated / unexpected",
            f"{tally.lost} / {tally.duplicated} / {tally.unexpected}",
        ),
        ("errors", f"{errors} {tally.errors or ''}".strip()),
        ("seconds", f"{tally.seconds:.2f}"),
        ("messages/s (replies received)", f"{rate:.0f}"),
        *latency.rows(),
        ("messages acknowledged (replies)", str(tally.replies)),
        *server_rows(served, tally.client_cpu_s, tally.server_cpu_s, tally.sent, "message"),
    ]
    notes = [f"last problem: {tally.last_problem}"] if tally.last_problem else []
    if persisted != tally.replies:
        notes.append(
            "persisted != acknowledged: a message lost (no reply in time) may still have been "
            "committed; a message answered but not persisted is data loss"
        )
    print_table(rows, calibration, notes, served)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "conversations": tally.started,
                "conversations_completed": tally.completed,
                "messages_sent": tally.sent,
                "replies": tally.replies,
                "lost": tally.lost,
                "duplicated": tally.duplicated,
                "errors": errors,
                "errors_by_kind": tally.errors,
                "unexpected": tally.unexpected,
                "seconds": round(tally.seconds, 3),
                "messages_per_s": round(rate, 1),
                "acknowledged": tally.replies,
                "persisted": persisted,
                **server_json(
                    served, calibration, latency, tally.client_cpu_s, tally.server_cpu_s
                ),
                "met": met,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
