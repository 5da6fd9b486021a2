"""What ``botkit shell`` shows: bubbles, numbered choices, cards and images as boxes, the
channel previews (console, kakao, web), the debug, state and slots views; and the screen they
go to (the terminal, and the transcript that ``/save`` writes).

The ``draw_*`` functions return ``rich`` renderables and print nothing, so tests can draw to a
string and the shell decides where each one goes.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from botkit.effects import Button, Card, Effect, End, HandOff, Image, Say, offered_choices
from botkit.engine import Session
from botkit.records import Record, RecordKind

__all__ = [
    "AGENT",
    "BOT",
    "CHANNELS",
    "USER",
    "OneLineLog",
    "Screen",
    "draw_debug",
    "draw_help",
    "draw_note",
    "draw_problem",
    "draw_session",
    "draw_slots",
    "draw_turn",
    "draw_user",
]

CHANNELS = ("console", "kakao", "web")
# The same words the test runner's transcripts use, so a saved transcript reads like one.
BOT, AGENT, USER = "봇", "상담원", "사용자"


# --- one turn -----------------------------------------------------------------------------------


def draw_turn(effects: Sequence[Effect], channel: str) -> list[RenderableType]:
    """What the user sees of a turn on ``channel``, bubble by bubble, then handoffs and ends."""
    says = [e for e in effects if isinstance(e, Say)]
    out: list[RenderableType] = []
    if channel == "kakao":
        out.extend([_draw_kakao(effects)] if says or _hands_off(effects) else [])
    else:
        out.extend(_draw_web(says) if channel == "web" else _draw_console(says))
    out.extend(_draw_event(e) for e in effects if isinstance(e, HandOff | End))
    return out


def draw_user(text: str, *, choice: str | None = None) -> Text:
    """The user's line as the transcript keeps it (a pressed choice in brackets)."""
    said = f"[{choice}]" if choice is not None else text
    return Text.assemble((f"{USER}: ", "bold green"), said)


def _speaker(name: str, body: RenderableType, colour: str) -> Table:
    # A two-column grid keeps wrapped lines of a long Korean message under its first line.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style=f"bold {colour}", no_wrap=True)
    grid.add_column(overflow="fold")  # the default, ellipsis, cuts Hangul words short
    grid.add_row(name, body)
    return grid


def _agent(say: Say) -> Table:
    return _speaker(AGENT, _text(say.text or ""), "magenta")


def _text(text: str) -> Text:
    return Text(text)  # never markup: what a flow says is shown as written


def _draw_console(says: Sequence[Say]) -> list[RenderableType]:
    """The console channel: text, boxes for rich content, the last choices numbered."""
    out: list[RenderableType] = [
        _agent(s) if s.agent else _speaker(BOT, _bubble(s), "cyan") for s in says
    ]
    choices = offered_choices(says)
    if choices:
        numbered = Text()
        for i, choice in enumerate(choices, 1):
            numbered.append(f"{'   ' if i > 1 else ''}{i}.", style="bold yellow")
            numbered.append(f" {choice.label}")
        out.append(_speaker(" " * cell_len(BOT), numbered, "cyan"))
    return out


def _attachments(say: Say) -> list[RenderableType]:
    """What a reply shows besides its text and buttons: cards, an image, a list."""
    out: list[RenderableType] = [
        _card(c) for c in ([say.card] if say.card else []) + list(say.cards)
    ]
    if say.image:
        out.append(_image(say.image))
    if say.header or say.items:
        out.append(_list(say))
    return out


def _bubble(say: Say) -> RenderableType:
    parts: list[RenderableType] = []
    if say.text:
        parts.append(_text(say.text))
    parts.extend(_attachments(say))
    if say.buttons:
        parts.append(_text("\n".join(_button(b) for b in say.buttons)))
    return Group(*parts)


def _card(card: Card) -> Panel:
    body: list[RenderableType] = []
    if card.image:
        body.append(Text(f"[이미지] {card.image.alt or card.image.url}", style="italic"))
    if card.description:
        body.append(_text(card.description))
    if card.buttons:
        body.append(Text("\n".join(_button(b) for b in card.buttons), style="blue"))
    return Panel(
        Group(*body) if body else Text(""),
        title=Text(card.title, style="bold"),
        title_align="left",
        box=box.ROUNDED,
        expand=False,
    )


