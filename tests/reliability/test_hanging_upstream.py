"""Upstreams that hang or drip, under Kakao's deadline: every answer leaves within 5 seconds.

Kakao drops a skill's answer after 5 seconds and shows the user an error. The reference bot's
courier lookup (``lookup_order``, an HTTP action) is pointed at a loopback server that accepts
the request and never answers, or answers a byte every half second (``bench/action_deadline``);
users then ask for their parcel on KakaoTalk through a real ``botkit serve``. The lookup's own
deadline (2 s) must end it; in the full run the deadline is also raised to 30 s, so that only
the Kakao endpoint's budget (4.5 s) stands between the user and Kakao's timeout.

The 5 seconds are Kakao's contract, not a speed target: an answer later than that is an answer
the user never sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import orjson

from botkit.server import KakaoSettings
from tests.reliability import figures
from tests.reliability.upstream import bot_copy, upstream
from tests.server.processes import Served, kakao, serve

SECTION = figures.Section("hanging and dripping upstreams")
KAKAO_TIMEOUT_S = 5.0
USERS = figures.scaled(1, 8)
ASK = "주문번호 1234-567-890 배송 확인해 주세요"  # straight to the lookup, in one turn
LOOKUP_FAILED = "택배사 조회가 지금 원활하지 않아요"
# (label, the lookup's deadline): the reference bot's own, and one only Kakao's budget can beat.
DEADLINES = [("lookup deadline 2 s", None)] + figures.FULL * [("lookup deadline 30 s", "30s")]
ACTION_SECRETS = {"COURIER_API_TOKEN": "courier-token-for-tests", "SHOP_API_TOKEN": "shop-token"}
JSON = {"Content-Type": "application/json"}


async def ask(client: httpx.AsyncClient, served: Served, user: str) -> tuple[int, float, str]:
    """(status, seconds, answer text) of one user asking for their parcel."""
    body = orjson.dumps(kakao(ASK, user))
    started = time.monotonic()
    answer = await client.post(f"{served.url}/kakao/skill", content=body, headers=JSON)
    return answer.status_code, time.monotonic() - started, answer.text


async def test_no_kakao_answer_waits_for_a_hanging_or_dripping_upstream(tmp_path: Path) -> None:
    with contextlib.ExitStack() as servers:
        targets: list[tuple[str, Served]] = []
        with contextlib.ExitStack() as upstreams:  # closed first: held connections end
            for kind in ("hang", "drip"):
                for label, deadline in DEADLINES:
                    place = tmp_path / f"{kind}-{len(targets)}"
                    place.mkdir()
                    found = upstreams.enter_context(upstream(kind))
                    flows = bot_copy(place, found.url, deadline=deadline)
                    fixtures = place / "no-stubs.fixtures.yaml"
                    served = servers.enter_context(
                        serve(place, flows=flows, fixtures=fixtures, env=ACTION_SECRETS)
                    )
                    targets.append((f"{kind}, {label}", served))
            # One client, made beforehand: making one costs tens of milliseconds of this
            # loop's time, which would be counted against the server.
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits()) as client:
                answers = await asyncio.gather(
                    *(
                        ask(client, served, f"고객{i}")
                        for _, served in targets
                        for i in range(USERS)
                    )
                )

    labels = [label for label, _ in targets for _ in range(USERS)]
    timed = zip(labels, answers, strict=True)
    late = [(label, round(s, 2)) for label, (_, s, _) in timed if s > KAKAO_TIMEOUT_S]
    SECTION.put("Kakao answers sent", len(answers))
    SECTION.put("answers over 5 s", len(late))
    SECTION.put("answers other than 200", sum(status != 200 for status, _, _ in answers))
    SECTION.put("slowest answer (s)", round(max(s for _, s, _ in answers), 2))
    for label, seconds in late:
        SECTION.note(f"{label}: {seconds} s")

    assert [status for status, _, _ in answers] == [200] * len(answers)
    assert late == []
    for label, (_, _, text) in zip(labels, answers, strict=True):
        said = orjson.loads(text)["template"]["outputs"]
        shown = " ".join(str(output) for output in said)
        # The lookup gave up (its deadline), or the answer left on Kakao's budget.
        assert LOOKUP_FAILED in shown or KakaoSettings().retry_text in shown, label
