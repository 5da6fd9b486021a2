"""``botkit shell``: chat with a bot in the terminal, through the real runtime and store.

The shell plays the user (and, during a handoff, the human agent), shows each turn as the
chosen channel would, and can record the session as a conversation test. What it types goes
through :class:`~botkit.runtime.Runtime` exactly as a channel's messages do: the same engine,
the same store, the same action calls (or their fixtures).

With ``--record`` or ``--fixtures`` the shell runs on the clock ``botkit test`` uses (it stands
still and moves ``fixtures.step`` before each message), so a recorded conversation says the
same dates and business-hours answers when it is replayed. Otherwise it runs on the wall clock.

When standard input is not a terminal, lines are read with ``input()`` and output is plain
text, so the shell can be scripted: ``printf '1\\n/slots\\n' | botkit shell flows/``.

This module is the program: it opens the bot and the store, reads lines and ends the session
(saving the recording). What a line does is :class:`~botkit.simulator.shell_commands.Shell`'s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from botkit.app import BotApp, load
from botkit.errors import BotkitError, ConfigurationError, FlowError, StorageError
from botkit.simulator.console_render import CHANNELS, OneLineLog, Screen
from botkit.simulator.fixtures import SteppedClock, stubs_for
from botkit.simulator.recording import FixtureFile, FixtureFileError, Recorder, read_fixtures
from botkit.simulator.shell_commands import Shell
from botkit.simulator.testfile import SUFFIX, Fixtures
from botkit.storage import SQLiteStore, Store, open_store

__all__ = ["Shell", "ShellError", "ShellOptions", "run_shell"]


@dataclass(frozen=True, slots=True)
class ShellOptions:
    path: Path
    flow: str | None = None  # open the conversation in this flow instead of the start flow
    user: str | None = None
    channel: str | None = None  # console | kakao | web
    debug: bool = False
    record: Path | None = None
    fixtures: Path | None = None
    store: str | None = None  # a store URL; None: a SQLite file in a temporary folder
    variant: str | None = None  # this variant of every experiment that has it (over the fixtures')


class ShellError(BotkitError):
    """The shell cannot start; ``str()`` is what to print, ``code`` the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- the program ------------------------------------------------------------------------------


class LineReader(Protocol):
    async def read(self) -> str:
        """The next line; EOFError at the end of input, KeyboardInterrupt on Ctrl-C."""
        ...


class TerminalReader:
    """prompt_toolkit: line editing, a history kept between sessions, and wide (Hangul) input."""

    def __init__(self) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.formatted_text import FormattedText

        self._prompt = FormattedText([("bold ansigreen", "> ")])
        self._session: PromptSession[str] = PromptSession(history=_history())

    async def read(self) -> str:
        return await self._session.prompt_async(self._prompt)


class PipeReader:
    """Lines from a pipe or a file, for scripts."""

    async def read(self) -> str:
        return input()  # nothing else runs while the shell waits for a line


