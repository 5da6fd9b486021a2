"""How far past its deadline an action that never finishes holds a turn.

    python -m bench.action_deadline [--deadline 0.5] [--repeat 5]

Two loopback servers: one accepts the request and never answers; one sends headers and then
one byte every 0.5 s (httpx's per-read timeouts never fire on it). For each, the turn's time
beyond the deadline is printed; the target is at most 50 ms. Final line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from botkit.flow.model import Action, HttpCall
from botkit.flow.templates import parse_template
from botkit.runtime.actions import ActionContext, run_action


async def serve(kind: str) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if kind == "hang":
                await asyncio.sleep(3600)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.5)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def measure(kind: str, deadline: float, repeat: int) -> list[float]:
    server, port = await serve(kind)
    url, _ = parse_template(f"http://127.0.0.1:{port}/orders/1")
    action = Action(
        "lookup",
        "lookup",
        None,
        HttpCall("GET", url, {}, {}, None),
        deadline,
        {},
        frozenset({"ok", "error", "timeout"}),
        {},
    )
    ctx = ActionContext("lookup", {}, {}, "u", "bench")
    overshoots = []
    async with httpx.AsyncClient(timeout=None) as client:
        for _ in range(repeat):
            started = time.perf_counter()
            result = await run_action(
                action, ctx, functions={}, client=lambda: client, env={}, at=time.time
            )
            elapsed = time.perf_counter() - started
            assert result.result == "timeout", result
            overshoots.append((elapsed - deadline) * 1000)
    server.close()
    return overshoots


async def main_async(deadline: float, repeat: int) -> dict[str, float]:
    out = {}
    for kind in ("hang", "drip"):
        overshoots = await measure(kind, deadline, repeat)
        out[f"{kind}_overshoot_ms_max"] = round(max(overshoots), 2)
        out[f"{kind}_overshoot_ms_median"] = round(statistics.median(overshoots), 2)
        print(
            f"{kind:5} deadline {deadline:.2f}s: overshoot median "
            f"{statistics.median(overshoots):.1f} ms, max {max(overshoots):.1f} ms"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deadline", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    figures = asyncio.run(main_async(args.deadline, args.repeat))
    figures["target_ms"] = 50
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
