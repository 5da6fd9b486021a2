"""The runtime end to end: real HTTP lookups on loopback, deadlines, concurrency, commits."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import botkit
from botkit.app import BotApp
from botkit.engine import Session
from botkit.errors import StorageError
from botkit.keys import SessionKey
from botkit.records import Record
from botkit.storage import MemoryStore, SQLiteStore, Store
from tests.runtime.conftest import Courier

REPO = Path(__file__).resolve().parents[2]
WEDNESDAY_10AM = 1_795_568_400.0


class Clock:
    def __init__(self, at: float = WEDNESDAY_10AM) -> None:
        self.at = at

    def __call__(self) -> float:
        self.at += 0.5
        return self.at


def reference_app(tmp_path: Path, courier: Courier) -> BotApp:
    """The reference bot, with its courier URL pointed at the local test server."""
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    for path in folder.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("http://127.0.0.1:8089", courier.base), encoding="utf-8")
    app = botkit.load(folder)
    app.validator("known_order_prefix")(lambda value, slots: True)

    @app.action("issue_coupon")
    def issue_coupon(ctx: botkit.ActionContext) -> dict[str, str]:
        return {"code": "WINTER-2026"}

    return app


async def test_order_status_over_a_real_http_lookup(tmp_path: Path, courier: Courier) -> None:
    app = reference_app(tmp_path, courier)
    store = SQLiteStore(str(tmp_path / "bot.db"))
    async with app.run(store=store, clock=Clock(), env={"COURIER_API_TOKEN": "s3cret"}) as bot:
        greeting = await bot.handle("web", "민지", "안녕하세요")
        assert "배송 조회" in [
            c.label for e in greeting.effects for c in getattr(e, "choices", ())
        ]
        await bot.handle("web", "민지", "배송 조회", payload="order_status")
        bad = await bot.handle("web", "민지", "12-34")
        assert bad.texts == ["주문번호는 숫자 10자리예요. 다시 입력해 주세요."]
        reply = await bot.handle("web", "민지", "1234-567-890")
        assert reply.state == "order_status.in_transit"
        assert "주문 1234567890은(는) 지금 '배송중' 상태예요." in reply.texts
        assert courier.requests == ["GET /orders/1234567890?lang=ko"]
        assert courier.headers[0]["Authorization"] == "Bearer s3cret"
        home = await bot.handle("web", "민지", "처음으로")
        assert home.state == "main.start"
    reopened = SQLiteStore(str(tmp_path / "bot.db"))
    await reopened.open()
    try:
        session = await reopened.load("web:민지")
        assert session is not None
        assert session.state == "main.start"
        assert session.slots["order_no"] == "1234567890"
        records = await reopened.records(session="web:민지")
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        action = next(r for r in records if r.kind == "action")
        assert action.data is not None
        assert action.data["result"] == "ok"
        assert action.data["latency_ms"] > 0
    finally:
        await reopened.close()


@pytest.mark.parametrize("path", ["hang", "drip"])
async def test_a_lookup_that_never_finishes_takes_the_error_route_at_the_deadline(
    tmp_path: Path, courier: Courier, path: str
) -> None:
    app = reference_app(tmp_path, courier)
    for flow_file in (tmp_path / "flows").glob("bot.yaml"):
        text = flow_file.read_text(encoding="utf-8")
        flow_file.write_text(
            text.replace("/orders/{{order_no}}", f"/{path}/{{{{order_no}}}}"), encoding="utf-8"
        )
    app = botkit.load(tmp_path / "flows")
    app.validator("known_order_prefix")(lambda value, slots: True)
    app.action("issue_coupon")(lambda ctx: {})
    deadline = app.bot.actions["lookup_order"].deadline
    async with app.run(store=MemoryStore(), clock=Clock()) as bot:
        await bot.handle("web", "서준", "안녕하세요")
        await bot.handle("web", "서준", "배송 조회", payload="order_status")
        started = time.perf_counter()
        reply = await bot.handle("web", "서준", "1234-567-890")
        elapsed = time.perf_counter() - started
        # The exact overshoot is measured by bench/action_deadline.py; here: it did not hang.
        assert elapsed < deadline + 1.0
        assert "택배사 조회가 지금 원활하지 않아요" in " ".join(reply.texts)
        assert reply.state == "main.start"
        records = await bot.conversations.records(SessionKey("web", "서준"), kind="action")
        assert records[0].data is not None
        assert records[0].data["result"] == "timeout", records[0].data
        after = await bot.handle("web", "서준", "배송 조회", payload="order_status")
        assert after.state == "order_status.ask_order"  # the session is consistent


@pytest.mark.parametrize(
    ("number", "state"),
    [("0234-567-890", "order_status.not_found"), ("5234-567-890", "main.start")],
)
async def test_http_status_and_bad_json_are_results(
    tmp_path: Path, courier: Courier, number: str, state: str
) -> None:
    app = reference_app(tmp_path, courier)
    async with app.run(store=MemoryStore(), clock=Clock()) as bot:
        await bot.handle("web", "u", "안녕하세요")
        await bot.handle("web", "u", "배송 조회", payload="order_status")
        reply = await bot.handle("web", "u", number)
        assert reply.state == state


COUNTER = """
flow: counter
start: count
states:
  count:
    say: "하나 더"
    on:
      - any: true
        to: count
