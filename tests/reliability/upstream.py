"""The reference bot's HTTP actions pointed at a loopback upstream of the test's choosing.

``flows/bot.yaml`` calls the courier and the shop at ``http://127.0.0.1:8089``; :func:`bot_copy`
copies the bot with that address replaced, so each test has its own upstream on a free port:
one that hangs or drips bytes (``bench/action_deadline.py``'s servers), or a courier that
answers at once. The upstream runs on an event loop of its own thread, so a ``botkit serve``
process and the test's own requests can both reach it; when it stops, every connection still
held (a hanging one) is cancelled with the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.action_deadline import serve as serve_stalling

__all__ = ["Upstream", "bot_copy", "upstream"]

REPO = Path(__file__).resolve().parents[2]
REFERENCE_UPSTREAM = "http://127.0.0.1:8089"
# The courier's and the shop's answer: a parcel on its way, a refund filed.
ANSWER = (
    '{"status": "배송중", "delivery": {"eta": "11월 27일", "courier": "CJ대한통운"},'
    ' "refund_id": "R-0001"}'
).encode()
# Actions without fixtures: every action of the bot makes its real HTTP call.
NO_STUBS = "fixtures:\n  user: 업스트림\n"


@dataclass
class Upstream:
    url: str
    requests: list[str] = field(default_factory=list)  # request lines seen (courier only)


async def _courier(upstream: Upstream) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            upstream.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(ANSWER), ANSWER)
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@contextlib.contextmanager
def upstream(kind: str) -> Iterator[Upstream]:
    """An upstream on loopback: ``hang`` (accepts, never answers), ``drip`` (headers, then a
    byte every half second) or ``courier`` (answers at once, and notes each request)."""
    ready: list[Upstream] = []
    failure: list[BaseException] = []
    started = threading.Event()
    stop: list[asyncio.Event] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def run() -> None:
        stop.append(asyncio.Event())
        loops.append(asyncio.get_running_loop())
        found = Upstream("")
        if kind == "courier":
            server = await _courier(found)
        else:
            server, _ = await serve_stalling(kind)
        found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        ready.append(found)
        started.set()
        await stop[0].wait()
        server.close()  # the connections still open are cancelled as asyncio.run ends

    def thread_main() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=thread_main, name=f"upstream-{kind}", daemon=True)
    thread.start()
    started.wait(timeout=10)
    if failure or not ready:
        cause = failure[0] if failure else None
        raise RuntimeError(f"the {kind} upstream did not start") from cause
    try:
        yield ready[0]
    finally:
        loops[0].call_soon_threadsafe(stop[0].set)
        thread.join(timeout=10)


def bot_copy(tmp: Path, url: str, *, deadline: str | None = None) -> Path:
    """The reference bot copied into ``tmp`` with its actions calling ``url``; ``deadline``
    replaces the courier lookup's (2 s) to leave only Kakao's own budget to save the turn."""
    flows = tmp / "flows"
    shutil.copytree(REPO / "flows", flows, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    settings = flows / "bot.yaml"
    text = settings.read_text("utf-8").replace(REFERENCE_UPSTREAM, url)
    if deadline is not None:
        text = text.replace("    deadline: 2s\n", f"    deadline: {deadline}\n", 1)
    settings.write_text(text, "utf-8")
    (tmp / "no-stubs.fixtures.yaml").write_text(NO_STUBS, "utf-8")
    return flows
