"""pytest collects conversation tests (``*.test.yaml``): one test item per conversation.

Registered through the ``pytest11`` entry point, so any project with botkit installed runs its
conversation tests with plain ``pytest``. A failure is reported the way ``botkit test`` reports
it: where the expectation is, what was expected, what came instead, and the transcript.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botkit.errors import BotkitError
from botkit.simulator.testfile import SUFFIX, Conversation

__all__ = ["pytest_collect_file"]


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        file: ConversationFile = ConversationFile.from_parent(parent, path=file_path)
        return file
    return None


@functools.cache
def _app_for(folder: Path) -> Any:
    from botkit.app import load

    return load(folder)


class ProblemsInFile(BotkitError):
    """The test file (or its bot) has problems; nothing in it can run."""


class ConversationFailed(BotkitError):
    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


class ConversationFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from botkit.errors import ConfigurationError, FlowError
        from botkit.problems import render_problems
        from botkit.simulator.runner import bot_folder_for
        from botkit.simulator.testfile import load_test_file

        folder = bot_folder_for(self.path)
        if folder is None:
            yield BrokenFile.from_parent(
                self, name="(no bot)", message=f"{self.path}: no bot.yaml in its folders"
            )
            return
        try:
            app = _app_for(folder)
        except (FlowError, ConfigurationError) as exc:
            yield BrokenFile.from_parent(self, name="(bot)", message=str(exc))
            return
        test = load_test_file(self.path, app.bot, display=_shown(self.path))
        if not test.ok:
            yield BrokenFile.from_parent(
                self, name="(file)", message=render_problems(test.problems)
            )
            return
        for conversation in test.conversations:
            yield ConversationItem.from_parent(
                self, name=conversation.name, conversation=conversation, app=app
            )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class BrokenFile(pytest.Item):
    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise ProblemsInFile(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return self.message

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"conversation test file {self.name}"


class ConversationItem(pytest.Item):
    def __init__(self, *, conversation: Conversation, app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation = conversation
        self.app = app

    def runtest(self) -> None:
        from botkit.simulator.runner import format_failure, run_conversation

        result = asyncio.run(run_conversation(self.app, self.conversation))
        if not result.passed:
            raise ConversationFailed(format_failure(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConversationFailed):
            return excinfo.value.report
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.conversation.where.line - 1 if self.conversation.where else 0
        return self.path, line, f"conversation: {self.conversation.name}"
