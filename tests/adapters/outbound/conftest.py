"""Providers against their stand-ins over real HTTP on 127.0.0.1 (uvicorn in the test's loop)."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import pytest

from botkit.adapters.outbound import Outgoing
from botkit.adapters.outbound.standin import KakaoStandIn, WebhookStandIn, serving

BOT = "5f0c1a2b3c4d5e6f7a8b9c0d"
REST_KEY = "kakao-rest-key-0001"
SECRET = "dealer-webhook-secret-0002"
AT = 1_772_409_600.0  # 2026-03-02 00:00 UTC: every clock of these tests stands here


def bot_user_key(n: int) -> str:
    """A botUserKey as Kakao mints them: 64 hex characters (and a prefix that finds it in logs)."""
    return "bk" + hashlib.sha256(f"user-{n}".encode()).hexdigest()[:62]


def send_key(campaign: str, n: int, run: str = "") -> str:
    return hashlib.sha256(f"{campaign}|{run}|member-{n}".encode()).hexdigest()[:32]


def kakao_messages(
    users: Iterable[int], campaign: str = "welcome", variant: str = "A"
) -> list[Outgoing]:
    return [
        Outgoing(
            key=send_key(campaign, n),
            campaign=campaign,
            variant=variant,
            user=f"{BOT}:{bot_user_key(n)}",
            says=({"text": "(광고) 가입 3일째, 웰컴 쿠폰이 도착했어요"},),
            advertising=True,
        )
        for n in users
    ]


def closed_port() -> int:
    """A loopback port nothing listens on: a connection to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@dataclass
class Running:
    standin: KakaoStandIn
    url: str


@dataclass
class RunningHook:
    standin: WebhookStandIn
    url: str


@pytest.fixture
async def kakao() -> AsyncIterator[Running]:
    standin = KakaoStandIn(REST_KEY, bot_ids={BOT, BOT + "!"}, clock=lambda: AT)
    async with serving(standin.app) as url:
        yield Running(standin, url)


@pytest.fixture
async def hook() -> AsyncIterator[RunningHook]:
    standin = WebhookStandIn(SECRET, clock=lambda: AT)
    async with serving(standin.app) as url:
        yield RunningHook(standin, url + "/")


def logged(records: Iterable[logging.LogRecord]) -> str:
    """Every log record as text, its extra fields included."""
    return "\n".join(
        record.getMessage() + json.dumps(record.__dict__, default=str, ensure_ascii=False)
        for record in records
    )
