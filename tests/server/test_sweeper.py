"""The handoff sweeper tells the user when nobody took their handoff (issue 18, fault 4).

What ``expire`` says (``messages.no_agent``) goes out through the agent API's ``deliver``, as an
agent's words do: pushed to the widget, kept in the session for the next answer on Kakao, which
can only answer. A handoff still within its wait, or taken, says nothing and sends nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from starlette.routing import BaseRoute

import botkit
from botkit.adapters.channel import Channels
from botkit.effects import Effect, Say
from botkit.runtime import Runtime
from botkit.server.agents import AgentApi
from botkit.server.config import AgentSettings
from botkit.server.sweeper import Sweeper
from tests.server.conftest import REPO, WEDNESDAY_MORNING, lookup_order

NO_AGENT = "기다려 주셔서 감사해요. 지금은 연결할 수 있는 상담원이 없어서 제가 도와드릴게요."


class Heard:
    """A channel that writes down what it was handed (user, texts); ``keeps``: it can only
    answer, as Kakao."""

    def __init__(self, name: str, *, keeps: bool, said: list[tuple[str, str, list[str]]]) -> None:
        self.name = name
        self.keeps = keeps
        self.said = said

    def routes(self) -> list[BaseRoute]:
        return []

    async def start(self) -> None:
        return None

    async def deliver(self, user: str, effects: Sequence[Effect]) -> None:
        self.said.append((self.name, user, [e.text or "" for e in effects if isinstance(e, Say)]))


class Delivered(Channels):
    """The widget (pushes) and Kakao (keeps), writing down what they were handed."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str, list[str]]] = []
        super().__init__(
            Heard("web", keeps=False, said=self.said), Heard("kakao", keeps=True, said=self.said)
        )


@contextlib.asynccontextmanager
async def _sweeping(now: list[float]) -> AsyncIterator[tuple[Runtime, Sweeper, Delivered]]:
    """The reference bot on a clock the test moves, and a sweeper whose deliveries are kept."""
    app = botkit.load(REPO / "flows")
    async with app.run(clock=lambda: now[0], stubs={"lookup_order": lookup_order}) as runtime:
        delivered = Delivered()
        agents = AgentApi(runtime, AgentSettings(), delivered.deliver)
        yield runtime, Sweeper(runtime, agents, delivered, every_s=30), delivered


async def test_a_handoff_nobody_took_is_delivered_to_the_user() -> None:
    now = [WEDNESDAY_MORNING]
    async with _sweeping(now) as (runtime, sweeper, delivered):
        await runtime.handle("web", "유나", "상담원 연결해 주세요")
        await sweeper.sweep("web", "유나")  # within the ten minutes: nothing to say
        assert delivered.said == []
        now[0] += 11 * 60
        await sweeper.sweep("web", "유나")

        assert delivered.said == [("web", "유나", [NO_AGENT])]
        session = await runtime.session("web", "유나")
        assert session is not None
        assert (session.state, str(session.awaiting)) == ("support.no_agent", "arrive")


async def test_a_handoff_an_agent_took_is_left_alone() -> None:
    now = [WEDNESDAY_MORNING]
    async with _sweeping(now) as (runtime, sweeper, delivered):
        await runtime.handle("web", "유나", "상담원 연결해 주세요")
        await runtime.claim("web", "유나", agent="하늘")
        now[0] += 60 * 60
        await sweeper.sweep("web", "유나")
        assert delivered.said == []
        session = await runtime.session("web", "유나")
        assert session is not None
        assert session.status == "with_agent"


async def test_kakao_keeps_the_words_in_the_turn_that_moved_the_user() -> None:
    """Kakao can only answer: what the sweeper's turn says waits in the session, written by
    that same turn (no second turn a message could come between), and nothing is pushed."""
    now = [WEDNESDAY_MORNING]
    async with _sweeping(now) as (runtime, sweeper, delivered):
        await runtime.handle("kakao", "유나", "상담원 연결해 주세요")
        now[0] += 11 * 60
        await sweeper.sweep("kakao", "유나")

        assert delivered.said == []
        session = await runtime.session("kakao", "유나")
        assert session is not None
        assert [bubble.get("text") for bubble in session.outbox or ()] == [NO_AGENT]
        assert (session.state, str(session.awaiting)) == ("support.no_agent", "arrive")
        reply = await runtime.handle("kakao", "유나", "여보세요?", with_kept=True)
        said = [e.text for e in reply.effects if isinstance(e, Say)]
        assert said[0] == NO_AGENT  # first, then the no_agent state and its question
        assert len(said) > 1
