"""The bad-input table: requests no well-behaved client sends, one row each, across every
endpoint of ``botkit serve`` and the widget's WebSocket, with the answer each must get.

Written to the contract of issue 14, not to what a server happened to answer once: ids are
checked at the edge (400), every body and the headers are capped (413, 431), the agent API
answers 404 for a conversation that never started and 409 for a step the conversation is not in
a state for, and every 4xx has a JSON body. The rows run in ``test_bad_input.py``, which also
checks that nothing was stored and that the server still answers after each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from botkit.server.helpdesk import sign
from tests.reliability.wire import MB, chunked, declared, request_head
from tests.server.test_kakao_bad_input import body as kakao_body, body_with, nested

__all__ = ["AGENT_TOKEN", "BOT_USER", "EVENTS_TOKEN", "ROWS", "SECRET", "SECRETS_ENV", "Row"]

SECRET = "reliability-skill-s3cr3t-7c41"
AGENT_TOKEN = "reliability-agent-token-5d2e9b"
EVENTS_TOKEN = "reliability-events-token-83fa10"
WEBHOOK_SECRET = "reliability-webhook-secret-19ce"
SECRETS_ENV = {
    "BOTKIT_KAKAO_SECRET": SECRET,
    "BOTKIT_AGENT_TOKENS": f"하늘:{AGENT_TOKEN}",
    "BOTKIT_EVENTS_TOKEN": EVENTS_TOKEN,
    "BOTKIT_HELPDESK_WEBHOOK_SECRET": WEBHOOK_SECRET,
}
BOT_USER = "봇과-대화-중"  # talks to the bot before the table runs; never handed off
NEVER = "한-번도-안-온-사람"  # never talks
SID = "reliability-web-sid-0001"
HUGE = 50 * MB

JSON = {"Content-Type": "application/json"}
NONE: Mapping[str, str] = {}
KAKAO = "/kakao/skill"
KAKAO_HEADERS = {**JSON, "X-Botkit-Secret": SECRET}
SKILL_PATH = f"{KAKAO}/{SECRET}"
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}
AGENT_JSON = {**AGENT, **JSON}
EVENTS = {"Authorization": f"Bearer {EVENTS_TOKEN}", **JSON}
WEBHOOK = "/agent/webhook"
WITH_BOT = "/agent/api/conversations/kakao/" + quote(f"shop:{BOT_USER}")
NEVER_TALKED = "/agent/api/conversations/kakao/" + quote(f"shop:{NEVER}")
LONG_ID = "가" * 3000  # over any id cap, and over PostgreSQL's 2.7 KB index entry as UTF-8
LONG_PATH_ID = "a" * 3000  # as long, yet its path stays inside the 16 KB head
MISSING = object()
FORGED = "sha256=" + "0" * 64  # a signature shaped like the helpdesk's, that is not


@dataclass(frozen=True)
class Row:
    """One request and the answer it must get. ``raw`` rows are written over a plain socket
    (bodies and headers too large for an HTTP client); ``frames`` rows talk to the WebSocket,
    where a bad frame is answered by an ``error`` frame of code ``frame_error`` (or the socket
    is closed with ``close_code``) and ``status`` is the handshake's."""

    name: str
    status: int
    method: str = "POST"
    path: str = KAKAO
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: Callable[[int, float], Iterable[bytes]] | None = None  # (port, the server's clock)
    signed: bool = False  # signed as the helpdesk signs, at the moment it is sent
    forged: bool = False  # ... with a signature that is not the helpdesk's
    frames: tuple[str | bytes, ...] = ()
    hello: bool = False  # the socket says hello (a good sid) before the frames
    origin: str | None = None
    frame_error: str | None = None
    close_code: int | None = None

    @property
    def socket(self) -> bool:
        return bool(self.frames) or self.path == "/web/ws"

    def signed_headers(self, now: float) -> dict[str, str]:
        stamp = str(int(now))
        signature = FORGED if self.forged else sign(WEBHOOK_SECRET, stamp, self.body)
        return {**JSON, "X-Botkit-Timestamp": stamp, "X-Botkit-Signature": signature}


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _fields(base: dict[str, Any], **changes: Any) -> bytes:
    merged = {**base, **changes}
    return _json({k: v for k, v in merged.items() if v is not MISSING})


def web(**changes: Any) -> bytes:
    """A widget message for ``POST /web/messages``, with fields changed or left out."""
    return _fields({"sid": SID, "id": "m-1", "text": "안녕하세요"}, **changes)


