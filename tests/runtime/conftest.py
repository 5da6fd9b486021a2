"""A real HTTP server on loopback for action tests: answers, hangs, or drips bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Courier:
    """A stand-in courier API. ``/orders/<no>`` answers JSON; ``/hang/...`` never answers;
    ``/drip/...`` sends headers, then one byte every half second, forever."""

    port: int = 0
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            length = int(headers.get("content-length", headers.get("Content-Length", "0")))
            if length:
                await reader.readexactly(length)
            self.requests.append(f"{method} {path}")
            self.headers.append(headers)
            if path.startswith("/hang/"):
                await asyncio.sleep(3600)
            if path.startswith("/drip/"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n"
                )
                while True:
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.5)
            number = path.split("/")[-1].split("?")[0]
            if number.startswith("0"):
                body, status = b'{"error": "not found"}', 404
            elif number.startswith("5"):
                body, status = b"not json", 200
            else:
                body = json.dumps(
                    {
                        "status": "배송중",
                        "delivery": {"eta": "11월 25일", "courier": "CJ대한통운"},
                    },
                    ensure_ascii=False,
                ).encode()
                status = 200
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def courier() -> AsyncIterator[Courier]:
    c = Courier()
    server = await asyncio.start_server(c.handle, "127.0.0.1", 0)
    c.port = server.sockets[0].getsockname()[1]
    async with server:
        yield c
        server.close()
        for task in c.tasks:
            task.cancel()
        await asyncio.gather(*c.tasks, return_exceptions=True)
