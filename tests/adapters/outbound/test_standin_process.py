"""The stand-ins as processes of their own: started on a free port, read and steered over HTTP,
alive after the sender that used them was killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from botkit.adapters.outbound import KakaoEventAPI, WebhookProvider
from botkit.adapters.outbound.standin import StandInUnavailable, spawn
from tests.adapters.outbound.conftest import BOT, REST_KEY, SECRET, kakao_messages

REPO = Path(__file__).resolve().parents[3]

# A sender in a process of its own: it hands 10 messages to the stand-in, says so, and waits
# to be killed.
SENDER = textwrap.dedent(
    """
    import asyncio, sys
    from botkit.adapters.outbound import KakaoEventAPI
    from tests.adapters.outbound.conftest import BOT, REST_KEY, kakao_messages

    async def main() -> None:
        async with KakaoEventAPI(sys.argv[1], BOT, REST_KEY) as api:
            outcomes = await api.send(kakao_messages(range(10)))
        print(",".join(o.status for o in outcomes), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


async def test_a_kakao_stand_in_process_is_read_and_steered_over_http() -> None:
    with spawn("kakao", rest_key=REST_KEY) as standin:
        assert standin.url.startswith("http://127.0.0.1:")
        async with KakaoEventAPI(standin.url, BOT, REST_KEY) as api:
            outcomes = await api.send(kakao_messages(range(120)))
            assert {o.status for o in outcomes} == {"sent"}
            standin.faults(fail_next=1, status=503, retry_after=4)
            busy = await api.send(kakao_messages(range(120, 130)))
            assert {(o.status, o.retry_after) for o in busy} == {("failed", 4.0)}
            fates = await api.results([o.provider_id or "" for o in outcomes])
            assert set(fates.values()) == {"delivered"}
            assert len(fates) == 120

        stats = standin.stats()
        assert (stats["requests"], stats["accepted"], stats["refused"]) == (3, 2, 1)
        assert (stats["messages"], stats["duplicates"], stats["tasks"]) == (120, 0, 2)
        assert stats["received"] == {m.key: 1 for m in kakao_messages(range(120))}
        assert "received" not in standin.stats(keys=False)

        with pytest.raises(httpx.HTTPStatusError):
            standin.faults(fail_next="many")
        standin.reset()
        assert standin.stats()["requests"] == 0
    assert standin.process.poll() is not None  # stopped with the block


async def test_the_stand_in_outlives_a_sender_killed_with_sigkill() -> None:
    with spawn("kakao", rest_key=REST_KEY) as standin:
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, standin.url],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert sender.stdout is not None
        try:
            assert sender.stdout.readline().strip() == ",".join(["sent"] * 10)
        finally:
            sender.send_signal(signal.SIGKILL)
            sender.wait()
            sender.stdout.close()
        assert sender.returncode == -signal.SIGKILL

        assert standin.stats(keys=False)["messages"] == 10
        # the sender's successor resends what it cannot know was sent: counted once
        async with KakaoEventAPI(standin.url, BOT, REST_KEY) as api:
            await api.send(kakao_messages(range(10)))
        stats = standin.stats()
        assert (stats["messages"], stats["duplicates"]) == (10, 10)
        assert set(stats["received"].values()) == {2}


async def test_a_webhook_stand_in_process_checks_signatures() -> None:
    with spawn("webhook", secret=SECRET) as standin:
        async with (
            WebhookProvider(standin.url + "/", SECRET, max_batch=5) as good,
            WebhookProvider(standin.url + "/", "not-the-secret") as forged,
        ):
            messages = kakao_messages(range(5))
            assert {o.status for o in await good.send(messages)} == {"sent"}
            assert {o.status for o in await good.send(messages[:2])} == {"sent"}
            assert [o.status for o in await forged.send(messages[:1])] == ["parked"]
        stats = standin.stats()
        assert (stats["requests"], stats["messages"], stats["duplicates"]) == (8, 5, 2)
        assert stats["bad_signatures"] == 1


def test_a_stand_in_that_cannot_start_says_so() -> None:
    with pytest.raises(StandInUnavailable, match="did not start"):
        spawn("webhook", secret="")
