"""A crowd to send a campaign to: customers who talked to the bot on KakaoTalk (so the Event
API can reach them first) and agreed to advertising, and a bot folder whose only campaign is a
broadcast to all of them. Shared by the kill -9 test, the two-worker test and
``bench/campaigns.py``.

The crowd is planted through the store's own doors, the bulk ones where there are any:
``put_profiles`` (one transaction), then ``link``, ``change_consent`` and one ``commit`` per
user's session holding the ``conversation_start`` record that makes the user reachable, each a
few hundred at a time (the SQLite store groups those commits into one transaction; PostgreSQL
spreads them over its pool). About 30 s for 100,000 customers on SQLite with synchronous OFF.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from botkit.audience import ConsentChange
from botkit.engine.session import Session
from botkit.records import Record, RecordKind
from botkit.storage import Store

__all__ = [
    "BOT",
    "CAMPAIGN",
    "START",
    "bot_folder",
    "customer",
    "kakao_user",
    "plant",
    "shown",
]

REPO = Path(__file__).resolve().parents[2]
SEOUL = ZoneInfo("Asia/Seoul")
BOT = "shop_bot"  # the Kakao bot id in every user ("<botId>:<botUserKey>")
CAMPAIGN = "winter_notice"
DAY = 86400.0
# The broadcast's run: a Thursday at 10:00 in Seoul, far from the quiet window (20:50-08:00),
# so that every instant a test steps through in the next hours may send advertising.
START = datetime(2026, 12, 10, 10, 0, tzinfo=SEOUL).timestamp()
GROUP = 500  # writes awaited together

CAMPAIGNS = """\
timezone: Asia/Seoul
quiet_hours: "20:50-08:00"

campaigns:
  winter_notice:
    title: 겨울 정기 세일 안내
    kind: advertising
    trigger: at 2026-12-10 10:00
    channels: [kakao]
    expires: 1d
    cost: 15
    message:
      - text:
          ko: |-
            (광고) 겨울 정기 세일이 시작됐어요! 패딩 전 상품 20% 할인.
            수신거부: 채팅창에 '수신거부' 입력
          en: |-
            (Ad) Our winter sale has started: 20% off every padded jacket.
            To stop these messages, reply 'unsubscribe'.
"""


def customer(n: int) -> str:
    return f"C-{n:06d}"


def kakao_user(n: int) -> str:
    return f"{BOT}:ku{n:07d}"


def shown(at: float) -> str:
    """``at`` as ``--at`` takes it (an ISO instant with its offset)."""
    return datetime.fromtimestamp(at, SEOUL).isoformat()


def bot_folder(target: Path) -> Path:
    """The reference bot's flows with the broadcast as its only campaign, in ``target``."""
    shutil.copytree(REPO / "flows", target)
    (target / "campaigns.yaml").write_text(CAMPAIGNS, encoding="utf-8")
    return target


async def plant(store: Store, customers: int, *, at: float = START - 30 * DAY) -> None:
    """``customers`` customers (``C-000001`` …), each linked to one Kakao user who started a
    conversation with the bot at ``at`` and agreed to advertising then."""
    audience: Any = store  # every store implements botkit.audience.Audience beside Store
    numbers = range(1, customers + 1)
    await audience.put_profiles(
        [(customer(n), {"grade": "SILVER", "region": "서울"}) for n in numbers], at
    )
    consent = ConsentChange(at, "import", marketing=True)
    for start in range(1, customers + 1, GROUP):
        chunk = range(start, min(start + GROUP, customers + 1))
        await asyncio.gather(
            *(audience.link(kakao_user(n), customer(n), at, "api") for n in chunk)
        )
        await asyncio.gather(*(audience.change_consent(customer(n), consent) for n in chunk))
        await asyncio.gather(*(_started(store, kakao_user(n), at) for n in chunk))


async def _started(store: Store, user: str, at: float) -> None:
    key = f"kakao:{user}"
    records: Sequence[Record] = [
        Record(
            RecordKind.CONVERSATION_START, key, 1, 1, 1, at, BOT, "main", "v1", "", user,
            "kakao", {"flow": "main"},
        )
    ]  # fmt: skip
    session = Session(key, user, "kakao", conversation=1, turn=1, seq=1)
    await store.commit(session, records, expected_version=0)
