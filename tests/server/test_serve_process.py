"""`botkit serve` as a user runs it: a process that answers, and that stops without losing a turn.

SIGTERM arrives while a turn waits for a slow courier lookup: the turn still finishes, the
answer is sent, and the turn is in the store when the process has exited.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx

from botkit.storage import SQLiteStore
from tests.server.processes import free_port, kakao

REPO = Path(__file__).resolve().parents[2]

SLOW_COURIER = """
fixtures:
  actions:
    lookup_order:
      delay: 1500ms
      data: {status: 배송중, delivery: {eta: 11월 27일, courier: CJ대한통운}}
"""


def skill(text: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return kakao(text, "하은", extra)


async def test_sigterm_lets_the_turn_in_flight_finish_and_commit(tmp_path: Path) -> None:
    fixtures = tmp_path / "slow.fixtures.yaml"
    fixtures.write_text(SLOW_COURIER, encoding="utf-8")
    db = tmp_path / "bot.db"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botkit.cli.main", "serve", "flows/", "--port", str(port),
        "--store", f"sqlite:///{db}", "--fixtures", str(fixtures),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BOTKIT_LOG_LEVEL": "info"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(100):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            await client.post("/kakao/skill", json=skill("안녕하세요"))
            await client.post("/kakao/skill", json=skill("배송 조회", {"botkit": "order_status"}))
            slow = asyncio.create_task(client.post("/kakao/skill", json=skill("1234-567-890")))
            await asyncio.sleep(0.5)  # the lookup is under way
            process.send_signal(signal.SIGTERM)
            answer = await slow
        assert answer.status_code == 200
        outputs = answer.json()["template"]["outputs"]
        assert outputs[1] == {
            "simpleText": {"text": "주문 1234567890은(는) 지금 '배송중' 상태예요."}
        }
        # uvicorn re-raises the signal once it has shut down, as a service manager expects.
        assert await asyncio.wait_for(process.wait(), timeout=15) in (0, -signal.SIGTERM)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    _, stderr = await process.communicate()
    log = stderr.decode()
    assert "Traceback" not in log
    assert "1234567890" not in log  # masked in every log line
    assert "1234-567-890" not in log

    store = SQLiteStore(str(db))
    await store.open()
    try:
        session = await store.load("kakao:shop:하은")
        assert session is not None
        assert session.state == "order_status.in_transit"
        kinds = [r.kind for r in await store.records(session="kakao:shop:하은")]
        assert kinds.count("message_in") == 3
        assert "action" in kinds
    finally:
        await store.close()
