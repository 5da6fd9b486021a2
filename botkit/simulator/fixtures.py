"""Fixtures of conversation tests, turned into what the runtime takes: stubs and a clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from botkit.errors import BotkitError
from botkit.runtime import ActionContext, ActionFunction, Outcome
from botkit.simulator.testfile import ActionFixture

__all__ = ["SteppedClock", "stubs_for"]


class FixtureError(BotkitError, RuntimeError):
    """What an action fixture with ``error:`` raises (the action's result is ``error``)."""


def _stub(fixture: ActionFixture) -> ActionFunction:
    async def stub(ctx: ActionContext) -> Outcome:
        if fixture.delay:
            await asyncio.sleep(fixture.delay)  # the action's real deadline still applies
        if fixture.error is not None:
            raise FixtureError(fixture.error)
        return Outcome(fixture.result, dict(fixture.data))

    return stub


def stubs_for(actions: Mapping[str, ActionFixture]) -> dict[str, ActionFunction]:
    """One stub per action fixture, for ``Runtime(stubs=...)``."""
    return {name: _stub(fixture) for name, fixture in actions.items()}


class SteppedClock:
    """The conversation's clock: it stands still until a step moves it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