def _image(image: Image) -> Panel:
    lines = Text.assemble(("[이미지] ", "italic"), image.alt or "(설명 없음)", "\n", image.url)
    return Panel(lines, box=box.SQUARE, expand=False)


def _list(say: Say) -> Panel:
    rows = Text()
    for i, item in enumerate(say.items, 1):
        rows.append(f"{i}. {item.title}")
        if item.description:
            rows.append(f" - {item.description}", style="dim")
        if i < len(say.items):
            rows.append("\n")
    return Panel(rows, title=say.header or None, title_align="left", box=box.ROUNDED, expand=False)


def _button(button: Button) -> str:
    # What pressing it would do, as a developer trying the flow needs to know.
    if button.kind == "url":
        return f"[{button.label}] ↗ {button.value}"
    if button.kind == "phone":
        return f"[{button.label}] ☎ {button.value}"
    if button.kind == "agent":
        return f"[{button.label}] → 상담원"
    return f"[{button.label}]"


def _draw_event(effect: HandOff | End) -> Text:
    if isinstance(effect, HandOff):
        queue = f" (queue {effect.queue})" if effect.queue else ""
        return Text(
            f"── 상담원 연결 요청{queue}: play the agent with /agent say TEXT, "
            "/agent release [STATE] or /agent close",
            style="magenta",
        )
    return Text(f"── 대화 종료: {effect.outcome}", style="dim")


# --- channel previews -----------------------------------------------------------------------


def _draw_web(says: Sequence[Say]) -> list[RenderableType]:
    """The web widget, approximately: rounded bubbles, cards, and choices as a row of buttons."""
    out: list[RenderableType] = []
    for say in says:
        out.extend([_agent(say)] if say.agent else _web_bubble(say))
    choices = offered_choices(says)
    if choices:
        # Numbered still, faintly: the shell lets you press a button by its number.
        row = Text()
        for i, choice in enumerate(choices, 1):
            row.append(f"{i}", style="dim")
            row.append(f"( {choice.label} )", style="bold blue")
            row.append("  ")
        out.append(row)
    return out


def _web_bubble(say: Say) -> list[RenderableType]:
    """Text in a bubble; a card, an image or a list in a box of its own, as the widget does."""
    out: list[RenderableType] = []
    if say.text:
        out.append(Panel(_text(say.text), box=box.ROUNDED, expand=False, border_style="cyan"))
    out.extend(_attachments(say))
    if say.buttons:
        out.append(Text("  ".join(f"[ {b.label} ]" for b in say.buttons), style="bold blue"))
    return out


def _draw_kakao(effects: Sequence[Effect]) -> RenderableType:
    """KakaoTalk, as the Kakao codec renders the turn: its limits applied, and what it had to
    change to fit them listed dimmed under the bubble."""
    from botkit.adapters.kakao import codec  # loaded only with --channel kakao

    rendered = codec.render(effects)
    # The preview draws its own bubbles (each line starts with "│ "), so no box around it.
    heading = Text("KakaoTalk", style="bold yellow")
    bubbles = Text("\n".join(codec.preview(rendered)))
    notes = [Text(f"  ⚠ {note}", style="dim") for note in rendered.adjustments]
    if offered_choices(effects):
        notes.append(Text("  (a quick reply's number, or its label, presses it)", style="dim"))
    return Group(heading, bubbles, *notes)


def _hands_off(effects: Sequence[Effect]) -> bool:
    return any(isinstance(e, HandOff) for e in effects)  # Kakao shows an operator button


# --- views ------------------------------------------------------------------------------------