def event(**changes: Any) -> bytes:
    """A body of one business event for ``POST /events``."""
    one = {"id": "order-1", "kind": "purchase", "user": "shop:사용자1", "amount": 39000}
    merged = {k: v for k, v in {**one, **changes}.items() if v is not MISSING}
    return _json({"events": [merged]})


def hook(**changes: Any) -> bytes:
    """A helpdesk webhook event (Chatwoot-style) for the user who never talked."""
    base = {
        "id": "evt-1",
        "event": "conversation_status_changed",
        "status": "resolved",
        "conversation": {"channel": "kakao", "user": f"shop:{NEVER}"},
    }
    return _fields(base, **changes)


STALE = {
    **JSON,
    "X-Botkit-Timestamp": "1000000000",  # 2001: outside any window
    "X-Botkit-Signature": sign(WEBHOOK_SECRET, "1000000000", hook()),
}


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def bad_utf8(data: bytes) -> bytes:
    """``data`` with its text "안녕하세요" replaced by bytes that are not UTF-8."""
    return data.replace("안녕하세요".encode(), b"\xff\xfe\xc3\x28")


def big_body(
    path: str, headers: Mapping[str, str], *, sent_chunked: bool = False, stamped: bool = False
) -> Callable[[int, float], Iterable[bytes]]:
    """A 50 MB body for ``path``, declared by Content-Length or sent chunked; ``stamped``: with
    a fresh helpdesk timestamp (the signature can only be checked once the body is read)."""

    def pieces(port: int, now: float) -> Iterable[bytes]:
        sent = dict(headers)
        if stamped:
            sent["X-Botkit-Timestamp"] = str(int(now))
            sent["X-Botkit-Signature"] = FORGED
        if sent_chunked:
            head = request_head("POST", path, {**sent, "Transfer-Encoding": "chunked"}, port)
            return [head, *chunked(HUGE, b'{"text":')]
        head = request_head("POST", path, {**sent, "Content-Length": str(HUGE)}, port)
        return [head, *declared(HUGE, b'{"text":')]

    return pieces


def big_head(
    method: str, path: str, size: int, *, count: int = 1, headers: Mapping[str, str] = NONE
) -> Callable[[int, float], Iterable[bytes]]:
    """A request whose headers, besides ``headers``, are ``count`` headers of ``size`` bytes."""

    def pieces(port: int, now: float) -> Iterable[bytes]:
        padding = {f"X-Padding-{i}": "a" * size for i in range(count)}
        return [request_head(method, path, {**headers, **padding}, port)]

    return pieces


# -- rows, by endpoint: a constructor per endpoint keeps each row to one line --------------


def kakao(name: str, status: int, body: bytes = b"", **more: Any) -> Row:
    """A skill call on ``/kakao/skill`` with the secret in a header (unless ``headers``)."""
    return Row(name, status, body=body, headers=more.pop("headers", KAKAO_HEADERS), **more)


def skill(name: str, status: int, body: bytes, **more: Any) -> Row:
    """A skill call on ``/kakao/skill/<secret>``, the README's set-up."""
    path, headers = more.pop("path", SKILL_PATH), more.pop("headers", JSON)
    return Row(name, status, path=path, body=body, headers=headers, **more)


def uid(value: Any) -> bytes:
    """A SkillPayload whose ``userRequest.user.id`` is ``value``."""
    return body_with("userRequest.user.id", value)


def widget(name: str, status: int, body: bytes, **more: Any) -> Row:
    """``POST /web/messages``, the widget's HTTP fallback."""
    headers = more.pop("headers", JSON)
    return Row(name, status, path="/web/messages", body=body, headers=headers, **more)


def events(name: str, status: int, body: bytes, **more: Any) -> Row:
    """``POST /events`` with the events token (unless ``headers``)."""
    return Row(
        name, status, path="/events", body=body, headers=more.pop("headers", EVENTS), **more
    )


def agent(name: str, status: int, path: str, text: Any = MISSING, **more: Any) -> Row:
    """An agent API call with the agent's token; ``text`` the body's, for a message or note."""
    body = more.pop("body", b"" if text is MISSING else _json({"text": text}))
    return Row(name, status, path=path, body=body, headers=more.pop("headers", AGENT_JSON), **more)


def webhook(name: str, status: int, body: bytes, **more: Any) -> Row:
    """A helpdesk call to ``/agent/webhook``, signed as the helpdesk signs (unless told)."""
    return Row(name, status, path=WEBHOOK, body=body, signed=more.pop("signed", True), **more)


def get(name: str, status: int, path: str, **more: Any) -> Row:
    return Row(name, status, method="GET", path=path, **more)


def huge(name: str, status: int, raw: Callable[[int, float], Iterable[bytes]]) -> Row:
    return Row(name, status, raw=raw)


