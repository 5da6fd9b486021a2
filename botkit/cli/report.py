"""``botkit report``: the command that reads a store and shows the figures of a period
(botkit/metrics; the definitions are in botkit/metrics/definitions.py). Its imports are lazy,
as botkit/cli/main.py says why."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import click

from botkit.errors import ConfigurationError, FlowError, StorageError

if TYPE_CHECKING:
    from botkit.flow.model import Bot
    from botkit.metrics.compute import Metrics
    from botkit.storage import Store

__all__ = ["report"]


@click.command()
@click.option(
    "--store",
    "store_url",
    required=True,
    help="sqlite:///botkit.db, postgresql://user@host/db (a read replica will do), memory://",
)
@click.option(
    "--bot",
    "bot_path",
    default="flows",
    show_default=True,
    type=click.Path(path_type=Path),
    help="the bot whose records these are (its flows give the funnels' order)",
)
@click.option("--flow", "flow_id", help="only conversations that went through this flow")
@click.option("--from", "since_day", help="first day (YYYY-MM-DD, the bot's time zone)")
@click.option("--to", "until_day", help="last day, included")
@click.option(
    "--by",
    callback=lambda ctx, param, value: _grouping(value),
    help="a column per group: variant, channel, day, locale (the language a conversation "
    "ended in), version (the bot version it started on), or segment:<name>: a segment "
    "bot.yaml names (whether the user was in it as the conversation started, e.g. "
    "segment:cart_abandoners) or a profile key (e.g. segment:source, the acquisition source)",
)
@click.option(
    "--window",
    "window_days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="days after a conversation in which a purchase is attributed to it",
)
@click.option(
    "--experiment-window",
    "experiment_window_days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="days after a user's first exposure to an experiment in which reaching its goal "
    "counts as their conversion",
)
@click.option("--csat", help="the slot that holds a satisfaction score (e.g. score, 1-5)")
@click.option("--comments", help="the slot that holds free-text feedback (e.g. why_low)")
@click.option(
    "--vs",
    "versus",
    help="another period side by side, FROM:TO (YYYY-MM-DD:YYYY-MM-DD), e.g. last month",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=click.Path(path_type=Path), help="write here instead of the terminal")
def report(
    store_url: str,
    bot_path: Path,
    flow_id: str | None,
    since_day: str | None,
    until_day: str | None,
    by: str | None,
    window_days: float,
    experiment_window_days: float,
    csat: str | None,
    comments: str | None,
    versus: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Measure the bot from its records: completion, containment, handoffs, fallbacks, turns,
    duration, slot failures, goals, and a funnel with drop-off per flow (definitions:
    botkit/metrics/definitions.py). A period holds the conversations that started in it and
    the purchases made in it; a conversation silent for less than the bot's inactivity
    timeout is still open (not a drop-off). A bot with campaigns also gets, per campaign and
    variant, eligible → excluded → held out → sent → delivered → engaged → converted, revenue,
    cost, ROI and the lift against the holdout, of the messages planned in the period."""
    import asyncio
    import dataclasses
    import time

    from botkit.app import load
    from botkit.metrics.periods import day_bounds
    from botkit.metrics.report import render
    from botkit.storage import open_store

    try:
        bot = load(bot_path).bot
        since, until = day_bounds(since_day, until_day, bot.timezone)
        store = open_store(store_url, create=False)  # a report never creates a store
    except (FlowError, ConfigurationError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    _check_names(bot, flow_id, csat, comments)
    other = _other_period(versus, by, bot) if versus is not None else None
    if fmt == "html" and by is None and other is None:
        by = "day"  # the page's daily series needs a group per day
    period = f"{since_day or '…'} – {until_day or '…'}" if since_day or until_day else ""

    now = time.time()  # the report's one reading of the wall clock: what is still open
    windows = _Windows(window_days * 86_400, experiment_window_days * 86_400, now)

    async def run() -> str:
        await store.open()
        try:
            feedback = {"csat": csat, "comments": comments}
            metrics = await _measure(store, bot, flow_id, (since, until), by, feedback, windows)
            if other is not None:  # this period's column is the report itself, read once
                this = dataclasses.replace(metrics, groups={})
                others = await _side_by_side(store, bot, flow_id, windows, other)
                metrics.groups = {period or "this period": this, **others}
        finally:
            await store.close()
        return render(metrics, fmt, title=f"{bot.title or bot.id} — botkit report", period=period)

    try:
        text = asyncio.run(run())
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


# A period of the report: its name, and its first and last instants (None: open-ended).
_Period = tuple[str, float | None, float | None]


class _Windows(NamedTuple):
    """How a report reads its periods: the attribution window, the experiments' conversion
    window (seconds), and its now."""

    attribution_s: float
    experiment_s: float
    now: float


def _check_names(bot: Bot, flow_id: str | None, csat: str | None, comments: str | None) -> None:
    """The flow and slots the options name are the bot's."""
    if flow_id is not None and flow_id not in bot.flows:
        raise click.BadParameter(f"no flow '{flow_id}'", param_hint="--flow")
    for slot, hint in ((csat, "--csat"), (comments, "--comments")):
        if slot is not None and slot not in bot.slots:
            raise click.BadParameter(f"no slot '{slot}'", param_hint=hint)


def _other_period(versus: str, by: str | None, bot: Bot) -> _Period:
    """The period ``--vs FROM:TO`` names, to show beside the report's own."""
    from botkit.metrics.periods import day_bounds

    if by is not None:
        raise click.UsageError("--vs and --by both make columns: use one of them")
    first, sep, last = versus.partition(":")
    try:
        other = (f"{first} – {last}", *day_bounds(first, last, bot.timezone))
    except ValueError as exc:
        raise click.BadParameter(f"{versus!r}: {exc}", param_hint="--vs") from exc
    if not sep:
        raise click.BadParameter("write it as FROM:TO", param_hint="--vs")
    return other


async def _measure(
    store: Store,
    bot: Bot,
    flow_id: str | None,
    span: tuple[float | None, float | None],
    by: str | None,
    feedback: dict[str, str | None],
    windows: _Windows,
) -> Metrics:
    """The report's own metrics: of ``span``, grouped ``by``, with the ``feedback`` slots
    (``csat``, ``comments``), read as ``windows`` say."""
    from botkit.metrics.periods import load_metrics

    since, until = span
    return await load_metrics(
        store,
        bot,
        flow=flow_id,
        since=since,
        until=until,
        by=by,
        csat=feedback["csat"],
        comments=feedback["comments"],
        window_s=windows.attribution_s,
        now=windows.now,
        experiment_window_s=windows.experiment_s,
    )


async def _side_by_side(
    store: Store, bot: Bot, flow_id: str | None, windows: _Windows, *periods: _Period
) -> dict[str, Metrics]:
    """The metrics of each period, as the report's groups (its columns): each of the
    conversations that started in it and the purchases made in it."""
    from botkit.metrics.periods import load_metrics

    return {
        name: await load_metrics(
            store,
            bot,
            flow=flow_id,
            since=since,
            until=until,
            window_s=windows.attribution_s,
            now=windows.now,
            experiment_window_s=windows.experiment_s,
        )
        for name, since, until in periods
    }


def _grouping(value: str | None) -> str | None:
    from botkit.metrics.compute import GROUPING_NAMES, GROUPINGS

    if value is None or value in GROUPINGS:
        return value
    if value.startswith("segment:") and len(value) > len("segment:"):
        return value
    raise click.BadParameter(f"{value!r}: {GROUPING_NAMES}", param_hint="--by")
