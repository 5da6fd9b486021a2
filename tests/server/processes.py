"""``botkit serve`` processes on loopback, as an operator starts them, for tests that need
real workers: started, waited for until ready, stopped with SIGTERM, their logs kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "flows" / "tests" / "demo.fixtures.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kakao(text: str, user: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A minimal SkillPayload of the shop bot's user ``user``."""
    return {
        "userRequest": {"utterance": text, "user": {"id": user, "properties": {}}},
        "bot": {"id": "shop"},
        "action": {"clientExtra": extra or {}},
    }


@dataclass
class Serve:
    """One ``botkit serve`` process: its base URL and, once stopped, its log."""

    process: asyncio.subprocess.Process
    base: str
    log: str = field(default="")


@contextlib.asynccontextmanager
async def serving(
    *args: str,
    flows: Path = REPO / "flows",
    fixtures: Path = FIXTURES,
    env: dict[str, str] | None = None,
    ready_s: float = 30.0,
) -> AsyncIterator[Serve]:
    """``botkit serve <flows> --port <free> <args>`` with the demo's courier fixtures (or
    ``fixtures``) and ``env`` added to the environment, once it is ready."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botkit.cli.main", "serve", str(flows), "--port", str(port),
        "--fixtures", str(fixtures), *args,
        cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BOTKIT_LOG_LEVEL": "info", **(env or {})},
    )  # fmt: skip
    served = Serve(process, f"http://127.0.0.1:{port}")
    log = asyncio.create_task(process.stderr.read())  # type: ignore[union-attr]
    try:
        async with httpx.AsyncClient(base_url=served.base, timeout=5) as client:
            for _ in range(int(ready_s * 10)):
                if process.returncode is not None:
                    break
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError("botkit serve did not get ready")
        if process.returncode is not None:
            raise RuntimeError(f"botkit serve exited: {(await log).decode()[-2000:]}")
        yield served
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()
        served.log = (await log).decode()