def frame(name: str, error: str, sent: str | bytes, *, hello: bool = True) -> Row:
    """A frame on the widget's socket (after a hello) and the code of the error it must get."""
    return Row(name, 101, frames=(sent,), hello=hello, frame_error=error)


def message(**changes: Any) -> str:
    """A ``message`` frame of the widget's protocol, with fields changed or left out."""
    return _fields({"type": "message", "id": "m-1", "text": "안녕하세요"}, **changes).decode()


def basic(token: str) -> dict[str, str]:
    """The token sent under the wrong scheme: ``Authorization: Basic <token>``."""
    return {"Authorization": f"Basic {token}"}


def hello(sid: Any) -> str:
    return _json({"type": "hello", "sid": sid}).decode()


CHUNKED = {"sent_chunked": True}
TEXT_PLAIN = {"Content-Type": "text/plain"}
FORM = "application/x-www-form-urlencoded"
WRONG_TOKEN = {"Authorization": "Bearer guess-guess-guess"}
ONE_THOUSAND_AND_ONE = _json(
    {"events": [{"id": str(i), "kind": "k", "user": "u"} for i in range(1001)]}
)
HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}
NEVER_HOOK = {"channel": "kakao", "user": f"shop:{NEVER}"}
BOT_HOOK = {"channel": "kakao", "user": f"shop:{BOT_USER}"}
ROOT = "/agent/api/conversations"

KAKAO_ROWS = [
    kakao("kakao_invalid_json", 400, b'{"userRequest": {"utterance": "'),
    kakao("kakao_empty_body", 400),
    kakao("kakao_json_array", 400, b"[]"),
    kakao("kakao_json_null", 400, b"null"),
    kakao("kakao_json_string", 400, _json("안녕")),
    kakao("kakao_no_user_request", 400, body_with("userRequest")),
    kakao("kakao_no_user_id", 400, body_with("userRequest.user.id")),
    kakao("kakao_user_id_number", 400, uid(42)),
    kakao("kakao_utterance_number", 400, body_with("userRequest.utterance", 7)),
    kakao("kakao_client_extra_list", 400, body_with("action.clientExtra", ["x"])),
    kakao("kakao_no_bot", 400, body_with("bot")),
    kakao("kakao_nul_in_user_id", 400, uid("사용\x00자")),
    kakao("kakao_escape_in_user_id", 400, uid("\x1b[2J사용자")),
    kakao("kakao_newline_in_user_id", 400, uid("사용\n자")),
    kakao("kakao_3000_char_user_id", 400, uid(LONG_ID)),
    kakao("kakao_nul_in_bot_id", 400, body_with("bot.id", "sh\x00op")),
    kakao("kakao_3000_char_bot_id", 400, body_with("bot.id", LONG_ID)),
    kakao("kakao_bad_utf8", 400, bad_utf8(kakao_body())),
    kakao("kakao_lone_surrogate", 400, kakao_body().replace("안녕하세요".encode(), b"\\ud800")),
    kakao("kakao_json_10000_deep", 400, nested(10_000, "clientExtra")),
    kakao("kakao_text_plain", 415, kakao_body(), headers={**KAKAO_HEADERS, **TEXT_PLAIN}),
    kakao("kakao_no_content_type", 415, kakao_body(), headers={"X-Botkit-Secret": SECRET}),
    kakao("kakao_no_secret", 401, kakao_body(), headers=JSON),
    kakao("kakao_wrong_secret", 401, kakao_body(), headers={**JSON, "X-Botkit-Secret": "guess"}),
    skill("skill_wrong_secret_in_path", 401, kakao_body(), path=f"{KAKAO}/guess"),
    skill("skill_secret_prefix_in_path", 401, kakao_body(), path=f"{SKILL_PATH}x"),
    skill("skill_invalid_json", 400, b"{"),
    skill("skill_nul_in_user_id", 400, uid("\x00")),
    skill("skill_3000_char_user_id", 400, uid(LONG_ID)),
    skill("skill_text_plain", 415, kakao_body(), headers=TEXT_PLAIN),
    skill("skill_form_encoded", 415, b"a=1", headers={"Content-Type": FORM}),
    huge("kakao_50mb_body", 413, big_body(KAKAO, KAKAO_HEADERS)),
    huge("kakao_50mb_body_chunked", 413, big_body(KAKAO, KAKAO_HEADERS, **CHUNKED)),
    huge("skill_50mb_body", 413, big_body(SKILL_PATH, JSON)),
    huge("kakao_1mb_header", 431, big_head("POST", KAKAO, MB, headers=KAKAO_HEADERS)),
    get("kakao_get", 405, KAKAO),
]

