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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import json
import logging
import math
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rich.console import Console

from botkit.app import BotApp, load
from botkit.effects import Choice, Say, offered_choices
from botkit.engine import Session, Status
from botkit.errors import BotkitError, ConfigurationError, FlowError, StepRefused, StorageError
from botkit.runtime import Reply, Runtime
from botkit.simulator.console_render import (
    CHANNELS,
    OneLineLog,
    Screen,
    draw_debug,
    draw_help,
    draw_session,
    draw_slots,
    draw_turn,
)
from botkit.simulator.fixtures import SteppedClock, stubs_for
from botkit.simulator.recording import FixtureFile, FixtureFileError, Recorder, read_fixtures
from botkit.simulator.testfile import SUFFIX, Fixtures
from botkit.storage import SQLiteStore, Store, open_store

__all__ = ["Shell", "ShellError", "ShellOptions", "run_shell"]

HANDED_OFF = (Status.HANDOFF_REQUESTED, Status.WITH_AGENT)


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


class ShellError(BotkitError):
    """The shell cannot start; ``str()`` is what to print, ``code`` the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Misuse(BotkitError):
    """A command used the wrong way; ``str()`` is the one line that says how to use it."""


# --- the shell --------------------------------------------------------------------------------

Command = Callable[[str], Awaitable[bool]]

HELP = (
    ("/reset", "end the conversation and start a new one"),
    ("/state", "the current state, status, variant and profile"),
    ("/slots", "the slot values"),
    ("/goto STATE", "jump to a state (flow.state) and run it"),
    ("/profile KEY=VALUE …", "change the user's profile (values: text, numbers, true/false)"),
    ("/variant NAME", "put the user in this variant of every experiment that has it"),
    ("/agent say TEXT", "during a handoff: write to the user as the human agent"),
    ("/agent release [STATE]", "hand the user back to the bot (at STATE)"),
    ("/agent close", "end the conversation as the agent"),
    ("/save FILE", "save the transcript as plain text"),
    ("/debug", "show or hide the states passed, slots and records after each turn"),
    ("/help", "this list"),
    ("//TEXT", "send a message that starts with /"),
    ("/quit", "leave (Ctrl-D too)"),
)


class Shell:
    """The conversation and the commands, apart from how lines are read.

    ``enter(line)`` handles one line and returns False when the shell should end.
    """

    def __init__(
        self,
        app: BotApp,
        runtime: Runtime,
        screen: Screen,
        *,
        channel: str = "console",
        user: str = "tester",
        fixtures: Fixtures | None = None,
        clock: SteppedClock | None = None,
        recorder: Recorder | None = None,
        debug: bool = False,
        start_flow: str | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.screen = screen
        self.channel = channel
        self.user = user
        self.fixtures = fixtures or Fixtures()
        self.clock = clock  # None: the wall clock
        self.recorder = recorder
        self.debug = debug
        self.start_flow = start_flow
        self.choices: list[Choice] = []  # the quick replies on screen, numbered from 1
        self.commands: dict[str, Command] = {
            "reset": self._reset,
            "state": self._show_state,
            "slots": self._show_slots,
            "goto": self._goto,
            "profile": self._profile,
            "variant": self._variant,
            "agent": self._agent,
            "save": self._save,
            "debug": self._toggle_debug,
            "help": self._show_help,
            "quit": self._quit,
        }

    # -- lines -----------------------------------------------------------------------------

    async def enter(self, line: str) -> bool:
        """Handle one line: a command, a choice's number or label, or a message."""
        line = line.strip()
        try:
            if line.startswith("/") and not line.startswith("//"):
                return await self._command(line[1:])
            if line:
                await self._message(line[1:] if line.startswith("//") else line)
        except (Misuse, StepRefused) as refused:
            self.screen.problem(str(refused))
        except Exception as exc:  # a bug of the shell must not end the session in a traceback
            self.screen.problem(f"internal error: {type(exc).__name__}: {exc}")
        return True

    async def _command(self, text: str) -> bool:
        name, _, argument = text.partition(" ")
        command = self.commands.get(name)
        if command is None:
            close = difflib.get_close_matches(name, self.commands, n=1, cutoff=0.6)
            hint = f"; did you mean /{close[0]}?" if close else " (type /help for the list)"
            raise Misuse(f"unknown command '/{name}'{hint}")
        return await command(argument.strip())

    async def _message(self, text: str) -> None:
        choice = self._choice_for(text)
        if choice is None:
            self.screen.user(text)
            reply = await self._handle(text)
            self._record({"user": text}, reply)
        else:
            self.screen.user(text, choice=choice.label)
            reply = await self._handle(choice.label, choice.payload)
            self._record({"choose": self._choice_key(choice)}, reply)
        self._show(reply)

    def _choice_for(self, text: str) -> Choice | None:
        """The quick reply a line picks: by its number, or by its label typed in full."""
        if text.isdecimal() and 0 < int(text) <= len(self.choices):
            return self.choices[int(text) - 1]
        return next((c for c in self.choices if c.label == text), None)

    def _choice_key(self, choice: Choice) -> str | int:
        # `choose:` finds a label's first occurrence; a repeated label needs its number.
        labels = [c.label for c in self.choices]
        return choice.label if labels.count(choice.label) == 1 else self.choices.index(choice) + 1

    async def _handle(self, text: str, payload: str | None = None) -> Reply:
        if self.clock is not None:
            self.clock.advance(self.fixtures.step)  # as `botkit test` does before each message
        return await self.runtime.handle(
            self.channel, self.user, text, payload=payload, locale=self.fixtures.locale
        )

    # -- turns -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Start the conversation so that the bot speaks first, as a channel does when the
        chat opens: an empty first message (or, with ``--flow``, a jump to that flow)."""
        session = await self.runtime.session(self.channel, self.user)
        if session is not None and session.conversation and session.status != Status.CLOSED:
            if self.recorder is None:
                self.screen.note(f"(continuing the conversation stored at {session.state})")
                self.screen.show(draw_session(session))
                return
            await self.runtime.reset(self.channel, self.user)  # a test starts from nothing
        if self.start_flow is not None:
            target = f"{self.start_flow}.{self.app.bot.flows[self.start_flow].start}"
            reply = await self.runtime.goto(self.channel, self.user, target)
            self._record({"goto": target}, reply)
        else:
            reply = await self._handle("")
            self._record({"user": ""}, reply)
        self._show(reply)

    def _show(self, reply: Reply) -> None:
        self.screen.show(*draw_turn(reply.effects, self.channel), transcript=True)
        if any(isinstance(e, Say) for e in reply.effects):
            self.choices = offered_choices(reply.effects)  # what `botkit test` numbers too
        elif reply.status in HANDED_OFF:
            self.screen.note("(held for the agent: the bot is silent during a handoff)")
        if not reply.ok:
            self.screen.note("(the turn failed; nothing of it was kept)")
        if self.debug:
            self.screen.show(draw_debug(reply.records, reply.slots))

    def _record(self, step: dict[str, Any], reply: Reply) -> None:
        if self.recorder is not None:
            self.recorder.add(step, reply)

    # -- commands (each takes the rest of the line) ------------------------------------------

    async def _reset(self, argument: str) -> bool:
        await self.runtime.reset(self.channel, self.user)
        self.choices = []
        self.screen.note("── 대화를 처음부터 다시 시작해요", transcript=True)
        if self.recorder is not None:
            self.recorder.restart(await self._fixtures_now())
        await self.open()
        return True

    async def _fixtures_now(self) -> dict[str, Any]:
        """The fixtures a replay needs to start where the shell is now: clock, profile, variant."""
        session = await self.runtime.session(self.channel, self.user)
        out: dict[str, Any] = {}
        if self.clock is not None:
            zone = ZoneInfo(self.app.bot.timezone)
            out["clock"] = dt.datetime.fromtimestamp(self.clock.now, zone).isoformat()
        if session is not None and session.profile:
            out["profile"] = dict(session.profile)
        if self.recorder is not None and "variant" in self.recorder.current.fixtures:
            out["variant"] = self.recorder.current.fixtures["variant"]
        return out

    async def _show_state(self, argument: str) -> bool:
        self.screen.show(draw_session(await self.runtime.session(self.channel, self.user)))
        return True

    async def _show_slots(self, argument: str) -> bool:
        session = await self.runtime.session(self.channel, self.user)
        self.screen.show(draw_slots(session.slots if session else {}))
        return True

    async def _goto(self, argument: str) -> bool:
        if not argument:
            raise Misuse("/goto needs a state: /goto flow.state")
        state = self._state_name(argument)
        self.screen.note(f"(이동: {state})", transcript=True)
        reply = await self.runtime.goto(self.channel, self.user, state)
        self._record({"goto": state}, reply)
        self._show(reply)
        return True

    def _state_name(self, name: str) -> str:
        """``flow.state`` for a state name (a bare name is a state of the start flow)."""
        try:
            flow, state = self.runtime.engine.target(name)
        except StepRefused as refused:
            known = [f"{f}.{s}" for f, flow in self.app.bot.flows.items() for s in flow.states]
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise Misuse(f"{refused}{hint}") from None
        return f"{flow}.{state}"

    async def _profile(self, argument: str) -> bool:
        try:
            pairs = shlex.split(argument)
        except ValueError as exc:
            raise Misuse(f"/profile: {exc}") from None
        if not pairs or any("=" not in p or p.startswith("=") for p in pairs):
            raise Misuse("/profile takes key=value pairs, e.g. /profile tier=gold name=김민지")
        profile = {k: _profile_value(v) for k, _, v in (p.partition("=") for p in pairs)}
        await self._update(profile=profile)
        shown = ", ".join(f"{k}={v}" for k, v in profile.items())
        self.screen.note(f"(profile: {shown})", transcript=True)
        session = await self.runtime.session(self.channel, self.user)
        self._fixture_changed("profile", dict(session.profile or {}) if session else profile)
        return True

    async def _variant(self, argument: str) -> bool:
        if not argument or " " in argument:
            raise Misuse("/variant needs one variant name, e.g. /variant B")
        await self._update(variant=argument)
        experiments = sorted(
            name for name, e in self.app.bot.experiments.items() if argument in dict(e.variants)
        )
        self.screen.note(f"(variant {argument} of {', '.join(experiments)})", transcript=True)
        self._fixture_changed("variant", argument)
        return True

    async def _update(self, **changes: Any) -> None:
        reply = await self.runtime.update(self.channel, self.user, **changes)
        if not reply.ok:
            raise Misuse("the change was not kept: the store refused it (see the log line above)")

    def _fixture_changed(self, name: str, value: Any) -> None:
        if self.recorder is not None and self.recorder.set_fixture(name, value):
            self.screen.note(
                f"(recording: a test sets the {name} when a conversation starts, so the replay "
                "has it from the first message; /reset now to record it exactly)"
            )

    async def _agent(self, argument: str) -> bool:
        verb, _, rest = argument.partition(" ")
        rest = rest.strip()
        if verb == "say":
            if not rest:
                raise Misuse("/agent say needs the text to send: /agent say 안녕하세요")
            await self._need_handoff()
            reply = await self.runtime.agent_message(self.channel, self.user, rest)
            self._record({"agent": {"say": rest}}, reply)
        elif verb == "release":
            session = await self._need_handoff()
            # Named even when not given, so that the recording says where the user went.
            target = self._state_name(rest) if rest else self._resume_of(session)
            self.screen.note(f"(상담원이 봇에게 넘김: {target})", transcript=True)
            reply = await self.runtime.release(self.channel, self.user, target=target)
            self._record({"agent": {"release": target}}, reply)
        elif verb == "close":
            await self._need_handoff()
            self.screen.note("(상담원이 대화를 종료)", transcript=True)
            reply = await self.runtime.release(self.channel, self.user, close=True)
            self._record({"agent": {"close": True}}, reply)
        else:
            raise Misuse("/agent takes say TEXT, release [STATE] or close")
        self._show(reply)
        return True

    async def _need_handoff(self) -> Session:
        session = await self.runtime.session(self.channel, self.user)
        if session is None or session.status not in HANDED_OFF:
            handoffs = [
                f"{flow.id}.{state.id}"
                for flow in self.app.bot.flows.values()
                for state in flow.states.values()
                if state.handoff is not None
            ]
            hint = f" (reach one first, e.g. /goto {handoffs[0]})" if handoffs else ""
            raise Misuse(f"the conversation is not handed off to an agent{hint}")
        return session

    def _resume_of(self, session: Session) -> str:
        """Where a release without a state sends the user: the handoff's ``resume``."""
        handoff = self.runtime.engine.state_of(session).handoff
        flow, state = handoff.resume if handoff else self.app.bot.start_target
        return f"{flow}.{state}"

    async def _save(self, argument: str) -> bool:
        if not argument:
            raise Misuse("/save needs a file name: /save transcript.txt")
        try:
            Path(argument).write_text(self.screen.transcript(), "utf-8")
        except OSError as exc:
            raise Misuse(f"cannot write {argument}: {exc.strerror or exc}") from None
        self.screen.note(f"(saved the transcript to {argument})")
        return True

    async def _toggle_debug(self, argument: str) -> bool:
        self.debug = not self.debug
        self.screen.note(f"(debug {'on' if self.debug else 'off'})")
        return True

    async def _show_help(self, argument: str) -> bool:
        self.screen.show(draw_help(HELP))
        return True

    async def _quit(self, argument: str) -> bool:
        return False


def _profile_value(text: str) -> Any:
    """``30`` is a number and ``true`` a yes/no, as a channel's JSON would send them; the rest
    (Korean included) stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return text  # null, lists, objects and NaN are not profile values a channel sends


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
            recorder = _recorder(options.record, fixture_file, channel, user)
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


def _recorder(path: Path, fixture_file: FixtureFile | None, channel: str, user: str) -> Recorder:
    raw = dict(fixture_file.raw) if fixture_file else {}
    shared = {"user": user, "channel": channel}
    shared.update((k, raw[k]) for k in ("locale", "clock", "step", "actions") if k in raw)
    first: dict[str, Any] = {k: raw[k] for k in ("profile", "variant") if k in raw}
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
