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

import hashlib
import importlib.util
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from botkit.engine import Classifier, Engine, Validator
from botkit.errors import ConfigurationError, FlowError
from botkit.flow import Bot, compile_bot, flow_files
from botkit.runtime import ActionFunction, Runtime
from botkit.storage import Store, open_store

__all__ = ["BotApp", "ConfigurationError", "FlowError", "load"]

F = TypeVar("F", bound=Callable[..., Any])


class BotApp:
    """A compiled bot plus the Python code it calls: actions, validators, a classifier."""

    def __init__(
        self, bot: Bot, *, sources: Mapping[str, str] | None = None, path: Path | None = None
    ) -> None:
        self.bot = bot
        # The flow files ``bot`` was compiled from (the store keeps them with each version)
        # and the folder they came from (what a reload compiles again).
        self.sources: dict[str, str] = dict(sources or {})
        self.path = path
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
            await runtime.go_live(self.bot, self.sources)  # kept in the store, as serve does
            yield runtime
        finally:
            await runtime.aclose()
            await opened.close()


ACTIONS_FILE = "actions.py"


def load(path: str | os.PathLike[str], *, actions: bool = True) -> BotApp:
    """Compile the bot in ``path`` (a folder of flow files, or one file).

    With ``actions`` (the default), a file ``actions.py`` beside the flows is imported and its
    ``setup(app)`` called: that is where a bot registers its Python actions and validators, so
    that ``botkit shell``, ``botkit test`` and ``botkit serve`` run the same bot as your code.
    """
    folder = Path(path)
    if not folder.exists():
        raise ConfigurationError(
            f"{folder}: no such folder or file (botkit.load needs a folder of flow files or one)"
        )
    result = compile_bot(flow_files(folder))
    if result.bot is None:
        raise FlowError(result.errors or result.problems)
    app = BotApp(result.bot, sources=result.sources, path=folder)
    setup_file = (folder if folder.is_dir() else folder.parent) / ACTIONS_FILE
    if actions and setup_file.is_file():
        _run_setup(setup_file, app)
    return app


def _run_setup(path: Path, app: BotApp) -> None:
    # Imported under a name of its own per folder, so two bots' actions.py never collide.
    name = "botkit_actions_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigurationError(
            f"{path}: importing it failed: {type(exc).__name__}: {exc}"
        ) from exc
    setup = getattr(module, "setup", None)
    if not callable(setup):
        raise ConfigurationError(
            f"{path}: define 'def setup(app):' that registers actions and validators"
        )
    setup(app)