WEB_ROWS = [
    widget("web_invalid_json", 400, b'{"sid": '),
    widget("web_empty_body", 400, b""),
    widget("web_json_array", 400, b"[]"),
    widget("web_no_sid", 400, web(sid=MISSING)),
    widget("web_sid_number", 400, web(sid=12345678901234567)),
    widget("web_nul_in_sid", 400, web(sid="reliability\x00web-sid-01")),
    widget("web_3000_char_sid", 400, web(sid="s" * 3000)),
    widget("web_no_message_id", 400, web(id=MISSING)),
    widget("web_nul_in_message_id", 400, web(id="m\x001")),
    widget("web_no_text", 400, web(text=MISSING)),
    widget("web_text_number", 400, web(text=1234)),
    widget("web_payload_number", 400, web(payload=1)),
    widget("web_json_5000_deep", 400, deep(5000)),
    widget("web_bad_utf8", 400, bad_utf8(web())),
    widget("web_foreign_origin", 403, web(), headers={**JSON, "Origin": "https://evil.example"}),
    huge("web_50mb_body", 413, big_body("/web/messages", JSON)),
    huge("web_50mb_body_chunked", 413, big_body("/web/messages", JSON, **CHUNKED)),
    get("history_no_sid", 400, "/web/history"),
    get("history_nul_in_sid", 400, "/web/history?sid=reliability%00web-sid-01"),
]

EVENT_ROWS = [
    events("events_no_token", 401, event(), headers=JSON),
    events("events_wrong_token", 401, event(), headers={**JSON, **WRONG_TOKEN}),
    events("events_basic_scheme", 401, event(), headers={**JSON, **basic(EVENTS_TOKEN)}),
    events("events_invalid_json", 400, b'{"events": ['),
    events("events_not_a_list", 400, b'{"events": {}}'),
    events("events_empty_list", 400, b'{"events": []}'),
    events("events_1001_events", 400, ONE_THOUSAND_AND_ONE),
    events("events_no_id", 400, event(id=MISSING)),
    events("events_negative_amount", 400, event(amount=-1)),
    events("events_at_as_text", 400, event(at="어제")),
    events("events_nul_in_user", 400, event(user="shop:\x00")),
    events("events_nul_in_id", 400, event(id="order\x001")),
    events("events_3000_char_user", 400, event(user=LONG_ID)),
    events("events_json_5000_deep", 400, deep(5000)),
    events("events_200kb_event", 413, event(data={"note": "ㅋ" * 70_000})),
    huge("events_50mb_body", 413, big_body("/events", EVENTS)),
    huge("events_50mb_body_chunked", 413, big_body("/events", EVENTS, **CHUNKED)),
]

AGENT_ROWS = [
    get("agent_queue_no_token", 401, "/agent/api/queue"),
    get("agent_queue_wrong_token", 401, "/agent/api/queue", headers=WRONG_TOKEN),
    get("agent_queue_basic_scheme", 401, "/agent/api/queue", headers=basic(AGENT_TOKEN)),
    get("agent_get_never_talked", 404, NEVER_TALKED, headers=AGENT),
    agent("agent_claim_never_talked", 404, f"{NEVER_TALKED}/claim"),
    agent("agent_message_never_talked", 404, f"{NEVER_TALKED}/message", "안녕하세요"),
    agent("agent_note_never_talked", 404, f"{NEVER_TALKED}/note", "메모"),
    agent("agent_release_never_talked", 404, f"{NEVER_TALKED}/release"),
    agent("agent_close_never_talked", 404, f"{NEVER_TALKED}/close"),
    agent("agent_claim_with_the_bot", 409, f"{WITH_BOT}/claim"),
    agent("agent_message_with_the_bot", 409, f"{WITH_BOT}/message", "안녕하세요"),
    agent("agent_release_with_the_bot", 409, f"{WITH_BOT}/release"),
    agent("agent_close_with_the_bot", 409, f"{WITH_BOT}/close"),
    get("agent_nul_in_user_path", 400, f"{ROOT}/kakao/shop:%00", headers=AGENT),
    agent("agent_close_nul_in_user_path", 400, f"{ROOT}/kakao/a%00b/close"),
    get("agent_3000_char_user_path", 400, f"{ROOT}/kakao/{LONG_PATH_ID}", headers=AGENT),
    agent("agent_escape_in_channel_path", 400, f"{ROOT}/ka%1Bkao/x/note", "메모"),
    agent("agent_note_invalid_json", 400, f"{NEVER_TALKED}/note", body=b'{"text": '),
    agent("agent_message_no_text", 400, f"{NEVER_TALKED}/message", body=b"{}"),
    agent("agent_message_text_number", 400, f"{NEVER_TALKED}/message", 1),
    agent("agent_message_2001_chars", 400, f"{NEVER_TALKED}/message", "가" * 2001),
    huge("agent_message_50mb_body", 413, big_body(f"{WITH_BOT}/message", AGENT_JSON)),
    huge("agent_note_50mb_body_chunked", 413, big_body(f"{WITH_BOT}/note", AGENT_JSON, **CHUNKED)),
    agent("agent_queue_delete", 405, "/agent/api/queue", method="DELETE"),
]

