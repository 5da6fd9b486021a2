"""Storage tests: one contract suite run against every backend, plus backend specifics.

Builders for the sessions and records the tests commit live here so both suites share them.
"""

from __future__ import annotations

from typing import Any

from botkit.engine.session import Session, Status
from botkit.records import Record

BOT = "카페봇"
FLOW = "주문"


def make_session(key: str = "kakao:사용자1", **changes: Any) -> Session:
    """A session with Korean values and nested containers in every free-form field."""
    channel, _, user = key.partition(":")
    fields: dict[str, Any] = {
        "key": key,
        "user": user,
        "channel": channel,
        "bot_version": "2024.06.01-한글",
        "state": "주문.메뉴_확인",
        "status": Status.BOT,
        "conversation": 1,
        "turn": 3,
        "seq": 7,
        "started_at": 1_700_000_000.25,
        "last_at": 1_700_000_042.5,
        "locale": "ko",
        "slots": {
            "메뉴": "아이스 아메리카노",
            "수량": 2,
            "옵션": {"샷": 2, "시럽": ["바닐라", "헤이즐넛"], "얼음": None},
            "가격": 4500.5,
            "포장": True,
        },
        "profile": {"이름": "김민지", "등급": "골드"},
        "variants": {"인사말": "B"},
        "awaiting": "slot:수량",
        "attempts": 1,
        "misses": 0,
        "pending": {"값": "두 잔"},
        "held": ["상담원 연결해 주세요", "빨리요 🙏"],
        "since": 0.0,
    }
    fields.update(changes)
    return Session(**fields)


def make_records(
    session: str,
    seqs: range | list[int],
    *,
    at: float = 1_700_000_000.0,
    kind: str = "message_in",
    turn: int = 1,
    data: dict[str, Any] | None = None,
) -> list[Record]:
    """Records ``seqs`` of ``session``, one per 0.5 s from ``at``."""
    channel, _, user = session.partition(":")
    return [
        Record(
            kind=kind,
            session=session,
            conversation=1,
            seq=seq,
            turn=turn,
            at=at + 0.5 * i,
            bot=BOT,
            flow=FLOW,
            flow_version="v3",
            variant="인사말:B",
            user=user,
            channel=channel,
            data={"text": f"{seq}번째 메시지: 아메리카노 두 잔이요"} if data is None else data,
        )
        for i, seq in enumerate(seqs)
    ]
