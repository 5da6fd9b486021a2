"""A conversation keeps the version of the bot it started on; a new one starts on the live one.

Through the runtime, with an injected clock and a SQLite file: version 1 is the small bot in
``tests/bots/versions``; each test writes version 2 by changing its files' text, and makes it
live as a reload does (``Runtime.go_live``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from botkit.app import BotApp
from botkit.engine.session import Awaiting, Session
from botkit.errors import ConfigurationError
from botkit.flow import Bot, compile_texts
from botkit.keys import SessionKey
from botkit.metrics.compute import conversations_of, measure
from botkit.runtime import ActionContext, Failure, Runtime, versions as versions_module
from botkit.storage import SQLiteStore

FOLDER = Path(__file__).resolve().parents[1] / "bots" / "versions"
ASK_PHONE = "쿠폰을 받을 휴대폰 번호를 알려 주세요."
SENT_V1 = "쿠폰을 보냈어요. 감사합니다!"
SENT_V2 = "쿠폰이 발송되었어요. (새 버전)"
MIGRATED = "안내 내용이 새로 바뀌어서 처음부터 다시 도와드릴게요."  # botkit's own, in Korean
ERROR = "일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요."
HOUR = 3600.0
START = 1_790_000_000.0


def version(
    change: Callable[[str, str], str] = lambda name, text: text,
) -> tuple[Bot, dict[str, str]]:
    """The bot in FOLDER with ``change(file name, text)`` applied to each file."""
    sources = {p.name: change(p.name, p.read_text("utf-8")) for p in sorted(FOLDER.glob("*.yaml"))}
    result = compile_texts(sources.items())
    assert result.bot is not None, result.problems
    return result.bot, sources


def new_thanks(name: str, text: str) -> str:
    return text.replace(SENT_V1, SENT_V2)


def calls_python(name: str, text: str) -> str:
    """A version whose coupon is issued by a Python function, ``issue_coupon``."""
    if name == "bot.yaml":
        text += "actions:\n  issue_coupon:\n    function: issue_coupon\n"
    if name == "coupon.yaml":
        text = text.replace(
            "    next: done\n",
            "    next: issue\n"
            "  issue:\n"
            "    call: issue_coupon\n"
            "    on:\n"
            "      - result: ok\n"
            "        to: done\n"
            "      - result: error\n"
            "        to: done\n",
        )
    return text


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def running(
    path: Path, clock: Clock, bot_and_sources: tuple[Bot, dict[str, str]] | None = None
) -> AsyncIterator[Runtime]:
    """A runtime (a process of botkit serve) on the SQLite file at ``path``."""
    bot, sources = bot_and_sources or version()
    async with BotApp(bot, sources=sources).run(store=SQLiteStore(str(path)), clock=clock) as rt:
        yield rt


async def texts(rt: Runtime, text: str, user: str = "민지") -> list[str]:
    return (await rt.handle("web", user, text)).texts


async def migrations(rt: Runtime, user: str = "민지") -> list[tuple[str, str, str]]:
    found = await rt.conversations.records(SessionKey("web", user), kind="version_migrated")
    data = [r.data or {} for r in found]
    return [(d["from"], d["to"], d["how"]) for d in data]


async def test_a_conversation_finishes_on_the_version_it_started_on(tmp_path: Path) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        assert await rt.go_live(*version(new_thanks))
        clock.now += 10 * 60
        assert await texts(rt, "010-1234-5678") == [SENT_V1]  # version 1's words
        assert (await texts(rt, "쿠폰", user="서준"))[-1] == ASK_PHONE
        assert await texts(rt, "010-9876-5432", user="서준") == [SENT_V2]  # new: version 2
        # 민지's conversation ended; her next one runs on version 2
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        assert await texts(rt, "010-1234-5678") == [SENT_V2]
        assert await migrations(rt) == []


async def test_after_keep_versions_the_conversation_moves_to_the_live_version(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        assert (await texts(rt, "쿠폰", user="서준"))[-1] == ASK_PHONE
        await rt.go_live(*version(new_thanks))
        clock.now += 59 * 60  # within keep_versions (1h): still version 1
        assert await texts(rt, "010-9876-5432", user="서준") == [SENT_V1]
        clock.now += 2 * 60  # past it: version 1 is retired
        assert await texts(rt, "010-1234-5678") == [SENT_V2]
        assert await migrations(rt) == [("coupon.ask_phone", "coupon.ask_phone", "kept")]


def renamed(name: str, text: str) -> str:
    """Version 2: coupon.ask_phone is now coupon.phone_number, and version 1 retires at once."""
    text = text.replace("ask_phone", "phone_number")
    return text.replace("keep_versions: 1h", "keep_versions: 0s")


async def test_a_renamed_state_with_migrate_takes_the_answer_at_its_new_name(
    tmp_path: Path,
) -> None:
    def with_entry(name: str, text: str) -> str:
        text = renamed(name, text)
        if name == "bot.yaml":
            text += "migrate:\n  coupon.ask_phone: coupon.phone_number\n"
        return text

    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        await rt.go_live(*version(with_entry))
        assert await texts(rt, "010-1234-5678") == [SENT_V1]  # the same words in version 2
        assert await migrations(rt) == [("coupon.ask_phone", "coupon.phone_number", "migrate")]
        session = await rt.session("web", "민지")
        assert session is not None
        assert session.slots["phone"] == "010-1234-5678"


async def test_without_migrate_the_user_starts_the_flow_again_and_is_told(tmp_path: Path) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        await rt.go_live(*version(renamed))
        assert await texts(rt, "010-1234-5678") == [MIGRATED, ASK_PHONE]
        assert await migrations(rt) == [("coupon.ask_phone", "coupon.phone_number", "restart")]
        assert await texts(rt, "010-1234-5678") == [SENT_V1]
        # the number answered the question of a state that is gone: still masked in records
        said = await rt.conversations.records(SessionKey("web", "민지"), kind="message_in")
        assert [(r.data or {}).get("text") for r in said][-2:] == ["***", "***"]
        assert await texts(rt, "처음으로") != [ERROR]


async def test_a_worker_started_later_runs_earlier_versions_from_the_store(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
    # a restart with version 2 on disk: 민지's conversation is still version 1's
    async with running(tmp_path / "bot.db", clock, version(new_thanks)) as rt:
        assert await texts(rt, "010-1234-5678") == [SENT_V1]
        assert (await texts(rt, "쿠폰", user="서준"))[-1] == ASK_PHONE
        assert await texts(rt, "010-9876-5432", user="서준") == [SENT_V2]


async def test_a_session_of_a_version_nobody_kept_is_moved_never_answered_with_the_error(
    tmp_path: Path,
) -> None:
    """A session stored before botkit kept versions, at a state that is gone."""
    clock = Clock()
    store = SQLiteStore(str(tmp_path / "bot.db"))
    await store.open()
    old = Session(
        key="web:민지",
        user="민지",
        channel="web",
        bot_version="0123456789abcdef",
        state="coupon.ask_mobile",
        conversation=1,
        started_at=START,
        last_at=START,
        awaiting=Awaiting("slot", "phone"),
    )
    await store.commit(old, [], expected_version=0)
    await store.close()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert await texts(rt, "010-1234-5678") == [MIGRATED, ASK_PHONE]
        assert await texts(rt, "010-1234-5678") == [SENT_V1]
        assert await rt.conversations.records(SessionKey("web", "민지"), kind="error") == []


async def test_an_operators_step_on_a_retired_version_moves_it_quietly(tmp_path: Path) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        await rt.go_live(*version(renamed))
        reply = await rt.goto("web", "민지", "main.start")
        assert reply.failure is None
        assert reply.state == "main.start"
        assert await migrations(rt) == [("coupon.ask_phone", "coupon.phone_number", "restart")]


async def test_a_user_keeps_their_variant_across_versions(tmp_path: Path) -> None:
    def b_changed(name: str, text: str) -> str:
        return (
            text.replace("반가워요!", "반가워요 (새 버전)!")
            .replace("A: 50", "A: 90")
            .replace("B: 50", "B: 10")
        )

    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        await rt.update("web", "민지", variant="B")
        assert (await texts(rt, "안녕하세요"))[0].startswith("반가워요!")
        await rt.go_live(*version(b_changed))
        clock.now += 3 * HOUR  # the conversation ended; the next runs on version 2
        assert (await texts(rt, "안녕하세요"))[0].startswith("반가워요 (새 버전)!")


async def test_reports_can_be_cut_by_version(tmp_path: Path) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        v1 = rt.bot.version
        await texts(rt, "쿠폰")
        await texts(rt, "쿠폰", user="서준")
        await rt.go_live(*version(new_thanks))
        await texts(rt, "쿠폰", user="하은")
        records = await rt.conversations.records(SessionKey("web", "민지"))
        for user in ("서준", "하은"):
            records += await rt.conversations.records(SessionKey("web", user))
        metrics = measure(rt.bot, conversations_of(records), by="version")
    assert {name: m.conversations for name, m in metrics.groups.items()} == {
        v1: 2,
        rt.bot.version: 1,
    }


async def test_a_version_that_calls_an_unregistered_function_is_refused(tmp_path: Path) -> None:

    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        before = rt.bot.version
        with pytest.raises(ConfigurationError, match=r"BK502.*issue_coupon"):
            await rt.go_live(*version(calls_python))
        assert rt.bot.version == before
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE


async def test_a_turn_running_during_a_reload_finishes_on_its_version(tmp_path: Path) -> None:
    called, release = asyncio.Event(), asyncio.Event()
    bot, sources = version(calls_python)
    app = BotApp(bot, sources=sources)

    @app.action("issue_coupon")
    async def issue_coupon(ctx: ActionContext) -> dict[str, str]:
        called.set()
        await release.wait()
        return {"code": "WINTER-1234"}

    async with app.run(store=SQLiteStore(str(tmp_path / "bot.db")), clock=Clock()) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE
        turn = asyncio.create_task(rt.handle("web", "민지", "010-1234-5678"))
        await called.wait()  # the turn is inside its action
        assert await rt.go_live(*version(lambda n, t: new_thanks(n, calls_python(n, t))))
        release.set()
        assert (await turn).texts == [SENT_V1]
        assert (await texts(rt, "쿠폰", user="서준"))[-1] == ASK_PHONE
        assert await texts(rt, "010-9876-5432", user="서준") == [SENT_V2]


async def test_another_workers_reload_is_taken_from_the_store(tmp_path: Path) -> None:
    """Two processes on one store: one reloads, the other hears of it (a NOTIFY, or ``{}``
    after its LISTEN came back) and takes the live version from the store."""
    clock = Clock()
    async with (
        running(tmp_path / "bot.db", clock) as first,
        running(tmp_path / "bot.db", clock) as second,
    ):
        v1 = second.bot.version
        assert await first.go_live(*version(new_thanks))
        assert second.bot.version == v1  # not told yet
        assert await second.sync_versions()
        assert second.bot.version == first.bot.version != v1
        assert (await texts(second, "쿠폰", user="서준"))[-1] == ASK_PHONE
        assert await texts(second, "010-9876-5432", user="서준") == [SENT_V2]
        assert not await second.sync_versions()  # nothing new


async def test_conversations_of_an_earlier_version_coming_back_together_compile_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart, every conversation still on version 1 needs its engine at once: the
    first turn compiles it, the others wait for that compile rather than start their own."""
    users = ["민지", "서준", "하은", "도윤"]
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        for user in users:
            assert (await texts(rt, "쿠폰", user=user))[-1] == ASK_PHONE
    compiled: list[int] = []
    real = compile_texts  # what botkit.runtime.versions calls

    def counting(pairs: Any) -> Any:
        compiled.append(1)
        return real(pairs)

    monkeypatch.setattr(versions_module, "compile_texts", counting)
    async with running(tmp_path / "bot.db", clock, version(new_thanks)) as rt:
        answers = await asyncio.gather(*(texts(rt, "010-1234-5678", user=u) for u in users))
    assert answers == [[SENT_V1]] * len(users)
    assert len(compiled) == 1


async def test_a_failure_choosing_the_version_is_the_turns_error_reply_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    async with running(tmp_path / "bot.db", clock) as rt:
        assert (await texts(rt, "쿠폰"))[-1] == ASK_PHONE

    def broken(pairs: Any) -> Any:
        raise RuntimeError("a bug while compiling version 1 again")

    monkeypatch.setattr(versions_module, "compile_texts", broken)
    async with running(tmp_path / "bot.db", clock, version(new_thanks)) as rt:
        reply = await rt.handle("web", "민지", "010-1234-5678")
        assert reply.failure is Failure.ERROR
        assert reply.texts == [ERROR]
        monkeypatch.undo()  # the next turn tries again: nothing was kept, the version is not lost
        assert await texts(rt, "010-1234-5678") == [SENT_V1]