WEBHOOK_ROWS = [
    webhook("webhook_unsigned", 401, hook(), signed=False, headers=JSON),
    webhook("webhook_wrong_signature", 401, hook(), forged=True),
    webhook("webhook_stale_timestamp", 401, hook(), signed=False, headers=STALE),
    webhook("webhook_invalid_json", 400, b'{"id": '),
    webhook("webhook_json_array", 400, b"[]"),
    webhook("webhook_no_conversation", 400, hook(id="evt-2", conversation=MISSING)),
    webhook("webhook_user_number", 400, hook(id="evt-3", conversation={**NEVER_HOOK, "user": 7})),
    webhook(
        "webhook_nul_in_user", 400, hook(id="evt-4", conversation={**NEVER_HOOK, "user": "\0"})
    ),
    webhook("webhook_resolve_never_talked", 404, hook(id="evt-5")),
    webhook("webhook_resolve_with_the_bot", 409, hook(id="evt-6", conversation=BOT_HOOK)),
    huge("webhook_50mb_body", 413, big_body(WEBHOOK, JSON, stamped=True)),
    huge("webhook_50mb_body_chunked", 413, big_body(WEBHOOK, JSON, stamped=True, **CHUNKED)),
    get("webhook_get", 405, WEBHOOK),
]

OTHER_ROWS = [
    get("dashboard_no_token", 401, "/dashboard"),
    get("dashboard_wrong_token", 401, "/dashboard?token=guess"),
    get("dashboard_nul_token", 401, "/dashboard?token=%00"),
    Row("metrics_post", 405, path="/metrics"),
    huge("metrics_1mb_header", 431, big_head("GET", "/metrics", MB)),
    Row("healthz_post", 405, path="/healthz"),
    huge("healthz_1mb_header", 431, big_head("GET", "/healthz", MB)),
    huge("healthz_16mb_of_headers", 431, big_head("GET", "/healthz", 64 * 1024, count=256)),
    huge("readyz_1mb_header", 431, big_head("GET", "/readyz", MB)),
    get("events_get", 405, "/events"),
    get("unknown_path", 404, "/kakao/skil"),
    # A header line over 8 KiB is refused by uvicorn's WebSocket layer (websockets) while it
    # parses the handshake, before botkit sees it: botkit serve's protocol answers it in JSON.
    huge("widget_socket_1mb_header", 431, big_head("GET", "/web/ws", MB, headers=HANDSHAKE)),
]

SOCKET_ROWS = [
    frame("ws_binary_frame", "bad_json", b"\x00\x01"),
    frame("ws_invalid_json", "bad_json", '{"type": '),
    frame("ws_json_array", "bad_json", "[]"),
    frame("ws_unknown_type", "unknown_type", '{"type": "hack"}'),
    frame("ws_message_before_hello", "no_hello", message(), hello=False),
    frame("ws_hello_nul_in_sid", "bad_message", hello("reliability\x00web-sid-01"), hello=False),
    frame("ws_hello_3000_char_sid", "bad_message", hello("s" * 3000), hello=False),
    frame("ws_hello_sid_number", "bad_message", hello(1), hello=False),
    frame("ws_message_nul_in_id", "bad_message", message(id="m\x001")),
    frame("ws_message_no_id", "bad_message", message(id=MISSING)),
    frame("ws_message_text_number", "bad_message", message(text=5)),
    frame("ws_message_payload_number", "bad_message", message(payload=5)),
    frame("ws_json_5000_deep", "bad_json", deep(5000).decode()),
    frame("ws_32kb_frame", "too_large", message(text="ㅋ" * 11_000)),
    Row("ws_1mb_frame", 101, frames=(message(text="a" * MB),), hello=True, close_code=1009),
    Row("ws_foreign_origin", 403, path="/web/ws", origin="https://evil.example"),
]

ROWS = KAKAO_ROWS + WEB_ROWS + EVENT_ROWS + AGENT_ROWS + WEBHOOK_ROWS + OTHER_ROWS + SOCKET_ROWS
