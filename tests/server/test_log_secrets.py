"""No secret reaches a log line, at any level, for refused and accepted requests alike.

The server is configured with every secret it knows (the Kakao skill secret, two agents' tokens,
the shop's events, customers and channel tokens, the identity secret, the helpdesk's token and
webhook secret) and logs at debug level, as
an operator chasing a problem would run it. Requests that carry those secrets in every place
they travel (the skill URL, the X-Botkit-Secret header, bearer headers, the dashboard's
``?token=``) are refused and accepted; then the log is searched for each secret. It is searched
for what customers wrote too: at debug level libraries write SQL parameters and websocket
frames, where their messages are.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

import botkit
from botkit.server import (
    AgentSettings,
    HelpdeskSettings,
    KakaoSettings,
    Server,
    ServerSettings,
    create_app,
)
from botkit.server.helpdesk import sign
from botkit.server.logs import setup_logging
from tests.server.conftest import WEDNESDAY_MORNING, lookup_order, skill_payload
from tests.server.processes import free_port, kakao, serve

KAKAO_SECRET = "kk-skill-secret-7f3a9c2e51"
NEAR_MISS = "kk-skill-secret-7f3a9c2e50"  # a wrong secret, one character off the right one
HANEUL = "agent-haneul-token-0001"
BADA = "agent-bada-token-0002"
EVENTS_TOKEN = "shop-events-token-0003"
HELPDESK_TOKEN = "helpdesk-api-token-0004"
WEBHOOK_SECRET = "helpdesk-webhook-secret-0005"
CUSTOMERS_TOKEN = "shop-customers-token-0007"
IDENTITY_SECRET = "shop-identity-secret-0008"
CHANNEL_TOKEN = "kakao-app-admin-key-0009"
SECRETS = (
    *(KAKAO_SECRET, NEAR_MISS, HANEUL, BADA, EVENTS_TOKEN, HELPDESK_TOKEN, WEBHOOK_SECRET),
    *(CUSTOMERS_TOKEN, IDENTITY_SECRET, CHANNEL_TOKEN),
)
LOGIN = "https://shop.example.com/login/kakao"  # the account-link page: no secret, only set
CHANNEL_ADDED = {
    "event": "added",
    "id": "4012345678",
    "id_type": "app_user_id",
    "updated_at": "2026-11-25T01:00:00Z",
}
# What customers tell the bot that is theirs alone: no masking would catch an address.
ADDRESS = "서울시 마포구 독막로 15길"
SKILL = "/kakao/skill"
PURCHASE = {"id": "order-77", "kind": "purchase", "user": "shop:하은", "amount": 39_000}


def leaks(log: str) -> list[str]:
    """The secrets (or percent-encoded secrets) and customer text found in ``log``."""
    found = [s for s in SECRETS if s.lower() in log.lower() or quote(s, safe="") in log]
    return found + [ADDRESS] * (ADDRESS in log or "마포구" in log)


def server_settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(
        store=f"sqlite:///{tmp_path / 'bot.db'}",  # aiosqlite: it logs SQL at debug level
        log_level="debug",
        kakao=KakaoSettings(secret=KAKAO_SECRET),
        agent=AgentSettings(tokens=(f"하늘:{HANEUL}", f"바다:{BADA}")),
        # Nothing listens there: the handoff's call fails and is logged, with its bearer token
        # in the request it tried.
        helpdesk=HelpdeskSettings(
            url=f"http://127.0.0.1:{free_port()}/botkit",
            api_token=HELPDESK_TOKEN,
            webhook_secret=WEBHOOK_SECRET,
            retries=0,
        ),
        events_token=EVENTS_TOKEN,
        customers_token=CUSTOMERS_TOKEN,
        identity_secret=IDENTITY_SECRET,
        account_link_url=LOGIN,
        channel_token=CHANNEL_TOKEN,
    )


@contextlib.contextmanager
def captured_logs(settings: ServerSettings) -> Iterator[io.StringIO]:
    """Every logger's lines, as ``botkit serve`` writes them with ``settings``; the logging
    set-up as it was afterwards."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    loggers.append(logging.getLogger())
    was = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    lines = io.StringIO()
    setup_logging(settings.log_level, settings, stream=lines)
    try:
        yield lines
    finally:
        for logger, handlers, level, propagate in was:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


