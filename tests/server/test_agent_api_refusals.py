"""An agent's step that cannot apply is refused, says why, and changes nothing, on SQLite and on
PostgreSQL: closing or handing back a conversation that never started (404) or that the bot
holds (409), a note on a user nobody knows (404). The same through the helpdesk's webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from botkit.server import AgentSettings, HelpdeskSettings, ServerSettings
from botkit.server.helpdesk import sign
from botkit.storage import Store
from tests.server.asgi import Served, refused, serving, store_maker  # noqa: F401 (a fixture)

HANEUL = "tok-haneul-0123456789"
WEBHOOK_SECRET = "webhook-secret-0123456789"
SETTINGS = ServerSettings(
    agent=AgentSettings(tokens=(f"하늘:{HANEUL}",)),
    helpdesk=HelpdeskSettings(webhook_secret=WEBHOOK_SECRET),
)
AGENT = {"Authorization": f"Bearer {HANEUL}"}
SID = "refusals-test-0001"
STRANGER = "nobody-ever-wrote-01"
STEPS = {  # each step of the agent API, with a body it accepts
    "claim": None,
    "message": {"text": "상담원입니다. 무엇을 도와드릴까요?"},
    "note": {"text": "사이즈 교환 문의"},
    "release": {"state": "main.start"},
    "close": None,
}


async def step(served: Served, name: str, sid: str = SID) -> Any:
    return await served.client.post(
        f"/agent/api/conversations/web/{sid}/{name}", json=STEPS[name], headers=AGENT
    )


async def widget_says(served: Served, text: str, message_id: str) -> None:
    said = await served.client.post(
        "/web/messages", json={"sid": SID, "id": message_id, "text": text}
    )
    assert said.json()["type"] == "reply"


async def stored(served: Served) -> tuple[list[tuple[str, int]], int]:
    """Every record (kind, seq) and the session's version: what a refusal must not change."""
    records = [(r.kind, r.seq) for r in await served.store.records()]
    session = await served.store.load(f"web:{SID}")
    return records, 0 if session is None else session.version


@pytest.mark.parametrize("name", list(STEPS))
async def test_a_step_for_a_user_who_never_wrote_is_404_and_creates_nothing(
    name: str, make_store: Callable[[], Store]
) -> None:
    async with serving(make_store, SETTINGS) as served:
        response = await step(served, name, STRANGER)

        error = refused(response, 404, "not_found")
        assert "no conversation" in error["message"]
        await served.nothing_stored(f"web:{STRANGER}")
        view = await served.client.get(f"/agent/api/conversations/web/{STRANGER}", headers=AGENT)
        refused(view, 404, "not_found")
        await served.healthy()


@pytest.mark.parametrize("name", ["claim", "message", "release", "close"])
async def test_a_handoff_step_on_a_conversation_the_bot_holds_is_409_and_changes_nothing(
    name: str, make_store: Callable[[], Store]
) -> None:
    async with serving(make_store, SETTINGS) as served:
        await widget_says(served, "안녕하세요", "m1")
        before = await stored(served)

        response = await step(served, name)

        error = refused(response, 409, "not_handed_off")
        assert "not handed off" in error["message"]
        assert await stored(served) == before
        assert not await served.store.records(kind="error")
        await served.healthy()


async def test_a_note_on_a_conversation_the_bot_holds_is_kept(
    make_store: Callable[[], Store],
) -> None:
    async with serving(make_store, SETTINGS) as served:
        await widget_says(served, "안녕하세요", "m1")
        assert (await step(served, "note")).json() == {"status": "bot"}
        (note,) = await served.store.records(kind="agent_note")
        assert (note.data or {})["text"] == "사이즈 교환 문의"


async def test_closing_twice_is_refused_the_second_time(make_store: Callable[[], Store]) -> None:
    async with serving(make_store, SETTINGS) as served:
        await widget_says(served, "상담원 연결해 주세요", "m1")
        assert (await step(served, "claim")).status_code == 200
        assert (await step(served, "close")).json() == {"status": "closed"}
        before = await stored(served)

        for name in ("close", "release", "message"):
            refused(await step(served, name), 409, "not_handed_off")

        assert await stored(served) == before
        assert not await served.store.records(kind="error")


async def test_the_agent_steps_still_work_on_a_handed_off_conversation(
    make_store: Callable[[], Store],
) -> None:
    async with serving(make_store, SETTINGS) as served:
        await widget_says(served, "상담원 연결해 주세요", "m1")
        for name in ("claim", "message", "note"):
            assert (await step(served, name)).status_code == 200
        released = await step(served, "release")
        assert released.json() == {"status": "bot", "state": "main.start"}
        kinds = [r.kind for r in await served.store.records(session=f"web:{SID}")]
        assert kinds.count("handoff_released") == 1
        assert "error" not in kinds


# -- the helpdesk's webhook --------------------------------------------------------------------


def signed(event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event, ensure_ascii=False).encode()
    stamp = str(int(time.time()))  # the webhook's own clock is the wall clock
    headers = {
        "Content-Type": "application/json",
        "X-Botkit-Timestamp": stamp,
        "X-Botkit-Signature": sign(WEBHOOK_SECRET, stamp, body),
    }
    return {"content": body, "headers": headers}


@pytest.mark.parametrize(
    ("event", "user", "status", "code"),
    [
        pytest.param(
            {"event": "conversation_status_changed", "status": "resolved"},
            STRANGER,
            404,
            "not_found",
            id="resolved_for_a_stranger",
        ),
        pytest.param(
            {"event": "message_created", "content": "안녕하세요"},
            STRANGER,
            404,
            "not_found",
            id="message_to_a_stranger",
        ),
        pytest.param(
            {"event": "conversation_status_changed", "status": "pending"},
            SID,
            409,
            "not_handed_off",
            id="pending_for_a_conversation_the_bot_holds",
        ),
        pytest.param(
            {"event": "conversation_status_changed", "status": "resolved"},
            SID,
            409,
            "not_handed_off",
            id="resolved_for_a_conversation_the_bot_holds",
        ),
    ],
)
async def test_the_helpdesk_is_refused_the_same_way(
    event: dict[str, Any],
    user: str,
    status: int,
    code: str,
    make_store: Callable[[], Store],
) -> None:
    async with serving(make_store, SETTINGS) as served:
        await widget_says(served, "안녕하세요", "m1")
        before = await stored(served)
        call = {"id": f"evt-{code}", **event, "conversation": {"channel": "web", "user": user}}

        response = await served.client.post("/agent/webhook", **signed(call))

        refused(response, status, code)
        assert await stored(served) == before
        assert await served.store.load(f"web:{STRANGER}") is None
        assert not await served.store.records(kind="error")
