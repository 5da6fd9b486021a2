"""Ids and text as an attacker sends them, on SQLite and on PostgreSQL alike.

PostgreSQL refuses a NUL in text and an index entry over about 2.7 KB, SQLite takes both: so
ids are checked at the edge, before any store sees them, and every store gives the same 400
``bad_id`` naming the field (never 503 "store unavailable"). User text is cleaned, not refused:
the widget drops control characters as KakaoTalk's channel does. And a channel that sends new
properties with every message does not make the user's session grow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from botkit.server.helpdesk import sign
from botkit.storage import Store
from botkit.storage.base import encode_session
from tests.server.asgi import (  # noqa: F401 (store_maker: a fixture)
    AGENT_TOKEN,
    EVENTS_TOKEN,
    EVERYTHING_ON,
    WEBHOOK_SECRET,
    refused,
    serving,
    store_maker,
)
from tests.server.conftest import SKILL_PATH, session_key, skill_payload

SETTINGS = EVERYTHING_ON
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}
EVENTS = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
SID = "edge-ids-test-0001"
NUL_USER = "사용자\x001"
LONG_USER = "가" * 2700  # 8.1 KB of UTF-8: past PostgreSQL's index entries
PURCHASE = {"id": "order-1", "kind": "purchase", "user": "shop:지아", "amount": 15_000}


@dataclass(frozen=True)
class Attack:
    """One request with a bad id, and the refusal it must get."""

    name: str
    method: str
    path: str
    status: int
    code: str
    error_path: str | None = None
    body: Any = None  # sent as JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    signed: bool = False  # signed as the helpdesk signs its webhook calls
    sessions: tuple[str, ...] = ()  # must not exist afterwards


def kakao(user: str = "사용자1", bot: str = "shop") -> Attack:
    return Attack(
        "",
        "POST",
        SKILL_PATH,
        400,
        "bad_id",
        body=skill_payload("안녕하세요", user=user, bot=bot),
        sessions=(session_key(user, bot),),
    )


def event(**changes: Any) -> dict[str, Any]:
    return {"events": [{**PURCHASE, **changes}]}


def named(name: str, attack: Attack, **changes: Any) -> Attack:
    return replace(attack, name=name, **changes)


ATTACKS = [
    # --- Kakao: userRequest.user.id and bot.id ---------------------------------------------------
    named("kakao_user_id_with_nul", kakao(NUL_USER), error_path="userRequest.user.id"),
    named("kakao_user_id_of_2700_characters", kakao(LONG_USER), error_path="userRequest.user.id"),
    named("kakao_user_id_of_257_characters", kakao("a" * 257), error_path="userRequest.user.id"),
    named("kakao_user_id_with_escape", kakao("\x1b[2J사용자"), error_path="userRequest.user.id"),
    named("kakao_user_id_with_line_break", kakao("사용자\n1"), error_path="userRequest.user.id"),
    named("kakao_user_id_with_c1_control", kakao("사용자\x851"), error_path="userRequest.user.id"),
    named("kakao_bot_id_with_nul", kakao(bot="shop\x00"), error_path="bot.id"),
    named("kakao_bot_id_of_300_characters", kakao(bot="b" * 300), error_path="bot.id"),
    # --- the agent API's paths -------------------------------------------------------------------
    Attack(
        "agent_conversation_user_with_nul",
        "GET",
        "/agent/api/conversations/web/agent%00user",
        400,
        "bad_id",
        "user",
        headers=AGENT,
    ),
    Attack(
        "agent_claim_channel_with_nul",
        "POST",
        "/agent/api/conversations/we%00b/someone/claim",
        400,
        "bad_id",
        "channel",
        headers=AGENT,
    ),
    Attack(
        "agent_note_user_of_2700_characters",
        "POST",
        "/agent/api/conversations/kakao/" + "x" * 2700 + "/note",
        400,
        "bad_id",
        "user",
        body={"text": "메모"},
        headers=AGENT,
        sessions=("kakao:" + "x" * 2700,),
    ),
    Attack(
        "agent_close_user_with_escape",
        "POST",
        "/agent/api/conversations/web/%1B%5B2J/close",
        400,
        "bad_id",
        "user",
        headers=AGENT,
    ),
    # --- business events -------------------------------------------------------------------------
    Attack(
        "event_user_with_nul",
        "POST",
        "/events",
        400,
        "bad_id",
        "events[0].user",
        body=event(user="shop:지\x00아"),
        headers=EVENTS,
    ),
    Attack(
        "event_id_of_2700_characters",
        "POST",
        "/events",
        400,
        "bad_id",
        "events[0].id",
        body=event(id="주" * 2700),
        headers=EVENTS,
    ),
    Attack(
        "event_kind_with_escape",
        "POST",
        "/events",
        400,
        "bad_id",
        "events[0].kind",
        body=event(kind="purchase\x1b"),
        headers=EVENTS,
    ),
    # --- the widget's session ids ----------------------------------------------------------------
    Attack(
        "widget_sid_with_nul",
        "POST",
        "/web/messages",
        400,
        "bad_message",
        body={"sid": SID + "\x00", "id": "m1", "text": "안녕하세요"},
        sessions=(f"web:{SID}\x00",),
    ),
    Attack("widget_history_sid_with_nul", "GET", f"/web/history?sid={SID}%00", 400, "bad_message"),
    # --- the helpdesk's webhook ------------------------------------------------------------------
    Attack(
        "helpdesk_user_with_nul",
        "POST",
        "/agent/webhook",
        400,
        "bad_id",
        "conversation.user",
        body={
            "id": "evt-1",
            "event": "conversation_status_changed",
            "status": "resolved",
            "conversation": {"channel": "kakao", "user": "shop:지\x00유"},
        },
        signed=True,
    ),
    Attack(
        "helpdesk_event_id_of_2700_characters",
        "POST",
        "/agent/webhook",
        400,
        "bad_id",
        "id",
        body={
            "id": "e" * 2700,
            "event": "message_created",
            "content": "안녕하세요",
            "conversation": {"channel": "kakao", "user": "shop:지유"},
        },
        signed=True,
    ),
]


def request_of(attack: Attack) -> dict[str, Any]:
    headers = dict(attack.headers)
    if attack.body is None:
        return {"headers": headers}
    content = json.dumps(attack.body, ensure_ascii=False).encode()
    headers["Content-Type"] = "application/json"
    if attack.signed:
        stamp = str(int(time.time()))  # the webhook's own clock is the wall clock
        headers["X-Botkit-Timestamp"] = stamp
        headers["X-Botkit-Signature"] = sign(WEBHOOK_SECRET, stamp, content)
    return {"headers": headers, "content": content}


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
async def test_a_bad_id_is_refused_the_same_way_on_every_store(
    attack: Attack, make_store: Callable[[], Store]
) -> None:
    async with serving(make_store, SETTINGS) as served:
        response = await served.client.request(attack.method, attack.path, **request_of(attack))

        refused(response, attack.status, attack.code, attack.error_path)
        await served.nothing_stored(*attack.sessions)
        await served.healthy()


async def test_the_longest_id_allowed_is_kept_and_found_on_every_store(
    make_store: Callable[[], Store],
) -> None:
    longest = "가" * 256  # 768 bytes of UTF-8, a Kakao session key of about 1.5 KB
    async with serving(make_store, SETTINGS) as served:
        said = await served.client.post(SKILL_PATH, json=skill_payload("안녕하세요", user=longest))
        assert said.status_code == 200
        session = await served.store.load(session_key(longest))
        assert session is not None
        assert session.state == "main.start"

        view = await served.client.get(
            f"/agent/api/conversations/kakao/shop:{longest}", headers=AGENT
        )
        assert view.status_code == 200
        assert view.json()["state"] == "main.start"


# -- user text ----------------------------------------------------------------------------------


async def test_the_widget_drops_control_characters_as_kakao_does(
    make_store: Callable[[], Store],
) -> None:
    typed = "배\x00송 조회\x1b[31m\x07"
    async with serving(make_store) as served:
        on_web = await served.client.post(
            "/web/messages", json={"sid": SID, "id": "m1", "text": typed}
        )
        on_kakao = await served.client.post(SKILL_PATH, json=skill_payload(typed))
        assert on_web.status_code == on_kakao.status_code == 200

        heard = {
            key: [
                (r.data or {})["text"]
                for r in await served.store.records(session=key, kind="message_in")
            ]
            for key in (f"web:{SID}", session_key())
        }
        assert heard == {f"web:{SID}": ["배송 조회[31m"], session_key(): ["배송 조회[31m"]}
        web = await served.store.load(f"web:{SID}")
        assert web is not None
        assert web.state == "order_status.ask_order"


async def test_line_breaks_and_tabs_stay_in_what_the_user_typed(
    make_store: Callable[[], Store],
) -> None:
    async with serving(make_store) as served:
        await served.client.post(
            "/web/messages", json={"sid": SID, "id": "m1", "text": "주소:\n서울시\t강남구\r"}
        )
        (said,) = await served.store.records(session=f"web:{SID}", kind="message_in")
        assert (said.data or {})["text"] == "주소:\n서울시\t강남구"


# -- Kakao user properties ----------------------------------------------------------------------


def properties_of_turn(turn: int) -> dict[str, Any]:
    """What a forged client sends as user properties: 40 new ones every message, and 3 long."""
    sent: dict[str, Any] = {f"p{turn}_{i}": "값" * 200 for i in range(40)}
    sent.update({f"long{turn}_{i}": "긴" * 1000 for i in range(3)})
    sent["plusfriendUserKey"] = "ck0123456789"
    sent["isFriend"] = turn % 2 == 0  # the latest copy wins
    return sent


async def test_kakao_properties_sent_with_every_message_do_not_grow_the_session(
    make_store: Callable[[], Store],
) -> None:
    async with serving(make_store) as served:
        for turn in range(60):
            payload = skill_payload("안녕하세요")
            payload["userRequest"]["user"]["properties"] = properties_of_turn(turn)
            assert (await served.client.post(SKILL_PATH, json=payload)).status_code == 200

        session = await served.store.load(session_key())
        assert session is not None
        profile = session.profile or {}
        assert len(profile) <= 50
        assert profile["plusfriendUserKey"] == "ck0123456789"
        assert profile["isFriend"] is False  # turn 59's
        assert not [name for name in profile if name.startswith("long")]
        assert all(name.startswith("p59_") for name in list(profile)[-40:])  # the latest kept
        assert len(encode_session(session, session.version).encode()) < 32 * 1024
        await served.healthy()
