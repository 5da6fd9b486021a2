"""The ``botkit`` command: the composition root. Commands import what they need lazily, so
``botkit check`` starts fast and never loads a server or a database driver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from botkit.cli.campaigns import campaigns
from botkit.cli.customers import customers
from botkit.cli.report import report
from botkit.cli.segments import segments
from botkit.errors import ConfigurationError

if TYPE_CHECKING:  # at run time each command imports what it needs (see above)
    pass

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


cli.add_command(report)
cli.add_command(segments)
cli.add_command(campaigns)
cli.add_command(customers)

if __name__ == "__main__":  # pragma: no cover
    cli()
