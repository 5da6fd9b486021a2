"""`botkit serve` as a user runs it: a process that answers, and that stops without losing a turn.

SIGTERM arrives while a turn waits for a slow courier lookup: the turn still finishes, the
answer is sent, and the turn is in the store when the process has exited.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx

from botkit.storage import SQLiteStore
from tests.server.processes import SLOW_COURIER, kakao, serve


def skill(text: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return kakao(text, "하은", extra)


async def test_sigterm_lets_the_turn_in_flight_finish_and_commit(tmp_path: Path) -> None:
    fixtures = tmp_path / "slow.fixtures.yaml"
    fixtures.write_text(SLOW_COURIER, encoding="utf-8")
    with serve(tmp_path, fixtures=fixtures) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            await client.post("/kakao/skill", json=skill("안녕하세요"))
            await client.post("/kakao/skill", json=skill("배송 조회", {"botkit": "order_status"}))
            slow = asyncio.create_task(client.post("/kakao/skill", json=skill("1234-567-890")))
            await asyncio.sleep(0.5)  # the lookup is under way
            served.process.send_signal(signal.SIGTERM)
            answer = await slow
        assert answer.status_code == 200
        outputs = answer.json()["template"]["outputs"]
        assert outputs[1] == {
            "simpleText": {"text": "주문 1234567890은(는) 지금 '배송중' 상태예요."}
        }
        # uvicorn re-raises the signal once it has shut down, as a service manager expects.
        exit_code = await asyncio.to_thread(served.process.wait, 15)
        assert exit_code in (0, -signal.SIGTERM)
    log = served.log
    assert "Traceback" not in log
    assert "1234567890" not in log  # masked in every log line
    assert "1234-567-890" not in log

    db = served.db
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
