"""The ``botkit`` command: the composition root. Commands import what they need lazily, so
``botkit check`` starts fast and never loads a server or a database driver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from botkit.errors import ConfigurationError, FlowError, StorageError

if TYPE_CHECKING:  # at run time each command imports what it needs (see above)
    from botkit.flow.model import Bot
    from botkit.metrics.compute import Metrics
    from botkit.storage import Store

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="botkit")
def cli() -> None:
    """botkit: scenario-driven chatbots from YAML flows."""


def _bots(paths: tuple[Path, ...]) -> list[list[Path]]:
    """Each folder argument is one bot (its YAML files); each file argument is a bot by itself."""
    from botkit.flow import flow_files

    return [flow_files(p) for p in paths]


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per problem, for editors and CI; with --against, one object "
    '{"problems": [...], "store", "active_since", "live_sessions", "stranded": [{"state", '
    '"sessions", "versions", "how", "to", "covered"}, ...]} (stranded: null when not checked)',
)
@click.option(
    "--strict",
    is_flag=True,
    help="treat warnings as errors (exit 1); with --against, also live sessions that "
    "'migrate:' does not cover",
)
@click.option(
    "--against",
    "against_url",
    metavar="URL",
    help="the store of the running bot (sqlite:///botkit.db, postgresql://user@host/db; read "
    "only): list its live conversations at states this version does not have, and where "
    "they would go",
)
def check(paths: tuple[Path, ...], fmt: str, strict: bool, against_url: str | None) -> None:
    """Check flow files: a folder is one bot, a file is checked on its own.

    With --against, also the live conversations a deploy of this bot would strand: those at
    states it no longer has, covered by bot.yaml's migrate: or restarted.

    Exits 0 when clean, 1 when problems were found, 2 on a usage error (a store --against
    cannot read among them).
    """
    from botkit.flow import compile_bot
    from botkit.problems import Problem, render_json, render_problems

    bots = [files for files in _bots(paths) if files]
    if not bots:
        raise click.UsageError("no flow files (*.yaml) in the given folders")
    if against_url is not None and len(bots) != 1:
        raise click.UsageError(f"--against checks one bot, not {len(bots)}: give one bot folder")
    problems: list[Problem] = []
    compiled = None
    for files in bots:
        compiled = compile_bot(files, display_root=Path.cwd())
        problems.extend(compiled.problems)
    failed = any(strict or p.severity == "error" for p in problems)
    against = None
    if against_url is not None:
        import time

        from botkit.cli.against import check_against

        # a store it cannot read: exit 2 (one line on stderr) before anything is printed
        bot = compiled.bot if compiled is not None else None
        against = check_against(bot, against_url, now=time.time())
        failed = failed or (strict and against is not None and bool(against.uncovered))
    if fmt == "json" and against_url is not None:
        from botkit.cli.against import against_json

        click.echo(against_json(problems, against, against_url))
    elif fmt == "json":
        click.echo(render_json(problems))
    else:
        if problems:
            click.echo(render_problems(problems), err=False)
        else:
            click.echo(f"ok: {sum(len(f) for f in bots)} file(s), no problems")
        if against_url is not None:
            from botkit.cli.against import render_against

            click.echo(render_against(against, against_url))
    sys.exit(1 if failed else 0)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of flow files (for editors: yaml-language-server)."""
    from botkit.flow import schema_text

    click.echo(schema_text(), nl=False)


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--flow", "flow_id", help="the flow to draw (default: the bot's start flow)")
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
def graph(path: Path, flow_id: str | None, fmt: str) -> None:
    """Draw a flow as a Mermaid or Graphviz DOT diagram.

    PATH is a bot folder or a flow file. States are drawn by what they do: message, slot
    filling, action call, handoff and end states each have their own shape.
    """
    from botkit.flow import compile_bot, flow_files
    from botkit.flow.graph import to_dot, to_mermaid
    from botkit.problems import render_problems

    files = flow_files(path)
    if path.is_file():
        siblings = [p for p in flow_files(path.parent) if p != path]
        files = [path, *siblings]
    result = compile_bot(files, display_root=Path.cwd())
    if result.bot is None:
        click.echo(render_problems(result.problems), err=True)
        sys.exit(1)
    bot = result.bot
    if flow_id is None:
        flow_id = _flow_of(path, bot) if path.is_file() else bot.start
    if flow_id not in bot.flows:
        raise click.BadParameter(
            f"no flow '{flow_id}'; the flows are: {', '.join(sorted(bot.flows))}",
            param_hint="--flow",
        )
    click.echo(to_dot(bot, flow_id) if fmt == "dot" else to_mermaid(bot, flow_id), nl=False)


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--flow", "flow_id", help="start in this flow (default: the bot's start flow)")
@click.option("--user", help="the user id  [default: tester, or the fixtures' user]")
@click.option(
    "--channel",
    type=click.Choice(["console", "kakao", "web"]),
    help="show replies as this channel would  [default: console]",
)
@click.option("--debug", is_flag=True, help="after each turn: states passed, slots and records")
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    help="on exit, save the session as a conversation test (*.test.yaml)",
)
@click.option(
    "--fixtures",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a conversation test file whose fixtures: apply (action stubs, profile, variant, clock)",
)
@click.option(
    "--store",
    metavar="URL",
    help="memory:// or sqlite:///path.db  [default: a SQLite file in a temporary folder]",
)
@click.option(
    "--variant",
    metavar="NAME",
    help="put the user in this variant of every experiment that has it (over the fixtures')",
)
def shell(
    path: Path,
    flow_id: str | None,
    user: str | None,
    channel: str | None,
    debug: bool,
    record: Path | None,
    fixtures: Path | None,
    store: str | None,
    variant: str | None,
) -> None:
    """Chat with the bot in PATH in the terminal, through the real runtime.

    Quick replies are numbered: type the number or the label. Commands start with /
    (/help lists them); /quit or Ctrl-D leaves. Piped input is read line by line.
    """
    from botkit.simulator.shell import ShellOptions, run_shell

    options = ShellOptions(path, flow_id, user, channel, debug, record, fixtures, store, variant)
    sys.exit(run_shell(options))


def _flow_of(path: Path, bot: object) -> str:
    from botkit.flow import Bot

    assert isinstance(bot, Bot)
    for flow in bot.flows.values():
        if Path(flow.source).resolve() == path.resolve():
            return flow.id
    return bot.start


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--host", help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=int, help="port to listen on (default 8080)")
@click.option(
    "--store", help="sqlite:///botkit.db (default), memory://, postgresql://user@host/db"
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="worker processes (default 1); more than one needs --store postgresql://…",
)
@click.option(
    "--config", "config_file", type=click.Path(exists=True, path_type=Path), help="a YAML file"
)
@click.option(
    "--fixtures",
    help="a conversation-test file whose action fixtures answer actions (demos, load tests);"
    " its clock:, if set, is the instant the server's clock starts at",
)
def serve(
    path: Path,
    host: str | None,
    port: int | None,
    store: str | None,
    workers: int | None,
    config_file: Path | None,
    fixtures: str | None,
) -> None:
    """Serve the bot in PATH over HTTP: the Kakao skill endpoint, /healthz and /readyz.

    Settings come from defaults, then --config FILE, then BOTKIT_* environment variables
    (BOTKIT_KAKAO_SECRET, ...), then these options. Stops on Ctrl-C or SIGTERM after the turns
    in flight have finished and been committed.
    """
    from botkit.server.config import load_settings
    from botkit.server.run import serve as run_server

    try:
        settings = load_settings(
            config_file,
            overrides={
                "host": host,
                "port": port,
                "store": store,
                "workers": workers,
                "fixtures": fixtures,
            },
        )
        run_server(path, settings)
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@cli.command()
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
    "ended in), version (the bot version it started on), or segment:<profile key> (e.g. "
    "segment:source for the acquisition source)",
)
@click.option(
    "--window",
    "window_days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="days after a conversation in which a purchase is attributed to it",
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
    csat: str | None,
    comments: str | None,
    versus: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Measure the bot from its records: completion, containment, handoffs, fallbacks, turns,
    duration, slot failures, goals, and a funnel with drop-off per flow (definitions:
    botkit/metrics/definitions.py)."""
    import asyncio

    from botkit.app import load
    from botkit.metrics.report import day_bounds, render
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

    async def run() -> str:
        await store.open()
        try:
            window_s = window_days * 86_400
            feedback = {"csat": csat, "comments": comments}
            metrics = await _measure(store, bot, flow_id, (since, until), by, feedback, window_s)
            if other is not None:
                this = (period or "this period", since, until)
                metrics.groups = await _side_by_side(store, bot, flow_id, this, other)
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


def _check_names(bot: Bot, flow_id: str | None, csat: str | None, comments: str | None) -> None:
    """The flow and slots the options name are the bot's."""
    if flow_id is not None and flow_id not in bot.flows:
        raise click.BadParameter(f"no flow '{flow_id}'", param_hint="--flow")
    for slot, hint in ((csat, "--csat"), (comments, "--comments")):
        if slot is not None and slot not in bot.slots:
            raise click.BadParameter(f"no slot '{slot}'", param_hint=hint)


def _other_period(versus: str, by: str | None, bot: Bot) -> _Period:
    """The period ``--vs FROM:TO`` names, to show beside the report's own."""
    from botkit.metrics.report import day_bounds

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
    window_s: float,
) -> Metrics:
    """The report's own metrics: of ``span``, grouped ``by``, with the ``feedback`` slots
    (``csat``, ``comments``) and purchases attributed within ``window_s``."""
    from botkit.metrics.report import load_metrics

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
        window_s=window_s,
    )


