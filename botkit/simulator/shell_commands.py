"""What each line typed into ``botkit shell`` does: a message, a quick reply picked by its number
or label, or a command (``/goto``, ``/profile``, ``/agent say`` …); see :data:`HELP`.

:class:`Shell` holds the conversation and the commands, apart from how lines are read and how the
shell starts and ends (:mod:`botkit.simulator.shell`). What it sends goes through
:class:`~botkit.runtime.Runtime` exactly as a channel's messages do.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import shlex
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from botkit.app import BotApp
from botkit.effects import Choice, Effect, ListItem, Say, offered_choices
from botkit.engine import Session, Status
from botkit.engine.slots import extract
from botkit.errors import BotkitError, StepRefused
from botkit.runtime import Reply, Runtime
from botkit.runtime.conversations import HANDED_OFF
from botkit.simulator.console_render import (
    Screen,
    draw_debug,
    draw_help,
    draw_session,
    draw_slots,
    draw_turn,
)
from botkit.simulator.fixtures import SteppedClock
from botkit.simulator.recording import Recorder
from botkit.simulator.testfile import Fixtures

__all__ = ["HELP", "Misuse", "Shell"]


class Misuse(BotkitError):
    """A command used the wrong way; ``str()`` is the one line that says how to use it."""


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
        self.state = ""  # where the last turn left the conversation
        self.items: list[ListItem] = []  # the last list on screen, numbered as it is drawn
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
        choice = await self._choice_for(text)
        if choice is None:
            self.screen.user(text)
            reply = await self._handle(text)
            self._record({"user": text}, reply)
        else:
            # A list item is replayed as its title sent with its payload, as a channel sends it.
            step: dict[str, Any] = (
                {"choose": self._choice_key(choice)}
                if choice in self.choices
                else {"user": choice.label, "payload": choice.payload}
            )
            self.screen.user(text, choice=choice.label)
            reply = await self._handle(choice.label, choice.payload)
            self._record(step, reply)
        self._show(reply)

    async def _choice_for(self, text: str) -> Choice | None:
        """What a line presses: a quick reply by its label typed in full or by its number; with
        no quick replies on screen, an item of the list on screen by its number. A number that
        the question being asked takes as its answer (2 on a 1–5 score) is that answer."""
        by_label = next((c for c in self.choices if c.label == text), None)
        if by_label is not None or not text.isdecimal() or await self._answers_question(text):
            return by_label
        number = int(text)
        if self.choices:
            return self.choices[number - 1] if 0 < number <= len(self.choices) else None
        if not 0 < number <= len(self.items):
            return None
        item = self.items[number - 1]
        if item.payload is None:
            raise Misuse(f"{number}. {item.title} is a link ({item.url}): nothing goes to the bot")
        return Choice(item.title, item.payload)

    async def _answers_question(self, text: str) -> bool:
        """Whether the slot being asked for takes ``text`` as a number."""
        session = await self.runtime.session(self.channel, self.user)
        awaiting = session.awaiting if session is not None else None
        slot = self.app.bot.slots.get(awaiting.name) if awaiting is not None else None
        if awaiting is None or awaiting.kind != "slot" or slot is None:
            return False
        at = self.clock.now if self.clock is not None else time.time()
        value = extract(slot, text, None, at)
        return isinstance(value, int | float) and not isinstance(value, bool)

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
            listed = _listed(reply.effects)
            if not listed and reply.state == self.state:
                listed = self.items  # a fallback: the list is still the screen's
            self.items = listed
            self.state = reply.state
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
        self.choices, self.items = [], []
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
            flow, state = self.app.engine.target(name)
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
        handoff = self.app.engine.state_of(session).handoff
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


def _listed(effects: list[Effect]) -> list[ListItem]:
    """The items of the turn's last list: what a number picks when no quick reply is offered."""
    shown = next((e for e in reversed(effects) if isinstance(e, Say) and e.items), None)
    return list(shown.items) if isinstance(shown, Say) else []
