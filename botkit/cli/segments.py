"""``botkit segments``: who is in each of the bot's segments at an instant, read from a store.

Each segment is one set-based query in the store (SQLite, PostgreSQL) or the Python evaluator
(memory); this command only asks, in turn, and prints the sizes (and the members, with
``--members``). Member ids are the shop's customer ids and channel user ids: printed only
when asked for, never logged. Its imports are lazy, as botkit/cli/main.py says why.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from botkit.errors import StorageError

if TYPE_CHECKING:
    from botkit.flow.model import Bot
    from botkit.segments.model import Segment

__all__ = ["instant", "segments"]


@click.command()
@click.argument("flows", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--store",
    "store_url",
    required=True,
    help="sqlite:///botkit.db, postgresql://user@host/db (a read replica will do), memory://",
)
@click.option(
    "--at",
    "at_text",
    required=True,
    help="the instant: 2026-11-09T10:00 (the bot's time zone unless it says +09:00), a day "
    "(its midnight), or now",
)
@click.option(
    "--segment",
    "names",
    multiple=True,
    metavar="NAME",
    help="only this segment (again for more); all of them when left out",
)
@click.option("--members", is_flag=True, help="list each segment's members too")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help='json: {"at", "instant", "segments": [{"name", "title", "when", "size", "members"}]}',
)
def segments(
    flows: Path, store_url: str, at_text: str, names: tuple[str, ...], members: bool, fmt: str
) -> None:
    """How many members each segment of the bot in FLOWS has at --at (and who, with
    --members). A window such as 'within 24h' counts back from that instant; links between
    channel users and customers are read as they are now. Exits 2 on a usage error: a bot
    with errors, an instant that cannot be read, a store that cannot be opened."""
    import asyncio

    from botkit.flow import compile_bot, flow_files
    from botkit.problems import render_problems
    from botkit.storage import open_store

    compiled = compile_bot(flow_files(flows))
    bot = compiled.bot
    if bot is None:
        raise click.UsageError("the bot has errors:\n" + render_problems(compiled.problems))
    chosen = _chosen(bot, names)
    try:
        at = instant(at_text, bot.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc
    try:
        store = open_store(store_url, create=False)  # only reads: never creates a store
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    async def run() -> list[tuple[Segment, list[str]]]:
        await store.open()
        try:
            audience: Any = store  # every store implements botkit.audience.Audience beside Store
            return [(s, await audience.segment_members(s, at)) for s in chosen]
        finally:
            await store.close()

    try:
        found = asyncio.run(run())
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    shown = dt.datetime.fromtimestamp(at, ZoneInfo(bot.timezone)).isoformat()
    if fmt == "json":
        click.echo(json.dumps(_as_json(found, shown, at, members), ensure_ascii=False, indent=2))
    else:
        click.echo(_as_table(found, shown, members))


def instant(text: str, timezone: str) -> float:
    """The instant ``--at`` names, in seconds since the epoch: an ISO date and time (in the
    bot's time zone unless it gives an offset), a day (its midnight there), or ``now``."""
    import time

    if text.strip().lower() == "now":
        return time.time()  # the command's one reading of the wall clock
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an instant; write 2026-11-09T10:00, 2026-11-09T10:00+09:00, "
            "2026-11-09 or now"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return when.timestamp()


def _chosen(bot: Bot, names: tuple[str, ...]) -> list[Segment]:
    if not bot.segments:
        raise click.UsageError("the bot declares no segments (bot.yaml 'segments:')")
    unknown = [n for n in names if n not in bot.segments]
    if unknown:
        known = ", ".join(sorted(bot.segments))
        raise click.BadParameter(
            f"no segment {unknown[0]!r}; the bot has {known}", param_hint="--segment"
        )
    return [bot.segments[n] for n in (names or tuple(bot.segments))]


def _as_json(
    found: list[tuple[Segment, list[str]]], shown: str, at: float, members: bool
) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for segment, ids in found:
        entry: dict[str, Any] = {
            "name": segment.name,
            "title": segment.title,
            "when": segment.when,
            "size": len(ids),
        }
        if members:
            entry["members"] = ids
        out.append(entry)
    return {"at": shown, "instant": at, "segments": out}


def _as_table(found: list[tuple[Segment, list[str]]], shown: str, members: bool) -> str:
    from botkit.problems import cells as display_width

    rows = [(s.name, s.title, f"{len(ids):,}") for s, ids in found]
    heads = ("segment", "title", "members")
    widths = [max(display_width(r[i]) for r in [heads, *rows]) for i in range(3)]

    def line(cells: tuple[str, str, str]) -> str:
        name, title, size = cells
        return (
            name + " " * (widths[0] - display_width(name) + 2)
            + title + " " * (widths[1] - display_width(title) + 2)
            + " " * (widths[2] - display_width(size)) + size
        )  # fmt: skip

    lines = [f"segments at {shown}", "", line(heads)]
    lines += [line(r) for r in rows]
    if members:
        for segment, ids in found:
            lines += ["", f"{segment.name} ({len(ids):,}):", *(f"  {m}" for m in ids)]
    return "\n".join(lines)
