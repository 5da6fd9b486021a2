"""The Python API for developers who embed botkit.

import botkit

app = botkit.load("flows/")

@app.action("issue_coupon")
async def issue_coupon(ctx: botkit.ActionContext) -> dict[str, str]:
    return {"code": "WINTER-1234"}

@app.validator("known_order_prefix")
def known_order_prefix(value: str, slots: Mapping[str, Any]) -> bool:
    return value[0] in "12"

async with app.run(store="sqlite:///bot.db") as bot:
    reply = await bot.handle("web", "user-1", "안녕하세요")
    print(reply.texts)
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from botkit.engine import Classifier, Engine, Validator
from botkit.flow import Bot, compile_bot, flow_files
from botkit.problems import Problem, render_problems
from botkit.runtime import ActionFunction, Runtime
from botkit.storage import Store, open_store

__all__ = ["BotApp", "FlowError", "load"]

F = TypeVar("F", bound=Callable[..., Any])


class FlowError(Exception):
    """The flow files have errors; ``problems`` lists them, ``str()`` shows them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(render_problems(problems))
        self.problems = problems


class BotApp:
    """A compiled bot plus the Python code it calls: actions, validators, a classifier."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.functions: dict[str, ActionFunction] = {}
        self.validators: dict[str, Validator] = {}
        self.classifier: Classifier | None = None
        self._engine: Engine | None = None

    def action(self, name: str) -> Callable[[F], F]:
        """Register a Python function (sync or async) for ``function: name`` actions."""

        def register(function: F) -> F:
            self.functions[name] = function
            return function

        return register

    def validator(self, name: str) -> Callable[[F], F]:
        """Register a slot validator ``(value, slots) -> bool`` for ``validator: name``."""

        def register(function: F) -> F:
            self.validators[name] = function
            self._engine = None
            return function

        return register

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.bot, validators=self.validators, classifier=self.classifier)
        return self._engine

    def runtime(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        stubs: Mapping[str, ActionFunction] | None = None,
    ) -> Runtime:
        """A runtime on ``store``. ``stubs`` replace actions by name (HTTP calls included)
        with functions: for tests, the simulator and benchmarks."""
        return Runtime(
            self.engine,
            store,
            functions=self.functions,
            http=http,
            env=dict(os.environ) if env is None else env,
            clock=clock,
            stubs=stubs,
        )

    @asynccontextmanager
    async def run(
        self,
        *,
        store: str | Store = "memory://",
        clock: Callable[[], float] = time.time,
        http: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        stubs: Mapping[str, ActionFunction] | None = None,
    ) -> AsyncIterator[Runtime]:
        """Open the store (a URL: ``memory://``, ``sqlite:///bot.db``) and run the bot."""
        opened = open_store(store) if isinstance(store, str) else store
        await opened.open()
        runtime = self.runtime(opened, clock=clock, http=http, env=env, stubs=stubs)
        try:
            yield runtime
        finally:
            await runtime.aclose()
            await opened.close()


def load(path: str | os.PathLike[str]) -> BotApp:
    """Compile the bot in ``path`` (a folder of flow files, or one file)."""
    result = compile_bot(flow_files(Path(path)))
    if result.bot is None:
        raise FlowError(result.errors or result.problems)
    return BotApp(result.bot)