@contextlib.asynccontextmanager
async def serving(app: Server) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` under uvicorn on loopback with uvicorn's access log on (``botkit serve`` keeps
    it off): a line per request with its path and query string, the worst case."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http="httptools", lifespan="on", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await task


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_secret_and_no_customer_text_reaches_the_log_at_debug_level(
    tmp_path: Path,
) -> None:
    settings = server_settings(tmp_path)
    app = create_app(
        botkit.load("flows"),
        settings,
        stubs={"lookup_order": lookup_order},
        clock=lambda: WEDNESDAY_MORNING,  # the CS team is in: handoffs happen
    )
    hello, person = skill_payload("안녕하세요", user="하은"), skill_payload("상담원", user="하은")
    with captured_logs(settings) as logs:
        async with serving(app) as client:
            host = client.base_url.netloc.decode()
            stamp = str(int(WEDNESDAY_MORNING))
            body = b'{"event": "message_created"}'
            answers = {
                "wrong secret in the path": await client.post(f"{SKILL}/{NEAR_MISS}", json=hello),
                "wrong secret in the header": await client.post(
                    SKILL, json=hello, headers={"X-Botkit-Secret": NEAR_MISS}
                ),
                "no content type": await client.post(
                    f"{SKILL}/{KAKAO_SECRET}", content=json.dumps(hello).encode()
                ),
                "too large": await client.post(
                    f"{SKILL}/{KAKAO_SECRET}", json=skill_payload("가" * 70_000, user="하은")
                ),
                "not JSON": await client.post(
                    f"{SKILL}/{KAKAO_SECRET}",
                    content=b"{not json",
                    headers={"Content-Type": "application/json"},
                ),
                "secret in the path": await client.post(f"{SKILL}/{KAKAO_SECRET}", json=hello),
                "secret in the header": await client.post(
                    SKILL, json=person, headers={"X-Botkit-Secret": KAKAO_SECRET}
                ),
                "wrong agent token": await client.get(
                    "/agent/api/queue", headers=bearer(BADA[:-1])
                ),
                "agent token": await client.get("/agent/api/queue", headers=bearer(HANEUL)),
                "claim": await client.post(
                    "/agent/api/conversations/kakao/shop:하은/claim", headers=bearer(BADA)
                ),
                "wrong dashboard token": await client.get(f"/dashboard?token={HANEUL}x"),
                "dashboard token": await client.get(f"/dashboard?token={HANEUL}"),
                "wrong events token": await client.post(
                    "/events", json={"events": [PURCHASE]}, headers=bearer(HELPDESK_TOKEN)
                ),
                "events token": await client.post(
                    "/events", json={"events": [PURCHASE]}, headers=bearer(EVENTS_TOKEN)
                ),
                "wrong customers token": await client.get(
                    "/customers/C-1", headers=bearer(CUSTOMERS_TOKEN[:-1])
                ),
                "customers token": await client.get(
                    "/customers/C-1", headers=bearer(CUSTOMERS_TOKEN)
                ),
                "wrong channel token": await client.post(
                    "/kakao/channel",
                    json=CHANNEL_ADDED,
                    headers={"Authorization": f"KakaoAK {CHANNEL_TOKEN}x"},
                ),
                "channel token": await client.post(
                    "/kakao/channel",
                    json=CHANNEL_ADDED,
                    headers={"Authorization": f"KakaoAK {CHANNEL_TOKEN}"},
                ),
                "webhook with a wrong signature": await client.post(
                    "/agent/webhook",
                    content=body,
                    headers={
                        "X-Botkit-Timestamp": stamp,
                        "X-Botkit-Signature": sign(WEBHOOK_SECRET, stamp, body + b" "),
                    },
                ),
            }
            # The widget: the customer's address goes over the socket (and into SQLite).
            async with connect(f"ws://{host}/web/ws") as socket:
                await socket.send(json.dumps({"type": "hello", "sid": "logsecrets-000001"}))
                assert json.loads(await socket.recv())["type"] == "welcome"
                typed = {"type": "message", "id": "m1", "text": f"주소는 {ADDRESS}이에요"}
                await socket.send(json.dumps(typed, ensure_ascii=False))
                while (frame := json.loads(await socket.recv()))["type"] != "reply":
                    assert frame["type"] != "error", frame
            where = skill_payload(f"배송지는 {ADDRESS}입니다", user="도윤")
            answers["address on Kakao"] = await client.post(f"{SKILL}/{KAKAO_SECRET}", json=where)

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "wrong secret in the path": 401,
        "wrong secret in the header": 401,
        "no content type": 415,
        "too large": 413,
        "not JSON": 400,
        "secret in the path": 200,
        "secret in the header": 200,
        "wrong agent token": 401,
        "agent token": 200,
        "claim": 200,
        "wrong dashboard token": 401,
        "dashboard token": 200,
        "wrong events token": 401,
        "events token": 200,
        "wrong customers token": 401,
        "customers token": 404,  # no such customer: the token was taken
        "wrong channel token": 401,
        "channel token": 200,
        "webhook with a wrong signature": 401,
        "address on Kakao": 200,
    }
    log = logs.getvalue()
    said = [json.loads(line)["message"] for line in log.splitlines()]
    # The requests are in the log (uvicorn's access lines, the refusals, the helpdesk's
    # failure), only without their secrets.
    assert any(line.endswith(f'"POST {SKILL}/*** HTTP/1.1" 401') for line in said)
    assert any(line.endswith('"GET /dashboard?token=*** HTTP/1.1" 200') for line in said)
    assert "kakao request rejected" in said
    assert "helpdesk unreachable" in said
    assert leaks(log) == []
    # No SQL either: aiosqlite writes every statement with its parameters at debug level.
    assert not [line for line in said if "SELECT" in line or "INSERT" in line]


async def test_botkit_serve_at_debug_level_writes_no_secret(tmp_path: Path) -> None:
    env = {
        "BOTKIT_LOG_LEVEL": "debug",
        "BOTKIT_KAKAO_SECRET": KAKAO_SECRET,
        "BOTKIT_AGENT_TOKENS": f"하늘:{HANEUL},바다:{BADA}",
        "BOTKIT_EVENTS_TOKEN": EVENTS_TOKEN,
        "BOTKIT_CUSTOMERS_TOKEN": CUSTOMERS_TOKEN,
        "BOTKIT_IDENTITY_SECRET": IDENTITY_SECRET,
        "BOTKIT_ACCOUNT_LINK_URL": LOGIN,
        "BOTKIT_CHANNEL_TOKEN": CHANNEL_TOKEN,
    }
    with serve(tmp_path, env=env) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            hello = kakao(f"안녕하세요, {ADDRESS}로 보내 주세요", "하은")
            answers = [
                await client.post(f"{SKILL}/{NEAR_MISS}", json=hello),
                await client.post(f"{SKILL}/{KAKAO_SECRET}", content=b"{}"),
                await client.post(f"{SKILL}/{KAKAO_SECRET}", json=hello),
                await client.post(SKILL, json=hello, headers={"X-Botkit-Secret": KAKAO_SECRET}),
                await client.get(f"/dashboard?token={HANEUL}"),
                await client.get("/agent/api/queue", headers=bearer(BADA)),
                await client.post(
                    "/events", json={"events": [PURCHASE]}, headers=bearer(EVENTS_TOKEN)
                ),
                await client.get("/customers/C-1", headers=bearer(CUSTOMERS_TOKEN)),
                await client.post(
                    "/kakao/channel", json=CHANNEL_ADDED, headers=bearer(CHANNEL_TOKEN)
                ),
            ]
        assert [a.status_code for a in answers] == [401, 415, 200, 200, 200, 200, 200, 404, 200]
    log = served.log
    assert '"kakao request rejected"' in log
    assert f"{SKILL}/***" in log
    assert '"kakao turn"' in log  # debug lines were written
    assert "Traceback" not in log
    assert leaks(log) == []


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        # the configured secrets, however they are spelled on their way
        (f"POST /kakao/skill/{KAKAO_SECRET} 415", "POST /kakao/skill/*** 415"),
        (f"상담원 토큰 {HANEUL} 확인", "상담원 토큰 *** 확인"),
        (f'{{"token": "{EVENTS_TOKEN}"}}', '{"token": "***"}'),
        (f"b'{HELPDESK_TOKEN}'", "b'***'"),
        (f"hmac({IDENTITY_SECRET!r}, payload)", "hmac('***', payload)"),
        (f"Authorization: KakaoAK {CHANNEL_TOKEN}", "Authorization: ***"),
        # shaped like a secret: whatever its value
        ("POST /kakao/skill/예전-비밀 401", "POST /kakao/skill/*** 401"),
        ("GET /dashboard?token=누군가의토큰&day=1", "GET /dashboard?token=***&day=1"),
        ("GET /web/history?sid=abc123", "GET /web/history?sid=***"),
        (
            "302 https://shop.example.com/login?code=a1.1795.f0e",
            "302 https://shop.example.com/login?code=***",
        ),
        ("< Authorization: Bearer abc.def", "< Authorization: ***"),
        ("(b'x-botkit-secret', b'abc')", "(b'x-botkit-secret', b'***')"),
        ("요청 헤더 Bearer abc.def 거절", "요청 헤더 Bearer *** 거절"),
        ("postgresql://botkit:p4ss@db.internal/shop", "postgresql://botkit:***@db.internal/shop"),
        # what is not a secret stays
        (
            "상담원 토큰이 설정되지 않았어요 (agent.tokens)",
            "상담원 토큰이 설정되지 않았어요 (agent.tokens)",
        ),
    ],
)
def test_a_secret_is_hidden_wherever_it_is_in_a_line(
    tmp_path: Path, logged: str, shown: str
) -> None:
    settings = server_settings(tmp_path)
    with captured_logs(settings) as logs:
        logging.getLogger("botkit.test").debug("%s", logged)
    assert json.loads(logs.getvalue())["message"] == shown


def test_extra_fields_and_exceptions_are_hidden_too(tmp_path: Path) -> None:
    settings = server_settings(tmp_path)
    with captured_logs(settings) as logs:
        try:
            raise PermissionError(f"refused {EVENTS_TOKEN}")
        except PermissionError:
            logging.getLogger("botkit.test").exception(
                "refused",
                extra={
                    "headers": {"x-botkit-secret": NEAR_MISS, "accept": "application/json"},
                    "token": "anything at all",
                    "raw": f"Bearer {BADA}".encode(),
                    "path": f"/kakao/skill/{NEAR_MISS}",
                },
            )
    entry = json.loads(logs.getvalue())
    assert entry["headers"] == {"x-botkit-secret": "***", "accept": "application/json"}
    assert entry["token"] == "***"
    assert entry["raw"] == "Bearer ***"
    assert entry["path"] == "/kakao/skill/***"
    assert entry["error"] == "PermissionError: refused ***"


def test_libraries_that_log_what_customers_wrote_are_quiet_below_warning(
    tmp_path: Path,
) -> None:
    settings = server_settings(tmp_path)
    with captured_logs(settings) as logs:
        logging.getLogger("aiosqlite").debug("executing INSERT … (%r,)", ADDRESS)
        logging.getLogger("uvicorn.error").debug("< TEXT %r [61 bytes]", ADDRESS)
        logging.getLogger("httpx").info("HTTP Request: POST https://bot-api.kakao.com/cb/1")
        logging.getLogger("aiosqlite").warning("closing the connection failed")
        logging.getLogger("uvicorn.error").info("Application startup complete.")
    said = [json.loads(line)["message"] for line in logs.getvalue().splitlines()]
    assert said == ["closing the connection failed", "Application startup complete."]


def test_a_logger_with_a_handler_of_its_own_writes_through_the_redaction_too(
    tmp_path: Path,
) -> None:
    # As uvicorn's default logging set-up leaves uvicorn.access: its own handler, on stdout.
    access, own = logging.getLogger("uvicorn.access"), io.StringIO()
    handlers, propagate = access.handlers[:], access.propagate
    access.handlers[:], access.propagate = [logging.StreamHandler(own)], False
    try:
        with captured_logs(server_settings(tmp_path)) as logs:
            access.info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "POST", f"{SKILL}/x1", 401)
    finally:
        access.handlers[:], access.propagate = handlers, propagate
    assert own.getvalue() == ""
    assert (
        json.loads(logs.getvalue())["message"]
        == f'127.0.0.1:5000 - "POST {SKILL}/*** HTTP/1.1" 401'
    )


def test_the_admin_token_is_a_secret_like_the_others(tmp_path: Path) -> None:
    admin = "reload-admin-token-0006"
    settings = dataclasses.replace(server_settings(tmp_path), admin_token=admin)
    with captured_logs(settings) as logs:
        logging.getLogger("botkit.test").debug("the reload door's token is %s", admin)
    assert admin not in logs.getvalue()
    assert json.loads(logs.getvalue())["message"] == "the reload door's token is ***"