async def _side_by_side(
    store: Store, bot: Bot, flow_id: str | None, *periods: _Period
) -> dict[str, Metrics]:
    """The metrics of each period, as the report's groups (its columns)."""
    from botkit.metrics.report import load_metrics

    return {
        name: await load_metrics(store, bot, flow=flow_id, since=since, until=until)
        for name, since, until in periods
    }


def _grouping(value: str | None) -> str | None:
    from botkit.metrics.compute import GROUPING_NAMES, GROUPINGS

    if value is None or value in GROUPINGS:
        return value
    if value.startswith("segment:") and len(value) > len("segment:"):
        return value
    raise click.BadParameter(f"{value!r}: {GROUPING_NAMES}", param_hint="--by")


@cli.command("test")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="per flow: the share of states and transitions the tests visited, and what they missed",
)
@click.option(
    "--bot",
    "bot_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="the bot folder to test  [default: the nearest folder with a bot.yaml, from PATH up]",
)
def test_command(path: Path, show_coverage: bool, bot_path: Path | None) -> None:
    """Run conversation tests (*.test.yaml) against their bot.

    PATH is a bot folder (its tests are found below it), a folder of tests or one test file;
    the bot is --bot, else the nearest folder with a bot.yaml (so a recording saved elsewhere,
    `botkit shell --record new.test.yaml`, runs with --bot flows/). Ends with "N passed, N
    failed"; exits 1 when a test failed, 2 when there was nothing to run or no bot.
    """
    from botkit.simulator.suite import run_suite

    sys.exit(
        run_suite(
            path, show_coverage=show_coverage, echo=click.echo, color=click.style, bot=bot_path
        )
    )


if __name__ == "__main__":  # pragma: no cover
    cli()