def draw_debug(records: Sequence[Record], slots: Mapping[str, Any]) -> Panel:
    """After a turn: the states it passed through, the slot values, and its records."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("states", _path(records))
    table.add_row("slots", _inline(slots) or "(none)")
    for number, record in enumerate(records):
        line = Text(record.kind, style="cyan")
        if record.data:
            line.append(f" {_inline(record.data)}", style="dim")
        table.add_row("records" if number == 0 else "", line)
    return Panel(table, title="debug", title_align="left", box=box.SQUARE, border_style="dim")


def _path(records: Iterable[Record]) -> Text:
    """``a → b → c`` with each transition's trigger, from the turn's ``transition`` records."""
    hops = [r.data for r in records if r.kind == RecordKind.TRANSITION and r.data]
    if not hops:
        return Text("(stayed)", style="dim")
    path = Text(str(hops[0].get("from") or "(start)"))
    for hop in hops:
        path.append(f" →[{hop.get('trigger')}]→ ", style="dim")
        path.append(str(hop.get("to")), style="bold")
    return path


def _inline(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in values.items())


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def draw_slots(slots: Mapping[str, Any]) -> RenderableType:
    if not slots:
        return Text("(no slots filled)", style="dim")
    table = Table(box=box.SIMPLE, show_header=True, header_style="bold")
    table.add_column("slot")
    table.add_column("value")
    for name, value in slots.items():
        table.add_row(name, _value(value))
    return table


def draw_session(session: Session | None) -> RenderableType:
    if session is None:
        return Text("(no conversation yet)", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("state", session.state or "(none)"),
        ("status", str(session.status)),
        ("conversation", f"{session.conversation}, turn {session.turn}"),
        ("waiting for", session.awaiting or "-"),
        ("variant", session.variant or "-"),
        ("profile", _inline(session.profile or {}) or "-"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def draw_help(commands: Iterable[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold yellow", no_wrap=True)
    table.add_column()
    for usage, summary in commands:
        table.add_row(usage, summary)
    table.add_row("1, 2, …", "press a quick reply by its number (or type its label)")
    table.add_row("", "with no quick replies, pick an item of the list on screen by its number")
    table.add_row("", "a number the question takes as its answer (a 1–5 score) is the answer")
    return table


def draw_problem(message: str) -> Text:
    return Text(f"✗ {message}", style="bold red")


def draw_note(message: str) -> Text:
    return Text(message, style="dim")


# --- where it goes -------------------------------------------------------------------------------


class Screen:
    """Where output goes: the terminal, and the transcript that ``/save`` writes."""

    def __init__(self, console: Console, *, plain: bool = False) -> None:
        self.console = console
        # Plain output is for scripts: no trailing blanks from padded boxes, and the input,
        # which no terminal echoes, shown as the transcript shows it.
        self.plain = plain
        self._transcript = Console(
            file=io.StringIO(),
            record=True,
            width=console.width,
            color_system=None,
            force_terminal=False,
        )

    def show(self, *things: RenderableType, transcript: bool = False) -> None:
        for thing in things:
            self._print(thing)
            if transcript:
                self._transcript.print(thing)

    def _print(self, thing: RenderableType, *, soft_wrap: bool = False) -> None:
        if not self.plain:
            self.console.print(thing, soft_wrap=soft_wrap)
            return
        with self.console.capture() as captured:
            self.console.print(thing, soft_wrap=soft_wrap)
        lines = captured.get().splitlines()
        self.console.file.write("".join(line.rstrip() + "\n" for line in lines))
        self.console.file.flush()

    def user(self, text: str, *, choice: str | None = None) -> None:
        line = draw_user(text, choice=choice)
        self._transcript.print(line)
        if self.plain:
            self._print(line)
        elif choice is not None and choice != text:
            self._print(draw_note(f"→ {choice}"))  # what the number stood for

    def note(self, message: str, *, transcript: bool = False) -> None:
        self.show(draw_note(message), transcript=transcript)

    def problem(self, message: str) -> None:
        self._print(draw_problem(message), soft_wrap=True)  # one line, however long

    def transcript(self) -> str:
        text = self._transcript.export_text(clear=False, styles=False)
        return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


class OneLineLog(logging.Handler):
    """botkit's log lines (a failed action, a failed commit) as one dimmed line each: the
    message and the exception's name, never a traceback."""

    def __init__(self, screen: Screen) -> None:
        super().__init__(logging.WARNING)
        self.screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            line += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.screen.note(f"log: {line}")
