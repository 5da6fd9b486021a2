"""``botkit test``: find conversation test files, run them, report, and say how it went."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from botkit.app import BotApp, load
from botkit.errors import ConfigurationError, FlowError
from botkit.problems import render_problems
from botkit.records import Record
from botkit.simulator.coverage import coverage, format_coverage
from botkit.simulator.runner import (
    ConversationResult,
    bot_folder_for,
    format_failure,
    run_conversation,
)
from botkit.simulator.testfile import find_test_files, load_test_file

__all__ = ["run_suite"]

Echo = Callable[[str], None]


def run_suite(
    path: Path,
    *,
    show_coverage: bool,
    echo: Echo,
    color: Callable[..., str],
    bot: Path | None = None,
) -> int:
    """Run every conversation test under ``path`` against ``bot`` (default: the nearest folder
    with a bot.yaml); the exit status (0 all passed, 1 not, 2 nothing to run or no bot)."""
    if bot is not None and not (bot / "bot.yaml").is_file():
        echo(f"error: no bot.yaml in {bot}")
        return 2
    folder = bot or bot_folder_for(path)
    if folder is None:
        echo(f"error: no bot.yaml in {path} or the folders above it; name the bot with --bot PATH")
        return 2
    try:
        app = load(folder)
    except (FlowError, ConfigurationError) as exc:
        echo(str(exc))
        return 1
    files = find_test_files(path)
    if not files:
        echo(f"error: no conversation test files (*.test.yaml) under {path}")
        return 2
    return asyncio.run(_run(app, files, show_coverage, echo, color))


async def _run(
    app: BotApp, files: list[Path], show_coverage: bool, echo: Echo, color: Callable[..., str]
) -> int:
    passed = failed = 0
    records: list[Record] = []
    for file in files:
        test = load_test_file(file, app.bot, display=_shown(file))
        if not test.ok:
            echo(render_problems(test.problems))
            failed += 1
            continue
        for conversation in test.conversations:
            result: ConversationResult = await run_conversation(app, conversation)
            records.extend(result.records)
            if result.passed:
                passed += 1
                echo(color("✓", fg="green") + f" {test.path} · {conversation.name}")
            else:
                failed += 1
                echo(color("✗", fg="red") + f" {test.path} · {conversation.name}")
                echo(_indent(format_failure(result)))
    if show_coverage:
        echo("")
        echo(format_coverage(coverage(app.bot, records)))
    echo("")
    summary = f"{passed} passed, {failed} failed"
    echo(color(summary, fg="red" if failed else "green", bold=True))
    return 1 if failed else 0


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