"""


@pytest.mark.parametrize("concurrent", [2, 10])
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_concurrent_messages_for_one_user_lose_nothing(
    tmp_path: Path, concurrent: int, backend: str
) -> None:
    (tmp_path / "counter.yaml").write_text(COUNTER, encoding="utf-8")
    app = botkit.load(tmp_path / "counter.yaml")
    store: Store = MemoryStore() if backend == "memory" else SQLiteStore(str(tmp_path / "c.db"))
    async with app.run(store=store, clock=Clock()) as bot:
        sent = 0
        for _ in range(100):
            replies = await asyncio.gather(
                *(bot.handle("web", "한결", f"메시지 {i}") for i in range(concurrent))
            )
            sent += concurrent
            assert all(r.ok for r in replies)
        session = await store.load("web:한결")
        assert session is not None
        assert session.turn == sent  # no lost update: every message counted
        records = await store.records(session="web:한결")
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        assert sum(1 for r in records if r.kind == "message_in") == sent
        assert len(bot.locks) == 0  # no lock left behind


class FailingStore(MemoryStore):
    """Commits fail the way a full disk or a lost database connection does."""

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        raise StorageError("disk full")


async def test_a_failed_commit_keeps_nothing_and_answers_with_the_error_message(
    tmp_path: Path, courier: Courier
) -> None:
    app = reference_app(tmp_path, courier)
    store = FailingStore()
    async with app.run(store=store, clock=Clock()) as bot:
        reply = await bot.handle("web", "지우", "안녕하세요")
        assert (reply.ok, reply.unavailable) == (False, True)  # channels answer 503
        assert reply.texts == ["일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요."]
        assert await store.load("web:지우") is None
        assert await store.records() == []


class BrokenStore(MemoryStore):
    """A store with a bug: it raises something other than StorageError."""

    async def load(self, key: str) -> Session | None:
        raise RuntimeError("driver bug")


async def test_a_store_bug_is_the_flows_error_message_not_a_traceback(
    tmp_path: Path, courier: Courier
) -> None:
    app = reference_app(tmp_path, courier)
    async with app.run(store=BrokenStore(), clock=Clock()) as bot:
        reply = await bot.handle("web", "지우", "안녕하세요")
    assert (reply.ok, reply.unavailable) == (False, False)
    assert reply.texts == ["일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요."]


async def test_unregistered_functions_are_reported_before_serving(
    tmp_path: Path, courier: Courier
) -> None:
    app = reference_app(tmp_path, courier)
    app.functions.clear()
    with pytest.raises(botkit.ConfigurationError, match="issue_coupon"):
        app.runtime(MemoryStore())


def test_load_reports_flow_problems(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(COUNTER.replace("to: count", "to: cont"), "utf-8")
    with pytest.raises(botkit.FlowError) as caught:
        botkit.load(tmp_path / "broken.yaml")
    assert caught.value.problems[0].code == "BK301"
    assert "did you mean 'count'?" in str(caught.value)


async def test_function_actions_sync_async_and_failing(tmp_path: Path) -> None:
    flow = """
    flow: coupon
    start: ask
    actions:
      give:
        function: give
        deadline: 200ms
        save: {code: code}
        results: [already]
    slots:
      code: {type: text}
    states:
      ask:
        call: give
        on:
          - result: ok
            to: done
          - result: already
            to: had
          - result: error
            to: failed
      done:
        say: "쿠폰 {{code}}"
        end: resolved
      had:
        say: "이미 받으셨어요"
        end: resolved
      failed:
        say: "실패"
        end: failed
    """
    import textwrap

    (tmp_path / "coupon.yaml").write_text(textwrap.dedent(flow), "utf-8")
    outcomes: list[Any] = [{"code": "A1"}, "already", RuntimeError("down"), "slow"]

    app = botkit.load(tmp_path / "coupon.yaml")

    @app.action("give")
    async def give(ctx: botkit.ActionContext) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == "slow":
            await asyncio.sleep(5)
        return outcome

    async with app.run(store=MemoryStore(), clock=Clock()) as bot:
        assert (await bot.handle("web", "a", "시작")).texts == ["쿠폰 A1"]
        assert (await bot.handle("web", "b", "시작")).texts == ["이미 받으셨어요"]
        assert (await bot.handle("web", "c", "시작")).texts == ["실패"]
        assert (await bot.handle("web", "d", "시작")).texts == ["실패"]  # over the deadline


class FlakyStore(MemoryStore):
    """The second commit fails (a lost connection, say); the others go through."""

    def __init__(self) -> None:
        super().__init__()
        self.commits = 0

    async def commit(
        self, session: Session, records: Sequence[Record], *, expected_version: int
    ) -> int:
        self.commits += 1
        if self.commits == 2:
            raise StorageError("connection lost")
        return await super().commit(session, records, expected_version=expected_version)


async def test_a_turn_that_fails_leaves_no_trace_in_the_next_one(tmp_path: Path) -> None:
    (tmp_path / "counter.yaml").write_text(COUNTER, encoding="utf-8")
    app = botkit.load(tmp_path / "counter.yaml")
    store = FlakyStore()
    async with app.run(store=store, clock=Clock()) as bot:
        assert (await bot.handle("web", "하린", "하나")).ok
        assert not (await bot.handle("web", "하린", "둘")).ok  # the engine ran; nothing kept
        assert (await bot.handle("web", "하린", "셋")).ok
        session = await store.load("web:하린")
        assert session is not None
        assert session.turn == 2  # "하나" and "셋": the failed turn's changes were not reused
        texts = [r.data["text"] for r in await store.records(kind="message_in") if r.data]
        assert texts == ["하나", "셋"]


async def test_stubs_answer_declared_http_calls_without_the_network(
    tmp_path: Path, courier: Courier
) -> None:
    app = reference_app(tmp_path, courier)
    asked: list[str] = []

    def lookup(ctx: botkit.ActionContext) -> dict[str, Any]:
        asked.append(str(ctx.slots["order_no"]))
        return {"status": "배송완료", "delivery": {"eta": "어제", "courier": "우체국"}}

    async with app.run(store=MemoryStore(), clock=Clock(), stubs={"lookup_order": lookup}) as bot:
        await bot.handle("web", "도윤", "안녕하세요")
        await bot.handle("web", "도윤", "배송 조회", payload="order_status")
        reply = await bot.handle("web", "도윤", "1234-567-890")
    assert asked == ["1234567890"]
    assert "배송이 완료되었어요" in " ".join(reply.texts)
    assert courier.requests == []  # the declared HTTP call never left the process


async def test_a_stub_for_an_undeclared_action_is_refused(
    tmp_path: Path, courier: Courier
) -> None:
    app = reference_app(tmp_path, courier)
    with pytest.raises(botkit.ConfigurationError, match="lookup_ordr"):
        app.runtime(MemoryStore(), stubs={"lookup_ordr": lambda ctx: {}})


async def test_operator_steps_goto_reset_variant_profile_and_agent(tmp_path: Path) -> None:
    app = botkit.load(REPO / "flows")
    async with app.run(
        store=MemoryStore(), clock=Clock(), stubs={"lookup_order": lambda ctx: {}}
    ) as bot:
        with pytest.raises(botkit.StepRefused, match=r"no state 'order_status\.nowhere'"):
            await bot.goto("web", "수아", "order_status.nowhere")
        reply = await bot.goto("web", "수아", "order_status.ask_order")
        assert reply.state == "order_status.ask_order"
        assert reply.texts[0].startswith("주문번호 10자리를 알려 주세요.")

        with pytest.raises(botkit.StepRefused, match="no experiment has a variant 'Z'"):
            await bot.update("web", "수아", variant="Z")
        await bot.update("web", "수아", variant="B", profile={"grade": "vip"})
        session = await bot.session("web", "수아")
        assert session is not None
        assert session.variants == {"greeting_title": "B", "refund_copy": "B"}
        assert session.profile == {"grade": "vip"}

        with pytest.raises(botkit.StepRefused, match="not handed off"):
            await bot.agent_message("web", "수아", "안녕하세요")
        await bot.handle("web", "수아", "상담원")
        reply = await bot.agent_message("web", "수아", "상담원 김하늘입니다.", agent="하늘")
        assert reply.status == "with_agent"
        assert [(r.kind, r.data) for r in reply.records][-1] == (
            "agent_message",
            {"agent": "하늘", "text": "상담원 김하늘입니다."},
        )

        reply = await bot.reset("web", "수아")
        assert reply.status == "closed"
        assert reply.records[-1].data == {"outcome": "reset"}
        reply = await bot.handle("web", "수아", "안녕하세요")
        assert reply.state == "main.start"


async def test_two_agents_claiming_at_once_exactly_one_wins_every_time() -> None:
    app = botkit.load(REPO / "flows")
    async with app.run(store=MemoryStore(), clock=Clock()) as bot:
        for n in range(100):
            user = f"고객{n}"
            await bot.handle("web", user, "상담원 연결해 주세요")
            outcomes = await asyncio.gather(
                bot.claim("web", user, agent="하늘"),
                bot.claim("web", user, agent="바다"),
                return_exceptions=True,
            )
            won = [o for o in outcomes if isinstance(o, botkit.Reply)]
            lost = [o for o in outcomes if isinstance(o, botkit.StepRefused)]
            assert (len(won), len(lost)) == (1, 1), outcomes
            assert "already with" in str(lost[0])
            session = await bot.session("web", user)
            assert session is not None
            assert session.status == "with_agent"
            claims = await bot.conversations.records(
                SessionKey("web", user), kind="handoff_claimed"
            )
            assert len(claims) == 1
            assert claims[0].data is not None
            assert claims[0].data["agent"] == session.agent
            # The winner may write; the other agent may not.
            loser = "바다" if session.agent == "하늘" else "하늘"
            with pytest.raises(botkit.StepRefused):
                await bot.agent_message("web", user, "제가 도와드릴게요", agent=loser)


async def test_a_sweeper_moves_on_a_handoff_nobody_took_in_time() -> None:
    clock = Clock()
    app = botkit.load(REPO / "flows")
    async with app.run(store=MemoryStore(), clock=clock) as bot:
        await bot.handle("web", "유나", "상담원")
        assert (await bot.expire("web", "유나")).records == []  # not yet: nothing happens
        clock.at += 10 * 60
        reply = await bot.expire("web", "유나")
        # Placed at the timeout state, not entered: the user is away, and only told.
        assert reply.state == "support.no_agent"
        assert reply.status == "bot"
        assert [r.kind for r in reply.records][:2] == ["handoff_timeout", "transition"]
        assert reply.texts == [
            "기다려 주셔서 감사해요. 지금은 연결할 수 있는 상담원이 없어서 제가 도와드릴게요."
        ]