def _history() -> Any:
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for path in (cache / "botkit" / "shell_history", Path.home() / ".botkit_history"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError:
            continue  # a read-only home: try the next place, or keep no history
        return FileHistory(str(path))
    return InMemoryHistory()


def run_shell(options: ShellOptions, *, interactive: bool | None = None) -> int:
    """Run the shell until /quit or the end of input; the exit status."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        console = Console(highlight=False)
    else:
        console = Console(highlight=False, color_system=None, force_terminal=False)
    screen = Screen(console, plain=not interactive)
    reader: LineReader = TerminalReader() if interactive else PipeReader()
    try:
        return asyncio.run(_session(options, screen, reader))
    except ShellError as error:
        print(error, file=sys.stderr)
        return error.code
    except Exception as exc:  # never a traceback: one line that can go into a bug report
        print(f"botkit shell: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _session(options: ShellOptions, screen: Screen, reader: LineReader) -> int:
    app = _load(options.path)
    if options.flow is not None and options.flow not in app.bot.flows:
        flows = ", ".join(sorted(app.bot.flows))
        raise ShellError(f"--flow: no flow '{options.flow}'; the flows are: {flows}", code=2)
    try:
        fixture_file = read_fixtures(options.fixtures, app) if options.fixtures else None
    except FixtureFileError as exc:
        raise ShellError(str(exc)) from exc
    fixtures = fixture_file.fixtures if fixture_file else Fixtures()
    if options.variant is not None:
        fixtures = replace(fixtures, variant=_known_variant(app, options.variant))
    channel = options.channel or (fixtures.channel if fixtures.channel in CHANNELS else "console")
    user = options.user or fixtures.user
    stepped = options.record is not None or options.fixtures is not None
    clock = SteppedClock(fixtures.start_time(app.bot.timezone)) if stepped else None
    with tempfile.TemporaryDirectory(prefix="botkit-shell-") as scratch:
        store = _store(options.store, Path(scratch))
        try:
            await store.open()
        except StorageError as exc:
            raise ShellError(f"--store: cannot open the store: {exc}") from exc
        try:
            runtime = app.runtime(
                store, clock=clock or time.time, stubs=stubs_for(fixtures.actions)
            )
        except ConfigurationError as exc:
            await store.close()
            raise ShellError(str(exc)) from exc
        recorder = None
        if options.record is not None:
            recorder = _recorder(options.record, fixture_file, channel, user, fixtures.variant)
        shell = Shell(
            app,
            runtime,
            screen,
            channel=channel,
            user=user,
            fixtures=fixtures,
            clock=clock,
            recorder=recorder,
            debug=options.debug,
            start_flow=options.flow,
        )
        log = logging.getLogger("botkit")
        handler = OneLineLog(screen)
        log.addHandler(handler)
        log.propagate = False  # else Python's last-resort handler prints tracebacks
        try:
            await _converse(shell, reader)
        finally:
            log.removeHandler(handler)
            log.propagate = True
            await runtime.aclose()
            await store.close()
    return _finish_recording(recorder, screen) if recorder else 0


def _load(path: Path) -> BotApp:
    try:
        return load(path)
    except (FlowError, ConfigurationError) as exc:
        raise ShellError(str(exc)) from exc


def _store(url: str | None, scratch: Path) -> Store:
    if url is None:
        return SQLiteStore(str(scratch / "shell.db"))  # the embedded default, thrown away after
    try:
        return open_store(url)
    except ValueError as exc:
        raise ShellError(f"--store: {exc}", code=2) from exc


def _known_variant(app: BotApp, variant: str) -> str:
    known = sorted({v for e in app.bot.experiments.values() for v, _ in e.variants})
    if variant not in known:
        listed = f"the variants are: {', '.join(known)}" if known else "the bot has no experiments"
        raise ShellError(f"--variant: no experiment has a variant '{variant}'; {listed}", code=2)
    return variant


def _recorder(
    path: Path, fixture_file: FixtureFile | None, channel: str, user: str, variant: str | None
) -> Recorder:
    raw = dict(fixture_file.raw) if fixture_file else {}
    shared = {"user": user, "channel": channel}
    shared.update((k, raw[k]) for k in ("locale", "clock", "step", "actions") if k in raw)
    first: dict[str, Any] = {k: raw[k] for k in ("profile",) if k in raw}
    if variant is not None:
        first["variant"] = variant
    return Recorder(path, shared, first)


async def _converse(shell: Shell, reader: LineReader) -> None:
    title = f"{shell.app.bot.title} · botkit shell ({shell.channel})"
    shell.screen.note(f"{title} · /help for commands, /quit to leave")
    if shell.fixtures.profile or shell.fixtures.variant:
        await shell.runtime.update(
            shell.channel,
            shell.user,
            profile=shell.fixtures.profile,
            variant=shell.fixtures.variant,
        )
    await shell.open()
    while True:
        try:
            line = await reader.read()
        except EOFError:
            return
        except KeyboardInterrupt:
            continue  # Ctrl-C clears the line, as in other shells; Ctrl-D or /quit leaves
        if not await shell.enter(line):
            return


def _finish_recording(recorder: Recorder, screen: Screen) -> int:
    try:
        steps = recorder.save()
    except OSError as exc:
        screen.problem(f"cannot write the recording {recorder.path}: {exc.strerror or exc}")
        return 1
    screen.note(f"(recorded {steps} step(s) to {recorder.path}; replay with: botkit test)")
    if not recorder.path.name.endswith(SUFFIX):
        screen.note(f"(name it *{SUFFIX} for `botkit test FOLDER` to find it)")
    return 0
