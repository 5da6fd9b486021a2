"""Deploying a new version while people are mid-conversation, through a real ``botkit serve``.

Each test copies the reference bot (``flows/``) into a folder of its own, serves it with uvicorn
on loopback over a SQLite file, talks to it as KakaoTalk and the web widget do, then changes the
files and reloads (``POST /admin/reload``, as an operator or a deploy script does). What the
users meet next is the test.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

import botkit
from botkit.server import ServerSettings, create_app
from botkit.storage import SQLiteStore
from tests.server.conftest import (
    REPO,
    WEDNESDAY_MORNING,
    lookup_order,
    on_loopback,
    skill_payload,
    texts,
)

ADMIN = "admin-token-0123456789"
MIGRATED_KO = "안내가 새로워져서 처음부터 다시 도와드릴게요."
ERROR_KO = "일시적인 오류가 발생했어요"
ASK_ORDER_KO = "주문번호 10자리를 알려 주세요."
SID = "배포중인사용자".encode().hex()


@dataclass
class Deployed:
    folder: Path
    client: httpx.AsyncClient
    store: SQLiteStore
    schema: Draft202012Validator
    clock: list[float]
    sent: int = 0

    async def kakao(self, text: str, user: str = "카카오사용자") -> list[str]:
        response = await self.client.post("/kakao/skill", json=skill_payload(text, user=user))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        self.schema.validate(answer)
        return texts(answer)

    async def widget(self, text: str, sid: str = SID) -> list[str]:
        self.sent += 1
        body = {"sid": sid, "id": f"m{self.sent}", "text": text}
        response = await self.client.post("/web/messages", json=body)
        assert response.status_code == 200, response.text
        return [m["text"] for m in response.json()["messages"] if m.get("text")]

    async def reload(self) -> httpx.Response:
        return await self.client.post(
            "/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"}
        )

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        path = self.folder / name
        path.write_text(change(path.read_text("utf-8")), "utf-8")

    async def records(self, kind: str) -> list[Any]:
        return await self.store.records(kind=kind)


@pytest.fixture
async def deployed(
    tmp_path: Path, skill_response_schema: Draft202012Validator
) -> AsyncIterator[Deployed]:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder, ignore=shutil.ignore_patterns("tests"))
    clock = [WEDNESDAY_MORNING]  # inside the CS team's hours; a test may move it
    store = SQLiteStore(str(tmp_path / "botkit.db"))
    app = create_app(
        botkit.load(folder),
        ServerSettings(admin_token=ADMIN),
        store=store,
        stubs={"lookup_order": lookup_order},
        clock=lambda: clock[0],
    )
    async with contextlib.AsyncExitStack() as stack:
        port = await stack.enter_async_context(on_loopback(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10.0)
        )
        yield Deployed(folder, client, store, skill_response_schema, clock)


def rename_ask_order(deployed: Deployed, *, migrate: bool) -> None:
    """The deploy: order_status.ask_order becomes ask_order_number everywhere, the old version
    is retired at once (``keep_versions: 0s``), with or without a ``migrate:`` entry for it."""
    deployed.edit("order_status.yaml", lambda t: re.sub(r"\bask_order\b", "ask_order_number", t))
    for name in ("main.yaml", "faq.yaml"):
        deployed.edit(
            name, lambda t: t.replace("order_status.ask_order", "order_status.ask_order_number")
        )
    entry = "  order_status.ask_order: order_status.ask_order_number\n" if migrate else ""
    deployed.edit(
        "bot.yaml",
        lambda t: re.sub(
            r"keep_versions: 7d\nmigrate:\n.*\n",
            "keep_versions: 0s\n" + (f"migrate:\n{entry}" if migrate else ""),
            t,
        ),
    )


async def asked_for_the_order_number(deployed: Deployed) -> None:
    assert any(ASK_ORDER_KO in t for t in await deployed.kakao("배송 조회"))
    assert any(ASK_ORDER_KO in t for t in await deployed.widget("배송 조회"))


async def test_a_renamed_state_with_a_migrate_entry_takes_the_answer_at_the_new_state(
    deployed: Deployed,
) -> None:
    await asked_for_the_order_number(deployed)
    rename_ask_order(deployed, migrate=True)
    reloaded = await deployed.reload()
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["changed"] is True

    for said in (await deployed.kakao("1234-567-890"), await deployed.widget("1234-567-890")):
        assert any("배송중" in t for t in said), said
        assert not any(ERROR_KO in t for t in said)
        assert MIGRATED_KO not in said  # their place carried over: nothing to apologise for
    moved = await deployed.records("version_migrated")
    assert [(r.data["from"], r.data["to"], r.data["how"]) for r in moved] == [
        ("order_status.ask_order", "order_status.ask_order_number", "migrate")
    ] * 2
    assert {r.data["to_version"] for r in moved} == {reloaded.json()["version"]}
    assert await deployed.records("error") == []


async def test_without_an_entry_the_user_lands_at_the_flows_start_with_the_designers_message(
    deployed: Deployed,
) -> None:
    await asked_for_the_order_number(deployed)
    rename_ask_order(deployed, migrate=False)
    assert (await deployed.reload()).status_code == 200

    for said in (await deployed.kakao("1234-567-890"), await deployed.widget("1234-567-890")):
        assert said[0] == MIGRATED_KO
        assert any(ASK_ORDER_KO in t for t in said[1:])  # the flow's start: asked again
        assert not any(ERROR_KO in t for t in said)
    moved = await deployed.records("version_migrated")
    assert [(r.data["to"], r.data["how"]) for r in moved] == [
        ("order_status.ask_order_number", "restart")
    ] * 2
    # and the conversation goes on at the new state
    assert any("배송중" in t for t in await deployed.kakao("1234-567-890"))
    assert await deployed.records("error") == []


async def test_the_global_transitions_work_from_a_state_that_is_gone(deployed: Deployed) -> None:
    await asked_for_the_order_number(deployed)
    deployed.edit("order_status.yaml", lambda t: re.sub(r"\bask_order\b", "ask_order_number", t))
    for name in ("main.yaml", "faq.yaml"):
        deployed.edit(
            name, lambda t: t.replace("order_status.ask_order", "order_status.ask_order_number")
        )
    deployed.edit("bot.yaml", lambda t: t.replace("keep_versions: 7d", "keep_versions: 0s"))
    deployed.edit(
        "bot.yaml",
        lambda t: t.replace(
            "order_status.ask_order_no: order_status.ask_order",
            "order_status.ask_order_no: order_status.ask_order_number",
        ),
    )
    assert (await deployed.reload()).status_code == 200
    for said in (await deployed.kakao("처음으로"), await deployed.widget("처음으로")):
        assert not any(ERROR_KO in t for t in said)
        assert not any(ASK_ORDER_KO in t for t in said), said
        assert any("무엇을 도와드릴까요" in t or "반가워요" in t for t in said), said
    assert await deployed.records("error") == []


async def test_a_conversation_finishes_on_its_version_and_the_next_one_starts_on_the_new(
    deployed: Deployed,
) -> None:
    await asked_for_the_order_number(deployed)
    deployed.edit(
        "order_status.yaml",
        lambda t: t.replace(
            "주문번호 10자리를 알려 주세요.", "새 버전: 주문번호를 입력해 주세요."
        ),
    )
    reloaded = await deployed.reload()
    assert reloaded.status_code == 200
    assert reloaded.json()["changed"] is True
    v1, v2 = reloaded.json()["previous"], reloaded.json()["version"]

    # Mid-conversation on version 1: a wrong number is asked again in version 1's words.
    for said in (await deployed.kakao("12"), await deployed.widget("12")):
        assert not any("새 버전" in t for t in said), said
    assert any("배송중" in t for t in await deployed.kakao("1234-567-890"))
    # A new user starts on version 2.
    assert any("새 버전" in t for t in await deployed.kakao("배송 조회", user="새사용자"))
    # After the silence that ends a conversation, the same user's next one runs on version 2.
    deployed.clock[0] += 31 * 60
    await deployed.kakao("안녕하세요")
    assert any("새 버전" in t for t in await deployed.kakao("배송 조회"))

    starts = await deployed.records("conversation_start")
    by_user = [(r.user, r.data["version"]) for r in starts]
    assert by_user.count(("shop:카카오사용자", v1)) == 1
    assert ("shop:카카오사용자", v2) in by_user
    assert ("shop:새사용자", v2) in by_user
    assert await deployed.records("version_migrated") == []


async def test_a_version_with_problems_is_refused_and_the_old_one_keeps_serving(
    deployed: Deployed,
) -> None:
    await asked_for_the_order_number(deployed)
    before = (
        await deployed.client.get("/admin/version", headers={"Authorization": f"Bearer {ADMIN}"})
    ).json()
    deployed.edit("order_status.yaml", lambda t: t.replace("next: lookup", "next: lookupp"))
    refused = await deployed.reload()
    assert refused.status_code == 422
    body = refused.json()["error"]
    assert body["code"] == "flow_problems"
    assert body["version"] == before["version"]
    (problem,) = body["problems"]
    assert problem["code"] == "BK301"
    assert problem["path"].endswith("order_status.yaml")
    assert problem["line"] > 0
    assert problem["column"] > 0
    assert "lookupp" in problem["message"]
    assert any("배송중" in t for t in await deployed.kakao("1234-567-890"))


async def test_the_reload_door_needs_the_admin_token(deployed: Deployed) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        response = await deployed.client.post("/admin/reload", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_token"
