"""Secrets and personal data in the logs of a real ``botkit serve``, at debug level: none.

The server runs with every secret it can have (the Kakao skill secret, agent tokens, the events
token, the helpdesk webhook secret, and the tokens its HTTP actions send upstream) and its
courier and shop actions calling a loopback upstream for real. It is sent requests it refuses
and requests it takes, every one carrying a secret, and a conversation in which customers give
phone and order numbers in the spellings people type. Then its whole stderr is searched: for
each secret verbatim, and for each number's digits once full-width digits are folded and the
separators people put between digit groups are taken out (a masked number keeps too few digits
to match).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.sync.client import connect

from botkit.server.helpdesk import sign
from tests.reliability import figures
from tests.reliability.bad_input_rows import (
    AGENT,
    AGENT_JSON,
    AGENT_TOKEN,
    BOT_USER,
    EVENTS,
    EVENTS_TOKEN,
    JSON,
    SECRET,
    SECRETS_ENV,
    WEBHOOK,
    WEBHOOK_SECRET,
    WITH_BOT,
)
from tests.reliability.upstream import bot_copy, upstream
from tests.reliability.wire import server_clock
from tests.server.processes import kakao, serve

SECTION = figures.Section("secrets and PII in logs")
ACTION_SECRETS = {
    "COURIER_API_TOKEN": "courier-token-b81f2a77",
    "SHOP_API_TOKEN": "shop-token-4e0c9d13",
}
SECRETS = {
    "Kakao skill secret": SECRET,
    "agent token": AGENT_TOKEN,
    "events token": EVENTS_TOKEN,
    "helpdesk webhook secret": WEBHOOK_SECRET,
    "courier API token": ACTION_SECRETS["COURIER_API_TOKEN"],
    "shop API token": ACTION_SECRETS["SHOP_API_TOKEN"],
}
# (spelling, the digits that must not appear): of a phone number its last eight digits (a
# masked one keeps the last four), of an order number its last six (a masked one, the first four).
PHONES = {
    "010-2718-2818": "27182818",
    "01031415926": "31415926",
    "(010)1414-2135": "14142135",
    "010–1732–0508": "17320508",  # en dashes
    "０１０-２２３６-０６７９": "22360679",  # full-width digits
    "0 1 0 2 6 4 5 7 5 1 3": "26457513",  # spaced digits
    "+82 10-6931-4718": "69314718",
    "010.5772.1566": "57721566",
}
ORDERS = {
    "1618-033-988": "033988",
    "2236.067.977": "067977",  # dotted
    "３０５７３６４８７１": "364871",  # full-width
    "4669 201 609": "201609",
    "7390851332": "851332",
}
SEPARATORS = dict.fromkeys(map(ord, " -–—.()+\u00a0\u2009\u202f/_"))


def normalized(line: str) -> str:
    """The line with full-width digits folded and digit separators taken out."""
    return unicodedata.normalize("NFKC", line).translate(SEPARATORS)


def leaks(log: str) -> dict[str, int]:
    """How often each secret and each number appears in ``log``, by what it is."""
    found: dict[str, int] = {}
    for name, secret in SECRETS.items():
        found[name] = log.count(secret)
    lines = [normalized(line) for line in log.splitlines()]
    for spelled, digits in {**PHONES, **ORDERS}.items():
        found[spelled] = sum(line.count(digits) for line in lines)
    return {name: count for name, count in found.items() if count}


SKILL = f"/kakao/skill/{SECRET}"
HEADER_SECRET = {"X-Botkit-Secret": SECRET}
Request = tuple[str, str, bytes, Mapping[str, str]]


def post(path: str, body: Any, headers: Mapping[str, str] = JSON) -> Request:
    """A POST of ``body`` (bytes as they are, anything else as JSON)."""
    return ("POST", path, body if isinstance(body, bytes) else orjson.dumps(body), headers)


def say(text: str, user: str = "번호-주는-고객", press: str | None = None) -> Request:
    """A KakaoTalk message (or a press of ``press``) on the skill path with the secret."""
    return post(SKILL, kakao(text, user, {"botkit": press} if press else None))


def conversation() -> list[Request]:
    """A customer checks a parcel and asks for a refund, giving order and phone numbers."""
    turns = [
        say("안녕하세요"),
        say("주문번호 1618-033-988 배송 확인해 주세요"),  # the courier is called with it
        say("처음으로"),
        say("환불"),
        say("네, 신청할게요", press="proceed"),
        say("2236.067.977"),
        say("단순 변심"),
        say("네"),
        say("(010)1414-2135"),  # the shop's refund API is called with it
        say("안녕하세요", BOT_USER),
    ]
    return turns + [
        say(f"제 번호는 {spelled} 이에요", "여러-번호-고객") for spelled in [*PHONES, *ORDERS]
    ]


def with_secrets(now: float) -> list[Request]:
    """Requests refused and accepted, each carrying a secret (``now``: the server's clock)."""
    wrong_agent = {"Authorization": f"Bearer {AGENT_TOKEN}x"}
    wrong_events = {**JSON, "Authorization": f"Bearer {EVENTS_TOKEN}x"}
    event: dict[str, Any] = {"id": "e-1", "kind": "purchase", "user": "shop:번호-주는-고객"}
    event["data"] = {"phone": "010-2718-2818", "order": "1618-033-988"}
    hook = orjson.dumps(
        {
            "id": "evt-log-1",
            "event": "message_created",
            "content": "010-2718-2818로 연락드릴게요",
            "conversation": {"channel": "kakao", "user": "shop:번호-주는-고객"},
        }
    )
    stamp = str(int(now))
    signed = {"X-Botkit-Timestamp": stamp, "X-Botkit-Signature": sign(WEBHOOK_SECRET, stamp, hook)}
    unsigned = {"X-Botkit-Timestamp": stamp, "X-Botkit-Signature": WEBHOOK_SECRET}
    widget = {"sid": "reliability-log-sid-0001", "id": "m-1", "text": "제 번호 010-2718-2818"}
    return [
        post("/kakao/skill", kakao("처음으로", "헤더-고객"), {**JSON, **HEADER_SECRET}),
        post("/kakao/skill", b"{}", HEADER_SECRET),  # 415
        post(SKILL, b"{}", {"Content-Type": "text/plain"}),  # 415
        post(SKILL, b'{"utterance": "010-2718-2818'),  # 400
        post(SKILL, b" " * (1024 * 1024)),  # 413
        post(f"{SKILL}x", kakao("안녕", "u")),  # 401, a near miss of the secret
        post(SKILL, kakao("안녕", "0\x001")),  # 400
        ("GET", SKILL, b"", {}),  # 405
        ("GET", "/agent/api/queue", b"", AGENT),
        ("GET", "/agent/api/queue", b"", wrong_agent),
        ("GET", WITH_BOT, b"", AGENT),
        post(f"{WITH_BOT}/note", {"text": "고객 번호 010-2718-2818"}, AGENT_JSON),
        post(f"{WITH_BOT}/message", {"text": "1618-033-988 확인했어요"}, AGENT_JSON),
        ("GET", f"/dashboard?token={AGENT_TOKEN}", b"", {}),
        ("GET", f"/dashboard?token={AGENT_TOKEN}x", b"", {}),
        post("/events", {"events": [event]}, EVENTS),
        post("/events", b"{", EVENTS),
        post("/events", b"{}", wrong_events),
        post("/web/messages", widget),
        post(WEBHOOK, hook, {**JSON, **signed}),
        post(WEBHOOK, hook, {**JSON, **unsigned}),
    ]


def drive(client: httpx.Client, port: int) -> list[int]:
    """Every request in turn; the status of each."""
    sent = conversation() + with_secrets(server_clock(port))
    return [client.request(m, path, content=b, headers=h).status_code for m, path, b, h in sent]


def chat_on_the_widget(url: str) -> int:
    """The numbers typed into the web widget (its socket); how many were answered."""
    answered = 0
    talks = (("reliability-log-sid-0002", PHONES), ("reliability-log-sid-0003", ORDERS))
    for sid, spellings in talks:
        with connect(url.replace("http://", "ws://") + "/web/ws", open_timeout=10) as ws:
            ws.send(orjson.dumps({"type": "hello", "sid": sid}).decode())
            ws.recv(timeout=10)
            for i, spelled in enumerate(spellings):
                frame = {"type": "message", "id": f"m-{i}", "text": f"제 번호는 {spelled}"}
                ws.send(orjson.dumps(frame).decode())
                while True:  # a "typing" frame comes first
                    answer = orjson.loads(ws.recv(timeout=10))
                    if answer.get("type") in ("reply", "error"):
                        answered += answer["type"] == "reply"
                        break
    return answered


def test_no_secret_and_no_customer_number_reaches_the_log(tmp_path: Path) -> None:
    with upstream("courier") as courier:
        flows = bot_copy(tmp_path, courier.url)
        env = {**SECRETS_ENV, **ACTION_SECRETS, "BOTKIT_LOG_LEVEL": "debug"}
        fixtures = tmp_path / "no-stubs.fixtures.yaml"
        with serve(tmp_path, flows=flows, fixtures=fixtures, env=env) as served:
            with httpx.Client(base_url=served.url, timeout=30) as client:
                statuses = drive(client, int(served.url.rsplit(":", 1)[1]))
            widget_replies = chat_on_the_widget(served.url)
            served.stop()  # the log is complete once the process has ended
        log = served.log

    found = leaks(log)
    secrets = sum(n for name, n in found.items() if name in SECRETS)
    SECTION.put("log lines at debug level", len(log.splitlines()))
    refused = sum(status >= 400 for status in statuses)
    SECTION.put("requests (refused / accepted)", f"{refused} / {len(statuses) - refused}")
    SECTION.put("upstream calls made by actions", len(courier.requests))
    SECTION.put("numbers typed into the widget and answered", widget_replies)
    SECTION.put("unmasked secrets", secrets)
    SECTION.put("unmasked phone or order numbers", sum(found.values()) - secrets)
    for name, count in found.items():
        SECTION.note(f"{name}: {count} time(s)")

    assert len(courier.requests) >= 1, "no action called the upstream: nothing was tested there"
    assert found == {}


def test_the_search_finds_every_spelling_and_secret() -> None:
    planted = "\n".join(
        [*(f'{{"message": "{text}"}}' for text in [*PHONES, *ORDERS]), *SECRETS.values()]
    )
    assert leaks(planted).keys() == {*PHONES, *ORDERS, *SECRETS}
    masked = '{"message": "010-****-2818 1618-***-*** ０１０-****-０６７９"}'
    assert leaks(masked) == {}
